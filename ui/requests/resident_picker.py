"""Who raises a 诉求: a known resident (ID, name or phone, or read from the ID card as on the wizard's applicant
step), or nobody (匿名) — then the contact's name and phone are what the committee calls back.

The resident chosen is always one matching what is typed: a changed text drops them until the list answers it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.vocabulary import CHINA_TZ
from ui.desk.card_reader import CardReaderPanel, configured_reader
from ui.operations import run_op

NO_RESIDENT = "尚未选择居民（也可勾选“匿名”，只留联系人和电话）"
ROW_ROLE = Qt.UserRole + 1


class ResidentPicker(QWidget):
    resident_changed = Signal(object)  # the ResidentRow chosen, or None

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.resident = None
        self.search = QLineEdit(placeholderText="输入身份证号、姓名或电话查找居民")
        self.search.setClearButtonEnabled(True)
        self.anonymous = QCheckBox("匿名")
        self.anonymous.setToolTip("居民不愿留身份：须留联系电话（称呼可不填），以便 24 小时内反馈")
        self.results = QListWidget()
        self.results.setFixedHeight(64)
        self.chosen = QLabel(NO_RESIDENT)
        self.chosen.setObjectName("hint")
        self.contact_name = QLineEdit(placeholderText="联系人称呼（可不填）")
        self.contact_phone = QLineEdit(placeholderText="联系电话（匿名时必填；留空则为居民本人电话）")
        self.card_panel = CardReaderPanel(*configured_reader(services), today=self._today, parent=self)
        self.card_panel.card_read.connect(self._on_card_read)
        self._debounce = QTimer(self, singleShot=True, interval=150)
        self._debounce.timeout.connect(self._on_search)
        self.search.textChanged.connect(self._on_text_changed)
        self.search.installEventFilter(self)
        self.results.currentItemChanged.connect(self._on_result_changed)
        self.anonymous.toggled.connect(self._on_anonymous_toggled)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.anonymous)
        contact = QHBoxLayout()
        contact.addWidget(QLabel("联系人"))
        contact.addWidget(self.contact_name, 2)
        contact.addWidget(QLabel("电话"))
        contact.addWidget(self.contact_phone, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.card_panel)
        layout.addLayout(top)
        layout.addWidget(self.results)
        layout.addWidget(self.chosen)
        layout.addLayout(contact)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.search and event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Up, Qt.Key_Down):
            n = self.results.count()
            if n:
                step = 1 if event.key() == Qt.Key_Down else -1
                self.results.setCurrentRow(max(0, min(n - 1, self.results.currentRow() + step)))
            return True
        return super().eventFilter(obj, event)

    def _today(self):
        return self.services.clock().astimezone(CHINA_TZ).date()

    def _on_anonymous_toggled(self, on: bool) -> None:
        for w in (self.search, self.results):
            w.setEnabled(not on)
        if on:
            self.set_resident(None)
            self.chosen.setText("匿名诉求：请留联系电话（称呼可不填）")
            self.contact_name.setFocus()
        else:
            self._on_text_changed(self.search.text())

    def _on_text_changed(self, _text: str) -> None:
        self.set_resident(None)
        self.chosen.setText("正在查找…" if self.search.text().strip() else NO_RESIDENT)
        self._debounce.start()

    def _on_search(self) -> None:
        text = self.search.text().strip()
        if not text:
            self._on_results("", [])
            return
        run_op(self, lambda: self.services.residents.search(text, limit=20), lambda rows: self._on_results(text, rows))

    def _on_results(self, text: str, rows) -> None:
        if text != self.search.text().strip() or self._debounce.isActive():
            return  # an answer to an older text
        self.results.blockSignals(True)
        self.results.clear()
        for r in rows:
            age = f"{r.age}岁" if r.age is not None else ""
            item = QListWidgetItem("  ".join(x for x in (r.name, r.sex, age, r.id_masked, r.address) if x))
            item.setData(ROW_ROLE, r)
            self.results.addItem(item)
        self.results.setCurrentRow(-1)
        self.results.blockSignals(False)
        if len(rows) == 1:
            self.results.setCurrentRow(0)
        elif rows:
            self.chosen.setText(f"有 {len(rows)} 位居民相符，请用 ↑↓ 选择")
        elif text:
            self.chosen.setText(f"没有找到与“{text}”相符的居民：可勾选“匿名”登记联系人和电话")
        else:
            self.chosen.setText(NO_RESIDENT)

    def _on_result_changed(self, item, _prev) -> None:
        if item is not None:
            self.set_resident(item.data(ROW_ROLE))

    def set_resident(self, row) -> None:
        self.resident = row
        if row is not None:
            self.chosen.setText(f"居民：{row.name}（{row.id_masked}）  {row.address}")
        self.resident_changed.emit(row)

    def _on_card_read(self, card) -> None:
        residents = self.services.residents
        run_op(self, lambda: residents.find_by_id_number(card.id_number), lambda row: self._on_card_row(card, row))

    def _on_card_row(self, card, row) -> None:
        self._debounce.stop()
        self.anonymous.setChecked(False)
        self.search.blockSignals(True)
        self.search.setText(card.id_number)
        self.search.blockSignals(False)
        self._on_results(card.id_number, [row] if row is not None else [])
        if row is None:
            self.chosen.setText(f"身份证上的居民（{card.name}）尚未登记：请在“居民”页登记，或勾选“匿名”")

    def values(self) -> dict:
        """What the registration takes of the person: the resident (or none), the contact, anonymous or not."""
        anonymous = self.anonymous.isChecked()
        return {"applicant_id": None if anonymous or self.resident is None else self.resident.id,
                "anonymous": anonymous, "contact_name": self.contact_name.text().strip(),
                "contact_phone": self.contact_phone.text().strip()}
