"""The settings page (the 统计 page is ui/stats/stats_page.py). It re-reads on show and, while visible, when
the change bus says its data changed."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtPrintSupport import QPrinterInfo
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.elided_label import ElidedLabel
from ui.operations import run_op
from ui.region_editor import RegionEditor
from ui.services import Services


def page_title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("pageTitle")
    return label


class SettingsPage(QWidget):
    sync_requested = Signal()  # the worker wants the 同步 page (enrolment, sync health)

    def __init__(self, services: Services, parent=None):
        super().__init__(parent)
        self.services = services
        ident = services.ctx.identity()
        desk = QGroupBox("本机")
        form = QFormLayout(desk)
        form.addRow("居委会", QLabel(f"{ident.committee_name}（{ident.committee_code}）"))
        form.addRow("本机编号", QLabel(f"{ident.device_code} {ident.device_name}"))
        folder = ElidedLabel(str(services.ctx.data_dir), min_chars=16)  # a long path must not widen the window
        folder.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form.addRow("数据文件夹", folder)
        self.close_time = QLineEdit()
        self.close_time.setMaximumWidth(80)
        self.save_close = QPushButton("保存")
        self.save_close.clicked.connect(self._on_save_close_clicked)
        self.close_hint = QLabel("转办期限截止到第二个工作日的这一时刻")
        self.close_hint.setObjectName("hint")
        row = QHBoxLayout()
        row.addWidget(self.close_time)
        row.addWidget(self.save_close)
        row.addWidget(self.close_hint)
        row.addStretch(1)
        form.addRow("下班时间", row)
        self.followup_days = QLabel()  # the district's 差评回访 deadlines (server settings followup), read-only
        self.followup_days.setWordWrap(True)
        form.addRow("差评回访", self.followup_days)
        self.region = RegionEditor(services)
        form.addRow("本会所在地", self.region)
        self.blocks_button = QPushButton("块区与块长…")  # 诉求 go to the 块长 of their address's 块区 (issue 20)
        self.blocks_button.setToolTip("划分块区、指定块长：居民诉求按地址默认转给所在块区的块长")
        self.blocks_button.clicked.connect(self._on_blocks_clicked)
        blocks_row = QHBoxLayout()
        blocks_row.addWidget(self.blocks_button)
        blocks_row.addStretch(1)
        form.addRow("块区", blocks_row)
        self.sync_button = QPushButton("区服务器登记与同步…")
        self.sync_button.setToolTip("用区管理员提供的一次性注册码登记本机；查看同步状态和被搁置的操作")
        self.sync_button.clicked.connect(self.sync_requested.emit)
        sync_row = QHBoxLayout()
        sync_row.addWidget(self.sync_button)
        sync_row.addStretch(1)
        form.addRow("区服务器", sync_row)
        self.devices_button = QPushButton("设备设置与测试…")
        self.devices_button.setToolTip("身份证阅读器、高拍仪、扫描仪、扫码枪：选择驱动、测试，查看上次错误")
        self.devices_button.clicked.connect(self._on_devices_clicked)
        devices_row = QHBoxLayout()
        devices_row.addWidget(self.devices_button)
        devices_row.addStretch(1)
        form.addRow("设备", devices_row)
        printing = QGroupBox("打印")
        pform = QFormLayout(printing)
        self.layout_box = QComboBox()
        for key, label in (("a4", "A4"), ("a5", "A5"), ("thermal80", "80 毫米热敏纸")):
            self.layout_box.addItem(label, key)
        self.printer_box = QComboBox()
        self.printer_box.addItem("系统默认打印机", "")
        for name in QPrinterInfo.availablePrinterNames():
            self.printer_box.addItem(name, name)
        self.save_print_button = QPushButton("保存打印设置")
        self.save_print_button.clicked.connect(self._on_save_print_clicked)
        pform.addRow("纸张版式", self.layout_box)
        pform.addRow("打印机", self.printer_box)
        pform.addRow("", self.save_print_button)
        accounts = QGroupBox("工作人员账号")
        self.workers = QTableWidget(0, 4)
        self.workers.setHorizontalHeaderLabels(["登录名", "姓名", "角色", "状态"])
        self.workers.verticalHeader().hide()
        self.workers.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.workers.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.workers.horizontalHeader().setStretchLastSection(True)
        self.unlock_button = QPushButton("解锁所选账号")
        self.unlock_button.clicked.connect(self._on_unlock_clicked)
        av = QVBoxLayout(accounts)
        av.addWidget(self.workers)
        row = QHBoxLayout()
        row.addWidget(self.unlock_button)
        row.addStretch(1)
        av.addLayout(row)
        layout = QVBoxLayout(self)
        layout.addWidget(page_title("设置"))
        top = QHBoxLayout()
        top.addWidget(desk, 3)
        top.addWidget(printing, 2)
        layout.addLayout(top)
        layout.addWidget(accounts, 1)
        self._rows = []
        services.change_bus.changed.connect(self._on_data_changed)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        if (changes.workers or changes.settings) and self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        run_op(self, self.services.auth.list_workers, self._on_workers)
        run_op(self, self.services.printing.settings, self._on_print_settings)
        svc = self.services.cases.deadline_service()
        run_op(self, lambda: svc.close_of_business().strftime("%H:%M"), self.close_time.setText)
        self._show_close_time_rights()
        run_op(self, svc.followup_days, lambda days: self.followup_days.setText(
            f"{days.callback_days} 个工作日内回访，{days.fix_days} 个工作日内整改（由区里统一设置）"))
        self.region.refresh()

    def _on_blocks_clicked(self) -> None:
        from ui.requests.block_editor import BlockEditorDialog
        dialog = BlockEditorDialog(self.services, self)
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.open()
        self.blocks_dialog = dialog

    def _on_devices_clicked(self) -> None:
        from ui.devices.devices_page import DevicesDialog
        dialog = getattr(self, "devices_dialog", None)
        if dialog is None:
            self.devices_dialog = dialog = DevicesDialog(self.services, self)
        else:
            dialog.page.refresh()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _show_close_time_rights(self) -> None:
        """Who may change it is the deadline service's rule (``manages_desk``): others read it, not edit it."""
        worker = self.services.current_worker
        may = worker is not None and worker.manages_desk
        self.close_time.setReadOnly(not may)
        self.close_time.setFocusPolicy(Qt.StrongFocus if may else Qt.NoFocus)
        self.save_close.setVisible(may)
        self.close_hint.setText("转办期限截止到第二个工作日的这一时刻" if may else
                                "转办期限截止到第二个工作日的这一时刻（由站长或管理员修改）")

    def _on_save_close_clicked(self) -> None:
        actor, value = self.services.current_worker, self.close_time.text()
        svc = self.services.cases.deadline_service()
        run_op(self, lambda: svc.set_close_of_business(actor, value),
               lambda _r: QMessageBox.information(self, "提示", "下班时间已保存"))

    def _on_print_settings(self, settings) -> None:
        layout, printer = settings
        self.layout_box.setCurrentIndex(max(0, self.layout_box.findData(layout)))
        idx = self.printer_box.findData(printer or "")
        if idx < 0:
            self.printer_box.addItem(f"{printer}（当前不可用）", printer)
            idx = self.printer_box.count() - 1
        self.printer_box.setCurrentIndex(idx)

    def _on_save_print_clicked(self) -> None:
        actor = self.services.current_worker
        layout, printer = self.layout_box.currentData(), self.printer_box.currentData()
        run_op(self, lambda: self.services.printing.save_settings(actor, layout, printer),
               lambda _r: QMessageBox.information(self, "提示", "打印设置已保存"))

    def _on_workers(self, rows) -> None:
        self._rows = rows
        self.workers.setRowCount(len(rows))
        for i, (w, locked) in enumerate(rows):
            for j, text in enumerate((w.login, w.display_name, w.role_labels, "已锁定" if locked else "正常")):
                self.workers.setItem(i, j, QTableWidgetItem(text))
        self.workers.resizeColumnsToContents()

    def _on_unlock_clicked(self) -> None:
        row = self.workers.currentRow()
        if row < 0 or row >= len(self._rows):
            QMessageBox.information(self, "提示", "请先选择一个账号")
            return
        target, actor = self._rows[row][0], self.services.current_worker
        run_op(self, lambda: self.services.auth.unlock(actor, target.id), lambda _r: self._on_unlocked(target))

    def _on_unlocked(self, target) -> None:
        QMessageBox.information(self, "提示", f"已解锁账号：{target.display_name}")  # the table follows the bus
