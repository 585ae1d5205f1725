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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, and_, func, or_, select, true, type_coerce
from sqlalchemy.orm import Session

from app.core import ratings
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
from models import Case, CaseEvent, Committee, Resident, Worker

_FORWARD, _REPLY, _WITHDRAW, _ACCEPT, _RESOLVE = (str(a) for a in (
    Action.FORWARD, Action.REPLY, Action.WITHDRAW, Action.ACCEPT, Action.RESOLVE))
_WITHDRAWN, _RESOLVED, _REFUSED, _FORWARDED = (str(x) for x in (
    State.WITHDRAWN, State.RESOLVED, State.REFUSED, State.FORWARDED))
_DEFERRED, _PLEDGE = str(AcceptanceMode.DEFERRED), str(AcceptanceMode.PLEDGE)
_GOOD = frozenset(str(v) for v in RatingLevel if v.good)
_BAD = frozenset(str(v) for v in RatingLevel if v.bad)
_CN_FIXED = dt.timezone(CHINA_OFFSET, "CST")
NO_LINE, UNKNOWN_WORKER = "（未分条线）", "（未知）"


def _raw(col: Any) -> Any:
    """The column as the driver hands it (SQLite: text; PostgreSQL: native values), converted below only where a
    value is used: SQLAlchemy's per-value DateTime and Uuid processing would be most of a month's time on SQLite.
    Raw ids serve as keys between the queries of one session (same dialect, same representation)."""
    return type_coerce(col, String)


def _utc(value: Any) -> dt.datetime | None:
    """A stored instant (raw text, or a datetime, or an ISO string with its offset) as a naive UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(_UTC).replace(tzinfo=None)
    return value


def _aware(naive_utc: dt.datetime | None) -> dt.datetime | None:
    """For the rows handed out: the instant in China time (fixed +08:00)."""
    return None if naive_utc is None else (naive_utc + CHINA_OFFSET).replace(tzinfo=_CN_FIXED)


def _uuid(raw: Any) -> uuid.UUID:
    return raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _committee_filter(committee_ids: Sequence[uuid.UUID] | None) -> list[Any]:
    return [] if committee_ids is None else [Case.committee_id.in_(list(committee_ids))]


def _period_filter(period: Period, committee_ids: Sequence[uuid.UUID] | None) -> list[Any]:
    start, end = period.bounds()
    return [*_committee_filter(committee_ids), Case.accepted_at >= start, Case.accepted_at < end]


def _as_list(committee_ids: Sequence[uuid.UUID] | None) -> list[uuid.UUID] | None:
    return None if committee_ids is None else list(committee_ids)


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
    """``events``: (seq, action, at raw, due raw, worker raw) of one case; ``now`` naive UTC; no ``calendar``:
    the working hours are not counted (the 台账 shows none)."""
    w = _Walk()
    if len(events) > 1:
        events.sort(key=lambda e: e[0])
    open_at: Any = None
    open_due: dt.datetime | None = None
    is_open = False
    for _seq, action, at_raw, due_raw, worker in events:
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


def _events(s: Session, where: list[Any], actions: Sequence[str]) -> dict[Any, list[tuple]]:
    """The cases' events of ``actions``, by raw case id (one query, joined on the cases' own filter)."""
    q = (select(_raw(CaseEvent.case_id), CaseEvent.seq, CaseEvent.action, _raw(CaseEvent.at),
                CaseEvent.detail["due_at"].as_string(), _raw(CaseEvent.worker_id))
         .join(Case, Case.id == CaseEvent.case_id)
         .where(*where, CaseEvent.action.in_(list(actions))))
    out: dict[Any, list[tuple]] = {}
    for case_id, *rest in s.execute(q):
        lst = out.get(case_id)
        if lst is None:
            out[case_id] = [tuple(rest)]
        else:
            lst.append(tuple(rest))
    return out


def _worker_names(s: Session, committee_ids: Sequence[uuid.UUID] | None) -> dict[Any, str]:
    q = select(_raw(Worker.id), Worker.display_name)
    if committee_ids is not None:
        q = q.where(Worker.committee_id.in_(list(committee_ids)))
    return {wid: name for wid, name in s.execute(q)}


def _committees(s: Session, committee_ids: Sequence[uuid.UUID] | None) -> list[tuple[Any, uuid.UUID, str, str]]:
    """(raw id, id, name, code) of the committees in scope, by code."""
    q = select(_raw(Committee.id), Committee.id, Committee.name, Committee.code).order_by(Committee.code)
    if committee_ids is not None:
        q = q.where(Committee.id.in_(list(committee_ids)))
    return [(r[0], r[1], r[2], r[3]) for r in s.execute(q)]


def compute(s: Session, *, period: Period, breakdown: Breakdown, now: dt.datetime, calendar: WorkCalendar,
            committee_ids: Sequence[uuid.UUID] | None = None, scope: str = "",
            close_of_business: Callable[[uuid.UUID], dt.time] = lambda _cid: DEFAULT_CLOSE_OF_BUSINESS,
            overdue_limit: int = 500) -> Report:
    """The figures of ``period`` for the given committees (None: every committee the session holds), broken down
    by ``breakdown``; the overdue lists as of ``now`` (at most ``overdue_limit`` rows each, oldest due first)."""
    breakdown = parse_breakdown(breakdown)
    if now.tzinfo is None:
        raise StatsError("统计时刻必须带时区")
    committee_ids = _as_list(committee_ids)
    now_utc = _utc(now)
    assert now_utc is not None
    where = _period_filter(period, committee_ids)
    committees = _committees(s, committee_ids)
    closes: dict[Any, dt.time] = {raw: close_of_business(cid) for raw, cid, _n, _c in committees}
    actions = [_FORWARD, _REPLY, _WITHDRAW] + ([_ACCEPT] if breakdown == Breakdown.WORKER else [])
    events = _events(s, where, actions)
    cases = s.execute(select(
        _raw(Case.id), _raw(Case.committee_id), _raw(Case.accepted_at), Case.state, Case.item_code, Case.item_name,
        Case.department, Case.forwarded_at.is_not(None), Case.acceptance_mode, Case.rating,
        Case.followup_fixed_at.is_not(None)).where(*where))

    total = _Acc()
    rows: dict[Any, _Acc] = {}
    labels: dict[Any, str] = {}
    days = {d: [0, 0, 0, 0, 0] for d in period.days()}  # cases, on spot, forwarded, judged on time, judged
    no_events: list[tuple] = []
    for cid, com, accepted, state, item_code, item_name, dept, fwd, mode, rating, fixed in cases:
        acc_utc = _utc(accepted)
        assert acc_utc is not None
        day = (acc_utc + CHINA_OFFSET).date()
        kind = _kind(state, fwd)
        evs = events.get(cid, no_events)
        walk = _walk(evs, now_utc, calendar, closes.get(com, DEFAULT_CLOSE_OF_BUSINESS)) if evs else None
        if breakdown == Breakdown.ITEM:
            key = item_code
            labels[key] = item_name
        elif breakdown == Breakdown.LINE:
            key = dept or ""
        elif breakdown == Breakdown.WORKER:
            key = walk.accepted_by if walk is not None else None
        elif breakdown == Breakdown.DAY:
            key = day
        else:
            key = com
        row = rows.get(key)
        if row is None:
            row = rows[key] = _Acc()
        total.add_case(kind, mode, rating, fixed)
        row.add_case(kind, mode, rating, fixed)
        point = days.get(day)
        if point is not None and kind != _K_WITHDRAWN:
            point[0] += 1
            point[1] += kind == _K_ON_SPOT
            point[2] += kind == _K_FORWARDED
        if walk is not None:
            total.add_forwardings(walk)
            row.add_forwardings(walk)
            for due_day, on_time in walk.judged:
                p = days.get(due_day)
                if p is not None:
                    p[3] += on_time
                    p[4] += 1

    out_rows = _rows(s, breakdown, rows, labels, committees, committee_ids, period)
    per_day = [DayPoint(d, p[0], p[1], p[2], _ratio(p[3], p[4])) for d, p in days.items()]
    overdue_now, overdue = _overdue(s, now, committee_ids, overdue_limit)
    if not scope and len(committees) == 1:
        scope = committees[0][2]
    return Report(period=period, breakdown=breakdown, scope=scope, computed_at=now, total=total.figures(),
                  rows=out_rows, per_day=per_day, overdue_now=overdue_now, overdue=overdue,
                  overdue_followups=_overdue_followups(s, now, committee_ids, overdue_limit))


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
    # call-back deadline before now: that bound reads ix_case_followup_due instead of the whole table.
    q = select(Case.id, Case.case_number, Case.item_name, Case.committee_id, Case.rating,
               Case.followup_called_at, Case.followup_fixed_at, Case.followup_callback_due,
               Case.followup_fix_due).where(
        Case.followup_callback_due < now, Case.rating.in_(sorted(_BAD)), Case.followup_fixed_at.is_(None),
        or_(and_(Case.followup_called_at.is_(None), Case.followup_callback_due < now),
            and_(Case.followup_called_at.is_not(None), Case.followup_fix_due < now)),
        *_committee_filter(committee_ids))
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
           batch: int = 2000) -> Iterator[LedgerRow]:
    """The period's cases in acceptance order, one :class:`LedgerRow` each, streamed (a year of 150,000 cases
    never sits in memory at once)."""
    committee_ids = _as_list(committee_ids)
    now_utc = _utc(now)
    assert now_utc is not None
    where = _period_filter(period, committee_ids)
    names = _worker_names(s, committee_ids)
    committees = {raw: name for raw, _cid, name, _code in _committees(s, committee_ids)}
    cols = (Case.id, _raw(Case.committee_id), _raw(Case.accepted_at), Case.accepted_at, Case.case_number,
            Case.item_code, Case.item_name, Case.state, Case.forwarded_at.is_not(None), Case.acceptance_mode,
            Case.department, _raw(Case.assignee_id), Case.assignee_queue, Case.rating, Resident.name)
    after: tuple[dt.datetime, uuid.UUID] | None = None
    batch = max(1, batch)
    actions = [_FORWARD, _REPLY, _WITHDRAW, _RESOLVE]
    while True:
        keyset = true() if after is None else or_(
            Case.accepted_at > after[0], and_(Case.accepted_at == after[0], Case.id > after[1]))
        q = (select(*cols).outerjoin(Resident, Resident.id == Case.applicant_id).where(*where, keyset)
             .order_by(Case.accepted_at, Case.id).limit(batch))
        rows = s.execute(q).all()
        if not rows:
            return
        events = _batch_events(s, [r[0] for r in rows], actions)
        for (cid, com, acc_raw, _acc, number, item_code, item_name, state, fwd, mode, dept, assignee, queue,
             rating, applicant) in rows:
            kind = _kind(state, fwd)
            evs = events.get(cid)
            walk = _walk(evs, now_utc, None, DEFAULT_CLOSE_OF_BUSINESS) if evs else _Walk()
            if state == _REFUSED and kind == _K_IN_PROGRESS:
                handling = "不予受理"
            else:
                handling = _HANDLING[kind]
            if fwd:
                handler = names.get(assignee, "") if assignee is not None else ""
                handler = handler or queue or dept or ""
            elif kind == _K_ON_SPOT:
                handler = names.get(walk.resolved_by, "") if walk.resolved_by is not None else ""
            else:
                handler = ""
            yield LedgerRow(
                case_number=number, item_code=item_code, item_name=item_name, applicant=mask_name(applicant),
                accepted_at=_aware(_utc(acc_raw)),  # type: ignore[arg-type]
                handling=handling, acceptance_mode=mode or "", department=dept or "", handler=handler,
                due_at=_aware(walk.last_due), replied_at=_aware(walk.last_reply), overdue=walk.overdue_flag,
                rating=rating_label(rating), committee=committees.get(com, ""))
        last = rows[-1]
        after = (last[3], last[0])
        if len(rows) < batch:
            return


def _batch_events(s: Session, case_ids: list[uuid.UUID], actions: Sequence[str]) -> dict[uuid.UUID, list[tuple]]:
    q = (select(CaseEvent.case_id, CaseEvent.seq, CaseEvent.action, _raw(CaseEvent.at),
                CaseEvent.detail["due_at"].as_string(), _raw(CaseEvent.worker_id))
         .where(CaseEvent.case_id.in_(case_ids), CaseEvent.action.in_(list(actions))))
    out: dict[uuid.UUID, list[tuple]] = {}
    for case_id, *rest in s.execute(q):
        out.setdefault(case_id, []).append(tuple(rest))
    return out
