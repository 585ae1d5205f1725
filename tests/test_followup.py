"""差评回访 in the worklist (issue 16): the 站长's 差评回访 tab in the order of the next deadline (call-back, then
fix), working-day countdowns at the edges, overdue follow-ups in the supervisor's 已超期 list and reminder count,
done ones gone; 催办 shown in the assignee's 转给我的 rows."""

from __future__ import annotations

import datetime as dt

import pytest

from app.core.vocabulary import Action
from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.desk.residents import ResidentService
from app.desk.worklist import WorklistService

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")
CST = dt.timezone(dt.timedelta(hours=8))
FRIDAY = dt.datetime(2026, 11, 20, 10, 0, tzinfo=CST)


@pytest.fixture
def desk(desk_ctx):
    auth = AuthService(desk_ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="mz", display_name="李建国", password="mzpass1", roles=["line"], lines=["民政"])
    people = {w.login: w for w, _ in auth.list_workers()}
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    return CaseService(desk_ctx), WorklistService(desk_ctx), people, resident


def _rated(cases, people, resident, at, level):
    """A case resolved at the desk at ``at`` and rated ``level`` by the resident a minute later."""
    d = people["desk"]
    cid = cases.create_draft(d, ITEM, resident.id, at=at)
    cases.submit(d, cid, {"x": 1}, {"身份证": True}, at=at)
    cases.transition(d, cid, Action.RESOLVE, {"result_text": "当场办结"}, at=at)
    cases.rate(d, cid, level, at=at + dt.timedelta(minutes=1))
    return cid


def test_followup_tab_lists_open_followups_by_next_deadline(desk):
    cases, wl, people, resident = desk
    boss = people["boss"]
    late = _rated(cases, people, resident, dt.datetime(2026, 11, 18, 9, 0, tzinfo=CST), "dissatisfied")  # due Thu
    today = _rated(cases, people, resident, dt.datetime(2026, 11, 19, 9, 0, tzinfo=CST), "very_dissatisfied")
    fixing = _rated(cases, people, resident, dt.datetime(2026, 11, 17, 9, 0, tzinfo=CST), "dissatisfied")
    cases.followup_callback(boss, fixing, "已电话联系居民，说明情况")  # now the fix is owed (due 12-08)
    done = _rated(cases, people, resident, dt.datetime(2026, 11, 16, 9, 0, tzinfo=CST), "dissatisfied")
    cases.followup_callback(boss, done, "已回访")
    cases.followup_fix(boss, done, "已整改")
    _rated(cases, people, resident, dt.datetime(2026, 11, 19, 9, 0, tzinfo=CST), "satisfied")

    rows = wl.page("followup", boss, now=FRIDAY)
    assert [r.id for r in rows] == [late, today, fixing] and wl.count("followup", boss, now=FRIDAY) == 3
    assert [r.followup for r in rows] == ["待回访", "待回访", "待整改"]
    assert [r.state_label for r in rows] == ["待回访（不满意）", "待回访（非常不满意）", "待整改（不满意）"]
    assert rows[0].urgency == "overdue" and rows[0].countdown == "已超期 1 个工作日"
    assert rows[1].urgency == "due_today" and rows[1].countdown == "今日到期"
    assert rows[1].due_at == dt.datetime(2026, 11, 20, 17, 30, tzinfo=CST)
    assert rows[2].urgency == "" and rows[2].due_at == dt.datetime(2026, 12, 8, 17, 30, tzinfo=CST)
    assert rows[2].countdown == "剩余 12 个工作日"
    assert [r.id for r in wl.page("followup", boss, now=FRIDAY, descending=True)] == [fixing, today, late]
    assert [r.id for r in wl.page("followup", boss, now=FRIDAY, offset=1, limit=1)] == [today]
    assert [r.id for r in wl.page("followup", boss, now=FRIDAY, text="不存在的")] == []

    # After close of business on its due day the call-back is late, though not by a working day yet.
    evening = dt.datetime(2026, 11, 20, 17, 31, tzinfo=CST)
    row = next(r for r in wl.page("followup", boss, now=evening) if r.id == today)
    assert row.urgency == "overdue" and row.countdown == "已超期（今日 17:30 截止）"
    cases.followup_callback(boss, today, "已回访")
    cases.followup_fix(boss, today, "已整改")
    assert today not in [r.id for r in wl.page("followup", boss, now=evening)]


def test_followups_reach_the_supervisors_lists_only(desk):
    cases, wl, people, resident = desk
    boss, d, admin, mz = people["boss"], people["desk"], people["admin"], people["mz"]
    late = _rated(cases, people, resident, dt.datetime(2026, 11, 18, 9, 0, tzinfo=CST), "dissatisfied")
    today = _rated(cases, people, resident, dt.datetime(2026, 11, 19, 9, 0, tzinfo=CST), "dissatisfied")
    assert "followup" in wl.tabs_for(boss) and "followup" in wl.tabs_for(admin)
    assert "followup" not in wl.tabs_for(d) and "followup" not in wl.tabs_for(mz)
    assert wl.count("followup", d, now=FRIDAY) == 0 and wl.count("followup", admin, now=FRIDAY) == 2

    overdue = wl.page("overdue", boss, now=FRIDAY)
    assert [r.id for r in overdue] == [late]
    assert overdue[0].countdown == "待回访：已超期 1 个工作日" and overdue[0].urgency == "overdue"
    assert overdue[0].state_label == "当场办结（差评待回访）"
    due = wl.page("due_today", boss, now=FRIDAY)
    assert [r.id for r in due] == [today] and due[0].countdown == "待回访：今日到期"
    assert wl.reminder(boss, now=FRIDAY) == (1, 1)
    assert wl.reminder(d, now=FRIDAY) == (0, 0)  # the front desk's lists are its own forwarded cases
    cases.followup_callback(boss, late, "已电话联系")  # the fix is owed now, in 15 working days
    assert wl.reminder(boss, now=FRIDAY) == (1, 0) and wl.page("overdue", boss, now=FRIDAY) == []


def test_a_reminder_shows_in_the_assignees_rows(desk):
    cases, wl, people, resident = desk
    d, mz, boss = people["desk"], people["mz"], people["boss"]
    cid = cases.create_draft(d, ITEM, resident.id, at=FRIDAY)
    cases.submit(d, cid, {"x": 1}, {"身份证": True}, at=FRIDAY)
    cases.forward(d, cid, assignee_id=mz.id, queue="民政", at=FRIDAY)
    assert "催办" not in wl.page("mine", mz, now=FRIDAY)[0].countdown
    cases.remind(boss, cid, "居民来电询问进度")
    cases.remind(d, cid)
    row = wl.page("mine", mz, now=FRIDAY)[0]
    assert row.remind_count == 2 and row.reminded_at is not None
    assert row.countdown == "剩余 2 个工作日（已催办 2 次）"
