"""How far a desk's clock may be from the server's and still be corrected (desk and server alike). Apart from
app/core/wire.py so that the desk's clock, read at start-up, does not load the sync protocol's pydantic models."""

from __future__ import annotations

import math

MAX_CLOCK_OFFSET_S = 20 * 366 * 86400.0  # a desk clock offset beyond 20 years is a broken measurement, not a clock


def plausible_offset(offset_s: float | None) -> float | None:
    """A desk's clock offset (seconds) if it can be used to correct a time, else None (treated as unknown)."""
    if offset_s is None or not math.isfinite(offset_s) or abs(offset_s) > MAX_CLOCK_OFFSET_S:
        return None
    return float(offset_s)
