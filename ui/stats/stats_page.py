"""统计 page (issue 16): a period and a breakdown → the figures of ``services.stats.report``: tiles, the breakdown
table, the daily chart, the overdue cases (催办) and late follow-ups; the 台账 workbook and the monthly PDF.

Every figure comes from the core (``app/core/stats.py``); the page formats, never counts. The definitions shown
by 说明 are the core's :data:`~app.core.stats.DEFINITIONS`. Computed off the UI thread; an answer to an older
request is dropped, so switching quickly never shows a stale period.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from PySide6.QtCore import QDate, QLocale, QSortFilterProxyModel, QStandardPaths, Qt, QTimer, Slot
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import UserError
from app.core.request_stats import REQUEST_DEFINITIONS
from app.core.stats import BREAKDOWN_LABELS, DEFINITIONS, Breakdown, Period, Report
from app.core.vocabulary import CHINA_TZ, Role
from ui.cases.action_dialogs import ActionDialog
from ui.operations import run_op
from ui.stats.chart import DailyChart
from ui.stats.figures_model import (
    NONE_TEXT,
    FiguresSortProxy,
    FiguresTableModel,
    definition_of,
    hours_text,
    rate_text,
)
from ui.stats.overdue_model import SORT_ROLE, OverdueCasesModel, OverdueFollowupsModel
from ui.stats.requests_view import RequestsPanel

DESK_BREAKDOWNS = (Breakdown.ITEM, Breakdown.LINE, Breakdown.WORKER, Breakdown.DAY)  # committee: the district's
KEY_HEADERS = {Breakdown.ITEM: "事项", Breakdown.LINE: "条线/部门", Breakdown.WORKER: "受理人", Breakdown.DAY: "日期"}
REMIND_ROLES = (Role.SUPERVISOR, Role.FRONT_DESK)
DEFAULT_REMIND_NOTE = "请尽快答复"
CHINESE = QLocale(QLocale.Chinese, QLocale.China)


def short_committee(name: str) -> str:
    """``幸福里社区居民委员会`` → ``幸福里社区`` for file names."""
    for suffix in ("居民委员会", "居委会"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def default_file_name(kind: str, committee: str, period: Period, suffix: str) -> str:
    """``台账-幸福里社区-2026年11月.xlsx``; characters no file system takes are replaced."""
    name = f"{kind}-{short_committee(committee)}-{period.label}{suffix}"
    return "".join("_" if ch in '\\/:*?"<>|' else ch for ch in name)


class FigureTile(QFrame):
    """One big figure with its caption and a detail line."""

    def __init__(self, caption: str, parent=None):
        super().__init__(parent)
        self.setObjectName("figureTile")
        self.caption = QLabel(caption)
        self.caption.setObjectName("tileCaption")
        self.value = QLabel(NONE_TEXT)
        self.value.setObjectName("tileValue")
        self.detail = QLabel("")
        self.detail.setObjectName("tileDetail")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(0)
        for w in (self.caption, self.value, self.detail):
            w.setMinimumWidth(10)  # elide rather than widen the row of tiles
            layout.addWidget(w)

    def show_figure(self, value: str, detail: str = "") -> None:
        self.value.setText(value)
        self.detail.setText(detail)
        meaning = definition_of(self.caption.text())
        self.setToolTip(f"{self.caption.text()}：{value}" + (f"（{detail}）" if detail else "")
                        + (f"\n{meaning}" if meaning else ""))


TILE_STYLE = """
QFrame#figureTile { background: white; border: 1px solid #d5dce6; border-radius: 6px; }
QLabel#tileCaption { color: #5b6b7f; }
QLabel#tileValue { font-size: 22px; font-weight: bold; color: #1f3a5f; }
QLabel#tileDetail { color: #5b6b7f; font-size: 12px; }
QTableView#figuresTable QHeaderView::section { padding: 4px 3px; }
"""
TILES = (("cases", "办件量"), ("on_time", "按时答复率"), ("overdue", "当前超期"), ("hours", "平均答复用时"),
         ("rating", "主动评价率"), ("satisfaction", "满意率"), ("followup", "差评整改率"))


class RemindDialog(ActionDialog):
    """催办: an editable note to the assignee, sent by ``services.stats.remind``."""

    def __init__(self, services, case, parent=None):
        super().__init__("催办", "发送催办", parent)
        self.services, self.case = services, case
        who = case.assignee_name or case.department
        self.form.addRow("办件", QLabel(f"{case.case_number}　{case.item_name}"))
        self.form.addRow("承办", QLabel(who))
        self.note = QLineEdit(DEFAULT_REMIND_NOTE)
        self.note.setMinimumWidth(300)
        self.form.addRow("催办内容", self.note)

    def submit(self):
        services, case_id, note = self.services, self.case.case_id, self.note.text()
        return lambda: services.stats.remind(services.current_worker, case_id, note)


class DefinitionsDialog(QDialog):
    """说明: the core's definitions, term by term."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("统计口径说明")
        self.resize(620, 520)
        self.text = QTextBrowser()
        rows = "".join(f"<dt><b>{html.escape(term)}</b></dt><dd style='margin-bottom:8px'>{html.escape(text)}</dd>"
                       for term, text in DEFINITIONS + REQUEST_DEFINITIONS)
        self.text.setHtml(f"<dl>{rows}</dl>" if rows else "<p>暂无统计口径说明。</p>")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.button(QDialogButtonBox.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)


def _table(model, proxy: QSortFilterProxyModel | None = None) -> QTableView:
    view = QTableView()
    if proxy is None:
        proxy = QSortFilterProxyModel(view)
        proxy.setSortRole(SORT_ROLE)
    proxy.setSourceModel(model)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectRows)
    view.setSelectionMode(QAbstractItemView.SingleSelection)
    view.setEditTriggers(QAbstractItemView.NoEditTriggers)
    view.setTextElideMode(Qt.ElideRight)
    view.setWordWrap(False)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.Interactive)
    header.setStretchLastSection(True)
    header.setMinimumSectionSize(30)
    header.setSortIndicator(-1, Qt.AscendingOrder)  # the core's order (oldest deadline first) until asked
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 10)
    return view


class StatsPage(QWidget):
    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.report: Report | None = None
        self._generation = 0
        self._last_dir = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation) or str(Path.home())
        self.remind_dialog: RemindDialog | None = None
        self.help_dialog: DefinitionsDialog | None = None
        self.notice: QMessageBox | None = None
        self.setStyleSheet(TILE_STYLE)
        self._build_controls()
        self._build_tiles()
        self._build_tabs()
        self._lay_out()
        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(self.refresh)
        services.change_bus.changed.connect(self._on_data_changed)

    # ----- building ---------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.title = QLabel("统计")
        self.title.setObjectName("pageTitle")
        self.scope_label = QLabel("")
        self.scope_label.setObjectName("hint")
        self.export_button = QPushButton("导出台账")
        self.export_button.setToolTip("把所选期间的统计和每件办件写入 Excel 工作簿（站长、管理员）")
        self.pdf_button = QPushButton("月报 PDF")
        self.pdf_button.setToolTip("所选期间的统计月报，报街道（站长、管理员）")
        self.help_button = QPushButton("说明")
        self.help_button.setToolTip("各项统计的口径")
        self.export_button.clicked.connect(self._on_export_clicked)
        self.pdf_button.clicked.connect(self._on_pdf_clicked)
        self.help_button.clicked.connect(self.show_help)
        self.this_month = QRadioButton("本月")
        self.last_month = QRadioButton("上月")
        self.custom = QRadioButton("自定义")
        self.this_month.setChecked(True)
        self.period_group = QButtonGroup(self)
        for b in (self.this_month, self.last_month, self.custom):
            self.period_group.addButton(b)
        self.period_group.buttonClicked.connect(self._on_period_clicked)
        today = QDate.currentDate()
        self.first_edit, self.last_edit = self._date_edit(today), self._date_edit(today)
        for edit in (self.first_edit, self.last_edit):
            edit.setEnabled(False)
            edit.dateChanged.connect(self._on_dates_changed)
        self.breakdown_box = QComboBox()
        for b in DESK_BREAKDOWNS:
            self.breakdown_box.addItem(BREAKDOWN_LABELS[b], b)
        self.breakdown_box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh_button = QPushButton("刷新")
        self.refresh_button.clicked.connect(self.refresh)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.hide()
        self.status = QLabel("")
        self.status.setObjectName("hint")
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)

    @staticmethod
    def _date_edit(day: QDate) -> QDateEdit:
        edit = QDateEdit(day)
        edit.setLocale(CHINESE)
        edit.setCalendarPopup(True)
        edit.calendarWidget().setLocale(CHINESE)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setDateRange(QDate(2000, 1, 1), QDate(2099, 12, 31))
        return edit

    def _build_tiles(self) -> None:
        self.tiles = {key: FigureTile(caption) for key, caption in TILES}

    def _build_tabs(self) -> None:
        self.figures_model = FiguresTableModel(self)
        self.figures_proxy = FiguresSortProxy(self)
        self.table = _table(self.figures_model, self.figures_proxy)
        self.table.setObjectName("figuresTable")
        small = self.table.font()
        small.setPointSizeF(small.pointSizeF() - 1)  # fifteen figures across a 1024-pixel desk
        self.table.setFont(small)
        self.table.horizontalHeader().setFont(small)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setDefaultAlignment(Qt.AlignCenter)
        self.table.verticalHeader().setDefaultSectionSize(QFontMetrics(small).height() + 10)
        self.chart = DailyChart()
        overview = QSplitter(Qt.Vertical)
        overview.addWidget(self.chart)
        overview.addWidget(self.table)
        overview.setStretchFactor(0, 2)
        overview.setStretchFactor(1, 3)
        overview.setChildrenCollapsible(False)
        self.overdue_model = OverdueCasesModel(self)
        self.overdue_view = _table(self.overdue_model)
        self.overdue_view.doubleClicked.connect(lambda idx: self._open_case(self.overdue_view, self.overdue_model, idx))
        self.overdue_view.selectionModel().selectionChanged.connect(lambda *_: self._update_remind_button())
        self.followups_model = OverdueFollowupsModel(self)
        self.followups_view = _table(self.followups_model)
        self.followups_view.doubleClicked.connect(
            lambda idx: self._open_case(self.followups_view, self.followups_model, idx))
        self.remind_button = QPushButton("催办…")
        self.remind_button.setObjectName("primary")
        self.remind_button.clicked.connect(self._on_remind_clicked)
        self.open_button = QPushButton("打开办件")
        self.open_button.clicked.connect(self._on_open_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("当前已过期限仍未答复的转办（不限统计期间），双击打开办件"), 1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.remind_button)
        overdue_box = QWidget()
        ob = QVBoxLayout(overdue_box)
        ob.setContentsMargins(0, 0, 0, 0)
        ob.addLayout(buttons)
        ob.addWidget(self.overdue_view, 1)
        followup_box = QWidget()
        fb = QVBoxLayout(followup_box)
        fb.setContentsMargins(0, 0, 0, 0)
        self.followups_title = QLabel("差评回访、整改已过期限")
        fb.addWidget(self.followups_title)
        fb.addWidget(self.followups_view, 1)
        lists = QSplitter(Qt.Vertical)
        lists.addWidget(overdue_box)
        lists.addWidget(followup_box)
        lists.setStretchFactor(0, 3)
        lists.setStretchFactor(1, 2)
        lists.setChildrenCollapsible(False)
        self.tabs = QTabWidget()
        self.tabs.addTab(overview, "概览")
        self.tabs.addTab(lists, "超期与催办")
        self.requests_panel = RequestsPanel()  # issue 20: the 诉求 figures the core counted
        self.tabs.addTab(self.requests_panel, "诉求")
        self._update_remind_button()

    def _lay_out(self) -> None:
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.scope_label, 1)
        for b in (self.export_button, self.pdf_button, self.help_button):
            head.addWidget(b)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("期间"))
        for w in (self.this_month, self.last_month, self.custom, self.first_edit, QLabel("至"), self.last_edit):
            controls.addWidget(w)
        controls.addSpacing(12)
        controls.addWidget(QLabel("分组"))
        controls.addWidget(self.breakdown_box)
        controls.addWidget(self.refresh_button)
        controls.addStretch(1)
        tiles = QGridLayout()
        tiles.setSpacing(6)
        for i, tile in enumerate(self.tiles.values()):
            tiles.addWidget(tile, 0, i)
            tiles.setColumnStretch(i, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(controls)
        layout.addWidget(self.error)
        layout.addLayout(tiles)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)

    # ----- the period and the breakdown ----------------------------------------------------------
    def today(self) -> dt.date:
        return self.services.clock().astimezone(CHINA_TZ).date()

    def period(self) -> Period:
        """The chosen period; a custom range the core refuses raises its StatsError (Chinese)."""
        if self.last_month.isChecked():
            return Period.last_month(self.today())
        if self.custom.isChecked():
            return Period.between(self.first_edit.date().toPython(), self.last_edit.date().toPython())
        return Period.this_month(self.today())

    def breakdown(self) -> Breakdown:
        return Breakdown(self.breakdown_box.currentData())

    def _on_period_clicked(self, _button=None) -> None:
        custom = self.custom.isChecked()
        if custom:
            self._show_dates(self.report.period if self.report is not None else Period.this_month(self.today()))
        self.first_edit.setEnabled(custom)
        self.last_edit.setEnabled(custom)
        self.refresh()

    def _show_dates(self, period: Period) -> None:
        for edit, day in ((self.first_edit, period.first), (self.last_edit, period.last)):
            edit.blockSignals(True)
            edit.setDate(QDate(day.year, day.month, day.day))
            edit.blockSignals(False)

    def _on_dates_changed(self, _date) -> None:
        if self.custom.isChecked():
            self._debounce.start()

    # ----- computing ----------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        if changes.cases and self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        worker = self.services.current_worker
        if worker is None:
            return
        self._debounce.stop()
        try:
            period = self.period()
        except UserError as e:
            self._show_error(str(e))  # the figures shown stay those of the last good period
            return
        breakdown, now = self.breakdown(), self.services.clock()
        self._generation += 1
        generation = self._generation
        self.status.setText(f"正在计算 {period.label} 的统计…")
        stats = self.services.stats
        run_op(self, lambda: stats.report(worker, period, breakdown, now=now),
               lambda report: self._on_report(generation, report),
               lambda message: self._on_failed(generation, message))

    def _on_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.status.setText("")
            self._show_error(message)

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _on_report(self, generation: int, report: Report) -> None:
        if generation != self._generation:
            return  # an answer to an older request: the worker has asked for something else since
        self.report = report
        self.error.hide()
        if not self.custom.isChecked():
            self._show_dates(report.period)
        self.scope_label.setText(f"{report.scope}　{report.period.label}　{BREAKDOWN_LABELS[report.breakdown]}")
        self._show_tiles(report)
        self.figures_model.set_report(report, KEY_HEADERS.get(report.breakdown, "分组"),
                                      sort_by_key=report.breakdown == Breakdown.DAY)
        self._fit_table_columns()
        self.chart.set_points(report.per_day)
        self.overdue_model.set_rows(report.overdue, report.computed_at)
        self.followups_model.set_rows(report.overdue_followups, report.computed_at)
        self.overdue_view.resizeColumnsToContents()
        self.followups_view.resizeColumnsToContents()
        n, m = len(report.overdue), len(report.overdue_followups)
        self.tabs.setTabText(1, f"超期与催办（{n + m}）" if n + m else "超期与催办")
        self.followups_title.setText(f"差评回访、整改已过期限（{m}）")
        self.requests_panel.show_report(report.requests)
        self.tabs.setTabText(self.tabs.indexOf(self.requests_panel), self.requests_panel.tab_text(report.requests))
        self._update_remind_button()
        computed = report.computed_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
        self.status.setText(f"统计于 {computed}。当前超期按统计时刻计，不限所选期间。")

    def _show_tiles(self, report: Report) -> None:
        f = self.tiles
        t = report.total
        f["cases"].show_figure(str(t.cases), f"即办 {t.on_spot} · 转办 {t.forwarded}")
        late = t.replied_late + t.open_overdue
        f["on_time"].show_figure(rate_text(t.on_time_rate), f"按时 {t.replied_on_time} · 超期 {late}")
        f["overdue"].show_figure(str(report.overdue_now), "件转办已过期限")
        f["hours"].show_figure(hours_text(t.avg_reply_hours), "工作小时")
        f["rating"].show_figure(rate_text(t.rating_rate), f"已评 {t.rated} / {t.ratable}")
        f["satisfaction"].show_figure(rate_text(t.satisfaction_rate), f"满意 {t.satisfied} / {t.rated}")
        f["followup"].show_figure(rate_text(t.followup_rate), f"差评 {t.bad} · 已整改 {t.bad_fixed}")

    def _fit_table_columns(self) -> None:
        """Number columns as wide as their header line or figures, no wider (Qt's fit adds room for the sort
        arrow to every column); the label column takes the rest and elides, so the desk fits 1024 pixels."""
        header = self.table.horizontalHeader()
        bold = header.font()
        bold.setBold(True)
        head_fm, cell_fm = QFontMetrics(bold), self.table.fontMetrics()
        model = self.figures_model
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        header.setMinimumSectionSize(30)
        for col in range(1, model.columnCount()):
            title = str(model.headerData(col, Qt.Horizontal))
            widest = max(head_fm.horizontalAdvance(line) for line in title.split("\n")) + 10
            for row in range(model.rowCount()):
                widest = max(widest, cell_fm.horizontalAdvance(str(model.index(row, col).data())) + 10)
            header.setSectionResizeMode(col, QHeaderView.Interactive)
            header.resizeSection(col, widest)

    # ----- overdue cases: 催办 and opening ---------------------------------------------------------
    def can_remind(self) -> bool:
        worker = self.services.current_worker
        return worker is not None and any(worker.has_role(r) for r in REMIND_ROLES)

    def _update_remind_button(self) -> None:
        allowed = self.can_remind()
        self.remind_button.setEnabled(allowed and self._selected(self.overdue_view, self.overdue_model) is not None)
        self.remind_button.setToolTip("" if allowed else "只有站长和前台社工可以催办")

    @staticmethod
    def _selected(view: QTableView, model):
        rows = view.selectionModel().selectedRows()
        if not rows:
            return None
        return model.row_at(view.model().mapToSource(rows[0]).row())

    def _open_case(self, view: QTableView, model, proxy_index) -> None:
        row = model.row_at(view.model().mapToSource(proxy_index).row())
        if row is not None:
            self.services.case_windows.open(row.case_id, self)

    def _on_open_clicked(self) -> None:
        row = self._selected(self.overdue_view, self.overdue_model)
        if row is not None:
            self.services.case_windows.open(row.case_id, self)

    def _on_remind_clicked(self) -> None:
        case = self._selected(self.overdue_view, self.overdue_model)
        if case is None:
            return
        dlg = RemindDialog(self.services, case, self)
        dlg.accepted.connect(lambda: self._on_reminded(case, dlg.result_value))
        self.remind_dialog = dlg
        dlg.open()

    def _on_reminded(self, case, detail) -> None:
        self.overdue_model.set_reminded(case.case_id, detail.remind_count, detail.reminded_at)
        self.status.setText(f"已催办 {case.case_number}（第 {detail.remind_count} 次）")

    # ----- files ----------------------------------------------------------------------------------
    def _on_export_clicked(self) -> None:
        self._write_file("台账", ".xlsx", "Excel 工作簿 (*.xlsx)", self.services.stats.write_workbook)

    def _on_pdf_clicked(self) -> None:
        self._write_file("月报", ".pdf", "PDF 文件 (*.pdf)", self.services.stats.write_pdf)

    def _write_file(self, kind: str, suffix: str, file_filter: str, write) -> None:
        try:
            period = self.period()
        except UserError as e:
            self._show_error(str(e))
            return
        committee = self.report.scope if self.report is not None else self.services.ctx.identity().committee_name
        start = str(Path(self._last_dir) / default_file_name(kind, committee, period, suffix))
        path, _ = QFileDialog.getSaveFileName(self, f"保存{kind}", start, file_filter)
        if not path:
            return
        target = Path(path) if path.lower().endswith(suffix) else Path(path + suffix)
        self._last_dir = str(target.parent)
        worker = self.services.current_worker
        self.status.setText(f"正在写入{kind}…")
        run_op(self, lambda: write(worker, period, target), lambda written: self._on_written(kind, written),
               lambda message: self._on_write_failed(kind, message))

    def _on_written(self, kind: str, written) -> None:
        self.status.setText(f"{kind}已保存：{written}")
        self.notice = QMessageBox(QMessageBox.Information, f"{kind}已保存", f"{kind}已保存到：\n{written}",
                                  QMessageBox.Ok, self)
        self.notice.open()

    def _on_write_failed(self, kind: str, message: str) -> None:
        self.status.setText(f"{kind}未保存")
        self.notice = QMessageBox(QMessageBox.Warning, f"{kind}未保存", message, QMessageBox.Ok, self)
        self.notice.open()

    # ----- help -------------------------------------------------------------------------------------
    def show_help(self) -> None:
        if self.help_dialog is None:
            self.help_dialog = DefinitionsDialog(self)
        self.help_dialog.show()
        self.help_dialog.raise_()
