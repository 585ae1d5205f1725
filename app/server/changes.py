"""The change log that pulls read, as streams: one per committee plus one of district-wide reference data
(issue 18). A writer holds its stream's lock (app.server.db.take_lock) while it allocates seqs, so within a
stream seq order is commit order; seqs are unique across streams (one sequence), so a row is named by its seq.

A desk reads two streams, its committee's and the reference one, and its cursor holds a position in each:
``"<seq>-<tag>.<seq>-<tag>"`` (committee, reference), each the last row received from that stream plus that
row's random tag, or ``0`` before the first. A server restored from an older backup has either no row at such
a seq or a different tag there, so the cursor is recognised as unknown (410) instead of silently skipping the
changes made since. A cursor of the single district-wide log (``"<seq>-<tag>"``, before issue 18) still
works: that log was in commit order, so the position is the same seq in both streams.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.core.payloads import attachment_payload, case_payload, committee_payload, resident_payload, worker_payload
from app.core.wire import MAX_SEQ
from app.server.db import bulk_insert, next_seqs, take_lock
from models import Attachment
from models.server import (
    GLOBAL_SCOPE,
    CalendarVersion,
    Case,
    CatalogVersion,
    ChangeRow,
    ChangeStream,
    Committee,
    Resident,
    Worker,
)

CURSOR_START = "0"


class BadCursor(ValueError):
    """The cursor is not one this server ever handed out."""


@dataclass(frozen=True)
class Position:
    """The last row a desk received from one stream (seq 0: none yet)."""

    seq: int = 0
    tag: str = ""

    @classmethod
    def of(cls, row: ChangeRow | None) -> Position:
        return cls() if row is None else cls(row.seq, row.tag)

    def text(self) -> str:
        return CURSOR_START if not self.seq else f"{self.seq}-{self.tag}"


@dataclass(frozen=True)
class Cursor:
    committee: Position = Position()
    reference: Position = Position()
    single: bool = False  # a cursor of the district-wide log before issue 18: one row, in one of the two streams

    def text(self) -> str:
        if not self.committee.seq and not self.reference.seq:
            return CURSOR_START
        return f"{self.committee.text()}.{self.reference.text()}"


def _position(text: str) -> Position:
    if text in ("", CURSOR_START):
        return Position()
    seq, sep, tag = text.partition("-")
    if (not sep or not seq.isascii() or not seq.isdigit() or len(seq) > 19 or not tag or len(tag) > 16
            or int(seq) > MAX_SEQ):
        raise BadCursor(text)  # a seq beyond the database's BIGINT was never handed out either
    return Position(int(seq), tag)


def parse_cursor(text: str) -> Cursor:
    parts = text.split(".")
    if len(parts) == 1:
        p = _position(text)
        return Cursor(p, p, single=bool(p.seq))
    if len(parts) != 2:
        raise BadCursor(text)
    return Cursor(_position(parts[0]), _position(parts[1]))


def scope_of(committee_id: uuid.UUID) -> str:
    return str(committee_id)


def calendar_payload(cv: CalendarVersion) -> dict:
    return {"id": str(cv.id), "year": cv.year, "version": cv.version, "content": cv.content}


def catalog_payload(cv: CatalogVersion) -> dict:
    return {"id": str(cv.id), "version": cv.version, "content_hash": cv.content_hash, "files": cv.files,
            "published_at": cv.published_at.isoformat()}


class ChangeWriter:
    """Appends change rows within the caller's transaction, each in its entity's stream: a committee's data in
    the committee's stream, reference data in the district's. The stream's lock is taken here if the caller
    does not hold it yet; a push takes its committee's first, before it reads what it changes.

    ``emit`` writes one row at once; ``queue`` + ``write`` write a batch's rows with one seq query and one
    multi-row INSERT (the push path)."""

    def __init__(self, s: Session, lock: ChangeStream | dt.datetime | None = None, now: dt.datetime | None = None):
        if isinstance(lock, dt.datetime):  # ChangeWriter(s, now)
            lock, now = None, lock
        assert now is not None
        self.s, self.now = s, now
        self.rows: list[ChangeRow] = []
        self._queued: list[tuple[str, str, str, dict]] = []

    def _stream(self, scope: str) -> ChangeStream:
        return take_lock(self.s, scope)

    def emit(self, scope: str, entity: str, entity_id: uuid.UUID | str, data: dict) -> ChangeRow:
        stream = self._stream(scope)
        (seq,) = next_seqs(self.s, 1)
        stream.last_seq = seq
        row = ChangeRow(seq=seq, tag=secrets.token_hex(4), scope=scope, entity=entity,
                        entity_id=str(entity_id), data=data, committed_at=self.now)
        self.s.add(row)
        self.rows.append(row)
        return row

    def queue(self, scope: str, entity: str, entity_id: uuid.UUID | str, data: dict) -> None:
        self._stream(scope)
        self._queued.append((scope, entity, str(entity_id), data))

    def write(self) -> int:
        """Write the queued rows in the order queued; returns how many."""
        queued, self._queued = self._queued, []
        if not queued:
            return 0
        seqs = next_seqs(self.s, len(queued))
        rows: list[dict] = [
            {"seq": seq, "tag": secrets.token_hex(4), "scope": scope, "entity": entity, "entity_id": eid,
             "data": data, "committed_at": self.now}
                for seq, (scope, entity, eid, data) in zip(seqs, queued, strict=True)]
        bulk_insert(self.s, ChangeRow.__table__, rows)
        for seq, (scope, *_rest) in zip(seqs, queued, strict=True):
            self._stream(scope).last_seq = seq
        return len(rows)

    def committee(self, c: Committee) -> None:
        self.emit(scope_of(c.id), "committee", c.id, committee_payload(c))

    def worker(self, w: Worker) -> None:
        self.emit(scope_of(w.committee_id), "worker", w.id, worker_payload(w))

    def resident(self, r: Resident, *, bulk: bool = False) -> None:
        (self.queue if bulk else self.emit)(scope_of(r.committee_id), "resident", r.id, resident_payload(r))

    def case(self, c: Case, *, bulk: bool = False) -> None:
        (self.queue if bulk else self.emit)(scope_of(c.committee_id), "case", c.id, case_payload(c))

    def attachment(self, a: Attachment, *, bulk: bool = False) -> None:
        (self.queue if bulk else self.emit)(scope_of(a.committee_id), "attachment", a.id, attachment_payload(a))

    def calendar(self, cv: CalendarVersion) -> None:
        self.emit(GLOBAL_SCOPE, "calendar", cv.id, calendar_payload(cv))

    def catalog(self, cv: CatalogVersion) -> None:
        self.emit(GLOBAL_SCOPE, "catalog", cv.id, catalog_payload(cv))
