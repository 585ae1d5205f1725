"""How a pushed batch is written (issue 18): the cases it creates go in one statement per table (COPY on
PostgreSQL) instead of the unit of work, even when a flush comes in the middle of the batch; a COPY's failure
is SQLAlchemy's error of its kind, so the batch is redone with a savepoint per command as before. On the desk:
the next batch is sent while the last answer is written, and a pulled row the push answer already wrote is
not written again — unless another row of it came in between. Runs against PostgreSQL (tests/server_fixtures.py)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError

from app.core.payloads import case_payload
from app.desk.residents import ResidentInput, ResidentService
from app.server.db import bulk_insert
from forms.identity import make_id_number
from models import OutboxEntry
from models import Resident as DeskResident
from models.server import Case, ChangeRow, MutationRecord, Resident, ServerDevice
from tests.sync_helpers import COMMITTEE, enroll_raw, mutation, server_counts, server_worker_id

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server


def _device_code(db, device_id: str) -> str:
    with db.sessions() as s:
        return s.get_one(ServerDevice, uuid.UUID(device_id)).code


def _create(cid: uuid.UUID, number: str, code: str, applicant: uuid.UUID | None) -> dict:
    return {"id": str(cid), "case_number": number, "item_code": "MZ-01", "item_name": "高龄老人尊老金申领",
            "catalog_version": "t", "department": "民政", "mode": "转办", "state": "draft",
            "applicant_id": str(applicant) if applicant else None, "agent": None, "data": {"x": 1},
            "materials": {"身份证": True}, "created_by_id": None, "origin_device_code": code,
            "verification_code": "ABCD1234", "created_at": "2026-12-03T01:00:00+00:00"}


def _commands(code: str, worker: str, id_number: str) -> tuple[list[tuple[str, dict]], list[uuid.UUID]]:
    """A case created, then a new resident (its creation flushes the session mid-batch), then the first case
    accepted, and a second case of that resident created and accepted."""
    first, second, rid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    resident = {"id": str(rid), "name": "王淑珍", "id_number": id_number, "phone": "13912345678",
                "address": "幸福里 3 号楼 201"}
    accept = {"note": "", "data": {}, "materials": {}}
    return [("case.create.v1", _create(first, f"{COMMITTEE}-{code}-20261203-0001", code, None)),
            ("resident.upsert.v1", resident),
            ("case.accept.v1", {"case_id": str(first), **accept}),
            ("case.create.v1", _create(second, f"{COMMITTEE}-{code}-20261203-0002", code, rid)),
            ("case.accept.v1", {"case_id": str(second), **accept})], [first, second]


def _shape(payload: dict) -> dict:
    """What must not depend on how the batch was written (ids, numbers and times differ between devices)."""
    skip = {"id", "case_number", "origin_device_code", "applicant_id", "created_at", "updated_at", "accepted_at",
            "created_by_id", "assignee_id"}
    return {**{k: v for k, v in payload.items() if k not in skip and k != "events"},
            "applicant": payload["applicant_id"] is not None,
            "events": [(e["seq"], e["action"], e["from_state"], e["to_state"], e["note"]) for e in payload["events"]]}


def test_cases_written_in_bulk_across_a_mid_batch_flush_match_one_command_at_a_time(api, seeded):
    worker = server_worker_id(seeded, "desk")
    bulk_id, bulk_headers = enroll_raw(api, seeded)
    single_id, single_headers = enroll_raw(api, seeded)
    bulk_cmds, bulk_cases = _commands(_device_code(seeded, bulk_id), worker, make_id_number(75, "女", seed=1))
    single_cmds, single_cases = _commands(_device_code(seeded, single_id), worker, make_id_number(76, "女", seed=2))

    batch = [mutation(mid, name, args, worker) for mid, (name, args) in enumerate(bulk_cmds, start=1)]
    answer = api.post("/v1/push", json={"device_id": bulk_id, "mutations": batch}, headers=bulk_headers).json()
    assert [r["status"] for r in answer["results"]] == ["applied"] * 5, [r["reason"] for r in answer["results"]]
    one_by_one = []
    for mid, (name, args) in enumerate(single_cmds, start=1):
        resp = api.post("/v1/push", json={"device_id": single_id, "mutations": [mutation(mid, name, args, worker)]},
                        headers=single_headers)
        assert resp.json()["results"][0]["status"] == "applied"
        one_by_one = resp.json()["cases"] or one_by_one

    answered = {c["id"]: c for c in answer["cases"]}
    with seeded.sessions() as s:
        stored = {str(cid): case_payload(s.get_one(Case, cid)) for cid in bulk_cases}
        alone = case_payload(s.get_one(Case, single_cases[1]))
        changes = {c.entity_id: c.data for c in s.scalars(select(ChangeRow).where(
            ChangeRow.entity == "case", ChangeRow.entity_id.in_([str(c) for c in bulk_cases])))}
        assert s.scalar(select(func.count()).select_from(MutationRecord)) == 10
    # what was written is what the answer and the change log say, column defaults and event ids included
    assert stored == answered == changes
    assert all(c["state"] == "accepted" and len(c["events"]) == 2 for c in stored.values())
    assert _shape(stored[str(bulk_cases[1])]) == _shape(alone) == _shape(one_by_one[0])


def test_a_copy_failure_is_raised_as_sqlalchemys_error_of_its_kind(seeded):
    row = {"seq": 10**9, "tag": "abcd", "scope": "x", "entity": "case", "entity_id": "1", "data": {}}
    with seeded.sessions() as s:
        bulk_insert(s, ChangeRow.__table__, [row])
        with pytest.raises(IntegrityError):  # the same seq again
            bulk_insert(s, ChangeRow.__table__, [dict(row, tag="efgh")])
        s.rollback()
        with pytest.raises(DataError):  # longer than the column
            bulk_insert(s, ChangeRow.__table__, [dict(row, entity="e" * 40)])
        s.rollback()
    with seeded.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ChangeRow).where(ChangeRow.seq == 10**9)) == 0


def test_the_answer_to_a_batch_sent_ahead_is_lost_and_nothing_is_lost_or_doubled(make_desk, seeded):
    a = make_desk("A")
    a.sync.batch_size = 2
    cases = [a.new_case() for _ in range(4)]  # 8 commands: 4 batches, each sent while the last answer is written
    before = server_counts(seeded)
    a.transport.plan = [None, "drop_response"]
    assert not a.sync.sync_once().ok
    result = a.sync.sync_once()
    assert result.ok and result.pending == 0
    after = server_counts(seeded)
    assert after["case"] - before["case"] == 4
    assert after["server_mutation"] - before["server_mutation"] == 8
    with seeded.sessions() as s:
        assert {s.get_one(Case, cid).state for cid in cases} == {"accepted"}
    with a.ctx.sessions() as s:
        assert set(s.scalars(select(OutboxEntry.status))) == {"applied"}


def test_a_pulled_row_older_than_the_push_answer_does_not_win(make_desk, seeded):
    a, b = make_desk("A"), make_desk("B")
    zhang = ResidentInput(name="张桂兰", id_number="11010519491231002X", phone="13800138000", address="幸福里一区3号楼")
    row, _ = ResidentService(a.ctx).create(a.worker("desk"), zhang)
    assert a.sync.sync_once().ok and b.sync.sync_once().ok
    ResidentService(b.ctx).update(b.worker("desk"), row.id, ResidentInput(
        name="张桂兰", id_number="", phone="13911112222", address="幸福里一区3号楼"))
    assert b.sync.sync_once().ok  # B's row comes first in the change log
    ResidentService(a.ctx).update(a.worker("desk"), row.id, ResidentInput(
        name="张桂兰", id_number="", phone="", address="幸福里二区8号楼"))
    # A's round: its answer writes the server's state, then the pull brings B's older row and then A's own
    assert a.sync.sync_once().ok
    with seeded.sessions() as s:
        server = s.get_one(Resident, row.id)
        expected = (server.phone, server.address)
    assert expected[1] == "幸福里二区8号楼"
    with a.ctx.sessions() as s:
        local = s.get_one(DeskResident, row.id)
        assert (local.phone, local.address) == expected
