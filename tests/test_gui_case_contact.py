"""联系居民 through the real widgets (issue 19, point 7): the front desk reads the applicant's phone masked in the
case window and in 告知居民并办结; 联系居民 shows the worker who informs the resident the full number (audited,
purpose 联系居民) and 复制号码 puts it on the clipboard. A case not yet answered offers no such button."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.desk.cases import CONTACT_AUDIT_ACTION
from forms.identity import mask_phone
from models import AuditEntry, Case, Resident
from tests.gui_helpers import save_shot
from tests.test_gui_case_reply_loop import form_value, open_case, visible
from ui.cases.action_dialogs import CloseDialog
from ui.cases.case_dialog import CONTACT
from ui.cases.contact_dialog import ContactDialog

pytestmark = pytest.mark.gui


PHONE = "13912345678"


def replied_case(ctx):
    """The demo's replied case; its applicant given a phone number when the demo left it without one."""
    with ctx.sessions.begin() as s:
        case = s.scalars(select(Case).where(Case.state == "replied")).first()
        r = s.get(Resident, case.applicant_id)
        r.phone = r.phone or PHONE
        return case.id, case.case_number, r.id, r.name, r.phone


def contacts(ctx, worker_id) -> list[tuple[str, str]]:
    with ctx.sessions() as s:
        return [(a.subject, a.detail) for a in s.scalars(select(AuditEntry).where(
            AuditEntry.action == CONTACT_AUDIT_ACTION, AuditEntry.worker_id == worker_id))]


def test_contact_shows_the_full_number_audited_and_copies_it(window, qtbot):
    win = window
    ctx, desk = win.services.ctx, win.services.current_worker
    cid, number, rid, name, phone = replied_case(ctx)
    dlg = open_case(qtbot, win, cid)
    applicant = form_value(dlg.info_form, "申请人")
    assert mask_phone(phone) in applicant and phone not in applicant  # masked for the front desk
    assert dlg.buttons[CONTACT].text() == "联系居民"
    qtbot.mouseClick(dlg.buttons[CONTACT], Qt.LeftButton)
    qtbot.waitUntil(lambda: visible(ContactDialog) is not None)
    contact = visible(ContactDialog)
    qtbot.waitUntil(lambda: contact.phone.text() == phone)
    assert (contact.name.text(), contact.case_label.text()) == (name, number)
    assert "审计日志" in contact.hint.text() and "联系居民" in contact.hint.text()
    assert contacts(ctx, desk.id) == [(f"resident:{rid}", f"联系居民；案件 {number}")]
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(contact.copy_button, Qt.LeftButton)
    assert QGuiApplication.clipboard().text() == phone and contact.copy_button.text() == "已复制"
    save_shot(contact, "contact-resident-dialog.png")
    contact.close()
    assert phone not in form_value(dlg.info_form, "申请人")  # the case window stays masked


def test_contact_from_inform_and_close_then_the_button_goes(window, qtbot):
    win = window
    ctx, desk = win.services.ctx, win.services.current_worker
    cid, _number, _rid, _name, phone = replied_case(ctx)
    dlg = open_case(qtbot, win, cid)
    qtbot.mouseClick(dlg.buttons["close"], Qt.LeftButton)
    qtbot.waitUntil(lambda: visible(CloseDialog) is not None)
    close = visible(CloseDialog)
    shown = [w.text() for w in close.findChildren(type(close.error)) if w.isVisible()]
    assert mask_phone(phone) in shown and phone not in shown
    assert close.contact_button.text() == "联系居民…"
    save_shot(close, "inform-and-close-with-contact.png")
    qtbot.mouseClick(close.contact_button, Qt.LeftButton)
    def contact_of_close():
        return next((w for w in close.findChildren(ContactDialog) if w.isVisible()), None)
    qtbot.waitUntil(lambda: contact_of_close() is not None)
    contact = contact_of_close()
    qtbot.waitUntil(lambda: contact.phone.text() == phone)
    qtbot.mouseClick(contact.copy_button, Qt.LeftButton)
    assert QGuiApplication.clipboard().text() == phone
    contact.close()
    assert len(contacts(ctx, desk.id)) == 1
    close.method.setCurrentIndex(close.method.findData("phone"))
    qtbot.mouseClick(close.buttons.buttons()[0], Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.detail.summary.state == "closed")
    assert CONTACT not in dlg.buttons  # told: nobody to call any more
    for w in QApplication.topLevelWidgets():
        if w.isVisible() and w is not win and w is not dlg:
            w.close()  # the 答复告知 preview and the rating offer


def test_a_case_not_yet_answered_offers_no_contact(window, qtbot):
    win = window
    with win.services.ctx.sessions() as s:
        cid = s.scalar(select(Case.id).where(Case.state == "forwarded"))
    dlg = open_case(qtbot, win, cid)
    assert CONTACT not in dlg.buttons and "联系居民" not in {b.text() for b in dlg.buttons.values()}
