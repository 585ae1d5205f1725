"""待办 page: one tab per list, each a paged table; open a case to see its history and act on it.

The page refreshes itself whenever cases change (an action in a case window, a wizard, a sync round): it
listens on the services' change bus, and re-reads on every show, so a hidden page is never refreshed for nothing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.desk.worklist import NOTICE_TABS, TABS
from ui.cases.case_dialog import CaseDialog
from ui.fitted_table import FittedTableView
from ui.worklist.unapplied_model import UnappliedTableModel
from ui.worklist.worklist_table_model import FOLLOWUP_HEADERS, REQUEST_HEADERS, WorklistTableModel


class WorklistPage(QWidget):

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        title = QLabel("待办")
        title.setObjectName("pageTitle")
        self.filter = QLineEdit(placeholderText="按案件编号、事项或申请人姓名筛选", clearButtonEnabled=True)
        self.refresh_button = QPushButton("刷新")
        self.to_print_button = QPushButton("待打印")
        self.to_print_button.clicked.connect(self._on_to_print_clicked)
        self.tabs = QTabWidget()
        self.models: dict[str, WorklistTableModel | UnappliedTableModel] = {}
        self.views: dict[str, FittedTableView] = {}
        for key, label in TABS:
            headers = {"followup": FOLLOWUP_HEADERS, "requests": REQUEST_HEADERS}.get(key)
            model = WorklistTableModel(self._pager(key), self._counter(key), self, headers=headers)
            model.loaded.connect(lambda k=key: self._on_model_loaded(k))
            model.load_failed.connect(self._on_model_failed)
            view = self._make_view(model)
            self.models[key], self.views[key] = model, view
            self.tabs.addTab(view, label)
        for key, label in NOTICE_TABS:  # 未生效: the worker's own work the server did not take, newest first
            notices = UnappliedTableModel(self._unapplied, self)
            notices.loaded.connect(lambda k=key: self._on_model_loaded(k))
            notices.load_failed.connect(self._on_model_failed)
            view = self._make_view(notices)
            view.sortByColumn(0, Qt.DescendingOrder)
            self.models[key], self.views[key] = notices, view
            self.tabs.addTab(view, label)
        self.summary = QLabel()
        self.summary.setObjectName("hint")
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(self.refresh)
        self.filter.textChanged.connect(self._debounce.start)
        self.tabs.currentChanged.connect(lambda _i: self.refresh())
        self.refresh_button.clicked.connect(self.refresh)
        services.change_bus.changed.connect(self._on_data_changed)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.to_print_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.summary)

    def _pager(self, key):
        def fetch(offset, limit, text, sort, desc):
            return self.services.worklist.page(key, self.services.current_worker, offset=offset, limit=limit,
                                               text=text, sort=sort, descending=desc, now=self.services.clock())
        return fetch

    def _counter(self, key):
        def count(text):
            services = self.services
            return services.worklist.count(key, services.current_worker, text, now=services.clock())
        return count

    def _unapplied(self, text):
        return self.services.worklist.unapplied(self.services.current_worker, text)

    def _make_view(self, model) -> FittedTableView:
        view = FittedTableView()
        view.setModel(model)
        header = view.horizontalHeader()
        header.setSortIndicator(6, Qt.AscendingOrder)  # soonest deadline first
        view.setSortingEnabled(True)
        header.setSortIndicatorShown(True)
        sorted_by = [6, Qt.AscendingOrder]

        def on_sort_indicator(column, order):
            if model.is_sortable(column):
                sorted_by[:] = [column, order]
            else:  # a column that cannot sort keeps the arrow where the order really comes from
                header.blockSignals(True)
                header.setSortIndicator(*sorted_by)
                header.blockSignals(False)
        header.sortIndicatorChanged.connect(on_sort_indicator)
        view.setSelectionBehavior(QAbstractItemView.SelectRows)
        view.setSelectionMode(QAbstractItemView.SingleSelection)
        view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        view.verticalHeader().hide()
        view.doubleClicked.connect(lambda idx, m=model: self._open_row(m.row_at(idx.row())))
        view.activated.connect(lambda idx, m=model: self._open_row(m.row_at(idx.row())))
        return view

    def current_key(self) -> str:
        return (TABS + NOTICE_TABS)[self.tabs.currentIndex()][0]

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        if changes.cases and self.isVisible():
            self.refresh()

    def _show_tabs_for_worker(self) -> None:
        """Tabs the worker is not shown (差评回访 but to a 站长 or an administrator) are hidden, not removed:
        the tab indexes stay those of TABS whoever is logged in."""
        shown = set(self.services.worklist.tabs_for(self.services.current_worker))
        for i, (key, _label) in enumerate(TABS):
            self.tabs.setTabVisible(i, key in shown)

    def refresh(self) -> None:
        if self.services.current_worker is None:
            return
        self._show_tabs_for_worker()
        self.summary.setText("正在查询…")
        self.models[self.current_key()].reload(self.filter.text())

    def _on_model_loaded(self, key: str) -> None:
        if key != self.current_key():
            return
        model, view = self.models[key], self.views[key]
        if model.rowCount() and model.rowCount() <= 100:  # first page: fit columns once, not on every scroll
            view.fit_columns(to_contents=True)
        self.summary.setText(f"共 {model.total} 件")

    def _on_model_failed(self, message: str) -> None:
        self.summary.setText(f"查询失败：{message}")

    def _on_to_print_clicked(self) -> None:
        from ui.printing.to_print_dialog import ToPrintDialog
        ToPrintDialog(self.services, self).open()

    def _open_row(self, row) -> None:
        if row is not None:
            self.open_case(row.id, getattr(row, "kind", None))

    def open_case(self, case_id, kind: str | None = None) -> CaseDialog:
        """The case's one window (a double click also emits ``activated``: the second call raises the first); a
        诉求's row opens the request's window (ui/requests/request_window.py)."""
        return self.services.case_windows.open(case_id, self, kind=kind)
