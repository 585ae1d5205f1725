"""Cycles holding Qt objects are collected on the UI thread only (ui/gc_guard.py), never on a pool thread."""

from __future__ import annotations

import gc
import threading

import pytest

pytestmark = pytest.mark.gui


class _Cycle:
    collected_on: list[str] = []

    def __init__(self):
        self.me = self

    def __del__(self):
        _Cycle.collected_on.append(threading.current_thread().name)


def test_cycles_are_collected_on_the_ui_thread_while_pool_threads_allocate(qtbot):
    from ui.operations import run_op
    results = []
    run_op(None, lambda: [object() for _ in range(10)], results.append)  # the first run_op installs the guard
    qtbot.waitUntil(lambda: bool(results))
    assert not gc.isenabled()  # automatic collection is off: it would run on whichever thread allocates
    _Cycle.collected_on.clear()
    for _ in range(2000):  # past generation 0's threshold (700), so a collection is due
        _Cycle()
    done = []

    def churn():  # what made a pool thread collect a dialog's cycle before
        for _ in range(20000):
            _garbage = {"x": [1, 2]}
        return True
    for _ in range(4):
        run_op(None, churn, done.append)
    qtbot.waitUntil(lambda: len(done) == 4)
    qtbot.waitUntil(lambda: len(_Cycle.collected_on) == 2000, timeout=5000)  # the UI-thread timer collects them
    assert set(_Cycle.collected_on) == {threading.main_thread().name}
