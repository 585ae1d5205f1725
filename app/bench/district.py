"""``bench district`` (issue 18, "queries at district size"): the server's per-committee queries on a district's
database of 5 million cases — 300 committees × ≈16,700 cases over two years.

:func:`run_district_queries` creates a scratch database ``onedesk_district_<random>`` next to the one the URL
names, runs the server's real Alembic chain on it (``open_server_db``), writes the district
(app/bench/district_rows.py: committees, workers, one desk device each, residents, cases with their events,
calendar and catalog versions, and the change log in commit order) with COPY, VACUUMs the case table and
ANALYZEs; then times the real functions a desk's sync and the district's report call
(app/bench/district_queries.py) with their EXPLAIN (ANALYZE, BUFFERS) plans, and drops the database unless
``keep``.

Loading: four COPY streams at once (residents, cases, events, change rows; the small tables after), from one
generating process, so PostgreSQL parses and writes on the other CPU while Python makes rows. The streams'
sessions run with ``session_replication_role = replica``, which skips the foreign-key triggers (the rows of
one stream refer to rows another stream has not committed yet; the generator makes them consistent, and the
test reads them back through the ORM). The migration's secondary indexes (those behind no constraint) are
dropped before the load and made again after it from their own ``pg_get_indexdef`` text, as a bulk load does;
primary keys and unique constraints stay and are checked row by row.

What 5 million cases showed (2 shared CPUs, 23 GB of memory for a 48 GB database; figures in the JSON):

- pull, snapshot_start and snapshot pages run index range scans only (ix_server_change_scope_seq,
  ix_srv_case_committee_id, uq_case_event_case_seq): 1–2 ms of SQL for a pull of 1,000 changes, 9 ms for a
  page of 500 cases. What they cost beyond that is the payload: a case's change row is ≈ 10 KB of JSON (its
  answers and materials twice, in the row and in the accept event, Chinese written as \\u escapes), so 1,000 of
  them are 10 MB to detoast and send (the bare read, ≈ 35 ms) and to parse (≈ 110 ms), and a snapshot page
  builds 500 ORM cases and their events and dumps them again. No index changes that; the floors show what
  reading the stored text without parsing it would cost.
- the district report of a month reads 178,000 cases and 244,000 events; before s0011 its SQL took 25 s (a
  seq scan of all 26 million events, the whole of ix_case_committee_accepted, 130,000 case rows fetched for the
  open follow-ups); with s0011 1.2 s. The rest is Python counting, seconds, so it is no 50 ms query: since
  s0012 the reports read the rollup (app/server/rollup.py), counted once per month, kept up to date from the
  change streams; the direct computation is still timed for comparison.
- ``--keep`` keeps the generated database; ``--reuse URL`` measures it again (upgraded first, fresh device
  tokens) without generating: 5 million cases take about an hour to generate on 2 CPUs.
- partitioning server_change or case by committee: not done. A pull's rows are already one index range
  (947 buffer hits for 1,001 rows); clustering a committee's rows would save part of the 1–2 ms of SQL, not
  the payload's tens of milliseconds, while the primary key would have to include the committee (cursors name
  a row by seq alone) and the district report, which reads every committee's month by time, would read 300
  partitions instead of one index range.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.bench.district_rows import ENCODERS, District, Generator, calendar_texts, catalog_templates
from app.core.accounts import hash_password
from app.core.errors import UserError
from app.core.workdays import CalendarStore
from app.server.db import normalise_url, open_server_db

FULL_CASES, FULL_COMMITTEES = 5_000_000, 300
QUICK_CASES, QUICK_COMMITTEES = 100_000, 30
STREAMED = ("resident", "case", "case_event", "server_change")
LOADED_TABLES = ("committee", "worker", "server_device", "server_calendar", "server_catalog", *STREAMED)
BYTES_PER_CASE = 10_500  # on disk with indexes: 48 GB at 5 million cases (change log 40 %, events 38 %, cases 21 %)
_WRITE_EVERY = 2000  # lines buffered per stream between writes


class DistrictBenchError(UserError, RuntimeError):
    """The bench cannot run here (no PostgreSQL, not enough disk); Chinese message."""


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as the libpq URI psycopg connects with."""
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


class CopySink:
    """The generator's rows into PostgreSQL: one COPY per streamed table, each on its own connection, written
    in batches; the small tables kept in memory and copied at :meth:`close`."""

    def __init__(self, url: str, stack: contextlib.ExitStack) -> None:
        self.url = url
        self.conns: dict[str, psycopg.Connection] = {}
        self.copies: dict[str, Any] = {}
        self.buffers: dict[str, list[str]] = {}
        self.small: dict[str, list[str]] = {}
        for table in STREAMED:
            conn = stack.enter_context(psycopg.connect(_libpq(url)))
            _bulk_session(conn)
            self.conns[table] = conn
            self.copies[table] = stack.enter_context(conn.cursor().copy(ENCODERS[table].copy_sql()))
            self.buffers[table] = []

    def add(self, table: str, line: str) -> None:
        buf = self.buffers.get(table)
        if buf is None:
            self.small.setdefault(table, []).append(line)
            return
        buf.append(line)
        if len(buf) >= _WRITE_EVERY:
            self.copies[table].write("\n".join(buf) + "\n")
            buf.clear()

    def flush(self) -> None:
        for table, buf in self.buffers.items():
            if buf:
                self.copies[table].write("\n".join(buf) + "\n")
                buf.clear()

    def write_small(self) -> None:
        with psycopg.connect(_libpq(self.url)) as conn:
            _bulk_session(conn)
            for table, lines in self.small.items():
                with conn.cursor().copy(ENCODERS[table].copy_sql()) as cp:
                    cp.write("\n".join(lines) + "\n")


def _bulk_session(conn: psycopg.Connection) -> None:
    try:
        conn.execute("SET session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        raise DistrictBenchError("生成全区数据需要 PostgreSQL 超级用户（跳过外键检查以并行写入）") from None
    conn.execute("SET synchronous_commit = off")


# ----- the scratch database -----------------------------------------------------------------------------------
def _admin(url: str):
    return create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")


def create_database(base_url: str) -> tuple[str, str]:
    """A new empty database on the server of ``base_url``: (its URL, its name)."""
    name = f"onedesk_district_{secrets.token_hex(4)}"
    engine = _admin(base_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(normalise_url(base_url)).set(database=name).render_as_string(hide_password=False), name


def drop_database(base_url: str, name: str) -> None:
    engine = _admin(base_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def free_disk(base_url: str) -> tuple[Path, int]:
    """The folder PostgreSQL keeps its data in (when it is on this machine; else the working folder) and the
    bytes free there."""
    engine = _admin(base_url)
    try:
        with engine.connect() as conn:
            folder = Path(conn.execute(text("SHOW data_directory")).scalar_one())
    except Exception:  # not a superuser, or a server elsewhere: measure where we are
        folder = Path.cwd()
    finally:
        engine.dispose()
    if not folder.exists():
        folder = Path.cwd()
    return folder, shutil.disk_usage(folder).free


def check_disk(base_url: str, cases: int) -> dict[str, Any]:
    """Refuse to start unless the database's disk keeps room to spare: the estimate plus a fifth plus 4 GB (WAL,
    index builds, other users of the disk)."""
    folder, free = free_disk(base_url)
    estimate = cases * BYTES_PER_CASE
    need = int(estimate * 1.2) + 4 * 2**30
    if free < need:
        raise DistrictBenchError(f"磁盘空间不足：{folder} 剩余 {free / 2**30:.1f} GB，生成 {cases:,} 件案件约占 "
                                 f"{estimate / 2**30:.1f} GB，需至少剩余 {need / 2**30:.1f} GB；"
                                 "请减少 --cases 或清理磁盘")
    return {"folder": str(folder), "free_gb": round(free / 2**30, 1), "estimate_gb": round(estimate / 2**30, 1)}


# ----- loading ----------------------------------------------------------------------------------------------------
def _secondary_indexes(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(name, definition) of the loaded tables' indexes that back no constraint."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT ci.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_class ct ON ct.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = ct.relnamespace "
        "WHERE n.nspname = 'public' AND ct.relname = ANY(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY ci.relname",
        (list(LOADED_TABLES),))]


def _finish_log(conn: psycopg.Connection, last_seq: int) -> None:
    """What the writers of the change log keep besides its rows: the lock row's counter, the per-stream counters
    (server_change_stream, issue 18) and the PostgreSQL sequence seqs come from, past every seq written."""
    conn.execute("UPDATE server_sync_lock SET last_seq = %s", (last_seq,))
    if conn.execute("SELECT to_regclass('server_change_stream')").fetchone() != (None,):
        conn.execute("INSERT INTO server_change_stream (scope, last_seq) SELECT scope, max(seq) FROM server_change "
                     "GROUP BY scope ON CONFLICT (scope) DO UPDATE SET last_seq = excluded.last_seq")
    if conn.execute("SELECT to_regclass('server_change_seq')").fetchone() != (None,):
        conn.execute("SELECT setval('server_change_seq', %s)", (max(last_seq, 1),))


def generate(url: str, cases: int, committees: int, *, seed: int = 18,
             progress: Any = None) -> tuple[District, dict[str, float]]:
    """Write a district of ``cases`` cases over ``committees`` committees into the migrated database at ``url``;
    returns what was made and the seconds each phase took."""
    if committees < 1 or cases < committees:
        raise DistrictBenchError("每个居委会至少要有一件案件（--cases 不少于 --committees）")
    seconds: dict[str, float] = {}
    templates, files = catalog_templates()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        indexes = _secondary_indexes(conn)
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
    t = time.perf_counter()
    with contextlib.ExitStack() as stack:
        sink = CopySink(url, stack)
        gen = Generator(sink, cases=cases, committees=committees, calendar=CalendarStore(None).calendar,
                        templates=templates, catalog_files=files, calendar_files=calendar_texts(),
                        password_hash=hash_password("benchpass"), seed=seed)
        district = gen.run(progress=progress)
        sink.flush()
    sink.write_small()
    seconds["copy"] = time.perf_counter() - t
    t = time.perf_counter()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        for _name, definition in indexes:
            conn.execute(definition.encode())  # the text pg_get_indexdef gave, run as it is
        _finish_log(conn, district.last_seq)
        seconds["indexes"] = time.perf_counter() - t
        t = time.perf_counter()
        # What autovacuum does after a load this size (this test server runs without it): the case table's
        # visibility map, so the index-only scans the server's plans count on answer without the heap.
        conn.execute('VACUUM "case"')
        seconds["vacuum"] = time.perf_counter() - t
        t = time.perf_counter()
        conn.execute("ANALYZE")
        seconds["analyze"] = time.perf_counter() - t
    return district, seconds


def database_size(url: str) -> dict[str, Any]:
    with psycopg.connect(_libpq(url)) as conn:
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        tables = {r[0]: {"rows": r[1], "mb": round(r[2] / 2**20, 1), "indexes_mb": round(r[3] / 2**20, 1)}
                  for r in conn.execute(
                      "SELECT c.relname, c.reltuples::bigint, pg_table_size(c.oid), pg_indexes_size(c.oid) "
                      "FROM pg_class c WHERE c.relname = ANY(%s) AND c.relkind = 'r'", (list(LOADED_TABLES),))}
    return {"database_mb": round((total[0] if total else 0) / 2**20, 1), "tables": tables}


@contextlib.contextmanager
def scratch_district(base_url: str, cases: int, committees: int, *, keep: bool = False,
                     progress: Any = None) -> Iterator[tuple[str, District, dict[str, Any]]]:
    """A generated district in a scratch database for the ``with`` block: (its URL, what was made, figures of
    the making). Dropped afterwards unless ``keep``."""
    disk = check_disk(base_url, cases)
    url, name = create_database(base_url)
    try:
        t = time.perf_counter()
        open_server_db(url).close()  # the server's own Alembic chain
        migrate_s = time.perf_counter() - t
        district, seconds = generate(url, cases, committees, progress=progress)
        figures = {"database": name, "disk": disk, "migrate_s": round(migrate_s, 2),
                   "generate_s": round(sum(seconds.values()), 1),
                   **{f"{k}_s": round(v, 1) for k, v in seconds.items()}, "rows": district.counts}
        yield url, district, figures
    finally:
        if not keep:
            drop_database(base_url, name)


def district_from_db(url: str) -> District:
    """What measuring needs of a district generated before (``--keep``, then ``--reuse URL``): its committees
    with their case counts and newest seq, and a fresh token for each committee's bench device (the secrets of
    the first run are not stored; the scratch database's device rows take new ones)."""
    import hashlib

    from app.bench.district_rows import DEVICE_CODE, CommitteeState
    with psycopg.connect(_libpq(url)) as conn:
        if conn.execute("SELECT to_regclass('server_device')").fetchone() == (None,):
            raise DistrictBenchError(f"{make_url(url).database} 不是生成的全区数据库（没有 server_device 表）")
        counts: dict[Any, int] = dict(conn.execute(
            'SELECT committee_id, count(*) FROM "case" GROUP BY committee_id').fetchall())
        committees: list[CommitteeState] = []
        tokens: dict[str, str] = {}
        for i, (cid, code, dev_id) in enumerate(conn.execute(
                "SELECT c.id, c.code, d.id FROM committee c JOIN server_device d ON d.committee_id = c.id "
                "AND d.code = %s ORDER BY c.code", (DEVICE_CODE,)).fetchall()):
            secret = secrets.token_urlsafe(32)
            conn.execute("UPDATE server_device SET token_hash = %s, revoked_at = NULL WHERE id = %s",
                         (hashlib.sha256(secret.encode()).hexdigest(), dev_id))
            committees.append(CommitteeState(i, str(cid), code, "", "", [], {}, "", device_id=str(dev_id),
                                             cases=int(counts.get(cid, 0))))
            tokens[str(cid)] = f"{dev_id}.{secret}"
        last = conn.execute("SELECT coalesce(max(seq), 0) FROM server_change").fetchone()
        conn.commit()
    if not committees:
        raise DistrictBenchError(f"{make_url(url).database} 中没有居委会")
    return District(committees, tokens, {"case": sum(c.cases for c in committees)}, int(last[0] if last else 0))


def measure_again(url: str, *, sample: int = 20, repeat: int = 5, progress: Any = None) -> dict[str, Any]:
    """The query figures of a district generated before, at ``url`` (upgraded to the server's newest schema
    first, as a server start would): no generation, same measurements."""
    from app.bench.district_queries import measure
    t = time.perf_counter()
    open_server_db(url).close()
    migrate_s = time.perf_counter() - t
    district = district_from_db(url)
    tables = database_size(url)["tables"]
    result: dict[str, Any] = {"cases": district.counts["case"], "committees": len(district.committees),
                              "database": make_url(url).database, "reused": True, "migrate_s": round(migrate_s, 2),
                              "rows": {k: v["rows"] for k, v in tables.items()}}
    result.update(measure(url, district, sample=sample, repeat=repeat, progress=progress))
    result["size"] = database_size(url)
    result["kept"], result["url"] = True, url
    return result


def run_district_queries(pg_url: str, cases: int = FULL_CASES, committees: int = FULL_COMMITTEES,
                         keep: bool = False, *, sample: int = 20, repeat: int = 5,
                         progress: Any = None) -> dict[str, Any]:
    """Generate a district on the PostgreSQL server of ``pg_url`` (a scratch database beside it) and time the
    server's per-committee queries on it. Returns JSON-able figures: generation seconds, rows, per query the
    median and p95 in ms, the plans, the database's size."""
    from app.bench.district_queries import measure
    with scratch_district(pg_url, cases, committees, keep=keep, progress=progress) as (url, district, made):
        result: dict[str, Any] = {"cases": cases, "committees": committees, **made}
        result.update(measure(url, district, sample=sample, repeat=repeat, progress=progress))
        result["size"] = database_size(url)
        result["kept"] = keep
        result["url"] = url if keep else ""
        if keep:  # enough to measure the kept database again (app.bench.district_queries.measure)
            result["district"] = district.to_json()
    return result


# ----- the command ------------------------------------------------------------------------------------------------
def _say(text: str) -> None:
    print(text, flush=True)


def print_result(result: dict[str, Any]) -> None:
    rows = result["rows"]
    made = (f"沿用已生成的数据库 {result['database']}" if result.get("reused") else
            f"生成 {result['generate_s']:.0f} 秒（写入 {result['copy_s']:.0f} 秒、建索引 {result['indexes_s']:.0f} 秒、"
            f"VACUUM {result.get('vacuum_s', 0):.0f} 秒、ANALYZE {result['analyze_s']:.0f} 秒）")
    _say(f"全区 {result['committees']} 个居委会、{rows.get('case', 0):,} 件案件、{rows.get('case_event', 0):,} 条"
         f"办理记录、{rows.get('server_change', 0):,} 条变更日志；{made}，"
         f"数据库 {result['size']['database_mb'] / 1024:.1f} GB")
    _say(f"抽样 {result['sample']} 个居委会，每项每个居委会 {result['repeat']} 次（预热后）：")
    _say(f"{'查询':<34}{'中位数 ms':>10}{'p95 ms':>10}{'最大 ms':>10}{'目标':>8}")
    for q in result["queries"].values():
        target = q.get("target_ms")
        _say(f"{q['label']:<34}{q['median_ms']:>10.1f}{q['p95_ms']:>10.1f}{q['max_ms']:>10.1f}"
             f"{'' if target is None else f'< {target:.0f}':>8}")
        if q.get("note"):
            _say(f"    {q['note']}")


def bench_district(args) -> int:
    """``python main.py bench district [--cases N] [--committees N] [--json FILE] [--keep | --reuse URL]``."""
    import os
    reuse = getattr(args, "reuse", None)
    if reuse:
        _say(f"沿用已生成的全区数据库 {make_url(normalise_url(reuse)).database}（不重新生成）……")
        result = measure_again(normalise_url(reuse), progress=lambda msg: _say(f"  {msg}"))
        print_result(result)
        if getattr(args, "json", None):
            Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
            _say(f"结果已写入 {args.json}")
        return 0
    base = getattr(args, "pg_url", None) or os.environ.get("ONEDESK_BENCH_PG_URL") \
        or os.environ.get("ONEDESK_TEST_PG_URL")
    if not base:
        raise DistrictBenchError("请用 --pg-url 或环境变量 ONEDESK_BENCH_PG_URL 指定 PostgreSQL 地址，例如 "
                                 "postgresql+psycopg://postgres@127.0.0.1:5432/postgres（会在其旁边建临时数据库）")
    quick = getattr(args, "quick", False)
    cases = getattr(args, "cases", None) or (QUICK_CASES if quick else FULL_CASES)
    committees = getattr(args, "committees", None) or (QUICK_COMMITTEES if quick else FULL_COMMITTEES)
    started = dt.datetime.now()
    _say(f"生成全区数据：{committees} 个居委会、{cases:,} 件案件（{started:%H:%M:%S} 开始）……")
    result = run_district_queries(base, cases, committees, keep=getattr(args, "keep", False),
                                  progress=lambda msg: _say(f"  {msg}"))
    print_result(result)
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        _say(f"结果已写入 {args.json}")
    if result.get("kept"):
        _say(f"数据库已保留：{result['url']}")
    return 0
