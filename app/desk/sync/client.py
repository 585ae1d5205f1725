"""The desk's sync client: push the outbox, pull the server's changes. No Qt; the UI runs it off its thread.

Use::

    client = SyncClient(ctx)
    result = client.sync_once()        # one round: push everything pending, then pull everything new
    time.sleep(result.next_sync_in_s)  # the interval after success, exponential backoff with jitter after failure
    status = sync_status(ctx)          # cheap, database only: for the status bar and the sync-health page

A round never deletes anything: acknowledged commands stay in the outbox (status ``applied``), rejected ones
stay as ``set_aside`` with the server's reason, and everything unsent stays ``pending`` whatever happens. A
command the server holds until an earlier one from another desk is back (it was restored from a backup,
app/server/held.py) stays ``held`` and is asked about again every round, until it has run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError
from sqlalchemy import bindparam, func, select, update

from app.core.changes import NO_CHANGES, Changes
from app.core.errors import UserError
from app.core.wire import (
    DEFAULT_PULL_PAGE,
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_PULL_PAGE,
    TOKEN_RENEW_WINDOW,
    Change,
    Endpoint,
    ErrorBody,
    ErrorCode,
    ErrorDetail,
    MutationIn,
    PullPage,
    PullQuery,
    PushRequest,
    PushResponse,
    ResultStatus,
    ServerAnswer,
    SnapshotPage,
    SnapshotQuery,
    SnapshotStart,
    TokenRenewal,
)
from app.desk import keystore
from app.desk.context import AppContext
from app.desk.sync import snapshot as snapshot_pages
from app.desk.sync.apply import DeskApplier, QueuedIds, pending_entity_ids
from app.desk.sync.backoff import backoff_delay  # re-exported: tests and callers read it here
from app.desk.sync.enroll import ca_file, insecure_http_allowed, plain_http_refused, tls_verify
from app.desk.sync.files import NO_FILES, FileCounts, FileTransfer, forget_uploads
from app.desk.sync.queue import Queued, fewer_collections, renumber_pending, resend_after, sent_args
from app.desk.sync.status import SetAsideMutation as SetAsideMutation  # re-exported: callers read them here
from app.desk.sync.status import SyncStatus, _local_device, _state, sync_status
from app.desk.sync.status import mutation_label as mutation_label
from app.desk.updates import remember_releases
from models import OutboxEntry, utcnow
from models.outbox import OUTBOX_APPLIED, OUTBOX_HELD, OUTBOX_PENDING, OUTBOX_SET_ASIDE

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_S = 30.0
MAX_PUSH_BATCHES_PER_ROUND = 200
PUSH_BODY_MARGIN = 64 * 1024  # below the server's body limit, for what _call adds (client_now) and rounding
MAX_PULL_PAGES_PER_ROUND = 200
NOT_ENROLLED = "本机尚未登记到区服务器：请在“同步”页填写区管理员提供的服务器地址、注册码和区 CA 证书，点“登记本机”"
MIDS_NOT_ALIGNED = "与区服务器的操作序号无法对齐，请联系区管理员"
BAD_ANSWER = "区服务器的答复无法识别（双方程序版本可能不一致），本机数据未改动，请联系区管理员"
CUT_OFF = "与区服务器的连接中断，稍后自动重试"
Answer = TypeVar("Answer", bound=ServerAnswer)


@dataclass(frozen=True, kw_only=True)
class SyncResult:
    """The outcome of one :meth:`SyncClient.sync_once` round."""

    pushed: int = 0  # commands the server acknowledged this round
    pulled: int = 0  # server rows written on this desk this round
    set_aside: int = 0  # commands the server set aside this round (see SyncStatus.set_aside_items)
    pending: int = 0  # commands still waiting in the outbox after the round
    online: bool = False  # the server answered
    error: str = ""  # Chinese, for the worker; empty when the round succeeded
    snapshot: bool = False  # a full snapshot was downloaded (first sync, or the server was restored)
    next_sync_in_s: float = DEFAULT_INTERVAL_S
    finished_at: dt.datetime = field(default_factory=utcnow)
    files: FileCounts = NO_FILES  # attachments' bytes, after the commands (app/desk/sync/files.py): never ``error``

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def changes(self) -> Changes:
        """What the round changed on this desk. Pulled rows may be of any kind, so they report every kind
        the server sends; acknowledged or set-aside commands come back with the server's cases and residents."""
        if self.snapshot:
            return Changes.everything()
        changed = NO_CHANGES
        if self.pulled:
            changed |= Changes(cases=True, residents=True, workers=True, settings=True, catalog=True, calendar=True)
        if self.pushed or self.set_aside or self.files.moved:  # files: a case window's 已上传 / readable
            changed |= Changes(cases=True, residents=True, sync_status=True)
        return changed


class SyncError(UserError):
    """A round that could not finish. ``online`` says whether the server answered at all."""

    def __init__(self, message: str, *, online: bool, status: int | None = None, detail: ErrorDetail | None = None):
        super().__init__(message)
        self.message, self.online, self.status, self.detail = message, online, status, detail


class _Refused(Exception):
    """A 409 or 410 the caller repairs itself (realign the outbox, take a snapshot)."""

    def __init__(self, status: int, detail: ErrorDetail):
        super().__init__(detail.message)
        self.status, self.detail = status, detail


@dataclass
class _Counts:
    pushed: int = 0
    pulled: int = 0
    set_aside: int = 0
    snapshot: bool = False
    resent: int = 0


@dataclass(frozen=True)
class _Link:
    server_url: str
    device_id: str
    token: str


class SyncClient:
    """One desk's connection to the district server. :meth:`sync_once` is safe to call from a worker thread;
    concurrent calls are serialised."""

    def __init__(self, ctx: AppContext, *, http: httpx.Client | None = None,
                 clock: Callable[[], dt.datetime] | None = None,
                 batch_size: int = 100, pull_limit: int = DEFAULT_PULL_PAGE, interval_s: float = DEFAULT_INTERVAL_S,
                 rng: Callable[[], float] = random.random, timeout_s: float = 30.0, files: FileTransfer | None = None):
        self.ctx = ctx
        self.clock = clock or ctx.clock.desk_time  # the desk's own clock: the offset is measured against it
        # Within the protocol's limits, so the server never refuses a request for its size.
        self.batch_size, self.pull_limit = max(1, min(batch_size, MAX_BATCH)), max(1, min(pull_limit, MAX_PULL_PAGE))
        self.interval_s = interval_s
        self._rng, self._timeout_s = rng, timeout_s
        self._http, self._own_http, self._files = http, http is None, files or FileTransfer(ctx)  # files: their budget
        self._http_url = ""
        self._lock = threading.Lock()
        self._offset_s: float | None = None
        self._token_expires: dt.datetime | None = None  # server time; unknown until the first round asks
        # (entity, id) -> the row this round's push answers wrote on the desk (_not_adopted)
        self._adopted: dict[tuple[str, str], dict] = {}
        self._queued = QueuedIds()  # what the unsent commands name: made afresh by every push (_push_all)

    # ----- public API ---------------------------------------------------------------------------------------------
    def sync_once(self) -> SyncResult:
        """Push everything pending, then pull everything new. Never raises: failures are in the result."""
        with self._lock, fewer_collections():
            counts = _Counts()
            self._adopted.clear()  # valid within one round only (see _not_adopted)
            link = self._link()
            if link is None:
                return self._finish(counts, SyncError(NOT_ENROLLED, online=False))
            if link.server_url.startswith("http://") and not insecure_http_allowed(self.ctx.data_dir, link.server_url):
                # Enrolled over plain http without the lab opt-in (older versions allowed it): nothing goes out.
                return self._finish(counts, SyncError(plain_http_refused(link.server_url), online=False))
            try:
                if self._needs_snapshot():
                    # Before pushing: after enrolment the accounts and committee must match the server's ids first.
                    self._snapshot(link, counts)
                for _ in range(3):
                    counts.resent = 0
                    self._push_all(link, counts)
                    self._pull_all(link, counts)
                    if not counts.resent:  # the pull revealed commands the server lost: send them in this round
                        break
                self._renew_if_due(link)
            except SyncError as e:
                return self._finish(counts, e)
            except Exception as e:  # a bug or a broken local database: record it, never lose the thread
                log.exception("sync round failed on this desk")
                return self._finish(counts, SyncError(f"本机同步出错（{type(e).__name__}），已记录日志，稍后自动重试",
                                                      online=True))
            return self._finish(counts, None, self._files.run(http=self._client(link)))  # then files: never raises

    def status(self) -> SyncStatus:
        return sync_status(self.ctx, self.clock())

    def close(self) -> None:
        if self._own_http and self._http is not None:
            self._http.close()
            self._http = None

    # ----- plumbing -------------------------------------------------------------------------------------------------
    def _link(self) -> _Link | None:
        with self.ctx.sessions() as s:
            dev = _local_device(s)
            token = keystore.device_token(dev) if dev is not None else None
            if dev is None or not token or not dev.server_url:
                return None
            return _Link(dev.server_url, dev.server_device_id or "", token)

    def _client(self, link: _Link) -> httpx.Client:
        if self._own_http and self._http is not None and self._http_url != link.server_url:
            self._http.close()  # enrolled again, perhaps with another server: start afresh
            self._http = None
        if self._http is None:
            self._http = httpx.Client(base_url=link.server_url, verify=tls_verify(ca_file(self.ctx.data_dir)),
                                      timeout=httpx.Timeout(self._timeout_s, connect=10.0))
            self._http_url = link.server_url
        return self._http

    def _call(self, link: _Link, method: str, path: Endpoint, answer: type[Answer], *,
              repairable: tuple[int, ...] = (), **kw: Any) -> Answer:
        """One HTTP exchange; a 200's body parsed as ``answer``. A 409 or 410 listed in ``repairable`` raises
        :class:`_Refused`; everything else that is not a fitting 200 raises :class:`SyncError`."""
        t0 = self.clock()
        headers = {"Authorization": f"Bearer {link.token}"}
        if "json" in kw:
            kw["content"] = _json_text(kw.pop("json"))
        if "content" in kw:  # JSON text, written by _json_text
            headers["Content-Type"] = "application/json"
        try:
            resp = self._client(link).request(method, path, headers=headers, **kw)
            resp.read()
        except httpx.HTTPError as e:
            raise SyncError(_transport_message(e), online=False) from None
        t1 = self.clock()
        status = resp.status_code
        if status >= 500:
            detail = _refusal(resp) if status == 503 else None
            raise SyncError(detail.message if detail else f"区服务器出错（{status}），稍后自动重试", online=False,
                            status=status)
        if status == 200:  # parsed from the bytes: a push answer or a pull page is most of what a round reads
            parsed = _parse_json(answer, resp.content, path)
            self._measure_offset(parsed.server_time, t0, t1)
            return parsed
        try:
            body = resp.json()
        except ValueError:  # the answer was cut off on the way
            raise SyncError(CUT_OFF, online=False) from None
        if status < 300:
            raise SyncError(f"区服务器返回意外的状态 {status}", online=True, status=status)
        raise self._refused(method, path, status, body, repairable)

    @staticmethod
    def _refused(method: str, path: str, status: int, body: Any, repairable: tuple[int, ...]) -> Exception:
        """What a 4xx means: :class:`_Refused` for a repairable one, else a SyncError with the server's message."""
        try:
            detail: ErrorDetail | None = ErrorBody.model_validate(body).detail
        except ValidationError:  # e.g. FastAPI's validation errors: a bug, not something to show
            log.error("server refused %s %s with %d", method, path, status)  # its detail may echo data
            detail = None
        if status in repairable:
            return _Refused(status, detail) if detail else SyncError(BAD_ANSWER, online=True, status=status)
        if status in (409, 410):
            return SyncError(f"区服务器返回意外的状态 {status}", online=True, status=status)
        if detail is None:
            return SyncError(f"区服务器拒绝了本机的请求（{status}），请联系区管理员", online=True, status=status)
        return SyncError(detail.message or f"区服务器返回错误 {status}", online=True, status=status, detail=detail)

    def _measure_offset(self, server_time: dt.datetime, t0: dt.datetime, t1: dt.datetime) -> None:
        # NTP's estimate: the server stamped its answer about half-way through the round trip.
        self._offset_s = (server_time - (t0 + (t1 - t0) / 2)).total_seconds()

    # ----- device token ---------------------------------------------------------------------------------------------
    def _renew_if_due(self, link: _Link) -> None:
        """Once per client, then in the token's last week (server time): ask for a new token and keep it where
        the current one is kept. Far from expiry the server only says when it ends."""
        server_now = self.clock() + dt.timedelta(seconds=self._offset_s or 0.0)
        if self._token_expires is not None and self._token_expires - server_now > TOKEN_RENEW_WINDOW:
            return
        answer = self._call(link, "POST", Endpoint.TOKEN_RENEW, TokenRenewal)
        if answer.token:
            with self.ctx.sessions.begin() as s:
                dev = _local_device(s)
                if dev is not None:
                    keystore.store_device_token(dev, answer.token)
            log.info("device token renewed until %s", answer.expires_at.isoformat())
        self._token_expires = answer.expires_at

    # ----- push -----------------------------------------------------------------------------------------------------
    def _pending_batch(self, status: str = OUTBOX_PENDING, after_mid: int = 0) -> list[Queued]:
        """The next commands of ``status`` after ``after_mid``, as plain rows (ORM objects cost more to load than
        the commands cost to send)."""
        t = OutboxEntry.__table__.c
        with self.ctx.sessions() as s:
            return [Queued(*row) for row in s.execute(
                select(t.mid, t.mutation_id, t.name, t.args, t.acting_worker_id, t.client_time, t.clock_offset_s,
                       t.result).where(t.status == status, t.mid > after_mid).order_by(t.mid).limit(self.batch_size))]

    def _push_all(self, link: _Link, counts: _Counts) -> None:
        # Commands the server holds are asked about again once a round, before the pending ones (the server
        # answers a pushed-again mid with its stored outcome): it may have run them since their predecessors came.
        # While the answer to one batch of pending commands is written here, the next one is on its way: the
        # server works on it meanwhile (it continues the mids the server has just committed, so it is valid
        # whatever this desk does with the answer). Its answer is taken only after this one's.
        conflicts = 0
        held_after: int | None = 0  # None once every held command has been asked about this round
        ahead: tuple[list[Queued], Future[PushResponse]] | None = None
        self._queued = QueuedIds()  # what the unsent commands name, kept up to date batch by batch
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="push") as pool:
            for turn in range(MAX_PUSH_BATCHES_PER_ROUND):
                if ahead is not None:
                    (batch, sent), ahead = ahead, None
                else:
                    batch = self._pending_batch(OUTBOX_HELD, held_after) if held_after is not None else []
                    request, body = self._fitting_request(link, batch)
                    held_after = batch[len(request.mutations) - 1].mid if batch else None
                    if not batch:
                        batch = self._pending_batch()
                        request, body = self._fitting_request(link, batch)
                    if not batch:
                        return
                    batch = batch[:len(request.mutations)]
                    sent = pool.submit(self._push_call, link, body)
                try:
                    answer = sent.result()
                except _Refused as refused:
                    conflicts += 1
                    if conflicts > 3:
                        raise SyncError(MIDS_NOT_ALIGNED, online=True, status=409) from None
                    self._realign(refused.detail)
                    self._queued = QueuedIds()  # statuses and mids moved: read again
                    continue
                if held_after is None and turn + 1 < MAX_PUSH_BATCHES_PER_ROUND:
                    ahead = self._send_next(pool, link, batch)
                self._take_push_answer(batch, answer, counts)

    def _push_call(self, link: _Link, body: str) -> PushResponse:
        return self._call(link, "POST", Endpoint.PUSH, PushResponse, repairable=(409,), content=body)

    def _send_next(self, pool: ThreadPoolExecutor, link: _Link,
                   batch: list[Queued]) -> tuple[list[Queued], Future[PushResponse]] | None:
        """The pending commands after ``batch``, sent now (None when there are none)."""
        following = self._pending_batch(after_mid=batch[-1].mid)
        if not following:
            return None
        request, body = self._fitting_request(link, following)
        return following[:len(request.mutations)], pool.submit(self._push_call, link, body)

    def _fitting_request(self, link: _Link, batch: list[Queued]) -> tuple[PushRequest, str]:
        """The push of the longest start of ``batch`` whose body the server accepts (wire.MAX_BODY_BYTES), and
        that body, written once; one command always goes, and the command limits keep it far below."""
        request = self._push_request(link, batch)
        body = _json_text(request.wire())
        while len(request.mutations) > 1 and len(body) > MAX_BODY_BYTES - PUSH_BODY_MARGIN:
            request = self._push_request(link, batch[:len(request.mutations) // 2])
            body = _json_text(request.wire())
        return request, body

    def _push_request(self, link: _Link, batch: list[Queued]) -> PushRequest:
        """Built without validation: every value comes from this desk's own outbox columns, of the wire's types
        (the server validates what it receives)."""
        return PushRequest.model_construct(device_id=link.device_id, client_now=self.clock(), mutations=[
            MutationIn.model_construct(mid=o.mid, mutation_id=o.mutation_id, name=o.name, args=sent_args(o),
                                       acting_worker=o.acting_worker_id, client_time=o.client_time,
                                       clock_offset_s=o.clock_offset_s) for o in batch])

    def _take_push_answer(self, batch: list[Queued], answer: PushResponse, counts: _Counts) -> None:
        """Mark the acknowledged commands and adopt the server's state of the cases they touched, in one go:
        one UPDATE statement (executemany) for the outbox rows, the rows they name written in bulk."""
        results = {r.mid: r for r in answer.results}
        now = self.clock()
        table = OutboxEntry.__table__
        with self.ctx.sessions.begin() as s:
            stored = s.execute(select(table.c.mid, table.c.status).where(
                table.c.mid.in_([o.mid for o in batch]), table.c.status.in_((OUTBOX_PENDING, OUTBOX_HELD)))).all()
            held = [mid for mid, status in stored if status == OUTBOX_HELD]
            # kept while held: sent again after another restore
            first_acks = {mid: (result or {}).get("at") for mid, result in s.execute(
                select(table.c.mid, table.c.result).where(table.c.mid.in_(held)))} if held else {}
            changes = []
            answered: list[int] = []  # neither unsent nor held any more
            for mid, _status in stored:
                r = results.get(mid)
                if r is None:
                    continue
                status, first_ack = _OUTBOX_STATUS.get(r.status, OUTBOX_APPLIED), first_acks.get(mid)
                changes.append({"b_mid": mid, "status": status, "reason": r.reason, "sent_at": now,
                                "result": {"at": first_ack, **r.result} if first_ack and status == OUTBOX_HELD
                                else r.result})
                if status != OUTBOX_HELD:
                    answered.append(mid)
                if status == OUTBOX_SET_ASIDE:
                    counts.set_aside += 1
                elif status == OUTBOX_APPLIED:
                    counts.pushed += 1
            if changes:
                s.connection().execute(update(table).where(table.c.mid == bindparam("b_mid")).values(
                    status=bindparam("status"), reason=bindparam("reason"), sent_at=bindparam("sent_at"),
                    result=bindparam("result")), changes)
            named = [str(r.get("id")) for r in (*answer.residents, *answer.cases)]
            self._queued.done(answered)
            applier = DeskApplier(s, self.ctx.data_dir, self._queued.among(s, named))
            applier.apply_kind("resident", answer.residents)  # checked like pulled rows: a bad one is set aside
            applier.apply_kind("case", answer.cases)
        if applier.replaced_identities:  # unsent commands' args were rewritten (apply.replace_identity)
            self._queued = QueuedIds()
        self._adopted.update(applier.written)

    def _realign(self, detail: ErrorDetail) -> None:
        """409. ``gap``: the server lacks commands this desk believes sent (server restored): send them again.
        ``mid_conflict``: this desk reused numbers the server holds (desk restored): renumber the unsent ones."""
        last = detail.last_mid or 0
        with self.ctx.sessions.begin() as s:
            if detail.error == ErrorCode.MID_CONFLICT:
                renumber_pending(s, last)
            else:
                resend_after(s, last)
        log.warning("outbox realigned after 409 %s (server last_mid %d)", detail.error, last)

    # ----- pull ------------------------------------------------------------------------------------------------------
    def _needs_snapshot(self) -> bool:
        with self.ctx.sessions.begin() as s:
            return _state(s).needs_snapshot

    def _pull_all(self, link: _Link, counts: _Counts) -> None:
        for _ in range(MAX_PULL_PAGES_PER_ROUND):
            with self.ctx.sessions.begin() as s:
                state = _state(s)
                needs_snapshot, cursor = state.needs_snapshot, state.cursor
            if needs_snapshot:
                self._snapshot(link, counts)
                continue
            query = PullQuery(cursor=cursor, limit=self.pull_limit)
            try:
                page = self._call(link, "GET", Endpoint.PULL, PullPage, repairable=(410,), params=query.wire())
            except _Refused:
                log.warning("server does not know cursor %s (restored from backup?): taking a snapshot", cursor)
                with self.ctx.sessions.begin() as s:
                    _state(s).needs_snapshot = True
                continue
            changes = self._not_adopted(page.changes)
            with self.ctx.sessions.begin() as s:
                counts.resent += resend_after(s, page.last_mid)
                applier = DeskApplier(s, self.ctx.data_dir, pending_entity_ids(s, [c.id for c in changes]))
                applier.apply_changes(changes)
                _state(s).cursor = page.next_cursor  # same transaction as the rows it covers
                remember_releases(s, page.releases)  # the newest package per platform (issue 17)
            counts.pulled += applier.applied
            if not page.has_more:
                return

    def _not_adopted(self, changes: list[Change]) -> list[Change]:
        """The pulled changes to write: a row exactly as this round's push answers wrote it is left out (a desk
        pulls back the change rows of its own push), unless another row of that entity was written since."""
        if not self._adopted:
            return changes
        kept = []
        for ch in changes:
            key = (ch.entity, ch.id)
            if key in self._adopted:
                if self._adopted[key] == ch.data:
                    continue
                del self._adopted[key]  # written now: a later row identical to the answer is written too
            kept.append(ch)
        return kept

    def _snapshot(self, link: _Link, counts: _Counts) -> None:
        """Fresh copy of the committee's data; unsent commands are kept and pushed again afterwards. Large pages,
        the next one fetched while this one is written, each in its own transaction (app/desk/sync/snapshot.py)."""
        start = self._call(link, "GET", Endpoint.SNAPSHOT_START, SnapshotStart)
        with self.ctx.sessions.begin() as s:
            counts.resent += resend_after(s, start.last_mid)

        def fetch(query: SnapshotQuery) -> SnapshotPage:
            return self._call(link, "GET", Endpoint.SNAPSHOT, SnapshotPage, params=query.wire())

        def apply(kind: str, rows: list[Any]) -> None:
            with self.ctx.sessions.begin() as s:
                applier = DeskApplier(s, self.ctx.data_dir)
                applier.apply_kind(kind, rows)
            counts.pulled += applier.applied

        self._adopted.clear()  # the snapshot rewrites what the answers wrote
        snapshot_pages.download(fetch, start.kinds, apply)
        with self.ctx.sessions.begin() as s:
            state = _state(s)
            state.cursor, state.needs_snapshot = start.cursor, False
            forget_uploads(s)  # a restored server may lack files it had: asked again, sent again if need be
        counts.snapshot = True

    # ----- bookkeeping ----------------------------------------------------------------------------------------------
    def _finish(self, counts: _Counts, error: SyncError | None, files: FileCounts = NO_FILES) -> SyncResult:
        now = self.clock()
        with self.ctx.sessions.begin() as s:
            state = _state(s)
            state.last_attempt_at, state.online = now, error.online if error else True
            if error is None:
                state.last_success_at, state.failures, state.last_error = now, 0, ""
            else:
                state.failures, state.last_error = state.failures + 1, error.message
            if self._offset_s is not None:  # measured on every answer: push, pull and snapshot alike
                state.clock_offset_s = self._offset_s
            failures, offset_s = state.failures, state.clock_offset_s
            waiting = select(func.count()).select_from(OutboxEntry).where(OutboxEntry.status == OUTBOX_PENDING)
            pending = s.scalar(waiting) or 0
        self.ctx.clock.learned(offset_s)
        if error is not None:
            log.info("sync round failed (%d in a row): %s", failures, error.message)
        delay = backoff_delay(failures, rng=self._rng) if error else (1.0 if pending or files.more else self.interval_s)
        return SyncResult(pushed=counts.pushed, pulled=counts.pulled, set_aside=counts.set_aside, pending=pending,
                          online=error.online if error else True, error=error.message if error else "",
                          snapshot=counts.snapshot, next_sync_in_s=delay, finished_at=now, files=files)


_OUTBOX_STATUS = {ResultStatus.SET_ASIDE: OUTBOX_SET_ASIDE, ResultStatus.HELD: OUTBOX_HELD}


def _json_text(value: Any) -> str:
    """A request body. Escaped: httpx writes raw UTF-8, which fails on a lone surrogate an old outbox row holds."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def _refusal(resp: httpx.Response) -> ErrorDetail | None:
    """The error body of a refusal, if it has the protocol's shape (a proxy's error page does not)."""
    try:
        return ErrorBody.model_validate(resp.json()).detail
    except ValueError:  # not JSON, or JSON of another shape (pydantic's ValidationError is a ValueError)
        return None


def _parse_json(model: type[Answer], body: bytes, path: str) -> Answer:
    """The JSON text ``body`` as ``model``; an answer cut off on the way, or of another shape, is refused before
    anything on this desk changes."""
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        if any(err["type"] == "json_invalid" for err in e.errors()):
            raise SyncError(CUT_OFF, online=False) from None
        # Where and what only: the values can be residents' data.
        log.error("server answer to %s does not fit %s: %s", path, model.__name__,
                  [(".".join(map(str, err["loc"])), err["type"]) for err in e.errors()])
        raise SyncError(BAD_ANSWER, online=True) from None


def _transport_message(e: httpx.HTTPError) -> str:
    text = str(e)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "区服务器的证书无法验证（证书不是区里签发的或已过期），为安全起见未连接"
    if isinstance(e, httpx.TimeoutException):
        return "连接区服务器超时，稍后自动重试"
    return "无法连接区服务器，当前离线；数据保存在本机，联网后自动上传"
