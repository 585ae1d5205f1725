"""Snapshot pages read with core SELECTs and written as JSON once (issue 18, fast first download).

A fresh desk downloads its committee's whole state page by page (app/server/pull.py ``snapshot_page``). Loading
thousands of ORM objects with their events, dumping them to dicts and letting the response model serialise
the page cost more than everything else together, so a page is read here as plain rows — a table's rows by id,
then the events of those cases in one query — turned into the same payloads :mod:`app.core.payloads` writes
(equal dicts: tests/test_snapshot_pages.py), and each row encoded to JSON once. The page stops at the rows the
desk asked for or at :data:`~app.core.wire.MAX_SNAPSHOT_BYTES` of rows, whichever comes first (always at least
one row), so a page of large cases still fits the desk's memory and the proxy's limits.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from pydantic_core import to_json
from sqlalchemy import JSON, Column, ColumnElement, Date, String, Table, Text, Uuid, cast, select, text
from sqlalchemy.orm import Session

from app.core.payloads import WORKER_LOCAL_COLUMNS
from app.core.wire import MAX_SNAPSHOT_BYTES, SnapshotPage
from models import Attachment, UTCDateTime
from models.server import Case, CaseEvent, Resident, Worker

# Rows read per query: a page of thousands of cases is read in a few of these, so a page cut short by its byte
# bound reads little more than it sends.
CHUNK_ROWS = 1000


class EncodedRow:
    """One payload row as the JSON text the desk receives, and as a dict for in-process callers (parsed from
    the text the first time it is asked for when the row was written by PostgreSQL)."""

    __slots__ = ("_data", "id", "json")

    def __init__(self, id: str, data: dict[str, Any] | None, json_text: bytes):
        self.id, self._data, self.json = id, data, json_text

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(self.json)
        return self._data


def _uuid_text(text: str) -> str:
    """A UUID column read as text (PostgreSQL: the canonical form; SQLite: the 32 hex digits SQLAlchemy stores)
    in the canonical form ``str(uuid.UUID(...))`` gives."""
    if len(text) == 32:
        text = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text.lower() if len(text) == 36 else str(uuid.UUID(text))


def _json_text(text: str) -> Any:
    """A JSON column read as its stored text: most are empty, which need no parser."""
    if text == "null":
        return None
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return json.loads(text)


def _iso(value: dt.date) -> str:
    return value.isoformat()


def _selected(column: Column) -> tuple[ColumnElement[Any], Callable[[Any], Any] | None]:
    """What to select for ``column`` and how its value becomes what app.core.payloads.to_json makes of it. UUIDs
    and JSON are read as the database's text: building a Python object per value only to turn it back into
    text cost more than the rest of the page."""
    if isinstance(column.type, Uuid):
        return cast(column, String), _uuid_text
    if isinstance(column.type, JSON):
        return cast(column, Text), _json_text
    if isinstance(column.type, (UTCDateTime, Date)):
        return column, _iso
    return column, None


class RowDumper:
    """A table's selected columns (less ``exclude``) and how each becomes JSON."""

    def __init__(self, table: Table, exclude: frozenset[str] = frozenset()):
        self.table = table
        self.columns = [c for c in table.columns if c.key not in exclude]
        selected = [_selected(c) for c in self.columns]
        self.select = [expr for expr, _ in selected]
        self._plan = [(c.key, convert) for c, (_, convert) in zip(self.columns, selected, strict=True)]

    def dump(self, row: Sequence[Any]) -> dict[str, Any]:
        return {key: value if convert is None or value is None else convert(value)
                for (key, convert), value in zip(self._plan, row, strict=True)}


CASES = RowDumper(Case.__table__)
EVENTS = RowDumper(CaseEvent.__table__)
DUMPERS = {"worker": RowDumper(Worker.__table__, WORKER_LOCAL_COLUMNS), "resident": RowDumper(Resident.__table__),
           "case": CASES, "attachment": RowDumper(Attachment.__table__)}


def _chunk(s: Session, dumper: RowDumper, committee_id: uuid.UUID, after: uuid.UUID | None,
           n: int) -> list[EncodedRow]:
    if s.get_bind().dialect.name == "postgresql":
        return _chunk_pg(s, dumper, committee_id, after, n)
    return _chunk_py(s, dumper, committee_id, after, n)


def _chunk_py(s: Session, dumper: RowDumper, committee_id: uuid.UUID, after: uuid.UUID | None,
              n: int) -> list[EncodedRow]:
    """The rows as dicts made in Python, then encoded (SQLite)."""
    table = dumper.table
    stmt = select(*dumper.select).where(table.c.committee_id == committee_id).order_by(table.c.id).limit(n)
    if after is not None:
        stmt = stmt.where(table.c.id > after)
    rows = [dumper.dump(r) for r in s.execute(stmt)]
    if dumper is CASES and rows:
        _attach_events(s, rows)
    return [encode(r) for r in rows]


# PostgreSQL writes each row's JSON itself (row_to_json, the case's events by json_agg in seq order): no value
# becomes a Python object only to be encoded again. Each column is selected as what app.core.payloads.to_json
# makes of it — UUIDs as text, instants as ``datetime.isoformat()`` in UTC (microseconds only when there are
# some), days as ISO text — so the rows are the payloads the Python path writes (tests/test_snapshot_pages.py).
_ISO_SECONDS = 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'
_ISO_MICROS = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'


def _pg_value(alias: str, column: Column) -> str:
    ref = f'{alias}."{column.name}"'
    if isinstance(column.type, Uuid):
        return f"{ref}::text"
    if isinstance(column.type, UTCDateTime):
        utc = f"({ref} AT TIME ZONE 'UTC')"
        return (f"CASE WHEN date_trunc('second', {ref}) = {ref} THEN to_char({utc}, '{_ISO_SECONDS}') "
                f"ELSE to_char({utc}, '{_ISO_MICROS}') END")
    if isinstance(column.type, Date):
        return f"to_char({ref}, 'YYYY-MM-DD')"
    return ref


def _pg_columns(alias: str, dumper: RowDumper) -> str:
    return ", ".join(f'{_pg_value(alias, c)} AS "{c.key}"' for c in dumper.columns)


def _pg_page_sql(dumper: RowDumper, *, after: bool) -> str:
    events = ""
    if dumper is CASES:
        events = (", (SELECT coalesce(json_agg(e ORDER BY e.seq), '[]'::json) FROM (SELECT "
                  f"{_pg_columns('ev', EVENTS)} FROM case_event ev WHERE ev.case_id = t.id) e) AS events")
    where = "t.committee_id = :committee" + (" AND t.id > :after" if after else "")
    return (f"SELECT r.id, row_to_json(r)::text FROM (SELECT {_pg_columns('t', dumper)}{events} "
            f'FROM "{dumper.table.name}" t WHERE {where} ORDER BY t.id LIMIT :n) r')


_PG_SQL: dict[tuple[str, bool], Any] = {}


def _chunk_pg(s: Session, dumper: RowDumper, committee_id: uuid.UUID, after: uuid.UUID | None,
              n: int) -> list[EncodedRow]:
    key = (dumper.table.name, after is not None)
    if key not in _PG_SQL:
        _PG_SQL[key] = text(_pg_page_sql(dumper, after=after is not None))
    rows = s.execute(_PG_SQL[key], {"committee": committee_id, "after": after, "n": n})
    return [EncodedRow(row_id, None, body.encode()) for row_id, body in rows]


def _attach_events(s: Session, cases: list[dict[str, Any]]) -> None:
    """Each case's events in seq order, as case_payload lists them: one query for the whole chunk."""
    by_case: dict[str, list[dict[str, Any]]] = {c["id"]: [] for c in cases}
    ev = CaseEvent.__table__
    stmt = (select(*EVENTS.select).where(ev.c.case_id.in_([uuid.UUID(i) for i in by_case]))
            .order_by(ev.c.case_id, ev.c.seq))
    for r in s.execute(stmt):
        event = EVENTS.dump(r)
        by_case[event["case_id"]].append(event)
    for c in cases:
        c["events"] = by_case[c["id"]]


def encode(row: dict[str, Any]) -> EncodedRow:
    return EncodedRow(str(row.get("id", "")), row, to_json(row))


def read_page(s: Session, kind: str, committee_id: uuid.UUID, after: str, limit: int,
              max_bytes: int | None = None) -> tuple[list[EncodedRow], bool]:
    """(rows, has_more): up to ``limit`` rows of the committee's ``kind`` by id after ``after``, cut once their
    JSON reaches ``max_bytes`` (always at least one row). Read a chunk at a time, as the page needs them."""
    dumper = DUMPERS[kind]
    max_bytes = MAX_SNAPSHOT_BYTES if max_bytes is None else max_bytes
    page: list[EncodedRow] = []
    size = 0
    last = uuid.UUID(after) if after else None
    while True:
        wanted = min(CHUNK_ROWS, limit - len(page) + 1)  # one more than the page holds: is there more?
        chunk = _chunk(s, dumper, committee_id, last, wanted)
        for encoded in chunk:
            if len(page) == limit:
                return page, True
            if page and size + len(encoded.json) > max_bytes:
                return page, True
            page.append(encoded)
            size += len(encoded.json) + 1  # and its comma
        if len(chunk) < wanted:
            return page, False
        last = uuid.UUID(chunk[-1].id)


def page_json(kind: str, rows: list[EncodedRow], has_more: bool, now: dt.datetime) -> bytes:
    """The :class:`~app.core.wire.SnapshotPage` body: the envelope written by the model itself, the rows as
    already encoded (no second pass over thousands of rows)."""
    envelope = SnapshotPage(kind=kind, rows=[], has_more=has_more, next_after=rows[-1].id if rows and has_more
                            else "", server_time=now).model_dump_json(exclude={"rows"}).encode()
    return b"".join((b'{"rows":[', b",".join(r.json for r in rows), b"],", envelope[1:]))
