"""Start-up: QApplication, bundled resources, database, demo data, first run, login, main window."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from PySide6.QtWidgets import QApplication, QMessageBox

from app.core.logs import setup_logging
from app.desk.context import AppContext
from app.desk.db import StorageError
from ui import resources

log = logging.getLogger(__name__)


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("OneDesk")
    app.setApplicationDisplayName("OneDesk 全科前台")
    resources.install(app)
    return app


def open_context(args: argparse.Namespace) -> AppContext:
    from app.demo.seed import open_desk
    return open_desk(args.data_dir, args.demo)[0]


def _on_login_shown(started: float) -> None:
    ms = (time.perf_counter() - started) * 1000
    log.info("login window shown after %.0f ms", ms)
    if os.environ.get("ONEDESK_STARTUP_PROBE"):
        # Used by the start-up measurement: report and leave as soon as the login window is up.
        print(f"startup_ms={ms:.0f}", flush=True)
        QApplication.quit()


def run_gui(args: argparse.Namespace, started: float | None = None) -> int:
    started = started if started is not None else time.perf_counter()
    app = make_app()
    try:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        setup_logging(args.data_dir)
        ctx = open_context(args)
    except (StorageError, OSError) as e:
        msg = str(e) if isinstance(e, StorageError) else f"数据文件夹无法使用：{args.data_dir}。请检查权限或磁盘空间。"
        QMessageBox.critical(None, "OneDesk 无法启动", msg)
        return 2
    from ui.session import DeskSession
    session = DeskSession(ctx)
    session.login_shown.connect(lambda: _on_login_shown(started))
    if not session.start():
        return 0
    return app.exec()
