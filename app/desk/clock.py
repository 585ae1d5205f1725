"""What time it is for the worker: the desk's own clock corrected by its offset to the district server.

A desk's clock can be days wrong (a flat CMOS battery, a hand-set date). Every answer of the server carries its
clock, and the sync client and enrolment store the measured offset (server minus desk) in ``SyncState``. Use::

    ctx.now()                      # corrected "now": countdowns, case-number dates, deadlines, event times
    ctx.clock.desk_time()          # the desk's own clock: sync bookkeeping, ages of outbox rows
    corrected_time(desk, offset)   # the arithmetic, for one reading

Decision (issue 12, finding 8): a desk action is dated in corrected time. Its case event's ``at`` (and so a
forward's deadline, computed by the desk before the server recomputes it) is ``desk clock + known offset``; its
outbox row keeps the desk's raw clock in ``client_time`` and the offset it applied in ``clock_offset_s`` (NULL
when no offset was ever measured), so the server dates the command ``client_time + clock_offset_s`` — the time the
desk recorded — whatever the offset is when the desk finally pushes. Nothing is ordered by these times: the
outbox order is ``mid`` and a case's history order is its event ``seq``, on the desk and on the server, so a
clock corrected between two actions changes their dates, never their order or how often they apply.

Limit: an offset is what the desk last measured. A clock put right while the desk is offline and before the
next round is not noticed until that round; work in between is dated with the old offset, and the server
caps every date at the time it received the command.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from app.core.offsets import plausible_offset
from models import SyncState, utcnow
from models.sync import SYNC_STATE_ID


def corrected_time(desk_time: dt.datetime, offset_s: float | None) -> dt.datetime:
    """The desk's clock reading corrected by a known offset (unchanged when the offset is not known)."""
    offset_s = plausible_offset(offset_s)
    return desk_time if offset_s is None else desk_time + dt.timedelta(seconds=offset_s)


def known_offset(s: Session) -> float | None:
    """The desk's last measured offset (server minus desk, seconds), read in ``s``'s transaction; None if never."""
    state = s.get(SyncState, SYNC_STATE_ID)
    return plausible_offset(state.clock_offset_s) if state is not None else None


@dataclass(frozen=True)
class ClockReading:
    desk_time: dt.datetime  # the desk's own clock
    offset_s: float | None  # server minus desk as last measured; None: never measured

    @property
    def known(self) -> bool:
        return self.offset_s is not None

    @property
    def corrected(self) -> dt.datetime:
        return corrected_time(self.desk_time, self.offset_s)


class DeskClock:
    """The desk's clock and its known offset. ``source`` is the desk's own clock (injectable for tests).

    The offset is cached: the sync client and enrolment hand over each value they store (:meth:`learned`), and
    the cache is re-read from the database after ``ttl_s`` in case another process (``sync --once``) stored one.
    Reading it opens a short session, so call :meth:`now` before a write transaction, not inside one; inside,
    use :func:`known_offset` with the transaction's session.
    """

    def __init__(self, sessions: sessionmaker[Session] | None, source: Callable[[], dt.datetime] | None = None,
                 ttl_s: float = 2.0):
        self._sessions, self._source, self._ttl_s = sessions, source, ttl_s
        self._lock = threading.Lock()
        self._offset_s: float | None = None
        self._read_at: float | None = None  # time.monotonic() of the last database read

    def desk_time(self) -> dt.datetime:
        """The desk computer's own clock, uncorrected."""
        return self._source() if self._source is not None else utcnow()

    def offset_s(self) -> float | None:
        with self._lock:
            fresh = self._read_at is not None and time.monotonic() - self._read_at < self._ttl_s
            if fresh or self._sessions is None:
                return self._offset_s
        with self._sessions() as s:
            value = known_offset(s)
        self.learned(value)
        return value

    def learned(self, offset_s: float | None) -> None:
        """The offset just stored in ``SyncState`` (by a sync round or enrolment)."""
        with self._lock:
            self._offset_s, self._read_at = plausible_offset(offset_s), time.monotonic()

    def reading(self) -> ClockReading:
        return ClockReading(self.desk_time(), self.offset_s())

    def now(self) -> dt.datetime:
        """What time it is for the worker: the desk's clock corrected by its known offset."""
        return self.reading().corrected
