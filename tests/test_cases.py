"""Case service: one transaction per change (case + event + outbox), deadlines, case numbers, worklist tabs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.auth import AuthService
from app.cases import CaseError, CaseService, ItemRef
from app.residents import ResidentService
from app.worklist import WorklistService
from models import Case, CaseEvent, OutboxEntry

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def desk(desk_ctx):
    auth = AuthService(desk_ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="mz", display_name="李建国", password="mzpass1", roles=["line"], lines=["民政"])
    people = {w.login: w for w, _ in auth.list_workers()}
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    return CaseService(desk_ctx), people, resident, desk_ctx


def _counts(ctx):
    with ctx.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Case, CaseEvent, OutboxEntry))


def test_full_forward_reply_close_cycle(desk):
    cases, people, resident, ctx = desk
    d, mz = people["desk"], people["mz"]
    cid = cases.create_draft(d, ITEM, resident.id)
    cases.submit(d, cid, {"x": 1}, {"身份证": True})
    at = dt.datetime(2026, 2, 13, 10, 0, tzinfo=CST)
    detail = cases.forward(d, cid, assignee_id=mz.id, queue="民政", note="请审核", at=at)
    assert detail.summary.due_at == dt.datetime(2026, 2, 24, 17, 30, tzinfo=CST)
    assert not detail.summary.deadline_provisional
    cases.acknowledge(mz, cid)
    cases.reply(mz, cid, "approved", "符合条件")
    detail = cases.close(d, cid, "phone")
    assert detail.summary.state == "closed"
    assert [e.action_label for e in detail.events] == ["开始办理", "受理", "转办", "签收", "答复", "告知居民并办结"]
    with ctx.sessions() as s:
        names = [o.name for o in s.scalars(select(OutboxEntry).order_by(OutboxEntry.mid))]
        mids = [o.mid for o in s.scalars(select(OutboxEntry).order_by(OutboxEntry.mid))]
    assert names[-6:] == ["case.create.v1", "case.accept.v1", "case.forward.v1", "case.acknowledge.v1", "case.reply.v1", "case.close.v1"]
    assert mids == list(range(1, len(mids) + 1))  # gap-free


def test_refused_operations_change_nothing(desk):
    cases, people, resident, ctx = desk
    d, mz = people["desk"], people["mz"]
    cid = cases.create_draft(d, ITEM, resident.id)
    before = _counts(ctx)
    with pytest.raises(CaseError, match="不能执行"):
        cases.close(d, cid, "phone")
    with pytest.raises(CaseError, match="需要以下角色"):
        cases.submit(mz, cid, {}, {})
    with pytest.raises(CaseError, match="具体原因"):
        cases.refuse(d, cid, "  ")
    assert _counts(ctx) == before


def test_failure_inside_transaction_rolls_back_case_event_and_outbox(desk, monkeypatch):
    cases, people, resident, ctx = desk
    d = people["desk"]
    cid = cases.create_draft(d, ITEM, resident.id)
    before = _counts(ctx)
    import app.cases as mod

    def boom(*a, **k):
        raise RuntimeError("power cut while writing the outbox")
    monkeypatch.setattr(mod, "enqueue", boom)
    with pytest.raises(RuntimeError):
        cases.submit(d, cid, {"a": 1}, {})
    assert _counts(ctx) == before
    assert cases.get(cid).summary.state == "draft"


def test_case_numbers_are_readable_and_sequential(desk):
    cases, people, resident, _ = desk
    at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=CST)
    a = cases.get(cases.create_draft(people["desk"], ITEM, resident.id, at=at)).summary.case_number
    b = cases.get(cases.create_draft(people["desk"], ITEM, resident.id, at=at)).summary.case_number
    assert a == "320302001-D01-20261120-0001" and b == "320302001-D01-20261120-0002"


def test_worklist_tabs(desk):
    cases, people, resident, ctx = desk
    d, mz, boss = people["desk"], people["mz"], people["boss"]
    now = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)  # Fri 10:00 in Shanghai
    ids = []
    for back in (0, 1, 7):  # forwarded today, on Thursday (due Mon), a week ago (overdue)
        cid = cases.create_draft(d, ITEM, resident.id)
        cases.submit(d, cid, {}, {})
        cases.forward(d, cid, assignee_id=mz.id, queue="民政", at=now - dt.timedelta(days=back))
        ids.append(cid)
    wl = WorklistService(ctx)
    assert wl.count("mine", mz, now=now) == 3
    assert wl.count("sent", d, now=now) == 3
    assert wl.count("overdue", boss, now=now) == 1
    rows = wl.page("mine", mz, now=now, sort="due")
    assert [r.id for r in rows] == [ids[2], ids[1], ids[0]]
    assert rows[0].urgency == "overdue" and rows[0].countdown.startswith("已超期")
    assert rows[0].applicant_id_masked == "110105********002X"
    assert wl.reminder(boss, now=now)[1] == 1
    # due today: forwarded on Wednesday 18th → due Friday 20th 17:30
    cid = cases.create_draft(d, ITEM, resident.id)
    cases.submit(d, cid, {}, {})
    cases.forward(d, cid, assignee_id=mz.id, queue="民政", at=now - dt.timedelta(days=2))
    today = wl.page("due_today", mz, now=now)
    assert [r.id for r in today] == [cid] and today[0].countdown == "今日到期"
    assert wl.page("mine", mz, now=now, text="不存在的") == []


def test_close_of_business_is_per_committee_and_admin_only(desk):
    from app.deadlines import DeadlineError, DeadlineService
    cases, people, resident, ctx = desk
    svc = DeadlineService(ctx)
    with pytest.raises(DeadlineError, match="只有站长或管理员"):
        svc.set_close_of_business(people["desk"], "17:00")
    with pytest.raises(DeadlineError, match="格式"):
        svc.set_close_of_business(people["admin"], "25:00")
    svc.set_close_of_business(people["admin"], "17:00")
    due, provisional = svc.due(dt.datetime(2026, 2, 13, 10, 0, tzinfo=CST))
    assert due == dt.datetime(2026, 2, 24, 17, 0, tzinfo=CST) and not provisional
    due, provisional = svc.due(dt.datetime(2026, 12, 30, 10, 0, tzinfo=CST))
    assert provisional  # 2027 has no data yet: Monday–Friday fallback, marked provisional
