"""``python main.py bench sync``: sync throughput and latency against a real server process on loopback.

For SQLite and PostgreSQL in turn: push 10,000 cases (create + accept = 20,000 commands) from one desk,
pull them into a second desk through the change log and through a snapshot, then let 50 desks (two per
committee) sync at once, each with 5 new cases, and report the median round time. ``--quick`` runs 500 cases
and 10 desks.

PostgreSQL: ``ONEDESK_BENCH_PG_URL`` (or ``ONEDESK_TEST_PG_URL``, else postgres@127.0.0.1:5432) names a server
on which a scratch database is created and dropped. In the 50-desk part every desk is a process of its own;
desks, server process and database all share this machine's cores, so on a small box the figures are an
upper bound of what one district server would see.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import Engine, make_url

from app.core import actions, commands
from app.core.paths import PROJECT_DIR
from app.core.vocabulary import Action, Mutation
from app.core.wire import Endpoint
from app.desk.auth import hash_password, worker_info
from app.desk.cases import ItemRef, next_case_number
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, make_engine, upgrade
from app.desk.outbox import enqueue
from app.desk.sync.client import SyncClient
from app.desk.sync.enroll import enroll_desk
from app.server import admin
from app.server.db import ServerDB, normalise_url, open_server_db
from models import SyncState, Worker, new_id, utcnow

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "bench")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BenchServer:
    """The district server as its own process on a free loopback port, exactly as ``python main.py server`` runs
    it (the sync and attachments benches)."""

    def __init__(self, db_url: str, workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log_path = workdir / f"server-{self.port}.log"
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "main.py", "--data-dir", str(workdir / "srv"), "server", "--db", db_url,
             "--host", "127.0.0.1", "--port", str(self.port)], cwd=PROJECT_DIR, stdout=self.log,
            stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=str(PROJECT_DIR)))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.url + Endpoint.HEALTH, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)  # polling a starting process: there is no signal to wait on
        self.stop()
        raise RuntimeError(f"bench server did not start (see {log_path})")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def desk_template(workdir: Path) -> Path:
    path = workdir / "template.sqlite3"
    engine = make_engine(path)
    upgrade(engine)
    engine.dispose()
    return path


def _desk(workdir: Path, template: Path, name: str, db, server: BenchServer,
          committee: str) -> tuple[AppContext, SyncClient]:
    folder = workdir / name
    folder.mkdir()
    shutil.copyfile(template, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    code, _ = admin.create_enroll_code(db, committee)
    enroll_desk(ctx, server.url, code)
    client = SyncClient(ctx, batch_size=200, pull_limit=1000)
    result = client.sync_once()
    if not result.ok:
        raise RuntimeError(result.error)
    return ctx, client


def generate_cases(ctx: AppContext, n: int, login: str = "desk") -> None:
    """``n`` cases created and accepted, written as CaseService writes them (case, event, outbox row), but
    1,000 per transaction: the bench measures sync, not the desk's fsync per click."""
    ident = ctx.identity()
    with ctx.sessions() as s:
        w = worker_info(s.scalars(select(Worker).where(Worker.login == login)).one())
    env = actions.SimpleEnv()
    for start in range(0, n, 1000):
        with ctx.sessions.begin() as s:
            for _ in range(min(1000, n - start)):
                at = utcnow()
                cmd = commands.CreateCaseArgs(
                    id=new_id(), case_number=next_case_number(s, ident.committee_code, ident.device_code, at),
                    item_code=ITEM.code, item_name=ITEM.name, catalog_version=ITEM.catalog_version,
                    department=ITEM.department, mode=ITEM.mode, data={"x": 1}, origin_device_code=ident.device_code,
                    verification_code="BENCH")
                case = actions.create_case(cmd, committee_id=ident.committee_id, actor=w, at=at, env=env)
                s.add(case)
                s.flush()
                enqueue(s, Mutation.CASE_CREATE, cmd.wire(), w.id, at)
                accept = commands.SubmitArgs(case_id=case.id, case_number=case.case_number, data=case.data,
                                             materials={}, missing=[])
                done = actions.perform(case, Action.ACCEPT, accept, actor=w, at=at, env=env)
                enqueue(s, Mutation.CASE_ACCEPT, done.command_args(case), w.id, at)


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _until_done(client: SyncClient) -> tuple[int, int]:
    pushed = pulled = 0
    while True:
        r = client.sync_once()
        if not r.ok:
            raise RuntimeError(r.error)
        pushed, pulled = pushed + r.pushed, pulled + r.pulled
        if r.pending == 0:
            return pushed, pulled


def _throughput(db, server: BenchServer, workdir: Path, template: Path, cases: int) -> dict:
    a_ctx, a = _desk(workdir, template, "A", db, server, "B0001")
    generate_cases(a_ctx, cases)
    t_push, (pushed, _) = _timed(lambda: _until_done(a))
    b_ctx, b = _desk(workdir, template, "B", db, server, "B0001")  # its first sync took a snapshot
    with b_ctx.sessions.begin() as s:  # now replay the whole change log instead
        s.execute(update(SyncState).values(cursor="0", needs_snapshot=False))
        s.execute(text('DELETE FROM case_event'))
        s.execute(text('DELETE FROM "case"'))
    t_pull, (_, pulled) = _timed(lambda: _until_done(b))
    c_ctx = AppContext.open(_fresh(workdir, template, "C"))
    code, _ = admin.create_enroll_code(db, "B0001")
    enroll_desk(c_ctx, server.url, code)
    c = SyncClient(c_ctx, pull_limit=500)
    t_snap, (_, snapped) = _timed(lambda: _until_done(c))
    for ctx, client in ((a_ctx, a), (b_ctx, b), (c_ctx, c)):
        client.close()
        ctx.close()
    return {"cases": cases, "push_mutations": pushed, "push_s": round(t_push, 2),
            "push_mutations_per_s": round(pushed / t_push), "pull_changes": pulled, "pull_s": round(t_pull, 2),
            "pull_cases_per_s": round(pulled / t_pull),
            # The change log keeps the latest row per entity: one pulled change can stand for several mutations.
            "pull_mutations_per_s": round(pushed / t_pull), "snapshot_rows": snapped, "snapshot_s": round(t_snap, 2),
            "snapshot_rows_per_s": round(snapped / t_snap)}


def _fresh(workdir: Path, template: Path, name: str) -> Path:
    folder = workdir / name
    folder.mkdir()
    shutil.copyfile(template, folder / DB_FILENAME)
    return folder


def desk_process(folder: str, barrier, results, labels: list[str]) -> None:
    """One desk in its own process (like its own PC): wait for the others, then time one sync round per label."""
    ctx = AppContext.open(Path(folder))
    client = SyncClient(ctx)
    try:
        client.sync_once()  # warm up: imports, SQL compilation and the connection are not what we measure
        generate_cases(ctx, 5)
        for label in labels:
            barrier.wait()
            t, r = _timed(client.sync_once)
            results.put((label, t if r.ok else float("inf")))
    finally:
        client.close()
        ctx.close()


def _concurrent(db, server: BenchServer, workdir: Path, template: Path, desks: int) -> dict:
    """``desks`` desks (two per committee, as in the district), each with 5 new cases (10 commands), start a
    sync round at the same instant; then a second round that only pulls what the other desk pushed. Each desk
    is a process of its own, so desks do not queue on this process's GIL."""
    folders = []
    for i in range(desks):
        committee = f"C{i // 2:04d}"
        if i % 2 == 0:
            admin.add_committee(db, committee, f"并发测试居委会{i // 2}")
            admin.add_worker(db, committee, "desk", "前台", roles=["front_desk"], password_hash=_HASH[0])
        ctx, client = _desk(workdir / "many", template, f"d{i:02d}", db, server, committee)
        client.close()
        ctx.close()
        folders.append(str(ctx.data_dir))
    mp = multiprocessing.get_context("spawn")
    barrier, results = mp.Barrier(desks), mp.Queue()
    labels = ["first", "second"]
    procs = [mp.Process(target=desk_process, args=(f, barrier, results, labels)) for f in folders]
    for p in procs:
        p.start()
    rounds: dict[str, list[float]] = {k: [] for k in labels}
    for _ in range(desks * len(labels)):
        label, t = results.get(timeout=600)
        rounds[label].append(t)
    for p in procs:
        p.join(timeout=60)
    med = {k: round(statistics.median(v) * 1000) for k, v in rounds.items()}
    p95 = {k: round(sorted(v)[max(0, int(len(v) * 0.95) - 1)] * 1000) for k, v in rounds.items()}
    return {"desks": desks, "median_round_ms_push_10": med["first"], "p95_round_ms_push_10": p95["first"],
            "median_round_ms_pull_only": med["second"], "p95_round_ms_pull_only": p95["second"]}


_HASH: list[str] = []


def _seed(url: str) -> ServerDB:
    db = open_server_db(url)
    admin.add_committee(db, "B0001", "基准测试居委会")
    admin.add_worker(db, "B0001", "desk", "前台", roles=["front_desk"], password_hash=_HASH[0])
    return db


def _pg_database() -> tuple[str | None, Engine | None, str]:
    base = os.environ.get("ONEDESK_BENCH_PG_URL") or os.environ.get("ONEDESK_TEST_PG_URL") or DEFAULT_PG
    admin_engine = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT", hide_parameters=True)
    name = f"onedesk_bench_{secrets.token_hex(4)}"
    try:
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # no PostgreSQL here: report it, do not fail the SQLite half
        admin_engine.dispose()
        return None, None, f"{type(e).__name__}: {e}".splitlines()[0]
    return make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False), admin_engine, name


def _run_backend(label: str, url: str, workdir: Path, cases: int, desks: int) -> dict:
    (workdir / "many").mkdir(parents=True)
    template = desk_template(workdir)
    db = _seed(url)
    server = BenchServer(url, workdir)
    try:
        result = {"backend": label, **_throughput(db, server, workdir, template, cases)}
        result.update(_concurrent(db, server, workdir, template, desks))
        return result
    finally:
        server.stop()
        db.close()


def _print(r: dict) -> None:
    print(f"[{r['backend']}] push {r['push_mutations']} 条操作 {r['push_s']} s → {r['push_mutations_per_s']} 条/秒；"
          f"拉取变更 {r['pull_changes']} 条（涵盖 {r['push_mutations']} 条操作）{r['pull_s']} s → "
          f"{r['pull_cases_per_s']} 条变更/秒，折合 {r['pull_mutations_per_s']} 条操作/秒；"
          f"快照 {r['snapshot_rows']} 行 {r['snapshot_s']} s → {r['snapshot_rows_per_s']} 行/秒")
    print(f"[{r['backend']}] {r['desks']} 台前台（每居委会 2 台）同时同步：上传 10 条操作的一轮中位数 "
          f"{r['median_round_ms_push_10']} ms（p95 {r['p95_round_ms_push_10']} ms）；只下载同伴数据的一轮中位数 "
          f"{r['median_round_ms_pull_only']} ms（p95 {r['p95_round_ms_pull_only']} ms）")


def bench_sync(args=None) -> int:
    """Entry point of ``python main.py bench sync [--quick]`` (app/cli_bench.py)."""
    run_sync_bench(quick=bool(getattr(args, "quick", False)))
    return 0


def run_sync_bench(*, quick: bool = False) -> dict:
    """Run the benchmark for SQLite and (if reachable) PostgreSQL; prints and returns the figures."""
    cases, desks = (500, 10) if quick else (10_000, 50)
    _HASH[:] = [hash_password("benchpass")]
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="onedesk-bench-") as tmp:
        results["sqlite"] = _run_backend("SQLite", f"sqlite:///{Path(tmp) / 'sq' / 'server.sqlite3'}",
                                         Path(tmp) / "sq", cases, desks)
        _print(results["sqlite"])
        url, admin_engine, name = _pg_database()
        if url is None or admin_engine is None:
            print(f"[PostgreSQL] 跳过：无法创建测试数据库（{name}）")
        else:
            try:
                results["postgresql"] = _run_backend("PostgreSQL", url, Path(tmp) / "pg", cases, desks)
                _print(results["postgresql"])
            finally:
                with admin_engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin_engine.dispose()
    return results
