"""How long a desk waits before its next sync round after failed ones."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(failures: int, *, base: float = 2.0, cap: float = 300.0,
                  rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``failures`` consecutive failed rounds: exponential, capped, full jitter.

    Full jitter (a uniform draw below the exponential bound) keeps hundreds of desks that lost the server at
    the same moment from all coming back at the same moment.
    """
    if failures <= 0:
        return 0.0
    bound = min(cap, base * 2 ** min(failures - 1, 30))
    return max(0.5, rng() * bound)
