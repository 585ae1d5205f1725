"""The outbox as the push reads and realigns it (app/desk/sync/client.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import uuid
from collections.abc import Iterator
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from app.core.commands import ACK
from models import OutboxEntry
from models.outbox import OUTBOX_PENDING


class Queued(NamedTuple):
    """An outbox row as the push reads it."""

    mid: int
    mutation_id: uuid.UUID
    name: str
    args: dict | None
    acting_worker_id: uuid.UUID | None
    client_time: dt.datetime
    clock_offset_s: float | None
    result: dict | None


def sent_args(o: Queued) -> dict:
    """A command the server had acknowledged, sent again after a restore, carries the time the server gave it then
    (app/server/held.py): the history comes back with the times it had."""
    args, at = o.args or {}, (o.result or {}).get("at")
    return {**args, ACK: {"at": at}} if isinstance(at, str) else args


def resend_after(s: Session, last_mid: int) -> int:
    """The server says it holds commands up to ``last_mid`` only: mark later acknowledged ones to be sent again."""
    # An UPDATE's result is a CursorResult; Session.execute is typed as returning the general Result.
    done = cast(CursorResult[Any], s.execute(update(OutboxEntry)
                                             .where(OutboxEntry.mid > last_mid, OutboxEntry.status != OUTBOX_PENDING)
                                             .values(status=OUTBOX_PENDING)))
    return done.rowcount or 0


def renumber_pending(s: Session, last_mid: int) -> None:
    """Give unsent commands fresh mids after both the server's ``last_mid`` and every sent command."""
    sent_max = s.scalar(select(func.max(OutboxEntry.mid)).where(OutboxEntry.status != OUTBOX_PENDING)) or 0
    base = max(last_mid, sent_max)
    pending = list(s.scalars(select(OutboxEntry).where(OutboxEntry.status == OUTBOX_PENDING).order_by(OutboxEntry.mid)))
    for i, entry in enumerate(pending):  # two steps, so no new mid collides with an old one on the way
        entry.mid = -(i + 1)
    s.flush()
    for i, entry in enumerate(pending):
        entry.mid = base + i + 1
    s.flush()


# While a round runs, Python's collector would look for cycles every 700 new objects: parsing an answer or a pull
# page makes tens of thousands of dicts that all stay alive until written, so those collections free nothing and
# cost about as much as the parsing (issue 18). For the round, collected rarely; as before afterwards.
ROUND_GC_THRESHOLDS = (50_000, 20, 10)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*ROUND_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
