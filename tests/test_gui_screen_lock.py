"""Issue 12, finding 12, through the real widgets: Ctrl+L locks from any window (the wizard, a case window), every
window is hidden behind the lock screen, Esc there does nothing; the same worker gets their windows back as they
left them, another worker gets none of them (the wizard's work is in 待办 › 草稿)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.desk.worklist import TABS
from tests.gui_helpers import focus_in, press, type_text
from tests.test_gui_wizard import activate, fill_field, open_item, pick_applicant, press_next, shot
from ui.cases.case_dialog import CaseDialog
from ui.desk.service_wizard import ServiceWizard

pytestmark = pytest.mark.gui
ADDRESS = "幸福里二区8号楼3单元402室"


def shown_windows(win) -> list:
    """What a passer-by sees: visible windows other than the lock screen (and the empty main window frame)."""
    return [w for w in QApplication.topLevelWidgets()
            if w.isVisible() and w is not win and w is not win.lock_dialog and not isinstance(w, QMessageBox)]


def wizard_on_a_step(qtbot, win):
    """The worker is on the wizard's first item step and has typed an address, not yet pressed Next."""
    wiz = open_item(qtbot, win, "zunlaojin", "MZ-01")
    pick_applicant(qtbot, wiz, "张桂兰", "张桂兰")
    press_next(qtbot, wiz)
    press_next(qtbot, wiz)
    page = wiz.steps[0]
    assert wiz.current_page() is page
    edit = page.editors["current_address"].edit
    edit.setFocus()
    edit.selectAll()
    type_text(qtbot, edit, ADDRESS)
    return wiz, edit


def lock_from(qtbot, win, window) -> None:
    """Ctrl+L on whatever has the keyboard in ``window``."""
    activate(qtbot, window)
    press(qtbot, window, Qt.Key_L, Qt.ControlModifier)
    qtbot.waitUntil(lambda: win.lock_dialog is not None and win.lock_dialog.isVisible(), timeout=3000)


def unlock_as(qtbot, win, login: str) -> None:
    dlg = win.lock_dialog
    dlg.login.clear()
    qtbot.keyClicks(dlg.login, login)
    qtbot.keyClicks(dlg.password, "demo1234")
    with qtbot.waitSignal(win.worker_changed, timeout=5000):
        qtbot.keyClick(dlg.password, Qt.Key_Return)
    qtbot.waitUntil(lambda: win.lock_dialog is None)


def test_ctrl_l_in_the_wizard_locks_esc_does_nothing_and_the_same_worker_gets_the_wizard_back(window, qtbot):
    win = window
    quits: list = []
    win.quit_requested.connect(lambda: quits.append(True))
    wiz, edit = wizard_on_a_step(qtbot, win)
    lock_from(qtbot, win, wiz)
    assert not wiz.isVisible() and shown_windows(win) == []
    assert not win.centralWidget().isVisible()
    shot(win.lock_dialog, "lock-screen")
    # the step as typed is saved as the draft the moment the screen locks
    case_id = wiz.case_id
    qtbot.waitUntil(lambda: win.services.cases.get(case_id).data.get("current_address") == ADDRESS)
    # Esc on the lock screen: nothing happens (it used to quit the program without asking)
    qtbot.keyClick(win.lock_dialog.password, Qt.Key_Escape)
    qtbot.wait(100)
    assert win.lock_dialog is not None and win.lock_dialog.isVisible() and not quits
    assert win.isVisible() and not wiz.isVisible()
    # the same worker logs in: the wizard is back on the same step with what was typed
    unlock_as(qtbot, win, "qiantai")
    qtbot.waitUntil(wiz.isVisible)
    assert wiz.current_page() is wiz.steps[0] and edit.text() == ADDRESS
    assert win.centralWidget().isVisible()
    activate(qtbot, wiz)
    assert focus_in(wiz) is edit  # the worker goes on typing where they were
    fill_field(qtbot, wiz, wiz.steps[0].editors["living_status"], "独居")
    press_next(qtbot, wiz)  # and on with the wizard: the same draft, no second one
    assert wiz.current_page() is wiz.steps[1] and wiz.case_id == case_id


def test_another_worker_gets_none_of_the_first_workers_windows_and_the_draft_waits_in_drafts(window, qtbot):
    win = window
    wiz, _edit = wizard_on_a_step(qtbot, win)
    cases = win.services.cases
    lock_from(qtbot, win, wiz)
    case_id = wiz.case_id
    qtbot.waitUntil(lambda: cases.get(case_id).data.get("current_address") == ADDRESS)
    unlock_as(qtbot, win, "qiantai2")  # 孙丽 takes over the desk
    qtbot.wait(100)
    assert shown_windows(win) == [], shown_windows(win)
    assert not any(isinstance(w, ServiceWizard) and w.isVisible() for w in QApplication.topLevelWidgets())
    # …nor later, when 孙丽 locks and 王晓燕 comes back: the wizard was closed, its work is the draft
    lock_from(qtbot, win, win)
    unlock_as(qtbot, win, "qiantai")
    qtbot.wait(100)
    assert not any(isinstance(w, (ServiceWizard, CaseDialog)) and w.isVisible() for w in QApplication.topLevelWidgets())
    win.show_page("worklist")
    page = win.pages["worklist"]
    page.tabs.setCurrentIndex([k for k, _ in TABS].index("drafts"))
    model = page.models["drafts"]
    qtbot.waitUntil(lambda: any(model.row_at(i).id == case_id for i in range(model.rowCount())))
    detail = cases.get(case_id)
    assert detail.summary.state == "draft" and detail.draft_step == 2  # resumes on the step the worker was on
    assert detail.data["current_address"] == ADDRESS


def test_ctrl_l_in_a_case_window_hides_it_until_its_worker_is_back(window, qtbot):
    win = window
    from tests.test_gui_case_windows import demo_case
    dlg = win.pages["worklist"].open_case(demo_case(win.services.ctx, "replied"))
    qtbot.waitUntil(lambda: dlg.detail is not None)
    lock_from(qtbot, win, dlg)
    assert not dlg.isVisible() and shown_windows(win) == []
    unlock_as(qtbot, win, "qiantai")
    qtbot.waitUntil(dlg.isVisible)
    # another worker: the case window is closed (the next open is a fresh window, read for them)
    lock_from(qtbot, win, dlg)
    unlock_as(qtbot, win, "zhanzhang")
    qtbot.wait(100)
    assert shown_windows(win) == [] and win.services.case_windows.windows() == []


def test_quitting_from_the_lock_screen_asks_first(window, qtbot):
    win = window
    quits: list = []
    win.quit_requested.connect(lambda: quits.append(True))
    lock_from(qtbot, win, win)
    asked: list = []

    def answer_no():
        box = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
                    and w.isModal()), None)
        if box is None:
            QTimer.singleShot(30, answer_no)
            return
        asked.append(box.text())
        shot(box, "lock-quit-confirm")
        box.button(QMessageBox.No).click()
    QTimer.singleShot(30, answer_no)
    win.lock_dialog.buttons.button(win.lock_dialog.buttons.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: bool(asked))
    qtbot.wait(50)
    assert "退出" in asked[0] and not quits and win.lock_dialog is not None and win.lock_dialog.isVisible()
