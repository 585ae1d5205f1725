"""Python's cyclic garbage collector runs on main thread only.

CPython collects cycles on whichever thread happens to allocate when a generation fills up. When that is a
pool thread (``run_op``) or the sync thread and the cycle holds a Qt widget (a dialog and the lambdas
connected to its signals), the widget is destroyed off the UI thread and the process can crash. The known
cure, as in Anki and other large PySide/PyQt apps: switch the automatic collector off and run the same
generational collection from a timer on the UI thread.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

INTERVAL_MS = 1000
_collector: MainThreadCollector | None = None


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject):
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.timer.start(INTERVAL_MS)

    def _on_timer_timeout(self) -> None:
        """The collector's own rule (generation n when its count passed its threshold), on this thread."""
        c0, c1, c2 = gc.get_count()
        if c0 > self.threshold[0]:
            gc.collect(0)
            if c1 > self.threshold[1]:
                gc.collect(1)
                if c2 > self.threshold[2]:
                    gc.collect(2)


def ensure_main_thread_gc() -> None:
    """Idempotent; call on the UI thread before Python code first runs on another thread."""
    global _collector
    app = QApplication.instance()
    if _collector is not None or app is None:
        return
    _collector = MainThreadCollector(app)
