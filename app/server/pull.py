"""Pull and snapshot: what a desk reads. Read-only transactions; no lock needed because within each stream seqs
commit in order (app/server/changes.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.core.payloads import attachment_payload, case_payload, committee_payload, resident_payload, worker_payload
from app.core.wire import SNAPSHOT_KINDS, Change, PullPage, PullQuery, SnapshotPage, SnapshotQuery, SnapshotStart
from app.server import releases
from app.server.changes import (
    BadCursor,
    Cursor,
    Position,
    calendar_payload,
    catalog_payload,
    parse_cursor,
    scope_of,
)
from app.server.db import ServerDB
from app.server.devices import authenticate
from models import Attachment
from models.server import GLOBAL_SCOPE, CalendarVersion, Case, CatalogVersion, ChangeRow, Committee, Resident, Worker

# The kinds this server's snapshot serves, in the order a desk applies them: attachments (issue 15) after the
# cases and residents they belong to. A desk that does not know a kind ignores its rows.
KINDS = SNAPSHOT_KINDS


class UnknownCursor(Exception):
    """410: the cursor names a change this server does not have (restored from an older backup)."""


def _check_cursor(s: Session, text: str, committee_id: uuid.UUID) -> Cursor:
    """The cursor's position in each of the two streams, each proved to name a row of that stream."""
    try:
        cursor = parse_cursor(text)
    except BadCursor:
        raise UnknownCursor(text) from None
    mine = scope_of(committee_id)
    wanted = {p.seq for p in (cursor.committee, cursor.reference) if p.seq}
    if not wanted:
        return cursor
    found = {seq: (tag, scope) for seq, tag, scope in s.execute(
        select(ChangeRow.seq, ChangeRow.tag, ChangeRow.scope).where(ChangeRow.seq.in_(wanted)))}
    if cursor.single:  # the district-wide log's cursor: that seq in both streams, as the newest row at or before it
        seq = cursor.committee.seq
        if found.get(seq, ("",))[0] != cursor.committee.tag or found[seq][1] not in (mine, GLOBAL_SCOPE):
            raise UnknownCursor(text)
        return Cursor(_newest(s, mine, seq), _newest(s, GLOBAL_SCOPE, seq))
    for position, scope in ((cursor.committee, mine), (cursor.reference, GLOBAL_SCOPE)):
        if position.seq and found.get(position.seq) != (position.tag, scope):
            raise UnknownCursor(text)
    return cursor


def _newest(s: Session, scope: str, at_most: int | None = None) -> Position:
    stmt = select(ChangeRow.seq, ChangeRow.tag).where(ChangeRow.scope == scope)
    if at_most is not None:
        stmt = stmt.where(ChangeRow.seq <= at_most)
    row = s.execute(stmt.order_by(ChangeRow.seq.desc()).limit(1)).first()
    return Position(row.seq, row.tag) if row else Position()


def _after(s: Session, scope: str, position: Position, n: int) -> list[ChangeRow]:
    return list(s.scalars(select(ChangeRow).where(ChangeRow.scope == scope, ChangeRow.seq > position.seq)
                          .order_by(ChangeRow.seq).limit(n)))


def pull(db: ServerDB, token: str | None, query: PullQuery, now: dt.datetime) -> PullPage:
    """Changes after ``query.cursor`` in commit order, from the device's committee's stream and the district's
    reference stream: each stream read from its own position, the two merged by seq. Each stream's rows in a
    page are the first of what that stream holds after its position, so neither position ever skips a row."""
    with db.read_sessions() as s:
        device = authenticate(s, token, now=now)
        cursor = _check_cursor(s, query.cursor, device.committee_id)
        mine = scope_of(device.committee_id)
        merged = sorted(_after(s, mine, cursor.committee, query.limit + 1)
                        + _after(s, GLOBAL_SCOPE, cursor.reference, query.limit + 1), key=lambda r: r.seq)
        has_more = len(merged) > query.limit
        rows = merged[:query.limit]
        committee, reference = cursor.committee, cursor.reference
        for r in rows:
            if r.scope == mine:
                committee = Position.of(r)
            else:
                reference = Position.of(r)
        return PullPage(
            changes=[Change(seq=r.seq, entity=r.entity, id=r.entity_id, data=r.data) for r in rows],
            next_cursor=Cursor(committee, reference).text() if rows else query.cursor, has_more=has_more,
            server_time=now,
            # The desk compares this with what it believes was acknowledged: a restored server has forgotten some.
            last_mid=device.last_mid,
            releases=[r.wire() for r in releases.newest(s)])  # issue 17: the newest package per platform


def snapshot_start(db: ServerDB, token: str | None, now: dt.datetime) -> SnapshotStart:
    """Where a fresh snapshot starts: the cursor to pull from once every page has been read (the newest row of
    each stream; a row of the stream committed later has a higher seq)."""
    with db.read_sessions() as s:
        device = authenticate(s, token, now=now)
        cursor = Cursor(_newest(s, scope_of(device.committee_id)), _newest(s, GLOBAL_SCOPE))
        return SnapshotStart(cursor=cursor.text(), last_mid=device.last_mid, kinds=list(KINDS),
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

