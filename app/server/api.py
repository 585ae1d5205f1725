"""FastAPI application of the district server. Routes are thin: they translate HTTP to the services and back.

Errors carry ``{"detail": {"error": <code>, "message": <Chinese text>, ...}}`` so the desk can both decide
what to do and show the worker why.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.server import pull as pull_service
from app.server import push as push_service
from app.server.db import ServerDB
from app.server.devices import AuthFailed, DeviceRevoked, EnrollError, enroll
from models import utcnow

API_VERSION = 1


# ----- request and response schemas (they are also the OpenAPI documentation) --------------------------------
class EnrollRequest(BaseModel):
    code: str = Field(description="一次性注册码（15 分钟内有效）")
    committee_code: str = ""
    device_code: str = ""
    device_name: str = ""


class EnrollResponse(BaseModel):
    device_id: str
    token: str
    device_code: str
    committee: dict[str, Any]
    server_time: str


class MutationIn(BaseModel):
    mid: int = Field(ge=1)
    mutation_id: uuid.UUID
    name: str = Field(max_length=64)
    args: dict[str, Any] = {}
    acting_worker: uuid.UUID | None = None
    client_time: dt.datetime


class PushRequest(BaseModel):
    device_id: str = ""
    client_now: dt.datetime | None = None
    mutations: list[MutationIn]


class MutationResult(BaseModel):
    mid: int
    mutation_id: str
    status: str
    reason: str
    result: dict[str, Any]
    duplicate: bool


class PushResponse(BaseModel):
    last_mid: int
    results: list[MutationResult]
    server_time: str
    cases: list[dict[str, Any]]
    residents: list[dict[str, Any]]


class Change(BaseModel):
    seq: int
    entity: str
    id: str
    data: dict[str, Any]


class PullResponse(BaseModel):
    changes: list[Change]
    next_cursor: str
    has_more: bool
    server_time: str
    last_mid: int


class SnapshotStart(BaseModel):
    cursor: str
    last_mid: int
    kinds: list[str]
    server_time: str


class SnapshotPage(BaseModel):
    kind: str
    rows: list[dict[str, Any]]
    has_more: bool
    next_after: str
    server_time: str


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


def _fast(body: dict) -> JSONResponse:
    """The services build plain JSON already; re-validating large pages against the response model would cost
    more than the database work (the models still document the responses in OpenAPI)."""
    return JSONResponse(body)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _error(status: int, error: str, message: str, **extra) -> HTTPException:
    return HTTPException(status_code=status, detail={"error": error, "message": message, **extra})


def _auth_errors(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except AuthFailed:
        raise _error(401, "unauthorized", "本机登记信息无效，请重新向区服务器登记") from None
    except DeviceRevoked as e:
        raise _error(403, "revoked", str(e)) from None


# ----- routes ---------------------------------------------------------------------------------------------------
def _routes(app: FastAPI) -> None:
    @app.get("/v1/health", tags=["status"])
    def health(now: NowDep) -> dict:
        return {"status": "ok", "api": API_VERSION, "server_time": now.isoformat()}

    @app.post("/v1/enroll", response_model=EnrollResponse, tags=["devices"])
    def enroll_device(body: EnrollRequest, db: DbDep, now: NowDep) -> dict:
        try:
            return enroll(db, body.code, committee_code=body.committee_code, device_code=body.device_code,
                          device_name=body.device_name, now=now)
        except EnrollError as e:
            raise _error(400, "enroll_refused", str(e)) from None

    @app.post("/v1/push", response_model=PushResponse, tags=["sync"])
    def push(body: PushRequest, db: DbDep, now: NowDep, token: TokenDep) -> JSONResponse:
        mutations = [push_service.PushedMutation(m.mid, m.mutation_id, m.name, m.args, m.acting_worker,
                                                 _aware(m.client_time)) for m in body.mutations]
        client_now = _aware(body.client_now) if body.client_now else None
        try:
            return _fast(_auth_errors(lambda: push_service.push(db, token, body.device_id, mutations, client_now, now)))
        except push_service.PushConflict as e:
            raise _error(409, e.error, e.message, last_mid=e.last_mid) from None
        except push_service.BadBatch as e:
            raise _error(400, "bad_batch", str(e)) from None
        except push_service.TemporaryFailure:
            raise _error(503, "unavailable", "区服务器暂时无法处理，稍后会自动重试") from None

    @app.get("/v1/pull", response_model=PullResponse, tags=["sync"])
    def pull(db: DbDep, now: NowDep, token: TokenDep, cursor: str = "0",
             limit: Annotated[int, Query(ge=1, le=pull_service.MAX_PULL)] = 500) -> JSONResponse:
        try:
            return _fast(_auth_errors(lambda: pull_service.pull(db, token, cursor, limit, now)))
        except pull_service.UnknownCursor:
            raise _error(410, "unknown_cursor", "区服务器的数据已从备份恢复，本机将重新下载全部数据") from None

    @app.get("/v1/snapshot/start", response_model=SnapshotStart, tags=["sync"])
    def snapshot_start(db: DbDep, now: NowDep, token: TokenDep) -> dict:
        return _auth_errors(lambda: pull_service.snapshot_start(db, token, now))

    @app.get("/v1/snapshot", response_model=SnapshotPage, tags=["sync"])
    def snapshot(db: DbDep, now: NowDep, token: TokenDep, kind: str, after: str = "",
                 limit: Annotated[int, Query(ge=1, le=pull_service.MAX_SNAPSHOT)] = 200) -> JSONResponse:
        if kind not in pull_service.SNAPSHOT_KINDS:
            raise _error(400, "bad_kind", f"未知的数据类别：{kind}")
        try:
            uuid.UUID(after) if after else None
        except ValueError:
            raise _error(400, "bad_after", "分页参数有误") from None
        return _fast(_auth_errors(lambda: pull_service.snapshot_page(db, token, kind, after, limit, now)))


def create_app(db: ServerDB, clock: Callable[[], dt.datetime] = utcnow) -> FastAPI:
    """The application for ``db``; ``clock`` is injectable so tests can move the server's time."""
    app = FastAPI(title="OneDesk 区服务器", version=str(API_VERSION),
                  description="全科前台各居委会前台机与区服务器之间的同步接口（推送操作、拉取变更、登记设备）。")
    app.state.db = db
    app.state.clock = clock
    _routes(app)
    return app
