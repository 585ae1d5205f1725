"""The desk's clock offset (issue 12, finding 8), without a server: the arithmetic on both sides, what an outbox
row records, the desk's corrected "now" and the revision that adds the column. Against a server, with skewed
desks: tests/test_sync_clock_offset.py."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select, text

from app.core.vocabulary import CHINA_TZ
from app.core.wire import MutationIn, PushRequest
from app.desk.auth import worker_info
from app.desk.cases import CaseService
from app.desk.clock import ClockReading, DeskClock, corrected_time, known_offset
from app.desk.db import DB_FILENAME, current_revision, downgrade, head_revision, make_engine, upgrade
from app.desk.outbox import enqueue
from app.desk.setup import FirstRunInput, initialise_desk
from app.desk.sync.client import sync_status
from app.server.push import command_dating
from models import OutboxEntry, SyncState, Worker
from models.sync import SYNC_STATE_ID
from tests.sync_helpers import ITEM

T = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in China, a Tuesday
THREE_DAYS = dt.timedelta(days=3)
DAYS_S = THREE_DAYS.total_seconds()


# ----- arithmetic ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("offset", [DAYS_S, -DAYS_S, 0.0])
def test_corrected_time_adds_a_known_offset(offset):
    assert corrected_time(T, offset) == T + dt.timedelta(seconds=offset)
    reading = ClockReading(T, offset)
    assert reading.known and reading.corrected == T + dt.timedelta(seconds=offset)


@pytest.mark.parametrize("offset", [None, float("nan"), float("inf"), 1e12])
def test_an_unknown_or_impossible_offset_leaves_the_desk_clock(offset):
    assert corrected_time(T, offset) == T


def test_the_server_dates_a_command_by_the_offset_recorded_with_it():
    received = T + dt.timedelta(hours=5)
    for skew in (-THREE_DAYS, THREE_DAYS):  # desk clock = true + skew, so offset = -skew
        desk_time = T + skew
        # corrected before the push: the offset measured now is 0, the one recorded with the command is right
        dating = command_dating(desk_time, -skew.total_seconds(), dt.timedelta(0), received)
        assert (dating.at, dating.offset_s, dating.offset_from) == (T, -skew.total_seconds(), "desk")


def test_without_a_recorded_offset_the_server_uses_the_one_it_measures_now():
    received = T + dt.timedelta(hours=1)
    dating = command_dating(T - THREE_DAYS, None, THREE_DAYS, received)
    assert (dating.at, dating.offset_from) == (T, "batch")
    assert command_dating(T - THREE_DAYS, float("nan"), THREE_DAYS, received).offset_from == "batch"


def test_a_command_is_never_dated_after_the_server_received_it():
    received = T + dt.timedelta(minutes=1)
    assert command_dating(T + THREE_DAYS, 0.0, dt.timedelta(0), received).at == received
    assert command_dating(T, DAYS_S, dt.timedelta(0), received).at == received
    edge = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
    assert command_dating(edge, DAYS_S, dt.timedelta(0), received).at == received  # no OverflowError


def test_the_wire_carries_the_offset_and_older_desks_omit_it():
    base = {"mid": 1, "mutation_id": str(uuid.uuid4()), "name": "case.accept.v1", "args": {},
            "client_time": T.isoformat()}
    assert MutationIn.model_validate(base).clock_offset_s is None
    sent = PushRequest(mutations=[MutationIn.model_validate({**base, "clock_offset_s": DAYS_S})]).wire()
    assert PushRequest.model_validate(sent).mutations[0].clock_offset_s == DAYS_S


# ----- the desk -------------------------------------------------------------------------------------------------
def _set_offset(ctx, offset_s: float | None) -> None:
    with ctx.sessions.begin() as s:
        state = s.get(SyncState, SYNC_STATE_ID) or SyncState(id=SYNC_STATE_ID)
        state.clock_offset_s = offset_s
        s.add(state)


@pytest.fixture
def desk(ctx):
    initialise_desk(ctx, FirstRunInput(committee_name="测试居委会", committee_code="T001", admin_login="admin",
                                       admin_name="管理员", admin_password="secret123"))
    return ctx


def _admin(ctx):
    with ctx.sessions() as s:
        return worker_info(s.scalars(select(Worker)).one())


def test_desk_now_is_its_clock_until_it_knows_an_offset(desk):
    desk.clock = DeskClock(desk.sessions, source=lambda: T - THREE_DAYS, ttl_s=0)
    assert desk.now() == T - THREE_DAYS and not desk.clock.reading().known
    _set_offset(desk, DAYS_S)  # e.g. stored by another process's sync round
    assert desk.now() == T and desk.clock.desk_time() == T - THREE_DAYS


def test_desk_clock_takes_what_sync_learned_without_reading_again(desk):
    desk.clock = DeskClock(desk.sessions, source=lambda: T + THREE_DAYS, ttl_s=3600)
    assert desk.now() == T + THREE_DAYS  # read once: nothing known
    desk.clock.learned(-DAYS_S)
    assert desk.now() == T


def test_an_outbox_row_records_the_offset_known_when_the_action_was_taken(desk):
    with desk.sessions.begin() as s:
        unknown = enqueue(s, "case.accept.v1", {}, None, T)
    _set_offset(desk, DAYS_S)
    with desk.sessions.begin() as s:
        assert known_offset(s) == DAYS_S
        known = enqueue(s, "case.accept.v1", {}, None, T)  # T is the corrected time of the action
    _set_offset(desk, 0.0)  # the clock was put right afterwards: the queued row keeps what was known then
    with desk.sessions() as s:
        rows = {o.mid: o for o in s.scalars(select(OutboxEntry))}
    assert (rows[unknown.mid].client_time, rows[unknown.mid].clock_offset_s) == (T, None)
    assert (rows[known.mid].client_time, rows[known.mid].clock_offset_s) == (T - THREE_DAYS, DAYS_S)
    # what the server will make of it: the time the desk recorded
    assert command_dating(rows[known.mid].client_time, rows[known.mid].clock_offset_s, dt.timedelta(0),
                          T + dt.timedelta(hours=1)).at == T


def test_a_skewed_desk_that_knows_its_offset_numbers_and_counts_in_corrected_time(desk):
    true_now = dt.datetime.now(dt.UTC)
    for skew in (-THREE_DAYS, THREE_DAYS):
        desk.clock = DeskClock(desk.sessions, source=lambda skew=skew: dt.datetime.now(dt.UTC) + skew)
        _set_offset(desk, -skew.total_seconds())
        desk.clock.learned(-skew.total_seconds())
        cases, admin = CaseService(desk), _admin(desk)
        cid = cases.create_draft(admin, ITEM, None)
        detail = cases.get(cid)
        assert detail.summary.case_number.split("-")[2] == true_now.astimezone(CHINA_TZ).strftime("%Y%m%d")
        assert abs((detail.summary.created_at - true_now).total_seconds()) < 60
        with desk.sessions() as s:
            row = s.scalars(select(OutboxEntry).order_by(OutboxEntry.mid.desc())).first()
            assert abs((row.client_time - (true_now + skew)).total_seconds()) < 60  # the desk's own clock
        assert abs((desk.now() - true_now).total_seconds()) < 60  # what the worklist counts down from


def test_outbox_ages_are_measured_on_the_desks_own_clock(desk):
    desk.clock = DeskClock(desk.sessions, source=lambda: T - THREE_DAYS)
    _set_offset(desk, DAYS_S)
    desk.clock.learned(DAYS_S)
    with desk.sessions.begin() as s:
        enqueue(s, "case.accept.v1", {}, None, T - dt.timedelta(minutes=10))  # ten minutes ago, corrected
    status = sync_status(desk)
    assert status.pending == 1 and 590 <= status.oldest_pending_age_s <= 610


def test_the_ui_asks_the_desk_for_corrected_time(desk, qapp):
    from ui.services import Services
    desk.clock = DeskClock(desk.sessions, source=lambda: T - THREE_DAYS)
    desk.clock.learned(DAYS_S)
    assert Services(desk).clock() == T


# ----- the revision -------------------------------------------------------------------------------------------
def test_revision_0004_adds_and_removes_the_offset_column_keeping_the_rows(tmp_path):
    engine = make_engine(tmp_path / DB_FILENAME)
    upgrade(engine, "0003")
    mids = {1: "case.create.v1", 2: "case.accept.v1"}
    with engine.begin() as conn:
        for mid, name in mids.items():
            conn.execute(text("INSERT INTO outbox (mid, mutation_id, name, args, client_time, status, reason) "
                              "VALUES (:mid, :mutation_id, :name, '{}', :at, 'pending', '')"),
                         {"mid": mid, "mutation_id": uuid.uuid4().hex, "name": name, "at": T.isoformat()})
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT mid, name, clock_offset_s FROM outbox ORDER BY mid")).all()
        assert [tuple(r) for r in rows] == [(1, mids[1], None), (2, mids[2], None)]  # "not known"
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET clock_offset_s = :o WHERE mid = 2"), {"o": DAYS_S})
    downgrade(engine, "0003")
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text("SELECT mid, name FROM outbox ORDER BY mid"))] == \
            [(1, mids[1]), (2, mids[2])]
        columns = {r[1] for r in conn.execute(text("PRAGMA table_info(outbox)"))}
        assert "clock_offset_s" not in columns
        indexes = {r[1] for r in conn.execute(text("PRAGMA index_list(outbox)"))}
        assert "ix_outbox_status_mid" in indexes
    upgrade(engine)
    engine.dispose()
