"""Sync under failure: lost answers, replays, gaps, poison, concurrent offline work, stale commands, concurrent
pushes and pulls, a server restored from backup, and a token revoked half-way through a backlog."""

from __future__ import annotations

import json
import os
import threading
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app.desk.outbox import enqueue
from app.desk.sync.enroll import enroll_desk
from app.server import admin
from app.server.api import create_app
from app.server.db import normalise_url, open_server_db
from models import Case, CaseEvent, OutboxEntry
from models.server import ChangeRow, ServerDevice
from tests.sync_helpers import COMMITTEE, PG_ENV, TestClient, server_counts

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = pytest.mark.server


def _forwarded_case(desk):
    cid = desk.new_case()
    desk.cases.forward(desk.worker("desk"), cid, assignee_id=desk.worker("mz").id, queue="民政", note="请审核")
    return cid


def _outbox(desk) -> dict[str, int]:
    with desk.ctx.sessions() as s:
        return dict(s.execute(select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status)).all())


def _history(desk, cid) -> list[tuple]:
    with desk.ctx.sessions() as s:
        return [(e.seq, e.action, e.to_state, e.note) for e in
                s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid).order_by(CaseEvent.seq))]


def _server_case(db, cid) -> Case:
    with db.sessions() as s:
        return s.get(Case, cid)


@pytest.mark.parametrize("fault", ["drop_response", "truncate"])
def test_answer_lost_after_commit_retry_has_exactly_one_effect(make_desk, seeded, fault):
    """The server committed but was killed (or the line dropped) before the desk got the answer."""
    a = make_desk("A")
    _forwarded_case(a)
    a.transport.plan = [fault]
    lost = a.sync.sync_once()
    assert not lost.ok and not lost.online and lost.pending == 3
    after_commit = server_counts(seeded)
    assert after_commit["server_mutation"] == 3
    again = a.sync.sync_once()
    assert again.ok and again.pushed == 3 and again.pending == 0
    assert server_counts(seeded)["case_event"] == after_commit["case_event"] == 3  # create, accept, forward: once
    assert server_counts(seeded)["server_mutation"] == 3
    assert _outbox(a) == {"applied": 3}


def test_duplicated_request_has_one_effect(make_desk, seeded):
    a = make_desk("A")
    _forwarded_case(a)
    a.transport.plan = ["duplicate"]
    result = a.sync.sync_once()
    assert result.ok and result.pushed == 3
    assert server_counts(seeded)["case_event"] == 3


def test_network_down_keeps_everything_and_backs_off(make_desk):
    a = make_desk("A")
    _forwarded_case(a)
    a.transport.plan = ["drop_request"] * 3
    results = [a.sync.sync_once() for _ in range(3)]
    assert all(not r.ok and not r.online and r.pending == 3 for r in results)
    assert "离线" in results[0].error
    status = a.sync.status()
    assert not status.online and status.pending == 3 and status.oldest_pending_age_s is not None
    assert a.sync.sync_once().ok and _outbox(a) == {"applied": 3}


def test_old_batch_replayed_a_day_later_has_no_effect(make_desk, seeded, api, server_clock):
    a, b = make_desk("A"), make_desk("B")
    cid = _forwarded_case(a)
    a.sync.sync_once()
    first_push = next(body for path, body in a.transport.seen if path == "/v1/push")
    b.sync.sync_once()
    b.cases.reply(b.worker("mz"), cid, "approved", "符合条件")
    b.sync.sync_once()
    a.sync.sync_once()
    a.cases.close(a.worker("desk"), cid, "phone")
    a.sync.sync_once()
    before = server_counts(seeded)
    server_clock.advance(days=1)
    with a.ctx.sessions() as s:
        from app.desk.keystore import device_token
        from models import Device
        token = device_token(s.scalars(select(Device)).one())
    resp = api.post("/v1/push", content=first_push, headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": "application/json"})
    assert resp.status_code == 200 and all(r["duplicate"] for r in resp.json()["results"])
    assert server_counts(seeded) == before
    assert _server_case(seeded, cid).state == "closed"


def test_a_gap_is_repaired_by_sending_again(make_desk, seeded):
    a = make_desk("A")
    _forwarded_case(a)
    a.sync.sync_once()
    c2 = a.new_case()
    with a.ctx.sessions.begin() as s:  # the desk believes mid 4 went through; the server never saw it
        s.get(OutboxEntry, 4).status = "applied"
    result = a.sync.sync_once()
    assert result.ok and result.pending == 0
    with seeded.sessions() as s:
        assert s.scalars(select(ServerDevice)).one().last_mid == 5
        assert s.get(Case, c2).state == "accepted"


def test_poison_mutation_does_not_block_later_ones(make_desk, seeded):
    a = make_desk("A")
    c1 = a.new_case()
    with a.ctx.sessions.begin() as s:
        enqueue(s, "case.teleport.v1", {"case_id": str(c1), "case_number": "X-1"}, a.worker("desk").id)
    c2 = a.new_case()
    result = a.sync.sync_once()
    assert result.ok and result.set_aside == 1 and result.pending == 0
    assert _server_case(seeded, c2).state == "accepted"
    item = a.sync.status().set_aside_items[0]
    assert item.name == "case.teleport.v1" and "不认识" in item.reason and item.case_number == "X-1"


def test_two_desks_reply_offline_to_the_same_case(make_desk, seeded):
    a, b, c = make_desk("A"), make_desk("B"), make_desk("C")
    cid = _forwarded_case(a)
    a.sync.sync_once()
    b.sync.sync_once()
    c.sync.sync_once()
    b.cases.reply(b.worker("mz"), cid, "approved", "同意，已核实")
    # The same colleague answers again from another desk before either has synced.
    c.cases.reply(c.worker("mz"), cid, "need_more", "请补充户口本")
    assert b.sync.sync_once().ok
    res_c = c.sync.sync_once()
    assert res_c.ok and res_c.set_aside == 1
    for desk in (a, b, c, a, b, c):
        assert desk.sync.sync_once().ok
    histories = [_history(d, cid) for d in (a, b, c)]
    assert histories[0] == histories[1] == histories[2]
    notes = [h[3] for h in histories[0]]
    assert "同意，已核实" in notes and any("请补充户口本" in n for n in notes)  # both replies kept
    assert {d.cases.get(cid).summary.state for d in (a, b, c)} == {"replied"}
    assert "请补充户口本" in c.sync.status().set_aside_items[0].reason or c.sync.status().set_aside_items[0].reason


def test_stale_forward_against_a_closed_case(make_desk, seeded):
    a, b = make_desk("A"), make_desk("B")
    cid = _forwarded_case(a)
    a.sync.sync_once()
    b.sync.sync_once()
    b.cases.reply(b.worker("mz"), cid, "approved", "同意")
    b.sync.sync_once()
    a.sync.sync_once()
    a.cases.forward(a.worker("desk"), cid, assignee_id=a.worker("mz").id, queue="民政", note="请再核实一次金额")
    b.cases.close(b.worker("desk"), cid, "phone")
    b.sync.sync_once()
    result = a.sync.sync_once()
    assert result.ok and result.set_aside == 1
    assert _server_case(seeded, cid).state == "closed"
    assert a.cases.get(cid).summary.state == "closed"  # the desk adopted the server's state
    assert any("请再核实一次金额" in e[3] for e in _history(a, cid))  # the text is kept as a note
    b.sync.sync_once()
    assert _history(a, cid) == _history(b, cid)


def test_concurrent_pushes_while_a_third_desk_pulls(make_desk, seeded):
    a, b, c = make_desk("A"), make_desk("B"), make_desk("C")
    made = {a.name: [a.new_case() for _ in range(15)], b.name: [b.new_case() for _ in range(15)]}
    a.sync.batch_size = b.sync.batch_size = 4  # many small commits interleaving
    c.sync.pull_limit = 3
    done = threading.Event()
    errors: list[str] = []

    def pusher(desk):
        for _ in range(20):
            r = desk.sync.sync_once()
            if not r.ok:
                errors.append(r.error)
            if r.pending == 0:
                return

    def puller():
        while not done.is_set():
            r = c.sync.sync_once()
            if not r.ok:
                errors.append(r.error)

    threads = [threading.Thread(target=pusher, args=(d,)) for d in (a, b)]
    reader = threading.Thread(target=puller)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert not errors
    with c.ctx.sessions() as s:
        cursor_seq = int(s.get(__import__("models").SyncState, 1).cursor.split("-")[0])
        have = set(s.scalars(select(Case.id)))
    # Everything committed up to C's cursor must already be on C: nothing skipped by the concurrent pulls.
    with seeded.sessions() as s:
        upto = {uuid.UUID(r.entity_id) for r in s.scalars(select(ChangeRow).where(ChangeRow.entity == "case",
                                                                                   ChangeRow.seq <= cursor_seq))}
    assert upto <= have
    assert c.sync.sync_once().ok
    with c.ctx.sessions() as s:
        assert set(s.scalars(select(Case.id))) == set(made["A"]) | set(made["B"])


def test_change_seqs_are_seen_in_commit_order_by_a_concurrent_reader(seeded, server_app):
    """Eight writers under the committee's stream lock, one reader: the reader never sees seq n+1 before seq n."""
    from app.core.wire import PullQuery
    from app.server import pull as pull_service
    from tests.sync_helpers import enroll_raw
    api = TestClient(server_app)
    _, headers = enroll_raw(api, seeded)
    token = headers["Authorization"][7:]
    stop = threading.Event()
    seen: list[int] = []
    problems: list[str] = []

    def writer(i):
        for j in range(6):
            admin.add_worker(seeded, COMMITTEE, f"w{i}x{j}", "并发", roles=["front_desk"], password_hash="x")

    def reader():
        cursor = "0"
        while not stop.is_set() or cursor.split(".")[0] != _last_cursor():  # the committee stream's position
            page = pull_service.pull(seeded, token, PullQuery(cursor=cursor, limit=5), __import__("models").utcnow())
            seqs = [ch.seq for ch in page.changes]
            if seen and seqs and seqs[0] != seen[-1] + 1:
                problems.append(f"after {seen[-1]} came {seqs[0]}")
            seen.extend(seqs)
            cursor = page.next_cursor

    def _last_cursor():
        with seeded.sessions() as s:
            row = s.scalars(select(ChangeRow).order_by(ChangeRow.seq.desc()).limit(1)).first()
            return f"{row.seq}-{row.tag}"

    writers = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    r = threading.Thread(target=reader)
    r.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    r.join(timeout=60)
    assert not problems
    assert seen == list(range(1, len(seen) + 1)) and len(seen) == 1 + 5 + 48


def _admin_engine():
    url = make_url(normalise_url(os.environ[PG_ENV]))
    return create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")


def _copy_database(engine, source: str, target: str) -> None:
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))


def test_server_restored_from_an_older_backup(make_desk, seeded, pg_url):
    name = make_url(pg_url).database
    admin_engine = _admin_engine()
    try:
        _restore_scenario(make_desk, seeded, pg_url, admin_engine, name)
    finally:
        with admin_engine.connect() as conn:
            for suffix in ("_bak", "_restored"):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}{suffix}" WITH (FORCE)'))
        admin_engine.dispose()


def _restore_scenario(make_desk, seeded, pg_url, admin_engine, name):
    a, b = make_desk("A"), make_desk("B")
    early = [_forwarded_case(a)]
    a.sync.sync_once()
    b.sync.sync_once()
    seeded.close()  # CREATE DATABASE ... TEMPLATE needs no open connections to the source
    _copy_database(admin_engine, name, f"{name}_bak")
    late = [_forwarded_case(a), _forwarded_case(a)]  # pushed after the backup, then lost
    a.sync.sync_once()
    b.sync.sync_once()
    b.cases.reply(b.worker("mz"), early[0], "approved", "同意")
    b.sync.sync_once()
    # The server dies; the administrator restores last night's backup.
    _copy_database(admin_engine, f"{name}_bak", f"{name}_restored")
    restored = open_server_db(make_url(pg_url).set(database=f"{name}_restored").render_as_string(hide_password=False))
    try:
        app = create_app(restored)
        for desk in (a, b):
            desk.transport.inner = TestClient(app)._transport
        offline = _forwarded_case(a)  # made while the server was down: unsent
        statuses: dict[str, list[tuple[str, int]]] = {"A": [], "B": []}
        for key, desk in (("A", a), ("B", b)):
            desk.transport.on_response = (lambda req, resp, k=key:
                                          statuses[k].append((req.url.path, resp.status_code)))
        snapshots = []
        for desk in (a, b, a, b):
            result = desk.sync.sync_once()
            assert result.ok, result.error
            snapshots.append(result.snapshot)
        assert result.pending == 0
        for key in ("A", "B"):  # each desk's cursor was unknown to the restored server: 410, then a snapshot
            assert ("/v1/pull", 410) in statuses[key], statuses[key]
        assert snapshots[:2] == [True, True] and snapshots[2:] == [False, False]
        with restored.sessions() as s:
            states = {cid: s.get(Case, cid).state for cid in early + late + [offline]}
        assert states == {early[0]: "replied", late[0]: "forwarded", late[1]: "forwarded", offline: "forwarded"}
        for desk in (a, b):
            with desk.ctx.sessions() as s:
                assert set(s.scalars(select(Case.id))) == set(states)
        assert _history(a, early[0]) == _history(b, early[0])
    finally:
        restored.close()


def test_token_revoked_mid_batch_keeps_the_unsent_data(make_desk, seeded, api):
    a = make_desk("A")
    cases = [a.new_case() for _ in range(60)]  # 120 commands
    a.sync.batch_size = 50
    with a.ctx.sessions() as s:
        from models import Device
        device_id = s.scalars(select(Device)).one().server_device_id

    def revoke_after_first_push(request, response):
        if request.url.path == "/v1/push":
            a.transport.on_response = None
            admin.revoke_device(seeded, device_id)
    a.transport.on_response = revoke_after_first_push
    result = a.sync.sync_once()
    assert not result.ok and result.online and "停用" in result.error
    assert result.pushed == 50 and result.pending == 70
    assert _outbox(a) == {"applied": 50, "pending": 70}
    assert a.sync.sync_once().pending == 70  # still refused, still kept
    code, _ = admin.create_enroll_code(seeded, COMMITTEE)
    enroll_desk(a.ctx, "http://testserver", code, http=a.sync._http, allow_insecure_http=True)
    result = a.sync.sync_once()
    assert result.ok and result.pending == 0, result.error
    with seeded.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 60
        assert {s.get(Case, cid).state for cid in cases} == {"accepted"}
    assert json.loads(json.dumps(_outbox(a))) == {"applied": 120}


def test_desk_restored_from_an_older_backup_renumbers_its_new_commands(make_desk, seeded):
    from app.desk.backup import backup, restore
    a = make_desk("A")
    _forwarded_case(a)
    a.sync.sync_once()
    saved = backup(a.ctx.data_dir, a.ctx.data_dir.parent / "a-backup.sqlite3")
    lost_locally = _forwarded_case(a)  # mids 4-6: reach the server, then the desk's disk dies
    a.sync.sync_once()
    a.ctx.close()
    restore(a.ctx.data_dir, saved)
    a.ctx = type(a.ctx).open(a.ctx.data_dir)
    a.sync.ctx = a.cases.ctx = a.ctx
    assert a.sync.sync_once().ok  # the restore procedure: sync before serving the next resident
    fresh = a.new_case()  # reuses mids 4-5 locally: the server holds other commands under those numbers
    assert a.cases.get(fresh).summary.case_number != a.cases.get(lost_locally).summary.case_number
    result = a.sync.sync_once()
    assert result.ok and result.pending == 0 and result.set_aside == 0, result.error
    with seeded.sessions() as s:
        assert s.get(Case, fresh).state == "accepted" and s.get(Case, lost_locally).state == "forwarded"
        assert s.scalars(select(ServerDevice)).one().last_mid == 8
    with a.ctx.sessions() as s:
        assert s.get(Case, lost_locally) is not None  # pulled back from the server
