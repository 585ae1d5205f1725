"""The desk's SQLite store: engine with the pragmas that keep data safe, Alembic upgrades, sessions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import DiskFullError, UserError, is_disk_full
from app.core.paths import PROJECT_DIR

MIGRATIONS_DIR = PROJECT_DIR / "models" / "migrations"
DB_FILENAME = "onedesk.sqlite3"
# Written into SQLite's header so `restore` can tell our database from any other file.
APPLICATION_ID = 0x4F4E4544  # "ONED"


class StorageError(UserError, RuntimeError):
    """A storage problem with a Chinese message fit for the user."""


def _set_pragmas(dbapi_conn: sqlite3.Connection, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=FULL")  # a power cut must not lose a committed case
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_engine(db_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{db_path}", connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _set_pragmas)
    # pysqlite's own transaction handling defers BEGIN; issue it ourselves so writes are serialised.
    @event.listens_for(engine, "connect")
    def _no_autobegin(dbapi_conn, _rec):
        dbapi_conn.isolation_level = None

    # IMMEDIATE: take the write lock up front so the UI and the sync thread never deadlock on upgrade.
    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "handle_error", _name_a_full_disk)
    return engine


def _name_a_full_disk(context: ExceptionContext) -> None:
    """SQLITE_FULL ("database or disk is full") becomes the worker's Chinese message; the session that was
    writing rolls back as for any error, so nothing of the operation stays."""
    if is_disk_full(context.original_exception):
        raise DiskFullError() from context.original_exception


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder holds no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known_revisions() -> set[str]:
    return {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def revision_problem(revision: str | None) -> str | None:
    """Why a database at ``revision`` cannot be used by this program (Chinese), or None. Every revision this
    program knows is at or below head (the chain is linear); one it does not know comes from a newer release."""
    if revision is None:
        return "该数据库没有结构版本信息"
    if revision not in known_revisions():
        return (f"该数据库来自更新版本的 OneDesk（数据库版本 {revision}，本程序最高支持 {head_revision()}），"
                "本程序无法使用。请先升级 OneDesk")
    return None


def upgrade(engine: Engine, revision: str = "head") -> None:
    current = current_revision(engine)  # None: an empty database, simply created
    if current is not None and (problem := revision_problem(current)):
        raise StorageError(problem + "。")
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, revision)
        except CommandError as e:  # e.g. a revision deleted from the chain: still not the worker's bug report
            raise StorageError(f"数据库结构无法升级：{e}") from e
        conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")


def downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def check_writable(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError:
        raise StorageError(f"数据文件夹无法写入：{data_dir}。"
                           "请检查文件夹权限，或用 --data-dir 指定其他文件夹。") from None


def engine_if_current(data_dir: Path) -> Engine | None:
    """An engine on the folder's database without writing anything, if it exists and is at head; else None."""
    path = data_dir / DB_FILENAME
    if not path.is_file():
        return None
    engine = make_engine(path)
    if current_revision(engine) != head_revision():
        engine.dispose()
        return None
    return engine


def open_database(data_dir: Path) -> tuple[Engine, sessionmaker[Session]]:
    """Open (creating if needed) and upgrade the desk database in ``data_dir``."""
    check_writable(data_dir)
    engine = make_engine(data_dir / DB_FILENAME)
    upgrade(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)


def integrity_check(engine: Engine) -> list[str]:
    """Return problems found (empty list = OK): SQLite integrity, foreign keys, schema revision, and every
    table and column of the schema present."""
    problems: list[str] = []
    with engine.connect() as conn:
        rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            problems.extend(f"integrity: {r}" for r in rows)
        for row in conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
            problems.append(f"foreign key: table {row[0]} rowid {row[1]} -> {row[2]}")
    problems.extend(missing_schema(engine))
    cur = current_revision(engine)
    if cur != head_revision():
        problems.append(f"schema revision {cur} is not head {head_revision()}")
    return problems


def missing_schema(engine: Engine) -> list[str]:
    """Tables and columns of the desk schema (the ORM models at head) that the database lacks."""
    import models  # the ORM registers every table on Base.metadata
    problems: list[str] = []
    with engine.connect() as conn:
        present = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
        for name, table in sorted(models.Base.metadata.tables.items()):
            if name not in present:
                problems.append(f"missing table: {name}")
                continue
            columns = {r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{name}")')}
            problems.extend(f"missing column: {name}.{c.name}" for c in table.columns if c.name not in columns)
    return problems


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
