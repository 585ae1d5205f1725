"""好差评 on the case (issue 16): one rating per round, never changed; a bad one opens the 站长's follow-up with
working-day deadlines; 催办 records a reminder. Through the desk's CaseService (core action + outbox row)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.core.commands import written_text
from app.core.ratings import FollowupStage, check_followup_days, followup_days
from app.desk.auth import AuthService
from app.desk.cases import CaseError, CaseService, ItemRef
from app.desk.residents import ResidentService
from models import Case, CaseEvent, Committee, OutboxEntry

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


def _forwarded(cases, people, resident, at):
    d, mz = people["desk"], people["mz"]
    cid = cases.create_draft(d, ITEM, resident.id, at=at)
    cases.submit(d, cid, {"x": 1}, {"身份证": True}, at=at)
    cases.forward(d, cid, assignee_id=mz.id, queue="民政", at=at)
    return cid


def _counts(ctx):
    with ctx.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (CaseEvent, OutboxEntry))


def test_a_rating_is_recorded_once_with_its_event_and_command(desk):
    cases, people, resident, ctx = desk
    at = dt.datetime(2026, 11, 10, 10, 0, tzinfo=CST)
    cid = _forwarded(cases, people, resident, at)
    d = people["desk"]
    detail = cases.rate(d, cid, "satisfied", at=at + dt.timedelta(minutes=2))
    assert detail.rating.label == "满意" and detail.rating.followup_stage is None
    assert detail.events[-1].action_label == "评价" and detail.events[-1].note == "评价：满意"
    before = _counts(ctx)
    with pytest.raises(CaseError, match="已评价，评价提交后不能修改"):
        cases.rate(d, cid, "very_dissatisfied")
    assert _counts(ctx) == before
    with ctx.sessions() as s:
        names = [o.name for o in s.scalars(select(OutboxEntry).order_by(OutboxEntry.mid))]
    assert names[-1] == "case.rate.v1"


def test_a_draft_cannot_be_rated_and_an_unknown_level_or_reason_is_refused(desk):
    cases, people, resident, ctx = desk
    d = people["desk"]
    cid = cases.create_draft(d, ITEM, resident.id)
    with pytest.raises(CaseError, match="不能执行"):
        cases.rate(d, cid, "satisfied")
    at = dt.datetime(2026, 11, 10, 10, 0, tzinfo=CST)
    cid = _forwarded(cases, people, resident, at)
    before = _counts(ctx)
    with pytest.raises(CaseError, match="请选择评价等级"):
        cases.rate(d, cid, "great")
    with pytest.raises(CaseError, match="评价原因不在可选范围内"):
        cases.rate(d, cid, "dissatisfied", reasons=["不喜欢"])
    assert _counts(ctx) == before


def test_a_bad_rating_opens_a_followup_on_working_days(desk):
    cases, people, resident, _ctx = desk
    d, boss = people["desk"], people["boss"]
    # Friday 2026-10-30 afternoon: call back by the next working day (Mon 11-02), fix within 15 working days.
    at = dt.datetime(2026, 10, 30, 15, 0, tzinfo=CST)
    cid = _forwarded(cases, people, resident, at)
    detail = cases.rate(d, cid, "very_dissatisfied", reasons=["等候时间长", "等候时间长"], comment="排队一小时", at=at)
    r = detail.rating
    assert r.followup_stage == FollowupStage.CALLBACK and r.reasons == ["等候时间长"] and r.note == "排队一小时"
    assert r.callback_due == dt.datetime(2026, 11, 2, 17, 30, tzinfo=CST)
    assert r.fix_due == dt.datetime(2026, 11, 20, 17, 30, tzinfo=CST)
    with pytest.raises(CaseError, match="需要以下角色"):
        cases.followup_callback(d, cid, "已电话联系")
    with pytest.raises(CaseError, match="请先记录回访情况"):
        cases.followup_fix(boss, cid, "调整窗口")
    with pytest.raises(CaseError, match="请填写回访情况"):
        cases.followup_callback(boss, cid, "  ")
    assert cases.followup_callback(boss, cid, "已电话联系居民，致歉").rating.followup_stage == FollowupStage.FIX
    with pytest.raises(CaseError, match="差评整改完成后才能再次评价"):
        cases.rate(d, cid, "satisfied", round=2, channel="phone")
    detail = cases.followup_fix(boss, cid, "高峰时段增开一个窗口")
    assert detail.rating.followup_stage == FollowupStage.DONE and detail.rating.next_round == 2
    detail = cases.rate(boss, cid, "satisfied", round=2, channel="phone")
    assert detail.rating.second_label == "满意" and detail.rating.label == "非常不满意"
    with pytest.raises(CaseError, match="已再次评价"):
        cases.rate(boss, cid, "very_satisfied", round=2, channel="phone")


def test_followup_days_come_from_the_district_settings(desk):
    cases, people, resident, ctx = desk
    with ctx.sessions.begin() as s:
        com = s.get_one(Committee, ctx.identity().committee_id)
        com.settings = {**(com.settings or {}), "followup": {"callback_days": 2, "fix_days": 10}}
    at = dt.datetime(2026, 10, 30, 15, 0, tzinfo=CST)
    cid = _forwarded(cases, people, resident, at)
    r = cases.rate(people["desk"], cid, "dissatisfied", at=at).rating
    assert r.callback_due == dt.datetime(2026, 11, 3, 17, 30, tzinfo=CST)
    assert r.fix_due == dt.datetime(2026, 11, 13, 17, 30, tzinfo=CST)


def test_followup_settings_are_checked():
    assert followup_days(None).callback_days == 1 and followup_days({}).fix_days == 15
    assert followup_days({"followup": {"callback_days": "x"}}).callback_days == 1
    with pytest.raises(Exception, match="整改期限不能短于回访期限"):
        check_followup_days(5, 2)
    with pytest.raises(Exception, match="1 到 60"):
        check_followup_days(0, 15)


def test_remind_records_a_reminder_for_the_assignee(desk):
    cases, people, resident, ctx = desk
    at = dt.datetime(2026, 11, 10, 10, 0, tzinfo=CST)
    cid = _forwarded(cases, people, resident, at)
    with pytest.raises(CaseError, match="需要以下角色"):
        cases.remind(people["mz"], cid)
    detail = cases.remind(people["boss"], cid)
    detail = cases.remind(people["boss"], cid, "居民来电询问进度")
    assert detail.remind_count == 2
    assert [e.note for e in detail.events[-2:]] == ["请尽快答复", "居民来电询问进度"]
    with ctx.sessions() as s:
        assert s.get_one(Case, cid).remind_count == 2


def test_a_refused_rating_keeps_the_residents_words():
    """A rating the server sets aside keeps the comment for the worker, like a reply keeps its text."""
    assert written_text({"case_id": "x", "level": "dissatisfied", "comment": " 等了很久 "}) == "等了很久"
    assert written_text({"note": "已致电", "comment": "x"}) == "已致电"
    assert written_text({"level": "satisfied"}) == "" and written_text(None) == ""
