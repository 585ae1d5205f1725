"""The case state machine: every legal transition works, every illegal one raises and changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from app.core import machine as cm
from models import Case

ALL_ROLES = ("front_desk", "line", "supervisor", "admin")
NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def _case(state: str | None) -> Case:
    c = Case(state=state or "", version=1)
    c.events = []
    return c


LEGAL = [(s, t.action) for t in cm.TRANSITIONS.values() for s in sorted(t.sources, key=str)]
ILLEGAL = [(s, a) for a in cm.TRANSITIONS for s in (None, *cm.STATES) if s not in cm.TRANSITIONS[a].sources]


@pytest.mark.parametrize("state,action", LEGAL, ids=[f"{s}-{a}" for s, a in LEGAL])
def test_legal_transition_appends_event(state, action):
    case = _case(state)
    note = "原因" if action in cm.REASON_REQUIRED else ""
    ev = cm.apply_transition(case, action, worker_id=uuid.uuid4(), roles=ALL_ROLES, at=NOW, note=note)
    target = cm.TRANSITIONS[action].target or state
    assert case.state == target
    assert (ev.from_state, ev.to_state, ev.action, ev.seq) == (state, target, action, 1)
    assert case.events == [ev]


@pytest.mark.parametrize("state,action", ILLEGAL, ids=[f"{s}-{a}" for s, a in ILLEGAL])
def test_illegal_transition_raises_and_changes_nothing(state, action):
    case = _case(state)
    with pytest.raises(cm.TransitionError) as err:
        cm.apply_transition(case, action, worker_id=None, roles=ALL_ROLES, at=NOW, note="x")
    assert "不能执行" in str(err.value)
    assert case.state == (state or "") and case.events == [] and case.version == 1


def test_closed_case_stays_closed_except_supervisor_reopen_with_reason():
    case = _case(cm.CLOSED)
    for action in ("forward", "reply", "close", "accept", "resolve", "refuse", "withdraw"):
        with pytest.raises(cm.TransitionError):
            cm.apply_transition(case, action, worker_id=None, roles=ALL_ROLES, at=NOW)
    with pytest.raises(cm.TransitionError, match="需要以下角色"):
        cm.apply_transition(case, "reopen", worker_id=None, roles=("front_desk",), at=NOW, note="原因")
    with pytest.raises(cm.TransitionError, match="必须填写原因"):
        cm.apply_transition(case, "reopen", worker_id=None, roles=("supervisor",), at=NOW, note=" ")
    assert case.state == cm.CLOSED and not case.events
    cm.apply_transition(case, "reopen", worker_id=None, roles=("supervisor",), at=NOW, note="居民补充了新证据")
    assert case.state == cm.ACCEPTED


@pytest.mark.parametrize("action,roles", [("reply", ("front_desk",)), ("reassign", ("front_desk", "line")),
                                          ("acknowledge", ("front_desk",)), ("forward", ("line",))])
def test_role_checks(action, roles):
    case = _case(cm.FORWARDED if action != "forward" else cm.ACCEPTED)
    with pytest.raises(cm.TransitionError, match="需要以下角色"):
        cm.apply_transition(case, action, worker_id=None, roles=roles, at=NOW)


def test_unknown_action():
    with pytest.raises(cm.TransitionError, match="未知"):
        cm.check_transition(cm.ACCEPTED, "explode", ALL_ROLES)


def test_event_sequence_increments():
    case = _case(None)
    for action in ("create_draft", "accept", "forward", "acknowledge", "reply", "close"):
        cm.apply_transition(case, action, worker_id=None, roles=ALL_ROLES, at=NOW)
    assert [e.seq for e in case.events] == [1, 2, 3, 4, 5, 6]
    assert case.state == cm.CLOSED
