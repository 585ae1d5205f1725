"""Issue 12, finding 10, through the real widgets: one window per case, and a window that shows an older state of
the case refuses every action with "案件已被更新，请刷新后再操作" and then shows the case as it is now."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import func, select

from app.core.vocabulary import Action
from app.desk.cases import STALE_CASE
from app.desk.worklist import TABS
from models import Case, CaseEvent, Worker
from tests.gui_helpers import type_text
from ui.cases.action_dialogs import ActionDialog
from ui.cases.case_dialog import PRINT, CaseDialog
from ui.desk.service_wizard import ServiceWizard
from ui.printing.print_preview_dialog import PrintPreviewDialog

pytestmark = pytest.mark.gui
TAB_INDEX = {k: i for i, (k, _) in enumerate(TABS)}


def case_windows() -> list[CaseDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, CaseDialog) and w.isVisible()]


@pytest.fixture
def boxes(qtbot):
    """Closes any modal message box (a refusal shown the old way) so a failing run fails instead of hanging;
    ``boxes`` lists their texts. Stops with the test."""
    seen: list[str] = []
    timer = QTimer(interval=50)

    def close():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QMessageBox) and w.isVisible() and w.isModal():
                seen.append(w.text())
                w.reject()
    timer.timeout.connect(close)
    timer.start()
    yield seen
    timer.stop()


def as_worker(win, login: str):
    worker = win.services.auth.login(login, "demo1234")
    win.switch_worker(worker)
    return worker


def demo_case(ctx, state: str, assignee: str | None = None):
    with ctx.sessions() as s:
        stmt = select(Case).where(Case.state == state, Case.kind == "service").order_by(Case.case_number)
        if assignee:
            stmt = stmt.where(Case.assignee_id == s.scalar(select(Worker.id).where(Worker.login == assignee)))
        if state == "accepted":
            stmt = stmt.where(Case.forwarded_at.is_(None))
        return s.scalars(stmt).first().id


def changed_elsewhere(ctx, case_id) -> int:
    """Another desk's change arriving (as a sync round writes it): the case moves on, its version with it."""
    with ctx.sessions.begin() as s:
        case = s.get(Case, case_id)
        case.version += 1
        return case.version


def events(ctx, case_id) -> int:
    with ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))


def press(qtbot, button, key=Qt.Key_Space) -> None:
    button.setFocus()
    qtbot.keyClick(button, key)


def double_click(qtbot, widget, pos) -> None:
    """What the window system sends for a double click: press, release, double-click, release (QTest's
    mouseDClick alone sends no first press, and the view then takes it for a press)."""
    qtbot.mousePress(widget, Qt.LeftButton, pos=pos)
    qtbot.mouseRelease(widget, Qt.LeftButton, pos=pos)
    qtbot.mouseDClick(widget, Qt.LeftButton, pos=pos)


def test_double_click_on_a_worklist_row_opens_one_case_window(window, qtbot, boxes):
    window.show_page("worklist")
    page = window.pages["worklist"]
    page.tabs.setCurrentIndex(TAB_INDEX["sent"])
    model, view = page.models["sent"], page.views["sent"]
    qtbot.waitUntil(lambda: model.rowCount() > 0)
    double_click(qtbot, view.viewport(), view.visualRect(model.index(0, 1)).center())
    qtbot.waitUntil(lambda: len(case_windows()) >= 1)
    qtbot.wait(200)  # a second window would be on screen by now
    assert len(case_windows()) == 1
    assert case_windows()[0].case_id == model.row_at(0).id


def test_opening_a_case_again_raises_its_window(window, qtbot, boxes):
    page = window.pages["worklist"]
    cid = demo_case(window.services.ctx, "replied")
    first = page.open_case(cid)
    qtbot.waitUntil(lambda: first.detail is not None)
    again = page.open_case(cid)
    assert again is first and case_windows() == [first]
    qtbot.waitUntil(lambda: QApplication.activeWindow() is first)
    first.reject()  # closed: the next open is a new window
    qtbot.waitUntil(lambda: not case_windows())
    third = page.open_case(cid)
    qtbot.waitUntil(lambda: third.isVisible() and third.detail is not None)
    assert case_windows() == [third]


def test_enter_on_acknowledge_in_a_stale_window_is_refused_and_the_window_catches_up(window, qtbot, boxes):
    """The finding: an old window's 签收 took the worker's Enter after the case had moved on."""
    ctx = window.services.ctx
    as_worker(window, "minzheng")
    cid = demo_case(ctx, "forwarded", "minzheng")
    dlg = window.pages["worklist"].open_case(cid)
    qtbot.waitUntil(lambda: dlg.detail is not None and Action.ACKNOWLEDGE in dlg.buttons)
    shown = dlg.detail.version
    # meanwhile the supervisor answers the case (another window, another desk): window 1 still shows 签收
    boss = window.services.auth.login("zhanzhang", "demo1234")
    window.services.cases.reply(boss, cid, "approved", "同意，按规定发放")
    n = events(ctx, cid)
    press(qtbot, dlg.buttons[Action.ACKNOWLEDGE], Qt.Key_Return)
    qtbot.waitUntil(lambda: dlg.notice.text() != "" or bool(boxes))
    assert dlg.notice.text() == STALE_CASE, boxes
    qtbot.waitUntil(lambda: dlg.detail.version > shown)
    assert dlg.detail.summary.state == "replied" and Action.ACKNOWLEDGE not in dlg.buttons
    assert any(e.action_label == "答复" for e in dlg.detail.events)
    assert events(ctx, cid) == n  # nothing was written for the stale press
    if __import__("os").environ.get("ONEDESK_SHOTS"):
        from tests.gui_helpers import save_shot
        qtbot.wait(100)
        save_shot(dlg, "case-window-stale.png")


def _fill(qtbot, d) -> None:
    """What a worker writes in the action's small dialog before pressing its OK button."""
    for name in ("reason", "text"):
        edit = getattr(d, name, None)
        if edit is not None:
            type_text(qtbot, edit, "按规定办理")
    ok = d.buttons.buttons()[0]
    press(qtbot, ok)


# (state, worker, button): every button a case window offers, each pressed in a window that is one change behind
BUTTONS = [
    ("draft", "qiantai", Action.SAVE_DRAFT), ("draft", "qiantai", Action.REFUSE), ("draft", "qiantai", Action.WITHDRAW),
    ("pending_materials", "qiantai", Action.ACCEPT), ("pending_materials", "qiantai", PRINT),
    ("accepted", "qiantai", Action.RESOLVE), ("accepted", "qiantai", Action.FORWARD),
    ("forwarded", "minzheng", Action.ACKNOWLEDGE), ("forwarded", "minzheng", Action.REPLY),
    ("forwarded", "zhanzhang", Action.REASSIGN),
    ("replied", "qiantai", Action.FORWARD), ("replied", "qiantai", Action.CLOSE),
    ("closed", "zhanzhang", Action.REOPEN),
]


@pytest.mark.parametrize(("state", "login", "key"), BUTTONS, ids=[f"{s}-{k}" for s, _, k in BUTTONS])
def test_every_button_of_a_stale_window_refuses(window, qtbot, boxes, state, login, key):
    ctx = window.services.ctx
    as_worker(window, login)
    cid = demo_case(ctx, state, "minzheng" if state == "forwarded" else None)
    dlg = window.pages["worklist"].open_case(cid)
    qtbot.waitUntil(lambda: dlg.detail is not None and key in dlg.buttons)
    now = changed_elsewhere(ctx, cid)
    n = events(ctx, cid)
    filled: list = []

    def fill_when_shown():  # the action's small dialog, however it is shown (exec or open)
        for w in QApplication.topLevelWidgets():
            if isinstance(w, ActionDialog) and w.isVisible() and not filled:
                filled.append(w)
                _fill(qtbot, w)
                return
        if not filled:
            QTimer.singleShot(30, fill_when_shown)
    QTimer.singleShot(30, fill_when_shown)
    press(qtbot, dlg.buttons[key])
    qtbot.waitUntil(lambda: dlg.notice.text() != "" or bool(boxes) or bool(filled and filled[0].error.text()),
                    timeout=5000)
    assert dlg.notice.text() == STALE_CASE, (boxes, filled and filled[0].error.text())
    if filled:
        assert filled[0].error.text() == STALE_CASE  # the worker's text stays in the small dialog
        filled[0].reject()
    qtbot.waitUntil(lambda: dlg.detail.version == now)
    assert events(ctx, cid) == n and window.services.cases.get(cid).summary.state == state
    assert not any(isinstance(w, (ServiceWizard, PrintPreviewDialog)) and w.isVisible()
                   for w in QApplication.topLevelWidgets())
