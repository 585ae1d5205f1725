"""Writing sync commands to the outbox inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.desk.clock import corrected_time, known_offset
from models import OutboxEntry, utcnow


def enqueue(s: Session, name: str, args: dict, acting_worker_id: uuid.UUID | None,
            at: dt.datetime | None = None) -> OutboxEntry:
    """Append a command with the next gap-free ``mid``.

    ``at`` is the time the action is dated on the desk (its case event's ``at``): corrected time, as
    :meth:`AppContext.now` gives it; None means now. The row records the desk's clock offset as known in this
    transaction (``clock_offset_s``, NULL when never measured) and the desk's own clock, ``client_time = at -
    offset``, so the server, which dates the command ``client_time + clock_offset_s``, gives it exactly the time
    the desk recorded even if the clock is put right before the push (app/desk/clock.py).

    Writes are serialised by BEGIN IMMEDIATE (app/db.py), so max()+1 cannot race on the desk.
    """
    offset_s = known_offset(s)
    if at is None:
        at = corrected_time(utcnow(), offset_s)
    desk_time = at - dt.timedelta(seconds=offset_s) if offset_s is not None else at
    last = s.scalar(select(func.max(OutboxEntry.mid))) or 0
    entry = OutboxEntry(mid=last + 1, name=name, args=_jsonable(args), acting_worker_id=acting_worker_id,
                        client_time=desk_time, clock_offset_s=offset_s)
    s.add(entry)
    return entry


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value
