"""Pulled rows written in bulk (issue 18, fast first download): a page of thousands of payload rows becomes one
multi-row statement per table instead of SQLAlchemy's per-row parameter processing.

Each column's value goes from its JSON form (app/core/payloads.py) to what the database stores in one step:
the payload's text read back into the column's Python type, then the column type's own bind processor — the
same one SQLAlchemy applies —, so the desk database holds exactly what ``insert(table)`` would have written.
A column the payload lacks (an older server) gets the column's default on insert and is left alone on update,
as SQLAlchemy's insert did. A value that cannot be read (``ValueError``/``TypeError``) fails the whole statement
before anything is written; app/desk/sync/apply.py then narrows the page down to the rows at fault.

SQLite only (the desk's database): ``INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE`` some column differs.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import JSON, Column, Date, Table, Uuid
from sqlalchemy.engine import Connection, Dialect

from models import UTCDateTime

Convert = Callable[[Any], Any]


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


def _instant(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    when = dt.datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _date(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _reader(column: Column) -> Convert | None:
    """The payload's JSON value back to the column's Python value (payloads.load_values, chosen once)."""
    if isinstance(column.type, Uuid):
        return _uuid
    if isinstance(column.type, UTCDateTime):
        return _instant
    if isinstance(column.type, Date):
        return _date
    return None


def _chain(read: Convert | None, bind: Convert | None) -> Convert | None:
    if read is None:
        return bind
    if bind is None:
        return read
    return lambda value: bind(read(value))


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PROBE_UUID = uuid.UUID("0123abcd-4567-89ef-0123-456789abcdef")
_PROBE_INSTANTS = (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), dt.datetime(1999, 12, 31, 23, 59, 59, 7,
                                                                             tzinfo=dt.timezone(dt.timedelta(hours=8))))


def _uuid_as_hex(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value.replace("-", "")
    return uuid.UUID(str(value)).hex


def _instant_as_text(value: Any) -> Any:
    when = _instant(value)
    if when is None:
        return None
    if when.tzinfo is not dt.UTC:
        when = when.astimezone(dt.UTC)
    return when.replace(tzinfo=None).isoformat(" ", "microseconds")


def _empty_json(bind: Convert) -> Convert:
    """JSON columns are mostly null, [] or {}: their text once, not per row."""
    null, no_list, no_dict = bind(None), bind([]), bind({})

    def convert(value: Any) -> Any:
        if value is None:
            return null
        if type(value) is list and not value:
            return no_list
        if type(value) is dict and not value:
            return no_dict
        return bind(value)
    return convert


def _shortcut(column: Column, bind: Convert | None) -> Convert | None:
    """A faster conversion of UUIDs and instants to the text SQLite keeps, used only when it gives what the
    column's own bind processor gives (checked on probe values once per column and dialect)."""
    if bind is None:
        return None
    if isinstance(column.type, JSON):
        return _empty_json(bind)
    if isinstance(column.type, Uuid) and bind(_PROBE_UUID) == _PROBE_UUID.hex:
        return _uuid_as_hex
    if isinstance(column.type, UTCDateTime) and all(
            bind(when) == _instant_as_text(when.isoformat()) for when in _PROBE_INSTANTS):
        return _instant_as_text
    return None


def _converter(column: Column, dialect: Dialect) -> Convert | None:
    """A payload value of ``column`` to what the database stores (None: as it is)."""
    bind = column.type.dialect_impl(dialect).bind_processor(dialect)
    return _shortcut(column, bind) or _chain(_reader(column), bind)


def _differs(table: str, name: str, column: Column) -> str:
    """SQL: the stored value of ``column`` is not the one being written. In a JSON column SQL NULL (an insert
    that left it out) and JSON ``null`` (a payload's None) both read back as None."""
    if isinstance(column.type, JSON):
        return f"coalesce({table}.{name}, 'null') IS NOT coalesce(excluded.{name}, 'null')"
    return f"{table}.{name} IS NOT excluded.{name}"


class TableWriter:
    """Writes payload rows into one desk table; built once per table and dialect."""

    def __init__(self, table: Table, dialect: Dialect, exclude: frozenset[str] = frozenset()):
        if dialect.name != "sqlite" or dialect.paramstyle != "qmark":
            raise ValueError(f"bulk writes are for the desk's SQLite database, not {dialect.name}")
        self.table, self.exclude = table, exclude
        self._quote = dialect.identifier_preparer.quote
        self.columns = [c for c in table.columns if c.key not in exclude]
        self._convert = {c.key: _converter(c, dialect) for c in table.columns}
        self._sql: dict[tuple[frozenset[str], bool], tuple[str, list[Column]]] = {}

    def _statement(self, present: frozenset[str], upsert: bool) -> tuple[str, list[Column]]:
        """The INSERT for rows holding the columns ``present``, and the columns its placeholders stand for."""
        key = (present, upsert)
        if key not in self._sql:
            q = self._quote
            columns = [c for c in self.table.columns
                       if c.key in present or (c.default is not None and not c.primary_key)]
            sql = (f"INSERT INTO {q(self.table.name)} ({', '.join(q(c.name) for c in columns)}) "
                   f"VALUES ({', '.join('?' * len(columns))})")
            if upsert:
                # A row the desk holds already exactly so is left alone (a push answer mostly brings back what
                # the desk wrote itself): no page or index of it is written again.
                changed = [c for c in self.table.columns if c.key in present and not c.primary_key]
                sql += (f" ON CONFLICT ({', '.join(q(c.name) for c in self.table.primary_key)}) DO "
                        + ("UPDATE SET " + ", ".join(f"{q(c.name)} = excluded.{q(c.name)}" for c in changed)
                           + " WHERE " + " OR ".join(_differs(q(self.table.name), q(c.name), c) for c in changed)
                           if changed else "NOTHING"))
            self._sql[key] = (sql, columns)
        return self._sql[key]

    def _value(self, column: Column, row: dict[str, Any], present: frozenset[str]) -> Any:
        convert = self._convert[column.key]
        if column.key in present:
            value = row[column.key]
        else:  # absent from the payload: the column's default, as SQLAlchemy's insert supplies it
            default = column.default
            value = default.arg if getattr(default, "is_scalar", False) else default.arg(None)  # type: ignore[union-attr]
            value = _python_to_json(value)
        return value if convert is None else convert(value)

    def write(self, conn: Connection, rows: Iterable[dict[str, Any]], *, upsert: bool = True) -> int:
        """Insert (``upsert``: or update by primary key) ``rows``; columns in ``exclude`` are never written from
        a payload. Rows holding the same columns go in one statement. How many rows."""
        groups: dict[frozenset[str], list[dict[str, Any]]] = {}
        names = {c.key for c in self.columns}
        for row in rows:
            groups.setdefault(frozenset(row.keys() & names), []).append(row)
        for present, group in groups.items():
            sql, columns = self._statement(present, upsert)
            plan = [(c.key, self._convert[c.key]) for c in columns]
            if all(c.key in present for c in columns):  # the usual case: every column in the payload
                params = [tuple(row[k] if f is None else f(row[k]) for k, f in plan) for row in group]
            else:
                params = [tuple(self._value(c, row, present) for c in columns) for row in group]
            conn.exec_driver_sql(sql, params)  # a list of tuples: executemany
        return sum(len(g) for g in groups.values())


def _python_to_json(value: Any) -> Any:
    """A column default (a Python value) in the JSON form the converters read."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value
