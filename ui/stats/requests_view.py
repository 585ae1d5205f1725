"""The 统计 page's 诉求 tab (issue 20): the period's requests by category and by 块区, the 24-hour feedback rate,
the average time to close and the open/overdue requests now — as ``report.requests`` (app/core/request_stats.py)
holds them. The page formats, never counts."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QSplitter, QTableView, QVBoxLayout, QWidget

from app.core.request_stats import REQUEST_COLUMNS, REQUEST_DEFINITIONS, RequestFigures, RequestReport, RequestRow
from ui.stats.figures_model import (
    NONE_TEXT,
    SORT_ROLE,
    TOTAL_LABEL,
    TOTAL_ROLE,
    FiguresSortProxy,
    hours_text,
    rate_text,
)

# Two-line headers keep eleven figures across a 1024-pixel desk; the tooltip is the core's definition.
HEADERS = {"feedback_in_time": "24小时内\n反馈", "feedback_late": "超时\n反馈", "feedback_missed": "超时\n未反馈",
           "feedback_rate": "24小时\n反馈率", "avg_close_hours": "平均办结\n(小时)", "urgent": "其中\n紧急"}
TERMS = {"requests": "本期诉求", "feedback_in_time": "24小时内反馈", "feedback_late": "超时反馈",
         "feedback_missed": "超时未反馈", "feedback_rate": "24小时反馈率", "avg_close_hours": "平均办结用时"}


def request_definition(term: str) -> str:
    return next((text for name, text in REQUEST_DEFINITIONS if name == term), "")


def figure_text(value: int | float | None, kind: str) -> str:
    if kind == "rate":
        return rate_text(value)
    if kind == "hours":
        return hours_text(value)
    return NONE_TEXT if value is None else str(value)


class RequestFiguresModel(QAbstractTableModel):
    """Column 0 is the category or the 块区; then :data:`REQUEST_COLUMNS`; the totals row last."""

    def __init__(self, key_header: str, parent=None):
        super().__init__(parent)
        self.key_header = key_header
        self._labels: list[str] = []
        self._figures: list[RequestFigures] = []

    def set_rows(self, rows: list[RequestRow], total: RequestFigures) -> None:
        self.beginResetModel()
        self._labels = [r.label or r.key for r in rows] + [TOTAL_LABEL]
        self._figures = [r.figures for r in rows] + [total]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._labels)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(REQUEST_COLUMNS) + 1

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation != Qt.Horizontal or not 0 <= section <= len(REQUEST_COLUMNS):
            return None
        if section == 0:
            return self.key_header if role == Qt.DisplayRole else None
        attr, label, _kind = REQUEST_COLUMNS[section - 1]
        if role == Qt.DisplayRole:
            return HEADERS.get(attr, label)
        if role == Qt.ToolTipRole:
            return request_definition(TERMS.get(attr, "")) or label
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        total = row == len(self._labels) - 1
        if role == TOTAL_ROLE:
            return total
        if col == 0:
            return self._labels[row] if role in (Qt.DisplayRole, Qt.ToolTipRole, SORT_ROLE) else self._bold(role, total)
        attr, _label, kind = REQUEST_COLUMNS[col - 1]
        value = getattr(self._figures[row], attr)
        if role == Qt.DisplayRole:
            return figure_text(value, kind)
        if role == SORT_ROLE:
            return -1.0 if value is None else float(value)
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return self._bold(role, total)

    def value(self, label: str, attr: str) -> str:
        """The text shown for ``attr`` on the row labelled ``label`` ("" when no such row)."""
        kinds = {a: k for a, _l, k in REQUEST_COLUMNS}
        for lab, figures in zip(self._labels, self._figures, strict=True):
            if lab == label:
                return figure_text(getattr(figures, attr), kinds[attr])
        return ""

    @staticmethod
    def _bold(role, total: bool):
        if role == Qt.FontRole and total:
            from PySide6.QtGui import QFont
            font = QFont()
            font.setBold(True)
            return font
        return None


def _view(model: RequestFiguresModel) -> QTableView:
    proxy = FiguresSortProxy(model)
    proxy.setSourceModel(model)
    view = QTableView()
    view.setObjectName("figuresTable")  # the 概览 table's narrow header padding (stats_page.TILE_STYLE)
    small = view.font()
    small.setPointSizeF(small.pointSizeF() - 1)  # eleven figures across a 1024-pixel desk
    view.setFont(small)
    view.horizontalHeader().setFont(small)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectRows)
    view.setEditTriggers(QAbstractItemView.NoEditTriggers)
    view.setWordWrap(False)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    header = view.horizontalHeader()
    header.setSortIndicator(-1, Qt.AscendingOrder)
    header.setDefaultAlignment(Qt.AlignCenter)
    header.setSectionResizeMode(QHeaderView.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.Stretch)
    return view


class RequestsPanel(QWidget):
    """The 诉求 tab: a summary line, then the category table above the 块区 table."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("")
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        self.category_model = RequestFiguresModel("诉求类别", self)
        self.block_model = RequestFiguresModel("块区", self)
        self.category_view, self.block_view = _view(self.category_model), _view(self.block_model)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.category_view)
        split.addWidget(self.block_view)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

    def show_report(self, report: RequestReport | None) -> None:
        if report is None:
            self.summary.setText("没有诉求统计。")
            self.category_model.set_rows([], RequestFigures())
            self.block_model.set_rows([], RequestFigures())
            return
        t = report.total
        self.summary.setText(
            f"本期诉求 {t.requests} 件（紧急 {t.urgent}）：已办结 {t.closed}，处理中 {t.in_progress}，"
            f"待反馈 {t.waiting}；24小时反馈率 {rate_text(t.feedback_rate)}（按时 {t.feedback_in_time}，"
            f"超时 {t.feedback_late + t.feedback_missed}）；平均办结用时 {hours_text(t.avg_close_hours)} 小时。"
            f"当前未办结 {report.open_now} 件，其中超时 {report.overdue_now} 件（不限所选期间）。")
        self.category_model.set_rows(report.by_category, t)
        self.block_model.set_rows(report.by_block, t)

    def tab_text(self, report: RequestReport | None) -> str:
        if report is None or not report.overdue_now:
            return "诉求"
        return f"诉求（超时 {report.overdue_now}）"
