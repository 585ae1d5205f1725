"""Start-up: QApplication, bundled resources, database, demo data, first run, login, main window."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core.errors import UserError
from app.core.logs import setup_logging
from app.desk.context import AppContext
from app.desk.folder_lock import FolderInUse, FolderLock, hold, set_program
from ui import resources

log = logging.getLogger(__name__)
_held_folders: list[FolderLock] = []


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("OneDesk")
    app.setApplicationDisplayName("OneDesk 全科前台")
    resources.install(app)
    return app


def open_context(args: argparse.Namespace) -> AppContext:
    from app.demo.open import open_desk
    return open_desk(args.data_dir, args.demo)[0]


def _on_first_window(started: float, window: str) -> None:
    ms = (time.perf_counter() - started) * 1000
    log.info("%s window shown after %.0f ms", window, ms)
    if os.environ.get("ONEDESK_STARTUP_PROBE"):
        # Used by the start-up measurement and the installed-package test: report which window is up, in how
        # long, and whether Qt's own words are Chinese (the zh_CN translations were found), then leave.
        ok = QCoreApplication.translate("QPlatformTheme", "OK")
        print(f"startup_ms={ms:.0f} window={window} qt_ok={ok}", flush=True)
        QApplication.quit()


def _take_folder(args: argparse.Namespace) -> tuple[FolderLock, AppContext]:
    """The data folder for as long as the app runs (a second instance, or a ``restore``, is refused), then its
    log and database. The folder is taken before the log, so a refused instance writes nothing there."""
    args.data_dir.mkdir(parents=True, exist_ok=True)
    folder = hold(args.data_dir)
    try:
        setup_logging(args.data_dir)
        return folder, open_context(args)
    except BaseException:
        folder.release()
        raise


def run_gui(args: argparse.Namespace, started: float | None = None) -> int:
    started = started if started is not None else time.perf_counter()
    app = make_app()
    set_program("OneDesk 桌面程序")
    try:
        folder, ctx = _take_folder(args)
    except (UserError, OSError) as e:
        msg = str(e) if isinstance(e, UserError) else f"数据文件夹无法使用：{args.data_dir}。请检查权限或磁盘空间。"
        title = "程序已在运行" if isinstance(e, FolderInUse) else "无法启动"
        QMessageBox.critical(None, title, msg)
        return 2
    _held_folders.append(folder)  # until the process ends (the sync thread may still be finishing at exit)
    from ui.session import DeskSession
    session = DeskSession(ctx)
    session.login_shown.connect(lambda: _on_first_window(started, "login"))
    session.first_run_shown.connect(lambda: _on_first_window(started, "first_run"))
    if not session.start():
        return 0
    return app.exec()
