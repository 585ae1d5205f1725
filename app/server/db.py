"""The district server's database: engine for SQLite or PostgreSQL, Alembic upgrade, sessions, the lock row."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import UserError
from app.core.paths import PROJECT_DIR
from models.server import SyncLock

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


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(write engine, read engine). On PostgreSQL they are the same pool."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # Readers get a plain BEGIN: in WAL mode they see a consistent snapshot and never block writers.
        return _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False)
    # hide_parameters: database errors end up in logs, and parameters hold ID numbers and phone numbers.
    engine = create_engine(url, pool_size=10, max_overflow=40, pool_pre_ping=True, pool_timeout=60,
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


def take_lock(s: Session) -> SyncLock:
    """First statement of every change-log writer: holding this row until commit makes seq order commit order."""
    return s.execute(select(SyncLock).where(SyncLock.id == LOCK_ROW_ID).with_for_update()).scalar_one()


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


def open_server_db(url: str, *, migrate: bool = True) -> ServerDB:
    """Open the server database and upgrade it to head (the server owns its schema through Alembic)."""
    url = normalise_url(url)
    engine, read_engine = make_engines(url)
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
