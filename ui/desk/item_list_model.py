"""List model over catalog search hits; an unavailable item is listed greyed with its reason."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt
from PySide6.QtGui import QColor

UNAVAILABLE_COLOR = QColor("#8a94a3")  # greyed like a disabled entry, still selectable to explain why


class ItemListModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._hits: list = []
        self._recent: set[str] = set()

    def set_hits(self, hits, recent=()) -> None:
        self.beginResetModel()
        self._hits, self._recent = list(hits), set(recent)
        self.endResetModel()

    def hit_at(self, row: int):
        return self._hits[row] if 0 <= row < len(self._hits) else None

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        h = self._hits[index.row()]
        available = getattr(h, "available", True)
        if role == Qt.DisplayRole:
            if not available:
                return f"【不可用】{h.code}  {h.name}    {h.department or '—'}"
            tag = "【最近】" if h.code in self._recent else ""
            alias = f"（{h.matched}）" if h.matched and h.matched != h.name and not h.matched.isascii() else ""
            return f"{tag}{h.code}  {h.name}{alias}    {h.department} · {h.mode}"
        if role == Qt.ForegroundRole and not available:
            return UNAVAILABLE_COLOR
        if role == Qt.ToolTipRole and not available:
            return h.reason
        if role == Qt.UserRole:
            return h.code
        return None
