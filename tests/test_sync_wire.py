"""The wire contract (app/core/wire.py): one set of models and limits for the server's routes and the desk's
client, unknown command names accepted at the envelope, an oversize batch refused with the one Chinese limit
message, and an answer of the wrong shape refused by the desk before anything on it changes."""

from __future__ import annotations

import ast
import shutil
import typing
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import func, select

from app.core import wire
from app.core.vocabulary import Mutation
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.keystore import device_token
from app.desk.sync.client import BAD_ANSWER, NOT_ENROLLED, SyncClient
from app.desk.sync.enroll import EnrollFailed, enroll_desk
from app.server import admin
from app.server.api import create_app
from models import Case, Device, OutboxEntry, SyncState
from models.outbox import OUTBOX_PENDING
from models.server import ServerDevice
from tests.sync_helpers import (
    COMMITTEE,
    FaultyTransport,
    TestClient,
    enroll_raw,
    mutation,
    server_counts,
    server_worker_id,
)

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

ROOT = Path(__file__).resolve().parent.parent
HTTP_BOUNDARY = ("app/server/api.py", "app/server/pull.py", "app/server/devices.py", "app/desk/sync/client.py",
                 "app/desk/sync/enroll.py")


# ----- one contract ---------------------------------------------------------------------------------------------
def _routes() -> dict[str, APIRoute]:
    return {r.path: r for r in create_app(None).routes if isinstance(r, APIRoute)}  # type: ignore[arg-type]


def test_server_routes_declare_the_wire_models():
    routes = _routes()
    expected = {wire.Endpoint.HEALTH: wire.Health, wire.Endpoint.ENROLL: wire.EnrollResponse,
                wire.Endpoint.PUSH: wire.PushResponse, wire.Endpoint.PULL: wire.PullPage,
                wire.Endpoint.SNAPSHOT_START: wire.SnapshotStart, wire.Endpoint.SNAPSHOT: wire.SnapshotPage}
    assert {path: routes[path].response_model for path in expected} == expected
    hints = typing.get_type_hints(routes[wire.Endpoint.PUSH].endpoint, include_extras=True)
    assert hints["body"] is wire.PushRequest
    assert typing.get_type_hints(routes[wire.Endpoint.ENROLL].endpoint)["body"] is wire.EnrollRequest


def test_openapi_shows_the_limits_defined_once():
    spec = create_app(None).openapi()
    schemas = spec["components"]["schemas"]
    assert set(schemas["PushRequest"]["properties"]) == set(wire.PushRequest.model_fields)
    assert schemas["PushRequest"]["properties"]["mutations"]["maxItems"] == wire.MAX_BATCH
    assert set(schemas["MutationIn"]["properties"]) == set(wire.MutationIn.model_fields)
    # A longer name is read cut to MAX_NAME_LENGTH and set aside, so the schema promises no maxLength (issue 14).
    assert "maxLength" not in schemas["MutationIn"]["properties"]["name"]
    assert set(schemas["PushResponse"]["properties"]) == set(wire.PushResponse.model_fields)
    assert set(schemas["ErrorDetail"]["properties"]) == set(wire.ErrorDetail.model_fields)
    limits = {path: {p["name"]: p["schema"].get("maximum") for p in spec["paths"][path]["get"]["parameters"]}
              for path in (wire.Endpoint.PULL, wire.Endpoint.SNAPSHOT)}
    assert limits[wire.Endpoint.PULL]["limit"] == wire.MAX_PULL_PAGE
    assert limits[wire.Endpoint.SNAPSHOT]["limit"] == wire.MAX_SNAPSHOT_PAGE
    for status in ("409", "413", "422"):  # 413/422: app/server/body_limits.py, in the same shape (issue 14)
        assert spec["paths"][wire.Endpoint.PUSH]["post"]["responses"][status]["content"]["application/json"][
            "schema"] == {"$ref": "#/components/schemas/ErrorBody"}


def _classes_and_imports(path: Path) -> tuple[list[str], set[str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    models = [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)
              and any(getattr(b, "id", getattr(b, "attr", "")) == "BaseModel" for b in n.bases)]
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "app.core.wire"
                for a in n.names}
    return models, imported


def test_no_side_defines_wire_models_of_its_own():
    for folder in ("app/server", "app/desk/sync"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            models, _ = _classes_and_imports(path)
            assert not models, f"{path.relative_to(ROOT)} defines {models}: wire models belong in app/core/wire.py"
    _, server_side = _classes_and_imports(ROOT / "app/server/api.py")
    _, desk_side = _classes_and_imports(ROOT / "app/desk/sync/client.py")
    assert {"PushRequest", "PushResponse", "PullPage", "SnapshotPage", "ErrorBody"} <= server_side | desk_side
    assert {"PushResponse", "PullPage", "SnapshotStart", "SnapshotPage"} <= server_side & desk_side


def _envelope_fields() -> set[str]:
    fields: set[str] = set()
    for obj in vars(wire).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == wire.__name__:
            fields |= set(obj.model_fields)
    # Payload rows (app/core/payloads.py) stay dicts by design and share these names with the envelope.
    return fields - {"id", "code", "name"}


def test_no_envelope_field_is_read_by_string_key():
    fields = _envelope_fields()
    found = []
    for name in HTTP_BOUNDARY:
        for node in ast.walk(ast.parse((ROOT / name).read_text(encoding="utf-8"))):
            key = None
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                key = node.slice.value
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                  and node.args and isinstance(node.args[0], ast.Constant)):
                key = node.args[0].value
            if key in fields:
                found.append(f"{name}:{node.lineno} [{key!r}]")
    assert not found


def test_unknown_command_names_pass_the_envelope_and_known_ones_are_typed():
    base = {"mid": 1, "mutation_id": str(uuid.uuid4()), "args": {}, "client_time": "2026-11-20T09:00:00"}
    known = wire.MutationIn.model_validate({**base, "name": "case.forward.v1"})
    unknown = wire.MutationIn.model_validate({**base, "name": "case.teleport.v1"})
    assert known.command is Mutation.CASE_FORWARD and known.name == "case.forward.v1"
    assert unknown.command is None and unknown.name == "case.teleport.v1"
    assert known.client_time.utcoffset().total_seconds() == 0  # an instant without offset is UTC
    # A name that cannot be stored as it is still passes, cleaned and cut: that command alone is set aside.
    for name in ("x" * (wire.MAX_NAME_LENGTH + 1), "case.tele\u0000port.v1", "case.teleport\ud800.v1"):
        odd = wire.MutationIn.model_validate({**base, "name": name})
        assert odd.command is None and len(odd.name) <= wire.MAX_NAME_LENGTH and "\x00" not in odd.name


def test_the_desk_sizes_its_requests_by_the_protocol_limits(desk_ctx):
    client = SyncClient(desk_ctx, batch_size=10_000, pull_limit=10_000)
    assert (client.batch_size, client.pull_limit) == (wire.MAX_BATCH, wire.MAX_PULL_PAGE)
    client.close()


# ----- against the server ---------------------------------------------------------------------------------------
@pytest.mark.server
def test_an_oversize_batch_is_refused_whole_with_the_limit_message(api, seeded):
    device_id, headers = enroll_raw(api, seeded)
    worker = server_worker_id(seeded, "desk")
    batch = [mutation(i, "case.teleport.v1", {}, worker) for i in range(1, wire.MAX_BATCH + 2)]
    before = server_counts(seeded)
    resp = api.post(wire.Endpoint.PUSH, json={"device_id": device_id, "mutations": batch}, headers=headers)
    assert resp.status_code == 400
    assert wire.ErrorBody.model_validate(resp.json()).detail == wire.ErrorDetail(
        error=wire.ErrorCode.BAD_BATCH, message=wire.BATCH_TOO_LARGE)
    assert wire.BATCH_TOO_LARGE == f"一次最多上传 {wire.MAX_BATCH} 条"
    assert server_counts(seeded) == before
    with seeded.sessions() as s:
        assert s.get(ServerDevice, uuid.UUID(device_id)).last_mid == 0


@pytest.mark.server
def test_an_unknown_command_is_set_aside_not_refused_with_the_batch(api, seeded):
    device_id, headers = enroll_raw(api, seeded)
    worker = server_worker_id(seeded, "desk")
    resp = api.post(wire.Endpoint.PUSH, headers=headers, json=wire.PushRequest.model_validate({
        "device_id": device_id, "mutations": [mutation(1, "case.teleport.v1", {}, worker)]}).wire())
    answer = wire.PushResponse.model_validate(resp.json())
    assert resp.status_code == 200 and answer.last_mid == 1
    assert answer.results[0].status == wire.ResultStatus.SET_ASIDE and "不认识该操作" in answer.results[0].reason


def _without(key: str):
    return lambda body: {k: v for k, v in body.items() if k != key}


def _push_answer_closing_the_case(mangle):
    """A broken answer that would also close the case on the desk, if the desk took any of it."""
    def rewrite(body):
        for row in body["cases"]:
            row["state"] = "closed"
        return mangle(body)
    return rewrite


def _desk_state(desk) -> tuple:
    with desk.ctx.sessions() as s:
        outbox = s.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.status == OUTBOX_PENDING))
        states = sorted(s.scalars(select(Case.state)))
        state = s.get(SyncState, 1)
        return outbox, states, state.cursor, state.needs_snapshot


@pytest.mark.server
@pytest.mark.parametrize("mangle", [
    pytest.param(_without("results"), id="missing-field"),
    pytest.param(lambda b: {**b, "last_mid": "many"}, id="wrong-type"),
    pytest.param(lambda b: {**b, "results": [{**r, "status": "maybe"} for r in b["results"]]}, id="unknown-status"),
])
def test_a_malformed_push_answer_changes_nothing_on_the_desk(make_desk, mangle):
    a = make_desk("A")
    a.new_case()
    before = _desk_state(a)
    assert before[0] == 2
    a.transport.plan = [_push_answer_closing_the_case(mangle)]
    result = a.sync.sync_once()
    assert not result.ok and result.online and result.error == BAD_ANSWER
    assert _desk_state(a) == before  # still pending, not closed, cursor where it was
    assert a.sync.status().last_error == BAD_ANSWER
    again = a.sync.sync_once()  # a sound answer: the server's duplicates are taken as acknowledged
    assert again.ok and again.pending == 0 and _desk_state(a)[1] == ["accepted"]


@pytest.mark.server
@pytest.mark.parametrize("mangle", [
    pytest.param(_without("next_cursor"), id="missing-field"),
    pytest.param(lambda b: {**b, "changes": [{**c, "seq": "first"} for c in b["changes"]]}, id="wrong-type"),
])
def test_a_malformed_pull_page_changes_nothing_on_the_desk(make_desk, mangle):
    a, b = make_desk("A"), make_desk("B")
    a.new_case()
    assert a.sync.sync_once().ok
    before = _desk_state(b)
    b.transport.plan = [mangle]  # B has nothing to push: its round starts with the pull
    result = b.sync.sync_once()
    assert not result.ok and result.online and result.error == BAD_ANSWER
    assert _desk_state(b) == before and before[1] == []
    assert b.sync.sync_once().ok and _desk_state(b)[1] == ["accepted"]


@pytest.mark.server
def test_a_refusal_without_the_error_body_is_not_shown_raw(make_desk):
    a = make_desk("A")
    a.new_case()
    real = a.transport.inner

    class Proxy(httpx.BaseTransport):  # a proxy in the way answers 403 with a page of its own
        def handle_request(self, request):
            return httpx.Response(403, json={"detail": "Forbidden by proxy"}, request=request)
    a.transport.inner = Proxy()
    result = a.sync.sync_once()
    a.transport.inner = real
    assert not result.ok and result.error == "区服务器拒绝了本机的请求（403），请联系区管理员"
    assert _desk_state(a)[0] == 2


@pytest.mark.server
def test_a_malformed_enrol_answer_leaves_the_desk_unenrolled(tmp_path, template_db, seeded, server_app):
    folder = tmp_path / "desk"
    folder.mkdir()
    shutil.copyfile(template_db, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    transport = FaultyTransport(TestClient(server_app)._transport)
    transport.plan = [_without("token")]
    http = httpx.Client(transport=transport, base_url="http://testserver")
    code, _ = admin.create_enroll_code(seeded, COMMITTEE)
    with pytest.raises(EnrollFailed) as failed:
        enroll_desk(ctx, "http://testserver", code, http=http, allow_insecure_http=True)
    assert "无法识别" in str(failed.value)
    with ctx.sessions() as s:
        assert not [d for d in s.scalars(select(Device)) if device_token(d)]
        assert s.get(SyncState, 1) is None
    assert SyncClient(ctx, http=http).sync_once().error == NOT_ENROLLED
    http.close()
    ctx.close()
