"""Attachments' bytes on the district server (issue 15): resumable chunked upload, ranged download, and the
garbage collection of files nothing refers to.

Files are stored once per committee and sha256 under the attachments folder (``python main.py server
--attachments-dir``; default ``<data dir>/server-attachments``), owner-only: ``<root>/<committee id>/ab/<sha>`` once
complete, ``<root>/<committee id>/ab/<sha>.part`` while chunks arrive. ``server_blob`` (keyed by committee and
sha256) holds how many bytes were received and whether the file is complete (its sha256 checked). A device may
read or write only its own committee's copy, and only when a non-removed ``attachment`` row of the committee refers
to that sha256 (the add command, app/server/attachments.py, came first); otherwise the answer is 404 NO_FILE.
Knowing another committee's hash gives nothing: the same bytes are uploaded again into the committee's own copy.

Upload (``PUT /v1/files/{sha}?offset=N``): each chunk is one transaction holding the ``server_blob`` row
(SELECT ... FOR UPDATE), so two desks uploading the same file at once cannot interleave their bytes; a chunk must
start where the server's copy ends (409 OFFSET with ``received``), fit in the declared size (422) and be at most
:data:`limits.ATTACHMENT_CHUNK_BYTES` (413). The last chunk is checked against the sha256: a match moves the file
atomically to its final name; a mismatch drops the partial copy (422 BAD_HASH, ``received`` back to 0).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core import limits
from app.core.digests import sha256_file
from app.core.wire import ErrorCode, FileStatus
from app.server.db import ServerDB, take_district_lock
from app.server.devices import authenticate
from models import Attachment
from models.server import ServerBlob

log = logging.getLogger(__name__)

DEFAULT_DIRNAME = "server-attachments"  # in the server's data folder, beside its SQLite file and TLS files
PART_SUFFIX = ".part"
STALE_PART_AGE = dt.timedelta(days=7)
READ_BLOCK = 64 * 1024

BAD_SHA = "文件摘要格式不正确（应为 64 位小写十六进制数字）"
NO_FILE = "区服务器上没有该附件：本居委会的案件未引用此文件，或文件尚未上传完整"
WRONG_OFFSET = "上传位置与区服务器已收到的内容不一致，请从第 {received} 字节处继续上传"
BEYOND_SIZE = "上传的内容超出了该附件登记的大小（{size} 字节）"
CHUNK_TOO_LARGE = f"每次最多上传 {limits.ATTACHMENT_CHUNK_BYTES // 1024} KB，请分段上传"
FILE_TOO_LARGE = f"附件过大（最多 {limits.ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB）"
BAD_HASH = "上传的文件与登记的摘要不一致（传输中可能损坏），已丢弃，请重新上传"
BAD_RANGE = "请求的下载范围无效（文件共 {size} 字节）"
CANNOT_STORE = "区服务器暂时无法保存附件（磁盘已满或附件文件夹不可写），稍后会自动重试"

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class FileRefused(Exception):
    """A refusal of a file request: HTTP status, :class:`ErrorCode`, Chinese message, extra detail fields
    (``received`` for 409 OFFSET), and headers of the answer."""

    def __init__(self, status: int, error: ErrorCode, message: str, *, headers: dict[str, str] | None = None,
                 **extra: int):
        super().__init__(message)
        self.status, self.error, self.message, self.extra = status, error, message, extra
        self.headers = headers


def check_sha(text: str) -> str:
    """The file name of a request: 64 lower-case hex digits exactly (what every desk sends and the add command
    accepts), else 422."""
    if not limits.is_sha256(text):
        raise FileRefused(422, ErrorCode.BAD_REQUEST, BAD_SHA)
    return text


def _owner_only_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(path, 0o700)


@dataclass
class FileStore:
    """Where the server keeps attachments' bytes (created owner-only): one folder per committee."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        _owner_only_dir(self.root)

    def path(self, committee_id: uuid.UUID, sha: str) -> Path:
        return self.root / str(committee_id) / sha[:2] / sha

    def part(self, committee_id: uuid.UUID, sha: str) -> Path:
        return self.root / str(committee_id) / sha[:2] / f"{sha}{PART_SUFFIX}"

    def folder(self, committee_id: uuid.UUID, sha: str) -> Path:
        _owner_only_dir(self.root / str(committee_id))
        sub = self.root / str(committee_id) / sha[:2]
        _owner_only_dir(sub)
        return sub


def default_root(data_dir: Path) -> Path:
    return Path(data_dir) / DEFAULT_DIRNAME


def temporary_store() -> tuple[FileStore, tempfile.TemporaryDirectory]:
    """A store in a fresh temporary folder (tests, or an app built without a configured folder); the folder goes
    when the returned handle is collected. ``python main.py server`` always configures a real folder."""
    handle = tempfile.TemporaryDirectory(prefix="onedesk-server-files-")
    return FileStore(Path(handle.name)), handle


# ----- who may see a file -------------------------------------------------------------------------------------
def _referring(s: Session, committee_id, sha: str) -> Attachment | None:
    """A live attachment of the committee that refers to ``sha`` (what gives a device the right to the file)."""
    return s.scalars(select(Attachment).where(Attachment.sha256 == sha, Attachment.committee_id == committee_id,
                                              Attachment.removed_at.is_(None)).limit(1)).first()


def _status(sha: str, blob: ServerBlob | None, size: int, store: FileStore) -> FileStatus:
    if blob is None:
        return FileStatus(sha256=sha, size=size, received=0, complete=False)
    if blob.complete and not store.path(blob.committee_id, sha).is_file():  # went missing: to be sent again
        return FileStatus(sha256=sha, size=blob.size, received=0, complete=False)
    return FileStatus(sha256=sha, size=blob.size, received=blob.received, complete=blob.complete)


def file_status(db: ServerDB, store: FileStore, token: str | None, sha: str, now: dt.datetime) -> FileStatus:
    sha = check_sha(sha)
    with db.read_sessions() as s:
        device = authenticate(s, token, now=now)
        ref = _referring(s, device.committee_id, sha)
        if ref is None:
            raise FileRefused(404, ErrorCode.NO_FILE, NO_FILE)
        return _status(sha, s.get(ServerBlob, (device.committee_id, sha)), ref.size, store)


# ----- upload -------------------------------------------------------------------------------------------------
def _locked_blob(s: Session, ref: Attachment, now: dt.datetime) -> ServerBlob:
    """The committee's row of the file, locked for this transaction; made when missing (the add command makes it
    first)."""
    stmt = select(ServerBlob).where(ServerBlob.committee_id == ref.committee_id,
                                    ServerBlob.sha256 == ref.sha256).with_for_update()
    blob = s.scalars(stmt).first()
    if blob is None:
        try:
            with s.begin_nested():
                s.add(ServerBlob(committee_id=ref.committee_id, sha256=ref.sha256, size=ref.size, mime=ref.mime,
                                 received=0, complete=False, created_at=now))
        except IntegrityError:  # another upload made it at the same moment
            pass
        blob = s.scalars(stmt).one()
    return blob


def _write_at(path: Path, offset: int, chunk: bytes) -> None:
    """Write ``chunk`` at ``offset`` and cut the file there (bytes beyond a crash's last commit are dropped)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "r+b") as fh:
        fh.seek(offset)
        fh.write(chunk)
        fh.truncate(offset + len(chunk))
        fh.flush()
        os.fsync(fh.fileno())



def _sync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _store_chunk(store: FileStore, blob: ServerBlob, device_id, offset: int, chunk: bytes,
                 now: dt.datetime) -> FileRefused | None:
    """Write the chunk; on the last one check the sha256: a match moves the file to its final name, a mismatch
    drops the partial copy (the refusal is returned, to be raised once ``received`` = 0 is committed)."""
    sha = blob.sha256
    part, final = store.part(blob.committee_id, sha), store.path(blob.committee_id, sha)
    if chunk:
        store.folder(blob.committee_id, sha)
        _write_at(part, offset, chunk)
        blob.received = offset + len(chunk)
    if blob.received != blob.size:
        return None
    if sha256_file(part) != sha:
        part.unlink(missing_ok=True)
        blob.received = 0
        log.warning("attachment file %s did not match its sha256; partial copy dropped", sha[:12])
        return FileRefused(422, ErrorCode.BAD_HASH, BAD_HASH)
    os.replace(part, final)
    _sync_dir(final.parent)
    blob.complete, blob.completed_at, blob.uploaded_by_device_id = True, now, device_id
    log.info("attachment file %s complete (%d bytes)", sha[:12], blob.size)
    return None


def put_chunk(db: ServerDB, store: FileStore, token: str | None, sha: str, offset: int, chunk: bytes,
              now: dt.datetime) -> FileStatus:
    """Append one chunk of the file ``sha`` at ``offset``; the file's status afterwards, or :class:`FileRefused`."""
    sha = check_sha(sha)
    refusal: FileRefused | None = None
    with db.sessions.begin() as s:
        device = authenticate(s, token, now=now)
        ref = _referring(s, device.committee_id, sha)
        if ref is None:
            raise FileRefused(404, ErrorCode.NO_FILE, NO_FILE)
        if len(chunk) > limits.ATTACHMENT_CHUNK_BYTES:
            raise FileRefused(413, ErrorCode.TOO_LARGE, CHUNK_TOO_LARGE)
        blob = _locked_blob(s, ref, now)
        final, part = store.path(blob.committee_id, sha), store.part(blob.committee_id, sha)
        if blob.complete and final.is_file():
            return _status(sha, blob, ref.size, store)  # sent again (its answer was lost): nothing to do
        if blob.complete:  # complete once, but the file is gone from the disk: take it again
            log.warning("attachment file %s missing from %s; accepting it again", sha[:12], store.root)
            blob.complete, blob.completed_at, blob.received = False, None, 0
        if blob.size > limits.ATTACHMENT_MAX_BYTES:
            raise FileRefused(413, ErrorCode.TOO_LARGE, FILE_TOO_LARGE)
        have = part.stat().st_size if part.is_file() else 0
        if have < blob.received:  # the partial copy lost bytes it had acknowledged: start again
            log.warning("partial attachment %s shorter than recorded; restarting its upload", sha[:12])
            blob.received = 0
        if offset != blob.received:
            refusal = FileRefused(409, ErrorCode.OFFSET, WRONG_OFFSET.format(received=blob.received),
                                  received=blob.received)
        elif offset + len(chunk) > blob.size:
            refusal = FileRefused(422, ErrorCode.BAD_REQUEST, BEYOND_SIZE.format(size=blob.size))
        else:
            try:
                refusal = _store_chunk(store, blob, device.id, offset, chunk, now)
            except OSError as e:  # the server's disk, not the desk: nothing is recorded, the desk retries
                log.error("attachment file %s could not be stored: %s", sha[:12], type(e).__name__)
                raise FileRefused(503, ErrorCode.UNAVAILABLE, CANNOT_STORE) from None
        answer = _status(sha, blob, ref.size, store)
    if refusal is not None:  # raised after the commit: a reset of ``received`` must be kept
        raise refusal
    return answer


# ----- download -----------------------------------------------------------------------------------------------
@dataclass
class Content:
    """An open complete file: read it with :func:`read_span` (the handle stays valid even if gc removes it)."""

    handle: BinaryIO
    size: int
    mime: str


def open_content(db: ServerDB, store: FileStore, token: str | None, sha: str, now: dt.datetime) -> Content:
    sha = check_sha(sha)
    with db.read_sessions() as s:
        device = authenticate(s, token, now=now)
        if _referring(s, device.committee_id, sha) is None:
            raise FileRefused(404, ErrorCode.NO_FILE, NO_FILE)
        blob = s.get(ServerBlob, (device.committee_id, sha))
        if blob is None or not blob.complete:
            raise FileRefused(404, ErrorCode.NO_FILE, NO_FILE)
        size, mime = blob.size, blob.mime
    try:
        handle = store.path(device.committee_id, sha).open("rb")
    except FileNotFoundError:
        raise FileRefused(404, ErrorCode.NO_FILE, NO_FILE) from None
    return Content(handle, size, mime)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``Range: bytes=a-b`` (or ``a-``, or ``-n``) as an inclusive (start, end) within ``size``; None for the whole
    file; :class:`FileRefused` 416 for a range outside it or one this server does not serve (several ranges)."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    bad = FileRefused(416, ErrorCode.BAD_REQUEST, BAD_RANGE.format(size=size),
                      headers={"Content-Range": f"bytes */{size}"})
    if m is None or not (m.group(1) or m.group(2)):
        raise bad
    first, last = m.group(1), m.group(2)
    if not first:  # the last n bytes
        n = int(last)
        if n == 0:
            raise bad
        return max(0, size - n), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise bad
    return start, end


def read_span(content: Content, start: int, end: int) -> Iterator[bytes]:
    """The bytes ``start``..``end`` (inclusive) in blocks; closes the file when done or abandoned."""
    try:
        content.handle.seek(start)
        left = end - start + 1
        while left > 0:
            block = content.handle.read(min(READ_BLOCK, left))
            if not block:
                break
            left -= len(block)
            yield block
    finally:
        content.handle.close()


# ----- garbage collection -------------------------------------------------------------------------------------
@dataclass
class GcReport:
    files: int = 0  # complete files removed
    parts: int = 0  # partial uploads removed (abandoned ones nothing refers to, and stale ones of live files)
    rows: int = 0  # server_blob rows removed
    bytes_freed: int = 0
    kept: int = 0  # files a live attachment refers to


def _referred(s: Session) -> set[tuple[uuid.UUID, str]]:
    """(committee, sha256) of every live attachment: the copies that must stay."""
    rows = s.execute(select(Attachment.committee_id, Attachment.sha256)
                     .where(Attachment.removed_at.is_(None)).distinct())
    return {(committee_id, sha) for committee_id, sha in rows}


def _our_file(path: Path) -> tuple[uuid.UUID, str, bool] | None:
    """(committee, sha256, partial?) of a file named like ours (``<committee>/ab/<sha>[.part]``), else None."""
    is_part = path.name.endswith(PART_SUFFIX)
    sha = path.name.removesuffix(PART_SUFFIX)
    if not limits.is_sha256(sha) or path.parent.name != sha[:2]:
        return None
    try:
        committee_id = uuid.UUID(path.parent.parent.name)
    except ValueError:
        return None
    if str(committee_id) != path.parent.parent.name or not path.is_file():
        return None
    return committee_id, sha, is_part


def _modified(path: Path) -> float:
    """When the file was last written; a file gone meanwhile counts as just written (it is left alone)."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def collect_garbage(db: ServerDB, store: FileStore, now: dt.datetime, *, dry_run: bool = False,
                    stale_after: dt.timedelta = STALE_PART_AGE) -> GcReport:
    """Per committee: remove the files and ``server_blob`` rows no live attachment of that committee refers to,
    and every partial upload older than ``stale_after`` — one nothing refers to goes with its row (a younger one
    may belong to an add command on its way); one a live attachment refers to goes and its row's ``received``
    is reset to 0, so the desk starts that upload again from the beginning on its next status check (a device
    cannot park a 25 MB partial copy under every attachment it declares). Holds the district lock, so no add command
    can come to refer to a file while it goes, and each stale partial copy's ``server_blob`` row, so no chunk is
    written into it meanwhile. A complete file a live attachment refers to is never touched; files in the folder
    that are not named like ours are left alone."""
    report = GcReport()
    with db.sessions.begin() as s:
        take_district_lock(s)
        referred = _referred(s)
        gone = [key for key in s.execute(select(ServerBlob.committee_id, ServerBlob.sha256))
                if tuple(key) not in referred]
        stale_before = now.timestamp() - stale_after.total_seconds()
        for path in sorted(store.root.glob("*/*/*")):
            named = _our_file(path)
            if named is None:
                continue
            committee_id, sha, is_part = named
            live = (committee_id, sha) in referred
            if live and not is_part:
                report.kept += 1
                continue
            if is_part and _modified(path) > stale_before:
                continue
            if live:  # a stale partial copy of a live file: locked, checked again, then dropped and reset
                blob = s.get(ServerBlob, (committee_id, sha), with_for_update=True)
                if _modified(path) > stale_before:
                    continue  # a chunk arrived (or the upload completed) while we waited for the row
                if blob is not None and not blob.complete and not dry_run:
                    blob.received = 0
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if not dry_run:
                path.unlink(missing_ok=True)
            report.bytes_freed += size
            report.parts += is_part
            report.files += not is_part
        report.rows = len(gone)
        if gone and not dry_run:
            for committee_id, sha in gone:
                s.execute(delete(ServerBlob).where(ServerBlob.committee_id == committee_id,
                                                   ServerBlob.sha256 == sha))
    if not dry_run:
        log.info("attachments gc: %d files, %d partial uploads, %d rows removed", report.files, report.parts,
                 report.rows)
    return report
