"""In-process sliding-window rate limits for the endpoints a guesser would hammer (enrolment, token renewal).

A dictionary of recent attempt times per key: no new dependency, nothing stored. A key is e.g.
``("enroll-ip", "10.0.0.7")``; :meth:`SlidingWindow.hit` records an attempt and says how many seconds to wait
when the key is over its limit.

The table is the process's own. With ``server --workers N`` (issue 18) each worker counts only the requests it
answered, and the kernel hands each new connection to whichever worker accepts first, so a guesser opening
fresh connections gets up to N times a limit before every worker refuses it. Dividing the limits by N would
not fix that (one kept-alive connection stays with one worker and would get an N-th of the limit); a shared
count (in the database) would, at a write per failed attempt. N times the limits still leaves guessing
hopeless: a one-time enrolment code is 10 characters of 31 and lives 15 minutes.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

MAX_KEYS = 100_000  # a flood of distinct keys (spoofed committee codes) cannot grow the table without bound


@dataclass(frozen=True)
class Limit:
    attempts: int
    per_s: float


# Enrolment: failed codes per client address and per committee code named; a desk that mistypes its code a few
# times waits a minute, 300 guesses in a second are answered 429 after the first few.
ENROLL_FAILURES_PER_IP = Limit(10, 60.0)
ENROLL_FAILURES_PER_COMMITTEE = Limit(20, 60.0)
# Token renewal: a desk asks about once a round; anything beyond this per address is not a desk.
TOKEN_RENEW_PER_IP = Limit(30, 60.0)

LIMITED_MESSAGE = "尝试过于频繁，请 {seconds} 秒后再试"


class SlidingWindow:
    """Attempts per key within the last ``limit.per_s`` seconds; thread-safe (FastAPI runs sync routes in threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: Hashable, limit: Limit) -> int | None:
        """Seconds to wait when ``key`` already used up its attempts, else None (records nothing)."""
        now = self._clock()
        with self._lock:
            hits = self._recent(key, limit, now)
            if hits is None or len(hits) < limit.attempts:
                return None
            return max(1, math.ceil(hits[0] + limit.per_s - now))

    def record(self, key: Hashable, limit: Limit) -> None:
        now = self._clock()
        with self._lock:
            hits = self._recent(key, limit, now)
            if hits is None:
                if len(self._hits) >= MAX_KEYS:
                    self._prune(now, limit)
                hits = self._hits[key] = deque()
            hits.append(now)

    def hit(self, key: Hashable, limit: Limit) -> int | None:
        """Record an attempt; seconds to wait when it is one too many (then it is not recorded)."""
        wait = self.retry_after(key, limit)
        if wait is None:
            self.record(key, limit)
        return wait

    def _recent(self, key: Hashable, limit: Limit, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - limit.per_s:
            hits.popleft()
        return hits

    def _prune(self, now: float, limit: Limit) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - limit.per_s]:
            del self._hits[key]
        if len(self._hits) >= MAX_KEYS:  # still full of live keys: forget the oldest half
            for key in list(self._hits)[: MAX_KEYS // 2]:
                del self._hits[key]
