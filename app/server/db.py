"""The district server's database: engine for SQLite or PostgreSQL, Alembic upgrade, sessions, the stream locks."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Engine,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import UserError
from app.core.paths import PROJECT_DIR
from models.server import GLOBAL_SCOPE, ChangeStream, SyncLock

SERVER_MIGRATIONS_DIR = PROJECT_DIR / "models" / "server_migrations"
VERSION_TABLE = "server_alembic_version"
DEFAULT_DB_FILENAME = "onedesk-server.sqlite3"
LOCK_ROW_ID = 1


class ServerDbError(UserError, RuntimeError):
    """Bad database URL or an unreachable database; Chinese message."""


def default_db_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir) / DEFAULT_DB_FILENAME}"


def normalise_url(url: str) -> str:
    """``postgresql://`` would pick psycopg2, which is not installed; we ship psycopg 3."""
    try:
        u = make_url(url)
    except Exception:
        raise ServerDbError(f"数据库地址无法识别：{url}") from None
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    # SQLite has no SELECT ... FOR UPDATE: BEGIN IMMEDIATE takes the database write lock up front instead,
    # which serialises writers exactly like the lock row does on PostgreSQL.
    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql(begin)

    return engine


def make_engines(url: str, *, pool_size: int = 10, max_overflow: int = 40) -> tuple[Engine, Engine]:
    """(write engine, read engine). On PostgreSQL they are the same pool: ``pool_size`` connections kept open and
    up to ``max_overflow`` more while busy — one worker process's share of the connections (app/server/workers.py)."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # Readers get a plain BEGIN: in WAL mode they see a consistent snapshot and never block writers.
        return _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False)
    # hide_parameters: database errors end up in logs, and parameters hold ID numbers and phone numbers.
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, pool_timeout=60,
                           hide_parameters=True)
    return engine, engine


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVER_MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder holds no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def ensure_lock_row(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        if s.get(SyncLock, LOCK_ROW_ID) is None:
            s.add(SyncLock(id=LOCK_ROW_ID, last_seq=0))
        if s.get(ChangeStream, GLOBAL_SCOPE) is None:
            s.add(ChangeStream(scope=GLOBAL_SCOPE, last_seq=0))


# Every stream writer holds this PostgreSQL advisory lock shared; a district-wide sweep (the files' garbage
# collection) holds it exclusively, and so waits for the pushes in progress and keeps new ones out.
DISTRICT_LOCK_KEY = 0x0DE5C  # any constant: advisory locks are this database's own
_HELD = "change_stream_locks"


def _held(s: Session) -> dict[str, ChangeStream]:
    """The stream locks this session's current transaction holds (forgotten when it ends, below)."""
    return s.info.setdefault(_HELD, {})


@event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction) -> None:
    if transaction.parent is None:  # the transaction itself, not a savepoint: its row locks are gone
        session.info.pop(_HELD, None)


def take_lock(s: Session, scope: str = GLOBAL_SCOPE) -> ChangeStream:
    """Hold one change-log stream (a committee's id, or GLOBAL_SCOPE for reference data) until commit: its
    writers are served one after the other, so within the stream seq order is commit order, while other
    committees' writers run in parallel. On SQLite BEGIN IMMEDIATE serialises every writer anyway."""
    held = _held(s)
    if scope in held:
        return held[scope]
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": DISTRICT_LOCK_KEY})
    stmt = select(ChangeStream).where(ChangeStream.scope == scope).with_for_update()
    row = s.execute(stmt).scalar_one_or_none()
    if row is None:  # a committee's first change: its row is made here, by whichever writer comes first
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        s.execute(insert(ChangeStream).values(scope=scope, last_seq=0).on_conflict_do_nothing())
        row = s.execute(stmt).scalar_one()
    held[scope] = row
    return row


def take_district_lock(s: Session) -> None:
    """Wait for every stream writer in progress and keep new ones out until commit (rare, district-wide work)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": DISTRICT_LOCK_KEY})


def holds_lock(s: Session, scope: str) -> bool:
    return scope in _held(s)


def next_seqs(s: Session, n: int) -> list[int]:
    """``n`` new change-log seqs, ascending, in one round trip. The caller holds the lock of the stream they
    are for, so a later writer of that stream gets higher ones (PostgreSQL: the sequence server_change_seq;
    SQLite: the counter row, under BEGIN IMMEDIATE)."""
    if n <= 0:
        return []
    if s.get_bind().dialect.name == "postgresql":
        return sorted(s.scalars(text("SELECT nextval('server_change_seq') FROM generate_series(1, :n)"),
                                {"n": n}))
    s.execute(update(SyncLock).where(SyncLock.id == LOCK_ROW_ID).values(last_seq=SyncLock.last_seq + n))
    top = s.scalar(select(SyncLock.last_seq).where(SyncLock.id == LOCK_ROW_ID))
    assert top is not None
    return list(range(top - n + 1, top + 1))


def among(s: Session, column: Any, values: Any) -> ColumnElement[bool]:
    """``column IN values`` — on PostgreSQL as ``column = ANY(:array)``, one parameter: a batch's lists of a few
    hundred ids as expanded IN lists cost the server more to render and parse than the rows cost to read."""
    values = list(values)
    if s.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


_JSON_TEXTS = {"none": json.dumps(None), "dict": json.dumps({}), "list": json.dumps([])}


def _json_text(column: Column) -> Callable[[Any], Any] | None:
    """A JSON column's value as the text the column's bind processor would send (psycopg's ``Json``, dumped
    with ``json.dumps``), which COPY's text format passes on unchanged: mostly null, {} or [], whose text is
    not worked out again for every row. None for another column, or a JSON type with its own processing."""
    if type(column.type) is not JSON or column.type.none_as_null:
        return None

    def text(value: Any) -> Any:
        if value is None:
            return _JSON_TEXTS["none"]
        if not value and type(value) in (dict, list):
            return _JSON_TEXTS[type(value).__name__]
        return json.dumps(value)
    return text


def bulk_insert(s: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """``rows`` (dicts with the same keys) into ``table`` in the caller's transaction, as ``insert(table)`` would
    write them — a column absent from the rows gets its Python default — in one statement. PostgreSQL: COPY
    (an executemany there is one INSERT per row, however pipelined), each value through its column type's bind
    processor first; a failure is raised as SQLAlchemy's error of its kind (IntegrityError, DataError ...), as
    an INSERT's would be. SQLite: executemany."""
    if not rows:
        return
    if s.get_bind().dialect.name != "postgresql":
        s.execute(insert(table), rows)
        return
    conn = s.connection()
    dialect = conn.dialect
    given = rows[0].keys()
    columns = [c for c in table.columns if c.key in given or c.default is not None]
    plan = []
    for c in columns:
        bind = _json_text(c) or c.type.dialect_impl(dialect).bind_processor(dialect)
        default = None if c.key in given else c.default
        plan.append((c.key, bind, default))
    quote = dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) FROM STDIN"
    raw = conn.connection.driver_connection
    assert raw is not None
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                values = []
                for key, bind, default in plan:
                    if default is None:
                        value = row[key]
                    else:
                        value = default.arg if default.is_scalar else default.arg(None)  # type: ignore[attr-defined]
                    values.append(value if bind is None else bind(value))
                copy.write_row(values)
    except raw.Error as e:  # as SQLAlchemy would have raised it for an INSERT
        raise DBAPIError.instance(sql, None, e, type(raw).Error) from e


@dataclass
class ServerDB:
    url: str
    engine: Engine
    read_engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def open_server_db(url: str, *, migrate: bool = True, pool_size: int = 10, max_overflow: int = 40) -> ServerDB:
    """Open the server database and upgrade it to head (the server owns its schema through Alembic)."""
    url = normalise_url(url)
    engine, read_engine = make_engines(url, pool_size=pool_size, max_overflow=max_overflow)
    try:
        if migrate:
            upgrade(engine)
    except DBAPIError as e:  # an unreachable PostgreSQL surfaces here first
        engine.dispose()
        raise ServerDbError(f"无法打开服务器数据库：{type(e).__name__}: {e}") from e
    sessions = sessionmaker(engine, expire_on_commit=False)
    db = ServerDB(url, engine, read_engine, sessions, sessionmaker(read_engine, expire_on_commit=False))
    ensure_lock_row(sessions)
    return db
