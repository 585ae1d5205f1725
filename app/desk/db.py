"""The desk's SQLite store: engine with the pragmas that keep data safe, Alembic upgrades, sessions."""

from __future__ import annotations

import functools
import logging
import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import sqlcipher3
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import DiskFullError, UserError, is_disk_full
from app.core.paths import PROJECT_DIR
from app.desk import keystore

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
MIGRATIONS_DIR = PROJECT_DIR / "models" / "migrations"
DB_FILENAME = "onedesk.sqlite3"
# Written into SQLite's header so `restore` can tell our database from any other file.
APPLICATION_ID = 0x4F4E4544  # "ONED"


class StorageError(UserError, RuntimeError):
    """A storage problem with a Chinese message fit for the user."""


SQLITE_HEADER = b"SQLite format 3\x00"


def is_plain_sqlite(path: Path) -> bool:
    """True if ``path`` is an unencrypted SQLite file (an encrypted one starts with random salt)."""
    try:
        with path.open("rb") as f:
            return f.read(16) == SQLITE_HEADER
    except FileNotFoundError:
        return False


def _key_pragma(key: bytes) -> str:
    # A raw 256-bit key (x'..'): no passphrase derivation on every connection; the key itself is random.
    return f"PRAGMA key = \"x'{key.hex()}'\""


def connect(path: Path, *, key: bytes | None = None, read_only: bool = False,
            timeout: float = 5.0) -> sqlcipher3.Connection:
    """A DB-API connection to an encrypted desk database: ``PRAGMA key`` is its first statement, then a read
    of the schema proves the key fits (a wrong key or a foreign file raises ``StorageError``)."""
    if not read_only:
        _create_private(path)
    target = f"file:{path.as_posix()}?mode=ro" if read_only else str(path)
    con = sqlcipher3.connect(target, uri=read_only, timeout=timeout, check_same_thread=False)
    try:
        # SQLCipher would print its own lines on stderr for a wrong key; the caller gets StorageError instead.
        # A process-wide setting that reads nothing of the file: the key is still the first access to it.
        con.execute("PRAGMA cipher_log_level = NONE")
        con.execute(_key_pragma(key or keystore.database_key()))
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError:
        con.close()
        raise StorageError(f"数据库无法解密或不是 OneDesk 数据库：{path.name}。"
                           "请确认使用的是本机本用户的数据和密钥。") from None
    return con


def _create_private(path: Path) -> None:
    """The database file exists and only its owner may read it (0600 on Linux); SQLite gives its -wal, -shm
    and -journal files the same permissions as the database."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    secure_file(path)


def secure_file(path: Path) -> None:
    if os.name != "posix":
        return
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            pass


def secure_folder(data_dir: Path) -> None:
    if os.name == "posix":
        os.chmod(data_dir, 0o700)


def _set_pragmas(dbapi_conn: sqlite3.Connection, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=FULL")  # a power cut must not lose a committed case
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


ENCRYPTED_CACHE_KIB = 65536


def _decrypted_cache(dbapi_conn, _record) -> None:
    """SQLCipher decrypts a page on every read from disk: a larger page cache (64 MiB per connection instead of
    SQLite's 2 MiB) keeps a worklist scan of 150,000 cases in memory (bench encryption)."""
    dbapi_conn.execute(f"PRAGMA cache_size = -{ENCRYPTED_CACHE_KIB}")


def make_engine(db_path: Path, *, encrypted: bool | None = None) -> Engine:
    """The engine on a desk database. ``encrypted`` None: encrypted (SQLCipher, key from app/desk/keystore.py)
    unless the file already exists as plain SQLite (a database from before encryption, until
    :func:`encrypt_plain` converts it). ``encrypted=False`` is for the bench's before/after figures only."""
    if encrypted is None:
        encrypted = not is_plain_sqlite(db_path)
    if encrypted:
        key = keystore.database_key()
        # The file URL only picks the dialect's file behaviour (a QueuePool); ``creator`` makes the connections.
        engine = create_engine(f"sqlite:///{db_path}", module=sqlcipher3.dbapi2,
                               creator=lambda: connect(db_path, key=key), hide_parameters=True)
        event.listen(engine, "connect", _decrypted_cache)
    else:
        engine = create_engine(f"sqlite:///{db_path}", connect_args={"check_same_thread": False},
                               hide_parameters=True)
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


# Alembic is loaded only to change the schema (or to explain a revision it does not know): at every start the
# desk only compares its database's revision with the newest script's, which costs no Alembic import.
_REVISION_LINE = re.compile(r"""^(revision|down_revision)\s*(?::[^=]*)?=\s*(?:['"]([^'"]+)['"]|None)""", re.M)


def alembic_config() -> Config:
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest migration, read from the scripts' ``revision`` / ``down_revision`` lines (the chain is linear);
    tests hold it to Alembic's own answer (tests/test_db.py)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {m.group(1): m.group(2) for m in _REVISION_LINE.finditer(script.read_text(encoding="utf-8"))}
        if found.get("revision"):
            revisions.add(found["revision"])
            if found.get("down_revision"):
                parents.add(found["down_revision"])
    heads = revisions - parents
    if len(heads) == 1:
        return heads.pop()
    from alembic.script import ScriptDirectory  # a script written some other way: ask Alembic
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder holds no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not conn.dialect.has_table(conn, "alembic_version"):
            return None
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    return rows[0][0] if rows else None


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory
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
    if revision == "head" and current is not None and current == head_revision():
        return  # the everyday start: nothing to change
    if current is not None and (problem := revision_problem(current)):
        raise StorageError(problem + "。")
    from alembic import command
    from alembic.util import CommandError
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, revision)
        except CommandError as e:  # e.g. a revision deleted from the chain: still not the worker's bug report
            raise StorageError(f"数据库结构无法升级：{e}") from e
        conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command
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
    if not path.is_file() or is_plain_sqlite(path):  # a plain one is converted by a full open
        return None
    engine = make_engine(path)
    if current_revision(engine) != head_revision():
        engine.dispose()
        return None
    return engine


def encrypt_plain(path: Path) -> bool:
    """Convert a plain SQLite database at ``path`` into an encrypted one in place, once (``sqlcipher_export``
    into a new file beside it, every table's row count compared, then the new file replaces the old).
    False if it was not plain. The caller holds the data folder (no other connection is open)."""
    if not is_plain_sqlite(path):
        return False
    with closing(sqlite3.connect(path)) as plain:  # fold any WAL into the file, leave no -wal behind
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        plain.execute("PRAGMA journal_mode=DELETE")
    tmp = path.with_name(path.name + ".encrypting")
    _remove_db_files(tmp)
    _create_private(tmp)
    key = keystore.database_key()
    try:
        with closing(sqlcipher3.connect(str(path))) as src:
            src.isolation_level = None
            quoted = str(tmp).replace("'", "''")
            src.execute(f"ATTACH DATABASE '{quoted}' AS enc KEY \"x'{key.hex()}'\"")
            src.execute("SELECT sqlcipher_export('enc')")
            for pragma in ("user_version", "application_id"):
                value = int(src.execute(f"PRAGMA main.{pragma}").fetchone()[0])
                src.execute(f"PRAGMA enc.{pragma} = {value}")
            tables = [r[0] for r in src.execute("SELECT name FROM main.sqlite_master WHERE type='table'")]
            for t in tables:
                a = src.execute(f'SELECT count(*) FROM main."{t}"').fetchone()[0]
                b = src.execute(f'SELECT count(*) FROM enc."{t}"').fetchone()[0]
                if a != b:
                    raise StorageError(f"数据库加密转换未完成（数据表 {t} 行数不符），原数据库未改动。")
            src.execute("DETACH DATABASE enc")
        with closing(connect(tmp, key=key)) as check:
            if check.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise StorageError("数据库加密转换未完成（校验未通过），原数据库未改动。")
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        _remove_db_files(tmp)
    log.warning("the desk database %s was converted to an encrypted database", path.name)
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_db_files(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def open_database(data_dir: Path, *, encrypted: bool = True) -> tuple[Engine, sessionmaker[Session]]:
    """Open (creating if needed) and upgrade the desk database in ``data_dir``; a plain database from before
    encryption is converted first. ``encrypted=False`` (the bench's "before" figures only) keeps it plain."""
    check_writable(data_dir)
    secure_folder(data_dir)
    if encrypted:
        encrypt_plain(data_dir / DB_FILENAME)
    engine = make_engine(data_dir / DB_FILENAME, encrypted=encrypted)
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    keystore.move_device_tokens(sessions)
    return engine, sessions


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
