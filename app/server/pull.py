"""Pull and snapshot: what a desk reads. Read-only transactions; no lock needed because within each stream seqs
commit in order (app/server/changes.py)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

from pydantic_core import to_json
from sqlalchemy import Row, Text, cast, select
from sqlalchemy.orm import Session

from app.core.payloads import committee_payload
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
from app.server.snapshot import EncodedRow, encode, page_json, read_page
from models.server import GLOBAL_SCOPE, CalendarVersion, CatalogVersion, ChangeRow, Committee

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


# What a pull reads of a change row: its payload as the stored JSON text, spliced into the answer unparsed (a
# case's row is ~10 KB; parsing a page of them and writing them out again cost three times the read, issue 18).
_PULLED = (ChangeRow.seq, ChangeRow.tag, ChangeRow.scope, ChangeRow.entity, ChangeRow.entity_id,
           cast(ChangeRow.data, Text).label("data"))


def _after(s: Session, scope: str, position: Position, n: int) -> list[Row]:
    return list(s.execute(select(*_PULLED).where(ChangeRow.scope == scope, ChangeRow.seq > position.seq)
                          .order_by(ChangeRow.seq).limit(n)))


@dataclass(frozen=True)
class _Pulled:
    """A pull page as read: the rows (payloads as JSON text) and the answer's other fields."""

    rows: list[Row]
    next_cursor: str
    has_more: bool
    last_mid: int
    releases: list[dict]


def _pull(db: ServerDB, token: str | None, query: PullQuery, now: dt.datetime) -> _Pulled:
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
                committee = Position(r.seq, r.tag)
            else:
                reference = Position(r.seq, r.tag)
        return _Pulled(rows, Cursor(committee, reference).text() if rows else query.cursor, has_more,
                       # The desk compares this with what it believes was acknowledged: a restored server has
                       # forgotten some.
                       device.last_mid,
                       [r.wire() for r in releases.newest(s)])  # issue 17: the newest package per platform


def _answer(got: _Pulled, changes: list[Change], now: dt.datetime) -> PullPage:
    return PullPage(changes=changes, next_cursor=got.next_cursor, has_more=got.has_more, server_time=now,
                    last_mid=got.last_mid, releases=got.releases)


def pull(db: ServerDB, token: str | None, query: PullQuery, now: dt.datetime) -> PullPage:
    """The pull page as a model, payloads parsed (in-process callers; the route sends :func:`pull_json`)."""
    got = _pull(db, token, query, now)
    return _answer(got, [Change(seq=r.seq, entity=r.entity, id=r.entity_id, data=json.loads(r.data))
                         for r in got.rows], now)


def pull_json(db: ServerDB, token: str | None, query: PullQuery, now: dt.datetime) -> bytes:
    """:func:`pull` as the JSON body the route sends: the envelope written by the model, each change's payload
    the JSON text the change log stores, not parsed and written again (the same JSON values, so the desk reads
    the same page: tests/test_sync_streams.py)."""
    got = _pull(db, token, query, now)
    envelope = _answer(got, [], now).model_dump_json(exclude={"changes"}).encode()
    parts = [b'{"changes":[']
    for i, r in enumerate(got.rows):
        parts.append(b'%s{"seq":%d,"entity":%s,"id":%s,"data":%s}' % (
            b"," if i else b"", r.seq, to_json(r.entity), to_json(r.entity_id), r.data.encode()))
    parts.append(b"],")
    parts.append(envelope[1:])
    return b"".join(parts)


def snapshot_start(db: ServerDB, token: str | None, now: dt.datetime) -> SnapshotStart:
    """Where a fresh snapshot starts: the cursor to pull from once every page has been read (the newest row of
    each stream; a row of the stream committed later has a higher seq)."""
    with db.read_sessions() as s:
        device = authenticate(s, token, now=now)
        cursor = Cursor(_newest(s, scope_of(device.committee_id)), _newest(s, GLOBAL_SCOPE))
        return SnapshotStart(cursor=cursor.text(), last_mid=device.last_mid, kinds=list(KINDS),
                             server_time=now)


def _page(s: Session, kind: str, committee_id: uuid.UUID, after: str, limit: int) -> tuple[list[EncodedRow], bool]:
    """A page of the committee's workers, residents, cases or attachments by id, with core SELECTs
    (app/server/snapshot.py): (rows, has_more)."""
    return read_page(s, kind, committee_id, after, limit)


def _reference_rows(s: Session, kind: str) -> list[dict]:
    if kind == "calendar":
        return [calendar_payload(cv) for cv in s.scalars(select(CalendarVersion).order_by(CalendarVersion.year,
                                                                                         CalendarVersion.version))]
    latest = s.scalars(select(CatalogVersion).order_by(CatalogVersion.published_at.desc()).limit(1)).first()
    return [catalog_payload(latest)] if latest else []


def _snapshot_rows(db: ServerDB, token: str | None, query: SnapshotQuery,
                   now: dt.datetime) -> tuple[list[EncodedRow], bool]:
    kind, after, limit = query.kind, query.after, query.limit
    if kind not in KINDS:
        raise ValueError(kind)
    with db.read_sessions() as s:
        device = authenticate(s, token, now=now)
        if kind == "committee":
            return [encode(committee_payload(s.get_one(Committee, device.committee_id)))], False
        if kind in ("calendar", "catalog"):
            return [encode(r) for r in _reference_rows(s, kind)], False
        return _page(s, kind, device.committee_id, after, limit)


def snapshot_page(db: ServerDB, token: str | None, query: SnapshotQuery, now: dt.datetime) -> SnapshotPage:
    """One page of the committee's current state; pages are keyed by id so they can be resumed. A page holds
    ``query.limit`` rows or fewer: it also ends once its rows' JSON reaches ``wire.MAX_SNAPSHOT_BYTES``."""
    rows, more = _snapshot_rows(db, token, query, now)
    return SnapshotPage(kind=query.kind, rows=[r.data for r in rows], has_more=more,
                        next_after=rows[-1].id if rows and more else "", server_time=now)


def snapshot_page_json(db: ServerDB, token: str | None, query: SnapshotQuery, now: dt.datetime) -> bytes:
    """:func:`snapshot_page` as the JSON body the route sends: each row encoded once, no response model pass."""
    rows, more = _snapshot_rows(db, token, query, now)
    return page_json(query.kind, rows, more, now)

