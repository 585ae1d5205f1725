"""The case lifecycle through the real widgets: forward, acknowledge and reply as the colleague (after a
login switch), inform and close at the desk, and a supervisor reassigning an overdue case."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.desk.worklist import TABS
from tests.gui_helpers import type_text
from tests.test_gui_wizard import run_item
from ui.cases.action_dialogs import CloseDialog, ReassignDialog, ReplyDialog
from ui.printing.print_preview_dialog import PrintPreviewDialog

pytestmark = pytest.mark.gui
SHOTS = Path(os.environ["ONEDESK_SHOTS"]) if os.environ.get("ONEDESK_SHOTS") else None
TAB_INDEX = {k: i for i, (k, _) in enumerate(TABS)}


def switch(qtbot, win, login: str) -> None:
    """Lock the screen and log in as someone else — nothing is closed."""
    win.lock_screen()
    dlg = win.lock_dialog
    dlg.login.clear()
    qtbot.keyClicks(dlg.login, login)
    qtbot.keyClicks(dlg.password, "demo1234")
    with qtbot.waitSignal(win.worker_changed, timeout=5000):
        qtbot.keyClick(dlg.password, Qt.Key_Return)


def open_from_tab(qtbot, win, tab: str, case_id):
    win.show_page("worklist")
    page = win.pages["worklist"]
    page.tabs.setCurrentIndex(TAB_INDEX[tab])
    page.refresh()
    model = page.models[tab]
    qtbot.waitUntil(lambda: any(model.row_at(i).id == case_id for i in range(model.rowCount())))
    row = next(i for i in range(model.rowCount()) if model.row_at(i).id == case_id)
    view = page.views[tab]
    view.setCurrentIndex(model.index(row, 0))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_Return)
    from ui.cases.case_dialog import CaseDialog
    qtbot.waitUntil(lambda: any(isinstance(w, CaseDialog) and w.isVisible() for w in page.findChildren(CaseDialog)))
    dlg = next(w for w in page.findChildren(CaseDialog) if w.isVisible())
    qtbot.waitUntil(lambda: dlg.detail is not None)
    return dlg


def in_dialog(cls, action):
    def run():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, cls) and w.isVisible():
                action(w)
                return
        QTimer.singleShot(30, run)
    QTimer.singleShot(30, run)


def test_forward_reply_close_across_login_switch(window, qtbot):
    win = window
    case_id, _review, _fields = run_item(qtbot, win, "MZ-01")
    for w in QApplication.topLevelWidgets():
        if isinstance(w, PrintPreviewDialog):
            w.close()
    # The colleague (民政) logs in on the same desk, acknowledges and replies.
    switch(qtbot, win, "minzheng")
    dlg = open_from_tab(qtbot, win, "mine", case_id)
    if SHOTS:
        dlg.grab().save(str(SHOTS / "case-forwarded.png"))
    qtbot.mouseClick(dlg.buttons["acknowledge"], Qt.LeftButton)
    qtbot.waitUntil(lambda: any(e.action_label == "签收" for e in dlg.detail.events))

    def reply(d):
        d.result_box.setCurrentIndex(d.result_box.findData("approved"))
        type_text(qtbot, d.text, "经审核符合条件，次月起发放。")
        qtbot.mouseClick(d.buttons.buttons()[0], Qt.LeftButton)
    in_dialog(ReplyDialog, reply)
    qtbot.mouseClick(dlg.buttons["reply"], Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.detail.summary.state == "replied")
    dlg.close()
    # Back at the desk: inform the resident and close.
    switch(qtbot, win, "qiantai")
    dlg = open_from_tab(qtbot, win, "sent", case_id)
    assert dlg.detail.summary.state == "replied"

    def close(d):
        d.method.setCurrentIndex(d.method.findData("phone"))
        qtbot.mouseClick(d.buttons.buttons()[0], Qt.LeftButton)
    in_dialog(CloseDialog, close)
    qtbot.mouseClick(dlg.buttons["close"], Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.detail.summary.state == "closed")
    qtbot.waitUntil(lambda: "reopen" not in dlg.buttons and "close" not in dlg.buttons)
    if SHOTS:
        qtbot.wait(100)  # let queued show() of the rebuilt rows run before grabbing
        dlg.grab().save(str(SHOTS / "case-history.png"))
    labels = [e.action_label for e in dlg.detail.events]
    assert labels == ["开始办理", "受理", "转办", "签收", "答复", "告知居民并办结"]
    qtbot.waitUntil(lambda: any(isinstance(w, PrintPreviewDialog) and w.isVisible() and w.document.doc_type == "reply"
                                for w in QApplication.topLevelWidgets()))
    assert "reopen" not in dlg.buttons  # only a supervisor may reopen


def test_supervisor_reassigns_overdue_case(window, qtbot):
    win = window
    switch(qtbot, win, "zhanzhang")
    win.show_page("worklist")
    page = win.pages["worklist"]
    page.tabs.setCurrentIndex(TAB_INDEX["overdue"])
    page.refresh()
    model = page.models["overdue"]
    qtbot.waitUntil(lambda: model.rowCount() >= 2)  # the demo has overdue cases
    if SHOTS:
        win.grab().save(str(SHOTS / "worklist-overdue.png"))
    assert all(model.row_at(i).countdown.startswith("已超期") for i in range(model.rowCount()))
    assert model.data(model.index(0, 0), Qt.BackgroundRole) is not None  # red
    case_id = model.row_at(0).id
    before = model.row_at(0).assignee
    dlg = open_from_tab(qtbot, win, "overdue", case_id)

    def reassign(d):
        idx = next(i for i in range(d.target.count()) if before not in d.target.itemText(i))
        d.target.setCurrentIndex(idx)
        type_text(qtbot, d.reason, "原承办人休假，改派")
        qtbot.mouseClick(d.buttons.buttons()[0], Qt.LeftButton)
    in_dialog(ReassignDialog, reassign)
    qtbot.mouseClick(dlg.buttons["reassign"], Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.detail.events[-1].action_label == "改派")
    assert dlg.detail.summary.assignee_name != before
    assert dlg.detail.events[-1].note == "原承办人休假，改派"


def test_reminder_notice_is_non_modal(window, qtbot):
    win = window
    switch(qtbot, win, "zhanzhang")
    qtbot.waitUntil(lambda: win.reminder_box is not None and win.reminder_box.isVisible())
    assert "已超期" in win.reminder_box.text()
    assert not win.reminder_box.isModal()
    # The status bar keeps saying who is at the desk, where, and what is due.
    qtbot.waitUntil(lambda: "已超期" in win.reminder_label.text())
    assert win.worker_label.isVisible() and "周海燕" in win.worker_label.text()
    assert win.committee_label.isVisible() and win.device_label.isVisible()
    # The 15-minute notice may come mid-typing: it is shown without activation (the offscreen platform
    # activates every window it shows, so the attribute is what can be checked here).
    assert win.reminder_box.testAttribute(Qt.WA_ShowWithoutActivating)


def test_reassign_offers_only_other_colleagues_of_the_line(window, qtbot):
    win = window
    switch(qtbot, win, "zhanzhang")
    services = win.services
    mz = next(w for w, _ in services.auth.list_workers() if w.login == "minzheng")
    dlg = ReassignDialog(services, None, "民政", win, current_assignee_id=mz.id)
    qtbot.addWidget(dlg)
    names = [dlg.target.itemText(i) for i in range(dlg.target.count())]
    assert names and not any(n.startswith(mz.display_name) for n in names)  # not the current assignee
    assert all("民政" in n for n in names)
    nobody = ReassignDialog(services, None, "不存在的部门", win)
    qtbot.addWidget(nobody)
    assert nobody.target.count() == 0 and "没有其他负责" in nobody.error.text()
    assert not nobody.buttons.button(nobody.buttons.StandardButton.Ok).isEnabled()
