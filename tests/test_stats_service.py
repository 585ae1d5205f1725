"""The desk's StatsService (issue 16): this desk's committee, its calendar and close of business; everyone logged
in reads the figures, only 站长 and 管理员 export the 台账 and the monthly report; 催办 from the overdue list."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.core.errors import UserError
from app.core.stats import Breakdown, Period
from app.core.vocabulary import Action
from app.desk.auth import AuthService
from app.desk.cases import CaseError, CaseService
from app.desk.deadlines import DeadlineService
from app.desk.stats import StatsService
from models import Case, CaseEvent
from tests.test_stats import MZ, NOV, NOW, at


@pytest.fixture
def desk(desk_ctx):
    auth = AuthService(desk_ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="mz", display_name="李建国", password="mzpass1", roles=["line"], lines=["民政"])
    people = {w.login: w for w, _ in auth.list_workers()}
    return desk_ctx, people


def _forwarded(ctx, people, when, replied=None):
    cases = CaseService(ctx)
    d, resident = people["desk"], _resident(ctx)
    cid = cases.create_draft(d, MZ, resident, at=when)
    cases.submit(d, cid, {"x": 1}, {"身份证": True}, at=when)
    cases.forward(d, cid, assignee_id=people["mz"].id, queue="民政", at=when)
    if replied:
        cases.transition(people["mz"], cid, Action.REPLY, {"result": "approved", "text": "已办理"}, at=replied)
    return cid


def _resident(ctx):
    from app.desk.residents import ResidentService
    return ResidentService(ctx).search("张桂兰")[0].id


def test_everyone_logged_in_reads_the_figures_of_this_desk(desk):
    ctx, people = desk
    _forwarded(ctx, people, at(11, 2, 10, 0), replied=at(11, 4, 17, 20))
    stats = StatsService(ctx)
    for login in ("desk", "mz", "boss", "admin"):
        r = stats.report(people[login], NOV, "item", now=NOW)
        assert r.scope == "幸福里社区居民委员会" and r.total.cases == 1 and r.total.replied_on_time == 1
    assert stats.report(people["desk"], NOV, Breakdown.WORKER, now=NOW).rows[0].label == "王晓燕"
    rows = list(stats.ledger(people["desk"], NOV, now=NOW))
    assert [(r.applicant, r.handler, r.overdue) for r in rows] == [("张*兰", "李建国", "否")]
    with pytest.raises(UserError, match="请先登录"):
        stats.report(None, NOV, "item")
    with pytest.raises(UserError, match="统计方式应为"):
        stats.report(people["desk"], NOV, "month")


def test_the_close_of_business_of_the_committee_sets_the_working_hours(desk):
    ctx, people = desk
    boss = people["boss"]
    DeadlineService(ctx).set_close_of_business(boss, "17:00")
    # Forwarded Mon 11-02 16:00 (due Wed 11-04 17:00), replied Tue 09:00: one hour Monday, half an hour Tuesday.
    _forwarded(ctx, people, at(11, 2, 16, 0), replied=at(11, 3, 9, 0))
    r = StatsService(ctx).report(boss, NOV, "day", now=NOW)
    assert r.total.avg_reply_hours == 1.5
    with ctx.sessions() as s:
        assert s.scalar(select(Case.due_at)) == at(11, 4, 17, 0)


def test_only_the_supervisor_and_the_admin_export(desk, tmp_path):
    ctx, people = desk
    stats = StatsService(ctx)
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    for login in ("desk", "mz"):
        with pytest.raises(UserError, match="只有站长或管理员可以导出台账"):
            stats.write_workbook(people[login], NOV, tmp_path / "a.xlsx")
        with pytest.raises(UserError, match="只有站长或管理员可以生成月报"):
            stats.write_pdf(people[login], NOV, tmp_path / "a.pdf")
    with pytest.raises(UserError, match="请先登录"):
        stats.write_workbook(None, NOV, tmp_path / "a.xlsx")
    assert not list(tmp_path.iterdir())


def test_remind_from_the_overdue_list(desk):
    ctx, people = desk
    cid = _forwarded(ctx, people, at(11, 2, 10, 0))
    stats = StatsService(ctx)
    r = stats.report(people["desk"], NOV, "item", now=NOW)
    assert [o.case_id for o in r.overdue] == [cid] and r.overdue[0].assignee_name == "李建国"
    detail = stats.remind(people["boss"], cid, "居民来电询问进度")
    assert detail.remind_count == 1
    with pytest.raises(CaseError, match="需要以下角色"):
        stats.remind(people["mz"], cid)
    r = stats.report(people["desk"], NOV, "item", now=NOW)
    assert r.overdue[0].remind_count == 1
    with ctx.sessions() as s:
        assert s.scalars(select(CaseEvent.note).where(CaseEvent.action == "remind")).all() == ["居民来电询问进度"]


def test_this_month_and_last_month_start_from_the_desk_clock(desk):
    ctx, _people = desk
    stats = StatsService(ctx)
    today = stats.today()
    assert Period.this_month(today).first == today.replace(day=1)
    assert Period.last_month(today).last == today.replace(day=1) - dt.timedelta(days=1)
