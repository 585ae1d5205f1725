"""居民 page: search by name, pinyin, ID number or phone; open a resident; edit; see their cases.

Residents registered or edited anywhere (this page, the wizard, a sync round) and cases changed anywhere show
up here without a refresh call: the page listens on the services' change bus while it is visible.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.desk.residents import ResidentDetail, registration_prefill
from ui.fitted_table import FittedTableView
from ui.operations import run_op
from ui.residents import residence_text
from ui.residents.resident_dialog import ResidentDialog
from ui.residents.resident_table_model import ResidentTableModel
from ui.services import Services


class ResidentsPage(QWidget):
    resident_changed = Signal(object)

    def __init__(self, services: Services, parent=None):
        super().__init__(parent)
        self.services = services
        self.current: ResidentDetail | None = None
        self._shown_id = None  # the resident whose details were last asked for: older answers are dropped
        self.editor: ResidentDialog | None = None  # the open edit/new dialog, if any
        title = QLabel("居民")
        title.setObjectName("pageTitle")
        self.search = QLineEdit(placeholderText="输入姓名、拼音、身份证号或电话搜索", clearButtonEnabled=True)
        self.new_button = QPushButton("登记新居民")
        self.model = ResidentTableModel(self)
        self.table = FittedTableView(auto_fit=True)  # columns fit the page at 1024×768 (issue 19)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")
        self.detail_box = self._build_detail()
        self._debounce = QTimer(self, singleShot=True, interval=150)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._debounce.start)
        self.search.returnPressed.connect(self.refresh)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_row_changed)
        self.table.doubleClicked.connect(lambda _i: self._on_edit_clicked())
        self.new_button.clicked.connect(self._on_new_clicked)
        services.change_bus.changed.connect(self._on_data_changed)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.new_button)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addLayout(top)
        lv.addWidget(self.table, 1)
        lv.addWidget(self.count_label)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.detail_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(splitter, 1)

    def _build_detail(self) -> QGroupBox:
        box = QGroupBox("居民信息")
        self.d_name, self.d_id, self.d_phone, self.d_sex = QLabel("—"), QLabel("—"), QLabel("—"), QLabel("—")
        self.d_address, self.d_household, self.d_hukou = QLabel("—"), QLabel("—"), QLabel("—")
        self.d_separated, self.d_permit = QLabel("—"), QLabel("—")
        self.d_address.setWordWrap(True)
        self.d_hukou.setWordWrap(True)
        form = QFormLayout()
        for label, w in (("姓名", self.d_name), ("身份证号", self.d_id), ("联系电话", self.d_phone),
                         ("性别/年龄", self.d_sex), ("住址", self.d_address), ("户号", self.d_household),
                         ("户籍地", self.d_hukou), ("人户分离", self.d_separated), ("居住证", self.d_permit)):
            form.addRow(label, w)
        self.edit_button = QPushButton("编辑")
        self.reveal_button = QPushButton("查看完整证件号")
        self.edit_button.setEnabled(False)
        self.reveal_button.setEnabled(False)
        self.edit_button.clicked.connect(self._on_edit_clicked)
        self.reveal_button.clicked.connect(self._on_reveal_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.reveal_button)
        buttons.addStretch(1)
        self.cases_list = QListWidget()
        v = QVBoxLayout(box)
        v.addLayout(form)
        v.addLayout(buttons)
        v.addWidget(QLabel("办理记录"))
        v.addWidget(self.cases_list, 1)
        return box

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        if not self.isVisible():
            return  # showEvent re-reads
        if changes.residents:
            self.refresh()
        if (changes.residents or changes.cases) and self._shown_id is not None:
            self.open_resident(self._shown_id)  # the details and the 办理记录 list

    def refresh(self) -> None:
        text = self.search.text()
        run_op(self, lambda: self.services.residents.search(text), self._on_results)

    def _on_results(self, rows) -> None:
        self.model.set_rows(rows)
        more = "（仅显示前 200 位，请输入更精确的条件）" if len(rows) >= 200 else ""
        self.count_label.setText(f"共 {len(rows)} 位居民{more}")

    def _on_table_row_changed(self, current, _previous) -> None:
        row = self.model.row_at(current.row())
        if row is not None:
            self.open_resident(row.id)

    def open_resident(self, resident_id) -> None:
        svc = self.services
        self._shown_id = resident_id
        run_op(self, lambda: (svc.residents.get(resident_id), svc.cases.for_resident(resident_id)), self._on_opened)

    def _on_opened(self, result) -> None:
        detail, cases = result
        if detail.id != self._shown_id:
            return  # another resident was opened meanwhile
        self.current = detail
        self.d_name.setText(detail.name)
        self.d_id.setText(detail.id_masked)
        self.d_phone.setText(detail.phone_masked or "—")
        self.d_sex.setText(f"{detail.sex} / {detail.age if detail.age is not None else '—'} 岁")
        self.d_address.setText(detail.address or "—")
        self.d_household.setText(detail.household_no or "—")
        self.d_hukou.setText(residence_text.hukou(detail))
        self.d_separated.setText(residence_text.separated(detail))
        self.d_permit.setText(residence_text.permit(detail))
        self.cases_list.clear()
        for c in cases:
            self.cases_list.addItem(f"{c.case_number}  {c.item_name}  【{c.state_label}】")
        if not cases:
            self.cases_list.addItem("暂无办理记录")
        worker = self.services.current_worker
        self.edit_button.setEnabled(True)
        self.reveal_button.setEnabled(bool(worker and worker.can_see_full_id))

    def _on_edit_clicked(self) -> None:
        if self.current is None:
            return
        detail, worker = self.current, self.services.current_worker
        self._open_editor(ResidentDialog(
            lambda data: self.services.residents.update(worker, detail.id, data, detail.version), detail, self),
            lambda saved: detail.id)

    def _on_new_clicked(self) -> None:
        worker = self.services.current_worker
        dlg = ResidentDialog(lambda data: self.services.residents.create(worker, data), None, self)
        if self.model.rowCount() == 0:  # the search found nobody: start from the typed ID, phone or name
            dlg.prefill(registration_prefill(self.search.text()))
        self._open_editor(dlg, lambda saved: saved[0].id)

    def _open_editor(self, dlg: ResidentDialog, saved_id) -> None:
        """Window-modal and non-blocking: the page learns the outcome from ``finished``."""
        self.editor = dlg

        def finished(result: int) -> None:
            self.editor = None
            if result == ResidentDialog.Accepted:
                self._after_save(dlg.saved, saved_id(dlg.saved))
            dlg.deleteLater()
        dlg.finished.connect(finished)
        dlg.open()

    def _after_save(self, saved, resident_id) -> None:
        _row, warning = saved
        if warning:
            QMessageBox.information(self, "提示", warning)
        self.resident_changed.emit(resident_id)
        self.open_resident(resident_id)  # the list itself follows the change bus

    def _on_reveal_clicked(self) -> None:
        if self.current is None:
            return
        worker, rid = self.services.current_worker, self.current.id
        run_op(self, lambda: self.services.residents.reveal(worker, rid), self._on_revealed)

    def _on_revealed(self, values) -> None:
        id_number, phone = values
        self.d_id.setText(id_number)
        self.d_phone.setText(phone or "—")
