"""The change log as streams (issue 18): one per committee plus the district's reference stream.

Many committees push at once while a reader per committee pulls: nothing is skipped, nothing of another
committee is seen, each stream reads in seq order; a committee's push does not wait for another committee's;
cursors of the single district log (before issue 18) still read; a cursor naming another stream's row is unknown.
Runs against PostgreSQL (tests/server_fixtures.py)."""

from __future__ import annotations

import threading
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.wire import PullQuery
from app.server import admin
from app.server import pull as pull_service
from app.server.changes import ChangeWriter, scope_of
from app.server.db import holds_lock, take_lock
from models import utcnow
from models.server import GLOBAL_SCOPE, ChangeRow, Committee
from tests.sync_helpers import COMMITTEE, enroll_raw, mutation

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server

COMMITTEES = [COMMITTEE] + [f"32030200{i}" for i in range(2, 7)]


def _create_args(code: str) -> dict:
    case_id = uuid.uuid4()
    return {"id": str(case_id), "case_number": f"{code}-D09-20261203-{case_id.hex[:6]}",
            "item_code": "MZ-01", "item_name": "高龄老人尊老金申领", "catalog_version": "t", "department": "民政",
            "mode": "转办", "state": "draft", "applicant_id": None, "agent": None, "data": {}, "materials": {},
            "created_by_id": None, "origin_device_code": "D09", "verification_code": "ABCD1234",
            "created_at": "2026-12-03T01:00:00+00:00"}


def _committees(db, password_hashes) -> dict[str, uuid.UUID]:
    for code in COMMITTEES[1:]:
        admin.add_committee(db, code, f"测试{code[-1]}居委会")
        admin.add_worker(db, code, "desk", "前台", roles=["front_desk"], password_hash=password_hashes["desk"])
    with db.sessions() as s:
        return {c.code: c.id for c in s.scalars(select(Committee))}


def _token(headers: dict) -> str:
    return headers["Authorization"][len("Bearer "):]


def _desk_worker(db, committee_id: uuid.UUID) -> str:
    from models import Worker
    with db.sessions() as s:
        return str(s.scalars(select(Worker.id).where(Worker.committee_id == committee_id,
                                                     Worker.login == "desk")).one())


def test_many_committees_push_at_once_and_no_reader_skips_a_change(seeded, server_app, password_hashes):
    ids = _committees(seeded, password_hashes)
    api = TestClient(server_app)
    pushers = []
    for code in COMMITTEES:
        worker = _desk_worker(seeded, ids[code])
        for _ in range(2):  # two desks per committee, as in the district
            device_id, headers = enroll_raw(api, seeded, code)
            pushers.append((code, device_id, headers, worker))
    readers = {code: _token(enroll_raw(api, seeded, code)[1]) for code in COMMITTEES}
    made: dict[str, set[str]] = {code: set() for code in COMMITTEES}
    reference: list[str] = []
    errors: list[str] = []
    stop = threading.Event()

    def push(code, device_id, headers, worker):
        client = TestClient(server_app)
        mid = 0
        for _ in range(5):  # five batches of three: many small commits interleaving across committees
            batch = []
            for _ in range(3):
                mid += 1
                args = _create_args(code)
                batch.append(mutation(mid, "case.create.v1", args, worker))
                made[code].add(args["id"])
            resp = client.post("/v1/push", json={"device_id": device_id, "mutations": batch}, headers=headers)
            if resp.status_code != 200 or any(r["status"] != "applied" for r in resp.json()["results"]):
                errors.append(f"{code}: {resp.status_code} {resp.text[:200]}")

    def publish_reference():  # the district's reference stream is written meanwhile
        for i in range(10):
            with seeded.sessions.begin() as s:
                row = ChangeWriter(s, utcnow()).emit(GLOBAL_SCOPE, "note", f"ref-{i}", {"i": i})
                reference.append(row.entity_id)

    seen: dict[str, list[ChangeRow]] = {code: [] for code in COMMITTEES}
    cursors = dict.fromkeys(COMMITTEES, "0")

    def read(code):
        while True:
            final = stop.is_set()
            page = pull_service.pull(seeded, readers[code], PullQuery(cursor=cursors[code], limit=4), utcnow())
            seen[code].extend(page.changes)  # type: ignore[arg-type]
            cursors[code] = page.next_cursor
            if final and not page.has_more:
                return

    threads = [threading.Thread(target=push, args=p) for p in pushers] + [threading.Thread(target=publish_reference)]
    reader_threads = [threading.Thread(target=read, args=(code,)) for code in COMMITTEES]
    for t in reader_threads + threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in reader_threads:
        t.join(timeout=120)
    assert not errors
    assert not any(t.is_alive() for t in reader_threads)
    for code in COMMITTEES:
        changes = seen[code]
        for stream in ([c.seq for c in changes if c.entity != "note"], [c.seq for c in changes if c.entity == "note"]):
            # each stream in seq order, none twice (across the two streams seq order need not be commit order)
            assert stream == sorted(stream) and len(set(stream)) == len(stream), code
        cases = {c.id for c in changes if c.entity == "case"}
        assert cases == made[code], code  # every case of its committee, none of another
        assert [c.id for c in changes if c.entity == "note"] == reference  # the whole reference stream, in order
        assert {c.id for c in changes if c.entity == "worker"} >= {_desk_worker(seeded, ids[code])}
        assert cursors[code].count(".") == 1  # a position in each stream
    with seeded.sessions() as s:  # each committee's changes are in its own stream
        scopes = set(s.scalars(select(ChangeRow.scope).where(ChangeRow.entity == "case")))
        assert scopes == {scope_of(ids[code]) for code in COMMITTEES}


def test_a_committee_push_does_not_wait_for_another_committee(seeded, server_app, password_hashes):
    ids = _committees(seeded, password_hashes)
    api = TestClient(server_app)
    other, busy = COMMITTEES[1], COMMITTEES[2]
    devices = {code: enroll_raw(api, seeded, code) for code in (other, busy)}
    results: dict[str, int] = {}
    finished = {code: threading.Event() for code in (other, busy)}

    def push(code):
        device_id, headers = devices[code]
        batch = [mutation(1, "case.create.v1", _create_args(code), _desk_worker(seeded, ids[code]))]
        resp = TestClient(server_app).post("/v1/push", json={"device_id": device_id, "mutations": batch},
                                           headers=headers)
        results[code] = resp.status_code
        finished[code].set()

    holder = seeded.sessions()
    holder.begin()
    take_lock(holder, scope_of(ids[busy]))  # a long batch of the busy committee in progress
    try:
        threads = {code: threading.Thread(target=push, args=(code,)) for code in (busy, other)}
        threads[busy].start()
        threads[other].start()
        assert finished[other].wait(timeout=30)  # served while the busy committee's stream is held
        assert results[other] == 200
        assert not finished[busy].is_set()  # the busy committee's second desk waits for the first
    finally:
        holder.rollback()
        holder.close()
    assert finished[busy].wait(timeout=30)
    assert results[busy] == 200
    for t in threads.values():
        t.join()


def test_cursor_of_the_single_district_log_still_reads(seeded, server_app):
    api = TestClient(server_app)
    _, headers = enroll_raw(api, seeded)
    token = _token(headers)
    with seeded.sessions.begin() as s:
        ChangeWriter(s, utcnow()).emit(GLOBAL_SCOPE, "note", "before", {})
    first = pull_service.pull(seeded, token, PullQuery(cursor="0", limit=100), utcnow())
    rows = first.changes
    assert [c.id for c in rows if c.entity == "note"] == ["before"]
    middle = rows[len(rows) // 2]
    with seeded.sessions() as s:
        tag = s.get_one(ChangeRow, middle.seq).tag
    with seeded.sessions.begin() as s:
        ChangeWriter(s, utcnow()).emit(GLOBAL_SCOPE, "note", "after", {})
    old_style = f"{middle.seq}-{tag}"  # what a desk kept from a server before issue 18
    page = pull_service.pull(seeded, token, PullQuery(cursor=old_style, limit=100), utcnow())
    assert [c.seq for c in page.changes] == [c.seq for c in rows if c.seq > middle.seq] + [page.changes[-1].seq]
    assert page.changes[-1].id == "after"
    again = pull_service.pull(seeded, token, PullQuery(cursor=page.next_cursor, limit=100), utcnow())
    assert again.changes == [] and again.next_cursor == page.next_cursor


def test_a_cursor_naming_another_stream_or_tag_is_unknown(seeded, server_app, password_hashes):
    ids = _committees(seeded, password_hashes)
    api = TestClient(server_app)
    token = _token(enroll_raw(api, seeded)[1])
    with seeded.sessions() as s:
        foreign = s.scalars(select(ChangeRow).where(ChangeRow.scope == scope_of(ids[COMMITTEES[1]]))
                            .limit(1)).first()
        own = s.scalars(select(ChangeRow).where(ChangeRow.scope == scope_of(ids[COMMITTEE])).limit(1)).first()
    page = pull_service.pull(seeded, token, PullQuery(cursor=f"{own.seq}-{own.tag}.0", limit=5), utcnow())
    assert page.changes  # a committee position is read
    for bad in (f"{foreign.seq}-{foreign.tag}.0",  # another committee's row in the committee position
                f"{own.seq}-ffffffff.0",  # a tag this server never gave that row (restored from a backup)
                f"0.{own.seq}-{own.tag}",  # a committee row in the reference position
                f"{own.seq}-{own.tag}.0.0", "1-a-b.x"):
        with pytest.raises(pull_service.UnknownCursor):
            pull_service.pull(seeded, token, PullQuery(cursor=bad, limit=5), utcnow())


def test_upgrading_a_district_log_starts_the_streams_where_it_ended(pg_url):
    """s0010 on a server that ran before issue 18: each stream's newest seq on its row, the sequence after all."""
    import os
    import secrets

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.server.db import make_engines, normalise_url, open_server_db, upgrade
    from tests.server_fixtures import PG_ENV

    admin_engine = create_engine(normalise_url(os.environ[PG_ENV]), isolation_level="AUTOCOMMIT")
    name = f"onedesk_streams_{secrets.token_hex(4)}"
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    engine, _ = make_engines(url)
    try:
        upgrade(engine, "s0009")
        committee = str(uuid.uuid4())
        with engine.begin() as conn:
            for seq, scope in ((1, committee), (2, "*"), (3, committee), (4, committee), (5, "*")):
                conn.execute(text("INSERT INTO server_change (seq, tag, scope, entity, entity_id, data, committed_at) "
                                  "VALUES (:seq, 'abcd', :scope, 'note', :seq, '{}', now())"),
                             {"seq": seq, "scope": scope})
            conn.execute(text("UPDATE server_sync_lock SET last_seq = 5 WHERE id = 1"))
        upgrade(engine)
        with engine.connect() as conn:
            streams = dict(conn.execute(text("SELECT scope, last_seq FROM server_change_stream")).all())
        assert streams == {committee: 4, "*": 5}
        db = open_server_db(url)
        try:
            with db.sessions.begin() as s:
                row = ChangeWriter(s, utcnow()).emit(committee, "note", "new", {})
            assert row.seq == 6  # after every seq the district log handed out: old cursors keep their meaning
            with db.sessions() as s:
                assert take_lock(s, committee).last_seq == 6
        finally:
            db.close()
    finally:
        engine.dispose()
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def test_a_stream_lock_is_taken_again_in_the_next_transaction_of_a_session(seeded):
    """What a transaction holds is forgotten when it ends: the next one of the same session locks again."""
    s = seeded.sessions()
    try:
        with s.begin():
            take_lock(s, GLOBAL_SCOPE)
            assert take_lock(s, GLOBAL_SCOPE) is take_lock(s, GLOBAL_SCOPE)  # held: not asked twice
            with s.begin_nested():
                pass  # a savepoint ending keeps the transaction's locks
            assert holds_lock(s, GLOBAL_SCOPE)
        assert not holds_lock(s, GLOBAL_SCOPE)
        with s.begin():
            assert not holds_lock(s, GLOBAL_SCOPE)
            take_lock(s, GLOBAL_SCOPE)
            assert holds_lock(s, GLOBAL_SCOPE)
    finally:
        s.close()
