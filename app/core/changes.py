"""What an operation changed, as Anki's core returns ``OpChanges``.

A service that writes returns a :class:`Changes` (or a result carrying one as ``.changes``); the desk
broadcasts it once after the operation, or after a sync round, and each page decides for itself whether it
shows any of that data (``if changes.cases: self.refresh()``). Nothing here says *which* rows changed: a
page re-reads what it shows, which is cheap, and a flag cannot go stale the way a list of ids can.
A read reports nothing (``NO_CHANGES``): a page's own re-read must never announce a change, or pages would
refresh each other without end.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Changes:
    """Kinds of data an operation may have changed. Empty (all False) is falsy; ``a | b`` merges."""

    cases: bool = False  # cases: state, fields, events, deadlines, assignee
    residents: bool = False  # resident records
    print_jobs: bool = False  # documents produced, printed, failed (the to-print list)
    workers: bool = False  # staff accounts: created, locked, unlocked
    settings: bool = False  # committee and desk settings: close of business, paper layout, printer
    catalog: bool = False  # the service-item catalog
    calendar: bool = False  # the working-day calendar
    sync_status: bool = False  # the outbox and the link to the server: pending, set aside, enrolment

    def __or__(self, other: Changes) -> Changes:
        if not isinstance(other, Changes):
            return NotImplemented
        return replace(self, **{f.name: True for f in fields(other) if getattr(other, f.name)})

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    @property
    def queued(self) -> bool:
        """Whether the outbox may have grown: every local case or resident change waits there for the server."""
        return self.cases or self.residents or self.sync_status

    @classmethod
    def everything(cls) -> Changes:
        """For an operation that may have touched anything (a full snapshot from the server)."""
        return cls(**{f.name: True for f in fields(cls)})


NO_CHANGES = Changes()


def changes_of(result: Any) -> Changes:
    """The changes an operation's result reports.

    A :class:`Changes` is itself; any other object reports its ``changes`` attribute when that is a
    :class:`Changes` (e.g. a case detail after an action); a plain tuple of results (``(doc, printer)``)
    reports the union of its parts; anything else reports nothing.
    """
    if isinstance(result, Changes):
        return result
    carried = getattr(result, "changes", None)
    if isinstance(carried, Changes):
        return carried
    if isinstance(result, tuple):
        merged = NO_CHANGES
        for part in result:
            merged = merged | changes_of(part)
        return merged
    return NO_CHANGES
