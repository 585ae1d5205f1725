"""A month report read from the rollup (app/server/rollup.py): the same :class:`~app.core.stats.Report` that
``app.core.stats.compute`` gives, from the kept committee-day counters plus the few cases counted live.

The counting object is the core's own (``stats._Count``: its breakdown rows, day points and the overdue lists
of the moment), filled from sums of ``server_report_cell`` and ``server_report_due`` instead of walking every
case of the period; the live cases (a forwarding still open) go through its ``add`` as in ``compute``.
By committee (the district report) the day totals are summed per committee; by item, the item rows. Other
breakdowns are not kept: :func:`rolled_report` is for these two.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.stats import Breakdown, Period, Report, _Acc, _Count, _kind
from app.core.stats_read import _cases
from app.core.workdays import DEFAULT_CLOSE_OF_BUSINESS, WorkCalendar
from app.server.rollup import _FIGURE_COUNTS, LEVELS, events_of
from models.server import ROLLUP_TOTAL, Case, ReportCell, ReportDue, ReportLive

ROLLED = (Breakdown.COMMITTEE, Breakdown.ITEM)
_SUMS = [*_FIGURE_COUNTS, *(f"level_{v}" for v in sorted(LEVELS)), "replied", "reply_seconds"]


class _RolledCount(_Count):
    """``_Count`` without its reading of the period's events: the rows come from the rollup."""

    def __init__(self, s: Session, *, period: Period, breakdown: Breakdown, now: dt.datetime,
                 calendar: WorkCalendar, committee_ids: Sequence[uuid.UUID] | None, scope: str,
                 close_of_business: Callable[[uuid.UUID], dt.time], overdue_limit: int) -> None:
        super().__init__(s, period=period, breakdown=breakdown, now=now, calendar=calendar,
                         committee_ids=committee_ids, scope=scope, close_of_business=close_of_business,
                         overdue_limit=overdue_limit, ledger=False)

    def _read_events(self, ledger: bool) -> dict[Any, list[tuple]]:
        return {}  # the rows come from the rollup; the live cases' events are read where they are counted


def _acc(values: Sequence[Any]) -> _Acc:
    acc = _Acc()
    f = acc.f
    n = len(_FIGURE_COUNTS)
    for name, v in zip(_FIGURE_COUNTS, values[:n], strict=True):
        setattr(f, name, int(v or 0))
    for level, v in zip(sorted(LEVELS), values[n:n + len(LEVELS)], strict=True):
        f.levels[level] = int(v or 0)
    acc.replied = int(values[-2] or 0)
    acc.seconds = float(values[-1] or 0.0)
    return acc


def rolled_report(s: Session, *, period: Period, breakdown: Breakdown, now: dt.datetime, calendar: WorkCalendar,
                  committee_ids: Sequence[uuid.UUID] | None = None, scope: str = "",
                  close_of_business: Callable[[uuid.UUID], dt.time] = lambda _cid: DEFAULT_CLOSE_OF_BUSINESS,
                  overdue_limit: int = 500) -> Report:
    """What ``stats.compute`` gives for ``period`` by committee or by item, from a rollup :func:`refresh`
    brought up to date for that period in an earlier transaction (same arguments)."""
    if breakdown not in ROLLED:
        raise ValueError(breakdown)
    count = _RolledCount(s, period=period, breakdown=breakdown, now=now, calendar=calendar,
                         committee_ids=committee_ids, scope=scope, close_of_business=close_of_business,
                         overdue_limit=overdue_limit)
    ids = count.committee_ids
    sums = [func.sum(getattr(ReportCell, c)) for c in _SUMS]
    in_period = [ReportCell.day >= period.first, ReportCell.day <= period.last]
    if ids is not None:
        in_period.append(ReportCell.committee_id.in_(ids))
    if breakdown is Breakdown.COMMITTEE:
        raw_of = {cid: raw for raw, cid, _n, _c in count.committees}
        q = (select(ReportCell.committee_id, *sums).where(ReportCell.item_code == ROLLUP_TOTAL, *in_period)
             .group_by(ReportCell.committee_id))
        for com, *values in s.execute(q):
            count.rows[raw_of.get(com, com)] = _acc(values)
    else:
        q = (select(ReportCell.item_code, func.min(ReportCell.item_name), *sums)
             .where(ReportCell.item_code != ROLLUP_TOTAL, *in_period).group_by(ReportCell.item_code))
        for code, name, *values in s.execute(q):
            count.rows[code] = _acc(values)
            count.labels[code] = name
    q = (select(ReportCell.day, func.sum(ReportCell.cases), func.sum(ReportCell.on_spot),
                func.sum(ReportCell.forwarded)).where(ReportCell.item_code == ROLLUP_TOTAL, *in_period)
         .group_by(ReportCell.day))
    for day, cases, on_spot, forwarded in s.execute(q):
        point = count.days.get(day)
        if point is not None:
            point[0] += int(cases or 0)
            point[1] += int(on_spot or 0)
            point[2] += int(forwarded or 0)
    due_where = [ReportDue.day >= period.first, ReportDue.day <= period.last,
                 ReportDue.due_day >= period.first, ReportDue.due_day <= period.last]
    if ids is not None:
        due_where.append(ReportDue.committee_id.in_(ids))
    for due_day, on_time, judged in s.execute(select(ReportDue.due_day, func.sum(ReportDue.on_time),
                                                     func.sum(ReportDue.judged)).where(*due_where)
                                              .group_by(ReportDue.due_day)):
        point = count.days.get(due_day)
        if point is not None:
            point[3] += int(on_time or 0)
            point[4] += int(judged or 0)
    _add_live(s, count, ids)
    return count.report()


def _add_live(s: Session, count: _RolledCount, ids: list[uuid.UUID] | None) -> None:
    """The period's cases kept out of the cells, counted now as ``compute`` counts every case."""
    period = count.period
    q = select(ReportLive.case_id).where(ReportLive.day >= period.first, ReportLive.day <= period.last)
    if ids is not None:
        q = q.where(ReportLive.committee_id.in_(ids))
    live = list(s.scalars(q))
    for i in range(0, len(live), 500):
        chunk = live[i:i + 500]
        count.events = events_of(s, chunk)
        for head in _cases(s, [*count.where, Case.id.in_(chunk)]):
            count.add(head, _kind(head[3], head[7]), count.walk(head[0], head[1]))
    count.events = {}

