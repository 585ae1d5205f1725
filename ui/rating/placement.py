"""Which screen the resident faces (一次一评 at the desk): a pure choice, tested without a display."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

S = TypeVar("S")


def resident_screen(screens: Sequence[S], worker_screen: S | None) -> S | None:
    """The screen for the resident's rating window: one other than the worker's, when the PC has more than one
    (the first such screen in the system's order); None with a single screen (the worker turns it toward the
    resident). ``worker_screen`` is the screen the desk's main window is on; unknown (None) or not among
    ``screens``, the first screen is taken as the worker's."""
    if len(screens) < 2:
        return None
    worker = worker_screen if any(s is worker_screen for s in screens) else screens[0]
    return next(s for s in screens if s is not worker)
