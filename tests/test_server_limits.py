"""Bounded input at the district server (issue 14, findings 6 and 7), through the real FastAPI application: a
body over the size limit (even one streamed without a Content-Length), a batch over the command limit, JSON
nested too deep and free text beyond the field limits are refused with 413/422 and a Chinese reason, with
nothing stored; a lone surrogate anywhere in a body, an infinite ``client_now`` and an oversized cursor get a
4xx with a Chinese reason, never a 500 (and no refusal echoes the raw input back).
"""

from __future__ import annotations

import json
import re
import uuid
import warnings

import pytest

from app.core import commands, limits
from app.core.errors import UserError
from app.core.wire import MAX_BATCH, MAX_BODY_BYTES, MAX_BODY_DEPTH, Endpoint
from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.server import admin
from models import CaseEvent, OutboxEntry
from models.server import Case as ServerCase
from tests.sync_helpers import COMMITTEE, enroll_raw, mutation, server_counts, server_worker_id

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

pytest_plugins = ("tests.server_fixtures",)
pytestmark = [pytest.mark.server]

CJK = re.compile("[\u4e00-\u9fff]")
TEN_MB = 10 * 1024 * 1024
ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")


def _desk_counts(ctx) -> tuple[int, int]:
    with ctx.sessions() as s:
        return s.query(CaseEvent).count(), s.query(OutboxEntry).count()


@pytest.fixture
def client(server_app):
    """The real app; a server error is answered as a 500, as a real server would, instead of raised."""
    return TestClient(server_app, raise_server_exceptions=False)


@pytest.fixture
def device(seeded, client):
    """(device id, auth headers, acting worker id, a draft case on the server)."""
    dev, headers = enroll_raw(client, seeded)
    worker = server_worker_id(seeded, "desk")
    case_id = str(uuid.uuid4())
    create = mutation(1, "case.create.v1", {"id": case_id, "case_number": f"{COMMITTEE}-D01-20261202-0001",
                                            "item_code": "MZ-01"}, worker)
    r = client.post(Endpoint.PUSH, headers=headers, json={"device_id": dev, "mutations": [create]})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "applied"
    return dev, headers, worker, case_id


def _refusal(r, *statuses: int) -> str:
    """The Chinese message of a refusal with one of ``statuses``."""
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    message = r.json()["detail"]["message"]
    assert CJK.search(message), message
    return message


def _raw_post(client, headers, body: str | bytes, path: str = Endpoint.PUSH):
    return client.post(path, headers={**headers, "Content-Type": "application/json"},
                       content=body.encode("ascii") if isinstance(body, str) else body)


def _note_push(dev: str, worker: str, case_id: str, note: str, mid: int = 2) -> dict:
    return {"device_id": dev, "mutations": [mutation(mid, "case.note.v1", {"case_id": case_id, "note": note}, worker)]}


# ----- finding 6: no size limits --------------------------------------------------------------------------------
def test_a_ten_megabyte_note_is_refused_413_and_nothing_stored(seeded, client, device):
    """Finding 6: a 10 MB note was applied (and re-sent with every later answer). The body is over the limit:
    413 with a Chinese reason, before anything is parsed or stored."""
    dev, headers, worker, case_id = device
    before = server_counts(seeded)
    r = client.post(Endpoint.PUSH, headers=headers, json=_note_push(dev, worker, case_id, "备" * TEN_MB))
    assert "2 MB" in _refusal(r, 413) or "MB" in r.json()["detail"]["message"]
    assert server_counts(seeded) == before


def test_a_body_streamed_without_content_length_is_counted(seeded, client, device):
    """Finding 6: Content-Length can be left out (chunked) or lie; the bytes are counted as they arrive."""
    dev, headers, worker, case_id = device
    before = server_counts(seeded)
    body = json.dumps(_note_push(dev, worker, case_id, "x" * (MAX_BODY_BYTES + 10))).encode()

    def chunks():
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    r = client.post(Endpoint.PUSH, headers={**headers, "Content-Type": "application/json"}, content=chunks())
    _refusal(r, 413)
    r = client.post(Endpoint.PUSH, headers={**headers, "Content-Type": "application/json",
                                            "Content-Length": str(MAX_BODY_BYTES + 1)}, content=b"{}")
    _refusal(r, 413)
    assert server_counts(seeded) == before


def test_a_large_value_inside_the_body_limit_is_set_aside_not_applied(seeded, client, device):
    """Finding 6: a case's answers (``data``) had no size limit at all; one of 1 MB is set aside with a reason
    naming the field, the case keeps what it had."""
    dev, headers, worker, case_id = device
    args = {"case_id": case_id, "data": {"备注": "x" * 1_000_000}}
    r = client.post(Endpoint.PUSH, headers=headers,
                    json={"device_id": dev, "mutations": [mutation(2, "case.accept.v1", args, worker)]})
    assert r.status_code == 200
    result = r.json()["results"][0]
    assert result["status"] == "set_aside" and "填写内容" in result["reason"]
    assert len(r.content) < 200_000  # the answer does not carry the megabyte back
    cases = r.json()["cases"]
    assert cases and cases[0]["state"] == "draft" and "x" * 1000 not in json.dumps(cases[0])


def test_json_nested_900_deep_is_refused_not_stored(seeded, client, device):
    """Finding 6: JSON nested 900 deep was stored. Anything deeper than the limit is refused as a whole (422)."""
    dev, headers, worker, case_id = device
    before = server_counts(seeded)
    deep: object = "x"
    for _ in range(900):
        deep = [deep]
    args = {"case_id": case_id, "note": "深", "extra": deep}
    body = json.dumps({"device_id": dev, "mutations": [mutation(2, "case.note.v1", args, worker)]})
    assert "嵌套" in _refusal(_raw_post(client, headers, body), 422)
    # Deep inside a string is no nesting at all; a legitimate depth still passes.
    args = {"case_id": case_id, "note": "[" * 900, "data": {"a": [[{"b": [1]}]]}}
    r = client.post(Endpoint.PUSH, headers=headers,
                    json={"device_id": dev, "mutations": [mutation(2, "case.note.v1", args, worker)]})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "applied"
    assert server_counts(seeded)["case_event"] == before["case_event"] + 1
    assert MAX_BODY_DEPTH > limits.MAX_JSON_DEPTH  # a value the command schema accepts fits in a body


def test_a_batch_over_the_limit_is_refused_whole(seeded, client, device):
    """Finding 6: batch size is bounded; the whole batch is refused with a Chinese reason."""
    dev, headers, worker, case_id = device
    before = server_counts(seeded)
    batch = [mutation(i + 2, "case.note.v1", {"case_id": case_id, "note": "n"}, worker) for i in range(MAX_BATCH + 1)]
    r = client.post(Endpoint.PUSH, headers=headers, json={"device_id": dev, "mutations": batch})
    assert str(MAX_BATCH) in _refusal(r, 400, 413, 422)
    assert server_counts(seeded) == before


def test_envelope_text_fields_are_bounded(seeded, client):
    """Finding 6: every text field of the envelope has a limit: an enrolment with a 1 MB device name or a code
    holding NUL is refused with a Chinese reason (422), and the code stays unused."""
    code, _ = admin.create_enroll_code(seeded, COMMITTEE)
    r = client.post(Endpoint.ENROLL, json={"code": code, "device_name": "名" * 1_000_000})
    _refusal(r, 422)
    for bad in ({"code": code, "device_name": "前台\x00一号"}, {"code": "\ud800"},
                {"code": code, "device_code": "D" * 500}):
        _refusal(_raw_post(client, {}, json.dumps(bad), Endpoint.ENROLL), 422)
    r = client.post(Endpoint.ENROLL, json={"code": code, "device_name": "前台一号"})
    assert r.status_code == 200  # the code was not consumed by the refused attempts


def test_a_huge_note_is_refused_at_the_desk_input(desk_ctx):
    """Finding 6, the desk's half: the desk refuses what the server would (a 10 MB note, answers beyond the size
    limit, thousands of missing materials) before anything is written — no event, no outbox command."""
    people = {w.login: w for w, _ in AuthService(desk_ctx).list_workers()}
    cases = CaseService(desk_ctx)
    cid = cases.create_draft(people["desk"], ITEM, None)
    before = _desk_counts(desk_ctx)
    with pytest.raises(UserError, match="备注过长"):
        cases.transition(people["desk"], cid, "note", {"note": "备" * TEN_MB})
    with pytest.raises(UserError, match="填写内容过多"):
        cases.submit(people["desk"], cid, {"备注": "x" * TEN_MB}, {})
    with pytest.raises(UserError, match="填写内容过多"):
        cases.save_draft(people["desk"], cid, {"a": "x" * (limits.MAX_JSON_CHARS + 1)}, {}, 1)
    assert _desk_counts(desk_ctx) == before
    with pytest.raises(commands.BadCommand, match="备注过长"):
        commands.NoteArgs(case_id=uuid.uuid4(), note="备" * TEN_MB)
    with pytest.raises(commands.BadCommand, match="填写内容"):
        commands.SubmitArgs(case_id=uuid.uuid4(), data={"备注": "x" * TEN_MB})
    with pytest.raises(commands.BadCommand, match="缺少的材料"):
        commands.SubmitArgs(case_id=uuid.uuid4(), missing=["户口簿"] * 10_000)
    ok = commands.SubmitArgs(case_id=uuid.uuid4(), data={"备注": "x" * 2000}, missing=["户口簿"])
    assert ok.data == {"备注": "x" * 2000}


# ----- finding 7: no 500s ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    '{"mutations":[{"mid":"\\ud800"}]}',
    '{"mutations":[{"mid":1,"mutation_id":"\\udfff","name":"case.note.v1","client_time":"2026-12-02T08:00:00"}]}',
    '{"mutations":[],"client_now":"2026-12-02\\ud800"}',
    '{"mutations":"\\ud83d"}',
    '{"\\ud800":1,"mutations":[]}',
])
def test_a_lone_surrogate_anywhere_gets_a_chinese_4xx(seeded, client, device, body):
    """Finding 7: the 422 handler echoed the input and could not encode a lone surrogate (500)."""
    _, headers, _, _ = device
    before = server_counts(seeded)
    r = _raw_post(client, headers, body)
    if '"\\ud800":1' in body:  # a key no model reads is ignored, like any other unknown key
        assert r.status_code == 200 and r.json()["results"] == []
    else:
        _refusal(r, 400, 422)
    assert "\\ud800" not in r.text and "\\udfff" not in r.text and "ud83d" not in r.text
    assert server_counts(seeded) == before


def test_invalid_utf8_gets_a_chinese_4xx(seeded, client, device):
    """Finding 7: bytes that are not UTF-8 at all (an encoded surrogate) are refused in Chinese."""
    _, headers, _, _ = device
    _refusal(_raw_post(client, headers, b'{"mutations":[],"device_id":"\xed\xa0\x80"}'), 400, 422)


def test_an_infinite_client_now_gets_a_chinese_4xx(seeded, client, device):
    """Finding 7: ``{"mutations":[],"client_now":1e999}`` was a 500 (the refusal echoed an infinite float)."""
    _, headers, _, _ = device
    _refusal(_raw_post(client, headers, '{"mutations":[],"client_now":1e999}'), 422)
    _refusal(_raw_post(client, headers, '{"mutations":[],"client_now":-Infinity}'), 422)


@pytest.mark.parametrize("cursor", ["9223372036854775808-x", "99999999999999999999999999-ab", "1" * 5000 + "-x"])
def test_an_oversized_cursor_gets_a_chinese_4xx(client, device, cursor):
    """Finding 7: ``GET /v1/pull?cursor=9223372036854775808-x`` was a 500 (bigint out of range)."""
    _, headers, _, _ = device
    _refusal(client.get(Endpoint.PULL, headers=headers, params={"cursor": cursor}), 410, 422)


def test_a_mid_beyond_bigint_gets_a_chinese_4xx_not_503(seeded, client, device):
    """Finding 7: a mid beyond the database's bigint was answered 503 (retry forever) instead of refused."""
    dev, headers, worker, case_id = device
    before = server_counts(seeded)
    m = mutation(2 ** 63, "case.note.v1", {"case_id": case_id, "note": "n"}, worker)
    _refusal(client.post(Endpoint.PUSH, headers=headers, json={"device_id": dev, "mutations": [m]}), 409, 422)
    assert server_counts(seeded) == before


def test_a_validation_refusal_never_echoes_the_input(client, device):
    """Finding 7: the refusal names the field, in Chinese, but never carries what was sent back."""
    _, headers, _, _ = device
    secret = "11010519491231002X"
    r = _raw_post(client, headers, json.dumps({"mutations": [{"mid": secret}]}))
    _refusal(r, 422)
    assert secret not in r.text and "mid" in r.text


def test_the_desk_splits_a_push_to_fit_the_body_limit(seeded, make_desk):
    """Finding 6, the desk's half: with the body limit in force, a backlog of large but valid commands (autosaves
    near the answer-size limit, together far over the body limit) still goes up, in several pushes, none refused."""
    desk = make_desk("A")
    w = desk.worker("desk")
    cid = desk.new_case(accept=False)
    answers = {"说明": "长" * (limits.MAX_JSON_CHARS - 100)}  # ~600 kB each as the desk sends it (escaped)
    for step in range(8):
        desk.cases.save_draft(w, cid, {**answers, "step": step}, {}, step)
    sizes: list[int] = []
    original = desk.transport.handle_request

    def recording(request):
        if request.url.path == Endpoint.PUSH:
            sizes.append(len(request.content))
        return original(request)

    desk.transport.handle_request = recording  # type: ignore[method-assign]
    result = desk.sync.sync_once()
    assert result.ok, result.error
    assert len(sizes) >= 2 and max(sizes) <= MAX_BODY_BYTES and sum(sizes) > MAX_BODY_BYTES
    with seeded.sessions() as s:
        assert s.get_one(ServerCase, cid).data["step"] == 7
