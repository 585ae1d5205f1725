"""Helpers for the district-server and sync tests: the seeded committee, a fault-injecting transport, desks
enrolled through the API, and small request builders. The fixtures themselves are in tests/server_fixtures.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select, text

from app.core.paths import PROJECT_DIR
from app.core.wire import Endpoint, EnrollRequest, EnrollResponse
from app.desk.auth import WorkerInfo, worker_info
from app.desk.cases import CaseService, ItemRef
from app.desk.clock import DeskClock
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.sync.client import SyncClient
from app.desk.sync.enroll import enroll_desk
from app.server import admin
from app.server.db import ServerDB, ensure_lock_row
from models import Worker, utcnow

with warnings.catch_warnings():  # starlette nags about httpx at import time; the transport works fine
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient


PG_ENV = "ONEDESK_TEST_PG_URL"
REQUIRE_ENV = "ONEDESK_REQUIRE_PG"
COMMITTEE = "320302001"
PASSWORDS = {"desk": "deskpass", "desk2": "desk2pass", "mz": "mzpass1", "mz2": "mz2pass", "boss": "bosspass"}
WORKERS = (  # login, name, roles, lines
    ("desk", "王晓燕", ["front_desk"], []),
    ("desk2", "孙丽", ["front_desk"], []),
    ("mz", "李建国", ["line"], ["民政"]),
    ("mz2", "钱进", ["line"], ["民政"]),
    ("boss", "周海燕", ["supervisor"], []),
)
ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")
SERVER_TABLES = ("server_held_command", "server_mutation", "server_enroll_code", "server_device", "server_change",
                 "server_calendar", "server_catalog", "server_resident_alias", "case_event", '"case"', "resident",
                 "worker", "committee", "server_sync_lock", "server_release", "server_change_stream")


def reset_server(db: ServerDB) -> None:
    """Empty every server table (much faster than a new database per test)."""
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(SERVER_TABLES)} RESTART IDENTITY CASCADE"))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER SEQUENCE server_change_seq RESTART WITH 1"))
    ensure_lock_row(db.sessions)


class FakeClock:
    """A clock that follows real time plus a shift the test controls."""

    def __init__(self, shift: dt.timedelta = dt.timedelta(0)):
        self.shift = shift

    def __call__(self) -> dt.datetime:
        return utcnow() + self.shift

    def advance(self, **kw) -> None:
        self.shift += dt.timedelta(**kw)


def seed_server(db: ServerDB, hashes: dict[str, str]) -> ServerDB:
    """One committee with two front-desk workers, two line colleagues (民政) and a supervisor."""
    admin.add_committee(db, COMMITTEE, "幸福里社区居民委员会", phone="0516-83001234")
    for login, name, roles, lines in WORKERS:
        admin.add_worker(db, COMMITTEE, login, name, roles=roles, lines=lines, password_hash=hashes[login])
    return db


class FaultyTransport(httpx.BaseTransport):
    """Wraps the in-process transport; ``plan`` holds faults for the next requests, in order.

    ``drop_request``: the network is down, the server sees nothing. ``drop_response``: the server did the
    work but the answer never arrives (as if it was killed right after committing). ``truncate``: the answer
    is cut off half-way. ``duplicate``: the request arrives twice (a proxy retry); the desk sees the second answer.
    A callable rewrites the answer's JSON (a server of another version, a broken proxy): it gets the decoded
    body and returns the one the desk receives.
    """

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.plan: list[str | Callable[[object], object] | None] = []
        self.seen: list[tuple[str, bytes]] = []  # (path, request body) of every request
        self.on_response = None  # optional callable(request, response) run after the server answered

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.plan.pop(0) if self.plan else None
        self.seen.append((request.url.path, request.read()))
        if fault == "drop_request":
            raise httpx.ConnectError("simulated: network down", request=request)
        if fault == "duplicate":
            self.inner.handle_request(request).read()
        response = self.inner.handle_request(request)
        body = response.read()
        if self.on_response is not None:
            self.on_response(request, response)
        if fault == "drop_response":
            raise httpx.ReadError("simulated: connection lost before the answer", request=request)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        if fault == "truncate":
            body = body[: len(body) // 2]
        if callable(fault):
            body = json.dumps(fault(json.loads(body))).encode()
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)


@dataclass
class Desk:
    name: str
    ctx: AppContext
    sync: SyncClient
    transport: FaultyTransport
    cases: CaseService
    workers: dict[str, WorkerInfo] = field(default_factory=dict)

    def worker(self, login: str) -> WorkerInfo:
        if login not in self.workers:
            with self.ctx.sessions() as s:
                self.workers[login] = worker_info(s.scalars(select(Worker).where(Worker.login == login)).one())
        return self.workers[login]

    def close(self) -> None:
        self.sync.close()
        self.ctx.close()

    def new_case(self, login: str = "desk", accept: bool = True, applicant_id=None):
        """A case without applicant unless given (most sync tests are about the case workflow)."""
        w = self.worker(login)
        cid = self.cases.create_draft(w, ITEM, applicant_id)
        if accept:
            self.cases.submit(w, cid, {"x": 1}, {"身份证": True})
        return cid


def new_desk(folder: Path, template_db: Path, db: ServerDB, app, name: str, *, sync: bool = True,
             clock=utcnow) -> Desk:
    """A desk data folder from the migrated template, enrolled through the API (in-process transport).
    ``clock`` is the desk computer's own clock: its case actions and its sync client both read it."""
    folder.mkdir(parents=True)
    shutil.copyfile(template_db, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    if clock is not utcnow:
        ctx.clock = DeskClock(ctx.sessions, source=clock)
    code, _ = admin.create_enroll_code(db, COMMITTEE)
    transport = FaultyTransport(TestClient(app)._transport)
    http = httpx.Client(transport=transport, base_url="http://testserver")
    # The in-process transport speaks plain http: the lab opt-in (tests/test_tls.py covers https and the refusal).
    enroll_desk(ctx, "http://testserver", code, http=http, device_name=f"前台{name}", allow_insecure_http=True)
    client = SyncClient(ctx, http=http, clock=clock)
    desk = Desk(name, ctx, client, transport, CaseService(ctx))
    if sync:
        result = client.sync_once()
        assert result.ok, result.error
    return desk


def server_counts(db: ServerDB) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t.strip('"'): conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ('"case"', "case_event", "resident", "server_mutation", "server_change")}


def enroll_raw(api, db: ServerDB, committee: str = COMMITTEE) -> tuple[str, dict]:
    """Enrol a bare device through the API: (device id, Authorization headers)."""
    code, _ = admin.create_enroll_code(db, committee)
    answer = EnrollResponse.model_validate(api.post(Endpoint.ENROLL, json=EnrollRequest(code=code).wire()).json())
    return answer.device_id, {"Authorization": f"Bearer {answer.token}"}


def server_worker_id(db: ServerDB, login: str) -> str:
    with db.sessions() as s:
        return str(s.scalars(select(Worker.id).where(Worker.login == login)).one())


def mutation(mid: int, name: str, args: dict, worker: str, at: dt.datetime | None = None) -> dict:
    """One push entry as a desk would send it."""
    return {"mid": mid, "mutation_id": str(uuid.uuid4()), "name": name, "args": args, "acting_worker": worker,
            "client_time": (at or utcnow()).isoformat()}


# ----- a real server process on loopback ----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, verify=True) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/v1/health", verify=verify, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)  # polling a starting process: there is no signal to wait on
    raise AssertionError("server did not start within 60 s")


def start_server(tmp_path: Path, db_url: str, *extra: str, port: int | None = None) -> tuple[subprocess.Popen, int]:
    """``python main.py server`` as a child process on a free loopback port (or the given one)."""
    port = port or free_port()
    env = dict(os.environ, PYTHONPATH=str(PROJECT_DIR))
    proc = subprocess.Popen([sys.executable, "main.py", "--data-dir", str(tmp_path / "srv"), "server", "--db", db_url,
                             "--host", "127.0.0.1", "--port", str(port), *extra],
                            cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, port


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
