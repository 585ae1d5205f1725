"""The district server uses the machine (issue 18): ``/metrics`` in Prometheus' format, ``/v1/ready``, the
database connections shared among worker processes, and ``server --workers N`` as real processes.

In process (TestClient): a desk's enrolment, snapshot, pushes and pulls, a set-aside and a repeated command are
counted under their route templates, with no case number, sha256, token or device id in any label; a request
waiting on the database shows in the queue depth. As processes: ``main.py server --workers 2`` on PostgreSQL
and SQLite serves from two processes, whichever answers /metrics adds up both, and Ctrl-C stops them all and
removes the shared metrics folder.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from app.cli.main import main
from app.core.paths import PROJECT_DIR
from app.core.wire import Endpoint
from app.server.api import create_app
from app.server.db import ServerDB, make_engines, open_server_db
from app.server.metrics import UNMATCHED
from app.server.workers import (
    DEFAULT_CONNECTIONS,
    MAX_PER_WORKER,
    MULTIPROC_ENV,
    WorkerPlanError,
    connection_limit,
    metrics_folder,
    plan_pool,
)
from models import Case
from tests.sync_helpers import (
    COMMITTEE,
    TestClient,
    enroll_raw,
    free_port,
    mutation,
    seed_server,
    server_worker_id,
    wait_ready,
)

pytest_plugins = ("tests.server_fixtures",)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(text_: str) -> Samples:
    """Every sample of a scrape: (name, sorted labels) → value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text_) for s in family.samples}


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the ``name`` samples whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def label_values(samples: Samples, label: str) -> set[str]:
    return {dict(ls)[label] for (_, ls) in samples if label in dict(ls)}


def template_of(path: str) -> str:
    """The route template a desk's request path belongs to (the expectation, worked out apart from the server)."""
    if path.startswith("/v1/files/"):
        return Endpoint.FILE_CONTENT if path.endswith("/content") else Endpoint.FILE
    return path


# ----- in process ----------------------------------------------------------------------------------------------------
@pytest.mark.server
def test_push_pull_and_snapshot_are_counted_under_their_route_templates(api, seeded, make_desk):
    desk = make_desk("A")  # enrols and syncs once: accounts arrive by snapshot or pull
    case_id = desk.new_case()
    assert desk.sync.sync_once().ok
    with desk.ctx.sessions() as s:
        case_number = s.get(Case, case_id).case_number
    device, headers = enroll_raw(api, seeded)
    worker = server_worker_id(seeded, "desk")
    body = {"mutations": [mutation(1, "case.teleport.v1", {"case_id": str(uuid.uuid4())}, worker)]}
    for _ in range(2):  # the second push repeats the command: answered from the stored outcome
        assert api.post(Endpoint.PUSH, json=body, headers=headers).status_code == 200
    assert api.get(f"/v/{case_number}", params={"c": "WRONGCODE"}).status_code == 404
    sha = "ab" * 32
    assert api.get(f"/v1/files/{sha}", headers=headers).status_code == 404
    assert api.get(f"/no/such/{case_number}").status_code == 404
    answer = api.get(Endpoint.METRICS)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = scrape(answer.text)

    seen = collections.Counter(template_of(path) for path, _ in desk.transport.seen)
    assert seen[Endpoint.PUSH] >= 1 and seen[Endpoint.PULL] + seen[Endpoint.SNAPSHOT] >= 1
    seen[Endpoint.ENROLL] += 1
    seen[Endpoint.PUSH] += 2
    for route, n in seen.items():  # every request of the desk and of this test, under its template
        assert total(samples, "onedesk_http_requests_total", route=route) == n, route
        assert total(samples, "onedesk_http_request_duration_seconds_count", route=route) == n, route
    assert total(samples, "onedesk_http_requests_total", route=Endpoint.VERIFY, status="404") == 1
    assert total(samples, "onedesk_http_requests_total", route=Endpoint.FILE, status="404") == 1
    assert total(samples, "onedesk_http_requests_total", route=UNMATCHED, status="404") == 1
    push_seconds = total(samples, "onedesk_http_request_duration_seconds_sum", route=Endpoint.PUSH)
    assert push_seconds > 0
    assert total(samples, "onedesk_http_request_duration_seconds_bucket", route=Endpoint.PUSH,
                 le="+Inf") == seen[Endpoint.PUSH]

    assert total(samples, "onedesk_push_commands_total", status="applied", duplicate="false") >= 2  # create, accept
    assert total(samples, "onedesk_push_commands_total", status="set_aside", duplicate="false") == 1
    assert total(samples, "onedesk_push_commands_total", status="set_aside", duplicate="true") == 1
    assert total(samples, "onedesk_push_commands_total", status="held") == 0
    assert total(samples, "onedesk_http_requests_in_flight") == 1  # this scrape
    assert total(samples, "onedesk_database_up") == 1 and total(samples, "onedesk_held_commands") == 0

    templates = {route.path for route in api.app.routes} | {UNMATCHED}
    assert label_values(samples, "route") <= templates
    token = headers["Authorization"].removeprefix("Bearer ")
    for secret in (case_number, sha, token, device, str(case_id), "WRONGCODE", "/no/such"):
        assert secret not in answer.text


@pytest.mark.server
def test_a_request_waiting_for_the_database_is_in_the_queue_depth(api, seeded, pg_url):
    _, headers = enroll_raw(api, seeded)
    engine = create_engine(seeded.url)
    waiting = threading.Event()
    with engine.connect() as locker:
        # Every authenticated request reads its device's row: holding the table keeps a pull waiting.
        locker.execute(text("LOCK TABLE server_device IN ACCESS EXCLUSIVE MODE"))
        results: list[int] = []

        def pull() -> None:
            waiting.set()
            results.append(TestClient(api.app).get(Endpoint.PULL, headers=headers).status_code)

        thread = threading.Thread(target=pull)
        thread.start()
        waiting.wait()
        deadline = time.monotonic() + 30
        ungranted = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'server_device'::regclass"
        with engine.connect() as probe:
            while probe.execute(text(ungranted)).scalar_one() == 0:  # until the pull waits for the lock
                assert time.monotonic() < deadline, "the pull never waited for the lock"
                probe.rollback()
        during = scrape(api.get(Endpoint.METRICS).text)
        locker.rollback()
    thread.join(timeout=30)
    engine.dispose()
    assert results == [200]
    assert total(during, "onedesk_http_requests_in_flight") == 2  # the waiting pull and the scrape
    after = scrape(api.get(Endpoint.METRICS).text)
    assert total(after, "onedesk_http_requests_in_flight") == 1
    assert total(after, "onedesk_http_requests_total", route=Endpoint.PULL, status="200") == 1


def test_ready_says_whether_the_database_answers_and_never_why(tmp_path):
    good = open_server_db(f"sqlite:///{tmp_path / 'server.sqlite3'}")
    api = TestClient(create_app(good))
    answer = api.get(Endpoint.READY)
    assert answer.status_code == 200 and answer.json()["database"] == "ok"
    assert api.get(Endpoint.HEALTH).json()["status"] == "ok"
    good.close()
    url = f"postgresql+psycopg://onedesk:s3cret-pw@127.0.0.1:{free_port()}/district"  # nothing listens there
    engine, _ = make_engines(url)
    down = ServerDB(url, engine, engine, sessionmaker(engine), sessionmaker(engine))
    api = TestClient(create_app(down))
    answer = api.get(Endpoint.READY)
    assert answer.status_code == 503
    assert {k: v for k, v in answer.json().items() if k != "server_time"} == {
        "status": "unavailable", "database": "unreachable"}
    metrics = api.get(Endpoint.METRICS)
    assert metrics.status_code == 200
    samples = scrape(metrics.text)
    assert total(samples, "onedesk_database_up") == 0
    assert not any(name == "onedesk_held_commands" for name, _ in samples)
    for leak in ("s3cret", "onedesk:", "district", "127.0.0.1"):
        assert leak not in answer.text and leak not in metrics.text
    engine.dispose()


# ----- the connections and the metrics folder -----------------------------------------------------------------------
def test_one_worker_keeps_the_pool_it_always_had_and_more_workers_share_the_budget():
    one = plan_pool(1)
    assert (one.pool_size, one.max_overflow) == (10, 40)
    assert (plan_pool(2).pool_size, plan_pool(2).max_overflow) == (10, 30)
    assert (plan_pool(8).pool_size, plan_pool(8).max_overflow) == (10, 0)
    assert (plan_pool(16).pool_size, plan_pool(16).max_overflow) == (5, 0)
    for workers in range(1, 41):
        for budget in (2 * workers, 50, DEFAULT_CONNECTIONS, 97, 400):
            if budget < 2 * workers:
                continue
            plan = plan_pool(workers, budget)
            assert plan.most <= budget and 2 <= plan.per_worker <= MAX_PER_WORKER
            assert plan.pool_size <= 10
    with pytest.raises(WorkerPlanError, match="--db-connections 设为至少 82"):
        plan_pool(41)
    with pytest.raises(WorkerPlanError, match="至少为 1"):
        plan_pool(0)


@pytest.mark.server
def test_the_connections_postgresql_accepts_are_read_for_the_start_up_warning(server_db, tmp_path):
    with server_db.engine.connect() as conn:
        most = int(conn.exec_driver_sql("SHOW max_connections").scalar_one())
    assert 0 < connection_limit(server_db) < most
    sqlite = open_server_db(f"sqlite:///{tmp_path / 'server.sqlite3'}")
    assert connection_limit(sqlite) is None
    sqlite.close()


def test_too_many_workers_for_the_budget_is_refused_in_chinese(tmp_path, capsys):
    code = main(["--data-dir", str(tmp_path / "srv"), "server", "--db", f"sqlite:///{tmp_path / 's.db'}",
                 "--workers", "4", "--db-connections", "6"])
    assert code == 2
    assert "数据库连接预算不够" in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists()  # refused before anything was opened


def test_an_operators_metrics_folder_is_emptied_first_and_kept(tmp_path, monkeypatch):
    folder = tmp_path / "prom"
    folder.mkdir()
    (folder / "counter_4242.db").write_bytes(b"left by an earlier run")
    (folder / "notes.txt").write_text("not ours")
    monkeypatch.setenv(MULTIPROC_ENV, str(folder))
    with metrics_folder(3) as used:
        assert used == folder and sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert folder.is_dir() and os.environ[MULTIPROC_ENV] == str(folder)
    monkeypatch.delenv(MULTIPROC_ENV)
    with metrics_folder(1) as used:
        assert used is None and MULTIPROC_ENV not in os.environ
    with metrics_folder(2) as used:
        assert used is not None and used.is_dir() and os.environ[MULTIPROC_ENV] == str(used)
    assert not used.exists() and MULTIPROC_ENV not in os.environ


# ----- real worker processes ------------------------------------------------------------------------------------------
@pytest.fixture(params=["postgresql", "sqlite"])
def district(request, tmp_path, password_hashes):
    """(server database, its URL), seeded with the committee and its workers."""
    if request.param == "postgresql":
        yield request.getfixturevalue("seeded"), request.getfixturevalue("pg_url")
        return
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    db = seed_server(open_server_db(url), password_hashes)
    yield db, url
    db.close()


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state; the name may hold spaces


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the worker processes from /proc")
def test_two_workers_serve_and_metrics_add_up_both(district, tmp_path):
    db, url = district
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != MULTIPROC_ENV}
    env.update(PYTHONPATH=str(PROJECT_DIR), TMPDIR=str(temp))
    port = free_port()
    out, err = (tmp_path / "stdout.txt").open("w"), (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen([sys.executable, "main.py", "--data-dir", str(tmp_path / "srv"), "server", "--db", url,
                             "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--db-connections", "20"],
                            cwd=PROJECT_DIR, env=env, stdout=out, stderr=err, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        [folder] = list(temp.glob("onedesk-metrics-*"))  # the workers' shared metrics folder, made for this run
        # A new connection per request: the kernel hands each to whichever worker accepts it first.
        with httpx.Client(base_url=base, limits=httpx.Limits(max_keepalive_connections=0)) as http:
            health = _until_both_workers_served(http)
            _, headers = enroll_raw(http, db, COMMITTEE)
            case_number = f"{COMMITTEE}0012026000042"
            assert http.get(f"/v/{case_number}", params={"c": "NOPE"}).status_code == 404
            pushed = {"mutations": [mutation(1, "case.teleport.v1", {"case_id": str(uuid.uuid4())},
                                             server_worker_id(db, "desk"))]}
            for _ in range(4):
                assert http.get(Endpoint.PULL, headers=headers).status_code == 200
            assert http.post(Endpoint.PUSH, content=json.dumps(pushed),
                             headers={**headers, "Content-Type": "application/json"}).status_code == 200
            assert http.get(Endpoint.READY).json()["database"] == "ok"
            text_ = _settled(http, {Endpoint.HEALTH: health, Endpoint.ENROLL: 1, Endpoint.VERIFY: 1,
                                    Endpoint.PULL: 4, Endpoint.PUSH: 1, Endpoint.READY: 1})
        samples = scrape(text_)
        workers = {dict(ls)["pid"]: v for (n, ls), v in samples.items() if n == "onedesk_worker_requests"}
        assert len(workers) == 2 and all(v > 0 for v in workers.values())
        pids = [int(p) for p in workers]
        assert all(_parent_of(pid) == proc.pid for pid in pids)  # two worker processes of this server
        assert sum(workers.values()) == total(samples, "onedesk_http_requests_total")  # (settled on it)
        assert total(samples, "onedesk_http_requests_total", route=Endpoint.PULL, status="200") == 4
        assert total(samples, "onedesk_http_request_duration_seconds_count", route=Endpoint.PULL) == 4
        assert total(samples, "onedesk_http_requests_total", route=Endpoint.VERIFY, status="404") == 1
        assert total(samples, "onedesk_push_commands_total", status="set_aside", duplicate="false") == 1
        assert total(samples, "onedesk_database_up") == 1 and total(samples, "onedesk_http_requests_in_flight") == 1
        assert case_number not in text_ and headers["Authorization"][7:] not in text_
        assert f'pid="{proc.pid}"' not in text_  # the parent only supervises
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            out.close()
            err.close()
    log = (tmp_path / "stdout.txt").read_text()
    assert code == 0, (tmp_path / "stderr.txt").read_text()
    assert "工作进程：2 个" in log
    if db.dialect == "postgresql":
        assert "每个进程最多 10 个（常驻 10 个），合计最多 20 个（预算 20 个）" in log
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)  # every worker stopped with the parent
    assert not folder.exists()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert stderr.count("Application shutdown complete") == 2 and "Traceback" not in stderr


def _until_both_workers_served(http: httpx.Client) -> int:
    """Health requests until both workers have answered some (at most 500); how many were made, with the
    start-up's own polls (tests/sync_helpers.wait_ready), all answered before the first of these."""
    for _ in range(50):
        for _ in range(10):
            assert http.get(Endpoint.HEALTH).status_code == 200
        samples = scrape(http.get(Endpoint.METRICS).text)
        if len([1 for (n, _), v in samples.items() if n == "onedesk_worker_requests" and v > 0]) == 2:
            return int(total(samples, "onedesk_http_requests_total", route=Endpoint.HEALTH))
    raise AssertionError("one worker answered every request")


def _settled(http: httpx.Client, expected: dict[Endpoint, int]) -> str:
    """A scrape once every request made so far is counted: a worker counts a request just after answering it,
    so a scrape (perhaps by the other worker) can overtake the count of the request before it. Settled: the
    counts ``expected`` are reached, the per-worker counts add up to the requests counted over all workers, and
    nothing but this scrape is in flight."""
    deadline = time.monotonic() + 30
    while True:
        body = http.get(Endpoint.METRICS).text
        samples = scrape(body)
        if (all(total(samples, "onedesk_http_requests_total", route=route) >= n for route, n in expected.items())
                and total(samples, "onedesk_worker_requests") == total(samples, "onedesk_http_requests_total")
                and total(samples, "onedesk_http_requests_in_flight") == 1):
            return body
        assert time.monotonic() < deadline, f"the workers' counts never added up: {expected}"

