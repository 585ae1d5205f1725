"""First run on an empty data folder: committee name and code, and the first administrator."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout

from app.desk.setup import FirstRunInput
from ui.operations import run_op


class FirstRunDialog(QDialog):
    def __init__(self, initialise, parent=None):
        """``initialise(FirstRunInput)`` writes the desk's first data; raises SetupError on bad input."""
        super().__init__(parent)
        self._initialise = initialise
        self.setWindowTitle("首次设置")  # the platform adds the app name once
        self.setMinimumWidth(460)
        title = QLabel("欢迎使用 OneDesk 全科前台")
        title.setObjectName("dialogTitle")
        hint = QLabel("首次使用，请填写本居委会信息并建立第一个管理员账号。")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.committee_name = QLineEdit(placeholderText="例如：幸福里社区居民委员会")
        self.committee_code = QLineEdit(placeholderText="例如：320302001")
        self.committee_phone = QLineEdit(placeholderText="例如：0516-83001234")
        self.device_code = QLineEdit("D01")
        self.admin_login = QLineEdit(placeholderText="例如：admin")
        self.admin_name = QLineEdit(placeholderText="管理员姓名")
        self.password = QLineEdit(echoMode=QLineEdit.Password)
        self.password2 = QLineEdit(echoMode=QLineEdit.Password)
        form = QFormLayout()
        for label, w in (("居委会名称", self.committee_name), ("居委会编码", self.committee_code),
                         ("联系电话", self.committee_phone), ("本机编号", self.device_code),
                         ("管理员登录名", self.admin_login), ("管理员姓名", self.admin_name),
                         ("密码", self.password), ("再次输入密码", self.password2)):
            form.addRow(label, w)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("完成设置")
        self.buttons.button(QDialogButtonBox.Cancel).setText("退出")
        self.buttons.accepted.connect(self._on_ok_clicked)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (title, hint):
            layout.addWidget(w)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def _on_ok_clicked(self) -> None:
        if self.password.text() != self.password2.text():
            self.error.setText("两次输入的密码不一致")
            return
        data = FirstRunInput(committee_name=self.committee_name.text(), committee_code=self.committee_code.text(),
                             admin_login=self.admin_login.text(), admin_name=self.admin_name.text(),
                             admin_password=self.password.text(), committee_phone=self.committee_phone.text(),
                             device_code=self.device_code.text() or "D01")
        self.buttons.setEnabled(False)
        run_op(self, lambda: self._initialise(data), lambda _r: self.accept(), self._on_failed)

    def _on_failed(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(message)
