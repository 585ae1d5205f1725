"""联系居民 (issue 19): the applicant's full phone number for the worker who tells them the department's answer.

The front desk sees phones masked everywhere; informing the resident of a reply means calling them, so the worker
who may 告知居民并办结 the case asks for the number here. The service writes the view to the audit log (purpose
联系居民) before it answers; the number is shown in this dialog only, with 复制号码, and never logged.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QPushButton, QVBoxLayout

from ui.operations import run_op

CONTACT_LABEL = "联系居民"


class ContactDialog(QDialog):
    def __init__(self, services, case_id, parent=None):
        super().__init__(parent)
        self.services, self.case_id = services, case_id
        self.contact = None
        self.setWindowTitle(CONTACT_LABEL)
        self.setMinimumWidth(380)
        self.name = QLabel("—")
        self.phone = QLabel("正在读取…")
        self.phone.setObjectName("contactPhone")
        self.phone.setTextInteractionFlags(Qt.TextSelectableByMouse)
        font = self.phone.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.phone.setFont(font)
        self.case_label = QLabel()
        self.hint = QLabel("查看完整电话号码已记入审计日志（用途：联系居民）。请勿抄写或转告他人。")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        self.copy_button = QPushButton("复制号码")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.buttons.button(QDialogButtonBox.Close).setText("关闭")
        self.buttons.addButton(self.copy_button, QDialogButtonBox.ActionRole)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("案件编号", self.case_label)
        form.addRow("申请人", self.name)
        form.addRow("联系电话", self.phone)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hint)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        svc, worker = services.cases, services.current_worker
        run_op(self, lambda: svc.contact_applicant(worker, case_id), self._show, self._failed)

    def _show(self, contact) -> None:
        self.contact = contact
        self.case_label.setText(contact.case_number)
        self.name.setText(contact.name)
        self.phone.setText(contact.phone or "未登记电话")
        self.copy_button.setEnabled(bool(contact.phone))
        self.copy_button.setFocus()

    def _failed(self, message: str) -> None:
        self.phone.setText("—")
        self.error.setText(message)
        self.error.setVisible(True)

    def _on_copy_clicked(self) -> None:
        if self.contact is not None and self.contact.phone:
            QGuiApplication.clipboard().setText(self.contact.phone)
            self.copy_button.setText("已复制")
