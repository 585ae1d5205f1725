"""Values the server cannot store never block a desk's queue (issue 12, findings 5 and 6), against a real server
process: a command holding NUL, a lone surrogate or an over-long field is set aside with a reason naming the
field, the commands pushed with it still apply, and no answer is a 5xx. The text a set-aside case command
carried is kept on the case as a note, cleaned so that keeping it cannot fail.
"""

from __future__ import annotations

import json
import shutil
import uuid

import httpx
import pytest
from sqlalchemy import select

from app.core.vocabulary import Mutation
from app.core.wire import Endpoint
from app.desk.cases import CaseService
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.outbox import enqueue
from app.desk.residents import ResidentInput, ResidentService
from app.desk.sync.client import SyncClient
from app.desk.sync.enroll import enroll_desk
from app.server import admin
from app.server.db import open_server_db
from models import OutboxEntry, Resident, utcnow
from models.server import Case, CaseEvent
from models.server import Resident as ServerResident
from tests.sync_helpers import (
    COMMITTEE,
    Desk,
    enroll_raw,
    mutation,
    seed_server,
    server_worker_id,
    start_server,
    stop_server,
    wait_ready,
)

pytest_plugins = ("tests.server_fixtures",)

pytestmark = [pytest.mark.server, pytest.mark.slow]

ID_NUMBER = "11010519491231002X"


@pytest.fixture(params=["postgresql", "sqlite"])
def backend(request):
    return request.param


@pytest.fixture
def live(request, tmp_path, backend, password_hashes):
    """(server database, base URL) of a real ``main.py server`` process on the chosen database."""
    if backend == "postgresql":
        db, url = request.getfixturevalue("seeded"), request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
        db = seed_server(open_server_db(url), password_hashes)
    proc, port = start_server(tmp_path, url)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        yield db, base
    finally:
        stop_server(proc)
        if backend == "sqlite":
            db.close()


@pytest.fixture
def live_desk(tmp_path, template_db, live):
    db, base = live
    made = []

    def make(name: str = "A") -> Desk:
        folder = tmp_path / f"desk-{name}"
        folder.mkdir()
        shutil.copyfile(template_db, folder / DB_FILENAME)
        ctx = AppContext.open(folder)
        code, _ = admin.create_enroll_code(db, COMMITTEE)
        enroll_desk(ctx, base, code, allow_insecure_http=True)  # a plain-http server process: the lab opt-in
        client = SyncClient(ctx)
        desk = Desk(name, ctx, client, None, CaseService(ctx))  # type: ignore[arg-type]
        made.append(desk)
        assert client.sync_once().ok
        return desk

    yield make
    for desk in made:
        desk.close()


def _enqueue(desk: Desk, name: str, args: dict, login: str = "desk") -> None:
    """A command as an older desk version wrote it: straight into the outbox, past today's input checks."""
    worker = desk.worker(login).id
    with desk.ctx.sessions.begin() as s:
        enqueue(s, name, args, worker)


def _events(db, cid) -> list[tuple[str, str]]:
    with db.sessions() as s:
        return [(e.action, e.note) for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid)
                                                     .order_by(CaseEvent.seq))]


def _no_5xx(desk: Desk) -> None:
    for _ in range(2):
        result = desk.sync.sync_once()
        assert result.ok, result.error
    assert result.pending == 0


@pytest.mark.parametrize("backend", ["postgresql"])
def test_rejected_reply_holding_nul_is_set_aside_and_the_innocent_command_applies(live_desk, live):
    db, _ = live
    a = live_desk("A")
    c1, c2 = a.new_case(), a.new_case()
    assert a.sync.sync_once().ok
    # The reply is refused (the case was never forwarded), and its text holds a NUL, which PostgreSQL cannot store.
    _enqueue(a, Mutation.CASE_REPLY, {"case_id": str(c1), "case_number": "C1", "result": "approved",
                                      "text": "同意\u0000发放"}, login="mz")
    _enqueue(a, Mutation.CASE_NOTE, {"case_id": str(c2), "case_number": "C2", "note": "已电话联系家属"})
    result = a.sync.sync_once()
    assert result.ok, result.error
    assert result.set_aside == 1 and result.pushed == 1 and result.pending == 0
    assert ("note", "已电话联系家属") in _events(db, c2)
    item = a.sync.status().set_aside_items[0]
    assert item.name == Mutation.CASE_REPLY and "答复内容" in item.reason and "无法保存的特殊字符" in item.reason
    kept = [note for action, note in _events(db, c1) if action == "note"]
    assert len(kept) == 1 and "同意发放" in kept[0] and "\x00" not in kept[0]  # kept, cleaned
    _no_5xx(a)


def test_note_holding_a_lone_surrogate_is_set_aside_on_both_backends(live_desk, live):
    db, _ = live
    a = live_desk("A")
    c1, c2 = a.new_case(), a.new_case()
    assert a.sync.sync_once().ok
    _enqueue(a, Mutation.CASE_NOTE, {"case_id": str(c1), "case_number": "C1", "note": "请回电\ud800"})
    _enqueue(a, Mutation.CASE_NOTE, {"case_id": str(c2), "case_number": "C2", "note": "材料已核对"})
    result = a.sync.sync_once()
    assert result.ok, result.error
    assert result.set_aside == 1 and result.pushed == 1
    assert ("note", "材料已核对") in _events(db, c2)
    item = a.sync.status().set_aside_items[0]
    assert item.name == Mutation.CASE_NOTE and "备注" in item.reason and "无法保存的特殊字符" in item.reason
    kept = [note for action, note in _events(db, c1) if action == "note"]
    assert len(kept) == 1 and "请回电" in kept[0]
    _no_5xx(a)


@pytest.mark.parametrize("name", ["case.teleport\ud800.v1", "case.tele\u0000port.v1"])
def test_unknown_command_names_that_cannot_be_stored_are_set_aside(live, name):
    """A raw push (an older or broken desk): the name is echoed in the reason and stored with the record."""
    db, base = live
    with httpx.Client(base_url=base) as http:
        _, headers = enroll_raw(http, db)
        cid = str(uuid.uuid4())
        worker = server_worker_id(db, "desk")
        body = {"mutations": [mutation(1, name, {"case_id": cid}, worker),
                              mutation(2, Mutation.RESIDENT_UPSERT, {"id": str(uuid.uuid4()), "name": "张桂兰",
                                                                     "id_number": ID_NUMBER}, worker)]}
        resp = http.post(Endpoint.PUSH, content=json.dumps(body), headers={**headers,
                                                                          "Content-Type": "application/json"})
        assert resp.status_code == 200, resp.text
        results = resp.json()["results"]
        assert [r["status"] for r in results] == ["set_aside", "applied"]
        assert "不认识" in results[0]["reason"]
        again = http.post(Endpoint.PUSH, content=json.dumps(body), headers={**headers,
                                                                           "Content-Type": "application/json"})
        assert again.status_code == 200 and all(r["duplicate"] for r in again.json()["results"])


def _old_desk_resident(desk: Desk, **values) -> uuid.UUID:
    """A resident as an older desk version saved it (SQLite ignores VARCHAR lengths) and queued it."""
    from forms.identity import validate_id
    info, worker = validate_id(ID_NUMBER), desk.worker("desk").id
    with desk.ctx.sessions.begin() as s:
        r = Resident(committee_id=desk.ctx.identity().committee_id, name="张桂兰", name_pinyin="zhangguilan zgl",
                     id_number=ID_NUMBER, sex=info.sex, birth_date=info.birth_date, phone="13800138000",
                     address="幸福里一区3号楼", household_no="", local_hukou=True, notes="", version=1,
                     created_at=utcnow(), updated_at=utcnow())
        for key, value in values.items():
            setattr(r, key, value)
        s.add(r)
        s.flush()
        args = {"id": str(r.id), "name": r.name, "id_number": r.id_number, "phone": r.phone, "address": r.address,
                "household_no": "", "local_hukou": True, "notes": r.notes, "version": 1}
        enqueue(s, Mutation.RESIDENT_UPSERT, args, worker)
        return r.id


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize(("field", "value", "label", "limit"), [
    ("address", "幸福里" * 77 + "一区3号楼", "住址", 200),  # 236 characters
    ("notes", "独居老人，" * 120, "备注", 500),  # 600 characters
])
def test_overlong_resident_field_from_an_old_desk_is_set_aside_naming_it(live_desk, live, field, value, label, limit):
    db, _ = live
    a = live_desk("A")
    rid = _old_desk_resident(a, **{field: value})
    cid = a.new_case(applicant_id=rid)
    a.cases.forward(a.worker("desk"), cid, assignee_id=a.worker("mz").id, queue="民政", note="请审核")
    other = a.new_case()  # someone else's case, pushed in the same batch
    result = a.sync.sync_once()
    assert result.ok, result.error
    assert result.set_aside == 4 and result.pending == 0  # the resident, then the case's create, accept, forward
    with db.sessions() as s:
        assert s.get(ServerResident, rid) is None and s.get(Case, cid) is None
        assert s.get(Case, other).state == "accepted"
    reasons = {item.name: item.reason for item in a.sync.status().set_aside_items}
    too_long = f"{label}过长（最多 {limit} 个字）"
    assert too_long in reasons[Mutation.RESIDENT_UPSERT]
    assert reasons[Mutation.CASE_CREATE].startswith(f"申请人信息未能上传：{too_long}")
    assert too_long in reasons[Mutation.CASE_FORWARD]  # every later command of the case says why, too
    _no_5xx(a)
    # The worker corrects the record on the desk; the resident reaches the server.
    fixed = ResidentInput(name="张桂兰", id_number="", address="幸福里一区3号楼")
    ResidentService(a.ctx).update(a.worker("desk"), rid, fixed)
    assert a.sync.sync_once().ok
    with db.sessions() as s:
        assert s.get(ServerResident, rid).address == "幸福里一区3号楼"
    with a.ctx.sessions() as s:
        assert s.scalar(select(OutboxEntry.status).order_by(OutboxEntry.mid.desc()).limit(1)) == "applied"
