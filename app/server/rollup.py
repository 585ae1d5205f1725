"""The month reports' rollup (issue 18): what app/core/stats.py counts of each committee-day's cases, kept.

A district month report counted every case of the month and walked its events in Python: seconds at district
size, however the rows were read. Here the counting is done once per committee × China day of acceptance ×
item (plus the day's total, item ``*``) with the same core functions (``stats._walk``, ``_Acc.add_case``,
``add_forwardings``) and kept in ``server_report_cell``; the judged forwardings by deadline day (the chart's
on-time rate) in ``server_report_due``. A report then sums a few thousand rows (app/server/rollup_report.py).

- **Which months**: those a report asked for (``server_report_month``); the first report of a month counts it
  (what the direct computation costs, once), nothing is counted for months nobody reads.
- **Frozen cases only**: a case whose forwarding is still open is judged against the moment of the report
  (未答复, 超期未答复), so it is listed in ``server_report_live`` and counted at every report as today.
- **Kept up to date without touching the push**: every change of a case writes a change row to its committee's
  stream, and a stream's ``server_change_stream.last_seq`` names its newest committed row (app/server/changes.py:
  writers hold that row until commit). :func:`refresh` reads the streams' heads, takes the case ids of the
  change rows between where it read last (``server_report_stream``) and there, and counts the committee-days of
  those cases again (a few dozen cases each). Run before each report, under an advisory lock.
- **What the figures were counted with**: working hours depend on the calendar and each committee's close of
  business; their fingerprint is kept with each month, and a different one counts the months again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, text
from sqlalchemy.orm import Session

from app.core.stats import _FORWARD, _REPLY, _WITHDRAW, _Acc, _kind, _walk
from app.core.stats_read import _cases, _due_expr, _event_lists, _raw, _read, _utc, _uuid
from app.core.stats_types import CHINA_OFFSET, Period
from app.core.vocabulary import RatingLevel
from app.core.workdays import WorkCalendar, parse_close_of_business
from models.server import (
    ROLLUP_COUNTS,
    ROLLUP_TOTAL,
    CalendarVersion,
    Case,
    CaseEvent,
    ChangeRow,
    ChangeStream,
    Committee,
    ReportCell,
    ReportDue,
    ReportLive,
    ReportMonth,
    ReportStream,
)

ACTIONS = (_FORWARD, _REPLY, _WITHDRAW)
LEVELS = frozenset(str(v) for v in RatingLevel)
_FIGURE_COUNTS = tuple(c for c in ROLLUP_COUNTS if not c.startswith("level_") and c != "replied")
ROLLUP_LOCK = 0x6F6E_6465_736B_1812  # pg_advisory_xact_lock key of the rollup's writers
_IDS_PER_QUERY = 500


def months_of(period: Period) -> list[dt.date]:
    """The first days of the months ``period`` touches."""
    out, day = [], period.first.replace(day=1)
    while day <= period.last:
        out.append(day)
        day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return out


def _month_period(first: dt.date) -> Period:
    return Period.month(first.year, first.month)


def china_day(accepted: Any) -> dt.date:
    at = _utc(accepted)
    assert at is not None
    return (at + CHINA_OFFSET).date()


def closes_of(s: Session) -> dict[Any, dt.time]:
    """Each committee's close of business by raw id (the keys the stats reads use)."""
    return {raw: parse_close_of_business(t) for raw, t in s.execute(select(_raw(Committee.id),
                                                                           Committee.close_of_business))}


def fingerprint(s: Session) -> str:
    """The calendar versions and closes of business the working hours are counted with."""
    h = hashlib.sha256()
    for year, version, vid in s.execute(select(CalendarVersion.year, CalendarVersion.version, CalendarVersion.id)
                                        .order_by(CalendarVersion.year, CalendarVersion.version)):
        h.update(f"c{year}.{version}.{vid};".encode())
    for cid, close in s.execute(select(Committee.id, Committee.close_of_business).order_by(Committee.id)):
        h.update(f"k{cid}={close};".encode())
    return h.hexdigest()


class _Cells:
    """Committee-days being counted: the rows of the three tables for them."""

    def __init__(self, calendar: WorkCalendar, closes: dict[Any, dt.time], now: dt.datetime) -> None:
        self.calendar, self.closes, self.now = calendar, closes, now
        now_utc = _utc(now)
        assert now_utc is not None
        self.now_utc = now_utc
        self.acc: dict[tuple[uuid.UUID, dt.date, str], tuple[_Acc, str]] = {}
        self.due: dict[tuple[uuid.UUID, dt.date, dt.date], list[int]] = {}
        self.live: list[dict[str, Any]] = []

    def add(self, head: Sequence[Any], events: list[tuple] | None) -> None:
        cid, com, accepted, state, item_code, item_name, _dept, fwd, mode, rating, fixed = head[:11]
        committee, day = _uuid(com), china_day(accepted)
        walk = None
        if events:
            walk = _walk(events, self.now_utc, self.calendar, self.closes[com])
        if (walk is not None and walk.open) or (rating is not None and rating not in LEVELS):
            self.live.append({"case_id": _uuid(cid), "committee_id": committee, "day": day})
            return
        kind = _kind(state, fwd)
        for code, name in ((item_code, item_name or ""), (ROLLUP_TOTAL, "")):
            key = (committee, day, code)
            got = self.acc.get(key)
            if got is None:
                got = self.acc[key] = (_Acc(), name)
            got[0].add_case(kind, mode, rating, fixed)
            if walk is not None:
                got[0].add_forwardings(walk)
        if walk is not None:
            for due_day, on_time in walk.judged:
                d = self.due.setdefault((committee, day, due_day), [0, 0])
                d[0] += on_time
                d[1] += 1

    def write(self, s: Session) -> None:
        cells = []
        for (committee, day, code), (acc, name) in self.acc.items():
            f = acc.f
            row: dict[str, Any] = {"committee_id": committee, "day": day, "item_code": code, "item_name": name,
                                   "replied": acc.replied, "reply_seconds": acc.seconds}
            row.update({c: getattr(f, c) for c in _FIGURE_COUNTS})
            row.update({f"level_{v}": f.levels.get(v, 0) for v in LEVELS})
            cells.append(row)
        for table, rows in ((ReportCell, cells), (ReportLive, self.live),
                            (ReportDue, [{"committee_id": c, "day": d, "due_day": dd, "on_time": n[0],
                                          "judged": n[1]} for (c, d, dd), n in self.due.items()])):
            for i in range(0, len(rows), 5000):
                s.execute(insert(table), rows[i:i + 5000])


def events_of(s: Session, case_ids: Iterable[uuid.UUID]) -> dict[Any, list[tuple]]:
    """Every forward/reply/withdraw event of these cases by raw case id, in order (as stats_read reads them)."""
    cols = (_raw(CaseEvent.case_id), CaseEvent.seq, CaseEvent.action, _raw(CaseEvent.at), _due_expr(s),
            _raw(CaseEvent.worker_id))
    ids = list(case_ids)
    out: dict[Any, list[tuple]] = {}
    for i in range(0, len(ids), _IDS_PER_QUERY):
        q = select(*cols).where(CaseEvent.case_id.in_(ids[i:i + _IDS_PER_QUERY]), CaseEvent.action.in_(ACTIONS))
        for row in _read(s, q):
            out.setdefault(row[0], []).append(row)
    for lst in out.values():
        lst.sort(key=lambda e: e[1])
    return out


def _lock(s: Session) -> None:
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROLLUP_LOCK})


def _clear(s: Session, where_cell: Any, where_due: Any, where_live: Any) -> None:
    s.execute(delete(ReportCell).where(where_cell))
    s.execute(delete(ReportDue).where(where_due))
    s.execute(delete(ReportLive).where(where_live))


def build_month(s: Session, first: dt.date, cells: _Cells) -> None:
    """Count every case accepted in the month (its cells replaced), reading as app/core/stats.py does."""
    period = _month_period(first)
    start, end = period.first, period.last
    _clear(s, ReportCell.day.between(start, end), ReportDue.day.between(start, end),
           ReportLive.day.between(start, end))
    p_start, p_end = period.bounds()
    where = [Case.accepted_at >= p_start, Case.accepted_at < p_end]
    events = _event_lists(s, where, period, cells.now, list(ACTIONS))
    for head in _cases(s, where):
        cells.add(head, events.get(head[0]))


def recount_days(s: Session, days: dict[uuid.UUID, set[dt.date]], cells: _Cells) -> None:
    """Count again the given committee-days (their cells replaced): their cases, then those cases' events."""
    for committee, wanted in days.items():
        ordered = sorted(wanted)
        _clear(s, and_(ReportCell.committee_id == committee, ReportCell.day.in_(ordered)),
               and_(ReportDue.committee_id == committee, ReportDue.day.in_(ordered)),
               and_(ReportLive.committee_id == committee, ReportLive.day.in_(ordered)))
        span = Period(ordered[0], ordered[-1])
        start, end = span.bounds()
        heads = [h for h in _cases(s, [Case.committee_id == committee, Case.accepted_at >= start,
                                       Case.accepted_at < end]) if china_day(h[2]) in wanted]
        events = events_of(s, [_uuid(h[0]) for h in heads])
        for head in heads:
            cells.add(head, events.get(head[0]))


def _changed_cases(s: Session, read: dict[str, int], heads: dict[str, int]) -> set[uuid.UUID]:
    """The cases named by the change rows of each stream after where the rollup read it, up to its head."""
    ranges = [and_(ChangeRow.scope == scope, ChangeRow.seq > read.get(scope, 0), ChangeRow.seq <= head)
              for scope, head in heads.items() if head > read.get(scope, 0)]
    out: set[uuid.UUID] = set()
    for i in range(0, len(ranges), 100):
        q = select(ChangeRow.entity_id).where(ChangeRow.entity == "case", or_(*ranges[i:i + 100])).distinct()
        for (entity_id,) in s.execute(q):
            try:
                out.add(uuid.UUID(entity_id))
            except ValueError:
                continue
    return out


def _days_of(s: Session, case_ids: set[uuid.UUID], months: set[dt.date]) -> dict[uuid.UUID, set[dt.date]]:
    """The committee-days (within the kept months) the given cases were accepted on."""
    out: dict[uuid.UUID, set[dt.date]] = {}
    ids = list(case_ids)
    for i in range(0, len(ids), _IDS_PER_QUERY):
        q = select(_raw(Case.committee_id), _raw(Case.accepted_at)).where(
            Case.id.in_(ids[i:i + _IDS_PER_QUERY]), Case.accepted_at.is_not(None))
        for com, accepted in _read(s, q):
            day = china_day(accepted)
            if day.replace(day=1) in months:
                out.setdefault(_uuid(com), set()).add(day)
    return out


def refresh(s: Session, period: Period, now: dt.datetime, calendar: WorkCalendar) -> None:
    """Bring the rollup up to date for a report of ``period`` (in the caller's write transaction): count the
    period's months not kept yet, and again the committee-days of every case changed since the last refresh."""
    _lock(s)
    mark = fingerprint(s)
    kept = dict(s.execute(select(ReportMonth.month, ReportMonth.fingerprint)).tuples().all())
    if any(f != mark for f in kept.values()):  # another calendar or close of business: count every month again
        for table in (ReportCell, ReportDue, ReportLive, ReportMonth):
            s.execute(delete(table))
        kept = {}
    # The heads first: every row up to them is committed; what commits later has a higher seq in its stream.
    heads = dict(s.execute(select(ChangeStream.scope, ChangeStream.last_seq)).tuples().all())
    read = dict(s.execute(select(ReportStream.scope, ReportStream.seq)).tuples().all())
    cells = _Cells(calendar, closes_of(s), now)
    if kept:
        changed = _changed_cases(s, read, heads)
        if changed:
            recount_days(s, _days_of(s, changed, set(kept)), cells)
    missing = [m for m in months_of(period) if m not in kept]
    for first in missing:
        build_month(s, first, cells)
    cells.write(s)
    if missing:
        s.execute(insert(ReportMonth), [{"month": m, "fingerprint": mark, "built_at": now} for m in missing])
    moved = {scope: head for scope, head in heads.items() if read.get(scope) != head}
    if moved:
        s.execute(delete(ReportStream).where(ReportStream.scope.in_(list(moved))))
        s.execute(insert(ReportStream), [{"scope": k, "seq": v} for k, v in moved.items()])
