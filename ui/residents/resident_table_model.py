"""Table model over ResidentRow dataclasses (masked values only)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from app.desk.residents import ResidentRow


class ResidentTableModel(QAbstractTableModel):
    HEADERS = ("姓名", "性别", "年龄", "身份证号", "联系电话", "住址")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[ResidentRow] = []

    def set_rows(self, rows: list[ResidentRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> ResidentRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal and 0 <= section < len(self.HEADERS):
            return self.HEADERS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or role != Qt.DisplayRole:
            return None
        r = self._rows[index.row()]
        age = "" if r.age is None else str(r.age)
        return (r.name, r.sex, age, r.id_masked, r.phone_masked, r.address)[index.column()]
