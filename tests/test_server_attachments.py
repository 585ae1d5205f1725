"""attachment.add.v1 / attachment.remove.v1 on the district server (issue 15): scoped like case commands (the case
or resident of the device's committee, a worker who may act on cases), written once per id, a server_blob row
for the bytes to come, an "attachment" change row for the committee's desks (pull and snapshot). Every refusal
is a set-aside with a Chinese reason, never a 5xx. Runs against PostgreSQL (tests/server_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest
from sqlalchemy import select, update

from app.server import admin
from models import Attachment, Worker
from models.server import ChangeRow, MutationRecord, ServerBlob, ServerDevice
from tests.sync_helpers import COMMITTEE, enroll_raw, mutation, server_worker_id

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = pytest.mark.server

OTHER = "310101002"
CONTENT = b"%PDF-1.4 scanned page " * 100
SHA = hashlib.sha256(CONTENT).hexdigest()


def case_args(case_id: uuid.UUID, committee: str = COMMITTEE, device: str = "D01") -> dict:
    return {"id": str(case_id), "case_number": f"{committee}-{device}-20261202-{case_id.hex[:4]}",
            "item_code": "MZ-01", "item_name": "高龄老人尊老金申领", "catalog_version": "t", "department": "民政",
            "mode": "转办", "state": "draft", "applicant_id": None, "agent": None, "data": {}, "materials": {},
            "created_by_id": None, "origin_device_code": device, "verification_code": "ABCD1234",
            "created_at": "2026-12-02T01:00:00+00:00"}


def add_args(case_id: uuid.UUID | None, attachment_id: uuid.UUID | None = None, /, **change) -> dict:
    args = {"id": str(attachment_id or uuid.uuid4()), "case_id": str(case_id) if case_id else None,
            "material": "身份证", "sha256": SHA, "size": len(CONTENT), "mime": "application/pdf",
            "filename": "身份证.pdf", "pages": 2, "source": "camera"}
    args.update(change)
    return args


class Device:
    """A bare device pushing through the API, mids counted for it."""

    def __init__(self, api, db, committee: str = COMMITTEE, login: str = "desk"):
        self.api, self.committee = api, committee
        self.id, self.headers = enroll_raw(api, db, committee)
        self.worker = server_worker_id(db, login)
        self.mid = 0
        with db.sessions() as s:
            row = s.get_one(ServerDevice, uuid.UUID(self.id))
            self.code, self.committee_id = row.code, row.committee_id

    def push(self, *commands: tuple[str, dict], worker: str | None = None, at: dt.datetime | None = None) -> dict:
        batch = []
        for name, args in commands:
            self.mid += 1
            batch.append(mutation(self.mid, name, args, worker or self.worker, at))
        resp = self.api.post("/v1/push", json={"device_id": self.id, "mutations": batch}, headers=self.headers)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def new_case(self, committee: str | None = None) -> uuid.UUID:
        cid = uuid.uuid4()
        (r,) = self.push(("case.create.v1", case_args(cid, committee or self.committee, self.code)))["results"]
        assert r["status"] == "applied", r
        return cid


@pytest.fixture
def desk(api, seeded) -> Device:
    return Device(api, seeded)


@pytest.fixture
def other_desk(api, seeded) -> Device:
    admin.add_committee(seeded, OTHER, "西湖社区居民委员会")
    admin.add_worker(seeded, OTHER, "b_desk", "西湖前台", roles=["front_desk"], password="b_deskpass")
    return Device(api, seeded, OTHER, "b_desk")


def statuses(answer: dict) -> list[str]:
    return [r["status"] for r in answer["results"]]


def test_an_added_file_is_stored_once_with_its_blob_row_and_a_change_for_the_committee(api, seeded, desk):
    cid = desk.new_case()
    at = dt.datetime(2026, 12, 2, 2, 30, tzinfo=dt.UTC)
    aid = uuid.uuid4()
    answer = desk.push(("attachment.add.v1", add_args(cid, aid)), at=at)
    (result,) = answer["results"]
    assert result["status"] == "applied", result
    assert result["result"]["attachment_id"] == str(aid) and result["result"]["case_id"] == str(cid)
    with seeded.sessions() as s:
        a = s.get(Attachment, aid)
        assert (a.case_id, a.sha256, a.size, a.mime, a.material, a.pages, a.source) == (
            cid, SHA, len(CONTENT), "application/pdf", "身份证", 2, "camera")
        assert a.added_by_id == uuid.UUID(desk.worker) and a.removed_at is None
        assert abs((a.added_at - at).total_seconds()) < 5  # the command's effective time (clock offset ~0)
        blob = s.get(ServerBlob, (desk.committee_id, SHA))
        assert (blob.size, blob.mime, blob.received, blob.complete) == (len(CONTENT), "application/pdf", 0, False)
        (change,) = s.scalars(select(ChangeRow).where(ChangeRow.entity == "attachment")).all()
        assert change.entity_id == str(aid) and change.scope == str(a.committee_id)
        assert change.data["sha256"] == SHA and change.data["case_id"] == str(cid)
        case_seq = max(s.scalars(select(ChangeRow.seq).where(ChangeRow.entity == "case")))
        assert change.seq > case_seq  # after its case: a desk has the case before its file
    # the desk hears the server's state of the case the command named
    assert answer["cases"] and answer["cases"][0]["id"] == str(cid)


def test_the_same_attachment_twice_is_not_duplicated(api, seeded, desk):
    cid = desk.new_case()
    args = add_args(cid)
    first = desk.push(("attachment.add.v1", args))
    again = desk.push(("attachment.add.v1", args))  # a new mutation id, the same attachment id
    assert statuses(first) == statuses(again) == ["applied"]
    second_file = add_args(cid)  # another attachment of the same bytes: one blob row
    assert statuses(desk.push(("attachment.add.v1", second_file))) == ["applied"]
    with seeded.sessions() as s:
        assert len(s.scalars(select(Attachment)).all()) == 2
        assert len(s.scalars(select(ServerBlob)).all()) == 1
        assert len(s.scalars(select(ChangeRow).where(ChangeRow.entity == "attachment")).all()) == 2


def test_a_case_of_another_committee_is_set_aside(api, seeded, desk, other_desk):
    theirs = other_desk.new_case(OTHER)
    aid = uuid.uuid4()
    (result,) = desk.push(("attachment.add.v1", add_args(theirs, aid)))["results"]
    assert result["status"] == "set_aside"
    assert "不属于本机所在的居委会" in result["reason"]
    with seeded.sessions() as s:
        assert s.get(Attachment, aid) is None and not s.scalars(select(ServerBlob)).all()


def test_a_case_the_server_does_not_have_is_refused_like_a_case_command(api, seeded, desk):
    aid = uuid.uuid4()
    missing = uuid.uuid4()
    answer = desk.push(("attachment.add.v1", add_args(missing, aid)),
                       ("case.note.v1", {"case_id": str(missing), "note": "看一下"}))
    add, note = answer["results"]
    assert add["status"] == note["status"] == "set_aside"
    assert "尚未上传到区服务器" in add["reason"]
    assert add["result"]["case_id"] == str(missing)
    with seeded.sessions() as s:
        assert s.get(Attachment, aid) is None


def test_a_worker_without_a_case_role_is_set_aside(api, seeded, desk):
    cid = desk.new_case()
    with seeded.sessions.begin() as s:
        s.execute(update(Worker).where(Worker.login == "boss").values(roles=["auditor"]))
    (result,) = desk.push(("attachment.add.v1", add_args(cid)), worker=server_worker_id(seeded, "boss"))["results"]
    assert result["status"] == "set_aside" and "角色不能办理案件" in result["reason"]


def test_a_line_colleague_adds_files_only_to_a_case_forwarded_to_them(api, seeded, desk):
    """The same authority as the desk's attachment service: a line colleague works on the cases with them."""
    mz, mz2 = server_worker_id(seeded, "mz"), server_worker_id(seeded, "mz2")
    cid = desk.new_case()
    (early,) = desk.push(("attachment.add.v1", add_args(cid)), worker=mz)["results"]
    assert early["status"] == "set_aside" and "角色不能为该案件添加附件" in early["reason"]
    answer = desk.push(("case.accept.v1", {"case_id": str(cid), "note": "", "data": {}, "materials": {}}),
                       ("case.forward.v1", {"case_id": str(cid), "assignee_id": mz, "queue": "民政", "note": ""}))
    assert statuses(answer) == ["applied", "applied"], answer["results"]
    (theirs,) = desk.push(("attachment.add.v1", add_args(cid)), worker=mz)["results"]
    assert theirs["status"] == "applied", theirs  # e.g. the department's reply letter
    (other,) = desk.push(("attachment.add.v1", add_args(cid)), worker=mz2)["results"]
    assert other["status"] == "set_aside" and "其他同事承办" in other["reason"]
    rid = uuid.uuid4()
    resident = {"id": str(rid), "name": "张桂英", "id_number": "320302194501011229"}
    desk.push(("resident.upsert.v1", resident))
    (alone,) = desk.push(("attachment.add.v1", add_args(None, resident_id=str(rid))), worker=mz)["results"]
    assert alone["status"] == "set_aside" and "为居民添加附件" in alone["reason"]


def test_a_finished_case_takes_no_more_files(api, seeded, desk):
    cid = desk.new_case()
    aid = uuid.uuid4()
    desk.push(("attachment.add.v1", add_args(cid, aid)))
    (refused,) = desk.push(("case.refuse.v1", {"case_id": str(cid), "reason": "不符合条件"}))["results"]
    assert refused["status"] == "applied", refused
    (late,) = desk.push(("attachment.add.v1", add_args(cid)))["results"]
    assert late["status"] == "set_aside" and late["reason"] == "案件状态为“不予受理”，不能再添加附件，附件未生效"
    (remove,) = desk.push(("attachment.remove.v1", {"id": str(aid)}))["results"]
    assert remove["status"] == "set_aside" and "只有站长或管理员可以移除附件" in remove["reason"]
    (boss,) = desk.push(("attachment.remove.v1", {"id": str(aid)}), worker=server_worker_id(seeded, "boss"))["results"]
    assert boss["status"] == "applied", boss


def test_a_worker_of_another_committee_is_set_aside(api, seeded, desk, other_desk):
    cid = desk.new_case()
    (result,) = desk.push(("attachment.add.v1", add_args(cid)), worker=other_desk.worker)["results"]
    assert result["status"] == "set_aside" and "不属于本机所在的居委会" in result["reason"]


@pytest.mark.parametrize(("change", "words"), [
    ({"sha256": "not-a-hash"}, "附件信息有误"),
    ({"sha256": SHA.upper()}, "附件信息有误"),
    ({"size": 26 * 1024 * 1024}, "附件信息有误"),
    ({"size": 0}, "附件信息有误"),
    ({"mime": "application/x-msdownload"}, "附件信息有误"),
    ({"case_id": None}, "未关联案件或居民"),
    ({"filename": "a\x00b.pdf"}, "附件信息有误"),
    ({"id": "zzz"}, "附件信息有误"),
])
def test_bad_arguments_are_set_aside_and_the_queue_moves_on(api, seeded, desk, change, words):
    cid = desk.new_case()
    answer = desk.push(("attachment.add.v1", add_args(cid, **change)), ("attachment.add.v1", add_args(cid)))
    assert statuses(answer) == ["set_aside", "applied"]
    assert words in answer["results"][0]["reason"]
    with seeded.sessions() as s:
        assert len(s.scalars(select(Attachment)).all()) == 1


def test_the_same_bytes_declared_with_another_size_are_set_aside(api, seeded, desk):
    cid = desk.new_case()
    assert statuses(desk.push(("attachment.add.v1", add_args(cid)))) == ["applied"]
    (result,) = desk.push(("attachment.add.v1", add_args(cid, size=len(CONTENT) + 1)))["results"]
    assert result["status"] == "set_aside" and "大小" in result["reason"]


def test_the_same_bytes_in_another_committee_are_its_own_copy_whatever_size_it_declares(api, seeded, desk,
                                                                                         other_desk):
    """Committee B naming A's file (its sha256, any size) hears nothing about A's copy: B's add makes B's own row."""
    cid = desk.new_case()
    assert statuses(desk.push(("attachment.add.v1", add_args(cid)))) == ["applied"]
    theirs = other_desk.new_case(OTHER)
    (wrong_size,) = other_desk.push(("attachment.add.v1", add_args(theirs, size=len(CONTENT) + 1)))["results"]
    assert wrong_size["status"] == "applied", wrong_size  # not "大小不一致": that would say A has the file
    (same,) = other_desk.push(("attachment.add.v1", add_args(theirs)))["results"]
    assert same["status"] == "set_aside" and "大小" in same["reason"]  # against B's own first declaration
    with seeded.sessions() as s:
        rows = {(b.committee_id, b.size) for b in s.scalars(select(ServerBlob).where(ServerBlob.sha256 == SHA))}
    assert rows == {(desk.committee_id, len(CONTENT)), (other_desk.committee_id, len(CONTENT) + 1)}


def test_the_role_gate_is_the_cores_one_rule():
    """Who may touch files at all is written once (app/core/attachment_rules.py), for desk and server alike."""
    from app.core import attachment_rules
    from app.core import machine as cm
    from app.server import attachments
    me = uuid.uuid4()
    assert attachment_rules.ATTACHMENT_ROLES == cm.DESK_ROLES | cm.LINE_ROLES
    assert attachment_rules.role_refusal(["front_desk"]) is None and attachment_rules.role_refusal(["line"]) is None
    assert attachment_rules.role_refusal(["auditor"]) == attachment_rules.ROLE_REFUSED
    # the adder whose roles no longer act on cases takes nothing off, on the desk as on the server
    assert attachment_rules.remove_refusal(me, me, ["auditor"], None) == attachment_rules.ROLE_REFUSED
    assert attachment_rules.add_refusal(None, me, [], []) == attachment_rules.ROLE_REFUSED
    assert attachments.ROLE_REFUSED.startswith(attachment_rules.ROLE_REFUSED)
    assert not hasattr(attachments, "ATTACHMENT_ROLES")


def test_a_residents_file_needs_the_resident_on_the_server(api, seeded, desk, other_desk):
    rid = uuid.uuid4()
    resident = {"id": str(rid), "name": "张桂英", "id_number": "320302194501011229", "phone": "13905161234",
                "address": "幸福里 3 栋 201"}
    answer = desk.push(("resident.upsert.v1", resident),
                       ("attachment.add.v1", add_args(None, resident_id=str(rid), material="")))
    assert statuses(answer) == ["applied", "applied"], answer["results"]
    assert answer["results"][1]["result"]["resident_id"] == str(rid)
    (result,) = other_desk.push(("attachment.add.v1", add_args(None, resident_id=str(rid))))["results"]
    assert result["status"] == "set_aside" and "居民尚未上传" in result["reason"]


def test_removal_marks_the_row_and_tells_the_desks(api, seeded, desk, other_desk):
    cid = desk.new_case()
    aid = uuid.uuid4()
    desk.push(("attachment.add.v1", add_args(cid, aid)))
    answer = desk.push(("attachment.remove.v1", {"id": str(aid), "reason": "拍错了"}),
                       ("attachment.remove.v1", {"id": str(aid), "reason": "再点一次"}))
    assert statuses(answer) == ["applied", "applied"]
    with seeded.sessions() as s:
        a = s.get(Attachment, aid)
        assert a.removed_at is not None and a.removed_by_id == uuid.UUID(desk.worker) and a.version == 2
        changes = s.scalars(select(ChangeRow).where(ChangeRow.entity == "attachment").order_by(ChangeRow.seq)).all()
        assert len(changes) == 2 and changes[-1].data["removed_at"] is not None  # the second removal: no change
    other = uuid.uuid4()
    desk.push(("attachment.add.v1", add_args(cid, other)))
    (colleague,) = desk.push(("attachment.remove.v1", {"id": str(other)}),
                             worker=server_worker_id(seeded, "desk2"))["results"]
    assert colleague["status"] == "set_aside" and "只有添加该附件的同事" in colleague["reason"]
    (theirs,) = other_desk.push(("attachment.remove.v1", {"id": str(aid)}))["results"]
    assert theirs["status"] == "set_aside" and "不属于本机所在的居委会" in theirs["reason"]
    (unknown,) = desk.push(("attachment.remove.v1", {"id": str(uuid.uuid4())}))["results"]
    assert unknown["status"] == "set_aside" and "尚未上传到区服务器" in unknown["reason"]
    with seeded.sessions() as s:
        reasons = [r.reason for r in s.scalars(select(MutationRecord).where(MutationRecord.status == "set_aside"))]
        assert len(reasons) == 3 and all(reasons)
        assert s.get(Attachment, other).removed_at is None


def test_attachment_rows_reach_the_committees_pull_and_snapshot_only(api, seeded, desk, other_desk):
    cid = desk.new_case()
    aid = uuid.uuid4()
    desk.push(("attachment.add.v1", add_args(cid, aid)))
    pulled = api.get("/v1/pull", params={"cursor": "0"}, headers=desk.headers).json()
    assert [c["id"] for c in pulled["changes"] if c["entity"] == "attachment"] == [str(aid)]
    theirs = api.get("/v1/pull", params={"cursor": "0"}, headers=other_desk.headers).json()
    assert not [c for c in theirs["changes"] if c["entity"] == "attachment"]
    start = api.get("/v1/snapshot/start", headers=desk.headers).json()
    assert start["kinds"].index("attachment") > start["kinds"].index("case")
    page = api.get("/v1/snapshot", params={"kind": "attachment"}, headers=desk.headers).json()
    assert [r["id"] for r in page["rows"]] == [str(aid)] and page["rows"][0]["sha256"] == SHA
    empty = api.get("/v1/snapshot", params={"kind": "attachment"}, headers=other_desk.headers).json()
    assert empty["rows"] == []
