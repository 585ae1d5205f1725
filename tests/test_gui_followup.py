"""差评回访 and 催办 through the real widgets (issue 16): the 站长 opens a bad rating from the 差评回访 tab, types the
call-back and the fix records into their dialogs, and the case leaves the tab; the 概要's 评价 section shows it all;
a 站长's 催办 reaches the assignee's 转给我的 rows; the front desk has neither the tab nor the buttons."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QMessageBox
from shiboken6 import isValid
from sqlalchemy import select

from app.core.ratings import RATABLE_STATES
from app.desk.worklist import TABS
from models import Case, Worker
from tests.gui_helpers import type_text
from ui.cases.action_dialogs import FollowupDialog, RemindDialog
from ui.cases.case_dialog import CaseDialog

pytestmark = pytest.mark.gui
TAB_INDEX = {k: i for i, (k, _) in enumerate(TABS)}


@pytest.fixture
def boxes(qtbot):
    """Closes any modal message box so a failing run fails instead of hanging; lists their texts."""
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


def case_windows() -> list[CaseDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, CaseDialog) and w.isVisible()]


def rated_badly(win) -> object:
    """A finished demo case nobody rated yet, rated 非常不满意 by the resident at the desk."""
    with win.services.ctx.sessions() as s:
        cid = s.scalars(select(Case.id).where(Case.state.in_([str(x) for x in RATABLE_STATES]),
                                              Case.rating.is_(None), Case.kind == "service")
                        .order_by(Case.case_number)).first()
    assert cid is not None, "the demo has no unrated finished case"
    win.services.cases.rate(win.services.current_worker, cid, "very_dissatisfied", reasons=["态度不好"],
                            comment="窗口人员不耐烦")
    return cid


def rating_texts(dlg: CaseDialog) -> str:
    return " ".join(w.text() for w in dlg.rating_box.findChildren(QLabel))


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.LeftButton)


def open_dialog(qtbot, dlg: CaseDialog, label: str, kind):
    buttons = {b.text(): b for b in dlg.buttons.values()}
    assert label in buttons, sorted(buttons)
    click(qtbot, buttons[label])
    qtbot.waitUntil(lambda: any(d.isVisible() for d in dlg.findChildren(kind)))
    return next(d for d in dlg.findChildren(kind) if d.isVisible())


def gone(widget) -> bool:
    """A dialog closed after its action is also deleted (deleteLater); either way it is gone."""
    return not isValid(widget) or not widget.isVisible()


def double_click(qtbot, widget, pos) -> None:
    qtbot.mousePress(widget, Qt.LeftButton, pos=pos)
    qtbot.mouseRelease(widget, Qt.LeftButton, pos=pos)
    qtbot.mouseDClick(widget, Qt.LeftButton, pos=pos)


def row_of(model, case_id) -> int | None:
    return next((i for i in range(model.rowCount()) if model.row_at(i).id == case_id), None)


def test_supervisor_records_call_back_and_fix_from_the_followup_tab(window, qtbot, boxes):
    cid = rated_badly(window)
    as_worker(window, "zhanzhang")
    window.show_page("worklist")
    page = window.pages["worklist"]
    assert page.tabs.isTabVisible(TAB_INDEX["followup"]) and page.tabs.tabText(TAB_INDEX["followup"]) == "差评回访"
    page.tabs.setCurrentIndex(TAB_INDEX["followup"])
    model, view = page.models["followup"], page.views["followup"]
    qtbot.waitUntil(lambda: row_of(model, cid) is not None)
    total, i = model.total, row_of(model, cid)
    assert model.headerData(4, Qt.Horizontal) == "差评回访" and model.headerData(6, Qt.Horizontal) == "回访/整改期限"
    assert model.data(model.index(i, 4)) == "待回访（非常不满意）"
    double_click(qtbot, view.viewport(), view.visualRect(model.index(i, 1)).center())
    qtbot.waitUntil(lambda: len(case_windows()) == 1 and case_windows()[0].detail is not None)
    dlg = case_windows()[0]
    assert dlg.case_id == cid
    shown = rating_texts(dlg)
    assert "非常不满意" in shown and "态度不好" in shown and "窗口人员不耐烦" in shown and "待回访" in shown

    call = open_dialog(qtbot, dlg, "记录回访", FollowupDialog)
    assert call.windowTitle() == "记录回访" and "回访了谁" in call.note.placeholderText()
    click(qtbot, call.buttons.button(QDialogButtonBox.Ok))  # nothing typed: refused, the dialog stays
    qtbot.waitUntil(lambda: call.error.text() == "请填写回访情况")
    assert call.isVisible()
    type_text(qtbot, call.note, "已电话联系申请人，就窗口态度致歉")
    click(qtbot, call.buttons.button(QDialogButtonBox.Ok))
    qtbot.waitUntil(lambda: gone(call))
    qtbot.waitUntil(lambda: "记录整改" in {b.text() for b in dlg.buttons.values()})
    assert "已电话联系申请人，就窗口态度致歉" in rating_texts(dlg) and "待整改" in rating_texts(dlg)

    fix = open_dialog(qtbot, dlg, "记录整改", FollowupDialog)
    assert "已电话联系申请人" in " ".join(w.text() for w in fix.findChildren(QLabel))  # the call it follows
    type_text(qtbot, fix.note, "窗口人员已参加服务规范培训")
    click(qtbot, fix.buttons.button(QDialogButtonBox.Ok))
    qtbot.waitUntil(lambda: gone(fix))
    qtbot.waitUntil(lambda: "已整改" in rating_texts(dlg))
    assert "窗口人员已参加服务规范培训" in rating_texts(dlg) and "整改后尚未再次评价" in rating_texts(dlg)
    assert not {"记录回访", "记录整改"} & {b.text() for b in dlg.buttons.values()}
    assert [e.action_label for e in dlg.detail.events[-3:]] == ["评价", "差评回访", "差评整改"]
    dlg.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: dlg.packet is not None)
    qtbot.wait(50)
    dlg.grab().save("/tmp/work/followup.png")
    qtbot.waitUntil(lambda: row_of(model, cid) is None and model.total == total - 1)  # the tab follows the bus
    assert boxes == []


def test_a_supervisors_reminder_reaches_the_assignees_list(window, qtbot, boxes):
    services = window.services
    now = services.clock()
    with services.ctx.sessions() as s:
        case, login = s.execute(select(Case, Worker.login).join(Worker, Worker.id == Case.assignee_id)
                                .where(Case.state == "forwarded", Case.due_at < now)
                                .order_by(Case.case_number)).first()
        cid, before = case.id, case.remind_count or 0
    as_worker(window, "zhanzhang")
    dlg = window.pages["worklist"].open_case(cid)
    qtbot.waitUntil(lambda: dlg.detail is not None)
    remind = open_dialog(qtbot, dlg, "催办", RemindDialog)
    assert remind.note.toPlainText() == "请尽快答复"
    remind.note.clear()
    type_text(qtbot, remind.note, "居民来电询问进度，请尽快答复")
    click(qtbot, remind.buttons.button(QDialogButtonBox.Ok))
    qtbot.waitUntil(lambda: gone(remind))
    qtbot.waitUntil(lambda: f"已催办 {before + 1} 次" in rating_texts(dlg))
    assert dlg.detail.events[-1].action_label == "催办"
    assert dlg.detail.events[-1].note == "居民来电询问进度，请尽快答复"
    dlg.reject()

    as_worker(window, login)
    window.show_page("worklist")
    page = window.pages["worklist"]
    page.tabs.setCurrentIndex(TAB_INDEX["mine"])
    page.refresh()
    model = page.models["mine"]
    qtbot.waitUntil(lambda: row_of(model, cid) is not None)
    i = row_of(model, cid)
    assert f"已催办 {before + 1} 次" in model.data(model.index(i, 7))
    assert "最近一次" in model.data(model.index(i, 7), Qt.ToolTipRole)
    assert boxes == []


def test_the_front_desk_sees_the_rating_but_neither_tab_nor_followup_buttons(window, qtbot, boxes):
    cid = rated_badly(window)  # the fixture's worker: 王晓燕 at the front desk
    window.show_page("worklist")
    page = window.pages["worklist"]
    qtbot.waitUntil(lambda: page.summary.text() != "正在查询…")
    assert not page.tabs.isTabVisible(TAB_INDEX["followup"])
    dlg = page.open_case(cid)
    qtbot.waitUntil(lambda: dlg.detail is not None)
    assert "非常不满意" in rating_texts(dlg) and "待回访" in rating_texts(dlg)
    assert not {"记录回访", "记录整改"} & {b.text() for b in dlg.buttons.values()}
    dlg.reject()
    as_worker(window, "zhanzhang")  # the same page for the 站长: the tab appears
    page.refresh()
    assert page.tabs.isTabVisible(TAB_INDEX["followup"])
    assert boxes == []
