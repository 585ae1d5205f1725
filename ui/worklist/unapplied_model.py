"""Table model of the 未生效 tab: the logged-in worker's own case work the district server did not take.

Rows are :class:`app.desk.unapplied.UnappliedWork` (``id`` is the case, so the worklist page opens it as it
opens any row). A short list (at most a few hundred): loaded whole, off the UI thread, sorted in memory.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

from app.core.vocabulary import CHINA_TZ
from ui.operations import run_op

COLUMNS = (("at", "时间"), ("label", "未生效的操作"), ("case_number", "案件编号"), ("item_name", "事项"),
           ("text", "填写的内容"), ("reason", "原因"))


class UnappliedTableModel(QAbstractTableModel):
    loaded = Signal()
    load_failed = Signal(str)  # Chinese message

    def __init__(self, fetch, parent=None):
        """``fetch(text)`` → rows; called on a pool thread."""
        super().__init__(parent)
        self._fetch = fetch
        self._rows: list = []
        self._text = ""
        self._sort, self._desc = "at", True
        self._generation = 0

    def reload(self, text: str | None = None) -> None:
        if text is not None:
            self._text = text
        self._generation += 1
        gen, text = self._generation, self._text
        run_op(self, lambda: self._fetch(text), lambda rows: self._on_loaded(gen, rows),
               lambda msg: self._on_failed(gen, msg))

    def _on_loaded(self, gen: int, rows: list) -> None:
        if gen != self._generation:
            return  # superseded by a newer reload
        self.beginResetModel()
        self._rows = sorted(rows, key=lambda r: getattr(r, self._sort), reverse=self._desc)
        self.endResetModel()
        self.loaded.emit()

    def _on_failed(self, gen: int, message: str) -> None:
        if gen == self._generation:
            self.load_failed.emit(message)

    @property
    def total(self) -> int:
        return len(self._rows)

    def row_at(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def is_sortable(self, column: int) -> bool:
        return 0 <= column < len(COLUMNS)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not self.is_sortable(column):
            return
        self._sort, self._desc = COLUMNS[column][0], order == Qt.SortOrder.DescendingOrder
        self.beginResetModel()
        self._rows.sort(key=lambda r: getattr(r, self._sort), reverse=self._desc)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(COLUMNS):
            return COLUMNS[section][1]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if index.column() == 0:
                return r.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
            return getattr(r, COLUMNS[index.column()][0])
        return None
