"""Online backup through SQLite's backup API, and a restore that checks a file before it replaces the desk's
database (and only while no other program uses the data folder).

Backups and the ``onedesk-before-restore-*`` copies are encrypted with the desk's key, like the database (a
backup made from a plain database from before encryption is encrypted too). ``restore`` accepts such a backup
and an old plain one (converted as it is restored); a backup from another user or PC needs that desk's key."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import sqlcipher3

from app.core.errors import DiskFullError, UserError, is_disk_full
from app.desk.db import (
    APPLICATION_ID,
    DB_FILENAME,
    StorageError,
    connect,
    current_revision,
    encrypt_plain,
    is_plain_sqlite,
    make_engine,
    missing_schema,
    revision_problem,
    upgrade,
)
from app.desk.folder_lock import hold


class BackupError(UserError, RuntimeError):
    """Backup/restore refused; Chinese message, nothing changed."""


def backup(data_dir: Path, out: Path) -> Path:
    """Consistent copy while the app runs (the backup API copies a snapshot page by page)."""
    src_path = data_dir / DB_FILENAME
    if not src_path.exists():
        raise BackupError(f"数据文件夹中没有数据库：{data_dir}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    plain = is_plain_sqlite(src_path)
    try:
        _remove(tmp)
        src = _open(src_path, read_only=True, timeout=10)
        dst = sqlite3.connect(tmp) if plain else connect(tmp)
        try:
            src.backup(dst)  # type: ignore[arg-type]  # both connections of one driver
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
        finally:
            dst.close()
            src.close()
        if plain:  # a database not yet converted still gives an encrypted backup
            encrypt_plain(tmp)
        tmp.replace(out)
    except (OSError, sqlite3.Error, sqlcipher3.Error) as e:
        _remove(tmp)  # never leave half a backup behind
        if is_disk_full(e):
            raise DiskFullError("磁盘空间不足，备份未完成。请清理磁盘或换一个位置后重试。") from e
        raise
    return out


def _open(path: Path, *, read_only: bool = False, timeout: float = 5.0) -> sqlite3.Connection:
    """A DB-API connection to a desk database file: keyed for an encrypted one, plain for one from before."""
    if is_plain_sqlite(path):
        if read_only:
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
        return sqlite3.connect(path, timeout=timeout)
    return connect(path, read_only=read_only, timeout=timeout)  # type: ignore[return-value]


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def inspect(path: Path) -> str | None:
    """Return a Chinese reason why ``path`` is not a OneDesk database at all, or None if it looks like one."""
    if not path.is_file():
        return f"文件不存在：{path}"
    try:
        con = _open(path, read_only=True)
    except StorageError:
        return "该文件不是 OneDesk 数据库，或是用其他电脑（其他用户）的密钥加密的（无法读取）"
    try:
        try:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            if app_id != APPLICATION_ID:
                return "该文件是其他程序的数据库，不是 OneDesk 数据库"
            if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return "该数据库文件已损坏"
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not {"alembic_version", "case", "resident", "worker"} <= tables:
                return "该文件缺少 OneDesk 的数据表"
        finally:
            con.close()
    except (sqlite3.DatabaseError, sqlcipher3.DatabaseError):
        return "该文件不是 OneDesk 数据库（无法读取）"
    return None


def _damage(path: Path) -> str | None:
    """SQLite's full integrity check and the foreign keys, in Chinese; None when both are clean."""
    con = _open(path)
    try:
        if [r[0] for r in con.execute("PRAGMA integrity_check")] != ["ok"]:
            return "该数据库文件已损坏（完整性检查未通过）"
        broken = con.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        con.close()
    if broken:
        tables = "、".join(sorted({str(r[0]) for r in broken}))
        return f"该数据库中有 {len(broken)} 条记录的关联数据缺失（数据表：{tables}）"
    return None


def _checked_at_head(path: Path) -> str | None:
    """Check the copy at ``path`` and bring it to this program's schema; a Chinese reason if it cannot serve."""
    engine = make_engine(path)
    try:
        problem = revision_problem(current_revision(engine)) or _damage(path)
        if problem:
            return problem
        try:
            upgrade(engine)  # an older backup is brought to head here, on the copy, before anything is replaced
        except (DiskFullError, KeyboardInterrupt):
            raise
        except StorageError as e:
            return str(e).rstrip("。")
        except Exception as e:  # any failure of the migrations on this file means: not usable as it is
            return f"该数据库无法升级到本程序的结构（{type(e).__name__}）"
        missing = missing_schema(engine)
        if missing:
            names = "、".join(m.split(": ", 1)[1] for m in missing)
            return f"该数据库缺少数据表或字段：{names}"
    finally:
        engine.dispose()
    return _damage(path)


def _self_contained(path: Path) -> None:
    con = _open(path)
    try:
        con.execute("PRAGMA journal_mode=DELETE")  # no -wal beside it when it is moved into place
    finally:
        con.close()


def _aside_name(data_dir: Path, now: dt.datetime | None) -> Path:
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    kept = data_dir / f"onedesk-before-restore-{stamp}.sqlite3"
    n = 2
    while kept.exists():  # two restores within a second must not overwrite the first one's copy
        kept = data_dir / f"onedesk-before-restore-{stamp}-{n}.sqlite3"
        n += 1
    return kept


def restore(data_dir: Path, source: Path, now: dt.datetime | None = None) -> Path | None:
    """Replace the desk database with ``source``; the current one is kept aside first. Returns where it was kept.

    Refused (``FolderInUse``) while any other program, or another context in this one, uses the folder: a
    running desk would go on writing into the file being replaced. ``source`` must be a OneDesk database at a
    revision this program knows, pass SQLite's integrity and foreign-key checks and, brought to head, hold every
    table and column of the schema; it is checked as a copy inside the data folder, so a refusal changes nothing.
    """
    with hold(data_dir, sole=True):
        reason = inspect(source)
        if reason:
            raise BackupError(f"未恢复：{reason}。")
        target = data_dir / DB_FILENAME
        tmp = data_dir / (DB_FILENAME + ".restoring")
        try:
            shutil.copyfile(source, tmp)
            reason = _checked_at_head(tmp)
            if reason:
                raise BackupError(f"未恢复：{reason}。当前数据库未改动。")
            _self_contained(tmp)
            encrypt_plain(tmp)  # an old plain backup goes in encrypted
            kept = None
            if target.exists():
                kept = _aside_name(data_dir, now)
                backup(data_dir, kept)  # consistent copy including anything still in the WAL
            for suffix in ("-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
            tmp.replace(target)
        except OSError as e:
            if is_disk_full(e):
                raise DiskFullError("磁盘空间不足，未恢复，当前数据库未改动。请清理磁盘后重试。") from e
            raise
        finally:
            _remove(tmp)
    return kept
