"""Push: gap-free mids, duplicates without effect, 409 on gaps, set-aside rejections, 503 on database failure,
committee and role checks. Runs against PostgreSQL (see tests/server_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.server.db import take_lock
from models import Case, OutboxEntry, SyncState
from models.server import ChangeRow, MutationRecord, ServerDevice
from models.sync import SYNC_STATE_ID
from tests.sync_helpers import COMMITTEE, enroll_raw, mutation, server_counts, server_worker_id

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = pytest.mark.server


def _create_args(case_id: uuid.UUID | None = None, number: str | None = None) -> dict:
    case_id = case_id or uuid.uuid4()
    return {"id": str(case_id), "case_number": number or f"{COMMITTEE}-D09-20261120-{case_id.hex[:4]}",
            "item_code": "MZ-01", "item_name": "高龄老人尊老金申领", "catalog_version": "t", "department": "民政",
            "mode": "转办", "state": "draft", "applicant_id": None, "agent": None, "data": {}, "materials": {},
            "created_by_id": None, "origin_device_code": "D09", "verification_code": "ABCD1234",
            "created_at": "2026-11-20T01:00:00+00:00"}


@pytest.fixture
def device(api, seeded):
    device_id, headers = enroll_raw(api, seeded)
    return device_id, headers, server_worker_id(seeded, "desk")


def _push(api, device, mutations):
    device_id, headers, _ = device
    return api.post("/v1/push", json={"device_id": device_id, "mutations": mutations}, headers=headers)


def _last_mid(db, device_id) -> int:
    with db.sessions() as s:
        return s.get(ServerDevice, uuid.UUID(device_id)).last_mid


def test_duplicates_return_the_stored_result_without_effect(api, seeded, device):
    desk = device[2]
    cid = uuid.uuid4()
    batch = [mutation(1, "case.create.v1", _create_args(cid), desk),
             mutation(2, "case.accept.v1", {"case_id": str(cid), "note": "", "data": {}, "materials": {}}, desk)]
    first = _push(api, device, batch)
    assert first.status_code == 200, first.text
    before = server_counts(seeded)
    again = _push(api, device, batch)
    assert again.status_code == 200
    assert [r["duplicate"] for r in again.json()["results"]] == [True, True]
    assert [r["status"] for r in again.json()["results"]] == [r["status"] for r in first.json()["results"]]
    assert [r["result"] for r in again.json()["results"]] == [r["result"] for r in first.json()["results"]]
    assert server_counts(seeded) == before  # no second case, event, mutation record or change row
    assert again.json()["cases"][0]["state"] == "accepted"  # the desk still gets the case to refresh


def test_a_gap_is_refused_whole(api, seeded, device):
    desk = device[2]
    assert _push(api, device, [mutation(1, "case.create.v1", _create_args(), desk)]).status_code == 200
    before = server_counts(seeded)
    resp = _push(api, device, [mutation(3, "case.create.v1", _create_args(), desk)])
    assert resp.status_code == 409
    assert resp.json()["detail"]["error"] == "gap" and resp.json()["detail"]["last_mid"] == 1
    assert server_counts(seeded) == before and _last_mid(seeded, device[0]) == 1
    # a batch that repeats mid 1 but then jumps is refused whole too: nothing of it is applied
    resp = _push(api, device, [mutation(2, "case.create.v1", _create_args(), desk),
                               mutation(4, "case.create.v1", _create_args(), desk)])
    assert resp.status_code == 409 and server_counts(seeded) == before


def test_a_reused_mid_with_another_mutation_id_is_a_conflict(api, seeded, device):
    desk = device[2]
    assert _push(api, device, [mutation(1, "case.create.v1", _create_args(), desk)]).status_code == 200
    resp = _push(api, device, [mutation(1, "case.create.v1", _create_args(), desk)])
    assert resp.status_code == 409 and resp.json()["detail"]["error"] == "mid_conflict"


def test_business_rejection_is_stored_and_advances_last_mid(api, seeded, device):
    desk = device[2]
    cid = uuid.uuid4()
    resp = _push(api, device, [
        mutation(1, "case.create.v1", _create_args(cid), desk),
        mutation(2, "case.close.v1", {"case_id": str(cid), "note": "", "inform_method": "phone"}, desk),
        mutation(3, "case.accept.v1", {"case_id": str(cid), "note": ""}, desk),
    ])
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["applied", "set_aside", "applied"]
    assert "不能执行" in results[1]["reason"]
    assert _last_mid(seeded, device[0]) == 3
    with seeded.sessions() as s:
        rec = s.get(MutationRecord, (uuid.UUID(device[0]), 2))
        assert rec.status == "set_aside" and rec.reason == results[1]["reason"]


@pytest.mark.parametrize("bad", [
    {"name": "case.teleport.v1", "args": {}},
    {"name": "case.forward.v1", "args": {"case_id": "not-a-uuid"}},
    {"name": "case.create.v1", "args": {"id": str(uuid.uuid4())}},
    {"name": "resident.upsert.v1", "args": {"id": str(uuid.uuid4()), "name": "张三", "id_number": "123"}},
])
def test_poison_mutation_does_not_block_later_ones(api, seeded, device, bad):
    desk = device[2]
    cid = uuid.uuid4()
    resp = _push(api, device, [mutation(1, bad["name"], bad["args"], desk),
                               mutation(2, "case.create.v1", _create_args(cid), desk)])
    assert resp.status_code == 200
    assert [r["status"] for r in resp.json()["results"]] == ["set_aside", "applied"]
    assert resp.json()["results"][0]["reason"]
    with seeded.sessions() as s:
        assert s.get(Case, cid) is not None


def test_unexpected_handler_error_is_set_aside_not_retried_forever(api, seeded, device, monkeypatch):
    import app.server.mutations as mutations
    desk = device[2]
    real = mutations.apply_mutation

    def flaky(ctx, name, args):
        if args.get("boom"):
            raise KeyError("bug in a handler")
        return real(ctx, name, args)
    monkeypatch.setattr("app.server.push.apply_mutation", flaky)
    resp = _push(api, device, [mutation(1, "case.create.v1", {**_create_args(), "boom": True}, desk),
                               mutation(2, "case.create.v1", _create_args(), desk)])
    assert [r["status"] for r in resp.json()["results"]] == ["set_aside", "applied"]


def test_database_failure_rolls_back_the_batch_with_503(api, seeded, device, monkeypatch):
    desk = device[2]
    calls = {"n": 0}
    import app.server.mutations as mutations
    real = mutations.apply_mutation

    def failing_second(ctx, name, args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("UPDATE ...", {}, Exception("server closed the connection unexpectedly"))
        return real(ctx, name, args)
    monkeypatch.setattr("app.server.push.apply_mutation", failing_second)
    before = server_counts(seeded)
    resp = _push(api, device, [mutation(1, "case.create.v1", _create_args(), desk),
                               mutation(2, "case.create.v1", _create_args(), desk)])
    assert resp.status_code == 503 and resp.json()["detail"]["error"] == "unavailable"
    assert server_counts(seeded) == before and _last_mid(seeded, device[0]) == 0  # the first one too


def test_every_mutation_is_checked_against_committee_and_role(api, seeded, device):
    from app.server import admin
    admin.add_committee(seeded, "320302002", "和平里社区居民委员会")
    admin.add_worker(seeded, "320302002", "other", "外人", roles=["front_desk"], password="otherpass")
    desk, line = device[2], server_worker_id(seeded, "mz")
    cid = uuid.uuid4()
    _push(api, device, [mutation(1, "case.create.v1", _create_args(cid), desk),
                        mutation(2, "case.accept.v1", {"case_id": str(cid), "note": ""}, desk)])
    other_device = enroll_raw(api, seeded, "320302002") + (server_worker_id(seeded, "other"),)
    results = _push(api, other_device, [
        # another committee's case
        mutation(1, "case.withdraw.v1", {"case_id": str(cid), "note": "x"}, other_device[2]),
        mutation(2, "case.create.v1", _create_args(), desk),  # a worker of another committee on this device
    ]).json()["results"]
    assert [r["status"] for r in results] == ["set_aside", "set_aside"]
    assert "不属于" in results[0]["reason"] and "不属于" in results[1]["reason"]
    resp = _push(api, device, [mutation(3, "case.forward.v1", {"case_id": str(cid), "queue": "民政", "note": ""}, line),
                               mutation(4, "case.accept.v1", {"case_id": str(cid), "note": ""}, str(uuid.uuid4()))])
    results = resp.json()["results"]
    assert results[0]["status"] == "set_aside" and "需要以下角色" in results[0]["reason"]
    assert results[1]["status"] == "set_aside" and "未在区服务器登记" in results[1]["reason"]
    with seeded.sessions() as s:
        assert s.get(Case, cid).state == "accepted"


def test_server_checks_who_may_act_on_a_forwarded_case(api, seeded, device):
    """The same rules as the desk (app/case_machine): the assignee's line must cover the department,
    only the assignee (or a supervisor) acknowledges and replies, a reassignment needs a reason."""
    desk, mz, mz2, boss = (device[2], server_worker_id(seeded, "mz"), server_worker_id(seeded, "mz2"),
                           server_worker_id(seeded, "boss"))
    cid = uuid.uuid4()
    results = _push(api, device, [
        mutation(1, "case.create.v1", _create_args(cid), desk),
        mutation(2, "case.accept.v1", {"case_id": str(cid), "note": "", "catalog_version": "2099.1.1"}, desk),
        mutation(3, "case.forward.v1", {"case_id": str(cid), "assignee_id": desk, "note": ""}, desk),
        mutation(4, "case.forward.v1", {"case_id": str(cid), "assignee_id": mz, "note": ""}, desk),
        mutation(5, "case.reply.v1", {"case_id": str(cid), "result": "approved", "text": "同意"}, mz2),
        mutation(6, "case.reassign.v1", {"case_id": str(cid), "assignee_id": mz2, "note": ""}, boss),
        mutation(7, "case.reply.v1", {"case_id": str(cid), "result": "approved", "text": "同意"}, mz),
    ]).json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied", "set_aside", "applied", "set_aside",
                                              "set_aside", "applied"], results
    assert "条线社工" in results[2]["reason"]
    assert "承办人" in results[4]["reason"]
    assert "改派必须填写原因" in results[5]["reason"]
    with seeded.sessions() as s:
        case = s.get(Case, cid)
        assert case.state == "replied" and case.assignee_id == uuid.UUID(mz)
        assert case.catalog_version == "2099.1.1"  # the version the desk checked the data against


def test_bad_or_missing_token_is_401(api, seeded, device):
    resp = api.post("/v1/push", json={"mutations": []}, headers={"Authorization": f"Bearer {device[0]}.wrong"})
    assert resp.status_code == 401
    assert api.get("/v1/pull").status_code == 401


def test_change_log_seq_is_allocated_under_the_stream_lock(seeded):
    """Every writer holds its stream's lock, so seqs are unique and each stream's newest is on its lock row."""
    with seeded.sessions() as s:
        rows = list(s.execute(select(ChangeRow.seq, ChangeRow.scope).order_by(ChangeRow.seq)))
        assert rows and len({seq for seq, _ in rows}) == len(rows)
        for scope in {scope for _, scope in rows}:
            assert take_lock(s, scope).last_seq == max(seq for seq, sc in rows if sc == scope)


def test_desk_shows_set_aside_with_reason(make_desk):
    a, b = make_desk("A"), make_desk("B")
    cid = a.new_case()
    a.cases.forward(a.worker("desk"), cid, assignee_id=a.worker("mz").id, queue="民政")
    a.sync.sync_once()
    b.sync.sync_once()
    b.cases.withdraw(b.worker("desk"), cid, "居民撤回")
    a.cases.acknowledge(a.worker("mz"), cid)  # offline at A, while B withdraws
    b.sync.sync_once()
    result = a.sync.sync_once()
    assert result.ok and result.set_aside == 1 and result.pending == 0
    status = a.sync.status()
    assert status.set_aside == 1
    item = status.set_aside_items[0]
    assert item.label == "签收" and "已撤回" in item.reason and item.case_number
    with a.ctx.sessions() as s:
        entry = s.get(OutboxEntry, item.mid)
        assert entry.status == "set_aside" and entry.reason == item.reason
    assert a.cases.get(cid).summary.state == "withdrawn"  # the desk adopted the server's state


def test_clock_skew_server_recomputes_the_deadline_and_desk_adopts_it(make_desk, seeded):
    skew = dt.timedelta(days=-3, hours=-2)  # this desk's clock is more than three days slow
    a = make_desk("A", clock=lambda: dt.datetime.now(dt.UTC) + skew)
    with a.ctx.sessions.begin() as s:  # ...and its commands carry no offset (queued before it ever measured one)
        s.get_one(SyncState, SYNC_STATE_ID).clock_offset_s = None
    a.ctx.clock.learned(None)
    cid = a.new_case()
    desk_detail = a.cases.forward(a.worker("desk"), cid, assignee_id=a.worker("mz").id, queue="民政")
    with a.ctx.sessions() as s:
        assert {o.clock_offset_s for o in s.scalars(select(OutboxEntry))} == {None}
    assert a.sync.sync_once().ok
    with seeded.sessions() as s:
        case = s.get(Case, cid)
        true_forward = case.forwarded_at
    assert abs((true_forward - dt.datetime.now(dt.UTC)).total_seconds()) < 60  # corrected, not 3 days ago
    from app.core.workdays import compute_deadline
    from app.server.admin import server_calendar
    with seeded.sessions() as s:
        expected = compute_deadline(true_forward, server_calendar(s)).due
    adopted = a.cases.get(cid).summary.due_at
    assert adopted == expected and adopted != desk_detail.summary.due_at
    assert abs(a.sync.status().clock_offset_s - (-skew.total_seconds())) < 60
    with seeded.sessions() as s:
        dev = s.scalars(select(ServerDevice)).one()
        assert abs(dev.clock_offset_s + skew.total_seconds()) < 60
