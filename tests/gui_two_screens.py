"""The rating window on a PC with two screens (issue 16): run by tests/test_gui_rating.py in a subprocess whose
Qt platform is ``offscreen:configfile=…`` with a 1366×768 "desk" screen and a 1024×768 "resident" screen to its
right (Qt fixes the screens when the application starts, so this cannot run in the suite's own process). The file
is not named test_*.py: the suite collects it only through that subprocess."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from shiboken6 import isValid

from tests.test_gui_rating import _no_window_left, click, make_desk, rating_windows, stored  # noqa: F401 (fixture)
from tests.test_gui_wizard import run_item
from ui.printing.print_preview_dialog import PrintPreviewDialog
from ui.rating import ask_for_rating

pytestmark = [pytest.mark.gui, pytest.mark.skipif(os.environ.get("ONEDESK_TWO_SCREENS") != "1",
                                                  reason="run by test_gui_rating.py on two virtual screens")]


@pytest.fixture
def desk(desk_ctx, styled_app, qtbot):
    return make_desk(desk_ctx, qtbot)


def gone(w) -> bool:
    return not isValid(w) or not w.isVisible()


def screen(name: str):
    return next(s for s in QGuiApplication.screens() if s.name() == name)


def on_screen(qtbot, main, name: str) -> None:
    """Put the worker's main window on the named screen."""
    main.windowHandle().setScreen(screen(name))
    area = screen(name).geometry()
    main.move(area.x() + 60, area.y() + 40)
    qtbot.waitUntil(lambda: main.screen().name() == name)


def test_the_platform_has_two_screens():
    assert [s.name() for s in QGuiApplication.screens()] == ["desk", "resident"]


def test_the_window_fills_the_residents_screen_and_the_worker_gets_a_note(desk, qtbot):
    services, cid, main = desk
    on_screen(qtbot, main, "desk")
    ask_for_rating(main, services, cid)
    qtbot.waitUntil(lambda: len(rating_windows()) == 1)
    win = rating_windows()[0]
    qtbot.waitUntil(lambda: win.isFullScreen())
    assert win.screen().name() == "resident"
    assert screen("resident").geometry().contains(win.geometry()), win.geometry()
    assert not win.isModal() and win.windowModality() == Qt.NonModal
    assert QApplication.activeModalWidget() is None  # the worker's screen stays usable
    note = win.worker_note
    assert note is not None and note.isVisible() and note.screen().name() == "desk"
    assert "请居民在副屏上评价" in note.text.text()
    assert not any(b.isChecked() or b.isDefault() or b.hasFocus() for b in win.level_buttons.values())
    click(qtbot, win.level_buttons["very_dissatisfied"])
    assert win.reasons_box.isVisible()
    click(qtbot, win.reason_boxes[1])
    if os.environ.get("ONEDESK_SHOTS"):  # the resident's full screen (1024×768) and the worker's note
        qtbot.wait(50)
        win.grab().save(os.path.join(os.environ["ONEDESK_SHOTS"], "issue16-rating-second-screen.png"))
        note.grab().save(os.path.join(os.environ["ONEDESK_SHOTS"], "issue16-rating-worker-note.png"))
    click(qtbot, win.submit_button)
    qtbot.waitUntil(lambda: gone(note), timeout=5000)
    case, events, _outbox = stored(services.ctx, cid)
    assert (case.rating, case.rating_channel, case.rating_reasons) == ("very_dissatisfied", "desk", ["态度不好"])
    assert case.followup_callback_due is not None and events[-1] == "rate"  # a bad rating: the follow-up is owed


def test_cancel_on_the_workers_note_leaves_the_case_unrated(desk, qtbot):
    services, cid, main = desk
    on_screen(qtbot, main, "desk")
    ask_for_rating(main, services, cid)
    qtbot.waitUntil(lambda: len(rating_windows()) == 1)
    win = rating_windows()[0]
    note = win.worker_note
    assert note is not None
    click(qtbot, win.level_buttons["satisfied"])
    click(qtbot, note.cancel_button)  # 取消评价
    qtbot.waitUntil(lambda: not rating_windows() and gone(note))
    case, events, _outbox = stored(services.ctx, cid)
    assert case.rating is None and "rate" not in events


def test_with_the_main_window_on_the_second_screen_the_resident_gets_the_first(desk, qtbot):
    services, cid, main = desk
    on_screen(qtbot, main, "resident")
    ask_for_rating(main, services, cid)
    qtbot.waitUntil(lambda: len(rating_windows()) == 1)
    win = rating_windows()[0]
    qtbot.waitUntil(lambda: win.isFullScreen())
    assert win.screen().name() == "desk" and screen("desk").geometry().contains(win.geometry())
    click(qtbot, win.later_button)
    qtbot.waitUntil(lambda: not rating_windows())


def test_after_the_wizards_forward_the_rating_opens_beside_the_receipt_preview(window, qtbot, demo_ctx):
    """Two screens: the receipt's preview stays on the worker's screen, usable, while the resident rates."""
    case_id, _review, _fields = run_item(qtbot, window, "MZ-01")  # 转办
    qtbot.waitUntil(lambda: len(rating_windows()) == 1, timeout=8000)
    win = rating_windows()[0]
    preview = next(w for w in QApplication.topLevelWidgets() if isinstance(w, PrintPreviewDialog) and w.isVisible())
    assert win.case_id == case_id and win.screen().name() == "resident" and preview.document.doc_type == "receipt"
    click(qtbot, win.level_buttons["satisfied"])
    click(qtbot, win.submit_button)
    qtbot.waitUntil(lambda: not rating_windows(), timeout=5000)
    assert preview.isVisible()
    case, _events, _outbox = stored(demo_ctx, case_id)
    assert case.rating == "satisfied"
