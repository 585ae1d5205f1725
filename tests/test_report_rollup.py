"""The month reports from the rollup (app/server/rollup.py, rollup_report.py) equal the direct computation
(``app.core.stats.compute``) on a generated district — cases and events over two years, several committees —
for the district by committee and each committee by item, for a month, another month and a period across
two months; and still equal after more events arrive the way a push writes them (the case changed, its event
appended, its change row in the committee's stream): a forwarding answered, a rating given, a case forwarded
again, a new case accepted."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from app.bench.district import scratch_district
from app.bench.district_rows import NOW, REPORT_MONTH
from app.core.stats import Breakdown, Period, Report, compute
from app.server.admin import server_calendar
from app.server.changes import ChangeWriter
from app.server.db import open_server_db
from app.server.report import committee_closes, district_report, month_report
from models import new_id
from models.server import Case, CaseEvent, ReportCell, ReportLive, ReportMonth

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server
CASES, COMMITTEES = 3000, 4
NOV = Period.month(*REPORT_MONTH)
OCT = Period.month(2025, 10)
ACROSS = Period(dt.date(2025, 10, 20), dt.date(2025, 11, 10))


def _plain(report: Report) -> dict:
    """Everything the report says, the way it is compared (computed_at is the caller's ``now``)."""
    return dataclasses.asdict(report)


def _direct(db, period: Period, now: dt.datetime, committee_id: uuid.UUID | None = None) -> Report:
    with db.read_sessions() as s:
        if committee_id is None:
            return district_report(s, period, now, server_calendar(s))
        closes = committee_closes(s)
        return compute(s, period=period, breakdown=Breakdown.ITEM, now=now, calendar=server_calendar(s),
                       committee_ids=[committee_id], close_of_business=lambda cid: closes[cid])


def _assert_equal(db, period: Period, now: dt.datetime, committees: list[uuid.UUID]) -> None:
    assert _plain(month_report(db, period, now)) == _plain(_direct(db, period, now))
    for cid in committees:
        rolled, direct = month_report(db, period, now, committee_id=cid), _direct(db, period, now, cid)
        assert _plain(rolled) == _plain(direct), cid


def _event(s, case: Case, action: str, to_state: str, at: dt.datetime, detail: dict | None = None) -> None:
    seq = (s.scalar(select(func.max(CaseEvent.seq)).where(CaseEvent.case_id == case.id)) or 0) + 1
    s.add(CaseEvent(case_id=case.id, seq=seq, at=at, worker_id=case.created_by_id, action=action,
                    from_state=case.state, to_state=to_state, detail=detail or {}))
    case.state, case.updated_at = to_state, at


def _events_arrive(db, now: dt.datetime) -> uuid.UUID:
    """A replied case forwarded again, a resolved case rated 不满意 and a new case accepted in November, each
    with its event and its change row, as a push writes them; returns the case forwarded again."""
    start, end = NOV.bounds()
    in_nov = [Case.accepted_at >= start, Case.accepted_at < end]
    with db.sessions.begin() as s:
        writer = ChangeWriter(s, now)
        again = s.scalars(select(Case).where(*in_nov, Case.state.in_(("replied", "closed")))
                          .order_by(Case.id).limit(1)).one()
        due = now + dt.timedelta(days=2)
        _event(s, again, "forward", "forwarded", now - dt.timedelta(hours=2), {"due_at": due.isoformat()})
        again.due_at = due
        writer.case(again)
        rated = s.scalars(select(Case).where(*in_nov, Case.state == "resolved", Case.rating.is_(None))
                          .limit(1)).one()
        rated.rating, rated.rated_at, rated.updated_at = "dissatisfied", now, now
        writer.case(rated)
        model = s.scalars(select(Case).where(*in_nov, Case.state == "resolved").order_by(Case.id.desc())
                          .limit(1)).one()
        new = Case(**{c.key: copy.deepcopy(getattr(model, c.key)) for c in Case.__table__.columns
                      if c.key not in ("id", "case_number")})
        new.id, new.case_number = new_id(), model.case_number + "X"
        new.accepted_at = dt.datetime(2025, 11, 28, 2, 0, tzinfo=dt.UTC)
        s.add(new)
        s.flush()
        writer.case(new)
        return again.id


def _answered(db, case_id: uuid.UUID, now: dt.datetime) -> None:
    with db.sessions.begin() as s:
        case = s.get_one(Case, case_id)
        _event(s, case, "reply", "replied", now, {"result": "done"})
        ChangeWriter(s, now).case(case)


def test_rollup_report_equals_the_direct_computation(pg_url):
    with scratch_district(pg_url, CASES, COMMITTEES) as (url, district, _made):
        db = open_server_db(url)  # the server's chain up to the rollup's tables
        try:
            committees = [uuid.UUID(c.id) for c in district.committees]
            _assert_equal(db, NOV, NOW, committees)
            with db.read_sessions() as s:
                assert set(s.scalars(select(ReportMonth.month))) == {dt.date(2025, 11, 1)}
                assert s.scalar(select(func.count()).select_from(ReportCell)) > 0
                live_before = s.scalar(select(func.count()).select_from(ReportLive))
            _assert_equal(db, OCT, NOW, committees[:2])
            _assert_equal(db, ACROSS, NOW, committees[:1])
            # later, the open forwardings judged against another moment: the live cases follow it
            _assert_equal(db, NOV, NOW + dt.timedelta(days=40), committees[:1])

            later = NOW + dt.timedelta(hours=3)
            again = _events_arrive(db, later)
            _assert_equal(db, NOV, later, committees)
            _assert_equal(db, ACROSS, later, committees[:2])
            with db.read_sessions() as s:
                assert set(s.scalars(select(ReportMonth.month))) == {dt.date(2025, 10, 1), dt.date(2025, 11, 1)}
                assert s.get(ReportLive, again) is not None  # its forwarding open: counted at each report
                assert s.scalar(select(func.count()).select_from(ReportLive)) == live_before + 1
            # answered (after its deadline, judged 超期 on its due day): back in its day's cells
            _answered(db, again, later + dt.timedelta(days=3))
            _assert_equal(db, NOV, later + dt.timedelta(days=4), committees)
            with db.read_sessions() as s:
                assert s.get(ReportLive, again) is None
        finally:
            db.close()


def test_a_new_close_of_business_counts_the_months_again(pg_url):
    with scratch_district(pg_url, 600, 2) as (url, district, _made):
        db = open_server_db(url)
        try:
            committees = [uuid.UUID(c.id) for c in district.committees]
            _assert_equal(db, NOV, NOW, committees)
            with db.sessions.begin() as s:
                from models.server import Committee
                s.get_one(Committee, committees[0]).close_of_business = "16:00"
            _assert_equal(db, NOV, NOW, committees)
        finally:
            db.close()
