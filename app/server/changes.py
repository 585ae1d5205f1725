"""The change log that pulls read. Writers hold the lock row (app.server.db.take_lock) while they allocate seqs.

A cursor is ``"<seq>-<tag>"``: the seq of the last row a desk received plus that row's random tag. A server
restored from an older backup has either no row at that seq or a different tag there, so the cursor is
recognised as unknown (410) instead of silently skipping the changes made since.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from sqlalchemy.orm import Session

from app.core.payloads import attachment_payload, case_payload, committee_payload, resident_payload, worker_payload
from app.core.wire import MAX_SEQ
from models import Attachment
from models.server import (
    GLOBAL_SCOPE,
    CalendarVersion,
    Case,
    CatalogVersion,
    ChangeRow,
    Committee,
    Resident,
    SyncLock,
    Worker,
)

CURSOR_START = "0"


class BadCursor(ValueError):
    """The cursor is not one this server ever handed out."""


def format_cursor(row: ChangeRow | None) -> str:
    return CURSOR_START if row is None else f"{row.seq}-{row.tag}"


def parse_cursor(text: str) -> tuple[int, str]:
    if text in ("", CURSOR_START):
        return 0, ""
    seq, sep, tag = text.partition("-")
    if not sep or not seq.isascii() or not seq.isdigit() or len(seq) > 19 or not tag or int(seq) > MAX_SEQ:
        raise BadCursor(text)  # a seq beyond the database's BIGINT was never handed out either
    return int(seq), tag


def scope_of(committee_id: uuid.UUID) -> str:
    return str(committee_id)


def calendar_payload(cv: CalendarVersion) -> dict:
    return {"id": str(cv.id), "year": cv.year, "version": cv.version, "content": cv.content}


def catalog_payload(cv: CatalogVersion) -> dict:
    return {"id": str(cv.id), "version": cv.version, "content_hash": cv.content_hash, "files": cv.files,
            "published_at": cv.published_at.isoformat()}


class ChangeWriter:
    """Appends change rows within the caller's transaction; the caller must already hold ``lock``."""

    def __init__(self, s: Session, lock: SyncLock, now: dt.datetime):
        self.s, self.lock, self.now = s, lock, now
        self.rows: list[ChangeRow] = []

    def emit(self, scope: str, entity: str, entity_id: uuid.UUID | str, data: dict) -> ChangeRow:
        self.lock.last_seq += 1
        row = ChangeRow(seq=self.lock.last_seq, tag=secrets.token_hex(4), scope=scope, entity=entity,
                        entity_id=str(entity_id), data=data, committed_at=self.now)
        self.s.add(row)
        self.rows.append(row)
        return row

    def committee(self, c: Committee) -> None:
        self.emit(scope_of(c.id), "committee", c.id, committee_payload(c))

    def worker(self, w: Worker) -> None:
        self.emit(scope_of(w.committee_id), "worker", w.id, worker_payload(w))

    def resident(self, r: Resident) -> None:
        self.emit(scope_of(r.committee_id), "resident", r.id, resident_payload(r))

    def case(self, c: Case) -> None:
        self.emit(scope_of(c.committee_id), "case", c.id, case_payload(c))

    def attachment(self, a: Attachment) -> None:
        self.emit(scope_of(a.committee_id), "attachment", a.id, attachment_payload(a))

    def calendar(self, cv: CalendarVersion) -> None:
        self.emit(GLOBAL_SCOPE, "calendar", cv.id, calendar_payload(cv))

    def catalog(self, cv: CatalogVersion) -> None:
        self.emit(GLOBAL_SCOPE, "catalog", cv.id, catalog_payload(cv))
