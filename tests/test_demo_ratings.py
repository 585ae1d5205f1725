"""The demo's 好差评 (issue 16): every rating state is there, made through the real CaseService.rate and follow-up
actions (events + outbox commands), and each case's history still runs forward in time."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select

from app.core import ratings
from app.core.vocabulary import Action, Mutation, RatingLevel, State
from app.desk.cases import CaseService
from models import Case, CaseEvent, OutboxEntry


def _cases(ctx) -> list[Case]:
    with ctx.sessions() as s:
        return list(s.scalars(select(Case)))


def test_several_cases_of_each_good_level_and_finished_cases_left_unrated(demo_ctx):
    cases = _cases(demo_ctx)
    levels = Counter(c.rating for c in cases if c.rating)
    for level in (RatingLevel.VERY_SATISFIED, RatingLevel.SATISFIED, RatingLevel.BASIC):
        assert levels[level] >= 2, level
    finished = {State.RESOLVED, State.CLOSED}
    assert [c for c in cases if c.state in finished and c.rating is None], "a finished case reads 未评价"
    basic = [c for c in cases if c.rating == RatingLevel.BASIC]
    assert all(c.rating_reasons for c in basic)  # a low rating carries the reasons the resident ticked
    detail = CaseService(demo_ctx).get(next(c.id for c in cases if c.state in finished and c.rating is None))
    assert detail.rating.level is None


def test_a_bad_rating_at_each_stage_of_its_follow_up(demo_ctx):
    now = demo_ctx.now()
    bad = [c for c in _cases(demo_ctx) if ratings.is_bad(c.rating)]
    stages = {ratings.followup_stage(c): c for c in bad}
    assert set(stages) == {ratings.FollowupStage.CALLBACK, ratings.FollowupStage.FIX, ratings.FollowupStage.DONE}
    overdue_callback = stages[ratings.FollowupStage.CALLBACK]
    assert ratings.followup_overdue(overdue_callback, now)  # the call-back is late: it surfaces as overdue
    waiting = stages[ratings.FollowupStage.FIX]
    assert waiting.followup_call_note and not ratings.followup_overdue(waiting, now)
    done = stages[ratings.FollowupStage.DONE]
    assert done.followup_fix_note and done.second_rating == RatingLevel.SATISFIED
    assert done.rated_at < done.followup_called_at < done.followup_fixed_at < done.second_rated_at <= now


def test_an_overdue_forwarded_case_was_reminded_once(demo_ctx):
    now = demo_ctx.now()
    reminded = [c for c in _cases(demo_ctx) if c.remind_count]
    assert len(reminded) == 1
    c = reminded[0]
    assert c.state == State.FORWARDED and c.due_at < now and c.remind_count == 1
    with demo_ctx.sessions() as s:
        actions = [e.action for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == c.id))]
    assert actions.count(Action.REMIND) == 1


def test_ratings_are_events_with_their_commands_and_histories_run_forward(demo_ctx):
    with demo_ctx.sessions() as s:
        events = list(s.scalars(select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.seq)))
        outbox = Counter(o.name for o in s.scalars(select(OutboxEntry)))
    rate_events = [e for e in events if e.action == Action.RATE]
    assert len(rate_events) == sum(1 for c in _cases(demo_ctx) if c.rating) + 1  # + one second rating
    assert outbox[Mutation.CASE_RATE] == len(rate_events)
    assert outbox[Mutation.CASE_FOLLOWUP_CALLBACK] == 2 and outbox[Mutation.CASE_FOLLOWUP_FIX] == 1
    assert outbox[Mutation.CASE_REMIND] == 1
    by_case: dict = {}
    for e in events:
        by_case.setdefault(e.case_id, []).append(e.at)
    for times in by_case.values():
        assert times == sorted(times)
    now = demo_ctx.now() + dt.timedelta(seconds=1)
    assert all(e.at <= now for e in events)

