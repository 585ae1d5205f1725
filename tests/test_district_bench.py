"""``bench district`` (issue 18): the generated district is what the server would hold — every row readable
through the ORM, each change row the payload the server makes of its row, a pull through the real function
returning the committee's changes in order — and the timings come back as figures.

A tiny district (3 committees × 200 cases) on the PostgreSQL server of ``ONEDESK_TEST_PG_URL``; the scratch
databases are created beside the test session's database and dropped.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.bench.district import district_from_db, run_district_queries, scratch_district
from app.bench.district_rows import NOW
from app.core.payloads import case_payload, resident_payload, worker_payload
from app.core.wire import PullQuery, SnapshotQuery
from app.server.changes import scope_of
from app.server.db import open_server_db
from app.server.pull import pull, snapshot_page, snapshot_start
from models.server import GLOBAL_SCOPE, Case, CaseEvent, ChangeRow, Committee, Resident, ServerDevice, Worker

pytest_plugins = ("tests.server_fixtures",)  # the PostgreSQL gate: skip, or fail under ONEDESK_REQUIRE_PG=1

pytestmark = pytest.mark.server
CASES, COMMITTEES = 600, 3


def _databases(url: str) -> set[str]:
    db = open_server_db(url, migrate=False)
    try:
        with db.engine.connect() as conn:
            return set(conn.execute(text("SELECT datname FROM pg_database")).scalars())
    finally:
        db.close()


def _indexes(url: str) -> set[tuple[str, str]]:
    db = open_server_db(url, migrate=False)
    try:
        with db.engine.connect() as conn:
            return {(r[0], r[1]) for r in conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"))}
    finally:
        db.close()


def _pull_all(db, token: str) -> list:
    changes, cursor, pages = [], "0", 0
    while True:
        page = pull(db, token, PullQuery(cursor=cursor, limit=97), NOW)
        changes += page.changes
        cursor, pages = page.next_cursor, pages + 1
        if not page.has_more:
            return changes
        assert pages < 100


def test_generated_district_is_what_the_server_holds(pg_url):
    with scratch_district(pg_url, CASES, COMMITTEES) as (url, district, made):
        assert made["rows"]["case"] == CASES
        assert _indexes(url) == _indexes(pg_url)  # the migration's indexes, dropped for the load and made again
        db = open_server_db(url, migrate=False)
        try:
            with db.sessions() as s:
                assert s.scalar(select(func.count()).select_from(Case)) == CASES
                assert s.scalar(select(func.count()).select_from(Committee)) == COMMITTEES
                assert s.scalar(select(func.count()).select_from(ServerDevice)) == COMMITTEES
                assert s.scalar(select(func.count()).select_from(CaseEvent)) == made["rows"]["case_event"]
                assert s.scalar(select(func.count()).select_from(Resident)) == made["rows"]["resident"]
                assert s.scalar(select(func.count()).select_from(ChangeRow)) == made["rows"]["server_change"]
                per_committee = dict(s.execute(select(Case.committee_id, func.count())
                                               .group_by(Case.committee_id)).tuples().all())
                assert sum(per_committee.values()) == CASES and len(per_committee) == COMMITTEES
                top = s.scalar(select(func.max(ChangeRow.seq)))
                assert top == district.last_seq
                if s.scalar(text("SELECT to_regclass('server_change_seq')")) is not None:
                    assert s.scalar(text("SELECT last_value FROM server_change_seq")) >= top
                if s.scalar(text("SELECT to_regclass('server_change_stream')")) is not None:
                    streams = dict(s.execute(text("SELECT scope, last_seq FROM server_change_stream")).tuples().all())
                    tops = dict(s.execute(select(ChangeRow.scope, func.max(ChangeRow.seq))
                                          .group_by(ChangeRow.scope)).tuples().all())
                    assert {k: streams[k] for k in tops} == tops

                # every state the lifecycles reach, dated over the two years
                states = set(s.scalars(select(Case.state).distinct()))
                assert {"resolved", "closed", "forwarded", "withdrawn", "refused"} <= states
                first, last = s.execute(select(func.min(Case.accepted_at), func.max(Case.accepted_at))).one()
                assert first.year == 2024 and last.year == 2025

                # a case through the ORM, with its events in order; its change row is its payload
                case = s.scalars(select(Case).where(Case.state == "closed").limit(1)).one()
                assert [e.seq for e in case.events] == list(range(1, len(case.events) + 1))
                assert [e.action for e in case.events][:3] == ["create_draft", "accept", "forward"]
                assert case.events[1].detail["data"] == case.data and case.materials
                row = s.scalars(select(ChangeRow).where(ChangeRow.entity == "case",
                                                        ChangeRow.entity_id == str(case.id))).one()
                assert row.scope == scope_of(case.committee_id) and row.data == case_payload(case)
                resident = s.get_one(Resident, case.applicant_id)
                r_row = s.scalars(select(ChangeRow).where(ChangeRow.entity_id == str(resident.id))).one()
                assert r_row.data == resident_payload(resident)
                worker = s.get_one(Worker, case.created_by_id)
                w_row = s.scalars(select(ChangeRow).where(ChangeRow.entity_id == str(worker.id))).one()
                assert w_row.data == worker_payload(worker)

            # a desk of one committee pulls its committee's changes and the district's, in commit order
            com = district.committees[1]
            token = district.tokens[com.id]
            changes = _pull_all(db, token)
            seqs = [c.seq for c in changes]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
            with db.sessions() as s:
                expected = list(s.scalars(select(ChangeRow.seq).where(
                    ChangeRow.scope.in_((com.id, GLOBAL_SCOPE))).order_by(ChangeRow.seq)))
                assert seqs == expected
                by_seq = {c.seq: c for c in changes}
                some = s.scalars(select(Case).where(Case.committee_id == uuid.UUID(com.id)).limit(5)).all()
                for c in some:
                    seq = s.scalar(select(ChangeRow.seq).where(ChangeRow.entity_id == str(c.id)))
                    assert by_seq[seq].data == case_payload(c)
            assert {c.entity for c in changes} >= {"committee", "worker", "resident", "case", "calendar", "catalog"}

            # measured again later (bench district --reuse): the committees and a fresh token each, read back
            again = district_from_db(url)
            assert [c.id for c in again.committees] == sorted((c.id for c in district.committees),
                                                              key=lambda i: next(c.code for c in district.committees
                                                                                 if c.id == i))
            assert sum(c.cases for c in again.committees) == CASES and again.last_seq == district.last_seq
            token = again.tokens[com.id]  # the first run's token was replaced
            assert [c.seq for c in _pull_all(db, token)] == seqs

            start = snapshot_start(db, token, NOW)
            assert pull(db, token, PullQuery(cursor=start.cursor), NOW).changes == []
            page = snapshot_page(db, token, SnapshotQuery(kind="case", limit=50), NOW)
            assert len(page.rows) == 50 and page.has_more
            assert all(r["committee_id"] == com.id and r["events"] for r in page.rows)
        finally:
            db.close()
    assert make_url(url).database not in _databases(pg_url)  # dropped


def test_run_district_queries_gives_the_figures(pg_url):
    result = run_district_queries(pg_url, cases=CASES, committees=COMMITTEES, sample=2, repeat=1)
    assert result["database"].startswith("onedesk_district_") and result["database"] not in _databases(pg_url)
    assert {"cases", "committees", "generate_s", "copy_s", "indexes_s", "vacuum_s", "analyze_s", "rows", "queries",
            "plans", "size", "sample", "repeat"} <= result.keys()
    assert result["rows"]["case"] == CASES and result["size"]["database_mb"] > 0
    wanted = {"pull_middle", "pull_middle_500", "pull_middle_wire", "pull_end", "snapshot_start", "snapshot_page_case",
              "snapshot_page_case_default",
              "district_report_month", "committee_report_month", "floor_pull_db", "floor_pull_json"}
    assert wanted <= result["queries"].keys()
    for name, q in result["queries"].items():
        assert {"label", "median_ms", "p95_ms", "max_ms", "runs"} <= q.keys(), name
        assert 0 < q["median_ms"] <= q["p95_ms"] <= q["max_ms"]
    assert result["queries"]["pull_middle"]["changes"] > 0
    assert result["queries"]["district_report_month"]["cases"] > 0
    pull_plans = result["plans"]["pull_middle"]
    assert any("server_change" in p["sql"] and p["plan"] for p in pull_plans)
