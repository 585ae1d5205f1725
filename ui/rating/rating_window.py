"""The resident's rating window (好差评, GB/T 39734-2020 一次一评; rules.md §3).

It faces the resident: the item and the case number only (nothing else about the person), five equal levels in
the order of the standard, none preselected, highlighted or focused — no default button, so Enter never submits
a level the resident did not pick. Reasons are asked for a low rating only (``ratings.reasons_allowed``), the
note is the resident's own words. 提交评价 records the rating through ``CaseService.rate`` (the core refuses a
second one: rated meanwhile on the receipt's QR page, say); 暂不评价 closes and the case stays 未评价.

Where it opens (``ask_for_rating``): with a second screen, full screen on the screen the main window is not on
(``placement.resident_screen``), and a small non-modal note on the worker's screen (``RatingNote``) with 取消评价;
with one screen, a modal dialog the worker turns toward the resident.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.limits import MAX_TEXT
from app.core.ratings import reasons_allowed
from app.core.vocabulary import RATING_LABELS, RATING_REASONS, SECOND_RATING_TITLE, Action, RatingChannel, RatingLevel
from ui.operations import run_op
from ui.rating.placement import resident_screen

THANKS_MS = 2000  # how long 感谢您的评价 stays before the window closes
LEVELS: tuple[RatingLevel, ...] = (RatingLevel.VERY_SATISFIED, RatingLevel.SATISFIED, RatingLevel.BASIC,
                                   RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED)
TITLES = {1: "请您对本次服务进行评价", 2: SECOND_RATING_TITLE}

# Read at arm's length: large type, one calm colour for every level (no level looks like the expected one).
_STYLE = """
QDialog#ratingWindow { background: #f7f9fc; }
QLabel#ratingTitle { font-size: 34px; font-weight: bold; color: #1f3a5f; }
QLabel#ratingCase { font-size: 22px; color: #1f3a5f; }
QLabel#ratingHint { font-size: 18px; color: #5b6b7f; }
QLabel#ratingHeading { font-size: 22px; color: #1f3a5f; }
QLabel#ratingThanks { font-size: 44px; font-weight: bold; color: #1f3a5f; }
QLabel#ratingError { font-size: 20px; color: #b42318; }
QPushButton#ratingLevel { font-size: 26px; padding: 18px 8px; min-height: 80px; border: 2px solid #9aa7b8;
    border-radius: 10px; background: white; color: #1f3a5f; }
QPushButton#ratingLevel:checked { background: #2d5286; color: white; border: 2px solid #1f3a5f; }
QPushButton#ratingLevel:disabled { color: #9aa7b8; background: #f0f2f5; }
QPushButton#ratingSubmit, QPushButton#ratingLater { font-size: 22px; padding: 12px 32px; min-height: 44px; }
QPushButton#ratingSubmit { background: #2d5286; color: white; border: 1px solid #1f3a5f; }
QPushButton#ratingSubmit:disabled { color: #9aa7b8; background: #f0f2f5; border: 1px solid #c9d1dc; }
QCheckBox#ratingReason { font-size: 20px; spacing: 10px; padding: 6px 4px; }
QCheckBox#ratingReason::indicator { width: 24px; height: 24px; }
QPlainTextEdit#ratingNote { font-size: 20px; }
"""


def _button(text: str, name: str) -> QPushButton:
    b = QPushButton(text)
    b.setObjectName(name)
    b.setAutoDefault(False)  # a QPushButton in a dialog is auto-default: Enter would press it
    b.setDefault(False)
    return b


class RatingWindow(QDialog):
    """One rating (``round`` 1 or 2) of one case, as the resident gives it. ``rated(CaseDetail)`` after the
    core recorded it; the window then thanks the resident and closes."""

    rated = Signal(object)

    def __init__(self, services, detail, round: int = 1, parent=None):
        super().__init__(parent)
        self.services, self.case_id, self.round = services, detail.summary.id, round
        self.worker = services.current_worker  # the worker who served the resident records the rating
        self.busy = self.done_rating = False
        self.worker_note: RatingNote | None = None  # the worker's note while the resident rates on the other screen
        self.setObjectName("ratingWindow")
        self.setStyleSheet(_STYLE)
        self.setWindowTitle(TITLES.get(round, TITLES[1]))
        self.title = QLabel(TITLES.get(round, TITLES[1]))
        self.title.setObjectName("ratingTitle")
        self.case_line = QLabel(f"事项：{detail.summary.item_name}　　办件编号：{detail.summary.case_number}")
        self.case_line.setObjectName("ratingCase")
        self.case_line.setWordWrap(True)
        self.hint = QLabel("评价自愿，只针对本次服务；请点选一项。")
        self.hint.setObjectName("ratingHint")
        self.levels = QButtonGroup(self)
        self.levels.setExclusive(True)  # none checked at the start; a click checks one
        self.level_buttons: dict[str, QPushButton] = {}
        level_row = QHBoxLayout()
        level_row.setSpacing(16)
        for level in LEVELS:
            b = _button(RATING_LABELS[str(level)], "ratingLevel")
            b.setCheckable(True)
            b.setFocusPolicy(Qt.TabFocus)  # reachable by Tab, never focused (outlined) by opening or a click
            self.levels.addButton(b)
            self.level_buttons[str(level)] = b
            level_row.addWidget(b, 1)
        self.levels.buttonClicked.connect(self._on_level_clicked)
        self.reasons_box = QWidget()
        reasons_layout = QVBoxLayout(self.reasons_box)
        reasons_layout.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("哪些方面需要改进？（可多选，也可不选）")
        heading.setObjectName("ratingHeading")
        reasons_layout.addWidget(heading)
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        self.reason_boxes: list[QCheckBox] = []
        for i, reason in enumerate(RATING_REASONS):
            box = QCheckBox(reason)
            box.setObjectName("ratingReason")
            self.reason_boxes.append(box)
            grid.addWidget(box, i // 4, i % 4)
        reasons_layout.addLayout(grid)
        self.reasons_box.setVisible(False)
        self.note_heading = QLabel("您的意见或建议（可不填）")
        self.note_heading.setObjectName("ratingHeading")
        self.note_heading.setVisible(round == 1)
        self.note = QPlainTextEdit(placeholderText="请在这里写下您想说的话")
        self.note.setObjectName("ratingNote")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(96)
        self.note.textChanged.connect(self._on_note_changed)
        # Round 2 keeps the level only (app/core/actions.py _rate): no reasons or words that would be dropped.
        self.note.setVisible(round == 1)
        self.error = QLabel()
        self.error.setObjectName("ratingError")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        self.later_button = _button("暂不评价", "ratingLater")
        self.submit_button = _button("提交评价", "ratingSubmit")
        self.submit_button.setEnabled(False)
        self.later_button.clicked.connect(self.reject)
        self.submit_button.clicked.connect(self._on_submit_clicked)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._form_page(level_row))
        self.thanks = QLabel("感谢您的评价！")
        self.thanks.setObjectName("ratingThanks")
        self.thanks.setAlignment(Qt.AlignCenter)
        self.stack.addWidget(self.thanks)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(self.stack, 30)
        outer.addStretch(1)
        self.ensurePolished()  # the style sheet's large type is in the size hints from here on
        widest = max(b.sizeHint().width() for b in self.level_buttons.values())
        for b in self.level_buttons.values():  # five equal buttons: the longest label sets every width
            b.setMinimumWidth(widest)
            b.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)

    def _form_page(self, level_row) -> QWidget:
        page = QWidget()
        page.setFocusPolicy(Qt.StrongFocus)  # holds the focus at the start, so no level is outlined
        self.focus_holder = page
        column = QVBoxLayout(page)
        column.setSpacing(18)
        column.addStretch(1)
        for w in (self.title, self.case_line, self.hint):
            column.addWidget(w)
        column.addSpacing(8)
        column.addLayout(level_row)
        column.addWidget(self.reasons_box)
        column.addWidget(self.note_heading)
        column.addWidget(self.note)
        column.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addWidget(self.later_button)
        buttons.addStretch(1)
        buttons.addWidget(self.submit_button)
        column.addLayout(buttons)
        column.addStretch(2)
        self.focus_holder.setFocus()
        return page

    # ----- what the resident does --------------------------------------------------------------------------
    def chosen_level(self) -> str | None:
        b = self.levels.checkedButton()
        return next((k for k, v in self.level_buttons.items() if v is b), None)

    def chosen_reasons(self) -> list[str]:
        if self.reasons_box.isHidden():  # ticked for a low level, then a high one chosen: not asked any more
            return []
        return [b.text() for b in self.reason_boxes if b.isChecked()]

    def _on_level_clicked(self, _button) -> None:
        level = self.chosen_level()
        self.reasons_box.setVisible(self.round == 1 and reasons_allowed(level))
        self.submit_button.setEnabled(level is not None and not self.busy)

    def _on_note_changed(self) -> None:
        text = self.note.toPlainText()
        if len(text) > MAX_TEXT:  # the limit of every note (app/core/limits.py)
            self.note.setPlainText(text[:MAX_TEXT])
            self.note.moveCursor(QTextCursor.MoveOperation.End)

    def _on_submit_clicked(self) -> None:
        level = self.chosen_level()
        if self.busy or self.done_rating or level is None:
            return
        svc, worker, cid, rnd = self.services.cases, self.worker, self.case_id, self.round
        reasons, comment = self.chosen_reasons(), self.note.toPlainText().strip()
        self._set_busy(True)
        self.error.setVisible(False)
        run_op(self, lambda: svc.rate(worker, cid, level, round=rnd, channel=RatingChannel.DESK.value,
                                      reasons=reasons, comment=comment), self._on_rated, self._on_refused)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for b in (*self.level_buttons.values(), *self.reason_boxes, self.later_button):
            b.setEnabled(not busy)
        self.note.setReadOnly(busy)
        self.submit_button.setEnabled(not busy and self.chosen_level() is not None)

    def _on_rated(self, detail) -> None:
        self.busy, self.done_rating = False, True
        self.stack.setCurrentWidget(self.thanks)  # nothing left to press: the rating cannot be changed here
        self.rated.emit(detail)
        QTimer.singleShot(THANKS_MS, self.accept)

    def _on_refused(self, message: str) -> None:
        """The core refused (rated meanwhile, say): its words here; when the case can no longer take this
        rating, only 关闭 is left."""
        self._set_busy(False)
        self.error.setText(message)
        self.error.setVisible(True)
        svc, worker, cid = self.services.cases, self.worker, self.case_id
        run_op(self, lambda: svc.get(cid, viewer=worker), self._on_reread, lambda _m: None)

    def _on_reread(self, detail) -> None:
        if offered_round(detail) == self.round:
            return
        for b in (*self.level_buttons.values(), *self.reason_boxes, self.submit_button):
            b.setEnabled(False)
        self.note.setReadOnly(True)
        self.later_button.setText("关闭")

    def reject(self) -> None:
        if self.busy:  # the rating is on its way: it cannot be taken back half-way
            return
        super().reject()


class RatingNote(QDialog):
    """On the worker's screen while the resident rates on the other one: non-modal, with 取消评价."""

    def __init__(self, rating: RatingWindow, parent=None):
        super().__init__(parent)
        self.rating = rating
        self.setWindowTitle("好差评")
        self.setModal(False)
        self.setMinimumWidth(400)
        self.text = text = QLabel("请居民在副屏上评价…")
        text.setObjectName("dialogTitle")
        hint = QLabel("居民提交或选择“暂不评价”后，此提示自动关闭。")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.cancel_button = _button("取消评价", "cancelRating")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(hint)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        rating.finished.connect(lambda _r: self.accept())
        rating.rated.connect(lambda _d: self.cancel_button.setEnabled(False))

    def _on_cancel_clicked(self) -> None:
        self.rating.reject()

    def reject(self) -> None:
        """Esc or the title bar's close: the worker calls the rating off (the rating's end closes this note)."""
        self.rating.reject()


# ----- opening it ------------------------------------------------------------------------------------------

def offered_round(detail) -> int | None:
    """The rating round the core offers the viewing worker on ``detail`` (its ``options`` hold RATE), else None."""
    if detail is None or not any(o.action == Action.RATE for o in detail.options):
        return None
    return detail.rating.next_round


def _top_window(widget):
    w = widget
    while w is not None and w.parentWidget() is not None:
        w = w.parentWidget()
    return w


def ask_for_rating(parent, services, case_id, round: int = 1, *, detail=None) -> None:
    """Open the resident's rating of ``case_id`` (reads the case first unless ``detail`` is given). A rating
    window already open for the case is raised instead of a second one."""
    for w in parent.findChildren(RatingWindow) if parent is not None else ():
        if w.case_id == case_id and w.isVisible():
            w.raise_()
            w.activateWindow()
            return
    if detail is not None:
        open_rating(parent, services, detail, round)
        return
    worker = services.current_worker
    run_op(parent, lambda: services.cases.get(case_id, viewer=worker),
           lambda d: open_rating(parent, services, d, round))


def open_rating(parent, services, detail, round: int = 1) -> RatingWindow:
    """The window, placed: full screen on the resident's screen with a note on the worker's, or modal here."""
    window = RatingWindow(services, detail, round, parent)
    window.finished.connect(lambda _r: window.deleteLater())
    top = _top_window(parent)
    worker_screen = top.screen() if top is not None else QGuiApplication.primaryScreen()
    screen = resident_screen(QGuiApplication.screens(), worker_screen)
    if screen is None:
        available = (worker_screen or QGuiApplication.primaryScreen()).availableGeometry()
        window.resize(min(1100, int(available.width() * 0.92)), min(760, int(available.height() * 0.9)))
        window.open()  # modal: the worker turns the screen toward the resident
        return window
    window.setModal(False)
    window.winId()  # the native window exists, so it can be put on a screen before it shows
    window.windowHandle().setScreen(screen)
    window.setGeometry(screen.geometry())
    window.showFullScreen()
    note = RatingNote(window, parent)
    note.finished.connect(lambda _r: note.deleteLater())
    note.show()
    window.worker_note = note
    return window


def rating_after_preview(services, parent, detail, round: int | None = None):
    """An ``on_shown`` for ``ui.printing.flow.show_document``: once the slip's preview is open, offer the rating
    (when the core offers it to this worker): at once on the resident's screen; with one screen, after the
    preview closes, so the modal rating never blocks printing the slip."""
    rnd = round if round is not None else offered_round(detail)
    if rnd is None:
        return None

    def after(preview) -> None:
        top = _top_window(parent)
        two = resident_screen(QGuiApplication.screens(), top.screen() if top is not None else None) is not None
        if two:
            open_rating(parent, services, detail, rnd)
        else:
            preview.finished.connect(lambda _r: open_rating(parent, services, detail, rnd))
    return after
