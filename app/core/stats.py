"""The 统计 figures and the 台账, computed once from the cases and their events (issue 16).

One module for the desk's 统计 page, the Excel workbook, the monthly report PDF and the district server's report:
each passes its own SQLAlchemy session (the desk's SQLite, the server's PostgreSQL) and calendar. Nothing here
writes. The definitions (:data:`DEFINITIONS`) are the words the page's help, the workbook and the PDF print;
ARCHITECTURE.md states the same.

Definitions, in short (see :data:`DEFINITIONS` for the Chinese text):
- a case *of the period* was accepted (``accepted_at``, China time) on one of the period's days; drafts and
  cases never accepted (一次性告知 still waiting, refused at the window) are not cases of any period;
- 办件量 counts the period's cases except the withdrawn ones (counted apart as 撤回);
- 即办: resolved on the spot without a forwarding; 转办: forwarded at least once; 在办: neither yet;
- every forwarding (a re-forwarded case counts each) is judged against its own deadline (the ``due_at`` its
  forward event recorded): replied at or before it is 按时, after it (even minutes after close of business on
  the due day) 超期; a forwarding not yet replied is 未答复, and 超期未答复 once its deadline passed;
  a forwarding ended by a withdrawal is not judged;
- 按时答复率 = 按时答复 / (按时答复 + 超期答复 + 超期未答复);
- 平均答复用时: working hours (office hours 08:30 to close of business on working days) from forwarding to reply;
- 主动评价率 = rated cases / cases done at the desk (即办 + 转办); 满意率 = (非常满意 + 满意 + 基本满意) / rated;
  差评 = 不满意 + 非常不满意; 差评整改率 = 差评 whose fix is recorded / 差评; only the first rating counts;
- 当前超期 (overdue now) is of the moment of computing, whatever the period.
"""


from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from app.core import ratings
from app.core.stats_read import (
    _as_list,
    _aware,
    _cases,
    _committee_filter,
    _committees,
    _event_lists,
    _period_filter,
    _ratio,
    _raw,
    _read,
    _utc,
    _uuid,
    _worker_names,
)
from app.core.stats_types import (  # noqa: F401 (re-exported: callers import them from here)
    _MONTH,
    _UTC,
    BREAKDOWN_LABELS,
    CHINA_OFFSET,
    DEFINITIONS,
    MAX_PERIOD_DAYS,
    OFFICE_OPENS,
    Breakdown,
    DayPoint,
    Figures,
    LedgerRow,
    OverdueCase,
    OverdueFollowup,
    Period,
    Report,
    Row,
    StatsError,
    _check_year,
    _full_day,
    day_label,
    parse_breakdown,
)
from app.core.vocabulary import AcceptanceMode, Action, RatingLevel, State, rating_label
from app.core.workdays import DEFAULT_CLOSE_OF_BUSINESS, WorkCalendar, office_seconds
from forms.identity import mask_name
from models import Case, Resident, Worker

_FORWARD, _REPLY, _WITHDRAW, _ACCEPT, _RESOLVE = (str(a) for a in (
    Action.FORWARD, Action.REPLY, Action.WITHDRAW, Action.ACCEPT, Action.RESOLVE))
_WITHDRAWN, _RESOLVED, _REFUSED, _FORWARDED = (str(x) for x in (
    State.WITHDRAWN, State.RESOLVED, State.REFUSED, State.FORWARDED))
_DEFERRED, _PLEDGE = str(AcceptanceMode.DEFERRED), str(AcceptanceMode.PLEDGE)
_GOOD = frozenset(str(v) for v in RatingLevel if v.good)
_BAD = frozenset(str(v) for v in RatingLevel if v.bad)
NO_LINE, UNKNOWN_WORKER = "（未分条线）", "（未知）"


class _Acc:
    """A Figures being counted, plus what its averages need."""

    __slots__ = ("f", "replied", "seconds")

    def __init__(self) -> None:
        self.f = Figures(levels={str(v): 0 for v in RatingLevel})
        self.seconds = 0.0
        self.replied = 0

    def add_case(self, kind: int, mode: str, rating: str | None, fixed: bool) -> None:
        f = self.f
        if kind == _K_WITHDRAWN:
            f.withdrawn += 1
            return
        f.cases += 1
        if kind == _K_ON_SPOT:
            f.on_spot += 1
        elif kind == _K_FORWARDED:
            f.forwarded += 1
        else:
            f.in_progress += 1
        if mode == _DEFERRED:
            f.deferred += 1
        elif mode == _PLEDGE:
            f.pledge += 1
        if kind == _K_IN_PROGRESS:
            return
        f.ratable += 1
        if rating is None:
            return
        f.rated += 1
        f.levels[rating] = f.levels.get(rating, 0) + 1
        if rating in _GOOD:
            f.satisfied += 1
        elif rating in _BAD:
            f.bad += 1
            f.bad_fixed += bool(fixed)

    def add_forwardings(self, w: _Walk) -> None:
        f = self.f
        f.forwardings += w.forwardings
        f.replied_on_time += w.on_time
        f.replied_late += w.late
        f.open_forwardings += w.open
        f.open_overdue += w.open_overdue
        self.seconds += w.seconds
        self.replied += w.replied

    def figures(self) -> Figures:
        f = self.f
        f.on_time_rate = _ratio(f.replied_on_time, f.replied_on_time + f.replied_late + f.open_overdue)
        f.avg_reply_hours = None if self.replied == 0 else round(self.seconds / 3600 / self.replied, 2)
        f.rating_rate = _ratio(f.rated, f.ratable)
        f.satisfaction_rate = _ratio(f.satisfied, f.rated)
        f.followup_rate = _ratio(f.bad_fixed, f.bad)
        return f


_K_ON_SPOT, _K_FORWARDED, _K_IN_PROGRESS, _K_WITHDRAWN = range(4)


def _kind(state: str, forwarded: Any) -> int:
    if state == _WITHDRAWN:
        return _K_WITHDRAWN
    if forwarded:
        return _K_FORWARDED
    return _K_ON_SPOT if state == _RESOLVED else _K_IN_PROGRESS


@dataclass
class _Walk:
    """One case's forwardings judged from its events (forward → reply, a withdrawal ends an open one unjudged;
    reassign and acknowledge do not touch the clock and are not read)."""

    forwardings: int = 0
    on_time: int = 0
    late: int = 0
    open: int = 0
    open_overdue: int = 0
    seconds: float = 0.0
    replied: int = 0
    judged: list[tuple[dt.date, bool]] = field(default_factory=list)  # (due day, on time) of each judged one
    accepted_by: Any = None  # raw worker id of the accept event
    resolved_by: Any = None  # raw worker id of the last resolve event
    last_due: dt.datetime | None = None  # naive UTC, of the last forwarding
    last_reply: dt.datetime | None = None  # naive UTC: its reply (None while open or when withdrawn)

    @property
    def overdue_flag(self) -> str:
        if self.late or self.open_overdue:
            return "是"
        return "否" if self.on_time else ""


def _walk(events: list[tuple], now: dt.datetime, calendar: WorkCalendar | None, closes: dt.time) -> _Walk:
    """``events``: (case raw, seq, action, at raw, due raw, worker raw) of one case, in order; ``now`` naive
    UTC; no ``calendar``: the working hours are not counted (the 台账 shows none)."""
    w = _Walk()
    open_at: Any = None
    open_due: dt.datetime | None = None
    is_open = False
    for _case, _seq, action, at_raw, due_raw, worker in events:
        if action == _FORWARD:
            w.forwardings += 1
            is_open, open_at, open_due = True, at_raw, _utc(due_raw)
            w.last_due, w.last_reply = open_due, None
        elif action == _REPLY:
            if not is_open:
                continue
            is_open = False
            replied = _utc(at_raw)
            assert replied is not None
            w.last_reply = replied
            if open_due is not None:
                on_time = replied <= open_due
                if on_time:
                    w.on_time += 1
                else:
                    w.late += 1
                w.judged.append(((open_due + CHINA_OFFSET).date(), on_time))
            w.replied += 1
            forwarded = _utc(open_at)
            if calendar is not None and forwarded is not None:
                w.seconds += office_seconds(forwarded + CHINA_OFFSET, replied + CHINA_OFFSET, calendar,
                                            OFFICE_OPENS, closes)
        elif action == _WITHDRAW:
            is_open = False
        elif action == _ACCEPT:
            if w.accepted_by is None:
                w.accepted_by = worker
        elif action == _RESOLVE:
            w.resolved_by = worker
    if is_open:
        w.open += 1
        if open_due is not None and open_due < now:
            w.open_overdue += 1
            w.judged.append(((open_due + CHINA_OFFSET).date(), False))
    return w


_COUNTS = tuple(f.name for f in fields(Figures) if f.type in ("int", int))


def _merge(into: _Acc, acc: _Acc) -> None:
    for name in _COUNTS:
        setattr(into.f, name, getattr(into.f, name) + getattr(acc.f, name))
    for level, n in acc.f.levels.items():
        into.f.levels[level] = into.f.levels.get(level, 0) + n
    into.seconds += acc.seconds
    into.replied += acc.replied


class _Count:
    """One reading of a period: its cases' events (read once, by time) and the figures being counted as the
    case rows go by. :func:`compute` feeds it every case; :func:`ledger_with_report` feeds it the 台账's rows,
    so a workbook reads the period once."""

    def __init__(self, s: Session, *, period: Period, breakdown: Breakdown | str, now: dt.datetime,
                 calendar: WorkCalendar | None, committee_ids: Sequence[uuid.UUID] | None, scope: str,
                 close_of_business: Callable[[uuid.UUID], dt.time], overdue_limit: int, ledger: bool) -> None:
        self.breakdown = parse_breakdown(breakdown)
        if now.tzinfo is None:
            raise StatsError("统计时刻必须带时区")
        self.s, self.period, self.now, self.calendar = s, period, now, calendar
        self.scope, self.overdue_limit = scope, overdue_limit
        self.committee_ids = _as_list(committee_ids)
        now_utc = _utc(now)
        assert now_utc is not None
        self.now_utc = now_utc
        self.where = _period_filter(period, self.committee_ids)
        self.committees = _committees(s, self.committee_ids)
        self.closes: dict[Any, dt.time] = {raw: close_of_business(cid) for raw, cid, _n, _c in self.committees}
        self.events = self._read_events(ledger)
        self.rows: dict[Any, _Acc] = {}
        self.labels: dict[Any, str] = {}
        self.days = {d: [0, 0, 0, 0, 0] for d in period.days()}  # cases, on spot, forwarded, on time, judged
        self._day_of: dict[Any, dt.date] = {}

    def _read_events(self, ledger: bool) -> dict[Any, list[tuple]]:
        """The period's forwarding events per case (and acceptances, resolutions where the figures need them)."""
        actions = [_FORWARD, _REPLY, _WITHDRAW]
        if self.breakdown == Breakdown.WORKER:
            actions.append(_ACCEPT)
        if ledger:
            actions.append(_RESOLVE)
        return _event_lists(self.s, self.where, self.period, self.now, actions)

    def day(self, accepted: Any) -> dt.date:
        """The China day of a raw acceptance instant (cached by its hour on SQLite's text: a month has a few
        hundred)."""
        hour = accepted[:13] if isinstance(accepted, str) else accepted
        day = self._day_of.get(hour)
        if day is None:
            acc_utc = _utc(accepted)
            assert acc_utc is not None
            day = self._day_of[hour] = (acc_utc + CHINA_OFFSET).date()
        return day

    def walk(self, cid: Any, com: Any) -> _Walk | None:
        evs = self.events.get(cid)
        if not evs:
            return None
        return _walk(evs, self.now_utc, self.calendar, self.closes.get(com, DEFAULT_CLOSE_OF_BUSINESS))

    def add(self, head: Any, kind: int, walk: _Walk | None) -> None:
        breakdown = self.breakdown
        day = self.day(head[2])
        if breakdown is Breakdown.ITEM:
            key = head[4]
            if key not in self.labels:
                self.labels[key] = head[5]
        elif breakdown is Breakdown.LINE:
            key = head[6] or ""
        elif breakdown is Breakdown.WORKER:
            key = walk.accepted_by if walk is not None else None
        elif breakdown is Breakdown.DAY:
            key = day
        else:
            key = head[1]
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = _Acc()
        row.add_case(kind, head[8], head[9], head[10])
        if kind != _K_WITHDRAWN:
            point = self.days.get(day)
            if point is not None:
                point[0] += 1
                point[1] += kind == _K_ON_SPOT
                point[2] += kind == _K_FORWARDED
        if walk is not None:
            row.add_forwardings(walk)
            days = self.days
            for due_day, on_time in walk.judged:
                p = days.get(due_day)
                if p is not None:
                    p[3] += on_time
                    p[4] += 1

    def report(self) -> Report:
        s, now = self.s, self.now
        total = _Acc()
        for acc in self.rows.values():
            _merge(total, acc)
        out_rows = _rows(s, self.breakdown, self.rows, self.labels, self.committees, self.committee_ids,
                         self.period)
        per_day = [DayPoint(d, p[0], p[1], p[2], _ratio(p[3], p[4])) for d, p in self.days.items()]
        overdue_now, overdue = _overdue(s, now, self.committee_ids, self.overdue_limit)
        scope = self.scope
        if not scope and len(self.committees) == 1:
            scope = self.committees[0][2]
        return Report(period=self.period, breakdown=self.breakdown, scope=scope, computed_at=now,
                      total=total.figures(), rows=out_rows, per_day=per_day, overdue_now=overdue_now,
                      overdue=overdue,
                      overdue_followups=_overdue_followups(s, now, self.committee_ids, self.overdue_limit))


def _default_closes(_cid: uuid.UUID) -> dt.time:
    return DEFAULT_CLOSE_OF_BUSINESS


def compute(s: Session, *, period: Period, breakdown: Breakdown, now: dt.datetime, calendar: WorkCalendar,
            committee_ids: Sequence[uuid.UUID] | None = None, scope: str = "",
            close_of_business: Callable[[uuid.UUID], dt.time] = _default_closes,
            overdue_limit: int = 500) -> Report:
    """The figures of ``period`` for the given committees (None: every committee the session holds), broken down
    by ``breakdown``; the overdue lists as of ``now`` (at most ``overdue_limit`` rows each, oldest due first)."""
    count = _Count(s, period=period, breakdown=breakdown, now=now, calendar=calendar, committee_ids=committee_ids,
                   scope=scope, close_of_business=close_of_business, overdue_limit=overdue_limit, ledger=False)
    for head in _cases(s, count.where):
        count.add(head, _kind(head[3], head[7]), count.walk(head[0], head[1]))
    return count.report()


def _rows(s: Session, breakdown: Breakdown, rows: dict[Any, _Acc], labels: dict[Any, str],
          committees: list[tuple[Any, uuid.UUID, str, str]], committee_ids: Sequence[uuid.UUID] | None,
          period: Period) -> list[Row]:
    """The breakdown's lines: every day of the period (by day), every committee in scope (by committee, in code
    order), else the keys that have cases, most cases first."""
    if breakdown == Breakdown.DAY:
        return [Row(d.isoformat(), day_label(d), (rows.get(d) or _Acc()).figures()) for d in period.days()]
    if breakdown == Breakdown.COMMITTEE:
        return [Row(str(cid), name, (rows.get(raw) or _Acc()).figures()) for raw, cid, name, _code in committees]
    if breakdown == Breakdown.WORKER:
        names = _worker_names(s, committee_ids)
        out = [Row("" if k is None else str(_uuid(k)), names.get(k, UNKNOWN_WORKER) if k is not None
                   else UNKNOWN_WORKER, a.figures()) for k, a in rows.items()]
    elif breakdown == Breakdown.LINE:
        out = [Row(k, k or NO_LINE, a.figures()) for k, a in rows.items()]
    else:
        out = [Row(k, labels.get(k, k), a.figures()) for k, a in rows.items()]
    out.sort(key=lambda r: (-r.figures.cases, -r.figures.withdrawn, r.label, r.key))
    return out


def _overdue(s: Session, now: dt.datetime, committee_ids: Sequence[uuid.UUID] | None,
             limit: int) -> tuple[int, list[OverdueCase]]:
    where = [Case.state == _FORWARDED, Case.due_at < now, *_committee_filter(committee_ids)]
    count = s.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    q = (select(Case.id, Case.case_number, Case.item_name, Case.department, Case.assignee_queue, Case.due_at,
                Case.remind_count, Case.reminded_at, Case.committee_id, Worker.display_name)
         .outerjoin(Worker, Worker.id == Case.assignee_id).where(*where)
         .order_by(Case.due_at, Case.case_number).limit(max(0, limit)))
    rows = [OverdueCase(case_id=r[0], case_number=r[1], item_name=r[2], department=r[3],
                        assignee_name=r[9] or r[4] or r[3] or "", due_at=r[5], remind_count=r[6] or 0,
                        reminded_at=r[7], committee_id=r[8]) for r in s.execute(q)]
    return count, rows


def _overdue_followups(s: Session, now: dt.datetime, committee_ids: Sequence[uuid.UUID] | None,
                       limit: int) -> list[OverdueFollowup]:
    # The call-back is never due after the fix (ratings.check_followup_days), so every overdue follow-up has its
    # call-back deadline before now: that bound reads ix_case_followup_due instead of the whole table (the explicit
    # IS NOT NULL lets SQLite's planner see how few rows have one).
    q = select(Case.id, Case.case_number, Case.item_name, Case.committee_id, Case.rating,
               Case.followup_called_at, Case.followup_fixed_at, Case.followup_callback_due,
               Case.followup_fix_due).where(
        Case.followup_callback_due.is_not(None), Case.followup_callback_due < now, Case.rating.in_(sorted(_BAD)),
        Case.followup_fixed_at.is_(None),
        or_(and_(Case.followup_called_at.is_(None), Case.followup_callback_due < now),
            and_(Case.followup_called_at.is_not(None), Case.followup_fix_due < now)),
        *_committee_filter(committee_ids))
    # Only the first ``limit`` in the list's order are read (a district has thousands overdue): the deadline the
    # follow-up works to now (ratings.followup_next_due) as SQL — the call-back until called, then the fix.
    next_due = sql_case((Case.followup_called_at.is_(None), Case.followup_callback_due), else_=Case.followup_fix_due)
    q = q.order_by(next_due, Case.case_number).limit(max(0, limit))
    out = []
    for r in s.execute(q):
        due = ratings.followup_next_due(r)
        stage = ratings.followup_stage(r)
        if due is None or stage is None or not due < now:
            continue
        out.append(OverdueFollowup(case_id=r.id, case_number=r.case_number, item_name=r.item_name, stage=stage,
                                   due_at=due, rating=r.rating, committee_id=r.committee_id))
    out.sort(key=lambda f: (f.due_at, f.case_number))
    return out[:max(0, limit)]


# ---------------------------------------------------------------------------------------------------------------
# The 台账

_HANDLING = {_K_ON_SPOT: "即办", _K_FORWARDED: "转办", _K_IN_PROGRESS: "在办", _K_WITHDRAWN: "撤回"}


def ledger(s: Session, *, period: Period, now: dt.datetime, committee_ids: Sequence[uuid.UUID] | None = None,
           batch: int = 5000) -> Iterator[LedgerRow]:
    """The period's cases in acceptance order, one :class:`LedgerRow` each, streamed (the case rows are read in
    batches; the period's events, a few small tuples a case, are read once up front)."""
    count = _Count(s, period=period, breakdown=Breakdown.ITEM, now=now, calendar=None, committee_ids=committee_ids,
                   scope="", close_of_business=_default_closes, overdue_limit=0, ledger=True)
    yield from _ledger_rows(count, batch, counting=False)


def ledger_with_report(s: Session, *, period: Period, breakdown: Breakdown, now: dt.datetime,
                       calendar: WorkCalendar, committee_ids: Sequence[uuid.UUID] | None = None, scope: str = "",
                       close_of_business: Callable[[uuid.UUID], dt.time] = _default_closes,
                       overdue_limit: int = 500, batch: int = 5000
                       ) -> tuple[Generator[LedgerRow, None, None], Callable[[], Report]]:
    """The 台账 rows of :func:`ledger` and, once they have all been read, the :func:`compute` report of the same
    period, counted from the same single reading (what the workbook writes: rows first, figures after). A caller
    that may stop early closes the rows (``rows.close()``), which closes the cursor they read from."""
    count = _Count(s, period=period, breakdown=breakdown, now=now, calendar=calendar, committee_ids=committee_ids,
                   scope=scope, close_of_business=close_of_business, overdue_limit=overdue_limit, ledger=True)
    done = False
    made: list[Report] = []

    def rows() -> Generator[LedgerRow, None, None]:
        nonlocal done
        yield from _ledger_rows(count, batch, counting=True)
        done = True

    def report() -> Report:
        if not done:
            raise RuntimeError("the ledger rows must be read before the report")
        if not made:
            made.append(count.report())
        return made[0]
    return rows(), report


def _ledger_rows(count: _Count, batch: int, counting: bool) -> Iterator[LedgerRow]:
    s = count.s
    names = _worker_names(s, count.committee_ids)
    committees = {raw: name for raw, _cid, name, _code in count.committees}
    extra = (Case.case_number, _raw(Case.assignee_id), Case.assignee_queue, _raw(Case.applicant_id))
    # The applicants' names, masked once each (a resident comes back many times a year), not joined per row.
    applicants = select(_raw(Resident.id), Resident.name).where(
        Resident.id.in_(select(Case.applicant_id).where(*count.where)))
    masked = {rid: mask_name(name) for rid, name in _read(s, applicants)}
    nobody = mask_name(None)
    handling_of = _HANDLING
    for head in _cases(s, count.where, extra, ordered=True, batch=max(1, batch)):
        (cid, com, acc_raw, state, item_code, item_name, dept, fwd, mode, rating, _fixed, number, assignee, queue,
         applicant) = head
        kind = _kind(state, fwd)
        walk = count.walk(cid, com)
        if counting:
            count.add(head, kind, walk)
        if walk is None:
            walk = _NO_WALK
        handling = "不予受理" if state == _REFUSED and kind == _K_IN_PROGRESS else handling_of[kind]
        if fwd:
            handler = names.get(assignee, "") if assignee is not None else ""
            handler = handler or queue or dept or ""
        elif kind == _K_ON_SPOT:
            handler = names.get(walk.resolved_by, "") if walk.resolved_by is not None else ""
        else:
            handler = ""
        yield LedgerRow(
            case_number=number, item_code=item_code, item_name=item_name,
            applicant=masked.get(applicant, nobody) if applicant is not None else nobody,
            accepted_at=_aware(_utc(acc_raw)),  # type: ignore[arg-type]
            handling=handling, acceptance_mode=mode or "", department=dept or "", handler=handler,
            due_at=_aware(walk.last_due), replied_at=_aware(walk.last_reply), overdue=walk.overdue_flag,
            rating=rating_label(rating), committee=committees.get(com, ""))


_NO_WALK = _Walk()
