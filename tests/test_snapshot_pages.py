"""Fast first download (issue 18): large snapshot pages read with core SELECTs and sent as pre-encoded JSON, the
desk writing each page in one transaction with multi-row statements, the next page fetched meanwhile.

What must not change: the rows are the payloads app/core/payloads.py writes, the body is a SnapshotPage; a page
stops at its byte bound; an interrupted download leaves whole pages only and the next one completes it without
duplicates; a bad row in a big page is set aside alone with a Chinese reason; a payload without a newer column
still applies; an older server's page limit is respected."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload

from app.bench.download import fresh_download
from app.core import wire
from app.core.payloads import attachment_payload, case_payload, resident_payload, worker_payload
from app.desk.sync import bulk
from app.desk.sync import snapshot as desk_snapshot
from app.desk.sync.apply import DeskApplier
from app.desk.sync.bad_rows import set_aside_rows
from app.desk.sync.client import SyncError
from app.server import pull
from app.server import snapshot as server_snapshot
from models import Attachment, Case, CaseEvent, Resident, Worker, utcnow
from models.server import Committee
from tests.sync_helpers import COMMITTEE, WORKERS, enroll_raw, start_server, stop_server, wait_ready

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server

PAGE = 400  # the desk's page in these tests: a few pages without thousands of rows per test


def _ids(db) -> tuple[uuid.UUID, uuid.UUID]:
    with db.sessions() as s:
        committee = s.scalars(select(Committee.id).where(Committee.code == COMMITTEE)).one()
        worker = s.scalars(select(Worker.id).where(Worker.login == "desk")).one()
    return committee, worker


def _server_cases(db, n: int, *, start: int = 0, rich: bool = False) -> list[uuid.UUID]:
    """``n`` accepted cases with two events each, written straight into the server's tables."""
    committee, worker = _ids(db)
    at = utcnow()
    cases, events = [], []
    for i in range(start, start + n):
        cid = uuid.uuid4()
        cases.append({"id": cid, "committee_id": committee, "case_number": f"{COMMITTEE}-D01-20260101-{i:05d}",
                      "item_code": "MZ-01", "item_name": "高龄老人尊老金申领", "catalog_version": "test-1",
                      "department": "民政", "state": "accepted", "created_by_id": worker, "accepted_at": at,
                      "created_at": at, "updated_at": at, "version": 2, "data": {"x": i, "名字": "王"},
                      "materials": {"身份证": True},
                      **({"agent": {"name": "张三"}, "makeup_due": dt.date(2026, 3, 1), "rule_warnings": ["提醒"],
                          "due_at": at.replace(microsecond=0), "deadline_provisional": True} if rich else {})})
        for seq, (action, before, after) in enumerate((("create_draft", None, "draft"),
                                                       ("accept", "draft", "accepted")), start=1):
            events.append({"id": uuid.uuid4(), "case_id": cid, "seq": seq, "at": at, "worker_id": worker,
                           "action": action, "from_state": before, "to_state": after, "note": "",
                           "detail": {"device": "D01"}})
    with db.sessions.begin() as s:
        s.execute(insert(Case.__table__), cases)
        s.execute(insert(CaseEvent.__table__), events)
    return [c["id"] for c in cases]


def _desk_counts(desk) -> tuple[int, int]:
    with desk.ctx.sessions() as s:
        return (s.scalar(select(func.count()).select_from(Case)) or 0,
                s.scalar(select(func.count()).select_from(CaseEvent)) or 0)


# ----- the server's pages ---------------------------------------------------------------------------------------
def test_snapshot_rows_are_the_payloads_and_the_body_a_snapshot_page(api, seeded):
    _server_cases(seeded, 3, rich=True)
    _server_cases(seeded, 2, start=10)
    committee, worker = _ids(seeded)
    with seeded.sessions.begin() as s:
        s.add(Resident(committee_id=committee, name="王五", id_number="110101194001011234", sex="男",
                       birth_date=dt.date(1940, 1, 1), residence_permit_expiry=None))
        case = s.scalars(select(Case)).first()
        s.add(Attachment(committee_id=committee, case_id=case.id, material="身份证", sha256="a" * 64, size=10,
                         mime="image/jpeg", filename="id.jpg", pages=1, source="scan", added_by_id=worker,
                         added_at=utcnow()))
    _, headers = enroll_raw(api, seeded)
    for kind, model, dump in (("case", Case, case_payload), ("worker", Worker, worker_payload),
                              ("resident", Resident, resident_payload),
                              ("attachment", Attachment, attachment_payload)):
        resp = api.get(wire.Endpoint.SNAPSHOT, params={"kind": kind, "limit": 100}, headers=headers)
        assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
        page = wire.SnapshotPage.model_validate_json(resp.content)
        assert set(resp.json()) == set(wire.SnapshotPage.model_fields) and page.kind == kind
        with seeded.sessions() as s:
            stmt = select(model).where(model.committee_id == committee).order_by(model.id)
            if model is Case:
                stmt = stmt.options(selectinload(Case.events))
            expected = [dump(o) for o in s.scalars(stmt)]
        assert page.rows == expected and expected and not page.has_more and page.next_after == ""


def test_a_page_ends_at_its_row_limit_or_its_byte_bound(api, seeded, monkeypatch):
    ids = sorted(str(i) for i in _server_cases(seeded, 30))
    _, headers = enroll_raw(api, seeded)
    page = api.get(wire.Endpoint.SNAPSHOT, params={"kind": "case", "limit": 7}, headers=headers).json()
    assert [r["id"] for r in page["rows"]] == ids[:7] and page["has_more"] and page["next_after"] == ids[6]
    one = len(server_snapshot.encode(page["rows"][0]).json)
    monkeypatch.setattr(server_snapshot, "MAX_SNAPSHOT_BYTES", int(one * 4.5))
    monkeypatch.setattr(server_snapshot, "CHUNK_ROWS", 3)  # several reads per page
    seen, after = [], ""
    while True:
        page = api.get(wire.Endpoint.SNAPSHOT, params={"kind": "case", "after": after, "limit": 100},
                       headers=headers).json()
        assert 1 <= len(page["rows"]) <= 4
        seen += [r["id"] for r in page["rows"]]
        if not page["has_more"]:
            break
        after = page["next_after"]
    assert seen == ids
    monkeypatch.setattr(server_snapshot, "MAX_SNAPSHOT_BYTES", 10)  # smaller than any row: one row per page
    page = api.get(wire.Endpoint.SNAPSHOT, params={"kind": "case", "limit": 100}, headers=headers).json()
    assert len(page["rows"]) == 1 and page["has_more"]
    refused = api.get(wire.Endpoint.SNAPSHOT, params={"kind": "case", "limit": wire.MAX_SNAPSHOT_PAGE + 1},
                      headers=headers)
    assert refused.status_code == 422


def test_the_python_api_gives_the_same_rows(api, seeded):
    _server_cases(seeded, 5)
    _, headers = enroll_raw(api, seeded)
    token = headers["Authorization"].split()[1]
    query = wire.SnapshotQuery(kind="case", limit=3)
    page = pull.snapshot_page(seeded, token, query, utcnow())
    body = wire.SnapshotPage.model_validate_json(pull.snapshot_page_json(seeded, token, query, utcnow()))
    assert page.rows == body.rows and page.has_more and page.next_after == body.next_after == page.rows[-1]["id"]


# ----- the desk's download ---------------------------------------------------------------------------------------
def test_many_rows_arrive_complete_page_by_page_and_an_interrupted_download_resumes(
        make_desk, seeded, monkeypatch):
    monkeypatch.setattr(desk_snapshot, "PAGE_ROWS", PAGE)
    _server_cases(seeded, 2 * PAGE + PAGE // 2)  # three case pages, the last a half one
    desk = make_desk("A", sync=False)
    pages: list[int] = []
    real_cases = DeskApplier.cases

    def failing_third_page(self, rows):
        pages.append(len(rows))
        real_cases(self, rows)  # the cases are written ...
        if len(pages) == 3:  # ... then the desk's disk fails before the events: the whole page must go
            raise OperationalError("INSERT INTO case_event", {}, Exception("disk I/O error"))

    monkeypatch.setattr(DeskApplier, "cases", failing_third_page)
    result = desk.sync.sync_once()
    assert not result.ok and "本机同步出错" in result.error
    assert pages == [PAGE, PAGE, PAGE // 2]
    assert _desk_counts(desk) == (2 * PAGE, 4 * PAGE)  # two whole pages, nothing of the third
    monkeypatch.setattr(DeskApplier, "cases", real_cases)
    result = desk.sync.sync_once()  # the next round takes the snapshot again: the same rows, written over
    assert result.ok and result.snapshot
    n = 2 * PAGE + PAGE // 2
    assert _desk_counts(desk) == (n, 2 * n)
    with desk.ctx.sessions() as s:
        assert s.scalar(select(func.count(func.distinct(Case.case_number)))) == n
        with seeded.sessions() as server:
            assert set(s.scalars(select(Case.id))) == set(server.scalars(select(Case.id)))
    assert set_aside_rows(desk.ctx.data_dir) == []


def test_each_page_is_one_transaction_and_the_next_is_fetched_meanwhile(make_desk, seeded, monkeypatch):
    monkeypatch.setattr(desk_snapshot, "PAGE_ROWS", PAGE)
    _server_cases(seeded, 3 * PAGE)
    desk = make_desk("A", sync=False)
    asked: dict[str, threading.Event] = {}  # the case pages the desk asked for, by where they start
    real_handle = desk.transport.handle_request

    def handle(request):
        if request.url.path == wire.Endpoint.SNAPSHOT and request.url.params.get("kind") == "case":
            asked.setdefault(request.url.params.get("after", ""), threading.Event()).set()
        return real_handle(request)

    monkeypatch.setattr(desk.transport, "handle_request", handle)
    begins: list[int] = []
    real_apply = DeskApplier.apply_kind
    overlapped: list[bool] = []

    def apply_kind(self, kind, rows, seqs=None):
        if kind == "case":
            # The next page is asked for while this one is written (the last page has no next one).
            following = rows[-1]["id"] if len(overlapped) < 2 else None
            overlapped.append(following is None or asked.setdefault(following, threading.Event()).wait(10))
            begins.append(len(transactions))
        return real_apply(self, kind, rows, seqs)

    monkeypatch.setattr(DeskApplier, "apply_kind", apply_kind)
    transactions: list[int] = []
    listener = lambda conn: transactions.append(1)  # noqa: E731
    event.listen(desk.ctx.engine, "begin", listener)
    try:
        assert desk.sync.sync_once().ok
    finally:
        event.remove(desk.ctx.engine, "begin", listener)
    assert _desk_counts(desk) == (3 * PAGE, 6 * PAGE)
    assert overlapped == [True, True, True]
    assert begins[1] - begins[0] == begins[2] - begins[1] == 1  # one transaction per page, nothing between


def test_a_bad_row_in_a_big_page_is_set_aside_and_the_rest_lands(make_desk, seeded, monkeypatch):
    monkeypatch.setattr(desk_snapshot, "PAGE_ROWS", PAGE)
    ids = sorted(str(i) for i in _server_cases(seeded, PAGE))
    bad_date, bad_events = ids[PAGE // 3], ids[PAGE // 2]
    desk = make_desk("A", sync=False)

    def corrupt(body):
        for row in body.get("rows", []) if body.get("kind") == "case" else []:
            if row["id"] == bad_date:
                row["created_at"] = "上周三"  # passes the shape check, fails while written
            if row["id"] == bad_events:
                row["events"] = "两条"
        return body

    desk.transport.plan = [corrupt] * 20
    statements: list[str] = []
    listener = lambda conn, cursor, sql, *rest: statements.append(sql)  # noqa: E731
    event.listen(desk.ctx.engine, "before_cursor_execute", listener)
    try:
        result = desk.sync.sync_once()
    finally:
        event.remove(desk.ctx.engine, "before_cursor_execute", listener)
    assert result.ok, result.error
    assert _desk_counts(desk) == (PAGE - 2, 2 * (PAGE - 2))
    listed = {r.id: r for r in set_aside_rows(desk.ctx.data_dir)}
    assert set(listed) == {bad_date, bad_events}
    assert listed[bad_date].reason == "内容无法写入本机（ValueError）" and listed[bad_date].entity_label == "案件"
    assert listed[bad_events].reason == "办理记录格式不正确"
    # Narrowed down by halving: a few dozen case inserts, not one per row.
    assert 2 < sum(s.startswith('INSERT INTO "case"') for s in statements) < 40


def test_a_payload_without_a_newer_column_still_applies(make_desk, seeded):
    _server_cases(seeded, 1, rich=True)
    desk = make_desk("A")
    with desk.ctx.sessions() as s:
        case = s.scalars(select(Case)).one()
        row = case_payload(case)
    older = {k: v for k, v in row.items() if k not in ("rating_channel", "rating_reasons", "remind_count")}
    new_id = str(uuid.uuid4())
    with desk.ctx.sessions.begin() as s:
        applier = DeskApplier(s, desk.ctx.data_dir, pending=set())
        s.execute(Case.__table__.update().values(rating_channel="qr", remind_count=2))
        applier.apply_kind("case", [{**older, "state": "closed"},
                                    {**older, "id": new_id, "case_number": "X-NEW-1", "events": []}])
        assert applier.applied == 2
    with desk.ctx.sessions() as s:
        kept = s.get(Case, case.id)
        assert (kept.state, kept.rating_channel, kept.remind_count) == ("closed", "qr", 2)  # left as they were
        fresh = s.get(Case, uuid.UUID(new_id))
        assert (fresh.rating_channel, fresh.rating_reasons, fresh.remind_count) == ("", [], 0)  # the defaults
        assert fresh.agent == {"name": "张三"} and fresh.makeup_due == dt.date(2026, 3, 1)
        assert fresh.due_at == case.due_at and fresh.deadline_provisional is True


def test_the_bulk_writer_stores_what_sqlalchemy_would(make_desk, seeded):
    _server_cases(seeded, 1, rich=True)
    desk = make_desk("A")
    with desk.ctx.sessions() as s:
        row = case_payload(s.scalars(select(Case)).one())
        dialect = s.get_bind().dialect
    writer = bulk.TableWriter(Case.__table__, dialect)
    for column in Case.__table__.columns:
        bind = column.type.dialect_impl(dialect).bind_processor(dialect)
        value = row[column.key]
        read = bulk._reader(column)
        expected = value if read is None else read(value)
        expected = expected if bind is None else bind(expected)
        convert = writer._convert[column.key]
        assert (value if convert is None else convert(value)) == expected, column.key


def test_an_older_server_is_asked_for_pages_it_serves():
    asked: list[int] = []

    def fetch(query):
        asked.append(query.limit)
        if query.limit > wire.LEGACY_MAX_SNAPSHOT_PAGE:
            raise SyncError("请求参数不符合要求", online=True, status=422)
        more = len(asked) < 4  # the refused first ask, then three pages
        return wire.SnapshotPage(kind=query.kind, rows=[{"id": str(uuid.uuid4())}], has_more=more,
                                 next_after="x" if more else "", server_time=utcnow())

    applied: list[tuple[str, int]] = []
    pages = desk_snapshot.download(fetch, ["case"], lambda kind, rows: applied.append((kind, len(rows))))
    assert pages == 3 and applied == [("case", 1)] * 3
    assert asked == [wire.MAX_SNAPSHOT_PAGE, wire.LEGACY_MAX_SNAPSHOT_PAGE, wire.LEGACY_MAX_SNAPSHOT_PAGE,
                     wire.LEGACY_MAX_SNAPSHOT_PAGE]


def test_a_failed_page_fetch_stops_the_download_after_the_pages_before_it():
    def fetch(query):
        if query.after == "2":
            raise SyncError("连接区服务器超时，稍后自动重试", online=False)
        after = str(int(query.after or 0) + 1)
        return wire.SnapshotPage(kind=query.kind, rows=[{"id": after}], has_more=True, next_after=after,
                                 server_time=utcnow())

    applied: list[str] = []
    with pytest.raises(SyncError, match="超时"):
        desk_snapshot.download(fetch, ["case", "attachment"], lambda kind, rows: applied.append(rows[0]["id"]))
    assert applied == ["1", "2"]


@pytest.mark.slow
def test_fresh_download_times_new_desks_against_a_server_process(seeded, pg_url, tmp_path, template_db):
    _server_cases(seeded, 30)
    proc, port = start_server(tmp_path, pg_url)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        # As app/bench/sync.py calls it: keywords by name, a BenchServer-like object with its url.
        out = fresh_download(server=SimpleNamespace(url=url), db=seeded, workdir=tmp_path / "bench",
                             template=template_db, committee_code=COMMITTEE, runs=2)
    finally:
        stop_server(proc)
    assert (out["cases"], out["events"], len(out["runs"])) == (30, 60, 2)
    assert out["rows"] >= 30 + len(WORKERS) + 1 and out["seconds"] > 0 and out["server_cpu_s"] is None
    assert out["target_s"] == 3.0 and isinstance(out["met"], bool)
    assert not list((tmp_path / "bench").glob("fresh-*/"))  # the desks' folders are gone


def test_postgresql_writes_the_rows_the_python_path_writes(api, seeded):
    """On PostgreSQL a page's JSON is written by the database (row_to_json); it must parse to exactly the
    payloads the Python path makes: instants with and without microseconds, days, UUIDs, nulls, JSON columns
    with Chinese text, the events in seq order."""
    if seeded.engine.dialect.name != "postgresql":
        pytest.fail("this test needs the server on PostgreSQL (ONEDESK_TEST_PG_URL)")
    _server_cases(seeded, 4, rich=True)
    _server_cases(seeded, 3, start=10)
    committee, _ = _ids(seeded)
    with seeded.sessions() as s:
        for kind, dumper in server_snapshot.DUMPERS.items():
            by_pg = server_snapshot._chunk_pg(s, dumper, committee, None, 100)
            by_py = server_snapshot._chunk_py(s, dumper, committee, None, 100)
            assert [r.data for r in by_pg] == [r.data for r in by_py], kind
            assert [r.id for r in by_pg] == [r.id for r in by_py]
            if kind == "case":
                assert len(by_pg) == 7 and all(len(r.data["events"]) == 2 for r in by_pg)
                assert {r.data["makeup_due"] for r in by_pg} == {"2026-03-01", None}
                middle = by_py[3].id
                after = server_snapshot._chunk_pg(s, dumper, committee, uuid.UUID(middle), 100)
                assert [r.id for r in after] == [r.id for r in by_py[4:]]
