"""run_op and a window that is closed while its operation runs: no callback into deleted widgets, and what
the operation changed is still broadcast to the pages that remain open."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout

from app.core.changes import Changes
from ui.operations import pending_operations, run_op
from ui.services import ChangeBus

pytestmark = pytest.mark.gui


class _Services:
    def __init__(self):
        self.change_bus = ChangeBus()


class _Window(QDialog):
    def __init__(self, services):
        super().__init__()
        self.services = services
        self.label = QLabel("")
        QVBoxLayout(self).addWidget(self.label)


def test_a_window_deleted_mid_operation_gets_no_callback_but_changes_are_broadcast(qtbot):
    services, release, seen, calls = _Services(), threading.Event(), [], []
    services.change_bus.changed.connect(seen.append)
    win = _Window(services)

    def slow():
        release.wait(5)
        return Changes(cases=True)

    def on_done(_value):
        calls.append(True)
        win.label.setText("done")  # would raise: the label's C++ object is gone

    run_op(win, slow, on_done)
    win.deleteLater()
    qtbot.waitUntil(lambda: not _alive(win))
    release.set()
    qtbot.waitUntil(lambda: pending_operations() == 0)
    qtbot.waitUntil(lambda: seen == [Changes(cases=True)])
    assert calls == []


def _alive(obj) -> bool:
    from shiboken6 import isValid
    return isValid(obj)
