"""同步 page: enrolment, status, "sync now", the mutations the server set aside with its reasons, and the rows
from the server this desk could not apply (shown only when there are any).

The status arrives after every sync round (``show_status``); local changes that wait in the outbox reach the
page through the change bus while it is visible.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
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

from app.core.workdays import CHINA_TZ
from ui.operations import run_op
from ui.sync.sync_status_text import age_text, offset_text, status_text


class SyncHealthPage(QWidget):
    def __init__(self, services, request_sync, parent=None):
        super().__init__(parent)
        self.services, self.request_sync = services, request_sync
        title = QLabel("同步")
        title.setObjectName("pageTitle")
        self.enroll_box = QGroupBox("登记到区服务器")
        self.server_url = QLineEdit(placeholderText="例如 https://onedesk.district.gov.cn:8443")
        self.code = QLineEdit(placeholderText="区管理员提供的一次性注册码（15 分钟内有效）")
        self.ca_file = QLineEdit(placeholderText="区管理员提供的 district-ca.pem（只信任区里自建的 CA）")
        browse = QPushButton("选择…")
        browse.clicked.connect(self._on_browse_ca)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(browse)
        self.enroll_button = QPushButton("登记本机")
        self.enroll_button.clicked.connect(self._on_enroll_clicked)
        ef = QFormLayout(self.enroll_box)
        ef.addRow("服务器地址", self.server_url)
        ef.addRow("注册码", self.code)
        ef.addRow("区 CA 证书", ca_row)
        ef.addRow("", self.enroll_button)
        state = QGroupBox("同步状态")
        sf = QFormLayout(state)
        self.summary, self.server, self.last_error = QLabel(), QLabel(), QLabel()
        self.oldest, self.offset = QLabel(), QLabel()
        self.last_error.setObjectName("error")
        # The lab opt-in (enroll --allow-insecure-http) in use: said on this page for as long as it lasts.
        self.insecure_warning = QLabel()
        self.insecure_warning.setObjectName("error")
        self.insecure_warning.setWordWrap(True)
        self.insecure_warning.setStyleSheet("color: #b42318; font-weight: bold;")
        self.insecure_warning.setVisible(False)
        self.last_error.setWordWrap(True)
        for label, w in (("状态", self.summary), ("服务器", self.server), ("最早未上传", self.oldest),
                         ("本机时钟偏差", self.offset), ("最近错误", self.last_error)):
            sf.addRow(label, w)
        self.sync_button = QPushButton("立即同步")
        self.sync_button.clicked.connect(self._on_sync_clicked)
        sf.addRow("", self.sync_button)
        aside = QGroupBox("被服务器搁置或正在等待的操作（不会阻塞其他操作；请按原因处理）")
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["时间", "操作", "案件编号", "工作人员", "原因", "填写的内容"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        QVBoxLayout(aside).addWidget(self.table)
        self.bad_rows_box = QGroupBox("服务器下发、本机无法使用的数据（已跳过，其余数据照常同步；请告知区管理员）")
        self.bad_rows = QTableWidget(0, 4)
        self.bad_rows.setHorizontalHeaderLabels(["时间", "数据类型", "编号", "原因"])
        self.bad_rows.verticalHeader().hide()
        self.bad_rows.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.bad_rows.horizontalHeader().setStretchLastSection(True)
        QVBoxLayout(self.bad_rows_box).addWidget(self.bad_rows)
        self.bad_rows_box.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(state, 3)
        top.addWidget(self.enroll_box, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.insecure_warning)
        layout.addLayout(top)
        layout.addWidget(aside, 1)
        layout.addWidget(self.bad_rows_box)
        services.change_bus.changed.connect(self._on_data_changed)

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        if changes.queued and self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        run_op(self, self.services.sync_status, self.show_status)

    def show_status(self, st) -> None:
        self.summary.setText(status_text(st))
        self.server.setText(st.server_url or "—")
        self.insecure_warning.setVisible(st.insecure_http)
        self.insecure_warning.setText(
            "⚠ 本机以明文 HTTP 连接区服务器（仅限实验室测试，管理员登记时用了 --allow-insecure-http）："
            "令牌和居民信息在网络上不加密。正式使用请启用 HTTPS，用 https:// 地址和区 CA 证书重新登记本机。"
            if st.insecure_http else "")
        self.oldest.setText(age_text(st.oldest_pending_age_s) if st.pending else "无待上传操作")
        self.offset.setText(offset_text(st.clock_offset_s))
        self.last_error.setText(st.last_error or "")
        self.enroll_box.setVisible(not st.enrolled)
        self.sync_button.setEnabled(st.enrolled)
        self.table.setRowCount(len(st.set_aside_items))
        for i, m in enumerate(st.set_aside_items):
            at = m.client_time.astimezone(CHINA_TZ).strftime("%m-%d %H:%M")
            label = f"{m.label}（等待中）" if m.held else m.label
            for j, text in enumerate((at, label, m.case_number, m.worker_name, m.reason, m.text)):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self._show_bad_rows(st.set_aside_rows)

    def _show_bad_rows(self, rows) -> None:
        self.bad_rows_box.setVisible(bool(rows))
        self.bad_rows.setRowCount(len(rows))
        for i, r in enumerate(rows):
            try:
                at = dt.datetime.fromisoformat(r.at).astimezone(CHINA_TZ).strftime("%m-%d %H:%M")
            except ValueError:
                at = r.at
            for j, text in enumerate((at, r.entity_label, r.id[:8], r.reason)):
                self.bad_rows.setItem(i, j, QTableWidgetItem(text))
        self.bad_rows.resizeColumnsToContents()

    def _on_enroll_clicked(self) -> None:
        url, code, ca = self.server_url.text(), self.code.text(), self.ca_file.text()
        self.enroll_button.setEnabled(False)
        run_op(self, lambda: self.services.enroll(url, code, ca), self._on_enrolled, self._on_enroll_failed)

    def _on_browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择区 CA 证书", "", "证书 (*.pem *.crt);;所有文件 (*)")
        if path:
            self.ca_file.setText(path)

    def _on_enrolled(self, _info) -> None:
        self.enroll_button.setEnabled(True)
        QMessageBox.information(self, "提示", "本机已登记到区服务器，开始同步。")
        self.request_sync()
        self.refresh()

    def _on_enroll_failed(self, message: str) -> None:
        self.enroll_button.setEnabled(True)
        QMessageBox.warning(self, "登记没有成功", message)

    def _on_sync_clicked(self) -> None:
        self.request_sync()
