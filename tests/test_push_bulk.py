"""A pushed batch applied in bulk (issue 18): what its commands name is loaded in one query per table and what
it writes goes in multi-row statements, so the statements a batch costs do not grow with its size — and the
outcome is the same as command by command. Runs against PostgreSQL (tests/server_fixtures.py)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, select

from forms.identity import make_id_number
from models.server import Case, ChangeRow, MutationRecord, Resident
from tests.sync_helpers import COMMITTEE, enroll_raw, mutation, server_worker_id

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server

ID_NUMBERS = [make_id_number(70 + i, "女", seed=i) for i in range(4)]


def _resident_args(rid: uuid.UUID, id_number: str) -> dict:
    return {"id": str(rid), "name": "王淑珍", "id_number": id_number, "phone": "13912345678",
            "address": "幸福里 3 号楼 201"}


def _create_args(cid: uuid.UUID, n: int, applicant: uuid.UUID | None) -> dict:
    return {"id": str(cid), "case_number": f"{COMMITTEE}-D01-20261203-{n:04d}", "item_code": "MZ-01",
            "item_name": "高龄老人尊老金申领", "catalog_version": "t", "department": "民政", "mode": "转办",
            "state": "draft", "applicant_id": str(applicant) if applicant else None, "agent": None, "data": {},
            "materials": {}, "created_by_id": None, "origin_device_code": "D01", "verification_code": "ABCD1234",
            "created_at": "2026-12-03T01:00:00+00:00"}


def _batch(first_mid: int, cases: int, worker: str, start: int, with_residents: bool) -> tuple[list[dict], list]:
    """``cases`` cases each created and accepted; the first few with a new applicant registered in the batch."""
    out, made = [], []
    mid = first_mid
    for i in range(cases):
        cid, rid = uuid.uuid4(), None
        if with_residents and i < len(ID_NUMBERS):
            rid = uuid.uuid4()
            out.append(mutation(mid, "resident.upsert.v1", _resident_args(rid, ID_NUMBERS[i]), worker))
            mid += 1
        out.append(mutation(mid, "case.create.v1", _create_args(cid, start + i, rid), worker))
        out.append(mutation(mid + 1, "case.accept.v1",
                            {"case_id": str(cid), "note": "", "data": {}, "materials": {}}, worker))
        mid += 2
        made.append((cid, rid))
    return out, made


def _statements(db, fn) -> list[str]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return seen


def test_statements_per_batch_do_not_grow_with_its_size(api, seeded):
    device_id, headers = enroll_raw(api, seeded)
    worker = server_worker_id(seeded, "desk")
    small, made_small = _batch(1, 5, worker, 1, with_residents=True)
    large, made_large = _batch(len(small) + 1, 100, worker, 100, with_residents=False)
    answers = []

    def push(batch):
        return lambda: answers.append(api.post("/v1/push", json={"device_id": device_id, "mutations": batch},
                                               headers=headers))

    few = _statements(seeded, push(small))
    many = _statements(seeded, push(large))
    assert [a.status_code for a in answers] == [200, 200]
    for a in answers:
        results = a.json()["results"]
        assert {r["status"] for r in results} == {"applied"}, [r["reason"] for r in results if r["reason"]]
    # 205 commands cost no more statements than 14 (a savepoint per command, or a query per command, would)
    assert len(many) <= len(few) + 2, (len(few), len(many))
    assert "SAVEPOINT" not in few + many, " ".join(few) + " | " + " ".join(many)
    assert len(many) < 40
    with seeded.sessions() as s:
        for cid, rid in made_small + made_large:
            case = s.get_one(Case, cid)
            assert case.state == "accepted" and case.applicant_id == rid
            assert [e.action for e in case.events][-1] == "accept"
        assert s.scalar(select(Resident.id_number).where(Resident.id == made_small[0][1])) == ID_NUMBERS[0]
        changes = list(s.scalars(select(ChangeRow).where(ChangeRow.entity == "case")))
        assert len(changes) == len(made_small) + len(made_large)  # one change row per case per batch
        assert all(c.data["state"] == "accepted" for c in changes)
        assert s.query(MutationRecord).count() == len(small) + len(large)
    answer_cases = {c["id"]: c for c in answers[1].json()["cases"]}  # the answer carries each case's state
    assert set(answer_cases) == {str(cid) for cid, _ in made_large}
    assert {c["state"] for c in answer_cases.values()} == {"accepted"}


def test_a_refused_command_in_a_bulk_batch_is_set_aside_and_the_rest_applies(api, seeded):
    device_id, headers = enroll_raw(api, seeded)
    worker = server_worker_id(seeded, "desk")
    batch, made = _batch(1, 6, worker, 1, with_residents=False)
    dup = dict(batch[0]["args"], id=str(uuid.uuid4()))  # another case under the first case's number
    batch.insert(2, mutation(3, "case.create.v1", dup, worker))
    for i, m in enumerate(batch, start=1):
        m["mid"] = i
    resp = api.post("/v1/push", json={"device_id": device_id, "mutations": batch}, headers=headers)
    assert resp.status_code == 200
    results = resp.json()["results"]
    assert [r["status"] for r in results].count("set_aside") == 1
    assert "重复" in results[2]["reason"]
    with seeded.sessions() as s:
        assert all(s.get_one(Case, cid).state == "accepted" for cid, _ in made)
        assert s.get(Case, uuid.UUID(dup["id"])) is None
