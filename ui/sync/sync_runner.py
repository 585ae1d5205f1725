"""Background sync: a worker object on its own QThread runs SyncClient.sync_once every 30 s and on demand.

Never on the UI thread; results come back as a queued signal. The client itself applies exponential backoff
with jitter when the server is unreachable (``SyncResult.next_sync_in_s``). What a round changed on this desk
(``SyncResult.changes``) is broadcast on the change bus, so the pages showing it refresh themselves.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from app.core.changes import changes_of
from ui.gc_guard import ensure_main_thread_gc

log = logging.getLogger(__name__)


class _SyncWorker(QObject):
    finished_round = Signal(object)  # SyncResult
    status_ready = Signal(object)  # SyncStatus

    def __init__(self, make_client):
        super().__init__()
        self._make_client = make_client
        self._client = None
        self._timer: QTimer | None = None

    @Slot()
    def start(self) -> None:
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.run_round)
        self._timer.start(1000)

    @Slot()
    def run_round(self) -> None:
        if self._client is None:
            self._client = self._make_client()
        try:
            result = self._client.sync_once()
        except Exception:
            log.exception("sync round failed unexpectedly")
            result = None
        if result is not None:
            self.finished_round.emit(result)
            delay_s = result.next_sync_in_s
        else:
            delay_s = 60
        self.status_ready.emit(self._client.status())
        if self._timer is not None:
            self._timer.start(int(max(1.0, delay_s) * 1000))

    @Slot()
    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self._client is not None:
            self._client.close()


class SyncRunner(QObject):
    """Owns the sync thread. ``request_now()`` asks for an immediate round; signals arrive on the UI thread.

    After a round that changed data on this desk, its changes go out on ``change_bus`` (when given) before
    ``round_finished``."""

    round_finished = Signal(object)
    status_changed = Signal(object)
    _now = Signal()
    _stop = Signal()

    def __init__(self, make_client, parent=None, *, change_bus=None):
        super().__init__(parent)
        self._bus = change_bus
        self.thread = QThread()
        self.thread.setObjectName("onedesk-sync")
        self.worker = _SyncWorker(make_client)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)
        self.worker.finished_round.connect(self._on_worker_finished_round, Qt.QueuedConnection)
        self.worker.status_ready.connect(self.status_changed)
        self._now.connect(self.worker.run_round)
        self._stop.connect(self.worker.stop)

    @Slot(object)
    def _on_worker_finished_round(self, result) -> None:
        changes = changes_of(result)
        if changes and self._bus is not None:
            self._bus.changed.emit(changes)
        self.round_finished.emit(result)

    def start(self) -> None:
        ensure_main_thread_gc()  # the sync thread runs Python too: cycles are collected on the UI thread only
        self.thread.start()

    def request_now(self) -> None:
        self._now.emit()

    def shutdown(self, wait_ms: int = 5000) -> None:
        if self.thread.isRunning():
            self._stop.emit()
            self.thread.quit()
            self.thread.wait(wait_ms)
