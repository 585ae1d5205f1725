"""Writing sync commands to the outbox inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import OutboxEntry, utcnow


def enqueue(s: Session, name: str, args: dict, acting_worker_id: uuid.UUID | None,
            at: dt.datetime | None = None) -> OutboxEntry:
    """Append a command with the next gap-free ``mid``.

    Writes are serialised by BEGIN IMMEDIATE (app/db.py), so max()+1 cannot race on the desk.
    """
    last = s.scalar(select(func.max(OutboxEntry.mid))) or 0
    entry = OutboxEntry(mid=last + 1, name=name, args=_jsonable(args), acting_worker_id=acting_worker_id,
                        client_time=at or utcnow())
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
