"""The desk accepts and forwards, the department decides (issue 13): how ``intake`` treats each level of rule.

A failed ``block`` rule refuses (only 不予受理); failed ``warn`` rules need the worker to record that the resident
insists (居民坚持申请), and then the case is forwarded — never resolved on the spot — with the warnings and the
note stored by the accept step itself; ``info`` never changes what is offered. The rules come from a small
catalog with explicit levels (tests/level_catalog.py), not from production rules that are being re-graded.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core import rule_notes
from app.core.vocabulary import Action
from app.desk.auth import AuthService
from app.desk.cases import CaseError
from app.desk.intake import IntakeService
from app.desk.residents import ResidentInput, ResidentService
from app.desk.worklist import WorklistService
from forms.identity import make_id_number
from models import Case, CaseEvent, OutboxEntry
from tests.level_catalog import BLOCK, INFO, INSTANT_WARN, WARN, level_catalog

ID_CARD = {"申请人身份证": True}


@pytest.fixture
def intake(desk_ctx, tmp_path):
    auth = AuthService(desk_ctx)
    desk = auth.login("desk", "deskpass")
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    return IntakeService(desk_ctx, catalog=level_catalog(tmp_path / "items")), desk, resident.id


def _counts(ctx, case_id):
    with ctx.sessions() as s:
        return (s.scalar(select(Case.state).where(Case.id == case_id)),
                s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)),
                s.scalar(select(func.count()).select_from(OutboxEntry)))


def _draft(svc: IntakeService, desk, rid, code="ZZ-91"):
    return svc.start(desk, code, rid, None)


def test_a_failed_block_rule_offers_nothing_and_finish_refuses(intake):
    svc, desk, _ = intake
    minor = ResidentService(svc.ctx).create(desk, ResidentInput(name="赵小明", id_number=make_id_number(15, "男"))).row
    fields = {"amount": "100", "kind": "甲"}
    result = svc.check("ZZ-91", minor.id, None, fields, ID_CARD)
    assert result.eligibility_failures == [BLOCK] and not result.eligible
    assert svc.outcomes("ZZ-91", result) == []
    cid = _draft(svc, desk, minor.id)
    before = _counts(svc.ctx, cid)
    with pytest.raises(CaseError, match=r"不符合申请条件.*户籍所在地社区.*不予受理"):
        svc.finish(desk, cid, "ZZ-91", minor.id, None, fields, ID_CARD, outcome=Action.FORWARD, insisted=True)
    assert _counts(svc.ctx, cid) == before == ("draft", 1, before[2])


def test_a_warning_needs_the_resident_to_insist_then_travels_with_the_forwarded_case(intake):
    svc, desk, rid = intake
    fields = {"amount": "8000", "kind": "乙"}
    result = svc.check("ZZ-91", rid, None, fields, ID_CARD)
    assert result.eligible and result.eligibility_warnings == [WARN] and result.eligibility_infos == [INFO]
    offered = svc.outcomes("ZZ-91", result)
    assert [(o.action, o.needs_insist) for o in offered] == [(Action.FORWARD, True)]  # no 当场办结
    cid = _draft(svc, desk, rid)
    before = _counts(svc.ctx, cid)
    with pytest.raises(CaseError, match="居民坚持申请"):
        svc.finish(desk, cid, "ZZ-91", rid, None, fields, ID_CARD, outcome=Action.FORWARD)
    assert _counts(svc.ctx, cid) == before  # nothing written without the worker's confirmation

    done = svc.finish(desk, cid, "ZZ-91", rid, None, fields, ID_CARD, outcome=Action.FORWARD, note="请审核",
                      insisted=True, warning_note="  居民称有特殊困难，坚持申请  ")
    d = done.detail
    assert d.summary.state == "forwarded"
    assert d.rule_warnings == [{"level": "warn", "message": WARN}, {"level": "info", "message": INFO}]
    assert d.warning_note == "居民称有特殊困难，坚持申请"
    assert svc.cases.get(cid).rule_warnings == d.rule_warnings  # stored, not only returned
    with svc.ctx.sessions() as s:  # the accept command (and its event) carries them to the server
        accept = s.scalar(select(OutboxEntry).where(OutboxEntry.name == "case.accept.v1"))
        event = s.scalar(select(CaseEvent).where(CaseEvent.case_id == cid, CaseEvent.action == "accept"))
        assert accept.args["rule_warnings"] == d.rule_warnings and accept.args["warning_note"] == d.warning_note
        assert event.detail["rule_warnings"] == d.rule_warnings
        assert event.note == "居民坚持申请（受理时的提示见案件）"  # the history says so too
    assert _counts(svc.ctx, cid)[1:] == (before[1] + 2, before[2] + 2)  # accept + forward, one transaction
    rows = WorklistService(svc.ctx).page("sent", desk)  # the worklist row carries a marker
    assert [r.warned for r in rows if r.id == cid] == [True]


def test_a_refused_forward_stores_no_warning_either(intake):
    svc, desk, rid = intake
    fields = {"amount": "8000", "kind": "甲"}
    cid = _draft(svc, desk, rid)
    before = _counts(svc.ctx, cid)
    with pytest.raises(CaseError, match="接收人"):  # the forward step is refused after the accept step ran
        svc.finish(desk, cid, "ZZ-91", rid, None, fields, ID_CARD, outcome=Action.FORWARD, insisted=True,
                   warning_note="坚持", assignee_id=rid)
    assert _counts(svc.ctx, cid) == before
    d = svc.cases.get(cid)
    assert d.rule_warnings == [] and d.warning_note == ""


def test_a_warned_case_on_an_instant_item_is_forwarded_not_resolved(intake):
    svc, desk, rid = intake
    fields = {"amount": "500", "kind": "甲"}
    result = svc.check("ZZ-92", rid, None, fields, ID_CARD)
    assert [o.action for o in svc.outcomes("ZZ-92", result)] == [Action.FORWARD]
    cid = _draft(svc, desk, rid, "ZZ-92")
    with pytest.raises(CaseError, match="不能当场办结"):
        svc.finish(desk, cid, "ZZ-92", rid, None, fields, ID_CARD, outcome=Action.RESOLVE, note="已办",
                   insisted=True)
    done = svc.finish(desk, cid, "ZZ-92", rid, None, fields, ID_CARD, outcome=Action.FORWARD, insisted=True)
    assert done.detail.summary.state == "forwarded"
    assert done.detail.rule_warnings == [{"level": "warn", "message": INSTANT_WARN}]
    assert done.detail.warning_note == ""  # the note is optional


def test_info_never_blocks_nor_asks_for_insisting(intake):
    svc, desk, rid = intake
    fields = {"amount": "100", "kind": "乙"}
    result = svc.check("ZZ-92", rid, None, fields, ID_CARD)
    assert [(o.action, o.needs_insist) for o in svc.outcomes("ZZ-92", result)] == [
        (Action.RESOLVE, False), (Action.FORWARD, False)]
    result = svc.check("ZZ-91", rid, None, fields, ID_CARD)
    assert result.eligibility_infos == [INFO] and not result.eligibility_warnings
    assert [o.needs_insist for o in svc.outcomes("ZZ-91", result)] == [False, False]
    cid = _draft(svc, desk, rid)
    done = svc.finish(desk, cid, "ZZ-91", rid, None, fields, ID_CARD, outcome=Action.RESOLVE, note="已当场办理",
                      warning_note="ignored without a warning")
    assert done.detail.summary.state == "resolved"
    assert done.detail.rule_warnings == [{"level": "info", "message": INFO}] and done.detail.warning_note == ""
    assert not rule_notes.warned(done.detail.rule_warnings)  # guidance is no warning: no worklist marker


def test_missing_materials_with_a_warning_offer_the_notice_once_the_resident_insists(intake):
    svc, desk, rid = intake
    fields = {"amount": "8000", "kind": "甲"}
    result = svc.check("ZZ-91", rid, None, fields, {})
    assert [(o.action, o.needs_insist) for o in svc.outcomes("ZZ-91", result)] == [(Action.AWAIT_MATERIALS, True)]
    cid = _draft(svc, desk, rid)
    with pytest.raises(CaseError, match="居民坚持申请"):
        svc.finish(desk, cid, "ZZ-91", rid, None, fields, {})
    done = svc.finish(desk, cid, "ZZ-91", rid, None, fields, {}, insisted=True, warning_note="材料下周补齐")
    assert done.detail.summary.state == "pending_materials"
    assert done.detail.rule_warnings == [{"level": "warn", "message": WARN}]
    # the materials come later: the case keeps its warnings when it is accepted
    after = svc.cases.accept_after_materials(desk, cid, {"申请人身份证": {"received": True}})
    assert after.rule_warnings == done.detail.rule_warnings and after.warning_note == "材料下周补齐"
