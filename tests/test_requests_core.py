"""The 诉求 rules of app/core (issue 20): the 24-hour clock at its edges (calendar hours: across midnight, a
weekend and a holiday count like any hour), the categories, and the request actions through the shared core
(desk and server alike): what each records, and what each refuses."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest

from app.core import actions, commands
from app.core.machine import REQUEST_TRANSITIONS, TransitionError, available_actions, check_transition
from app.core.request_actions import FEEDBACK_TEXT_REQUIRED, RequestRefused
from app.core.requests import (
    REQUEST_CATEGORIES,
    category_label,
    feedback_due,
    feedback_judged,
    property_feedback_text,
    request_categories,
    request_clock,
)
from app.core.vocabulary import CHINA_TZ, Action, CaseKind, Role, State
from models import Case

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


def china(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA_TZ)


def open_request(intake: dt.datetime, **kw) -> SimpleNamespace:
    fields = dict(state=State.ACCEPTED, accepted_at=intake, feedback_due_at=feedback_due(intake),
                  first_feedback_at=None, promised_at=None)
    fields.update(kw)
    return SimpleNamespace(**fields)


# ----- the clock ------------------------------------------------------------------------------------------
INTAKE = china(2026, 12, 2, 10, 0)  # a Wednesday


@pytest.mark.parametrize("elapsed,level,label", [
    (dt.timedelta(0), "ok", "剩余 24 小时"),
    (19 * H + 59 * M, "ok", "剩余 4 小时"),  # 4 h 1 min left: not yet yellow
    (20 * H, "soon", "剩余 4 小时"),  # exactly 4 h left: yellow
    (23 * H + 25 * M, "soon", "剩余 35 分钟"),
    (23 * H + 59 * M, "soon", "剩余 1 分钟"),
    (23 * H + 59 * M + dt.timedelta(seconds=30), "soon", "剩余不到 1 分钟"),
    (24 * H, "overdue", "已到期"),  # the 24 hours are over at exactly 24 h
    (24 * H + 59 * M, "overdue", "已超时 59 分钟"),
    (26 * H + 10 * M, "overdue", "已超时 2 小时"),
])
def test_the_clock_at_its_edges(elapsed, level, label):
    clock = request_clock(open_request(INTAKE), INTAKE + elapsed)
    assert (clock.level, clock.label) == (level, label)
    assert clock.hours_left == pytest.approx(24 - elapsed / H)
    assert clock.due_at == INTAKE + 24 * H


def test_the_24_hours_run_across_midnight():
    intake = china(2026, 12, 2, 22, 30)
    assert feedback_due(intake) == china(2026, 12, 3, 22, 30)
    assert request_clock(open_request(intake), china(2026, 12, 3, 0, 30)).label == "剩余 22 小时"
    assert request_clock(open_request(intake), china(2026, 12, 3, 19, 0)).level == "soon"


def test_a_weekend_counts_like_any_hours():
    friday = china(2026, 12, 4, 16, 0)
    assert feedback_due(friday) == china(2026, 12, 5, 16, 0)  # Saturday, not Monday: hours, not working days
    assert request_clock(open_request(friday), china(2026, 12, 5, 12, 0)).level == "soon"
    assert request_clock(open_request(friday), china(2026, 12, 7, 9, 0)).label == "已超时 41 小时"


def test_a_holiday_counts_like_any_hours():
    eve = china(2026, 9, 30, 18, 0)  # the day before 国庆节
    assert feedback_due(eve) == china(2026, 10, 1, 18, 0)
    assert request_clock(open_request(eve), china(2026, 10, 2, 18, 0)).label == "已超时 24 小时"


def test_after_the_first_feedback_the_clock_counts_to_the_promised_time():
    fed = open_request(INTAKE, state=State.IN_PROGRESS, first_feedback_at=INTAKE + 2 * H)
    assert request_clock(fed, INTAKE + 30 * H).level == "done"
    assert request_clock(fed, INTAKE + 30 * H).label == "已反馈"
    promised = open_request(INTAKE, state=State.IN_PROGRESS, first_feedback_at=INTAKE + 2 * H,
                            promised_at=INTAKE + 48 * H)
    assert request_clock(promised, INTAKE + 40 * H).label == "承诺剩余 8 小时"
    assert request_clock(promised, INTAKE + 45 * H).level == "soon"
    late = request_clock(promised, INTAKE + 51 * H)
    assert (late.level, late.label) == ("overdue", "超过承诺 3 小时")


@pytest.mark.parametrize("state", [State.CLOSED, State.WITHDRAWN, State.DRAFT])
def test_a_finished_request_has_no_countdown(state):
    clock = request_clock(open_request(INTAKE, state=state), INTAKE + 30 * H)
    assert clock.level == "done" and clock.hours_left == 0


def test_feedback_judged_within_24_hours():
    assert feedback_judged(open_request(INTAKE, first_feedback_at=INTAKE + 24 * H), INTAKE) is True
    assert feedback_judged(open_request(INTAKE, first_feedback_at=INTAKE + 24 * H + M), INTAKE) is False
    assert feedback_judged(open_request(INTAKE), INTAKE + 23 * H) is None  # still running
    assert feedback_judged(open_request(INTAKE), INTAKE + 24 * H) is False  # ended without feedback
    assert feedback_judged(open_request(INTAKE, state=State.WITHDRAWN), INTAKE + 30 * H) is None


def test_categories_default_and_from_a_catalog():
    assert [c for c, _ in REQUEST_CATEGORIES] == ["property", "sanitation", "dispute", "safety", "facility", "other"]
    assert request_categories(None) == list(REQUEST_CATEGORIES)
    own = SimpleNamespace(request_categories=[("parking", "停车管理")])
    assert request_categories(own) == [("parking", "停车管理")]
    assert category_label("parking", own) == "停车管理" and category_label("dispute", own) == "邻里纠纷"
    assert category_label("gone", own) == "gone"


def test_the_property_feedback_text():
    promised = china(2026, 12, 5, 17, 0)
    expected = "已联系安居物业（电话 025-8888），承诺12月5日 17:00前处理"
    assert property_feedback_text("安居物业", "025-8888", promised) == expected
    assert property_feedback_text("", "", None) == "已联系物业"


# ----- the actions, through the shared core -----------------------------------------------------------------
LEADER = SimpleNamespace(id=uuid.uuid4(), roles=("line",), lines=("民政",))
DESK = actions.Actor(id=uuid.uuid4(), roles=(Role.FRONT_DESK,))
BOSS = actions.Actor(id=uuid.uuid4(), roles=(Role.SUPERVISOR,))
STRANGER = actions.Actor(id=uuid.uuid4(), roles=(Role.FRONT_DESK,))
ENV = actions.SimpleEnv(colleagues=lambda wid: LEADER if wid == LEADER.id else None)
AT = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)


def _draft(kind: str = CaseKind.REQUEST) -> Case:
    cmd = commands.CreateCaseArgs(id=uuid.uuid4(), case_number="320302001-D01-20261202-0001", item_code="SQ",
                                  item_name="诉求·物业维修", mode="诉求", kind=kind)
    return actions.create_case(cmd, committee_id=uuid.uuid4(), actor=DESK, at=AT, env=ENV)


def _cmd(action: Action, case: Case, **kw):
    return commands.ARGS[action](case_id=case.id, **kw)


def _registered() -> Case:
    case = _draft()
    actions.perform(case, Action.REGISTER_REQUEST, _cmd(Action.REGISTER_REQUEST, case, category="property",
                                                        place="幸福路100弄", description="漏水",
                                                        contact_phone="139", assignee_id=LEADER.id),
                    actor=DESK, at=AT, env=ENV)
    return case


def test_register_records_the_request_and_starts_the_clock():
    case = _registered()
    assert (case.kind, case.state, case.assignee_id) == ("request", "accepted", LEADER.id)
    assert case.accepted_at == AT and case.feedback_due_at == AT + 24 * H and case.urgency == "normal"
    assert case.data == {"description": "漏水", "place": "幸福路100弄", "contact_name": "", "contact_phone": "139",
                         "anonymous": False}
    assert case.events[-1].action == "register_request" and case.events[-1].note == "漏水"


@pytest.mark.parametrize("kw,message", [
    ({"description": " "}, "请填写诉求内容"),
    ({"place": ""}, "请填写诉求地点"),
    ({"anonymous": True, "contact_phone": ""}, "匿名诉求须留联系电话"),
    ({"urgency": "panic"}, "紧急程度只能是"),
    ({"assignee_id": uuid.uuid4()}, "所选负责人（块长）不存在"),
])
def test_register_refusals_touch_nothing(kw, message):
    case = _draft()
    args = dict(category="property", place="幸福路", description="漏水", contact_phone="139",
                assignee_id=LEADER.id)
    args.update(kw)
    with pytest.raises(RequestRefused, match=message):
        actions.perform(case, Action.REGISTER_REQUEST, _cmd(Action.REGISTER_REQUEST, case, **args), actor=DESK,
                        at=AT, env=ENV)
    assert case.state == "draft" and case.accepted_at is None and len(case.events) == 1


def test_feedback_and_close_through_the_core():
    case = _registered()
    with pytest.raises(RequestRefused) as blank:
        actions.perform(case, Action.GIVE_FEEDBACK, _cmd(Action.GIVE_FEEDBACK, case, channel="phone", text=""),
                        actor=LEADER, at=AT + H, env=ENV)
    assert str(blank.value) == FEEDBACK_TEXT_REQUIRED and case.first_feedback_at is None
    with pytest.raises(TransitionError, match="只有负责人（块长）、登记人、站长或管理员"):
        actions.perform(case, Action.GIVE_FEEDBACK, _cmd(Action.GIVE_FEEDBACK, case, channel="phone", text="收到"),
                        actor=STRANGER, at=AT + H, env=ENV)
    actions.perform(case, Action.GIVE_FEEDBACK, _cmd(Action.GIVE_FEEDBACK, case, channel="phone", text="明天修",
                                                     promised_at=AT + 30 * H), actor=LEADER, at=AT + H, env=ENV)
    assert (case.state, case.first_feedback_at, case.promised_at) == ("in_progress", AT + H, AT + 30 * H)
    actions.perform(case, Action.CLOSE_REQUEST, _cmd(Action.CLOSE_REQUEST, case, result_text="修好了",
                                                     channel="sms"), actor=BOSS, at=AT + 5 * H, env=ENV)
    assert (case.state, case.closed_at, case.first_feedback_at, case.feedback_channel) == (
        "closed", AT + 5 * H, AT + H, "sms")


def test_the_kinds_do_not_mix():
    request, service = _registered(), _draft(CaseKind.SERVICE)
    with pytest.raises(TransitionError, match="诉求不能执行“转办”"):
        check_transition(request.state, Action.FORWARD, DESK.roles, request.kind)
    with pytest.raises(TransitionError, match="诉求不能执行“当场办结”"):
        actions.perform(request, Action.RESOLVE, _cmd(Action.RESOLVE, request, result_text="x"), actor=DESK, at=AT,
                        env=ENV)
    with pytest.raises(TransitionError, match="“诉求登记”只用于诉求"):
        actions.perform(service, Action.REGISTER_REQUEST, _cmd(Action.REGISTER_REQUEST, service, category="other",
                                                               place="x", description="x", contact_phone="1"),
                        actor=DESK, at=AT, env=ENV)
    assert {o.action for o in available_actions(request, LEADER)} == {
        Action.GIVE_FEEDBACK, Action.HAND_OVER, Action.CLOSE_REQUEST, Action.WITHDRAW}
    assert available_actions(request, STRANGER) == []
    assert set(REQUEST_TRANSITIONS) >= {Action.REGISTER_REQUEST, Action.REASSIGN, Action.WITHDRAW, Action.NOTE}
    with pytest.raises(TransitionError, match="诉求当前状态为“待反馈”，不能执行“诉求登记”"):
        check_transition(request.state, Action.REGISTER_REQUEST, DESK.roles, request.kind)
