"""The warnings a case was accepted over travel with it (issue 13): the accept command carries them to the district
server, which stores them and hands them to the other desks; older commands without them still apply, and a value
outside the limits sets only that command aside. Runs against PostgreSQL (see tests/server_fixtures.py)."""

from __future__ import annotations

import uuid

import pytest

from app.core import limits
from models.server import Case as ServerCase
from tests.sync_helpers import ITEM, enroll_raw, mutation, server_worker_id

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server

WARNINGS = [{"level": "warn", "message": "低保一般在户籍所在地申请，请核实是否可按居住证政策申请"},
            {"level": "info", "message": "请提醒居民携带户口簿原件"}]


def test_warnings_and_the_insisting_note_reach_the_server_and_the_other_desk(make_desk, seeded):
    a, b = make_desk("A"), make_desk("B")
    w = a.worker("desk")
    cid = a.cases.create_draft(w, ITEM, None)
    a.cases.run(w, cid, [a.cases.submit_step({"x": 1}, {"身份证": True}, rule_warnings=WARNINGS,
                                             warning_note="居民称已办居住证，坚持申请")])
    a.cases.forward(w, cid, assignee_id=None, queue="民政")
    assert a.sync.sync_once().ok
    with seeded.sessions() as s:
        case = s.get(ServerCase, cid)
        assert case.state == "forwarded"
        assert case.rule_warnings == WARNINGS and case.warning_note == "居民称已办居住证，坚持申请"
    assert b.sync.sync_once().ok
    seen = b.cases.get(cid)  # the colleague's desk, from the server's change log
    assert seen.rule_warnings == WARNINGS and seen.warning_note == "居民称已办居住证，坚持申请"


def _push(api, headers, device_id, mutations):
    resp = api.post("/v1/push", json={"device_id": device_id, "mutations": mutations}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


def _create(cid: uuid.UUID, seq: int) -> dict:
    return {"id": str(cid), "case_number": f"320302001-D09-20261120-{seq:04d}", "item_code": "MZ-01",
            "item_name": "高龄老人尊老金申领", "department": "民政", "mode": "转办", "data": {}, "materials": {}}


@pytest.fixture
def device(api, seeded):
    device_id, headers = enroll_raw(api, seeded)
    return device_id, headers, server_worker_id(seeded, "desk")


def test_an_accept_without_warnings_from_an_older_desk_still_applies(api, seeded, device):
    device_id, headers, desk = device
    cid = uuid.uuid4()
    results = _push(api, headers, device_id, [
        mutation(1, "case.create.v1", _create(cid, 1), desk),
        mutation(2, "case.accept.v1", {"case_id": str(cid), "note": "", "data": {"x": 1}, "materials": {}}, desk)])
    assert [r["status"] for r in results] == ["applied", "applied"]
    with seeded.sessions() as s:
        case = s.get(ServerCase, cid)
        assert case.state == "accepted" and case.rule_warnings == [] and case.warning_note == ""


@pytest.mark.parametrize(("warnings", "note", "problem"), [
    ([{"level": "warn", "message": "请核实"}] * (limits.CASE_RULE_WARNINGS + 1), "", "受理提示过多（最多 30 条）"),
    ([{"level": "warn", "message": "核" * (limits.CASE_RULE_WARNING_MESSAGE + 1)}], "",
     "受理提示过长（最多 300 个字）"),
    ([{"level": "block", "message": "不能受理"}], "", "受理提示不符合要求"),
    (WARNINGS, "坚持\x00申请", "居民坚持申请的说明含有无法保存的特殊字符"),
])
def test_warnings_outside_the_limits_set_only_that_command_aside(api, seeded, device, warnings, note, problem):
    device_id, headers, desk = device
    cid, other = uuid.uuid4(), uuid.uuid4()
    results = _push(api, headers, device_id, [
        mutation(1, "case.create.v1", _create(cid, 1), desk),
        mutation(2, "case.accept.v1", {"case_id": str(cid), "rule_warnings": warnings, "warning_note": note}, desk),
        mutation(3, "case.create.v1", _create(other, 2), desk)])
    assert [r["status"] for r in results] == ["applied", "set_aside", "applied"]
    assert problem in results[1]["reason"]
    with seeded.sessions() as s:
        case = s.get(ServerCase, cid)
        assert case.state == "draft" and case.rule_warnings == []
