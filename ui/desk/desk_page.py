"""办事 page: find an item by name, alias, full pinyin or initials as the worker types; open its wizard.

An item whose file is broken is still found, listed greyed as 【不可用】; choosing it explains why (in the
worker's words, with the file name for the administrator) instead of opening the wizard.
The worker's recent items lead the list; they follow the change bus, so a finished case moves its item up.
诉求登记 (issue 20) is one key away: F2 or its button, or typing "诉求"/"sq" lists it first (ui/requests/entry.py).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.desk.cases import CaseError
from ui.desk.item_list_model import ItemListModel
from ui.desk.service_wizard import ServiceWizard
from ui.requests import entry


class DeskPage(QWidget):
    case_changed = Signal(object)

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.recent: list[str] = []
        title = QLabel("办事")
        title.setObjectName("pageTitle")
        self.search = QLineEdit(placeholderText="输入事项名称、简称、拼音或首字母，例如：尊老金、dibao、gljt")
        self.search.setClearButtonEnabled(True)
        self.department = QComboBox()
        # Long department names must not widen the page at 1024×768: the box shows about 8 characters.
        self.department.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.department.setMinimumContentsLength(8)
        self.department.setToolTip("只列出该部门的事项")
        self.department.addItem("全部部门", None)
        for d in services.intake.catalog.departments():
            self.department.addItem(d, d)
        self.model = ItemListModel(self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setUniformItemSizes(True)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.unavailable = QLabel(unavailable_banner(services.intake.catalog.catalog.broken.values()))
        self.unavailable.setObjectName("warning")
        self.unavailable.setWordWrap(True)
        self.unavailable.setVisible(bool(self.unavailable.text()))
        self.search.textChanged.connect(self.refresh)
        self.department.currentIndexChanged.connect(lambda _i: self.refresh())
        self.search.returnPressed.connect(self._open_current)
        self.list.activated.connect(lambda idx: self._activate(self.model.hit_at(idx.row())))
        self.list.selectionModel().currentChanged.connect(lambda _c, _p: self._show_hint())
        self.search.installEventFilter(self)
        services.change_bus.changed.connect(self._on_data_changed)
        self.request_button = QPushButton(entry.BUTTON_TEXT)
        self.request_button.setObjectName("requestButton")
        self.request_button.setToolTip("登记居民的诉求（物业维修、环境卫生、邻里纠纷……），24 小时内反馈")
        self.request_button.setAutoDefault(False)
        self.request_button.clicked.connect(self.open_request)
        self.request_shortcut = QShortcut(QKeySequence(entry.SHORTCUT), self)
        self.request_shortcut.setContext(Qt.WidgetWithChildrenShortcut)
        self.request_shortcut.activated.connect(self.open_request)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.department)
        row.addWidget(self.request_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(row)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.unavailable)

    def eventFilter(self, obj, event) -> bool:
        # Arrow keys in the search box move through the results without leaving the keyboard.
        if obj is self.search and event.type() == event.Type.KeyPress and event.key() in (Qt.Key_Down, Qt.Key_Up):
            step = 1 if event.key() == Qt.Key_Down else -1
            row = max(0, min(self.model.rowCount() - 1, self.list.currentIndex().row() + step))
            self.list.setCurrentIndex(self.model.index(row))
            return True
        return super().eventFilter(obj, event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._reload_recent()
        self.refresh()
        self.search.setFocus()

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        if changes.cases and self.isVisible():
            self._reload_recent()
            self.refresh()

    def _reload_recent(self) -> None:
        worker = self.services.current_worker
        self.recent = self.services.intake.recent_codes(worker) if worker else []

    def refresh(self) -> None:
        """Synchronous on purpose: a search takes well under 5 ms (bench catalog), less than a thread hop."""
        hits = self.services.intake.search(self.search.text(), self.department.currentData(), self.recent)
        if entry.matches(self.search.text()):
            hits = [entry.REQUEST_HIT, *hits]
        self.model.set_hits(hits, self.recent)
        if hits:
            self.list.setCurrentIndex(self.model.index(0))
        self._show_hint()

    def _show_hint(self) -> None:
        hit = self.model.hit_at(self.list.currentIndex().row())
        if hit is not None and not hit.available:
            self.hint.setText(f"该事项暂不可用：{hit.reason}")
        elif self.model.rowCount():
            self.hint.setText(f"找到 {self.model.rowCount()} 项。↑↓ 选择，回车开始办理。")
        else:
            self.hint.setText("没有找到匹配的事项，请换个说法或检查拼音。")

    def _open_current(self) -> None:
        self._activate(self.model.hit_at(self.list.currentIndex().row()))

    def _activate(self, hit) -> None:
        if isinstance(hit, entry.RequestHit):
            self.open_request()
        elif hit is not None:
            self.open_item(hit.code)

    def open_request(self):
        """诉求登记: the intake dialog; once registered, its 诉求受理单 (or its window)."""
        from ui.requests.after_intake import after_registration
        from ui.requests.intake_dialog import RequestIntakeDialog
        dialog = RequestIntakeDialog(self.services, self)
        dialog.registered.connect(lambda detail: after_registration(self, self.services, detail,
                                                                    dialog.photo_problems))
        dialog.registered.connect(lambda detail: self._on_finished(detail.summary.id))
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.open()
        self.request_dialog = dialog
        return dialog

    def explain_unavailable(self, code: str, reason: str) -> None:
        self.hint.setText(f"该事项暂不可用：{reason}")
        QMessageBox.information(self, "事项暂不可用", f"{code}：{reason}")

    def open_item(self, code: str, draft=None) -> ServiceWizard | None:
        """Open the wizard; for an unavailable item explain why instead (returns None)."""
        reason = self.services.intake.unavailable_reason(code)
        if reason:
            self.explain_unavailable(code, reason)
            return None
        wizard = ServiceWizard(self.services, code, draft, self)
        wizard.case_saved.connect(self.case_changed.emit)
        wizard.case_finished.connect(self._on_finished)
        if draft is not None and draft.notice:
            wizard.message.setText(draft.notice)  # e.g. the catalog was updated since the draft was saved
        wizard.open()
        return wizard

    def resume(self, case_id) -> ServiceWizard | None:
        try:
            draft = self.services.intake.load_draft(case_id)
        except CaseError as e:
            QMessageBox.warning(self, "不能继续办理", str(e))
            return None
        return self.open_item(draft.item_code, draft)

    def _on_finished(self, case_id) -> None:
        self.case_changed.emit(case_id)
        self.search.clear()


def unavailable_banner(broken) -> str:
    """One line for the worker under the results: which items cannot be handled now, and whom to ask."""
    broken = list(broken)
    if not broken:
        return ""
    names = "；".join(f"{b.label}（文件 {b.file}）" if b.label else f"文件 {b.file}" for b in broken)
    return f"以下事项的配置文件有误，暂不能办理，请联系管理员：{names}"
