"""Run a service call off the UI thread and deliver its result (or a Chinese error) back on it.

Widget handlers stay ~10 lines: ``run_op(self, lambda: svc.search(text), self._on_results)``.
Known user errors carry Chinese messages; anything unexpected is logged and shown as a generic message,
never as a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from ui.gc_guard import ensure_main_thread_gc

log = logging.getLogger(__name__)

# Exceptions whose str() is a Chinese message meant for the worker.
USER_ERRORS: tuple[type[BaseException], ...] = ()


def user_error_types() -> tuple[type[BaseException], ...]:
    global USER_ERRORS
    if not USER_ERRORS:
        from app.auth import AuthError, PermissionDenied
        from app.backup import BackupError
        from app.case_machine import TransitionError
        from app.cases import CaseError
        from app.db import StorageError
        from app.deadlines import DeadlineError
        from app.printing import PrintError
        from app.sync_enroll import EnrollFailed
        from app.residents import ResidentError
        from app.setup import SetupError
        from forms.identity import IdentityError
        USER_ERRORS = (AuthError, PermissionDenied, BackupError, TransitionError, CaseError, StorageError,
                       ResidentError, SetupError, IdentityError, PrintError, EnrollFailed, DeadlineError)
    return USER_ERRORS


def error_message(exc: BaseException) -> str:
    if isinstance(exc, user_error_types()):
        return str(exc)
    log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
    return "操作没有完成：程序遇到意外问题，已记录日志。数据未被修改，请重试或联系管理员。"


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)


class _Receiver(QObject):
    """Lives on the UI thread so queued signals from the pool land there."""

    def __init__(self, on_done, on_error):
        super().__init__()
        self._on_done, self._on_error = on_done, on_error

    @Slot(object)
    def done(self, value) -> None:
        _live.pop(id(self), None)
        self._on_done(value)

    @Slot(str)
    def failed(self, message: str) -> None:
        _live.pop(id(self), None)
        self._on_error(message)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any]):
        super().__init__()
        self.fn = fn
        self.signals = _Signals()

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - converted to a message for the worker
            self.signals.failed.emit(error_message(exc))
            return
        self.signals.done.emit(result)


_live: dict[int, tuple[_Receiver, _Task]] = {}


def run_op(parent: QObject, fn: Callable[[], Any], on_done: Callable[[Any], None],
           on_error: Callable[[str], None] | None = None) -> None:
    """Run ``fn`` on the thread pool; ``on_done``/``on_error`` run on the UI thread via queued signals."""
    ensure_main_thread_gc()  # no cycle holding a widget may be collected on the pool thread
    receiver = _Receiver(on_done, on_error or (lambda msg: _default_error(parent, msg)))
    task = _Task(fn)
    task.setAutoDelete(False)
    task.signals.done.connect(receiver.done, Qt.QueuedConnection)
    task.signals.failed.connect(receiver.failed, Qt.QueuedConnection)
    _live[id(receiver)] = (receiver, task)  # keep both alive until the result is delivered
    QThreadPool.globalInstance().start(task)


def pending_operations() -> int:
    return len(_live)


def _default_error(parent: QObject, message: str) -> None:
    from PySide6.QtWidgets import QMessageBox, QWidget
    QMessageBox.warning(parent if isinstance(parent, QWidget) else None, "提示", message)
