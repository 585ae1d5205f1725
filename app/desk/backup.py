"""Online backup through SQLite's backup API, and a restore that checks a file before it replaces the desk's
database (and only while no other program uses the data folder).

Backups and the ``onedesk-before-restore-*`` copies are encrypted with the desk's key, like the database (a
backup made from a plain database from before encryption is encrypted too). ``restore`` accepts such a backup
and an old plain one (converted as it is restored); a backup from another user or PC needs that desk's key.

A backup also carries the attachment files (issue 15): after the database's snapshot, every file of the store
(``<data_dir>/attachments``) goes into the backup file's table ``onedesk_backup_file`` as it is stored (sealed with
the store's own key, inside the encrypted backup). ``restore`` puts back each file the desk lacks (checked against
its sha256 first), never removes one, and drops the table from the restored database."""

from __future__ import annotations

import datetime as dt
import logging
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

log = logging.getLogger(__name__)
FILES_TABLE = "onedesk_backup_file"  # only in backup files: the attachment files, as the store holds them


class BackupError(UserError, RuntimeError):
    """Backup/restore refused; Chinese message, nothing changed."""


def backup(data_dir: Path, out: Path, *, files: bool = True) -> Path:
    """Consistent copy while the app runs (the backup API copies a snapshot page by page), with the attachment
    files unless ``files`` is False. Files are written once and never changed, so the ones listed after the
    snapshot include every file it refers to."""
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
            if files:
                _copy_files_in(data_dir, dst)
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


def _copy_files_in(data_dir: Path, dst) -> int:
    """Every attachment file of the folder into the backup's ``FILES_TABLE``, one at a time (≤ 25 MiB each)."""
    from app.desk.attachments.store import BlobMissing, BlobStore
    store = BlobStore.for_data_dir(data_dir)
    copied = 0
    for sha in store.shas():
        try:
            raw = store.raw(sha)
        except BlobMissing:  # deleted between the listing and now
            continue
        if not copied:  # a desk without files gets a backup exactly as before
            dst.execute(f"CREATE TABLE {FILES_TABLE} (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL)")
        dst.execute(f"INSERT OR REPLACE INTO {FILES_TABLE} (sha256, data) VALUES (?, ?)", (sha, raw))
        dst.commit()
        copied += 1
    return copied


def _restore_files(data_dir: Path, path: Path) -> tuple[int, int]:
    """Put back the files a backup at ``path`` holds that the desk lacks (or holds damaged), drop the table, and
    make the restored ``attachment_blob`` rows say which files are here. Returns (written, refused)."""
    from app.desk.attachments.store import BlobError, BlobStore
    store = BlobStore.for_data_dir(data_dir)
    con = _open(path)
    written = refused = 0
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if FILES_TABLE in tables:
            shas = [r[0] for r in con.execute(f"SELECT sha256 FROM {FILES_TABLE}")]
            for sha in shas:
                raw = con.execute(f"SELECT data FROM {FILES_TABLE} WHERE sha256 = ?", (sha,)).fetchone()[0]
                try:
                    written += store.put_raw(sha, bytes(raw))
                except BlobError:  # damaged in the backup, or sealed under another key: the desk's copy stays
                    refused += 1
                    log.warning("restore: attachment file %s… in the backup does not open; not restored", sha[:12])
            con.execute(f"DROP TABLE {FILES_TABLE}")
            con.commit()
            con.execute("VACUUM")  # the files' pages do not stay in the database as free space
        if "attachment_blob" in tables:
            for sha, present in con.execute("SELECT sha256, present FROM attachment_blob").fetchall():
                here = store.has(sha)
                if bool(present) != here:
                    con.execute("UPDATE attachment_blob SET present = ?, wanted = CASE WHEN ? THEN wanted ELSE 1 END"
                                " WHERE sha256 = ?", (here, here, sha))
            con.commit()
    finally:
        con.close()
    return written, refused


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
            written, refused = _restore_files(data_dir, tmp)  # files first: one too many never hurts
            if written or refused:
                log.warning("restore: %d attachment file(s) put back, %d refused", written, refused)
            kept = None
            if target.exists():
                kept = _aside_name(data_dir, now)
                # The database as it was; its files stay in the folder (a restore never removes one).
                backup(data_dir, kept, files=False)  # consistent copy including anything still in the WAL
            for suffix in ("-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
            tmp.replace(target)
        except DiskFullError as e:
            raise DiskFullError("磁盘空间不足，未恢复，当前数据库未改动。请清理磁盘后重试。") from e
        except OSError as e:
            if is_disk_full(e):
                raise DiskFullError("磁盘空间不足，未恢复，当前数据库未改动。请清理磁盘后重试。") from e
            raise
        finally:
            _remove(tmp)
    return kept
