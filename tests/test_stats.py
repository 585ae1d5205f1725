"""The 统计 figures (issue 16): one month seeded on a desk through the real case actions, every figure checked
against counts made by hand below; the same seed copied into the district server's PostgreSQL gives the same
figures. Also the periods and the working hours of 平均答复用时."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass

import pytest
from sqlalchemy import insert, select

from app.core.stats import (
    DEFINITIONS,
    Breakdown,
    Period,
    StatsError,
    compute,
    ledger,
    ledger_with_report,
)
from app.core.vocabulary import Action
from app.core.workdays import CalendarStore, working_hours_between
from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.desk.residents import ResidentService
from models import Case, CaseEvent, Committee, Resident, Worker

pytest_plugins = ("tests.server_fixtures",)  # the PostgreSQL test at the end

CST = dt.timezone(dt.timedelta(hours=8))
MZ = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")
CL = ItemRef("CL-01", "残疾人证新办", "残联", "转办", "test-1")
PROOF = ItemRef("MZ-15", "居委会出具证明", "居委会", "即办", "test-1")
NOV = Period.month(2026, 11)
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=CST)  # Monday noon


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CST)


def calendar():
    return CalendarStore(None).calendar


# ---------------------------------------------------------------------------------------------------------------
# Periods and working hours


def test_periods_parse_label_and_bound_china_days():
    nov = Period.parse_month("2026-11")
    assert nov == NOV == Period.parse_month(" 202611 ") and nov.label == "2026年11月"
    assert Period.parse_month("2026-1") == Period(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert Period.month(2028, 2).last == dt.date(2028, 2, 29)
    assert len(nov.days()) == 30 and nov.days()[0] == dt.date(2026, 11, 1)
    start, end = nov.bounds()
    assert start == dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC)  # China midnight
    assert end == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)
    assert Period.this_month(dt.date(2026, 11, 17)) == nov
    assert Period.last_month(dt.date(2026, 12, 2)) == nov
    assert Period.last_month(dt.date(2026, 1, 5)) == Period.month(2025, 12)
    assert Period.year(2026).label == "2026年" and len(Period.year(2026).days()) == 365
    rng = Period.between(dt.date(2026, 11, 3), dt.date(2026, 11, 20))
    assert rng.label == "2026年11月3日至2026年11月20日"
    assert Period.between(dt.date(2026, 11, 3), dt.date(2026, 11, 3)).label == "2026年11月3日"
    assert Period.between(dt.date(2026, 11, 1), dt.date(2026, 11, 30)).label == "2026年11月"


@pytest.mark.parametrize("text, message", [
    ("11/2026", "月份格式应为 2026-11"), ("", "月份格式应为 2026-11"), ("2026-13", "月份应在 1 到 12 之间"),
    ("2026-00", "月份应在 1 到 12 之间"), ("1899-05", "年份应在"), ("二〇二六年十一月", "月份格式应为 2026-11"),
])
def test_a_bad_month_is_refused_in_chinese(text, message):
    with pytest.raises(StatsError, match=message):
        Period.parse_month(text)


def test_a_bad_range_is_refused_in_chinese():
    with pytest.raises(StatsError, match="结束日期不能早于开始日期"):
        Period.between(dt.date(2026, 11, 20), dt.date(2026, 11, 3))
    with pytest.raises(StatsError, match="最长两年"):
        Period.between(dt.date(2024, 1, 1), dt.date(2026, 1, 2))
    with pytest.raises(StatsError, match="统计方式应为"):
        compute(None, period=NOV, breakdown="month", now=NOW, calendar=calendar())  # type: ignore[arg-type]


def test_working_hours_count_office_hours_on_working_days_only():
    cal = calendar()
    # Friday 16:30 → Monday 09:30: one hour on Friday, one on Monday.
    assert working_hours_between(at(11, 6, 16, 30), at(11, 9, 9, 30), cal) == 2.0
    # Around the National Day holiday (10/1–10/7 off): 9/30 16:30 → 10/8 09:30 is also two hours.
    assert working_hours_between(at(9, 30, 16, 30), at(10, 8, 9, 30), cal) == 2.0
    # After close of business and before opening nothing counts; a 17:00 close shortens the day.
    assert working_hours_between(at(11, 2, 18, 0), at(11, 3, 8, 0), cal) == 0.0
    assert working_hours_between(at(11, 2, 8, 30), at(11, 2, 20, 0), cal, closes=dt.time(17, 0)) == 8.5
    assert working_hours_between(at(11, 3, 10, 0), at(11, 2, 10, 0), cal) == 0.0
    # Any zone in, China office hours counted: 02:00 UTC is 10:00 in China.
    assert working_hours_between(dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC), at(11, 2, 11, 0), cal) == 1.0


def test_the_definitions_name_every_term_once():
    terms = [t for t, _ in DEFINITIONS]
    assert terms == ["本期案件", "办件量", "即办", "转办", "在办", "按时答复", "超期答复", "超期未答复", "按时答复率",
                     "平均答复用时", "主动评价率", "满意率", "差评", "差评整改率", "当前超期"]
    assert all(text and len(text) < 80 for _, text in DEFINITIONS)


# ---------------------------------------------------------------------------------------------------------------
# The seeded month


@dataclass
class Seed:
    ctx: object
    ids: dict[str, uuid.UUID]
    people: dict


def _seed(ctx) -> Seed:
    """November 2026 at 幸福里 (the deadline is 2 working days at 17:30; no holidays in November):

    C1–C4 即办 (MZ-15, 居委会); F1–F4 and W1, P1, R1 on MZ-01 (民政, to 李建国); F5, F6 on CL-01 (残联 queue);
    X0 accepted on 10-31 at 23:00 and X1 on 12-01 at 00:10 (not of November); D1 a draft (no case of any period).
    """
    auth = AuthService(ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="mz", display_name="李建国", password="mzpass1", roles=["line"], lines=["民政"])
    people = {w.login: w for w, _ in auth.list_workers()}
    zhang = ResidentService(ctx).search("张桂兰")[0].id
    li = ResidentService(ctx).search("李秀英")[0].id
    cases = CaseService(ctx)
    desk, boss, mz = people["desk"], people["boss"], people["mz"]
    ids: dict[str, uuid.UUID] = {}

    def accept(name, item, when, who=desk, resident=zhang):
        cid = cases.create_draft(who, item, resident, at=when)
        cases.submit(who, cid, {"x": 1}, {"身份证": True}, at=when)
        ids[name] = cid
        return cid

    def act(who, name, action, when, **kwargs):
        return cases.transition(who, ids[name], action, kwargs, at=when)

    def resolved(name, when, who=desk, resident=zhang):
        accept(name, PROOF, when, who, resident)
        act(who, name, Action.RESOLVE, when + dt.timedelta(minutes=10), result_text="已出具证明")

    def forwarded(name, item, when, who=desk, to=mz, resident=zhang):
        accept(name, item, when, who, resident)
        cases.forward(who, ids[name], assignee_id=to.id if to else None, queue=item.department, at=when)

    def reply(name, when, result="approved"):
        act(mz, name, Action.REPLY, when, result=result, text="已办理")

    resolved("C1", at(11, 2, 9, 0))
    cases.rate(desk, ids["C1"], "very_satisfied", at=at(11, 2, 9, 12))
    resolved("C2", at(11, 3, 10, 0), who=boss, resident=li)
    cases.rate(boss, ids["C2"], "satisfied", at=at(11, 3, 10, 12))
    resolved("C3", at(11, 3, 11, 0))  # unrated
    resolved("C4", at(11, 30, 23, 30))  # the month's last evening: still November
    forwarded("F1", MZ, at(11, 2, 10, 0))  # due Wed 11-04 17:30
    cases.rate(desk, ids["F1"], "basic", at=at(11, 2, 10, 5))
    reply("F1", at(11, 3, 10, 30))  # on time; 7.5 + 2.0 = 9.5 working hours
    forwarded("F2", MZ, at(11, 6, 16, 30))  # Friday; due Tue 11-10 17:30
    cases.rate(desk, ids["F2"], "dissatisfied", reasons=["等候时间长"], at=at(11, 6, 16, 35))
    reply("F2", at(11, 9, 9, 30))  # on time; 1.0 + 1.0 = 2.0 hours
    act(boss, "F2", Action.FOLLOWUP_CALLBACK, at(11, 9, 10, 0), note="已致电居民")
    act(boss, "F2", Action.FOLLOWUP_FIX, at(11, 12, 10, 0), note="高峰增开窗口")
    forwarded("F3", MZ, at(11, 9, 9, 0))  # due Wed 11-11 17:30
    cases.rate(desk, ids["F3"], "very_dissatisfied", at=at(11, 9, 9, 5))  # call back by Tue 11-10 17:30: never
    reply("F3", at(11, 11, 17, 45))  # 15 minutes after close of business on the due day: late; 8.5 + 9 + 9 = 26.5 h
    forwarded("F4", MZ, at(11, 10, 9, 0))  # due Thu 11-12 17:30
    reply("F4", at(11, 12, 10, 0), result="need_more")  # on time; 8.5 + 9 + 1.5 = 19.0 hours
    cases.forward(desk, ids["F4"], assignee_id=mz.id, queue="民政", at=at(11, 12, 11, 0))  # due Mon 11-16: open
    act(boss, "F4", Action.REASSIGN, at(11, 13, 9, 0), assignee_id=mz.id, note="仍由李建国办理")  # no new clock
    forwarded("F5", CL, at(11, 25, 10, 0), to=None)  # the 残联 queue; due Fri 11-27 17:30: open and overdue
    forwarded("F6", CL, at(11, 30, 9, 0), who=boss, to=None)  # due Wed 12-02: open, not yet due
    cases.rate(boss, ids["F6"], "satisfied", at=at(11, 30, 9, 5))
    forwarded("W1", MZ, at(11, 17, 10, 0))
    cases.rate(desk, ids["W1"], "satisfied", at=at(11, 17, 10, 5))
    act(desk, "W1", Action.WITHDRAW, at(11, 18, 10, 0), note="居民撤回申请")
    accept("P1", MZ, at(11, 20, 10, 0), resident=li)  # accepted, waiting (容缺, set below)
    accept("R1", MZ, at(11, 19, 10, 0))
    act(desk, "R1", Action.REFUSE, at(11, 19, 10, 20), reason="不符合申领条件")
    forwarded("X0", MZ, at(10, 31, 23, 0))  # October: due Tue 11-03 17:30, never replied (overdue now)
    resolved("X1", at(12, 1, 0, 10))
    ids["D1"] = cases.create_draft(desk, MZ, zhang, at=at(11, 5, 9, 0))
    with ctx.sessions.begin() as s:  # 容缺 and 告知承诺 straight on the rows (their intake has its own tests)
        s.get_one(Case, ids["P1"]).acceptance_mode = "容缺受理"
        s.get_one(Case, ids["C2"]).acceptance_mode = "告知承诺制"
    return Seed(ctx, ids, people)


@pytest.fixture
def seed(desk_ctx) -> Seed:
    return _seed(desk_ctx)


def _report(s, breakdown=Breakdown.ITEM, committee_ids=None):
    return compute(s, period=NOV, breakdown=breakdown, now=NOW, calendar=calendar(), committee_ids=committee_ids)


# What the month gives, counted by hand from the seed's docstring and comments.
TOTAL = dict(
    cases=12, withdrawn=1, on_spot=4, forwarded=6, in_progress=2, deferred=1, pledge=1,
    forwardings=8,  # F1 F2 F3 F4×2 F5 F6 W1
    replied_on_time=3, replied_late=1,  # F1 F2 F4(first) / F3
    open_forwardings=3, open_overdue=2,  # F4(second) F5 F6 / F4 F5 (W1's ended by the withdrawal)
    on_time_rate=0.5,  # 3 / (3 + 1 + 2)
    avg_reply_hours=14.25,  # (9.5 + 2.0 + 26.5 + 19.0) / 4
    ratable=10, rated=6, rating_rate=0.6,  # W1's rating does not count: withdrawn
    levels={"very_satisfied": 1, "satisfied": 2, "basic": 1, "dissatisfied": 1, "very_dissatisfied": 1},
    satisfied=4, satisfaction_rate=4 / 6, bad=2, bad_fixed=1, followup_rate=0.5,
)


def test_the_month_total_matches_the_hand_count(seed):
    with seed.ctx.sessions() as s:
        r = _report(s)
    assert asdict(r.total) == TOTAL
    assert r.scope == "幸福里社区居民委员会" and r.period == NOV and r.computed_at == NOW


def test_overdue_now_is_of_any_period_and_lists_the_oldest_first(seed):
    with seed.ctx.sessions() as s:
        r = _report(s)
    assert r.overdue_now == 3  # X0 (October), F4 (re-forwarded), F5 (queue); F6 is not due yet
    assert [(o.case_id, o.assignee_name, o.due_at) for o in r.overdue] == [
        (seed.ids["X0"], "李建国", at(11, 3, 17, 30)), (seed.ids["F4"], "李建国", at(11, 16, 17, 30)),
        (seed.ids["F5"], "残联", at(11, 27, 17, 30))]
    assert r.overdue[0].item_name == "高龄老人尊老金申领" and r.overdue[0].remind_count == 0
    # F3's very bad rating was never called back (due Tue 11-10 17:30); F2's was fixed.
    assert [(f.case_id, f.stage, f.due_at, f.rating) for f in r.overdue_followups] == [
        (seed.ids["F3"], "callback", at(11, 10, 17, 30), "very_dissatisfied")]


def test_only_the_first_overdue_follow_ups_are_listed_in_next_deadline_order(seed):
    """A district has thousands of overdue follow-ups: the report lists the first ``overdue_limit`` by the deadline
    each works to now (the call-back until called, then the fix), read in that order by the query itself."""
    with seed.ctx.sessions.begin() as s:
        for name, called, callback_due, fix_due in (
                ("F1", None, at(11, 20, 17, 30), at(11, 28, 17, 30)),  # not called: works to 11-20
                ("F2", at(11, 5, 10), at(11, 4, 17, 30), at(11, 12, 17, 30)),  # called: works to the fix, 11-12
                ("F4", at(11, 6, 10), at(11, 5, 17, 30), at(12, 20, 17, 30))):  # fix not due yet: not overdue
            c = s.get(Case, seed.ids[name])
            c.rating, c.followup_fixed_at, c.followup_called_at = "dissatisfied", None, called
            c.followup_callback_due, c.followup_fix_due = callback_due, fix_due
    with seed.ctx.sessions() as s:
        listed = compute(s, period=NOV, breakdown=Breakdown.DAY, now=NOW, calendar=calendar(),
                         overdue_limit=2).overdue_followups
        every = _report(s).overdue_followups
    assert [(f.case_id, f.stage, f.due_at) for f in every] == [
        (seed.ids["F3"], "callback", at(11, 10, 17, 30)), (seed.ids["F2"], "fix", at(11, 12, 17, 30)),
        (seed.ids["F1"], "callback", at(11, 20, 17, 30))]
    assert listed == every[:2]


def test_a_reminder_is_counted_on_the_overdue_list(seed):
    boss = seed.people["boss"]
    CaseService(seed.ctx).remind(boss, seed.ids["F5"], "请尽快办理")
    with seed.ctx.sessions() as s:
        r = compute(s, period=NOV, breakdown=Breakdown.DAY, now=NOW, calendar=calendar(), overdue_limit=2)
    assert r.overdue_now == 3 and [o.case_id for o in r.overdue] == [seed.ids["X0"], seed.ids["F4"]]
    with seed.ctx.sessions() as s:
        r = compute(s, period=NOV, breakdown=Breakdown.DAY, now=NOW, calendar=calendar())
    assert r.overdue[-1].remind_count == 1 and r.overdue[-1].reminded_at is not None


def _rows(report):
    return {row.label: row.figures for row in report.rows}


def test_by_item(seed):
    with seed.ctx.sessions() as s:
        r = _report(s, Breakdown.ITEM)
    assert [(row.key, row.label) for row in r.rows] == [
        ("MZ-01", "高龄老人尊老金申领"), ("MZ-15", "居委会出具证明"), ("CL-01", "残疾人证新办")]
    mz, proof, cl = (_rows(r)[k] for k in ("高龄老人尊老金申领", "居委会出具证明", "残疾人证新办"))
    assert (mz.cases, mz.withdrawn, mz.forwarded, mz.in_progress, mz.deferred) == (6, 1, 4, 2, 1)
    assert (mz.forwardings, mz.replied_on_time, mz.replied_late) == (6, 3, 1)
    assert (mz.open_forwardings, mz.open_overdue) == (1, 1)
    assert mz.on_time_rate == 0.6 and mz.avg_reply_hours == 14.25
    # F1 (basic), F2 and F3 (bad); W1's rating does not count (withdrawn)
    assert (mz.rated, mz.bad, mz.bad_fixed, mz.satisfaction_rate) == (3, 2, 1, 1 / 3)
    assert (proof.cases, proof.on_spot, proof.pledge, proof.rated, proof.rating_rate) == (4, 4, 1, 2, 0.5)
    assert proof.on_time_rate is None and proof.avg_reply_hours is None and proof.followup_rate is None
    assert (cl.cases, cl.open_forwardings, cl.open_overdue, cl.on_time_rate, cl.rated) == (2, 2, 1, 0.0, 1)


def test_by_line_and_by_worker(seed):
    with seed.ctx.sessions() as s:
        lines = _report(s, Breakdown.LINE)
        workers = _report(s, Breakdown.WORKER)
    assert [(row.key, row.figures.cases) for row in lines.rows] == [("民政", 6), ("居委会", 4), ("残联", 2)]
    # The accepting worker: 周海燕 accepted C2 and F6, 王晓燕 all the others.
    assert [(row.label, row.figures.cases, row.figures.withdrawn) for row in workers.rows] == [
        ("王晓燕", 10, 1), ("周海燕", 2, 0)]
    assert workers.rows[1].key == str(seed.people["boss"].id)
    boss = workers.rows[1].figures
    assert (boss.on_spot, boss.forwarded, boss.pledge, boss.rated, boss.open_forwardings) == (1, 1, 1, 2, 1)


def test_by_day_and_the_chart_points(seed):
    with seed.ctx.sessions() as s:
        r = _report(s, Breakdown.DAY)
    assert len(r.rows) == 30 and r.rows[0].label == "11月1日" and r.rows[0].key == "2026-11-01"
    by_day = {row.key: row.figures for row in r.rows}
    assert (by_day["2026-11-02"].cases, by_day["2026-11-02"].on_spot, by_day["2026-11-02"].forwarded) == (2, 1, 1)
    assert by_day["2026-11-30"].cases == 2  # F6 at 09:00 and C4 at 23:30
    assert (by_day["2026-11-17"].cases, by_day["2026-11-17"].withdrawn) == (0, 1)
    assert sum(f.cases for f in by_day.values()) == 12
    points = {p.day.day: p for p in r.per_day}
    assert len(points) == 30 and (points[2].cases, points[2].on_spot, points[2].forwarded) == (2, 1, 1)
    # On-time rate by the day the deadline fell on: F1 (4th), F2 (10th), F4's first (12th) on time; F3 (11th)
    # late; F4's second (16th) and F5 (27th) overdue; W1's (19th) not judged; F6 is due in December.
    rates = {d: p.on_time_rate for d, p in points.items() if p.on_time_rate is not None}
    assert rates == {4: 1.0, 10: 1.0, 11: 0.0, 12: 1.0, 16: 0.0, 27: 0.0}


def test_the_ledger_rows(seed):
    with seed.ctx.sessions() as s:
        rows = list(ledger(s, period=NOV, now=NOW, batch=4))  # several batches
    numbers = {cid: s_case for cid, s_case in _numbers(seed).items()}
    by_name = {name: next(r for r in rows if r.case_number == numbers[seed.ids[name]]) for name in
               ("C1", "C3", "C4", "F1", "F3", "F4", "F5", "F6", "W1", "P1", "R1")}
    assert len(rows) == 13 and [r.accepted_at for r in rows] == sorted(r.accepted_at for r in rows)
    assert rows[0].case_number == numbers[seed.ids["C1"]] and rows[-1].case_number == numbers[seed.ids["C4"]]
    f3 = by_name["F3"]
    assert (f3.item_code, f3.applicant, f3.handling, f3.department, f3.handler) == (
        "MZ-01", "张*兰", "转办", "民政", "李建国")
    assert (f3.due_at, f3.replied_at, f3.overdue, f3.rating) == (
        at(11, 11, 17, 30), at(11, 11, 17, 45), "是", "非常不满意")
    assert f3.accepted_at == at(11, 9, 9, 0) and f3.committee == "幸福里社区居民委员会"
    c1 = by_name["C1"]
    assert (c1.handling, c1.handler, c1.due_at, c1.overdue, c1.rating) == ("即办", "王晓燕", None, "", "非常满意")
    assert by_name["C3"].rating == "未评价" and by_name["C4"].accepted_at == at(11, 30, 23, 30)
    assert (by_name["F1"].overdue, by_name["F1"].replied_at) == ("否", at(11, 3, 10, 30))
    f4 = by_name["F4"]  # the second forwarding: open past its deadline
    assert (f4.due_at, f4.replied_at, f4.overdue) == (at(11, 16, 17, 30), None, "是")
    assert (by_name["F5"].handler, by_name["F5"].overdue) == ("残联", "是")
    assert (by_name["F6"].handler, by_name["F6"].overdue) == ("残联", "")  # not due yet
    assert (by_name["W1"].handling, by_name["W1"].overdue) == ("撤回", "")
    p1 = by_name["P1"]
    assert (p1.handling, p1.acceptance_mode, p1.applicant) == ("在办", "容缺受理", "李*英")
    assert (by_name["R1"].handling, by_name["R1"].handler) == ("不予受理", "")
    assert not any("11010519491231002X" in str(asdict(r)) or "13800138000" in str(asdict(r)) for r in rows)


@pytest.mark.parametrize("breakdown", list(Breakdown))
def test_the_workbook_reading_counts_what_compute_counts(seed, breakdown):
    """The workbook reads the period once: the 台账 rows, then the report counted from them, equal to
    :func:`compute` and :func:`ledger` read apart."""
    with seed.ctx.sessions() as s:
        rows, report = ledger_with_report(s, period=NOV, breakdown=breakdown, now=NOW, calendar=calendar())
        with pytest.raises(RuntimeError):
            report()  # not before the rows are read
        listed = list(rows)
        assert listed == list(ledger(s, period=NOV, now=NOW)) and len(listed) == 13
        assert report() == _report(s, breakdown) and report() is report()


def test_an_old_month_counts_a_reply_that_came_long_after_it(seed):
    """November seen from March 2027: F4's second forwarding was replied in January, well past the weeks after
    the period that are read by time; the case was touched since, so its later events are read with it."""
    reply_at = dt.datetime(2027, 1, 20, 10, 0, tzinfo=CST)
    CaseService(seed.ctx).transition(seed.people["mz"], seed.ids["F4"], Action.REPLY,
                                     {"result": "approved", "text": "已办理"}, at=reply_at)
    # An offline desk's rating of the same case, pushed afterwards with its own earlier time, must not hide it.
    CaseService(seed.ctx).rate(seed.people["desk"], seed.ids["F4"], "satisfied", at=at(12, 2, 9, 0))
    later = dt.datetime(2027, 3, 1, 12, 0, tzinfo=CST)
    number = _numbers(seed)[seed.ids["F4"]]
    with seed.ctx.sessions() as s:
        total = compute(s, period=NOV, breakdown=Breakdown.ITEM, now=later, calendar=calendar()).total
        f4 = next(r for r in ledger(s, period=NOV, now=later) if r.case_number == number)
    assert (total.forwardings, total.replied_on_time, total.replied_late) == (8, 3, 2)  # F3 and F4's second
    assert (total.open_forwardings, total.open_overdue) == (2, 2)  # F5 and F6, both past due by March
    assert (f4.replied_at, f4.overdue) == (reply_at, "是")


def test_the_desk_reads_the_period_from_its_covering_indexes(seed):
    """The case rows and the events come from migration 0009's indexes alone (no table pages, no seek per
    case): what keeps a year's workbook within seconds at 150,000 cases."""
    seen: list[str] = []
    engine = seed.ctx.engine
    with seed.ctx.sessions() as s:
        dbapi = s.connection().connection.driver_connection
        dbapi.set_trace_callback(seen.append)  # what SQLite runs, values inline
        try:
            _report(s)
            list(ledger(s, period=NOV, now=NOW))
        finally:
            dbapi.set_trace_callback(None)
    seen = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]
    with engine.connect() as conn:
        plans = [" ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)) for sql in seen]
    assert sum("COVERING INDEX ix_desk_event_stats" in p for p in plans) == 2, plans  # figures and ledger
    # the figures; the ledger's rows and its applicants (masked once each)
    assert sum("COVERING INDEX ix_desk_case_stats" in p for p in plans) == 3, plans


def _numbers(seed) -> dict[uuid.UUID, str]:
    with seed.ctx.sessions() as s:
        return {cid: number for cid, number in s.execute(select(Case.id, Case.case_number))}


def test_another_committee_on_the_same_database_is_not_counted(seed):
    with seed.ctx.sessions.begin() as s:
        other = Committee(code="320302002", name="和平里社区居民委员会")
        s.add(other)
        s.flush()
        other_id = other.id
    with seed.ctx.sessions() as s:
        mine = _report(s, Breakdown.COMMITTEE, committee_ids=[seed.ctx.identity().committee_id])
        both = _report(s, Breakdown.COMMITTEE)
        theirs = _report(s, Breakdown.ITEM, committee_ids=[other_id])
    assert [row.label for row in mine.rows] == ["幸福里社区居民委员会"] and mine.total.cases == 12
    assert [(row.label, row.figures.cases) for row in both.rows] == [
        ("幸福里社区居民委员会", 12), ("和平里社区居民委员会", 0)]
    assert theirs.total.cases == 0 and theirs.rows == [] and theirs.overdue_now == 0
    assert theirs.total.on_time_rate is None and theirs.total.levels["satisfied"] == 0


# ---------------------------------------------------------------------------------------------------------------
# The same month on the district server's PostgreSQL


def _copy_rows(desk_session, server_session) -> None:
    """The desk's committee, workers, residents, cases and events, column for column, into the server."""
    for model in (Committee, Worker, Resident, Case, CaseEvent):
        cols = [c.key for c in model.__mapper__.column_attrs]
        rows = [{k: getattr(obj, k) for k in cols} for obj in desk_session.scalars(select(model))]
        if rows:
            server_session.execute(insert(model), rows)


def test_the_same_figures_on_postgresql(seed, server_db):
    with seed.ctx.sessions() as desk_s, server_db.sessions.begin() as server_s:
        _copy_rows(desk_s, server_s)
    assert server_db.dialect == "postgresql"
    with seed.ctx.sessions() as s:
        desk_reports = [_report(s, b) for b in Breakdown]
        desk_ledger = list(ledger(s, period=NOV, now=NOW))
    with server_db.sessions() as s:
        server_reports = [_report(s, b) for b in Breakdown]
        server_ledger = list(ledger(s, period=NOV, now=NOW, batch=5))
    assert asdict(server_reports[0].total) == TOTAL
    for desk_r, server_r in zip(desk_reports, server_reports, strict=True):
        assert asdict(server_r) == asdict(desk_r)
    assert [asdict(r) for r in server_ledger] == [asdict(r) for r in desk_ledger] and len(server_ledger) == 13
