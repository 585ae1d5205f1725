"""Online backup through SQLite's backup API, and a restore that refuses foreign files."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

from app.core.errors import UserError
from app.desk.db import APPLICATION_ID, DB_FILENAME


class BackupError(UserError, RuntimeError):
    """Backup/restore refused; Chinese message, nothing changed."""


def backup(data_dir: Path, out: Path) -> Path:
    """Consistent copy while the app runs (the backup API copies a snapshot page by page)."""
    src_path = data_dir / DB_FILENAME
    if not src_path.exists():
        raise BackupError(f"数据文件夹中没有数据库：{data_dir}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True, timeout=10)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
    finally:
        dst.close()
        src.close()
    tmp.replace(out)
    return out


def inspect(path: Path) -> str | None:
    """Return a Chinese reason why ``path`` is not a usable OneDesk database, or None if it is."""
    if not path.is_file():
        return f"文件不存在：{path}"
    with path.open("rb") as f:
        header = f.read(100)
    if not header.startswith(b"SQLite format 3\x00"):
        return "该文件不是 OneDesk 数据库（不是 SQLite 文件或已损坏）"
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            if app_id != APPLICATION_ID:
                return "该文件是其他程序的数据库，不是 OneDesk 数据库"
            if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return "该数据库文件已损坏，未恢复"
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not {"alembic_version", "case", "resident", "worker"} <= tables:
                return "该文件缺少 OneDesk 的数据表，未恢复"
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return "该文件不是 OneDesk 数据库（无法读取）"
    return None


def restore(data_dir: Path, source: Path, now: dt.datetime | None = None) -> Path | None:
    """Replace the desk database with ``source``; the current one is kept aside first. Returns where it was kept."""
    reason = inspect(source)
    if reason:
        raise BackupError(reason)
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / DB_FILENAME
    kept = None
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    if target.exists():
        kept = data_dir / f"onedesk-before-restore-{stamp}.sqlite3"
        backup(data_dir, kept)  # consistent copy including anything still in the WAL
    tmp = data_dir / (DB_FILENAME + ".restoring")
    shutil.copyfile(source, tmp)
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    tmp.replace(target)
    return kept
