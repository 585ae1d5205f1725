"""Pull and snapshot: what a desk reads. Read-only transactions; no lock needed because seqs commit in order."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.core.payloads import attachment_payload, case_payload, committee_payload, resident_payload, worker_payload
from app.core.wire import SNAPSHOT_KINDS, Change, PullPage, PullQuery, SnapshotPage, SnapshotQuery, SnapshotStart
from app.server import releases
from app.server.changes import BadCursor, calendar_payload, catalog_payload, format_cursor, parse_cursor, scope_of
from app.server.db import ServerDB
from app.server.devices import authenticate
from models import Attachment
from models.server import GLOBAL_SCOPE, CalendarVersion, Case, CatalogVersion, ChangeRow, Committee, Resident, Worker

# The kinds this server's snapshot serves, in the order a desk applies them: attachments (issue 15) after the
# cases and residents they belong to. A desk that does not know a kind ignores its rows.
KINDS = SNAPSHOT_KINDS


class UnknownCursor(Exception):
    """410: the cursor names a change this server does not have (restored from an older backup)."""


def _scopes(committee_id: uuid.UUID):
    return ChangeRow.scope.in_((scope_of(committee_id), GLOBAL_SCOPE))


def _check_cursor(s: Session, cursor: str) -> int:
    try:
        seq, tag = parse_cursor(cursor)
    except BadCursor:
        raise UnknownCursor(cursor) from None
    if seq:
        row = s.get(ChangeRow, seq)
        if row is None or row.tag != tag:
            raise UnknownCursor(cursor)
    return seq


def pull(db: ServerDB, token: str | None, query: PullQuery, now: dt.datetime) -> PullPage:
    """Changes after ``query.cursor`` in commit order, for the device's committee plus district-wide reference data."""
    with db.read_sessions() as s:
        device = authenticate(s, token, now=now)
        seq = _check_cursor(s, query.cursor)
        rows = list(s.scalars(select(ChangeRow).where(_scopes(device.committee_id), ChangeRow.seq > seq)
                              .order_by(ChangeRow.seq).limit(query.limit + 1)))
        has_more = len(rows) > query.limit
        rows = rows[:query.limit]
        return PullPage(
            changes=[Change(seq=r.seq, entity=r.entity, id=r.entity_id, data=r.data) for r in rows],
            next_cursor=format_cursor(rows[-1]) if rows else query.cursor, has_more=has_more, server_time=now,
            # The desk compares this with what it believes was acknowledged: a restored server has forgotten some.
            last_mid=device.last_mid,
            releases=[r.wire() for r in releases.newest(s)])  # issue 17: the newest package per platform


def snapshot_start(db: ServerDB, token: str | None, now: dt.datetime) -> SnapshotStart:
    """Where a fresh snapshot starts: the cursor to pull from once every page has been read."""
    with db.read_sessions() as s:
        device = authenticate(s, token, now=now)
        top = s.scalar(select(func.max(ChangeRow.seq)).where(_scopes(device.committee_id)))
        row = s.get(ChangeRow, top) if top else None
        return SnapshotStart(cursor=format_cursor(row), last_mid=device.last_mid, kinds=list(KINDS),
                             server_time=now)


def _page(s: Session, model, committee_id: uuid.UUID, after: str, limit: int, options=()) -> list:
    stmt = select(model).where(model.committee_id == committee_id).order_by(model.id).limit(limit + 1)
    if after:
        stmt = stmt.where(model.id > uuid.UUID(after))
    return list(s.scalars(stmt.options(*options)))


def _reference_rows(s: Session, kind: str) -> list[dict]:
    if kind == "calendar":
        return [calendar_payload(cv) for cv in s.scalars(select(CalendarVersion).order_by(CalendarVersion.year,
                                                                                         CalendarVersion.version))]
    latest = s.scalars(select(CatalogVersion).order_by(CatalogVersion.published_at.desc()).limit(1)).first()
    return [catalog_payload(latest)] if latest else []


def snapshot_page(db: ServerDB, token: str | None, query: SnapshotQuery, now: dt.datetime) -> SnapshotPage:
    """One page of the committee's current state; pages are keyed by id so they can be resumed."""
    kind, after, limit = query.kind, query.after, query.limit
    if kind not in KINDS:
        raise ValueError(kind)
    with db.read_sessions() as s:
        device = authenticate(s, token, now=now)
        if kind == "committee":
            rows, more = [committee_payload(s.get_one(Committee, device.committee_id))], False
        elif kind in ("calendar", "catalog"):
            rows, more = _reference_rows(s, kind), False
        else:
            by_kind: dict[str, tuple[type, Callable[[Any], dict], tuple]] = {
                "worker": (Worker, worker_payload, ()), "resident": (Resident, resident_payload, ()),
                "case": (Case, case_payload, (selectinload(Case.events),)),
                "attachment": (Attachment, attachment_payload, ())}
            model, dump, options = by_kind[kind]
            objs = _page(s, model, device.committee_id, after, limit, options)
            more, objs = len(objs) > limit, objs[:limit]
            rows = [dump(o) for o in objs]
        return SnapshotPage(kind=kind, rows=rows, has_more=more, next_after=rows[-1]["id"] if rows and more else "",
                            server_time=now)

