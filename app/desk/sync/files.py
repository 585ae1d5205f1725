"""Attachment bytes to and from the district server (issue 15), after the commands, in resumable chunks.

Use::

    files = FileTransfer(ctx)            # or SyncClient does it after every successful push and pull
    counts = files.run()                 # upload what the server may take, then download what this desk wants
    files.fetch_case(case_id)            # the case window's 下载附件: mark its files wanted and fetch them now
    fetch_case(ctx, case_id)             # the same with a client of its own, closed after (for run_op)
    backlog = file_backlog(ctx)          # cheap, database only: for the status bar and ``sync --status``

Commands first, files after: a file goes up only once the server has acknowledged the attachment.add.v1
command that names it (its outbox row is ``applied``), so the server knows the case it belongs to. Uploads
resume where the server's copy ends (``GET /v1/files/{sha}`` → ``received``; 409 OFFSET names it again);
downloads resume from the partial copy in the blob store, with a ``Range`` header. Of a file not here and not
wanted the round asks the server's status, so a case window shows 可下载 only once the server holds it whole
(``AttachmentBlob.uploaded``), 附件上传中 before; a snapshot (a restored server) forgets every ``uploaded``, so a
file the server lost is sent again (:func:`forget_uploads`). A round is bounded in bytes
and seconds so a sync round stays short; what is left continues next round. Nothing here raises out of
:meth:`FileTransfer.run`: a connection lost mid-file stops the file transfer for this round quietly, every other
problem is written on the file's ``AttachmentBlob`` (``last_error``, ``attempts``) and the next file goes on.
Logs name files by the first characters of their sha256, never by case, resident or file name.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from app.core.errors import UserError
from app.core.limits import ATTACHMENT_CHUNK_BYTES
from app.core.vocabulary import Mutation
from app.core.wire import Endpoint, ErrorCode, FileStatus
from app.desk import keystore
from app.desk.attachments.service import DAMAGED, NO_FILE, AttachmentService
from app.desk.attachments.store import BlobError, BlobHashMismatch
from app.desk.context import AppContext
from app.desk.sync.enroll import ca_file, insecure_http_allowed, plain_http_refused, tls_verify
from models import Attachment, AttachmentBlob, Device, OutboxEntry, utcnow
from models.outbox import OUTBOX_APPLIED

log = logging.getLogger(__name__)

DEFAULT_ROUND_BYTES = 20 * 1024 * 1024  # per round, up and down together: a sync round stays short
DEFAULT_ROUND_S = 30.0
MAX_OFFSET_CONFLICTS = 3  # 409 OFFSET answers for one file in one round before it waits for the next round
MAX_FILES_PER_ROUND = 500  # candidates read per direction and round
RETRY_MISSING_AFTER = dt.timedelta(minutes=15)  # a file the server had no copy of: asked about again after this
RECHECK_AFTER = dt.timedelta(minutes=2)  # a file not here the server did not hold whole yet: asked again after this
MARK_EVERY_S = 1.0  # an upload's progress written on the desk at most this often (and when the file stops)

# What a file's ``last_error`` says. Two values the case window reads as 缺失 (app/desk/attachments/service.py):
# NO_FILE, the server has no such file for this committee; DAMAGED, this desk's copy is gone or fails its check
# (wanted again: fetched if the server has it). Any other text is a passing problem, tried again next round.
BAD_HASH_UPLOAD = "上传的附件校验不一致，已丢弃，下一轮重新上传"
BAD_HASH_DOWNLOAD = "下载的附件校验不一致，已丢弃，下一轮重新下载"
OFFSET_STUCK = "与区服务器的附件续传位置无法对齐，下一轮重试"
NOT_ENROLLED = "本机尚未登记到区服务器，附件暂不上传下载"
OFFLINE = "无法连接区服务器，附件稍后自动续传"
TIMED_OUT = "连接区服务器超时，附件稍后自动续传"


@dataclass(frozen=True, kw_only=True)
class FileCounts:
    """What one :meth:`FileTransfer.run` (or :meth:`FileTransfer.fetch_case`) did."""

    uploaded: int = 0  # files the server now holds whole (hash checked) thanks to this round
    downloaded: int = 0  # files now on this desk (hash checked)
    confirmed: int = 0  # files not here the server was found to hold whole this round (附件上传中 → 可下载)
    bytes_sent: int = 0
    bytes_received: int = 0
    failed: int = 0  # files that met a problem this round (written on their last_error)
    more: bool = False  # stopped by the round's budget: the rest continues next round
    error: str = ""  # Chinese: why the transfer stopped early (offline, not enrolled); empty otherwise

    @property
    def moved(self) -> bool:
        return bool(self.uploaded or self.downloaded or self.confirmed)


NO_FILES = FileCounts()


@dataclass(frozen=True, kw_only=True)
class FileBacklog:
    """The files still to move, from this desk's database (for the status bar and ``sync --status``)."""

    to_upload: int = 0  # here, not (all) on the server yet — including those whose command is not sent yet
    waiting_for_commands: int = 0  # of those: their attachment.add.v1 is not acknowledged yet
    to_download: int = 0  # wanted here, not here yet (those noted missing apart)
    missing: int = 0  # not here, and the server has no copy for us, or this desk's copy is gone (tried again)

    @property
    def empty(self) -> bool:
        return not (self.to_upload or self.to_download or self.missing)


def file_backlog(ctx: AppContext) -> FileBacklog:
    with ctx.sessions() as s:
        to_upload = sorted(_live(s, _to_upload_query(s)))
        ready = set(_to_upload_query(s, ready=True))
        waiting = [sha for sha in to_upload if sha not in ready]
        to_download = s.scalar(select(func.count()).select_from(AttachmentBlob).where(
            AttachmentBlob.wanted.is_(True), AttachmentBlob.present.is_(False),
            AttachmentBlob.last_error.not_in((NO_FILE, DAMAGED)))) or 0
        missing = s.scalar(select(func.count()).select_from(AttachmentBlob).where(
            AttachmentBlob.present.is_(False), AttachmentBlob.last_error.in_((NO_FILE, DAMAGED)))) or 0
    return FileBacklog(to_upload=len(to_upload), waiting_for_commands=len(waiting), to_download=to_download,
                       missing=missing)


def _to_upload_query(s: Session, limit: int | None = None, *, due: bool = False, ready: bool = False) -> list[str]:
    """Files here the server is not known to hold whole. ``ready``: only those it may take now (filtered before
    the limit, so files that can never go — taken off before they were sent, their command refused — never fill
    a round's candidates)."""
    q = (select(AttachmentBlob.sha256).where(AttachmentBlob.present.is_(True), AttachmentBlob.uploaded.is_(False))
         .order_by(AttachmentBlob.attempts, AttachmentBlob.updated_at))
    if due:  # one the server said it has no attachment for (taken off before it was sent): now and then only
        q = q.where(or_(AttachmentBlob.last_error != NO_FILE,
                        AttachmentBlob.updated_at < utcnow() - RETRY_MISSING_AFTER))
    if ready:
        q = q.where(*_ready_clauses())
    return list(s.scalars(q.limit(limit) if limit else q))


def _ready_clauses() -> tuple[Any, ...]:
    """SQL: the blob's file is live here (an attachment not taken off refers to it) and the server knows it: this
    desk's attachment.add.v1 naming it was acknowledged, or this desk never sent one (the rows came from the
    server: another desk's add, this desk holding the same bytes)."""
    sha_of = OutboxEntry.args["sha256"].as_string()
    adds = select(sha_of).where(OutboxEntry.name == Mutation.ATTACHMENT_ADD, sha_of.is_not(None))
    live = select(Attachment.sha256).where(Attachment.removed_at.is_(None))
    return (AttachmentBlob.sha256.in_(live),
            or_(AttachmentBlob.sha256.in_(adds.where(OutboxEntry.status == OUTBOX_APPLIED)),
                AttachmentBlob.sha256.not_in(adds)))


def forget_uploads(s: Session) -> int:
    """The server was restored (this desk takes a snapshot): what it held may be gone, so no file counts as on
    the server any more; the next rounds ask it again (one cheap status request for a file it still has) and
    send what it lacks. How many rows changed. Call within the snapshot's transaction."""
    result = s.execute(update(AttachmentBlob).where(AttachmentBlob.uploaded.is_(True))
                       .values(uploaded=False, uploaded_bytes=0, attempts=0))
    return int(getattr(result, "rowcount", 0) or 0)


def _live(s: Session, shas: list[str]) -> set[str]:
    """Of ``shas``, the files a case or resident on this desk still holds (not all taken off again)."""
    if not shas:
        return set()
    return set(s.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(shas),
                                                         Attachment.removed_at.is_(None)).distinct()))


class _Stop(Exception):
    """The link failed (connection lost, timeout, 5xx, token refused): no more files this round."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _Budget:
    def __init__(self, max_bytes: int, max_s: float, monotonic: Callable[[], float]):
        self.left, self.monotonic = max_bytes, monotonic
        self.deadline = monotonic() + max_s

    def spent(self) -> bool:
        return self.left <= 0 or self.monotonic() >= self.deadline

    def take(self, n: int) -> None:
        self.left -= n


@dataclass
class _Tally:
    uploaded: int = 0
    downloaded: int = 0
    confirmed: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    failed: int = 0
    more: bool = False

    def counts(self, error: str = "") -> FileCounts:
        return FileCounts(uploaded=self.uploaded, downloaded=self.downloaded, confirmed=self.confirmed,
                          bytes_sent=self.bytes_sent,
                          bytes_received=self.bytes_received, failed=self.failed, more=self.more, error=error)


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _folder_lock(data_dir: Path) -> threading.Lock:
    """One transfer at a time per data folder in this process (the sync thread's round and a case window's
    fetch may overlap): two writers of the same partial download would spoil it."""
    key = Path(data_dir).resolve()
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


class FileTransfer:
    """Moves attachment bytes between this desk's blob store (``ctx.blobs``) and the district server.

    ``http``: a client whose ``base_url`` is the server (the sync client passes its own); without one a client
    is made like the sync client's (the district CA pinned). Safe to call from any thread but the UI's."""

    def __init__(self, ctx: AppContext, *, http: httpx.Client | None = None, max_bytes: int = DEFAULT_ROUND_BYTES,
                 max_s: float = DEFAULT_ROUND_S, chunk_bytes: int = ATTACHMENT_CHUNK_BYTES, timeout_s: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self.ctx = ctx
        self.max_bytes, self.max_s, self.chunk_bytes = max_bytes, max_s, max(1, min(chunk_bytes,
                                                                                  ATTACHMENT_CHUNK_BYTES))
        self._http, self._own_http, self._timeout_s, self._monotonic = http, http is None, timeout_s, monotonic

    # ----- public API ---------------------------------------------------------------------------------------------
    def run(self, *, http: httpx.Client | None = None) -> FileCounts:
        """Upload, then download, within one round's budget. Never raises."""
        return self._guarded(lambda link, budget, tally: self._round(link, budget, tally), http)

    def fetch_case(self, case_id: uuid.UUID) -> FileCounts:
        """Mark the files of ``case_id`` wanted on this desk and download them now (off the UI thread)."""
        AttachmentService(self.ctx).request_download(case_id)
        with self.ctx.sessions() as s:
            shas = list(s.scalars(select(Attachment.sha256).where(Attachment.case_id == case_id,
                                                                  Attachment.removed_at.is_(None)).distinct()))
        return self._guarded(lambda link, budget, tally: self._download_all(link, budget, tally, shas), None)

    def close(self) -> None:
        if self._own_http and self._http is not None:
            self._http.close()
            self._http = None

    # ----- plumbing -------------------------------------------------------------------------------------------------
    def _guarded(self, work: Callable[[tuple[httpx.Client, str], _Budget, _Tally], None],
                 http: httpx.Client | None) -> FileCounts:
        tally = _Tally()
        with _folder_lock(self.ctx.data_dir):
            try:
                link = self._link(http)
                if isinstance(link, str):
                    return tally.counts(link)
                work(link, _Budget(self.max_bytes, self.max_s, self._monotonic), tally)
            except _Stop as stop:
                log.info("file transfer stopped for this round: %s", stop.message)
                return tally.counts(stop.message)
            except UserError as e:  # e.g. the disk is full: its Chinese message
                log.warning("file transfer stopped: %s", type(e).__name__)
                return tally.counts(str(e))
            except Exception as e:  # a bug or a broken local store: reported as a file problem, never more
                log.exception("file transfer failed on this desk")
                return tally.counts(f"附件传输出错（{type(e).__name__}），已记录日志，稍后自动重试")
        return tally.counts()

    def _link(self, http: httpx.Client | None) -> tuple[httpx.Client, str] | str:
        """(client, bearer token), or the Chinese reason there is none."""
        with self.ctx.sessions() as s:
            dev = s.scalars(select(Device).where(Device.is_local.is_(True))).first()
            token = keystore.device_token(dev) if dev is not None else None
            url = (dev.server_url or "") if dev is not None else ""
        if not token or not url:
            return NOT_ENROLLED
        if http is not None:
            return http, token
        if url.startswith("http://") and not insecure_http_allowed(self.ctx.data_dir, url):
            return plain_http_refused(url)
        if self._http is None:
            self._http = httpx.Client(base_url=url, verify=tls_verify(ca_file(self.ctx.data_dir)),
                                      timeout=httpx.Timeout(self._timeout_s, connect=10.0))
        return self._http, token

    def _request(self, link: tuple[httpx.Client, str], method: str, path: str, **kw: Any) -> httpx.Response:
        http, token = link
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        try:
            resp = http.request(method, path, headers=headers, **kw)
            resp.read()
        except httpx.HTTPError as e:
            raise _Stop(TIMED_OUT if isinstance(e, httpx.TimeoutException) else OFFLINE) from None
        if resp.status_code >= 500 or resp.status_code in (401, 403, 429):
            raise _Stop(_message(resp) or f"区服务器暂时无法处理附件（{resp.status_code}），稍后自动重试")
        return resp

    def _round(self, link: tuple[httpx.Client, str], budget: _Budget, tally: _Tally) -> None:
        self._upload_all(link, budget, tally)
        if not budget.spent():
            self._download_all(link, budget, tally, None)
        if not budget.spent():
            self._check_all(link, budget, tally)

    # ----- upload ---------------------------------------------------------------------------------------------------
    def _upload_all(self, link: tuple[httpx.Client, str], budget: _Budget, tally: _Tally) -> None:
        with self.ctx.sessions() as s:  # its command acknowledged (the server knows the case) and not taken off
            shas = _to_upload_query(s, MAX_FILES_PER_ROUND, due=True, ready=True)
        for sha in shas:
            if budget.spent():
                tally.more = True
                return
            self._upload_one(link, sha, budget, tally)

    def _upload_one(self, link: tuple[httpx.Client, str], sha: str, budget: _Budget, tally: _Tally) -> None:
        path = Endpoint.FILE.format(sha256=sha)
        resp = self._request(link, "GET", path)
        if resp.status_code == 200:
            status = _file_status(resp, sha)
            if status.complete:
                self._mark(sha, uploaded=True, uploaded_bytes=status.size, last_error="")
                tally.uploaded += 1
                return
            offset = status.received
        elif _code(resp) == ErrorCode.NO_FILE:
            offset = 0  # the server has no bytes yet: the first chunk starts its copy
        else:
            self._problem(sha, _message(resp) or f"区服务器拒绝了附件（{resp.status_code}）", tally)
            return
        try:
            data = self.ctx.blobs.get(sha)  # hash checked: damaged bytes are never sent
        except BlobError as e:  # gone or damaged on this desk: nothing to send; the case goes on without it
            log.warning("attachment %s unreadable on this desk (%s): not uploaded", sha[:12], type(e).__name__)
            self._mark(sha, present=False, wanted=True)  # the server's copy, should another desk have sent it
            self._problem(sha, DAMAGED, tally)
            return
        progress = [offset, -1]  # [acknowledged by the server, written on this desk's row]
        try:
            self._send_chunks(link, path, sha, data, progress, budget, tally)
        finally:  # the row follows the server at most once a second (a commit each), and when the file stops
            if progress[0] != progress[1]:
                self._mark(sha, uploaded_bytes=progress[0])

    def _send_chunks(self, link: tuple[httpx.Client, str], path: str, sha: str, data: bytes, progress: list[int],
                     budget: _Budget, tally: _Tally) -> None:
        offset, conflicts, noted_at = progress[0], 0, self._monotonic()
        while True:
            if offset >= len(data) or offset < 0:
                # The server holds as much as there is (or claims more) and yet not complete: try again later.
                self._problem(sha, OFFSET_STUCK, tally)
                return
            if budget.spent():
                tally.more = True
                return
            chunk = data[offset:offset + self.chunk_bytes]
            resp = self._request(link, "PUT", path, params={"offset": offset}, content=chunk,
                                 headers={"Content-Type": "application/octet-stream"})
            tally.bytes_sent += len(chunk)
            budget.take(len(chunk))
            code = _code(resp)
            if resp.status_code == 200:
                status = _file_status(resp, sha)
                offset = progress[0] = status.received
                if status.complete:
                    self._mark(sha, uploaded=True, uploaded_bytes=status.size, last_error="")
                    progress[1] = status.size
                    tally.uploaded += 1
                    log.info("attachment %s uploaded (%d bytes)", sha[:12], status.size)
                    return
                if self._monotonic() - noted_at >= MARK_EVERY_S:
                    self._mark(sha, uploaded_bytes=offset)
                    progress[1], noted_at = offset, self._monotonic()
            elif resp.status_code == 409 and code == ErrorCode.OFFSET:
                conflicts += 1
                received = _detail_int(resp, "received")
                if conflicts > MAX_OFFSET_CONFLICTS or received is None:
                    self._problem(sha, OFFSET_STUCK, tally)
                    return
                offset = progress[0] = received
            elif code == ErrorCode.BAD_HASH:
                log.warning("attachment %s: the server found another hash; sent again next round", sha[:12])
                progress[0] = 0  # the server dropped its partial copy
                self._problem(sha, BAD_HASH_UPLOAD, tally)
                return
            else:
                self._problem(sha, NO_FILE if code == ErrorCode.NO_FILE else
                              (_message(resp) or f"区服务器拒绝了附件（{resp.status_code}）"), tally)
                return

    # ----- download -------------------------------------------------------------------------------------------------
    def _download_all(self, link: tuple[httpx.Client, str], budget: _Budget, tally: _Tally,
                      only: list[str] | None) -> None:
        with self.ctx.sessions() as s:
            q = (select(AttachmentBlob.sha256, AttachmentBlob.size)
                 .where(AttachmentBlob.wanted.is_(True), AttachmentBlob.present.is_(False))
                 .order_by(AttachmentBlob.attempts, AttachmentBlob.updated_at).limit(MAX_FILES_PER_ROUND))
            if only is not None:
                q = q.where(AttachmentBlob.sha256.in_(only))
            else:  # one the server said it has no copy of is asked about again now and then, not every round
                q = q.where(or_(AttachmentBlob.last_error != NO_FILE,
                                AttachmentBlob.updated_at < utcnow() - RETRY_MISSING_AFTER))
            wanted = list(s.execute(q).tuples())
        for sha, size in wanted:
            if budget.spent():
                tally.more = True
                return
            self._download_one(link, sha, size, budget, tally)

    def _download_one(self, link: tuple[httpx.Client, str], sha: str, size: int, budget: _Budget,
                      tally: _Tally) -> None:
        if self.ctx.blobs.intact(sha):  # here after all (added again here, or put back from a backup): the uploader
            self._mark(sha, present=True, uploaded=False, uploaded_bytes=0, last_error="")  # asks the server
            return
        resp = self._request(link, "GET", Endpoint.FILE.format(sha256=sha))
        if resp.status_code != 200:
            self._problem(sha, NO_FILE if _code(resp) == ErrorCode.NO_FILE else
                          (_message(resp) or f"区服务器拒绝了附件（{resp.status_code}）"), tally)
            return
        status = _file_status(resp, sha)
        self._server_says(sha, status)
        if not status.complete:  # the adding desk has not sent it (all) yet: 附件上传中
            return
        partial = self.ctx.blobs.open_partial(sha)  # resumes what an earlier round left
        offset = partial.offset
        if offset > status.size:
            partial.discard()
            offset = 0
        while offset < status.size:
            if budget.spent():
                tally.more = True
                return
            end = min(status.size, offset + self.chunk_bytes) - 1
            resp = self._request(link, "GET", Endpoint.FILE_CONTENT.format(sha256=sha),
                                 headers={"Range": f"bytes={offset}-{end}"})
            if resp.status_code not in (200, 206):
                self._problem(sha, NO_FILE if _code(resp) == ErrorCode.NO_FILE else
                              (_message(resp) or f"区服务器拒绝了附件下载（{resp.status_code}）"), tally)
                return
            body = resp.content
            if resp.status_code == 200:  # the whole file, whatever was asked: keep what follows ours
                body = body[offset:end + 1]
            if not body or len(body) > end + 1 - offset:
                partial.discard()
                self._problem(sha, OFFSET_STUCK, tally)
                return
            try:
                offset = partial.append(body)
            except BlobError as e:  # larger than any attachment may be: the part is dropped
                self._problem(sha, str(e), tally)
                return
            tally.bytes_received += len(body)
            budget.take(len(body))
        try:
            partial.finish()  # sha256 checked; the part is dropped either way
        except BlobHashMismatch:
            log.warning("attachment %s: downloaded bytes do not match its hash; fetched again", sha[:12])
            self._problem(sha, BAD_HASH_DOWNLOAD, tally)
            return
        except BlobError as e:
            self._problem(sha, str(e), tally)
            return
        self._mark(sha, present=True, uploaded=True, uploaded_bytes=status.size, last_error="")
        tally.downloaded += 1
        log.info("attachment %s downloaded (%d bytes)", sha[:12], status.size)

    # ----- the server's status of files not here ---------------------------------------------------------------
    def _check_all(self, link: tuple[httpx.Client, str], budget: _Budget, tally: _Tally) -> None:
        """Files not here and not wanted: whether the server holds them whole yet (可下载, else 附件上传中). Asked
        at once the first time (``attempts`` 0), then after :data:`RECHECK_AFTER` (:data:`RETRY_MISSING_AFTER`
        after NO_FILE); an attachment with no blob row yet gets one first."""
        with self.ctx.sessions.begin() as s:
            orphans = s.execute(select(Attachment.sha256, Attachment.size, Attachment.mime)
                                .where(Attachment.removed_at.is_(None),
                                       Attachment.sha256.not_in(select(AttachmentBlob.sha256)))
                                .limit(MAX_FILES_PER_ROUND)).all()
            new = {sha: {"sha256": sha, "size": size, "mime": mime, "present": False, "uploaded": False,
                         "wanted": False} for sha, size, mime in orphans}
            if new:
                s.execute(insert(AttachmentBlob.__table__), list(new.values()))
            live = select(Attachment.sha256).where(Attachment.removed_at.is_(None))
            shas = list(s.scalars(
                select(AttachmentBlob.sha256)
                .where(AttachmentBlob.present.is_(False), AttachmentBlob.wanted.is_(False),
                       AttachmentBlob.uploaded.is_(False), AttachmentBlob.sha256.in_(live),
                       AttachmentBlob.last_error != DAMAGED,
                       or_(AttachmentBlob.attempts == 0, AttachmentBlob.updated_at < utcnow() - RECHECK_AFTER),
                       or_(AttachmentBlob.last_error != NO_FILE,
                           AttachmentBlob.updated_at < utcnow() - RETRY_MISSING_AFTER))
                .order_by(AttachmentBlob.updated_at).limit(MAX_FILES_PER_ROUND)))
        for sha in shas:
            if budget.spent():
                tally.more = True
                return
            resp = self._request(link, "GET", Endpoint.FILE.format(sha256=sha))
            if resp.status_code != 200:
                self._mark(sha, last_error=NO_FILE if _code(resp) == ErrorCode.NO_FILE else
                           (_message(resp) or f"区服务器拒绝了附件（{resp.status_code}）"),
                           attempts=AttachmentBlob.attempts + 1)
                continue
            status = _file_status(resp, sha)
            self._server_says(sha, status)
            if status.complete:
                tally.confirmed += 1
            else:  # asked again after RECHECK_AFTER
                self._mark(sha, attempts=AttachmentBlob.attempts + 1)

    def _server_says(self, sha: str, status: FileStatus) -> None:
        """Write what the server's status says of ``sha`` on its row: held whole (``uploaded``) or not — for a file
        here, not held whole means the uploader sends it (again) from the server's offset."""
        values: dict[str, Any] = {"uploaded": status.complete,
                                  "uploaded_bytes": status.size if status.complete else status.received}
        with self.ctx.sessions.begin() as s:
            s.execute(update(AttachmentBlob).where(AttachmentBlob.sha256 == sha).values(**values))
            s.execute(update(AttachmentBlob).where(AttachmentBlob.sha256 == sha, AttachmentBlob.last_error == NO_FILE)
                      .values(last_error=""))

    # ----- bookkeeping ----------------------------------------------------------------------------------------------
    def _mark(self, sha: str, **values: Any) -> None:
        with self.ctx.sessions.begin() as s:
            s.execute(update(AttachmentBlob).where(AttachmentBlob.sha256 == sha).values(**values))

    def _problem(self, sha: str, message: str, tally: _Tally) -> None:
        with self.ctx.sessions.begin() as s:
            s.execute(update(AttachmentBlob).where(AttachmentBlob.sha256 == sha)
                      .values(last_error=message, attempts=AttachmentBlob.attempts + 1))
        tally.failed += 1


def fetch_case(ctx: AppContext, case_id: uuid.UUID) -> FileCounts:
    """The case window's 下载附件, off the UI thread: mark the case's files wanted and fetch them now."""
    files = FileTransfer(ctx)
    try:
        return files.fetch_case(case_id)
    finally:
        files.close()


def _file_status(resp: httpx.Response, sha: str) -> FileStatus:
    try:
        status = FileStatus.model_validate(resp.json())
    except ValueError:
        raise _Stop("区服务器的附件答复无法识别（双方程序版本可能不一致）") from None
    if status.sha256 != sha:
        raise _Stop("区服务器的附件答复无法识别（双方程序版本可能不一致）")
    return status


def _detail(resp: httpx.Response) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {}
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, dict) else {}


def _code(resp: httpx.Response) -> str:
    return str(_detail(resp).get("error") or "")


def _message(resp: httpx.Response) -> str:
    return str(_detail(resp).get("message") or "")


def _detail_int(resp: httpx.Response, key: str) -> int | None:
    value = _detail(resp).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
