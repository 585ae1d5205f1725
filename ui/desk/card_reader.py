"""读身份证: the ID card reader's button and prompts on the applicant step (issue 15).

Pressing 读身份证 opens the configured reader and asks "请放置身份证"; the reader is polled off the UI thread
every :data:`POLL_MS` until a card is there (at most :data:`MAX_POLLS` times, ~15 s), then closed again, so the
port is not held while nobody reads. A card read says "读卡成功，请取回证件" and is handed on (``card_read``); a
card past its validity shows an amber warning and is still handed on. Without a configured reader the panel is
hidden and the page is as before.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.errors import UserError
from app.core.idcard import CardReader, IdCard
from app.desk.devices.base import DeviceKind
from ui.operations import run_op

log = logging.getLogger(__name__)

POLL_MS = 500
MAX_POLLS = 30
PLACE_CARD = "请放置身份证"
READ_OK = "读卡成功，请取回证件"
NO_CARD = "未检测到身份证。请把身份证平放在阅读器上，再点“读身份证”。"


def configured_reader(services) -> tuple[CardReader | None, str]:
    """The reader this desk has configured (``services.devices``), and why it cannot be used ("" when it can or
    when none is configured)."""
    devices = getattr(services, "devices", None)
    try:
        driver = devices.configured(DeviceKind.ID_READER) if devices is not None else None
        make = getattr(driver, "reader", None)
        return (make(), "") if callable(make) else (None, "")
    except UserError as e:
        return None, str(e)
    except Exception as e:  # a device problem never stops the applicant page
        log.warning("id card reader unavailable: %s", type(e).__name__)
        return None, ""


def expiry_warning(card: IdCard, today: dt.date) -> str:
    if not card.expired(today) or card.valid_until is None:
        return ""
    return f"证件已过有效期（有效期至{card.valid_until:%Y.%m.%d}），请居民尽快换领；本次信息已照常填入。"


def card_prefill(card: IdCard, today: dt.date) -> dict[str, str]:
    """The new-resident form's values from a card: name, ID number (sex and birth date follow from it) and the
    户籍地址 split into its parts, with a note of what was read (the whole address when it could not be split)."""
    region, rest = card.hukou()
    values = {"name": card.name, "id_number": card.id_number, "hukou_province": region.province,
              "hukou_city": region.city, "hukou_county": region.county, "hukou_street": region.street}
    if region.street:
        where = f"已填入户籍地址（{region.label()}）"
        where += f"，门牌“{rest}”未单独保存，请核对" if rest else "，请核对"
    elif region.city:
        where = f"户籍地址只识别到“{region.label()}”，其余部分“{rest}”请核对后补填"
    else:
        where = f"证件住址“{card.address}”未能自动拆分，请按证件填写户籍地址"
    nation = card.ethnicity if card.ethnicity in ("其他", "外国血统") else f"{card.ethnicity}族"
    note = (f"已从身份证读入：{card.name}，{card.sex}，{nation}，{card.birth_date:%Y年%m月%d日}出生，"
            f"签发机关{card.authority}，有效期 {card.validity_label}。{where}。")
    warning = expiry_warning(card, today)
    return {k: v for k, v in values.items() if v} | {"note": note + (f"\n{warning}" if warning else "")}


def _close_quietly(reader: CardReader, session: dict) -> None:
    if session.get("opened"):
        session["opened"] = False
        try:
            reader.close()
        except Exception as e:  # closing never matters more than the page going away
            log.info("id card reader close failed: %s", type(e).__name__)


class CardReaderPanel(QWidget):
    card_read = Signal(object)  # IdCard

    def __init__(self, reader: CardReader | None, problem: str = "", *, today: Callable[[], dt.date], parent=None):
        super().__init__(parent)
        self.reader = reader
        self._today = today
        self._polls = 0
        self._waiting = False
        session = self._session = {"opened": False}  # outlives the widget: a page closed mid-read closes the reader
        if reader is not None:
            self.destroyed.connect(lambda *_: _close_quietly(reader, session))
        self.button = QPushButton("读身份证")
        self.button.setAutoDefault(False)
        self.button.setToolTip("把居民的身份证放在阅读器上，读入姓名、身份证号和户籍地址")
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.warning = QLabel()
        self.warning.setObjectName("warning")
        self.warning.setWordWrap(True)
        self.warning.hide()
        self._timer = QTimer(self, singleShot=True, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)
        self.button.clicked.connect(self._on_button_clicked)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.warning)
        if reader is None:
            self.button.setEnabled(False)
            self.button.setToolTip(problem)
            self.status.setText(problem)
        self.setVisible(reader is not None or bool(problem))

    @property
    def waiting(self) -> bool:
        return self._waiting

    def _on_button_clicked(self) -> None:
        if self._waiting:
            self._finish("已停止读卡")
        else:
            self.start()

    def start(self) -> None:
        """Ask for the card and poll the reader until one is there."""
        if self.reader is None or self._waiting:
            return
        reader = self.reader
        self._waiting, self._polls = True, 0
        self.warning.hide()
        self._say(PLACE_CARD, "hint")
        self.button.setText("停止读卡")
        session = self._session

        def open_reader() -> None:
            reader.open()
            session["opened"] = True
        run_op(self, open_reader, lambda _none: self._on_opened(), self._on_failed)

    def _on_opened(self) -> None:
        if self._waiting:
            self._poll()
        else:
            self._close()

    def _poll(self) -> None:
        if not self._waiting or self.reader is None:
            return
        self._polls += 1
        run_op(self, self.reader.read, self._on_read, self._on_failed)

    def _on_read(self, card: IdCard | None) -> None:
        if not self._waiting:
            return  # stopped meanwhile
        if card is None:
            if self._polls >= MAX_POLLS:
                self._finish(NO_CARD)
            else:
                self._timer.start()
            return
        self._finish(READ_OK)
        warning = expiry_warning(card, self._today())
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))
        self.card_read.emit(card)

    def _on_failed(self, message: str) -> None:
        self._finish(message, "error")

    def _finish(self, message: str, style: str = "hint") -> None:
        self._timer.stop()
        self._waiting = False
        self.button.setText("读身份证")
        self._say(message, style)
        self._close()

    def _close(self) -> None:
        if self._session["opened"] and self.reader is not None:
            self._session["opened"] = False
            run_op(self, self.reader.close, lambda _none: None, lambda _msg: None)

    def _say(self, text: str, style: str) -> None:
        self.status.setText(text)
        if self.status.objectName() != style:
            self.status.setObjectName(style)
            self.status.style().unpolish(self.status)
            self.status.style().polish(self.status)
