"""``python main.py bench sync``: sync throughput and latency against a real server process on loopback (issue 18).

For SQLite and PostgreSQL in turn:

1. **Throughput**: one real desk pushes 10,000 cases (create + accept = 20,000 commands); a second desk pulls
   them through the change log, a third through a snapshot (``push_per_s``, ``pull_changes_per_s``,
   ``pull_commands_per_s``, ``snapshot_rows_per_s``). Target: push ≥ 5,000 commands/s.
2. **500 desks** (250 committees × 2) simulated in this process (app/bench/desks.py), really enrolled, speaking
   the wire protocol: ``desks_500`` — steady (each on its real schedule; the headline ``round_median_ms`` and
   ``round_p95_ms``) and burst (all at once) rounds, errors, and the exactly-once count on the server's
   database. Targets: median round < 300 ms, p95 < 1 s, no errors.
3. **Fresh desk download** (``fresh_download_s``) by ``app.bench.download.fresh_download`` when that module exists.

Then on PostgreSQL only: **per-committee query times** of a generated district (``district_queries``, default
5 million cases) by ``app.bench.district.run_district_queries`` when that module exists. ``--json FILE`` writes
``{"postgresql": {...}, "sqlite": {...}}``; ``--quick`` runs 500 cases, 20 desks and a small district.
``--only push --runs 3``: the push alone (with the CPU the desk and the server process used), three times on a
fresh database each, the median kept.

PostgreSQL: ``ONEDESK_BENCH_PG_URL`` (or ``ONEDESK_TEST_PG_URL``, else postgres@127.0.0.1:5432) names a server on
which a scratch database is created and dropped. Desks, simulator, server process and database all share this
machine's cores, so on a small box the figures are an upper bound of what one district server would see (each
part reports the CPU the simulator itself used).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import Engine, make_url

from app.bench.desks import DistrictShape, build_case, print_desks, process_cpu_s, run_desks
from app.core.paths import PROJECT_DIR
from app.core.wire import MAX_BATCH, Endpoint
from app.desk.auth import hash_password, worker_info
from app.desk.cases import next_case_number
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, make_engine, upgrade
from app.desk.outbox import enqueue
from app.desk.sync.client import SyncClient
from app.desk.sync.enroll import enroll_desk
from app.server import admin
from app.server.db import ServerDB, normalise_url, open_server_db
from models import SyncState, Worker, utcnow

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PUSH_TARGET_PER_S = 5_000
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
    enroll_desk(ctx, server.url, code, allow_insecure_http=True)  # loopback: the lab opt-in
    client = SyncClient(ctx, batch_size=MAX_BATCH, pull_limit=1000)  # the most the protocol takes in one push
    result = client.sync_once()
    if not result.ok:
        raise RuntimeError(result.error)
    return ctx, client


def generate_cases(ctx: AppContext, n: int, login: str = "desk") -> None:
    """``n`` cases created and accepted, written as CaseService writes them (case, events, outbox rows with their
    mutation ids and causal context: app/bench/desks.py build_case), but 1,000 per transaction: the bench measures
    sync, not the desk's fsync per click."""
    ident = ctx.identity()
    with ctx.sessions() as s:
        w = worker_info(s.scalars(select(Worker).where(Worker.login == login)).one())
    for start in range(0, n, 1000):
        with ctx.sessions.begin() as s:
            for _ in range(min(1000, n - start)):
                at = utcnow()
                built = build_case(next_case_number(s, ident.committee_code, ident.device_code, at),
                                   committee_id=ident.committee_id, device_code=ident.device_code, actor=w, at=at)
                s.add(built.case)
                s.flush()
                for name, args, mutation_id in built.commands:
                    enqueue(s, name, args, w.id, at).mutation_id = mutation_id


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


def _push(db, server: BenchServer, workdir: Path, template: Path, cases: int) -> tuple[dict, AppContext, SyncClient]:
    """Desk A pushes ``cases`` cases (its round's pull of its own changes included: what a desk waits for). With
    the CPU this process (the desk) and the server process used meanwhile: the push is bounded by the slower."""
    a_ctx, a = _desk(workdir, template, "A", db, server, "B0001")
    generate_cases(a_ctx, cases)
    cpu0, srv0 = time.process_time(), process_cpu_s(server.proc.pid)
    t_push, (pushed, _) = _timed(lambda: _until_done(a))
    cpu1, srv1 = time.process_time(), process_cpu_s(server.proc.pid)
    figures: dict[str, Any] = {"cases": cases, "push_commands": pushed, "push_s": round(t_push, 2),
                               "push_per_s": round(pushed / t_push), "push_desk_cpu_s": round(cpu1 - cpu0, 2)}
    if srv0 is not None and srv1 is not None:
        figures["push_server_cpu_s"] = round(srv1 - srv0, 2)
    return figures, a_ctx, a


def _throughput(db, server: BenchServer, workdir: Path, template: Path, cases: int, only_push: bool = False) -> dict:
    pushed_figures, a_ctx, a = _push(db, server, workdir, template, cases)
    if only_push:
        a.close()
        a_ctx.close()
        return pushed_figures
    pushed = pushed_figures["push_commands"]
    b_ctx, b = _desk(workdir, template, "B", db, server, "B0001")  # its first sync took a snapshot
    with b_ctx.sessions.begin() as s:  # now replay the whole change log instead
        s.execute(update(SyncState).values(cursor="0", needs_snapshot=False))
        s.execute(text('DELETE FROM case_event'))
        s.execute(text('DELETE FROM "case"'))
    t_pull, (_, pulled) = _timed(lambda: _until_done(b))
    c_ctx = AppContext.open(_fresh(workdir, template, "C"))
    code, _ = admin.create_enroll_code(db, "B0001")
    enroll_desk(c_ctx, server.url, code, allow_insecure_http=True)
    c = SyncClient(c_ctx, pull_limit=500)
    t_snap, (_, snapped) = _timed(lambda: _until_done(c))
    for ctx, client in ((a_ctx, a), (b_ctx, b), (c_ctx, c)):
        client.close()
        ctx.close()
    return {**pushed_figures, "pull_changes": pulled, "pull_s": round(t_pull, 2),
            "pull_changes_per_s": round(pulled / t_pull),
            # The change log may keep one row per entity: one pulled change can stand for several commands.
            "pull_commands_per_s": round(pushed / t_pull), "snapshot_rows": snapped, "snapshot_s": round(t_snap, 2),
            "snapshot_rows_per_s": round(snapped / t_snap)}


def _fresh(workdir: Path, template: Path, name: str) -> Path:
    folder = workdir / name
    folder.mkdir()
    shutil.copyfile(template, folder / DB_FILENAME)
    return folder


_HASH: list[str] = []


def _seed(url: str) -> ServerDB:
    db = open_server_db(url)
    admin.add_committee(db, "B0001", "基准测试居委会")
    admin.add_worker(db, "B0001", "desk", "前台", roles=["front_desk"], password_hash=_HASH[0])
    return db


def pg_base_url() -> str:
    return os.environ.get("ONEDESK_BENCH_PG_URL") or os.environ.get("ONEDESK_TEST_PG_URL") or DEFAULT_PG


def pg_scratch_database(base: str | None = None) -> tuple[str | None, Engine | None, str]:
    """A new empty database beside the one ``base`` (default :func:`pg_base_url`) names: (its URL, the engine to
    drop it with, its name); (None, None, why) without PostgreSQL."""
    base = base or pg_base_url()
    admin_engine = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT", hide_parameters=True)
    name = f"onedesk_bench_{secrets.token_hex(4)}"
    try:
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # no PostgreSQL here: report it, do not fail the SQLite half
        admin_engine.dispose()
        return None, None, f"{type(e).__name__}: {e}".splitlines()[0]
    return make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False), admin_engine, name


def drop_scratch_database(admin_engine: Engine, name: str) -> None:
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


# ----- the parts other modules measure (issue 18), called when they exist ------------------------------------------
def optional_part(module: str, function: str) -> Callable[..., Any] | None:
    """``module.function`` when the module exists (imported only then), else None."""
    if importlib.util.find_spec(module) is None:
        return None
    return getattr(importlib.import_module(module), function, None)


def call_with(fn: Callable[..., Any], positional: tuple[Any, ...], offered: dict[str, Any]) -> Any:
    """``fn(*positional, **what it takes of offered)``: those parts are written apart from this bench, so their
    keyword parameters are matched by name; one it requires and this bench cannot give raises TypeError."""
    params = list(inspect.signature(fn).parameters.values())[len(positional):]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(*positional, **offered)
    kwargs = {p.name: offered[p.name] for p in params if p.name in offered}
    wanted = [p.name for p in params if p.name not in offered and p.default is p.empty
              and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if wanted:
        raise TypeError(f"{fn.__qualname__} needs {', '.join(wanted)}")
    return fn(*positional, **kwargs)


def _fresh_download(label: str, result: dict, offered: dict[str, Any]) -> None:
    fn = optional_part("app.bench.download", "fresh_download")
    if fn is None:
        print(f"[{label}] 跳过新前台首次下载：app.bench.download 尚不存在")
        return
    try:
        out = call_with(fn, (), offered)
    except Exception as e:  # another engineer's part: report it, keep the figures measured so far
        print(f"[{label}] 新前台首次下载未能测量：{type(e).__name__}: {e}")
        result["fresh_download"] = {"error": f"{type(e).__name__}: {e}"}
        return
    if isinstance(out, dict):
        result["fresh_download"] = out
        seconds = out.get("fresh_download_s", out.get("seconds"))
    else:
        seconds = out
    if isinstance(seconds, (int, float)):
        result["fresh_download_s"] = round(float(seconds), 2)
        print(f"[{label}] 新前台首次下载（快照）用时 {result['fresh_download_s']} 秒")


def _district(results: dict, district_cases: int, quick: bool, workdir: Path) -> None:
    if district_cases <= 0:
        return
    if "postgresql" not in results:
        print("[PostgreSQL] 跳过居委会查询计时：本次没有测 PostgreSQL（只在 PostgreSQL 上测）")
        return
    fn = optional_part("app.bench.district", "run_district_queries")
    if fn is None:
        print("[PostgreSQL] 跳过居委会查询计时：app.bench.district 尚不存在")
        return
    offered = {"cases": district_cases, "quick": quick, "workdir": workdir,
               "progress": lambda message: print(f"  {message}", flush=True)}
    print(f"[PostgreSQL] 居委会查询计时：生成 {district_cases:,} 件案件的全区数据库……", flush=True)
    try:
        out = call_with(fn, (pg_base_url(),), offered)
    except Exception as e:  # another engineer's part: report it, keep the figures measured so far
        print(f"[PostgreSQL] 居委会查询计时未能完成：{type(e).__name__}: {e}")
        out = {"error": f"{type(e).__name__}: {e}"}
    else:
        show = optional_part("app.bench.district", "print_result")
        if show is not None and isinstance(out, dict):
            show(out)
    results["postgresql"]["district_queries"] = out


# ----- one backend -------------------------------------------------------------------------------------------------
def _run_backend(label: str, url: str, workdir: Path, cases: int, shape: DistrictShape, quick: bool,
                 only_push: bool = False) -> dict:
    workdir.mkdir(parents=True)
    template = desk_template(workdir)
    db = _seed(url)
    server = BenchServer(url, workdir)
    try:
        result: dict[str, Any] = {"backend": label, **_throughput(db, server, workdir, template, cases, only_push)}
        _print_throughput(result)
        if only_push:
            return result
        if shape.desks:
            result[f"desks_{shape.desks}"] = desks = run_desks(db, server.url, shape, server_pid=server.proc.pid)
            print_desks(label, desks)
        _fresh_download(label, result, {"server_url": server.url, "server": server, "db": db, "db_url": url,
                                        "url": url, "workdir": workdir, "template": template, "quick": quick,
                                        "cases": cases, "backend": label})
        return result
    finally:
        server.stop()
        db.close()


def _print_throughput(r: dict) -> None:
    verdict = "达到" if r["push_per_s"] >= PUSH_TARGET_PER_S else "未达到"
    print(f"[{r['backend']}] 上传 {r['push_commands']} 条操作（{r['cases']} 件案件）{r['push_s']} 秒 → "
          f"{r['push_per_s']} 条/秒（目标 ≥ {PUSH_TARGET_PER_S} 条/秒：{verdict}）；"
          f"CPU：前台 {r['push_desk_cpu_s']} 秒，服务器进程 {r.get('push_server_cpu_s', '未知')} 秒"
          f"（本机 {os.cpu_count()} 核，与数据库共用）")
    if "pull_changes" not in r:
        return
    print(f"[{r['backend']}] 拉取变更 {r['pull_changes']} 条（涵盖 {r['push_commands']} 条操作）{r['pull_s']} 秒 → "
          f"{r['pull_changes_per_s']} 条变更/秒，折合 {r['pull_commands_per_s']} 条操作/秒；"
          f"快照 {r['snapshot_rows']} 行 {r['snapshot_s']} 秒 → {r['snapshot_rows_per_s']} 行/秒")


@contextlib.contextmanager
def _secrets_in(folder: Path) -> Iterator[None]:
    """The throw-away desks keep their keys and tokens under ``folder`` (keystore's fallback files follow
    XDG_CONFIG_HOME), not in the user's own configuration folder."""
    before = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("XDG_CONFIG_HOME", None)
        else:
            os.environ["XDG_CONFIG_HOME"] = before


# ----- entry points --------------------------------------------------------------------------------------------------
def bench_sync(args=None) -> int:
    """Entry point of ``python main.py bench sync`` (app/cli/bench.py)."""
    quick = bool(getattr(args, "quick", False))
    district = getattr(args, "district_cases", None)
    run_sync_bench(quick=quick, cases=getattr(args, "cases", None), desks=getattr(args, "desks", None),
                   steady_s=getattr(args, "steady_seconds", None),
                   district_cases=(20_000 if quick else 5_000_000) if district is None else district,
                   backends=getattr(args, "backend", None) or "both", json_path=getattr(args, "json", None),
                   only=getattr(args, "only", None), runs=getattr(args, "runs", None) or 1)
    return 0


def run_sync_bench(*, quick: bool = False, cases: int | None = None, desks: int | None = None,
                   steady_s: float | None = None, district_cases: int = 0, backends: str = "both",
                   json_path: str | Path | None = None, only: str | None = None, runs: int = 1) -> dict:
    """Run the benchmark for SQLite and (if reachable) PostgreSQL; prints, returns and (``json_path``) writes
    the figures as ``{"postgresql": {...}, "sqlite": {...}}``. ``only="push"``: the push alone, ``runs`` times on
    a fresh server database each, the run of the median ``push_per_s`` kept (every run's in ``push_runs``)."""
    cases = cases if cases is not None else (500 if quick else 10_000)
    desks = desks if desks is not None else (20 if quick else 500)
    shape = DistrictShape(desks=desks + desks % 2, steady_s=steady_s or (6.0 if quick else 60.0))
    only_push = only == "push"
    _HASH[:] = [hash_password("benchpass")]
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="onedesk-bench-") as tmp, _secrets_in(Path(tmp) / "config"):
        for key, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
            if backends not in ("both", key):
                continue
            measured = []
            for run in range(runs if only_push else 1):
                where = Path(tmp) / f"{key}-{run}"
                if key == "sqlite":
                    measured.append(_run_backend(label, f"sqlite:///{where / 'server.sqlite3'}", where, cases, shape,
                                                 quick, only_push))
                    continue
                url, admin_engine, name = pg_scratch_database()
                if url is None or admin_engine is None:
                    print(f"[PostgreSQL] 跳过：无法创建测试数据库（{name}）")
                    break
                try:
                    measured.append(_run_backend(label, url, where, cases, shape, quick, only_push))
                finally:
                    drop_scratch_database(admin_engine, name)
            if measured:
                results[key] = _median_run(measured)
        if not only_push:
            _district(results, district_cases, quick, Path(tmp) / "district")
    if json_path:
        Path(json_path).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"已写入 {json_path}")
    return results


def _median_run(measured: list[dict]) -> dict:
    """One run as it is; of several, the one of the median push_per_s, with every run's figures beside it."""
    if len(measured) == 1:
        return measured[0]
    ordered = sorted(measured, key=lambda r: r["push_per_s"])
    median = dict(ordered[len(ordered) // 2])
    median["push_runs"] = [{k: r[k] for k in r if k.startswith("push_")} for r in measured]
    print(f"[{median['backend']}] {len(measured)} 次上传的中位数：{median['push_per_s']} 条/秒"
          f"（各次 {', '.join(str(r['push_per_s']) for r in measured)}）")
    return median
