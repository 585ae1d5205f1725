"""Paged table model over the worklist service: fetchMore loads the next page as the view scrolls.

Every query runs off the UI thread (``run_op``): at 150,000 cases a tab opens in tens of milliseconds, and a
busy disk must never freeze the desk. A newer reload supersedes older answers (generation counter).
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont

from app.core import rule_notes
from app.core.workdays import CHINA_TZ
from ui.operations import run_op
from ui.requests.common import background_for, foreground_for

PAGE_SIZE = 100
# Sort keys of the worklist service; None: not sortable (a masked ID or a name list would sort meaninglessly).
COLUMNS = (("case_number", "案件编号"), ("item", "事项"), ("applicant", "申请人"), (None, "身份证号"),
           ("state", "状态"), (None, "承办人"), ("due", "办理期限"), ("due", "剩余时间"))
# The 差评回访 tab (app/desk/worklist.py): its rows are about the follow-up, its deadline is the follow-up's.
FOLLOWUP_HEADERS = {4: "差评回访", 6: "回访/整改期限"}
# The 诉求 tab (issue 20): the person who raised it, and what the 24-hour clock counts to.
REQUEST_HEADERS = {2: "居民", 6: "反馈期限"}
_AMBER = QBrush(QColor("#fff4d6"))
WARNED_TIP = "受理时有须由承办部门审核的提示，居民坚持申请（详见案件）"
_RED = QBrush(QColor("#fde2e1"))
# Replies (issue 19): every 已答复 row is tinted green (the resident is to be told); one nobody who informs the
# resident has opened yet is bolder, darker and marked in its state cell until the case is opened.
_REPLIED = QBrush(QColor("#e8f5ec"))
_NEW_REPLY = QBrush(QColor("#c9ecd4"))
NEW_REPLY_MARK = "●"
NEW_REPLY_TIP = "承办部门已答复，尚未打开查看（打开案件后不再突出显示）"
REPLIED_STATE = "replied"
REQUEST_KIND = "request"  # a 诉求's row (issue 20): coloured by its 24-hour clock, yellow "soon", red "overdue"
URGENT_MARK = "【紧急】"


class WorklistTableModel(QAbstractTableModel):
    loaded = Signal()  # a reload or a further page arrived
    load_failed = Signal(str)  # Chinese message

    def __init__(self, fetch_page, fetch_count, parent=None, *, headers: dict[int, str] | None = None):
        """``fetch_page(offset, limit, text, sort, descending)`` → rows; ``fetch_count(text)`` → int.

        Both are called on a pool thread. ``headers``: column titles that differ from :data:`COLUMNS`."""
        super().__init__(parent)
        self._headers = dict(headers or {})
        self._fetch_page, self._fetch_count = fetch_page, fetch_count
        self._rows: list = []
        self._total = 0
        self._text, self._sort, self._desc = "", "due", False
        self._generation = 0
        self._fetching = False

    def reload(self, text: str | None = None) -> None:
        if text is not None:
            self._text = text
        self._generation += 1
        gen, text, sort, desc = self._generation, self._text, self._sort, self._desc
        self._fetching = True

        def load():
            return self._fetch_count(text), self._fetch_page(0, PAGE_SIZE, text, sort, desc)
        run_op(self, load, lambda res: self._on_loaded(gen, res), lambda msg: self._on_failed(gen, msg))

    def _on_loaded(self, gen: int, result) -> None:
        if gen != self._generation:
            return  # superseded by a newer reload
        total, rows = result
        self.beginResetModel()
        self._total, self._rows = total, rows
        self.endResetModel()
        self._fetching = False
        self.loaded.emit()

    def _on_failed(self, gen: int, message: str) -> None:
        if gen == self._generation:
            self._fetching = False
            self.load_failed.emit(message)

    @property
    def total(self) -> int:
        return self._total

    @property
    def busy(self) -> bool:
        return self._fetching

    def row_at(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def canFetchMore(self, parent=QModelIndex()) -> bool:
        return not parent.isValid() and not self._fetching and len(self._rows) < self._total

    def fetchMore(self, parent=QModelIndex()) -> None:
        if parent.isValid() or self._fetching:
            return
        self._fetching = True
        gen, offset, text, sort, desc = self._generation, len(self._rows), self._text, self._sort, self._desc
        run_op(self, lambda: self._fetch_page(offset, PAGE_SIZE, text, sort, desc),
               lambda more: self._on_more(gen, offset, more), lambda msg: self._on_failed(gen, msg))

    def _on_more(self, gen: int, offset: int, more: list) -> None:
        if gen != self._generation:
            return
        if offset != len(self._rows) or not more:
            if not more:
                self._total = len(self._rows)
            self._fetching = False
            return
        # Still "fetching" while the insert is announced: views and testers ask canFetchMore from those signals.
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(more) - 1)
        self._rows.extend(more)
        self.endInsertRows()
        self._fetching = False
        self.loaded.emit()

    def is_sortable(self, column: int) -> bool:
        return 0 <= column < len(COLUMNS) and COLUMNS[column][0] is not None

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        key = COLUMNS[column][0] if 0 <= column < len(COLUMNS) else None
        if key is None:
            return  # the view puts the indicator back (WorklistPage)
        self._sort, self._desc = key, order == Qt.DescendingOrder
        self.reload()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal and 0 <= section < len(COLUMNS):
            return self._headers.get(section, COLUMNS[section][1])
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        if role == Qt.DisplayRole:
            # a 诉求's deadline is within a day or two: month, day and time fit a 1024-pixel-wide list
            shape = "%m-%d %H:%M" if r.kind == REQUEST_KIND else "%Y-%m-%d %H:%M"
            due = r.due_at.astimezone(CHINA_TZ).strftime(shape) if r.due_at else ""
            if due and r.provisional:
                due += "（暂定）"
            item = f"{rule_notes.MARKS['warn']} {r.item_name}" if r.warned else r.item_name
            if r.urgent:
                item = URGENT_MARK + item
            state = f"{NEW_REPLY_MARK} {r.state_label}（未查看）" if r.reply_unseen else r.state_label
            return (r.case_number, item, r.applicant, r.applicant_id_masked, state, r.assignee,
                    due, r.countdown)[index.column()]
        if role == Qt.FontRole and r.reply_unseen:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ToolTipRole and index.column() == 1 and r.warned:
            return WARNED_TIP
        if role == Qt.ToolTipRole and index.column() == 4 and r.reply_unseen:
            return NEW_REPLY_TIP
        if role == Qt.ToolTipRole and index.column() == 7 and r.remind_count and r.reminded_at:
            return f"已催办 {r.remind_count} 次，最近一次 {r.reminded_at.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}"
        level = r.clock_level if r.kind == REQUEST_KIND else ""
        if role == Qt.BackgroundRole and level:
            return background_for(level)
        if role == Qt.ForegroundRole and level:
            return foreground_for(level) if index.column() == 7 else None
        if role == Qt.BackgroundRole:
            if r.urgency:
                return _RED if r.urgency == "overdue" else _AMBER
            if r.state == REPLIED_STATE:
                return _NEW_REPLY if r.reply_unseen else _REPLIED
            return None
        if role == Qt.ForegroundRole and index.column() == 7 and r.urgency == "overdue":
            return QBrush(QColor("#b42318"))
        return None
