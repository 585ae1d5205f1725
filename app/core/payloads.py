"""Rows as JSON for the sync protocol, and back. Shared by the district server and the desk.

A payload is a row's columns as JSON values (UUIDs and instants as ISO strings). The server writes one
into the change log per changed entity; the desk turns it back into column values. A case payload carries
its whole event list, because the server's history is the authority once the desk's changes are in.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer, String, Table, Uuid

from models import Attachment, Case, CaseEvent, Committee, Resident, UTCDateTime, Worker

# Desk-local lockout state never travels: a wrong password typed at one desk must not lock the others.
WORKER_LOCAL_COLUMNS = frozenset({"failed_attempts", "locked_until"})
ENTITY_TABLES: dict[str, Table] = {
    "committee": Committee.__table__, "worker": Worker.__table__, "resident": Resident.__table__,
    "case": Case.__table__, "case_event": CaseEvent.__table__, "attachment": Attachment.__table__,
}


def to_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


# Column types whose values to_json changes; any other column's value is JSON as it is (text, numbers, JSON).
_AS_IS = (String, Integer, Boolean, Float, JSON)
_PLANS: dict[tuple[Table, frozenset[str]], list[tuple[str, bool]]] = {}


def _plan(table: Table, exclude: frozenset[str]) -> list[tuple[str, bool]]:
    """(column key, whether its value goes through to_json), once per table."""
    key = (table, exclude)
    if key not in _PLANS:
        _PLANS[key] = [(c.key, not isinstance(c.type, _AS_IS)) for c in table.columns if c.key not in exclude]
    return _PLANS[key]


def dump_row(obj: Any, exclude: frozenset[str] = frozenset()) -> dict:
    """Every column of an ORM object as a JSON-ready dict. Loaded values are read from the object's own dict
    (the instrumented attribute costs more than the rest of the payload); an attribute not loaded is fetched."""
    values = obj.__dict__
    row = {}
    for key, convert in _plan(obj.__table__, exclude):
        value = values[key] if key in values else getattr(obj, key)
        row[key] = to_json(value) if convert else value
    return row


def _from_json(column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, Uuid):
        return uuid.UUID(str(value))
    if isinstance(column.type, UTCDateTime):
        when = dt.datetime.fromisoformat(value)
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    if isinstance(column.type, Date):
        return dt.date.fromisoformat(value)
    return value


def load_values(table: Table, data: dict, exclude: frozenset[str] = frozenset()) -> dict:
    """Column values for ``table`` from a payload; keys the table does not have are ignored (newer servers)."""
    return {c.key: _from_json(c, data[c.key]) for c in table.columns if c.key in data and c.key not in exclude}


def committee_payload(c: Committee) -> dict:
    return dump_row(c)


def worker_payload(w: Worker) -> dict:
    return dump_row(w, WORKER_LOCAL_COLUMNS)


def resident_payload(r: Resident) -> dict:
    return dump_row(r)


def case_payload(c: Case) -> dict:
    data = dump_row(c)
    data["events"] = [dump_row(e) for e in sorted(c.events, key=lambda e: e.seq)]
    return data


def attachment_payload(a: Attachment) -> dict:
    """An attachment's metadata (issue 15); its bytes travel apart, by sha256 (``wire.Endpoint.FILE``)."""
    return dump_row(a)


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO instant from the wire; a time without offset is taken as UTC."""
    if not text:
        return None
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
