"""How the statistics read a period (issue 16): the raw values, the period's case rows and its cases' events.

Split from :mod:`app.core.stats` (which counts): these read. A period is two range reads, on the desk from the
covering indexes of migration 0009 (``ix_desk_case_stats``, ``ix_desk_event_stats``) through the session's
DB-API cursor; on the server through the Core connection. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import String, func, literal_column, select, type_coerce
from sqlalchemy.orm import Session

from app.core.stats_types import _UTC, CHINA_OFFSET, Period
from app.core.vocabulary import REQUEST_ITEM_CODE
from models import Case, CaseEvent, Committee, Worker

_CN_FIXED = dt.timezone(CHINA_OFFSET, "CST")


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


_CASE_COLS = (_raw(Case.id), _raw(Case.committee_id), _raw(Case.accepted_at), Case.state, Case.item_code,
              Case.item_name, Case.department, Case.forwarded_at.is_not(None), Case.acceptance_mode, Case.rating,
              Case.followup_fixed_at.is_not(None))


# The service figures (办件量 …) leave the 诉求 out (issue 20: counted apart by app/core/request_stats.py). Every
# request carries the item code "SQ", which the covering index ix_desk_case_stats holds (its kind column it does
# not), so the case rows are still read from the index alone.
SERVICE_CASES = Case.item_code != REQUEST_ITEM_CODE

# Events more than this after the period's end are read only for the cases touched since (an old period's
# cases rarely are): the range read below stays a few weeks long whatever the age of the period.
_LATE_AFTER = dt.timedelta(days=3)
# Desk clocks may differ by a little; no event of a case comes a day before its acceptance.
_CLOCK_SLACK = dt.timedelta(days=1)


def _due_expr(s: Session) -> Any:
    """A forwarding's deadline from its event's detail. On the desk (SQLite) written exactly as the covering
    index ``ix_desk_event_stats`` (migration 0009) holds it, so the events are read from that index alone."""
    if s.get_bind().dialect.name == "sqlite":
        return func.json_extract(CaseEvent.detail, literal_column("'$.due_at'"))
    return CaseEvent.detail["due_at"].as_string()


def _read(s: Session, q: Any, batch: int = 5000) -> Iterator[Any]:
    """The rows of ``q`` as the driver hands them, in batches. On the desk's SQLite the statement is rendered
    with its values inline (ids, instants and action names of this module, never user text) and run on the
    session's own DB-API connection: SQLAlchemy's result machinery costs about twice the read itself on a year
    of rows. Elsewhere (the server's PostgreSQL) through the Core connection, without per-value processing."""
    conn = s.connection()
    if conn.dialect.name != "sqlite":  # a server-side cursor for this statement only, closed however it ends
        with conn.execute(q.execution_options(yield_per=batch)) as result:
            yield from result
        return
    sql = str(q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql)
        while chunk := cur.fetchmany(batch):
            yield from chunk
    finally:
        cur.close()


def _event_lists(s: Session, where: list[Any], period: Period, now: dt.datetime,
                 actions: Sequence[str]) -> dict[Any, list[tuple]]:
    """The events of ``actions`` of the period's cases, by raw case id, each list in order, as (case raw, seq,
    action, at raw, due raw, worker raw). Read by time (every event of a case of the period comes after the
    period's start) through an index, not case by case: a year of events is one range read. May hold events of
    other cases too (touched in the same weeks); callers look up the period's cases only."""
    start, end = period.bounds()
    cols = (_raw(CaseEvent.case_id), CaseEvent.seq, CaseEvent.action, _raw(CaseEvent.at), _due_expr(s),
            _raw(CaseEvent.worker_id))
    bound = end + _LATE_AFTER
    q = select(*cols).where(CaseEvent.action.in_(list(actions)), CaseEvent.at >= start - _CLOCK_SLACK)
    if bound < now:
        q = q.where(CaseEvent.at < bound)
    out: dict[Any, list[tuple]] = {}
    for row in _read(s, q, 20_000):
        lst = out.get(row[0])
        if lst is None:
            out[row[0]] = [row]
        else:
            lst.append(row)
    if bound < now:  # the period's cases changed after the bound (few): all their events, case by case
        late_ids = [_uuid(r[0]) for r in _read(s, select(_raw(Case.id)).where(*where, Case.updated_at >= bound))]
        late: dict[Any, list[tuple]] = {}
        for i in range(0, len(late_ids), 500):
            q = select(*cols).where(CaseEvent.case_id.in_(late_ids[i:i + 500]), CaseEvent.action.in_(list(actions)))
            for row in _read(s, q):
                late.setdefault(row[0], []).append(row)
        out.update(late)
    for lst in out.values():
        if len(lst) > 1:
            lst.sort(key=lambda e: e[1])
    return out


def _cases(s: Session, where: list[Any], extra: Sequence[Any] = (), ordered: bool = False,
           batch: int = 5000) -> Any:
    """The period's case rows (:data:`_CASE_COLS` + ``extra``), streamed through the Core connection without
    per-value type processing; in acceptance order when ``ordered``."""
    q = select(*_CASE_COLS, *extra).select_from(Case).where(*where, SERVICE_CASES)
    if ordered:
        q = q.order_by(Case.accepted_at, Case.id)
    return _read(s, q, batch)


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
