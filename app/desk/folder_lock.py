"""One program at a time per data folder: an OS lock on ``onedesk.lock``, held for as long as the program uses
the folder, and a note beside it saying who holds it.

Across processes the lock is exclusive (``flock`` on Linux/macOS, ``msvcrt.locking`` on Windows; both vanish with
the process, so a crash never leaves the folder locked). Inside one process it is re-entrant: the app, its sync
thread and tests may open several contexts on one folder. ``sole=True`` (``restore``, ``db upgrade``) also refuses
when this process already uses the folder, since an open engine would keep writing to the file being replaced.

The note (``onedesk.lock.json``: program, pid, host, start time) is only read to explain a refusal; the OS lock
is the truth, so a note left behind by a crashed program never blocks anyone.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.desk.db import StorageError

log = logging.getLogger(__name__)
LOCK_FILENAME = "onedesk.lock"
HOLDER_FILENAME = "onedesk.lock.json"

_program: str | None = None
_guard = threading.Lock()
_held: dict[Path, _Held] = {}


class FolderInUse(StorageError):
    """Another program (or, for ``sole``, another part of this one) uses the data folder; nothing was changed."""


def set_program(label: str) -> None:
    """How this process describes itself to a program it keeps out (``OneDesk 桌面程序``, ``命令行 sync``)."""
    global _program
    _program = label


def _this_program() -> str:
    """The label set by the app, else ``命令行 main.py restore`` from the command line that started us."""
    if _program:
        return _program
    argv = list(sys.argv) or [""]
    words, skip = [], False
    for arg in argv[1:]:
        if skip or arg.startswith("-"):
            skip = arg == "--data-dir"
            continue
        words.append(arg)
    name = Path(argv[0]).name
    if name == "main.py":
        return " ".join(["命令行 main.py", *words[:2]])
    return f"Python 程序 {name}".strip()


@dataclass
class _Held:
    file: IO[bytes]
    count: int


class FolderLock:
    """A hold on a data folder; release it once (``with`` does). Releasing the last hold frees the OS lock."""

    def __init__(self, key: Path):
        self._key: Path | None = key

    def release(self) -> None:
        with _guard:
            if self._key is None:
                return
            key, self._key = self._key, None
            held = _held[key]
            held.count -= 1
            if held.count == 0:
                del _held[key]
                try:
                    (key / HOLDER_FILENAME).unlink(missing_ok=True)
                except OSError:
                    pass  # e.g. another program reading it on Windows; a stale note never blocks
                _os_unlock(held.file)
                held.file.close()

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *_exc) -> None:
        self.release()


def hold(data_dir: Path, *, program: str | None = None, sole: bool = False) -> FolderLock:
    """Take the data folder for this process (creating the folder if needed), or raise :class:`FolderInUse`."""
    key = Path(data_dir).resolve()
    with _guard:
        held = _held.get(key)
        if held is not None:
            if sole:
                raise FolderInUse(_refusal(key, _read_holder(key), here=True))
            held.count += 1
            return FolderLock(key)
        file = _open_lock_file(key)
        if not _os_lock(file):
            file.close()
            raise FolderInUse(_refusal(key, _read_holder(key)))
        _held[key] = _Held(file, 1)
        _write_holder(key, program or _this_program())
        return FolderLock(key)


def _open_lock_file(folder: Path) -> IO[bytes]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return open(folder / LOCK_FILENAME, "a+b")  # kept open for the lifetime of the hold
    except OSError:
        raise StorageError(f"数据文件夹无法写入：{folder}。"
                           "请检查文件夹权限，或用 --data-dir 指定其他文件夹。") from None


def _os_lock(file: IO[bytes]) -> bool:
    if sys.platform == "win32":
        import msvcrt
        file.seek(0)
        try:  # one byte at offset 0; Windows allows locking beyond the end of an empty file
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        # A file system without locks (some network shares): run unguarded rather than never start.
        log.warning("data folder cannot be locked (%s): running without the single-program guard", e)
    return True


def _os_unlock(file: IO[bytes]) -> None:
    try:
        if sys.platform == "win32":
            import msvcrt
            file.seek(0)
            msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)
    except OSError:
        pass  # closing the file releases it anyway


def _write_holder(folder: Path, program: str) -> None:
    note = {"program": program, "pid": os.getpid(), "host": socket.gethostname(),
            "started_at": dt.datetime.now().astimezone().isoformat(timespec="seconds")}
    tmp = folder / (HOLDER_FILENAME + ".part")
    try:
        tmp.write_text(json.dumps(note, ensure_ascii=False), encoding="utf-8")
        tmp.replace(folder / HOLDER_FILENAME)
    except OSError:
        tmp.unlink(missing_ok=True)  # only an explanation for others; the lock itself is held


def _read_holder(folder: Path) -> dict | None:
    try:
        note = json.loads((folder / HOLDER_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) else None


def _refusal(folder: Path, note: dict | None, *, here: bool = False) -> str:
    who = "本程序的另一部分" if here else "另一个程序"
    holder = ""
    if note and note.get("program"):
        since = str(note.get("started_at", ""))[:16].replace("T", " ")
        details = "，".join(p for p in (f"进程 {note['pid']}" if note.get("pid") else "",
                                        f"电脑 {note['host']}" if note.get("host") else "",
                                        f"{since} 起" if since else "") if p)
        holder = f"：{note['program']}" + (f"（{details}）" if details else "")
    return (f"数据文件夹正在被{who}使用{holder}。本次操作未进行，请先关闭该程序再试。"
            f"数据文件夹：{folder}")
