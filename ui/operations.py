"""Run a service call off the UI thread, deliver its result (or a Chinese error) back on it, and broadcast what
it changed.

Widget handlers stay ~10 lines: ``run_op(self, lambda: svc.search(text), self._on_results)``.
A :class:`~app.core.errors.UserError` carries a Chinese message and is shown as it is; anything else is a bug:
logged once with a redacted traceback and shown as a generic Chinese message, never as a traceback.
When the result reports changes (:func:`~app.core.changes.changes_of`), they are emitted on the change bus
of the services the parent widget works with, after ``on_done`` has run, so every page showing that data
refreshes itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from shiboken6 import isValid

from app.core.changes import changes_of
from app.core.errors import DISK_FULL_MESSAGE, UNEXPECTED_MESSAGE, UserError, is_disk_full, redacted_traceback
from ui.gc_guard import ensure_main_thread_gc

log = logging.getLogger(__name__)


def error_message(exc: BaseException) -> str:
    """What the worker reads for ``exc``; an unexpected one is logged here, once, with its traceback masked."""
    if isinstance(exc, UserError):
        return str(exc)
    if is_disk_full(exc):  # a file write that no service mapped: still say what the worker can do about it
        log.warning("disk full: %s", type(exc).__name__)
        return DISK_FULL_MESSAGE
    log.error("unexpected error in an operation:\n%s", redacted_traceback(exc))
    return UNEXPECTED_MESSAGE


def change_bus_of(widget: QObject | None):
    """The change bus of the services ``widget`` (or the nearest ancestor holding ``services``) works with.

    Found through the widget tree, not a registry: a dialog reaches its page's services through its parent.
    """
    obj = widget
    while obj is not None:
        bus = getattr(getattr(obj, "services", None), "change_bus", None)
        if bus is not None:
            return bus
        obj = obj.parent()
    return None


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)


class _Receiver(QObject):
    """Lives on the UI thread so queued signals from the pool land there.

    A window closed (and deleted) while its operation ran gets no callback: its widgets are gone. What the
    operation changed is still broadcast, so the pages that are still open learn of it."""

    def __init__(self, parent, on_done, on_error, bus):
        super().__init__()
        self._parent, self._on_done, self._on_error, self._bus = parent, on_done, on_error, bus

    def _parent_alive(self) -> bool:
        return not isinstance(self._parent, QObject) or isValid(self._parent)

    @Slot(object)
    def done(self, value) -> None:
        _live.pop(id(self), None)
        try:
            if self._parent_alive():
                self._on_done(value)
        finally:  # the data changed even if the caller's handler failed: the other pages must still know
            changes = changes_of(value)
            if changes and self._bus is not None:
                self._bus.changed.emit(changes)

    @Slot(str)
    def failed(self, message: str) -> None:
        _live.pop(id(self), None)
        if self._parent_alive():
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
        except BaseException as exc:
            self.signals.failed.emit(error_message(exc))
            return
        self.signals.done.emit(result)


_live: dict[int, tuple[_Receiver, _Task]] = {}


def run_op(parent: QObject, fn: Callable[[], Any], on_done: Callable[[Any], None],
           on_error: Callable[[str], None] | None = None) -> None:
    """Run ``fn`` on the thread pool; ``on_done``/``on_error`` run on the UI thread via queued signals, then the
    changes the result reports are broadcast on ``parent``'s change bus."""
    ensure_main_thread_gc()  # no cycle holding a widget may be collected on the pool thread
    receiver = _Receiver(parent, on_done, on_error or (lambda msg: _default_error(parent, msg)), change_bus_of(parent))
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
