"""Table model of a report's breakdown: one row per key, then the totals row (kept last whatever the sort)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt

from app.core.stats import DEFINITIONS, Figures, Report

SORT_ROLE = Qt.UserRole + 1  # the raw number (None as -1) the proxy sorts by
TOTAL_ROLE = Qt.UserRole + 2  # True on the totals row
NONE_TEXT = "—"


def rate_text(rate: float | None) -> str:
    """A fraction as "87.5%"; no base → "—"."""
    return NONE_TEXT if rate is None else f"{rate * 100:.1f}%"


def hours_text(hours: float | None) -> str:
    return NONE_TEXT if hours is None else f"{hours:.1f}"


@dataclass(frozen=True)
class Column:
    header: str  # may hold a line break: long headers take two lines instead of widening the table
    term: str  # the term of :data:`app.core.stats.DEFINITIONS` whose definition is the header's tooltip
    value: Callable[[Figures], int | float | None]
    text: Callable[[int | float | None], str] = lambda v: NONE_TEXT if v is None else str(v)


COLUMNS: tuple[Column, ...] = (
    Column("办件量", "办件量", lambda f: f.cases),
    Column("即办", "即办", lambda f: f.on_spot),
    Column("转办", "转办", lambda f: f.forwarded),
    Column("容缺", "容缺受理", lambda f: f.deferred),
    Column("告知\n承诺", "告知承诺制", lambda f: f.pledge),
    Column("按时", "按时答复", lambda f: f.replied_on_time),
    Column("超期", "超期答复", lambda f: f.replied_late),
    Column("未答复", "超期未答复", lambda f: f.open_forwardings),
    Column("按时\n答复率", "按时答复率", lambda f: f.on_time_rate, rate_text),
    Column("平均用时\n(工作小时)", "平均答复用时", lambda f: f.avg_reply_hours, hours_text),
    Column("评价数", "主动评价率", lambda f: f.rated),
    Column("主动\n评价率", "主动评价率", lambda f: f.rating_rate, rate_text),
    Column("满意率", "满意率", lambda f: f.satisfaction_rate, rate_text),
    Column("差评", "差评", lambda f: f.bad),
    Column("整改率", "差评整改率", lambda f: f.followup_rate, rate_text),
)
TOTAL_LABEL = "合计"


def definition_of(term: str) -> str:
    """The core's definition of ``term`` (exact term first, then one that starts with it); "" when none."""
    for name, text in DEFINITIONS:
        if name == term:
            return text
    return next((text for name, text in DEFINITIONS if name.startswith(term)), "")


class FiguresTableModel(QAbstractTableModel):
    """Column 0 is the row's label (事项, 条线, 受理人 or 日期); then :data:`COLUMNS`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._labels: list[str] = []
        self._sort_keys: list[str] = []
        self._figures: list[Figures] = []
        self._key_header = "分组"

    def set_report(self, report: Report, key_header: str, *, sort_by_key: bool = False) -> None:
        """``sort_by_key``: the first column sorts by the rows' keys (ISO days) rather than their labels."""
        self.beginResetModel()
        self._labels = [r.label for r in report.rows] + [TOTAL_LABEL]
        self._sort_keys = [r.key if sort_by_key else r.label for r in report.rows] + [""]
        self._figures = [r.figures for r in report.rows] + [report.total]
        self._key_header = key_header
        self.endResetModel()
        self.headerDataChanged.emit(Qt.Horizontal, 0, 0)

    def clear(self) -> None:
        self.beginResetModel()
        self._labels, self._sort_keys, self._figures = [], [], []
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._labels)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS) + 1

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation != Qt.Horizontal or not 0 <= section <= len(COLUMNS):
            return None
        if role == Qt.DisplayRole:
            return self._key_header if section == 0 else COLUMNS[section - 1].header
        if role == Qt.ToolTipRole and section > 0:
            return definition_of(COLUMNS[section - 1].term) or None
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        total = row == len(self._labels) - 1
        if role == TOTAL_ROLE:
            return total
        if col == 0:
            if role in (Qt.DisplayRole, Qt.ToolTipRole):
                return self._labels[row]
            if role == SORT_ROLE:
                return self._sort_keys[row]
            return self._bold(role, total)
        column = COLUMNS[col - 1]
        value = column.value(self._figures[row])
        if role == Qt.DisplayRole:
            return column.text(value)
        if role == SORT_ROLE:
            return -1.0 if value is None else float(value)
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return self._bold(role, total)

    @staticmethod
    def _bold(role, total: bool):
        if role == Qt.FontRole and total:
            from PySide6.QtGui import QFont
            font = QFont()
            font.setBold(True)
            return font
        return None


class FiguresSortProxy(QSortFilterProxyModel):
    """Sorts by the raw figures; the totals row stays at the bottom in either order."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)

    def lessThan(self, left, right) -> bool:
        lt, rt = left.data(TOTAL_ROLE), right.data(TOTAL_ROLE)
        if lt or rt:
            last_is_greater = self.sortOrder() == Qt.AscendingOrder
            return bool(rt) if last_is_greater else bool(lt)
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if isinstance(a, str) or isinstance(b, str):
            return str(a) < str(b)
        return (a or 0.0) < (b or 0.0)
