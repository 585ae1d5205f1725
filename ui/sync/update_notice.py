"""The status bar's 发现新版本 x.y.z.w with a 下载 button (issue 17).

Only shows: who is told and what is newer is decided by ``services.updates`` (app/desk/updates.py), which answers
None for anyone but an administrator. The download runs off the UI thread (``run_op``); when it is done the
verified file's place is shown. Nothing is installed from here.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from app.core.workdays import CHINA_TZ
from ui.operations import run_op


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.1f} KB"


class UpdateNotice(QWidget):
    downloaded = Signal(object)  # DownloadedUpdate
    download_failed = Signal(str)

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.label = QLabel()
        self.label.setObjectName("warning")
        self.download_button = QPushButton("下载")
        self.download_button.clicked.connect(self._on_download_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.download_button)
        self.message_box: QMessageBox | None = None
        self._busy = False
        self.setVisible(False)

    def refresh(self) -> None:
        """Ask again what to show (after a sync round, at login, when the worker changes)."""
        worker = self.services.current_worker
        run_op(self, lambda: self.services.updates.available(worker), self.show_update,
               lambda _message: self.setVisible(False))

    def show_update(self, update) -> None:
        if update is None:
            self.setVisible(False)
            return
        published = update.published_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
        self.label.setText(f"发现新版本 {update.version}" + ("（已下载）" if update.downloaded else ""))
        self.label.setToolTip(f"本机版本 {update.current}；区服务器 {published} 发布了 {update.file_name}"
                              f"（{_size(update.size)}）。下载后核对摘要，不会自动安装。")
        self.setVisible(True)

    def _on_download_clicked(self) -> None:
        if self._busy:
            return
        self._busy = True
        self.download_button.setEnabled(False)
        self.download_button.setText("正在下载…")
        worker = self.services.current_worker
        run_op(self, lambda: self.services.updates.download(worker), self._on_downloaded, self._on_failed)

    def _done(self) -> None:
        self._busy = False
        self.download_button.setEnabled(True)
        self.download_button.setText("下载")

    def _on_downloaded(self, result) -> None:
        self._done()
        self.label.setText(f"发现新版本 {result.version}（已下载）")
        self.label.setToolTip(str(result.path))
        self._show_box(QMessageBox.Information, f"新版本 {result.version} 的安装包已下载并通过校验：\n{result.path}\n\n"
                       "程序不会自动安装。请在方便时关闭 OneDesk，由管理员运行该安装包。")
        self.downloaded.emit(result)

    def _on_failed(self, message: str) -> None:
        self._done()
        self._show_box(QMessageBox.Warning, message)
        self.download_failed.emit(message)

    def _show_box(self, icon, text: str) -> None:
        # Not modal: the desk keeps serving residents while the box is up.
        self.message_box = QMessageBox(icon, "新版本", text, QMessageBox.Ok, self.window())
        self.message_box.setModal(False)
        self.message_box.show()
