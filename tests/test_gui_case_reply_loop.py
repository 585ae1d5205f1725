"""The reply loop through the real widgets (issue 19, point 6): a reply needs a text (the dialog says so and stays
open); 签收 changes what the window reads and hides its button; a reply arriving is told in the front desk's
status bar and its row stands out in 本窗口转出 until the case is opened; the print record follows the preview."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QInputDialog
from sqlalchemy import select

from app.core.actions import REPLY_TEXT_REQUIRED
from app.desk.worklist import TABS
from models import Case, Worker
from tests.gui_helpers import save_shot, type_text
from ui.cases.action_dialogs import ReplyDialog
from ui.cases.case_dialog import PRINT, CaseDialog
from ui.printing.print_preview_dialog import PrintPreviewDialog
from ui.worklist.worklist_table_model import _NEW_REPLY, _REPLIED

pytestmark = pytest.mark.gui
TAB_INDEX = {k: i for i, (k, _) in enumerate(TABS)}
REPLY = "经审核符合条件，自次月起发放。"


def as_worker(win, login: str):
    worker = win.services.auth.login(login, "demo1234")
    win.switch_worker(worker)
    return worker


def fresh_forwarded(ctx, login: str = "minzheng"):
    """A forwarded demo case assigned to ``login`` and not signed for yet."""
    with ctx.sessions() as s:
        wid = s.scalar(select(Worker.id).where(Worker.login == login))
        return s.scalars(select(Case).where(Case.state == "forwarded", Case.assignee_id == wid,
                                            Case.acknowledged_at.is_(None)).order_by(Case.case_number)).first()


def form_value(form, label: str) -> str:
    for row in range(form.rowCount()):
        lab = form.itemAt(row, form.ItemRole.LabelRole)
        if lab is not None and lab.widget() is not None and lab.widget().text() == label:
            return form.itemAt(row, form.ItemRole.FieldRole).widget().text()
    return ""


def history(dlg) -> list[str]:
    return [dlg.history.item(i, 2).text() for i in range(dlg.history.rowCount())]


def open_case(qtbot, win, case_id) -> CaseDialog:
    dlg = win.services.case_windows.open(case_id, win)
    qtbot.waitUntil(lambda: dlg.detail is not None and dlg.prints.text() != "")
    return dlg


def visible(cls):
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, cls) and w.isVisible()), None)


def sign_and_reply(qtbot, win, case_id, text: str = REPLY) -> CaseDialog:
    """As the line colleague: 签收 (the window reads 已签收, the button goes), then 答复 with ``text``."""
    dlg = open_case(qtbot, win, case_id)
    assert form_value(dlg.info_form, "状态") == "已转办" and dlg.buttons["acknowledge"].text() == "签收"
    qtbot.mouseClick(dlg.buttons["acknowledge"], Qt.LeftButton)
    qtbot.waitUntil(lambda: form_value(dlg.info_form, "状态") == "已签收")
    assert "acknowledge" not in dlg.buttons and "签收" in history(dlg)
    assert dlg.buttons["reply"].text() == "答复"
    qtbot.mouseClick(dlg.buttons["reply"], Qt.LeftButton)
    qtbot.waitUntil(lambda: visible(ReplyDialog) is not None)
    reply = visible(ReplyDialog)
    type_text(qtbot, reply.text, text)
    qtbot.mouseClick(reply.buttons.buttons()[0], Qt.LeftButton)
    qtbot.waitUntil(lambda: form_value(dlg.info_form, "状态") == "已答复")
    return dlg


def test_an_empty_reply_is_refused_in_the_dialog_and_the_window_follows_each_action(window, qtbot):
    win = window
    as_worker(win, "minzheng")
    case = fresh_forwarded(win.services.ctx)
    dlg = open_case(qtbot, win, case.id)
    qtbot.mouseClick(dlg.buttons["acknowledge"], Qt.LeftButton)
    qtbot.waitUntil(lambda: form_value(dlg.info_form, "状态") == "已签收")
    assert "acknowledge" not in dlg.buttons and [b.text() for b in dlg.buttons.values()][:1] == ["答复"]
    qtbot.mouseClick(dlg.buttons["reply"], Qt.LeftButton)
    qtbot.waitUntil(lambda: visible(ReplyDialog) is not None)
    reply = visible(ReplyDialog)
    qtbot.mouseClick(reply.buttons.buttons()[0], Qt.LeftButton)  # 提交答复 with nothing written
    qtbot.waitUntil(lambda: reply.error.text() != "")
    assert reply.error.text() == REPLY_TEXT_REQUIRED and reply.isVisible()
    assert reply.buttons.isEnabled()  # the worker writes the text and submits again
    qtbot.waitUntil(lambda: dlg.detail is not None and not dlg.busy)
    assert form_value(dlg.info_form, "状态") == "已签收" and "答复" not in history(dlg)
    type_text(qtbot, reply.text, "  ")  # blanks are no text either
    qtbot.mouseClick(reply.buttons.buttons()[0], Qt.LeftButton)
    qtbot.waitUntil(lambda: reply.buttons.isEnabled())
    assert reply.error.text() == REPLY_TEXT_REQUIRED and reply.isVisible()
    reply.text.clear()
    type_text(qtbot, reply.text, REPLY)
    qtbot.mouseClick(reply.buttons.buttons()[0], Qt.LeftButton)
    qtbot.waitUntil(lambda: form_value(dlg.info_form, "状态") == "已答复")
    assert visible(ReplyDialog) is None  # accepted and gone
    assert form_value(dlg.info_form, "答复") == f"同意/已办理：{REPLY}"
    assert history(dlg)[-1] == "答复" and "reply" not in dlg.buttons


def test_a_reply_arriving_is_told_and_its_row_stands_out_until_the_case_is_opened(window, qtbot):
    win = window
    as_worker(win, "minzheng")
    case = fresh_forwarded(win.services.ctx)
    sign_and_reply(qtbot, win, case.id).close()
    as_worker(win, "qiantai")  # back at the front desk (the same desk's database)
    qtbot.waitUntil(lambda: win.reply_label.isVisible())
    assert win.reply_label.text().startswith(f"✉ 收到答复：{case.case_number} {case.item_name}（同意/已办理）")
    win.show_page("worklist")
    page = win.pages["worklist"]
    page.tabs.setCurrentIndex(TAB_INDEX["sent"])
    model, view = page.models["sent"], page.views["sent"]

    def row_of(case_id):
        return next((i for i in range(model.rowCount()) if model.row_at(i).id == case_id), None)
    qtbot.waitUntil(lambda: row_of(case.id) is not None and model.row_at(row_of(case.id)).state == "replied")
    r = row_of(case.id)
    assert model.data(model.index(r, 4)) == "● 已答复（未查看）"
    assert all(model.data(model.index(r, c), Qt.FontRole).bold() for c in range(model.columnCount()))
    assert model.data(model.index(r, 0), Qt.BackgroundRole) == _NEW_REPLY
    others = [i for i in range(model.rowCount()) if model.row_at(i).state == "forwarded"
              and not model.row_at(i).urgency]
    assert others, "the demo has forwarded cases not yet due"
    assert model.data(model.index(others[0], 0), Qt.BackgroundRole) is None  # 已答复 looks different
    assert model.data(model.index(others[0], 0), Qt.FontRole) is None
    view.resizeColumnsToContents()
    save_shot(win, "worklist-new-reply.png")
    # the front desk worker opens it: read
    view.setCurrentIndex(model.index(r, 0))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_Return)
    qtbot.waitUntil(lambda: win.services.case_windows.window_for(case.id) is not None)
    dlg = win.services.case_windows.window_for(case.id)
    qtbot.waitUntil(lambda: dlg.detail is not None and not dlg.detail.reply_unseen)
    assert form_value(dlg.info_form, "答复") == f"同意/已办理：{REPLY}"
    qtbot.waitUntil(lambda: dlg.packet is not None)
    qtbot.wait(100)  # let queued show() of the rebuilt rows run before a grab (ONEDESK_SHOTS)
    save_shot(dlg, "case-window-with-reply.png")
    dlg.close()
    qtbot.waitUntil(lambda: row_of(case.id) is not None and model.data(model.index(row_of(case.id), 4)) == "已答复")
    r = row_of(case.id)
    assert model.data(model.index(r, 0), Qt.FontRole) is None
    assert model.data(model.index(r, 0), Qt.BackgroundRole) == _REPLIED  # still a reply, no longer new
    qtbot.waitUntil(lambda: case.case_number not in win.reply_label.text())


def test_the_print_record_follows_the_preview(window, qtbot, monkeypatch):
    win = window
    boss = win.services.auth.login("zhanzhang", "demo1234")
    win.services.printing.save_settings(boss, "a5", "不存在的打印机")  # the desk's printer is away
    desk = win.services.current_worker
    with win.services.ctx.sessions() as s:
        cid = s.scalar(select(Case.id).where(Case.state == "replied"))
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("答复告知", True)))
    dlg = open_case(qtbot, win, cid)
    assert dlg.prints.text() == "打印记录：无" and desk.login == "qiantai"
    qtbot.mouseClick(dlg.buttons[PRINT], Qt.LeftButton)
    qtbot.waitUntil(lambda: visible(PrintPreviewDialog) is not None)
    visible(PrintPreviewDialog).close()  # only looked at: no print job
    qtbot.waitUntil(lambda: visible(PrintPreviewDialog) is None)
    qtbot.wait(50)
    assert dlg.prints.text() == "打印记录：无"
    qtbot.mouseClick(dlg.buttons[PRINT], Qt.LeftButton)
    qtbot.waitUntil(lambda: visible(PrintPreviewDialog) is not None)
    qtbot.mouseClick(visible(PrintPreviewDialog).later_button, Qt.LeftButton)  # 稍后打印
    qtbot.waitUntil(lambda: "答复告知 未打印" in dlg.prints.text())
    qtbot.mouseClick(dlg.buttons[PRINT], Qt.LeftButton)
    qtbot.waitUntil(lambda: visible(PrintPreviewDialog) is not None)
    preview = visible(PrintPreviewDialog)
    qtbot.mouseClick(preview.quick_button, Qt.LeftButton)  # 直接打印: the printer is not there
    qtbot.waitUntil(lambda: "打印失败" in dlg.prints.text())
    assert "找不到打印机“不存在的打印机”" in dlg.prints.text() and "找不到打印机" in preview.status.text()
    preview.close()
