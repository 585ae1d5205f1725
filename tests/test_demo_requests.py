"""The demo's 块区 and 诉求 (issue 20): three blocks whose 块长 are demo workers and whose addresses the demo residents
live at; requests in every state, made through RequestService (events and outbox commands), each history forward
in time; the statistics and the 诉求受理单 read them."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select

from app.core.blocks import block_for_address
from app.core.request_stats import compute_requests
from app.core.requests import request_clock
from app.core.stats import Period
from app.core.vocabulary import CHINA_TZ, Mutation, State
from app.desk.blocks import BlockService
from app.desk.printing.service import PrintService
from models import Case, CaseEvent, OutboxEntry, Resident, Worker


def _requests(ctx) -> list[Case]:
    with ctx.sessions() as s:
        return list(s.scalars(select(Case).where(Case.kind == "request").order_by(Case.accepted_at)))


def test_blocks_have_demo_leaders_and_cover_the_residents(demo_ctx):
    blocks = BlockService(demo_ctx).get()
    assert [b.code for b in blocks] == ["A1", "A2", "A3"]
    with demo_ctx.sessions() as s:
        names = {w.id: w.display_name for w in s.scalars(select(Worker))}
        addresses = list(s.scalars(select(Resident.address)))
    assert [names[b.leader_id] for b in blocks if b.leader_id] == ["孙丽", "李建国", "吴建平"]
    assert all(block_for_address(blocks, a) is not None for a in addresses)  # every demo resident has a block
    with demo_ctx.sessions() as s:
        assert s.scalar(select(OutboxEntry).where(OutboxEntry.name == Mutation.COMMITTEE_BLOCKS)) is not None


def test_requests_in_every_state(demo_ctx):
    now = demo_ctx.now()
    requests = _requests(demo_ctx)
    states = Counter(c.state for c in requests)
    assert states[State.ACCEPTED] >= 3 and states[State.IN_PROGRESS] >= 2 and states[State.CLOSED] >= 2
    assert states[State.WITHDRAWN] == 1
    levels = Counter(request_clock(c, now).level for c in requests if c.state in (State.ACCEPTED, State.IN_PROGRESS))
    assert levels["ok"] >= 1 and levels["soon"] >= 1 and levels["overdue"] >= 1
    fresh = [c for c in requests if c.state == State.ACCEPTED and request_clock(c, now).hours_left > 20]
    soon = [c for c in requests if c.first_feedback_at is None and request_clock(c, now).level == "soon"]
    assert fresh and soon and all(0 < request_clock(c, now).hours_left < 4 for c in soon)
    handed = [c for c in requests if c.state == State.IN_PROGRESS and c.external_handler]
    assert handed and all(c.external_handler["phone"] for c in handed)
    anonymous = [c for c in requests if (c.data or {}).get("anonymous")]
    assert len(anonymous) == 1 and anonymous[0].applicant_id is None and anonymous[0].data["contact_phone"]
    assert anonymous[0].block_code == "A2"  # routed by its place
    assert [c.urgency for c in requests].count("urgent") == 1
    # the 块长 of the request's block is responsible
    blocks = {b.code: b for b in BlockService(demo_ctx).get()}
    assert all(c.assignee_id == blocks[c.block_code].leader_id for c in requests)


def test_every_request_has_its_events_and_commands_in_time_order(demo_ctx):
    with demo_ctx.sessions() as s:
        for case in s.scalars(select(Case).where(Case.kind == "request")):
            events = list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)))
            assert events and events[0].action == "create_draft" and events[1].action == "register_request"
            times = [e.at for e in events]
            assert times == sorted(times), case.case_number
            assert case.accepted_at is not None and case.feedback_due_at is not None
        muts = Counter(m for m in s.scalars(select(OutboxEntry.name)))
    for mutation in (Mutation.CASE_REGISTER_REQUEST, Mutation.CASE_HAND_OVER, Mutation.CASE_GIVE_FEEDBACK,
                     Mutation.CASE_CLOSE_REQUEST, Mutation.CASE_WITHDRAW):
        assert muts[mutation] >= 1, mutation


def test_the_demo_requests_are_counted_and_print_their_slip(demo_ctx):
    now = demo_ctx.now()
    today = now.astimezone(CHINA_TZ).date()
    with demo_ctx.sessions() as s:
        report = compute_requests(s, period=Period.between(today - dt.timedelta(days=5), today), now=now)
    assert report.total.requests == len([c for c in _requests(demo_ctx) if c.state != State.WITHDRAWN])
    assert report.overdue_now >= 1 and report.open_now >= 5
    slip = next(c for c in _requests(demo_ctx) if c.external_handler)
    doc = PrintService(demo_ctx).produce(None, slip.id, None, "a5")
    assert doc.doc_type == "request_slip"
