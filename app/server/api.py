"""FastAPI application of the district server. Routes are thin: they translate HTTP to the services and back.

Every body is a model of :mod:`app.core.wire`, the same classes the desk's sync client builds and parses.
Errors carry ``{"detail": {"error": <code>, "message": <Chinese text>, ...}}`` (:class:`wire.ErrorBody`) so the
desk can both decide what to do and show the worker why.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.wire import (
    API_VERSION,
    MAX_SEQ,
    Endpoint,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    ErrorCode,
    ErrorDetail,
    FileStatus,
    Health,
    PullPage,
    PullQuery,
    PushRequest,
    PushResponse,
    SnapshotPage,
    SnapshotQuery,
    SnapshotStart,
    TokenRenewal,
)
from app.server import files as file_service
from app.server import metrics as server_metrics
from app.server import pull as pull_service
from app.server import push as push_service
from app.server import ratelimit
from app.server import releases as release_service
from app.server import verify as verify_service
from app.server.body_limits import BodyLimits, refusal, validation_refused
from app.server.db import ServerDB
from app.server.devices import AuthFailed, DeviceRevoked, EnrollError, TokenExpired, enroll, renew_token
from models import utcnow

T = TypeVar("T")


# ----- dependencies -------------------------------------------------------------------------------------------
def get_db(request: Request) -> ServerDB:
    return request.app.state.db


def get_now(request: Request) -> dt.datetime:
    return request.app.state.clock()


def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


DbDep = Annotated[ServerDB, Depends(get_db)]
NowDep = Annotated[dt.datetime, Depends(get_now)]
TokenDep = Annotated[str | None, Depends(bearer_token)]


def _error(status: int, error: ErrorCode, message: str, last_mid: int | None = None) -> HTTPException:
    detail = ErrorDetail(error=error, message=message, last_mid=last_mid)
    return HTTPException(status_code=status, detail=detail.model_dump(mode="json", exclude_none=True))


def _refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the refusals a route can answer with; they all have the ErrorBody shape."""
    return {status: {"model": ErrorBody} for status in statuses}


def _auth_errors(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except TokenExpired as e:
        raise _error(401, ErrorCode.UNAUTHORIZED, str(e)) from None
    except AuthFailed:
        raise _error(401, ErrorCode.UNAUTHORIZED, "本机登记信息无效，请重新向区服务器登记") from None
    except DeviceRevoked as e:
        raise _error(403, ErrorCode.REVOKED, str(e)) from None


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _check_limits(request: Request, keys: list[tuple[tuple[str, str], ratelimit.Limit]]) -> None:
    """429 with a Chinese reason and Retry-After when any key is over its limit; checked before any work."""
    limiter: ratelimit.SlidingWindow = request.app.state.limiter
    wait = max((w for key, limit in keys if (w := limiter.retry_after(key, limit)) is not None), default=None)
    if wait is not None:
        detail = ErrorDetail(error=ErrorCode.RATE_LIMITED, message=ratelimit.LIMITED_MESSAGE.format(seconds=wait))
        raise HTTPException(status_code=429, detail=detail.model_dump(mode="json", exclude_none=True),
                            headers={"Retry-After": str(wait)})


# ----- routes ---------------------------------------------------------------------------------------------------
# The routes return wire models: FastAPI passes an instance of the response model through without validating
# it again and serialises it in pydantic's core, so large pages cost no more than plain dicts did.
def _routes(app: FastAPI) -> None:
    @app.get(Endpoint.HEALTH, response_model=Health, tags=["status"])
    def health(now: NowDep) -> Health:
        return Health(server_time=now)

    @app.post(Endpoint.ENROLL, response_model=EnrollResponse, responses=_refusals(400, 429), tags=["devices"])
    def enroll_device(body: EnrollRequest, db: DbDep, now: NowDep, request: Request) -> EnrollResponse:
        # Failed codes count per client address and per committee code named (issue 14, finding 10).
        keys = [(("enroll-ip", _client_ip(request)), ratelimit.ENROLL_FAILURES_PER_IP)]
        if body.committee_code:
            keys.append((("enroll-committee", body.committee_code.strip()), ratelimit.ENROLL_FAILURES_PER_COMMITTEE))
        _check_limits(request, keys)
        try:
            return enroll(db, body, now)
        except EnrollError as e:
            for key, limit in keys:
                request.app.state.limiter.record(key, limit)
            raise _error(400, ErrorCode.ENROLL_REFUSED, str(e)) from None

    @app.post(Endpoint.TOKEN_RENEW, response_model=TokenRenewal, responses=_refusals(401, 403, 429), tags=["devices"])
    def renew(db: DbDep, now: NowDep, token: TokenDep, request: Request) -> TokenRenewal:
        limit = ratelimit.TOKEN_RENEW_PER_IP
        _check_limits(request, [(("renew-ip", _client_ip(request)), limit)])
        request.app.state.limiter.record(("renew-ip", _client_ip(request)), limit)
        return _auth_errors(lambda: renew_token(db, token, now))

    @app.post(Endpoint.PUSH, response_model=PushResponse, responses=_refusals(400, 401, 403, 409, 503), tags=["sync"])
    def push(body: PushRequest, db: DbDep, now: NowDep, token: TokenDep, request: Request) -> PushResponse:
        try:
            answer = _auth_errors(lambda: push_service.push(db, token, body, now))
        except push_service.PushConflict as e:
            raise _error(409, e.error, e.message, last_mid=e.last_mid) from None
        except push_service.BadBatch as e:
            raise _error(400, ErrorCode.BAD_BATCH, str(e)) from None
        except push_service.TemporaryFailure:
            raise _error(503, ErrorCode.UNAVAILABLE, "区服务器暂时无法处理，稍后会自动重试") from None
        request.app.state.metrics.count_push(answer)
        return answer

    # A PullPage written by app/server/pull.py with the payloads spliced in as stored (issue 18): the response
    # model documents the body, FastAPI passes the Response through as it is.
    @app.get(Endpoint.PULL, response_model=PullPage, responses=_refusals(401, 403, 410), tags=["sync"])
    def pull(query: Annotated[PullQuery, Query()], db: DbDep, now: NowDep, token: TokenDep) -> Response:
        try:
            body = _auth_errors(lambda: pull_service.pull_json(db, token, query, now))
            return Response(body, media_type="application/json")
        except pull_service.UnknownCursor:
            raise _error(410, ErrorCode.UNKNOWN_CURSOR, "区服务器的数据已从备份恢复，本机将重新下载全部数据") from None

    @app.get(Endpoint.SNAPSHOT_START, response_model=SnapshotStart, responses=_refusals(401, 403), tags=["sync"])
    def snapshot_start(db: DbDep, now: NowDep, token: TokenDep) -> SnapshotStart:
        return _auth_errors(lambda: pull_service.snapshot_start(db, token, now))

    # A SnapshotPage, written by app/server/snapshot.py with each row encoded once (pages of thousands of cases,
    # issue 18): the response model documents the body, FastAPI passes the Response through as it is.
    @app.get(Endpoint.SNAPSHOT, response_model=SnapshotPage, responses=_refusals(400, 401, 403), tags=["sync"])
    def snapshot(query: Annotated[SnapshotQuery, Query()], db: DbDep, now: NowDep, token: TokenDep) -> Response:
        if query.kind not in pull_service.KINDS:
            raise _error(400, ErrorCode.BAD_KIND, f"未知的数据类别：{query.kind}")
        try:
            uuid.UUID(query.after) if query.after else None
        except ValueError:
            raise _error(400, ErrorCode.BAD_AFTER, "分页参数有误") from None
        body = _auth_errors(lambda: pull_service.snapshot_page_json(db, token, query, now))
        return Response(body, media_type="application/json")

    # The resident's progress page behind the receipt's QR code (issue 15): Chinese HTML, no login, rate limited.
    @app.get(Endpoint.VERIFY, response_class=HTMLResponse, include_in_schema=False)
    def verify_page(case_number: str, db: DbDep, now: NowDep, request: Request, c: str = "") -> HTMLResponse:
        page = verify_service.page(db, request.app.state.limiter, _client_ip(request), case_number, c, now)
        return HTMLResponse(page.html, status_code=page.status, headers=page.headers)

    # The page's rating form (issue 16) posts back to the page's own address, code in the query.
    @app.post(Endpoint.VERIFY, response_class=HTMLResponse, include_in_schema=False)
    async def verify_rate(case_number: str, request: Request, c: str = "") -> HTMLResponse:
        body = await request.body()  # bounded by app/server/body_limits.py, and again by the form's own limit
        page = await run_in_threadpool(verify_service.rate, request.app.state.db, request.app.state.limiter,
                                       _client_ip(request), case_number, c, body,
                                       request.headers.get("content-type", ""), request.app.state.clock())
        return HTMLResponse(page.html, status_code=page.status, headers=page.headers)


# ----- attachments' bytes (issue 15): app/server/files.py ------------------------------------------------------
# Refused file requests per address — a bad token, a malformed name or range, an oversized chunk: a prober, not a
# desk. A file not there yet (404) or a resume (409) is ordinary work and does not count.
FILE_FAILURES_PER_IP = ratelimit.Limit(300, 60.0)
_COUNTED = frozenset({401, 403, 413, 416, 422})
_OCTETS = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


def _file_call(request: Request, fn: Callable[[], T]) -> T:
    """Run a file service call: refusals become the usual Chinese error body, and count against the address."""
    key = (("files-ip", _client_ip(request)), FILE_FAILURES_PER_IP)
    _check_limits(request, [key])
    try:
        return _auth_errors(fn)
    except HTTPException:
        request.app.state.limiter.record(*key)
        raise
    except file_service.FileRefused as e:
        if e.status in _COUNTED:
            request.app.state.limiter.record(*key)
        detail = {**ErrorDetail(error=e.error, message=e.message).model_dump(mode="json", exclude_none=True),
                  **e.extra}
        raise HTTPException(status_code=e.status, detail=detail, headers=e.headers) from None


def _file_routes(app: FastAPI) -> None:
    @app.get(Endpoint.FILE, response_model=FileStatus, responses=_refusals(401, 403, 404, 429), tags=["files"])
    def file_status(sha256: str, db: DbDep, now: NowDep, token: TokenDep, request: Request) -> FileStatus:
        store = request.app.state.files
        return _file_call(request, lambda: file_service.file_status(db, store, token, sha256, now))

    @app.put(Endpoint.FILE, response_model=FileStatus, responses=_refusals(401, 403, 404, 409, 413, 429),
             tags=["files"], openapi_extra=_OCTETS)
    async def file_put(sha256: str, offset: Annotated[int, Query(ge=0, le=MAX_SEQ)], db: DbDep, now: NowDep,
                       token: TokenDep, request: Request) -> FileStatus:
        chunk = await request.body()  # bounded by app/server/body_limits.py
        store = request.app.state.files
        return await run_in_threadpool(
            _file_call, request, lambda: file_service.put_chunk(db, store, token, sha256, offset, chunk, now))

    @app.get(Endpoint.FILE_CONTENT, responses=_BYTES, response_class=StreamingResponse, tags=["files"])
    def file_content(sha256: str, db: DbDep, now: NowDep, token: TokenDep, request: Request,
                     range_: Annotated[str | None, Header(alias="Range")] = None) -> StreamingResponse:
        store = request.app.state.files
        content = _file_call(request, lambda: file_service.open_content(db, store, token, sha256, now))
        return _stream(request, content, range_)

    # A published package of the desk program (issue 17, app/server/releases.py): same token as a pull.
    @app.get(Endpoint.RELEASE, responses=_BYTES, response_class=StreamingResponse, tags=["releases"])
    def release_content(sha256: str, db: DbDep, now: NowDep, token: TokenDep, request: Request,
                        range_: Annotated[str | None, Header(alias="Range")] = None) -> StreamingResponse:
        store = request.app.state.files
        content = _file_call(request, lambda: release_service.open_release(db, store, token, sha256, now))
        return _stream(request, content, range_)


_BYTES: dict[int | str, dict[str, Any]] = {**_refusals(401, 403, 404, 416, 429),
                                           200: {"content": {"application/octet-stream": {}}},
                                           206: {"content": {"application/octet-stream": {}}}}


def _stream(request: Request, content: file_service.Content, range_: str | None) -> StreamingResponse:
    """An open file's bytes, the whole or the asked ``Range`` (206)."""
    try:
        span = _file_call(request, lambda: file_service.parse_range(range_, content.size))
    except HTTPException:
        content.handle.close()
        raise
    start, end = span or (0, content.size - 1)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{content.size}"
    return StreamingResponse(file_service.read_span(content, start, end), status_code=206 if span else 200,
                             media_type=content.mime, headers=headers)


# ----- paths and methods no route answers ------------------------------------------------------------------------
NO_ROUTE = "请求的地址不存在，请检查区服务器地址，或将前台升级到与区服务器相同的版本"
BAD_METHOD = "该地址不支持这种请求方式"
REFUSED = "区服务器无法处理该请求"


def _under_verify(path: str) -> bool:
    prefix = Endpoint.VERIFY.value.split("{", 1)[0]  # "/v/"
    return path == prefix.rstrip("/") or path.startswith(prefix)


async def http_refused(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (an unknown path: 404, a method a path does not take: 405) in Chinese, never its
    English ``{"detail": "Not Found"}``: under ``/v/`` the progress page's not-found page — the same bytes, status
    and rate limit as a wrong code, so a path tells a guesser nothing either — elsewhere the API's error body.
    The routes' own refusals (their detail is already the ErrorBody shape) pass as they are."""
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.detail, dict):
        return await http_exception_handler(request, exc)
    if _under_verify(request.url.path):
        page = verify_service.page(request.app.state.db, request.app.state.limiter, _client_ip(request), "", "",
                                   request.app.state.clock())
        return HTMLResponse(page.html, status_code=page.status, headers=page.headers)
    message = {404: NO_ROUTE, 405: BAD_METHOD}.get(exc.status_code, REFUSED)
    answer = refusal(exc.status_code, ErrorCode.BAD_REQUEST, message)
    answer.headers.update(exc.headers or {})  # 405: Allow
    return answer


def create_app(db: ServerDB, clock: Callable[[], dt.datetime] = utcnow, *,
               attachments_dir: Path | None = None) -> FastAPI:
    """The application for ``db``; ``clock`` is injectable so tests can move the server's time;
    ``attachments_dir`` is where attachments' bytes are kept (app/server/files.py)."""
    app = FastAPI(title="OneDesk 区服务器", version=str(API_VERSION), responses=_refusals(413, 422),
                  description="全科前台各居委会前台机与区服务器之间的同步接口（推送操作、拉取变更、登记设备）。")
    # Bounded bodies and refusals that never echo the input (issue 14, findings 6 and 7).
    app.add_middleware(BodyLimits)
    app.add_exception_handler(RequestValidationError, validation_refused)
    app.add_exception_handler(StarletteHTTPException, http_refused)
    server_metrics.install(app)  # outermost middleware: counts the refusals above too; /metrics, /v1/ready
    app.state.db = db
    app.state.clock = clock
    app.state.limiter = ratelimit.SlidingWindow()
    if attachments_dir is not None:
        app.state.files = file_service.FileStore(attachments_dir)
    else:  # tests and embedding: a temporary folder for this app (`python main.py server` always names one)
        app.state.files, app.state.files_dir = file_service.temporary_store()
    _routes(app)
    _file_routes(app)
    return app
