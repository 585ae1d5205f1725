"""Paged table model over the worklist service: fetchMore loads the next page as the view scrolls."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from app.workdays import CHINA_TZ

PAGE_SIZE = 100
COLUMNS = (("case_number", "案件编号"), ("item", "事项"), (None, "申请人"), (None, "身份证号"), ("state", "状态"),
           (None, "承办人"), ("due", "办理期限"), (None, "剩余时间"))
_AMBER = QBrush(QColor("#fff4d6"))
_RED = QBrush(QColor("#fde2e1"))


class WorklistTableModel(QAbstractTableModel):
    def __init__(self, fetch_page, fetch_count, parent=None):
        """``fetch_page(offset, limit, text, sort, descending)`` → rows; ``fetch_count(text)`` → int."""
        super().__init__(parent)
        self._fetch_page, self._fetch_count = fetch_page, fetch_count
        self._rows: list = []
        self._total = 0
        self._text, self._sort, self._desc = "", "due", False

    def reload(self, text: str | None = None) -> None:
        if text is not None:
            self._text = text
        # Query first, then swap inside the reset: views may call canFetchMore while the reset is announced.
        total = self._fetch_count(self._text)
        rows = self._fetch_page(0, PAGE_SIZE, self._text, self._sort, self._desc)
        self.beginResetModel()
        self._total, self._rows = total, rows
        self.endResetModel()

    @property
    def total(self) -> int:
        return self._total

    def row_at(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def canFetchMore(self, parent=QModelIndex()) -> bool:
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent=QModelIndex()) -> None:
        if parent.isValid():
            return
        more = self._fetch_page(len(self._rows), PAGE_SIZE, self._text, self._sort, self._desc)
        if not more:
            self._total = len(self._rows)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(more) - 1)
        self._rows.extend(more)
        self.endInsertRows()

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        key = COLUMNS[column][0] if 0 <= column < len(COLUMNS) else None
        if key is None:
            return
        self._sort, self._desc = key, order == Qt.DescendingOrder
        self.reload()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section][1]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        if role == Qt.DisplayRole:
            due = r.due_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if r.due_at else ""
            if due and r.provisional:
                due += "（暂定）"
            return (r.case_number, r.item_name, r.applicant, r.applicant_id_masked, r.state_label, r.assignee,
                    due, r.countdown)[index.column()]
        if role == Qt.BackgroundRole:
            return _RED if r.urgency == "overdue" else (_AMBER if r.urgency == "due_today" else None)
        if role == Qt.ForegroundRole and index.column() == 7 and r.urgency == "overdue":
            return QBrush(QColor("#b42318"))
        return None
