"""``bench sync`` (issue 18): the simulated desks really enrol and sync against a real server process (SQLite, and
PostgreSQL when ONEDESK_TEST_PG_URL is set), the exactly-once check counts what the server holds, and ``--json``
writes the documented keys. Figures are printed, never asserted: the rounds must complete without errors."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from sqlalchemy import delete, select

from app.bench import sync as bench
from app.bench.desks import DistrictShape, DistrictSimulator, verify_applied
from app.cli.main import main
from app.server.db import open_server_db
from models import Case, CaseEvent

PG_ENV = "ONEDESK_TEST_PG_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set"))]
TINY = DistrictShape(desks=4, cases_per_round=5, steady_rounds=2, steady_s=0.6, prefix="T")


@pytest.fixture(params=BACKENDS)
def server_url(request, tmp_path):
    """A migrated, empty server database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.sqlite3'}"
        return
    url, admin_engine, name = bench.pg_scratch_database(os.environ[PG_ENV])
    if url is None or admin_engine is None:
        pytest.fail(f"{PG_ENV} is set but no database could be made there: {name}")
    try:
        yield url
    finally:
        bench.drop_scratch_database(admin_engine, name)


def test_simulated_desks_sync_every_command_exactly_once(server_url, tmp_path):
    db = open_server_db(server_url)
    server = bench.BenchServer(server_url, tmp_path)
    try:
        sim = DistrictSimulator(db, server.url, TINY, server_pid=server.proc.pid)
        r = sim.run()
        assert r["errors"] == 0, r
        rounds = TINY.steady_rounds + 1
        assert r["steady"]["rounds"] == TINY.desks * TINY.steady_rounds and r["steady"]["rounds_failed"] == 0
        assert r["burst"]["rounds"] == TINY.desks and r["burst"]["rounds_failed"] == 0
        assert r["round_median_ms"] == r["steady"]["round_median_ms"] > 0
        once = r["exactly_once"]
        assert once["ok"], once
        assert once["cases_on_server"] == TINY.desks * TINY.cases_per_round * rounds
        assert once["commands_applied"] == once["commands_pushed"] == 2 * once["cases_on_server"]
        assert r["resend"] == {"commands": TINY.desks * 2 * TINY.cases_per_round,
                               "duplicate": TINY.desks * 2 * TINY.cases_per_round, "not_duplicate": 0}
        assert r["partner_cases"] == {"desks_checked": TINY.desks, "desks_missing_cases": 0}
        assert r["shared_address"]["ok"] == TINY.desks  # 4 renewals from one address: within the limit

        # The check counts the server's rows: an event too few, then a case gone, are both found.
        some = [uuid.UUID(c) for c in sim.desks[0].batch_cases[0][:2]]
        with db.sessions.begin() as s:
            last = s.scalars(select(CaseEvent).where(CaseEvent.case_id == some[0]).order_by(CaseEvent.seq)).all()[-1]
            s.delete(last)
        broken = verify_applied(db, sim.desks, sim.events_per_case)
        assert not broken["ok"] and broken["cases_with_wrong_events"] == 1
        assert broken["events"] == broken["events_expected"] - 1
        with db.sessions.begin() as s:
            s.execute(delete(CaseEvent).where(CaseEvent.case_id == some[1]))
            s.execute(delete(Case).where(Case.id == some[1]))
        broken = verify_applied(db, sim.desks, sim.events_per_case)
        assert not broken["ok"] and broken["cases_missing"] == 1
        assert broken["cases_on_server"] == once["cases_pushed"] - 1
    finally:
        server.stop()
        db.close()


def test_json_has_the_documented_keys(tmp_path, monkeypatch, capsys):
    """Through the command line, with the parts other modules measure standing in for themselves."""
    calls: dict[str, dict] = {}

    def fresh_download(server_url: str, quick: bool = False) -> dict:
        calls["fresh_download"] = {"server_url": server_url, "quick": quick}
        return {"fresh_download_s": 1.234, "rows": 7}

    def run_district_queries(pg_url: str, cases: int = 5_000_000, *, progress=None) -> dict:
        calls["district"] = {"pg_url": pg_url, "cases": cases}
        return {"queries": {"pull_middle": {"median_ms": 1.0}}}

    parts = {("app.bench.download", "fresh_download"): fresh_download,
             ("app.bench.district", "run_district_queries"): run_district_queries,
             ("app.bench.district", "print_result"): lambda result: None}
    monkeypatch.setattr(bench, "optional_part", lambda module, function: parts.get((module, function)))
    pg = os.environ.get(PG_ENV)
    if pg:
        monkeypatch.setenv("ONEDESK_BENCH_PG_URL", pg)
    out = tmp_path / "sync.json"
    assert main(["bench", "sync", "--quick", "--cases", "20", "--desks", "2", "--steady-seconds", "0.4",
                 "--district-cases", "3000", "--backend", "both" if pg else "sqlite", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert set(figures) == ({"sqlite", "postgresql"} if pg else {"sqlite"})
    for backend in figures.values():
        assert backend["push_commands"] == 40 and backend["push_per_s"] > 0
        assert backend["pull_changes_per_s"] > 0 and backend["pull_commands_per_s"] > 0
        desks = backend["desks_2"]
        assert desks["errors"] == 0 and desks["exactly_once"]["ok"]
        assert desks["round_median_ms"] > 0 and desks["round_p95_ms"] >= desks["round_median_ms"]
        for mode in ("steady", "burst"):
            assert {"round_median_ms", "round_p95_ms", "round_max_ms", "errors", "requests_per_s"} <= set(desks[mode])
        assert desks["burst"]["last_done_s"] > 0
        assert backend["fresh_download_s"] == 1.23
    assert calls["fresh_download"]["quick"] is True
    if pg:
        assert figures["postgresql"]["district_queries"] == {"queries": {"pull_middle": {"median_ms": 1.0}}}
        assert calls["district"] == {"pg_url": pg, "cases": 3000}
        assert "district_queries" not in figures["sqlite"]
    else:
        assert "district_queries" not in figures["sqlite"]
        assert "跳过居委会查询计时" in printed
    assert "上传 40 条操作" in printed and "每条恰好执行一次：是" in printed


def test_only_push_runs_the_push_alone_and_keeps_the_median(tmp_path, monkeypatch, capsys):
    """``--only push --runs 2``: two pushes on fresh server databases, nothing else measured."""
    monkeypatch.setattr(bench, "optional_part", lambda module, function: pytest.fail(f"{module} was asked for"))
    out = tmp_path / "push.json"
    assert main(["bench", "sync", "--only", "push", "--runs", "2", "--cases", "15", "--backend", "sqlite",
                 "--json", str(out)]) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))["sqlite"]
    assert figures["push_commands"] == 30 and figures["push_desk_cpu_s"] >= 0
    assert [run["push_commands"] for run in figures["push_runs"]] == [30, 30]
    assert figures["push_per_s"] == sorted(run["push_per_s"] for run in figures["push_runs"])[1]
    assert not {"pull_changes", "snapshot_rows", "desks_500", "fresh_download_s"} & set(figures)
    assert "2 次上传的中位数" in capsys.readouterr().out
