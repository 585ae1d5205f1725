"""Table models of the report's overdue lists: forwarded cases past their deadline (催办) and bad ratings whose
call-back or fix is late. Both hold the report's dataclasses; times shown in China time."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from app.core.ratings import STAGE_LABELS
from app.core.stats import OverdueCase, OverdueFollowup
from app.core.vocabulary import CHINA_TZ, rating_label

SORT_ROLE = Qt.UserRole + 1


def when_text(at: dt.datetime | None, now: dt.datetime) -> str:
    """``11-20 17:30`` (China time); with the year when it is not ``now``'s."""
    if at is None:
        return ""
    local = at.astimezone(CHINA_TZ)
    if local.year != now.astimezone(CHINA_TZ).year:
        return local.strftime("%Y-%m-%d %H:%M")
    return local.strftime("%m-%d %H:%M")


def late_text(due: dt.datetime, now: dt.datetime) -> str:
    """How long past its deadline, for reading at a glance: ``3天2小时``, ``5小时``, ``不到1小时``."""
    seconds = max(0, int((now - due).total_seconds()))
    days, hours = seconds // 86400, seconds % 86400 // 3600
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    return f"{hours}小时" if hours else "不到1小时"


class _ListModel(QAbstractTableModel):
    HEADERS: tuple[str, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []
        self._now = dt.datetime.now(dt.UTC)

    def set_rows(self, rows: list, now: dt.datetime) -> None:
        self.beginResetModel()
        self._rows, self._now = list(rows), now
        self.endResetModel()

    def row_at(self, row: int):
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
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return self.texts(r)[index.column()]
        if role == SORT_ROLE:
            return self.sort_keys(r)[index.column()]
        return None

    def texts(self, r) -> tuple[str, ...]:
        raise NotImplementedError

    def sort_keys(self, r) -> tuple:
        raise NotImplementedError


class OverdueCasesModel(_ListModel):
    HEADERS = ("办件编号", "事项", "承办", "期限", "超期", "已催办")

    def texts(self, r: OverdueCase) -> tuple[str, ...]:
        reminded = f"{r.remind_count}次" if r.remind_count else "未催办"
        if r.reminded_at is not None:
            reminded += f"（{when_text(r.reminded_at, self._now)}）"
        return (r.case_number, r.item_name, r.assignee_name or r.department, when_text(r.due_at, self._now),
                late_text(r.due_at, self._now), reminded)

    def sort_keys(self, r: OverdueCase) -> tuple:
        return (r.case_number, r.item_name, r.assignee_name, r.due_at.timestamp(), -r.due_at.timestamp(),
                r.remind_count)

    def row_of(self, case_id: uuid.UUID) -> int:
        return next((i for i, r in enumerate(self._rows) if r.case_id == case_id), -1)

    def set_reminded(self, case_id: uuid.UUID, count: int, at: dt.datetime | None) -> None:
        """The row of a case just reminded shows its new count before the report is read again."""
        row = self.row_of(case_id)
        if row < 0:
            return
        self._rows[row] = replace(self._rows[row], remind_count=count, reminded_at=at)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.HEADERS) - 1))


class OverdueFollowupsModel(_ListModel):
    HEADERS = ("办件编号", "事项", "评价", "阶段", "期限", "超期")

    def texts(self, r: OverdueFollowup) -> tuple[str, ...]:
        return (r.case_number, r.item_name, rating_label(r.rating), STAGE_LABELS.get(r.stage, r.stage),
                when_text(r.due_at, self._now), late_text(r.due_at, self._now))

    def sort_keys(self, r: OverdueFollowup) -> tuple:
        return (r.case_number, r.item_name, r.rating, r.stage, r.due_at.timestamp(), -r.due_at.timestamp())
