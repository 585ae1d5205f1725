"""The district's view of the 统计 figures (issue 16): every committee's synced cases and ratings, one row each.

The figures are those of the desks (``app/core/stats.py``, the same definitions), computed on the server's
database with the server's calendar and each committee's own close of business. ``server report month`` writes
them as one workbook (``app/core/workbook.py``): 汇总 for the district, 分项 one row per committee, 台账 with the
居委会 column first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.request_stats import REQUEST_DEFINITIONS, compute_requests
from app.core.requests import request_categories
from app.core.stats import DEFINITIONS, Breakdown, LedgerRow, Period, Report, compute, ledger, ledger_with_report
from app.core.workbook import write_atomically, write_workbook
from app.core.workdays import DEFAULT_CLOSE_OF_BUSINESS, WorkCalendar, parse_close_of_business
from app.server.db import ServerDB
from app.server.rollup import refresh
from app.server.rollup_report import rolled_report
from models.server import Committee

DISTRICT_SCOPE = "全区各居委会"


def committee_closes(s: Session) -> dict[uuid.UUID, dt.time]:
    """Each committee's close of business (``HH:MM`` in its settings; the default when unreadable)."""
    return {cid: parse_close_of_business(text)
            for cid, text in s.execute(select(Committee.id, Committee.close_of_business))}


def district_report(s: Session, period: Period, now: dt.datetime, calendar: WorkCalendar, *,
                    scope: str = DISTRICT_SCOPE) -> Report:
    """The period's figures over every committee, one breakdown row per committee."""
    closes = committee_closes(s)
    return compute(s, period=period, breakdown=Breakdown.COMMITTEE, now=now, calendar=calendar, committee_ids=None,
                   scope=scope, close_of_business=lambda cid: closes.get(cid, DEFAULT_CLOSE_OF_BUSINESS))


def refresh_rollup(db: ServerDB, period: Period, now: dt.datetime, calendar: WorkCalendar) -> None:
    """The rollup brought up to date for ``period`` (app/server/rollup.py), in its own transaction."""
    with db.sessions.begin() as s:
        refresh(s, period, now, calendar)


def month_report(db: ServerDB, period: Period, now: dt.datetime, *, committee_id: uuid.UUID | None = None,
                 scope: str = DISTRICT_SCOPE, calendar: WorkCalendar | None = None) -> Report:
    """:func:`district_report` (``committee_id`` None), or one committee's figures by item (what its desks'
    统计 page shows, with its own close of business), from the rollup: equal to the direct computation
    (tests/test_report_rollup.py), a few thousand rows read instead of every case of the period."""
    from app.server.admin import server_calendar
    if calendar is None:
        with db.read_sessions() as s:
            calendar = server_calendar(s)
    refresh_rollup(db, period, now, calendar)
    with db.read_sessions() as s:
        closes = committee_closes(s)
        one = committee_id is not None
        return rolled_report(s, period=period, breakdown=Breakdown.ITEM if one else Breakdown.COMMITTEE, now=now,
                             calendar=calendar, committee_ids=None if committee_id is None else [committee_id],
                             scope="" if one else scope,
                             close_of_business=lambda cid: closes.get(cid, DEFAULT_CLOSE_OF_BUSINESS))


def district_ledger(s: Session, period: Period, now: dt.datetime) -> Iterator[LedgerRow]:
    """The period's cases of every committee in acceptance order (the 居委会 filled), streamed."""
    return ledger(s, period=period, now=now, committee_ids=None)


def write_district_workbook(db: ServerDB, period: Period, path: Path, now: dt.datetime, *,
                            scope: str = DISTRICT_SCOPE) -> tuple[Report, int, Path]:
    """The district's workbook at ``path`` (moved into place once complete): the report, the 台账 rows written
    and the path."""
    from app.server.admin import server_calendar
    with db.sessions() as s:
        closes = committee_closes(s)
        rows, report = ledger_with_report(
            s, period=period, breakdown=Breakdown.COMMITTEE, now=now, calendar=server_calendar(s),
            committee_ids=None, scope=scope, close_of_business=lambda cid: closes.get(cid, DEFAULT_CLOSE_OF_BUSINESS))
        written = 0

        # 诉求 (issue 20): the district's by category and by committee (a 块区 code is each committee's own)
        requests = compute_requests(s, period=period, now=now, committee_ids=None,
                                    category_labels=dict(request_categories(None)), by_committee=True)

        def with_requests() -> Report:
            return dataclasses.replace(report(), requests=requests)

        def write(tmp: Path) -> None:
            nonlocal written
            written = write_workbook(tmp, with_requests, rows, definitions=(*DEFINITIONS, *REQUEST_DEFINITIONS),
                                     district=True)

        try:
            out = write_atomically(path, write)
        finally:
            rows.close()  # a failed write stops reading: the cursor closes before the session does
        return with_requests(), written, out
