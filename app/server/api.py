"""FastAPI application of the district server. Routes are thin: they translate HTTP to the services and back.

Every body is a model of :mod:`app.core.wire`, the same classes the desk's sync client builds and parses.
Errors carry ``{"detail": {"error": <code>, "message": <Chinese text>, ...}}`` (:class:`wire.ErrorBody`) so the
desk can both decide what to do and show the worker why.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError

from app.core.wire import (
    API_VERSION,
    SNAPSHOT_KINDS,
    Endpoint,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    ErrorCode,
    ErrorDetail,
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
from app.server import pull as pull_service
from app.server import push as push_service
from app.server import ratelimit
from app.server.body_limits import BodyLimits, validation_refused
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
    def push(body: PushRequest, db: DbDep, now: NowDep, token: TokenDep) -> PushResponse:
        try:
            return _auth_errors(lambda: push_service.push(db, token, body, now))
        except push_service.PushConflict as e:
            raise _error(409, e.error, e.message, last_mid=e.last_mid) from None
        except push_service.BadBatch as e:
            raise _error(400, ErrorCode.BAD_BATCH, str(e)) from None
        except push_service.TemporaryFailure:
            raise _error(503, ErrorCode.UNAVAILABLE, "区服务器暂时无法处理，稍后会自动重试") from None

    @app.get(Endpoint.PULL, response_model=PullPage, responses=_refusals(401, 403, 410), tags=["sync"])
    def pull(query: Annotated[PullQuery, Query()], db: DbDep, now: NowDep, token: TokenDep) -> PullPage:
        try:
            return _auth_errors(lambda: pull_service.pull(db, token, query, now))
        except pull_service.UnknownCursor:
            raise _error(410, ErrorCode.UNKNOWN_CURSOR, "区服务器的数据已从备份恢复，本机将重新下载全部数据") from None

    @app.get(Endpoint.SNAPSHOT_START, response_model=SnapshotStart, responses=_refusals(401, 403), tags=["sync"])
    def snapshot_start(db: DbDep, now: NowDep, token: TokenDep) -> SnapshotStart:
        return _auth_errors(lambda: pull_service.snapshot_start(db, token, now))

    @app.get(Endpoint.SNAPSHOT, response_model=SnapshotPage, responses=_refusals(400, 401, 403), tags=["sync"])
    def snapshot(query: Annotated[SnapshotQuery, Query()], db: DbDep, now: NowDep, token: TokenDep) -> SnapshotPage:
        if query.kind not in SNAPSHOT_KINDS:
            raise _error(400, ErrorCode.BAD_KIND, f"未知的数据类别：{query.kind}")
        try:
            uuid.UUID(query.after) if query.after else None
        except ValueError:
            raise _error(400, ErrorCode.BAD_AFTER, "分页参数有误") from None
        return _auth_errors(lambda: pull_service.snapshot_page(db, token, query, now))


def create_app(db: ServerDB, clock: Callable[[], dt.datetime] = utcnow) -> FastAPI:
    """The application for ``db``; ``clock`` is injectable so tests can move the server's time."""
    app = FastAPI(title="OneDesk 区服务器", version=str(API_VERSION), responses=_refusals(413, 422),
                  description="全科前台各居委会前台机与区服务器之间的同步接口（推送操作、拉取变更、登记设备）。")
    # Bounded bodies and refusals that never echo the input (issue 14, findings 6 and 7).
    app.add_middleware(BodyLimits)
    app.add_exception_handler(RequestValidationError, validation_refused)
    app.state.db = db
    app.state.clock = clock
    app.state.limiter = ratelimit.SlidingWindow()
    _routes(app)
    return app
