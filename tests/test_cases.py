"""Case service: one transaction per change (case + event + outbox), deadlines, case numbers, worklist tabs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.desk.auth import AuthService
from app.desk.cases import CaseError, CaseService, ItemRef
from app.desk.residents import ResidentService
from app.desk.worklist import WorklistService
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
    assert names[-6:] == ["case.create.v1", "case.accept.v1", "case.forward.v1", "case.acknowledge.v1",
                          "case.reply.v1", "case.close.v1"]
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
    import app.desk.cases as mod

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
    now = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)  # Fri 10:00 in Shanghai
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


def test_countdown_texts(desk):
    _cases, _people, _resident, ctx = desk
    deadlines = CaseService(ctx).deadline_service()
    due = dt.datetime(2026, 11, 24, 17, 30, tzinfo=CST)  # Tuesday
    at = lambda day, hh=10, mm=0: dt.datetime(2026, 11, day, hh, mm, tzinfo=CST)  # noqa: E731
    assert deadlines.countdown(due, at(23))[1] == "剩余 1 个工作日"  # Monday
    assert deadlines.countdown(due, at(20))[1] == "剩余 2 个工作日"  # Friday: the weekend does not count
    assert deadlines.countdown(due, at(24, 17, 29)) == (0, "今日到期")
    assert deadlines.countdown(due, at(24, 17, 31)) == (-1, "已超期（今日 17:30 截止）")
    assert deadlines.countdown(due, at(25)) == (-1, "已超期 1 个工作日")
    assert deadlines.countdown(due, at(26)) == (-2, "已超期 2 个工作日")
    assert deadlines.countdown(due, at(30))[1] == "已超期 4 个工作日"  # Monday after: Sat/Sun not counted


def test_who_may_act_on_a_forwarded_case(desk):
    cases, people, resident, ctx = desk
    d, mz, boss = people["desk"], people["mz"], people["boss"]
    auth = AuthService(ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="mz2", display_name="钱进", password="mz2pass1", roles=["line"], lines=["民政"])
    auth.create_worker(admin, login="rs", display_name="陈立", password="rspass12", roles=["line"], lines=["人社"])
    people = {w.login: w for w, _ in auth.list_workers()}
    mz2, rs = people["mz2"], people["rs"]
    cid = cases.create_draft(d, ITEM, resident.id)
    cases.submit(d, cid, {}, {})
    before = _counts(ctx)
    with pytest.raises(CaseError, match="不负责“民政”条线"):
        cases.forward(d, cid, assignee_id=rs.id, queue="")
    with pytest.raises(CaseError, match="只能转给条线社工"):
        cases.forward(d, cid, assignee_id=d.id, queue="")
    assert _counts(ctx) == before and cases.get(cid).summary.state == "accepted"
    cases.forward(d, cid, assignee_id=mz.id, queue="民政")
    before = _counts(ctx)
    with pytest.raises(CaseError, match="只有承办人或站长"):
        cases.acknowledge(mz2, cid)
    with pytest.raises(CaseError, match="只有承办人或站长"):
        cases.reply(mz2, cid, "approved", "同意")
    with pytest.raises(CaseError, match="改派必须填写原因"):
        cases.reassign(boss, cid, mz2.id, "  ")
    with pytest.raises(CaseError, match="不负责“民政”条线"):
        cases.reassign(boss, cid, rs.id, "休假")
    assert _counts(ctx) == before and cases.get(cid).summary.assignee_name == mz.display_name
    cases.reassign(boss, cid, mz2.id, "原承办人休假")
    cases.acknowledge(mz2, cid)  # now it is theirs
    # A case waiting in the department queue: a colleague of that line takes it, others cannot.
    q = cases.create_draft(d, ITEM, resident.id)
    cases.submit(d, q, {}, {})
    cases.forward(d, q, assignee_id=None, queue="民政")
    with pytest.raises(CaseError, match="只有负责该条线的同事"):
        cases.acknowledge(rs, q)
    assert cases.acknowledge(mz, q).summary.assignee_name == mz.display_name
    assert cases.reply(boss, q, "approved", "站长代为答复").summary.state == "replied"  # a supervisor covers


def test_close_of_business_is_per_committee_and_admin_only(desk):
    from app.desk.deadlines import DeadlineError, DeadlineService
    _cases, people, _resident, ctx = desk
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
