"""A desk whose clock is three days wrong (slow or fast), against the district server (issue 12, finding 8).

The desk computer's own clock is what is wrong, so the tests skew it where every desk module reads it (the
``utcnow`` each ``app.desk`` module imported) and leave the server process on true time. Two stories per skew:

* steady: the clock is wrong while the work is done offline and still wrong when the desk pushes;
* corrected: the clock is put right after the offline work and before the push (the finding: the server measured
  the offset at push time, ~0, and dated the forward three days early, so the colleague saw it overdue at once).

Either way the server's ``forwarded_at`` must be the true time of the forward, the colleague's countdown must not be
overdue, and the skewed desk, which knows its offset, must number and count down its cases in corrected time.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

import app.desk
import models.base
from app.core.vocabulary import CHINA_TZ
from app.core.wire import Endpoint
from app.core.workdays import compute_deadline
from app.desk.cases import CaseService
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.deadlines import DeadlineService
from app.desk.sync.client import SyncClient
from app.desk.sync.enroll import enroll_desk
from app.desk.worklist import WorklistService
from app.server import admin
from app.server.admin import server_calendar
from models.server import Case, MutationRecord
from tests.sync_helpers import COMMITTEE, Desk, FaultyTransport, start_server, stop_server, wait_ready

pytest_plugins = ("tests.server_fixtures",)

pytestmark = [pytest.mark.server]

THREE_DAYS = dt.timedelta(days=3)
REAL_UTCNOW = models.base.utcnow
SLACK = dt.timedelta(seconds=2)  # loopback round trips and the desk's midpoint estimate of its offset


class DeskOSClock:
    """The desk computer's clock: ``true()`` plus ``skew``. ``true`` is real time, or the in-process server's
    clock when a test lets time pass."""

    def __init__(self, true: Callable[[], dt.datetime] = REAL_UTCNOW):
        self.true, self.skew = true, dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return self.true() + self.skew


@pytest.fixture
def desk_clock(monkeypatch) -> DeskOSClock:
    """Install one skewable clock as the time source of every desk module (the server keeps its own)."""
    clock = DeskOSClock()
    for info in pkgutil.walk_packages(app.desk.__path__, "app.desk."):
        importlib.import_module(info.name)
    for name, module in list(sys.modules.items()):
        if name.startswith("app.desk") and getattr(module, "utcnow", None) is REAL_UTCNOW:
            monkeypatch.setattr(module, "utcnow", clock)
    return clock


def _china_day(when: dt.datetime) -> str:
    return when.astimezone(CHINA_TZ).strftime("%Y%m%d")


def _server_forward(db, cid) -> tuple[dt.datetime, dt.datetime, dict]:
    """The server's forwarded_at and due_at of the case, and the audit detail of its forward event."""
    with db.sessions() as s:
        case = s.get(Case, cid)
        event = next(e for e in case.events if e.action == "forward")
        return case.forwarded_at, case.due_at, dict(event.detail or {})


def _server_due(db, forwarded_at: dt.datetime) -> dt.datetime:
    with db.sessions() as s:
        return compute_deadline(forwarded_at, server_calendar(s)).due


def _forward_offline(desk: Desk, true_now: Callable[[], dt.datetime]):
    """Take a case in and forward it to 李建国 without syncing: (case id, desk detail, true time bracket)."""
    t0 = true_now()
    cid = desk.new_case()
    detail = desk.cases.forward(desk.worker("desk"), cid, assignee_id=desk.worker("mz").id, queue="民政")
    return cid, detail, (t0, true_now())


def _assert_desk_in_corrected_time(desk: Desk, detail, bracket, true_now) -> None:
    """A skewed desk that knows its offset dates the case number and computes the deadline in true time."""
    t0, t1 = bracket
    day = detail.summary.case_number.split("-")[2]
    assert day in {_china_day(t0), _china_day(t1)}, f"case number {detail.summary.case_number} not dated today"
    deadlines = DeadlineService(desk.ctx)
    assert detail.summary.due_at in {deadlines.compute(t0).due, deadlines.compute(t1).due}
    [row] = WorklistService(desk.ctx).page("sent", desk.worker("desk"))
    assert row.countdown.removesuffix("（暂定）") == deadlines.countdown(row.due_at, true_now())[1]


def _assert_server_dated_the_true_forward(db, cid, bracket) -> dt.datetime:
    forwarded_at, due_at, _detail = _server_forward(db, cid)
    t0, t1 = bracket
    assert t0 - SLACK <= forwarded_at <= t1 + SLACK, f"forwarded_at {forwarded_at}, true time {t0}..{t1}"
    assert due_at == _server_due(db, forwarded_at)
    return due_at


def _assert_colleague_not_overdue(desk: Desk, cid, due_at, true_now) -> None:
    mz = desk.worker("mz")
    rows = [r for r in WorklistService(desk.ctx).page("mine", mz) if r.id == cid]
    assert rows, "the forwarded case is not in 李建国's worklist"
    assert rows[0].due_at == due_at
    assert rows[0].urgency != "overdue" and "超期" not in rows[0].countdown, rows[0].countdown
    assert rows[0].countdown.removesuffix("（暂定）") == DeadlineService(desk.ctx).countdown(due_at, true_now())[1]


# ----- against a real server process ----------------------------------------------------------------------------
def _process_desk(tmp_path: Path, template_db: Path, db, url: str, name: str, clock: DeskOSClock) -> Desk:
    folder = tmp_path / f"desk-{name}"
    folder.mkdir()
    shutil.copyfile(template_db, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    code, _ = admin.create_enroll_code(db, COMMITTEE)
    enroll_desk(ctx, url, code, device_name=f"前台{name}", allow_insecure_http=True)  # plain http: lab opt-in
    client = SyncClient(ctx, clock=clock)
    desk = Desk(name, ctx, client, FaultyTransport(None), CaseService(ctx))
    assert client.sync_once().ok
    return desk


@pytest.mark.slow
@pytest.mark.parametrize("skew", [-THREE_DAYS, THREE_DAYS], ids=["3-days-slow", "3-days-fast"])
@pytest.mark.parametrize("story", ["steady", "corrected"])
def test_forward_made_offline_on_a_skewed_desk_is_dated_true_on_a_real_server(
        tmp_path, template_db, seeded, pg_url, desk_clock, skew, story):
    proc, port = start_server(tmp_path, pg_url)
    url = f"http://127.0.0.1:{port}"
    desks: list[Desk] = []
    try:
        wait_ready(url, proc)
        desk_clock.skew = skew
        a = _process_desk(tmp_path, template_db, seeded, url, "A", desk_clock)  # learns its offset from the server
        desks.append(a)
        assert abs(a.sync.status().clock_offset_s + skew.total_seconds()) < 60

        cid, detail, bracket = _forward_offline(a, REAL_UTCNOW)
        _assert_desk_in_corrected_time(a, detail, bracket, REAL_UTCNOW)
        if story == "corrected":
            desk_clock.skew = dt.timedelta(0)  # somebody puts the clock right before the desk reconnects
        assert a.sync.sync_once().ok
        due_at = _assert_server_dated_the_true_forward(seeded, cid, bracket)
        assert a.cases.get(cid).summary.due_at == due_at  # the desk adopted the server's deadline
        _assert_desk_in_corrected_time(a, a.cases.get(cid), bracket, REAL_UTCNOW)

        desk_clock.skew = dt.timedelta(0)
        b = _process_desk(tmp_path, template_db, seeded, url, "B", desk_clock)  # the colleague's desk, on time
        desks.append(b)
        _assert_colleague_not_overdue(b, cid, due_at, REAL_UTCNOW)
    finally:
        for desk in desks:
            desk.close()
        stop_server(proc)


# ----- in process, letting hours pass between the offline work and the push ---------------------------------------
@pytest.mark.parametrize("skew", [-THREE_DAYS, THREE_DAYS], ids=["3-days-slow", "3-days-fast"])
@pytest.mark.parametrize("story", ["steady", "corrected"])
def test_hours_offline_then_push_keeps_the_true_forward_time(make_desk, seeded, server_clock, desk_clock,
                                                             skew, story):
    desk_clock.true = server_clock  # the desk's clock follows the (movable) true time, plus its skew
    b = make_desk("B", clock=desk_clock)  # the colleague's desk, on time (enrolled now: codes last 15 minutes)
    desk_clock.skew = skew
    a = make_desk("A", clock=desk_clock)
    cid, detail, bracket = _forward_offline(a, server_clock)
    _assert_desk_in_corrected_time(a, detail, bracket, server_clock)

    server_clock.advance(hours=5)  # five hours without a connection
    if story == "corrected":
        desk_clock.skew = dt.timedelta(0)
    assert a.sync.sync_once().ok
    due_at = _assert_server_dated_the_true_forward(seeded, cid, bracket)

    desk_clock.skew = dt.timedelta(0)
    assert b.sync.sync_once().ok
    _assert_colleague_not_overdue(b, cid, due_at, server_clock)


def test_audit_keeps_the_desk_clock_the_offset_and_the_receive_time(make_desk, seeded, server_clock, desk_clock):
    desk_clock.true = server_clock
    desk_clock.skew = -THREE_DAYS
    a = make_desk("A", clock=desk_clock)
    cid, _detail, bracket = _forward_offline(a, server_clock)
    desk_clock.skew = dt.timedelta(0)
    assert a.sync.sync_once().ok
    _forwarded_at, _due, detail = _server_forward(seeded, cid)
    client_time = dt.datetime.fromisoformat(detail["client_time"])
    assert bracket[0] - THREE_DAYS - SLACK <= client_time <= bracket[1] - THREE_DAYS + SLACK  # the desk's own clock
    assert abs(detail["clock_offset_s"] - THREE_DAYS.total_seconds()) < 60 and detail["clock_offset_from"] == "desk"
    assert dt.datetime.fromisoformat(detail["received_at"]) >= bracket[1]
    with seeded.sessions() as s:
        rec = s.scalars(select(MutationRecord).where(MutationRecord.name == "case.forward.v1")).one()
        assert bracket[0] - SLACK <= rec.effective_at <= bracket[1] + SLACK


def test_the_desk_learns_its_offset_at_enrolment_and_on_a_pull_only_round(make_desk, desk_clock):
    desk_clock.skew = -THREE_DAYS
    a = make_desk("A", sync=False, clock=desk_clock)
    assert abs(a.sync.status().clock_offset_s - THREE_DAYS.total_seconds()) < 60  # from the enrolment answer
    assert abs((a.ctx.now() - REAL_UTCNOW()).total_seconds()) < 60
    assert a.sync.sync_once().ok
    desk_clock.skew = dt.timedelta(0)  # put right; nothing is waiting to be pushed
    a.transport.seen.clear()
    assert a.sync.sync_once().ok
    assert Endpoint.PUSH not in {path for path, _body in a.transport.seen}
    assert abs(a.sync.status().clock_offset_s) < 60 and abs((a.ctx.now() - REAL_UTCNOW()).total_seconds()) < 60
