"""The desk's life cycle on screen: first run → login → main window; lock and switch without closing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from app.desk.context import AppContext
from app.desk.setup import initialise_desk
from ui.first_run_dialog import FirstRunDialog
from ui.login_dialog import LoginDialog
from ui.services import Services

if TYPE_CHECKING:
    from ui.main_window import MainWindow


WARM_UP_MS = 300


def _warm_up() -> None:
    import ui.main_window  # noqa: F401


class DeskSession(QObject):
    login_shown = Signal()
    first_run_shown = Signal()
    window_shown = Signal(object)

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.services = Services(ctx)
        self.window: MainWindow | None = None
        self.dialog = None

    def start(self) -> bool:
        """Show the first dialog (non-blocking). Returns False if there is nothing to show."""
        if not self.ctx.is_initialised():
            self.dialog = FirstRunDialog(lambda data: initialise_desk(self.ctx, data))
            self.dialog.accepted.connect(self._show_login)
            self.dialog.rejected.connect(QApplication.quit)
            self.dialog.show()
            QTimer.singleShot(0, self.first_run_shown.emit)
            return True
        self._show_login()
        return True

    def _show_login(self) -> None:
        self.dialog = LoginDialog(self.services.auth.login, self.ctx.identity().committee_name)
        self.dialog.logged_in.connect(self._on_logged_in)
        self.dialog.rejected.connect(QApplication.quit)
        self.dialog.show()
        QTimer.singleShot(0, self.login_shown.emit)
        # The main window's modules load while the worker types the password, not before the login is shown.
        QTimer.singleShot(WARM_UP_MS, _warm_up)

    def _on_logged_in(self, worker) -> None:
        self.services.current_worker = worker
        from ui.main_window import MainWindow
        self.window = MainWindow(self.services)
        self.window.quit_requested.connect(QApplication.quit)
        self.window.show()
        self.window_shown.emit(self.window)
