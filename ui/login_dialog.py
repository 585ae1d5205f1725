"""Login dialog, also used to unlock the screen or switch worker.

As the lock screen, Esc does nothing and 退出程序 (or closing the window) asks first: a worker stepping back to
the desk must not end the program with one key.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QMessageBox, QVBoxLayout

from app.desk.auth import WorkerInfo
from ui.operations import run_op


class LoginDialog(QDialog):
    logged_in = Signal(object)

    def __init__(self, login_fn, committee_name: str, parent=None, *, locked_for: WorkerInfo | None = None):
        """``login_fn(login, password) -> WorkerInfo`` raises AuthError with a Chinese message."""
        super().__init__(parent)
        self._login_fn = login_fn
        self.worker: WorkerInfo | None = None
        self.locked = locked_for is not None
        self.setWindowTitle("登录" if locked_for is None else "屏幕已锁定")  # the platform adds the app name once
        self.setMinimumWidth(400)
        title = QLabel(committee_name or "OneDesk 全科前台")
        title.setObjectName("dialogTitle")
        sub = QLabel("请登录" if locked_for is None else
                     f"屏幕已锁定。{locked_for.display_name} 输入密码解锁，或由其他工作人员登录切换。")
        sub.setObjectName("hint")
        sub.setWordWrap(True)
        self.login = QLineEdit(placeholderText="登录名")
        self.password = QLineEdit(placeholderText="密码", echoMode=QLineEdit.Password)
        if locked_for is not None:
            self.login.setText(locked_for.login)
            self.password.setFocus()
        form = QFormLayout()
        form.addRow("登录名", self.login)
        form.addRow("密码", self.password)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("登录" if locked_for is None else "解锁 / 切换")
        self.buttons.button(QDialogButtonBox.Cancel).setText("退出程序")
        self.buttons.accepted.connect(self._on_login_clicked)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(sub)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def keyPressEvent(self, event) -> None:
        if self.locked and event.key() == Qt.Key_Escape:
            event.accept()  # the lock screen stays; Esc is no way out of it
            return
        super().keyPressEvent(event)

    def reject(self) -> None:
        """退出程序 (or the window's close button): on the lock screen, only after the worker confirms it."""
        if self.locked and not self._confirm_quit():
            return
        super().reject()

    def _confirm_quit(self) -> bool:
        box = QMessageBox(QMessageBox.Question, "退出程序", "退出 OneDesk 吗？", QMessageBox.Yes | QMessageBox.No, self)
        box.setInformativeText("未办完的事项已保存为草稿，\n登录后在“待办 › 草稿”中继续。")
        box.button(QMessageBox.Yes).setText("退出程序")
        box.button(QMessageBox.No).setText("不退出")
        box.setDefaultButton(QMessageBox.No)
        return box.exec() == QMessageBox.Yes

    def _on_login_clicked(self) -> None:
        login, password = self.login.text(), self.password.text()
        if not login.strip() or not password:
            self.error.setText("请输入登录名和密码")
            return
        self.buttons.setEnabled(False)
        run_op(self, lambda: self._login_fn(login, password), self._on_logged_in, self._on_failed)

    def _on_logged_in(self, worker: WorkerInfo) -> None:
        self.worker = worker
        self.logged_in.emit(worker)
        self.accept()

    def _on_failed(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(message)
        self.password.clear()
        self.password.setFocus()
