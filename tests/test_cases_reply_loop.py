"""The reply loop's rules (issue 19, points 6 and 7), below the widgets: a reply needs a text (one core rule, for
the desk and the server alike); a case signed for reads 已签收 and offers no second 签收; a reply is new on this
desk until a worker who informs the resident opens the case; 联系居民 shows that worker the full phone number,
audited with its purpose, never logged."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import func, select

from app.core import actions, commands
from app.core.changes import NO_CHANGES, Changes
from app.core.machine import informs_resident
from app.core.vocabulary import Action
from app.desk.auth import AuthService
from app.desk.cases import CONTACT_AUDIT_ACTION, CaseError, CaseService, ItemRef
from app.desk.residents import ResidentService
from app.desk.worklist import WorklistService
from models import AuditEntry, Case, CaseEvent, OutboxEntry

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")
PHONE = "13800138000"  # 张桂兰's number in desk_ctx


@pytest.fixture
def loop(desk_ctx):
    auth = AuthService(desk_ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="mz", display_name="李建国", password="mzpass1", roles=["line"], lines=["民政"])
    people = {w.login: w for w, _ in auth.list_workers()}
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    cases = CaseService(desk_ctx)
    cid = cases.create_draft(people["desk"], ITEM, resident.id)
    cases.submit(people["desk"], cid, {}, {"身份证": True})
    cases.forward(people["desk"], cid, assignee_id=people["mz"].id, queue="民政")
    return cases, people, cid, desk_ctx


def _counts(ctx):
    with ctx.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Case, CaseEvent, OutboxEntry))


@pytest.mark.parametrize("result,text,message", [
    ("approved", "", actions.REPLY_TEXT_REQUIRED),
    ("need_more", "  \n ", actions.REPLY_TEXT_REQUIRED),
    ("refused", "", "不予批准必须写明原因"),
])
def test_a_reply_without_text_is_refused_and_changes_nothing(loop, result, text, message):
    cases, people, cid, ctx = loop
    before = _counts(ctx)
    with pytest.raises(CaseError) as refused:
        cases.reply(people["mz"], cid, result, text)
    assert str(refused.value) == message
    assert _counts(ctx) == before and cases.get(cid).summary.state == "forwarded"
    assert not (ctx.data_dir / "attachments" / str(cid)).exists()  # refused before any file is copied


def test_the_core_reply_action_refuses_it_for_any_caller(loop):
    """The server applies pushed replies through the same ``actions.perform`` (app/server/mutations.py)."""
    cases, people, cid, ctx = loop
    with ctx.sessions() as s:
        case = s.get(Case, cid)
        events = len(case.events)
        cmd = commands.ReplyArgs(case_id=cid, case_number=case.case_number, result="approved", text="")
        with pytest.raises(actions.ActionRefused, match="请填写答复内容"):
            actions.perform(case, Action.REPLY, cmd, actor=people["mz"], at=dt.datetime.now(dt.UTC),
                            env=actions.SimpleEnv())
        assert case.state == "forwarded" and case.reply_result is None and len(case.events) == events
    done = cases.reply(people["mz"], cid, "approved", "经审核符合条件，次月起发放")
    assert done.summary.state_label == "已答复" and done.reply_text == "经审核符合条件，次月起发放"


def test_signed_for_reads_so_and_offers_no_second_sign(loop):
    cases, people, cid, _ctx = loop
    mz = people["mz"]
    before = cases.get(cid, viewer=mz)
    assert before.summary.state_label == "已转办"
    assert [o.action for o in before.options] == [Action.ACKNOWLEDGE, Action.REPLY]
    after = cases.acknowledge(mz, cid, expected_version=before.version)
    assert after.summary.state == "forwarded" and after.summary.state_label == "已签收"
    assert [o.action for o in after.options] == [Action.REPLY]
    # the front desk's list says it too
    row = WorklistService(cases.ctx).page("sent", people["desk"])[0]
    assert row.state_label == "已签收"


def test_a_reply_is_new_until_the_worker_who_informs_opens_it(loop):
    cases, people, cid, ctx = loop
    desk, mz, boss = people["desk"], people["mz"], people["boss"]
    worklist = WorklistService(ctx)
    assert worklist.replies_to_read(desk) == (0, [])
    cases.reply(mz, cid, "approved", "同意")
    total, notices = worklist.replies_to_read(desk)
    assert total == 1 and notices[0].case_id == cid and notices[0].reply_label == "同意/已办理"
    assert worklist.replies_to_read(mz) == (0, [])  # a line colleague does not inform residents
    assert cases.get(cid, viewer=desk).reply_unseen
    assert worklist.page("sent", desk)[0].reply_unseen
    # the line colleague looking at it again does not make it read
    assert cases.mark_reply_seen(mz, cid) == NO_CHANGES
    assert cases.get(cid, viewer=desk).reply_unseen
    assert cases.mark_reply_seen(desk, cid) == Changes(cases=True)
    assert cases.mark_reply_seen(boss, cid) == NO_CHANGES  # read once: nothing more changes
    assert not cases.get(cid, viewer=desk).reply_unseen and not worklist.page("sent", desk)[0].reply_unseen
    assert worklist.replies_to_read(desk) == (0, [])
    # forwarded again and answered again: a new reply, new again
    cases.forward(desk, cid, assignee_id=mz.id, queue="民政")
    assert not worklist.page("sent", desk)[0].reply_unseen  # not a reply any more
    cases.reply(mz, cid, "need_more", "请补充户口本复印件")
    assert worklist.replies_to_read(desk)[0] == 1 and cases.get(cid).reply_unseen


def test_contact_shows_the_full_phone_to_the_worker_who_informs_audited_never_logged(loop, caplog):
    cases, people, cid, ctx = loop
    desk, mz = people["desk"], people["mz"]
    with pytest.raises(CaseError, match="已答复后"):
        cases.contact_applicant(desk, cid)  # forwarded: nobody to inform yet
    cases.reply(mz, cid, "approved", "同意")
    assert cases.get(cid, viewer=desk).informs_resident and not cases.get(cid, viewer=mz).informs_resident
    with pytest.raises(CaseError):
        cases.contact_applicant(mz, cid)
    caplog.set_level(logging.DEBUG)
    contact = cases.contact_applicant(desk, cid)
    assert (contact.name, contact.phone, contact.phone_masked) == ("张桂兰", PHONE, "138****8000")
    assert PHONE not in caplog.text
    with ctx.sessions() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == CONTACT_AUDIT_ACTION)).all()
        case = s.get(Case, cid)
        assert [(a.worker_id, a.subject) for a in audit] == [(desk.id, f"resident:{case.applicant_id}")]
        assert "联系居民" in audit[0].detail and PHONE not in audit[0].detail
    cases.close(desk, cid, "phone")
    with pytest.raises(CaseError):
        cases.contact_applicant(desk, cid)  # closed: the resident was told


def test_who_informs_the_resident_is_the_machine_s_close_rule():
    assert informs_resident("replied", ("front_desk",)) and informs_resident("replied", ("supervisor",))
    assert not informs_resident("replied", ("line",)) and not informs_resident("forwarded", ("front_desk",))
    assert not informs_resident("replied", None)
