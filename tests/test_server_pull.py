"""Pull: commit order, paging, cursors the server can recognise (410 otherwise), committee scope, and the
desk writing pulled rows with their cursor in one transaction and without outbox rows."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from app.server import admin
from models import Case, OutboxEntry, SyncState
from tests.sync_helpers import COMMITTEE, enroll_raw

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = pytest.mark.server


def test_pull_pages_in_seq_order(api, seeded):
    for i in range(7):
        admin.add_worker(seeded, COMMITTEE, f"extra{i}", f"临时{i}", roles=["front_desk"], password_hash="x")
    _, headers = enroll_raw(api, seeded)
    seqs, cursor, pages = [], "0", 0
    while True:
        page = api.get("/v1/pull", params={"cursor": cursor, "limit": 4}, headers=headers).json()
        pages += 1
        assert len(page["changes"]) <= 4 and page["server_time"]
        seqs += [c["seq"] for c in page["changes"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seqs == sorted(seqs) and len(seqs) == 1 + 5 + 7 and pages == 4
    last = api.get("/v1/pull", params={"cursor": cursor}, headers=headers).json()
    assert last["changes"] == [] and last["next_cursor"] == cursor and not last["has_more"]


@pytest.mark.parametrize("cursor", ["5-deadbeef", "999-abc", "nonsense", "3"])
def test_unknown_cursor_is_410(api, seeded, cursor):
    _, headers = enroll_raw(api, seeded)
    resp = api.get("/v1/pull", params={"cursor": cursor}, headers=headers)
    assert resp.status_code == 410 and resp.json()["detail"]["error"] == "unknown_cursor"


def test_desks_see_their_committee_and_district_wide_data_only(api, seeded, tmp_path):
    admin.add_committee(seeded, "320302002", "和平里社区居民委员会")
    admin.add_worker(seeded, "320302002", "other", "外人", roles=["front_desk"], password_hash="x")
    cal = tmp_path / "cn-2031.json"
    cal.write_text('{"year": 2031, "version": 1, "holidays": ["2031-01-01"], "makeup_workdays": []}')
    admin.import_calendar(seeded, cal)
    _, headers = enroll_raw(api, seeded, "320302002")
    changes = api.get("/v1/pull", headers=headers).json()["changes"]
    assert [c["entity"] for c in changes] == ["committee", "worker", "calendar"]
    assert changes[1]["data"]["login"] == "other"
    assert "failed_attempts" not in changes[1]["data"] and changes[1]["data"]["password_hash"] == "x"


def test_pulled_rows_create_no_outbox_rows(make_desk):
    a, b = make_desk("A"), make_desk("B")
    for _ in range(3):
        cid = a.new_case()
        a.cases.forward(a.worker("desk"), cid, assignee_id=a.worker("mz").id, queue="民政")
    a.sync.sync_once()
    result = b.sync.sync_once()
    assert result.pulled >= 3
    with b.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 0
        assert s.scalar(select(func.count()).select_from(Case)) == 3


def test_cursor_moves_only_with_the_rows_it_covers(make_desk, monkeypatch):
    a, b = make_desk("A"), make_desk("B")
    a.new_case()
    a.sync.sync_once()
    with b.ctx.sessions() as s:
        before = s.get(SyncState, 1).cursor

    def crash(self, rows):
        raise RuntimeError("power cut while writing pulled cases")
    monkeypatch.setattr("app.desk.sync.apply.DeskApplier.cases", crash)
    failed = b.sync.sync_once()
    assert not failed.ok and "RuntimeError" in failed.error
    with b.ctx.sessions() as s:
        assert s.get(SyncState, 1).cursor == before
        assert s.scalar(select(func.count()).select_from(Case)) == 0
    monkeypatch.undo()
    assert b.sync.sync_once().ok
    with b.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1


def test_pull_tells_the_desk_what_the_server_has_acknowledged(make_desk, seeded):
    """A server that lost acknowledged commands (restored) gets them again, even with a still-valid cursor."""
    a = make_desk("A")
    cid = a.new_case()
    assert a.sync.sync_once().ok
    with seeded.sessions.begin() as s:  # the server forgets the accept (mid 2): as if restored to just before it
        from models.server import MutationRecord, ServerDevice
        dev = s.scalars(select(ServerDevice)).one()
        s.execute(delete(MutationRecord).where(MutationRecord.mid == 2))
        dev.last_mid = 1
        s.get(Case, cid).state = "draft"
    result = a.sync.sync_once()  # the cursor is still valid; the pull's last_mid reveals the loss
    assert result.ok and result.pending == 0 and result.pushed == 1  # sent again within the same round
    with seeded.sessions() as s:
        assert s.get(Case, cid).state == "accepted"
