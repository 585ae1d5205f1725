"""The timings of ``bench district``: the real functions a desk's sync and the district's report call, on a
generated district (app/bench/district.py), with the plans PostgreSQL chose for every statement they ran.

For a sample of committees, each with its device's real token: ``pull`` of 1,000 changes from a cursor in the
middle of the committee's stream (and the same page encoded as the route sends it), of 500 (the desk's page)
and from 50 rows before the stream's end; ``snapshot_start``; a snapshot page of 500 cases from the middle of
the committee's cases and one of the desk's default size (``snapshot_page_json``, what the route sends, where
the server has it). Then the month reports from the rollup (``app.server.report.month_report``: the district
by committee, one committee by item), the first report of another month (which counts that month into the
rollup), and for comparison the direct computation (``district_report``, ``app.core.stats.compute`` with one
committee) once each.
Each is run once to warm the cache, then ``repeat`` times; the figures are the median, p95 and maximum over
every run of every sampled committee. The statements each function ran are captured from the engine and run
again under EXPLAIN (ANALYZE, BUFFERS): the plans, and the time PostgreSQL spent executing them against the
time the call took (the rest is Python and the transfer: loading rows, parsing JSON, building the answer;
EXPLAIN does not detoast or send the rows, the floors below do).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import random
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from sqlalchemy import JSON, delete, event, text
from sqlalchemy.engine import make_url

from app.bench.district_rows import NOW, REPORT_MONTH, CommitteeState, District
from app.core.stats import Breakdown, Period, compute
from app.core.wire import DEFAULT_PULL_PAGE, DEFAULT_SNAPSHOT_PAGE, PullQuery, SnapshotQuery
from app.server import changes as server_changes
from app.server import pull as pull_service
from app.server import report as server_report
from app.server import snapshot as server_snapshot
from app.server.admin import server_calendar
from app.server.db import ServerDB, open_server_db
from app.server.pull import pull, snapshot_start
from app.server.report import district_report
from models.server import GLOBAL_SCOPE, Case, CaseEvent, ReportMonth

TARGET_MS = 50.0
PULL_LIMIT, SNAPSHOT_LIMIT, END_ROWS = 1000, 500, 50
LABELS = {
    "pull_middle": "拉取 1000 条（从中间）",
    "pull_middle_500": "拉取 500 条（从中间，前台默认页）",
    "pull_end": "拉取（距末尾 50 条）",
    "snapshot_start": "快照起点 snapshot_start",
    "pull_middle_wire": "拉取 1000 条，路由发送的应答 JSON",
    "snapshot_page_case": "快照一页 500 件案件",
    "snapshot_page_case_default": "快照一页（前台默认页数）",
    "snapshot_page_case_python": "（对照）快照一页 500 件，Python 组 JSON",
    "district_report_month": "全区月报（汇总表 month_report）",
    "committee_report_month": "单个居委会月报（汇总表，按事项）",
    "district_report_direct": "（对照）全区月报直接计算 district_report",
    "committee_report_direct": "（对照）单个居委会月报直接计算 stats.compute",
    "rollup_first_report": "某月第一次月报（把该月计入汇总表）",
    "floor_pull_db": "（下限）拉取的 SQL，data 取文本",
    "floor_pull_json": "（下限）拉取的 SQL，data 解析 JSON",
    "floor_snapshot_db": "（下限）快照一页的 SQL，JSON 取文本",
    "floor_snapshot_json": "（下限）快照一页的 SQL，解析 JSON",
}
_CASE_ID = [c.name for c in Case.__table__.columns].index("id")
TARGETED = ("pull_middle", "pull_middle_500", "pull_middle_wire", "pull_end", "snapshot_start", "snapshot_page_case",
            "snapshot_page_case_default", "district_report_month", "committee_report_month")


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {"median_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2),
            "max_ms": round(ordered[-1], 2), "runs": len(ordered)}


@contextlib.contextmanager
def captured(db: ServerDB) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) run on the server's engine inside the block."""
    seen: list[tuple[str, Any]] = []

    def before(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


_NODE = re.compile(r"(Seq Scan|Parallel Seq Scan|Index Only Scan|Index Scan Backward|Index Scan|Bitmap Heap Scan|"
                   r"Bitmap Index Scan|Sort|Incremental Sort|Hash Join|Nested Loop|Merge Join|Limit|Aggregate)"
                   r"(?: using (\S+))?(?: on (\S+))?.*?actual time=[\d.]+\.\.([\d.]+) rows=(\d+)")


def explain(db: ServerDB, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Each distinct statement run again under EXPLAIN (ANALYZE, BUFFERS): its plan, the nodes that matter and
    PostgreSQL's execution time."""
    out, done = [], set()
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            if statement in done or not statement.lstrip().upper().startswith("SELECT"):
                continue
            done.add(statement)
            plan = [r[0] for r in conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)]
            nodes = []
            for line in plan:
                m = _NODE.search(line)
                if m:
                    bitmap = m.group(1) == "Bitmap Index Scan"  # "Bitmap Index Scan on <index>"
                    nodes.append({"node": m.group(1), "index": m.group(3) if bitmap else m.group(2),
                                  "table": None if bitmap else m.group(3), "ms": float(m.group(4)),
                                  "rows": int(m.group(5))})
            executed = next((float(x) for line in plan for x in re.findall(r"Execution Time: ([\d.]+) ms", line)), 0.0)
            out.append({"sql": " ".join(statement.split())[:600], "execution_ms": executed, "nodes": nodes,
                        "plan": plan})
            conn.rollback()
    return out


def _flags(plans: list[dict[str, Any]]) -> list[str]:
    """What an index could fix: sequential scans and sorts over many rows."""
    notes = []
    for p in plans:
        for n in p["nodes"]:
            if n["node"] in ("Seq Scan", "Parallel Seq Scan") and n["rows"] > 1000:
                notes.append(f"seq scan on {n['table']} ({n['rows']} rows, {n['ms']:.1f} ms)")
            if n["node"] == "Sort" and n["rows"] > 5000:
                notes.append(f"sort of {n['rows']} rows ({n['ms']:.1f} ms)")
    return notes


class _Stream:
    """One committee's position in its change stream and the district's, as a desk's cursor names them."""

    def __init__(self, db: ServerDB, com: CommitteeState) -> None:
        with db.engine.connect() as conn:
            self.mine = [(r[0], r[1]) for r in conn.execute(text(
                "SELECT seq, tag FROM server_change WHERE scope = :s ORDER BY seq"), {"s": com.id})]
            self.reference = [(r[0], r[1]) for r in conn.execute(text(
                "SELECT seq, tag FROM server_change WHERE scope = :s ORDER BY seq"), {"s": GLOBAL_SCOPE})]
            self.middle_case = str(conn.execute(text(
                'SELECT id FROM "case" WHERE committee_id = :c ORDER BY id OFFSET :n LIMIT 1'),
                {"c": uuid.UUID(com.id), "n": com.cases // 2}).scalar_one())

    def cursor(self, index: int) -> str:
        """The cursor of a desk that has received the committee's rows up to ``index`` (and every reference row
        committed before it): ``<seq>-<tag>.<seq>-<tag>`` since the change streams (issue 18), else the single
        log's ``<seq>-<tag>``."""
        seq, tag = self.mine[index]
        if not hasattr(server_changes, "Cursor"):
            return f"{seq}-{tag}"
        ref = [r for r in self.reference if r[0] <= seq]
        return f"{seq}-{tag}." + (f"{ref[-1][0]}-{ref[-1][1]}" if ref else "0")


def _floors(conn: psycopg.Connection, com: CommitteeState, stream: _Stream) -> dict[str, Callable[[], Any]]:
    """What any pull or snapshot page must pay: the same rows read with bare SQL, the JSON columns as text
    (the database, its detoasting and the transfer) or parsed (psycopg's ``json.loads``); no ORM, no answer."""
    seq = stream.mine[len(stream.mine) // 2][0]
    ref = max([r[0] for r in stream.reference if r[0] <= seq] or [0])
    change = ("SELECT seq, tag, scope, entity, entity_id, data{cast}, committed_at FROM server_change "
              "WHERE scope = %s AND seq > %s ORDER BY seq LIMIT %s")
    cases = ('SELECT {cols} FROM "case" WHERE committee_id = %s AND id > %s ORDER BY id LIMIT %s')
    events = "SELECT {cols} FROM case_event WHERE case_id = ANY(%s) ORDER BY seq"

    def pull_rows(cast: str) -> Callable[[], Any]:
        def run() -> Any:
            q = change.format(cast=cast)
            return (conn.execute(q, (com.id, seq, PULL_LIMIT + 1)).fetchall()
                    + conn.execute(q, (GLOBAL_SCOPE, ref, PULL_LIMIT + 1)).fetchall())
        return run

    def page_rows(as_text: bool) -> Callable[[], Any]:
        def cols(table: Any) -> str:
            return ", ".join(f'"{c.name}"::text' if as_text and isinstance(c.type, JSON) else f'"{c.name}"'
                             for c in table.columns)

        def run() -> Any:
            rows = conn.execute(cases.format(cols=cols(Case.__table__)),
                                (uuid.UUID(com.id), uuid.UUID(stream.middle_case), SNAPSHOT_LIMIT + 1)).fetchall()
            ids = [r[_CASE_ID] for r in rows]
            return rows, conn.execute(events.format(cols=cols(CaseEvent.__table__)),
                                      (ids,)).fetchall()
        return run

    return {"floor_pull_db": pull_rows("::text"), "floor_pull_json": pull_rows(""),
            "floor_snapshot_db": page_rows(True), "floor_snapshot_json": page_rows(False)}


def _calls(db: ServerDB, district: District, com: CommitteeState, stream: _Stream) -> dict[str, Callable[[], Any]]:
    token = district.tokens[com.id]
    middle = stream.cursor(len(stream.mine) // 2)
    # the route's function: the page as the JSON body it sends (app/server/snapshot.py), else the page itself
    page_fn = getattr(pull_service, "snapshot_page_json", pull_service.snapshot_page)

    def page(limit: int) -> Any:
        return page_fn(db, token, SnapshotQuery(kind="case", after=stream.middle_case, limit=limit), NOW)

    end = stream.cursor(max(0, len(stream.mine) - 1 - END_ROWS))
    return {
        "pull_middle": lambda: pull(db, token, PullQuery(cursor=middle, limit=PULL_LIMIT), NOW),
        "pull_middle_500": lambda: pull(db, token, PullQuery(cursor=middle, limit=DEFAULT_PULL_PAGE), NOW),
        "pull_end": lambda: pull(db, token, PullQuery(cursor=end, limit=PULL_LIMIT), NOW),
        "snapshot_start": lambda: snapshot_start(db, token, NOW),
        "snapshot_page_case": lambda: page(SNAPSHOT_LIMIT),
        "snapshot_page_case_default": lambda: page(DEFAULT_SNAPSHOT_PAGE),
        # for comparison: the same page with each row made in Python and encoded (the SQLite path)
        "snapshot_page_case_python": lambda: _python_rows(lambda: page(SNAPSHOT_LIMIT)),
        # what the route sends: the body pull_json writes (the payloads as stored), else the model dumped
        "pull_middle_wire": (lambda: pull_service.pull_json(db, token, PullQuery(cursor=middle, limit=PULL_LIMIT), NOW))
        if hasattr(pull_service, "pull_json") else
        (lambda: pull(db, token, PullQuery(cursor=middle, limit=PULL_LIMIT), NOW).model_dump_json()),
    }


def _python_rows(fn: Callable[[], Any]) -> Any:
    """``fn`` with the snapshot's rows made by its Python path (what it does on SQLite) instead of PostgreSQL's
    row_to_json: the page's figure before and after, on the same database in the same run."""
    chunk = getattr(server_snapshot, "_chunk", None)
    python = getattr(server_snapshot, "_chunk_py", None)
    if chunk is None or python is None:
        return fn()
    server_snapshot._chunk = python
    try:
        return fn()
    finally:
        server_snapshot._chunk = chunk


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    got = fn()
    return (time.perf_counter() - t) * 1000, got


def _describe(name: str, got: Any) -> dict[str, Any]:
    if name == "pull_middle_wire":
        return {"bytes": len(got)}
    if name.startswith("pull"):
        return {"changes": len(got.changes), "has_more": got.has_more}
    if name.startswith("snapshot_page"):
        if isinstance(got, bytes):
            body = json.loads(got)
            return {"rows": len(body["rows"]), "has_more": body["has_more"], "bytes": len(got)}
        return {"rows": len(got.rows), "has_more": got.has_more}

    if name.endswith(("report_month", "report_direct", "first_report")):
        return {"cases": got.total.cases, "rows": len(got.rows)}
    if name.startswith("floor_pull"):
        return {"rows": len(got)}
    if name.startswith("floor_snapshot"):
        return {"rows": len(got[0]), "events": len(got[1])}
    return {}


def measure(url: str, district: District, *, sample: int = 20, repeat: int = 5,
            progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The figures of every query (see the module's docstring); ``sample`` committees, ``repeat`` runs each."""
    say = progress or (lambda _msg: None)
    rng = random.Random(7)
    chosen = rng.sample(district.committees, min(sample, len(district.committees)))
    db = open_server_db(url, migrate=False)
    raw = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                          autocommit=True)
    times: dict[str, list[float]] = {}
    seen: dict[str, dict[str, Any]] = {}
    plans: dict[str, list[dict[str, Any]]] = {}
    try:
        for k, com in enumerate(chosen):
            stream = _Stream(db, com)
            calls = {**_calls(db, district, com, stream), **_floors(raw, com, stream)}
            for name, fn in calls.items():
                if k == 0 and not name.startswith("floor"):  # the plans of the first committee's calls
                    with captured(db) as statements:
                        fn()
                    plans[name] = explain(db, statements)
                _elapsed, got = _timed(fn)  # warm
                seen.setdefault(name, _describe(name, got))
                times.setdefault(name, []).extend(_timed(fn)[0] for _ in range(repeat))
            say(f"已测 {k + 1}/{len(chosen)} 个居委会")
        _reports(db, chosen, times, seen, plans, repeat, say)
    finally:
        raw.close()
        db.close()
    queries = {}
    for name, samples in times.items():
        executed = sum(p["execution_ms"] for p in plans.get(name, []))
        queries[name] = {"label": LABELS[name], **_ms(samples),
                         "target_ms": TARGET_MS if name in TARGETED else None, **seen.get(name, {}),
                         "sql_execution_ms": round(executed, 2), "flags": _flags(plans.get(name, []))}
    return {"sample": len(chosen), "repeat": repeat, "now": NOW.isoformat(), "queries": queries, "plans": plans}


def _reports(db: ServerDB, chosen: list[CommitteeState], times: dict[str, list[float]],
             seen: dict[str, dict[str, Any]], plans: dict[str, list[dict[str, Any]]], repeat: int,
             say: Callable[[str], None]) -> None:
    period = Period.month(*REPORT_MONTH)

    def direct() -> Any:
        with db.read_sessions() as s:
            return district_report(s, period, NOW, server_calendar(s))

    def direct_one(cid: uuid.UUID) -> Callable[[], Any]:
        def run() -> Any:
            with db.read_sessions() as s:
                return compute(s, period=period, breakdown=Breakdown.ITEM, now=NOW, calendar=server_calendar(s),
                               committee_ids=[cid])
        return run

    runs: dict[str, list[Callable[[], Any]]] = {}
    rolled = getattr(server_report, "month_report", None)
    if rolled is not None:  # the rollup (app/server/rollup.py): what the server's reports read
        _first_month(db, rolled, times, seen, say)

        def whole() -> Any:
            return rolled(db, period, NOW)

        def one(cid: uuid.UUID) -> Callable[[], Any]:
            return lambda: rolled(db, period, NOW, committee_id=cid)
        runs["district_report_month"] = [whole]
        runs["committee_report_month"] = [one(uuid.UUID(c.id)) for c in chosen[:5]]
        runs["district_report_direct"] = [direct]
        runs["committee_report_direct"] = [direct_one(uuid.UUID(c.id)) for c in chosen[:2]]
    else:
        runs["district_report_month"] = [direct]
        runs["committee_report_month"] = [direct_one(uuid.UUID(c.id)) for c in chosen[:5]]
    for name, fns in runs.items():
        with captured(db) as statements:
            _elapsed, got = _timed(fns[0])
        plans[name] = explain(db, statements)
        seen[name] = _describe(name, got)
        n = 1 if name.endswith("_direct") else max(1, repeat // 2 + 1)
        for fn in fns:
            times.setdefault(name, []).extend(_timed(fn)[0] for _ in range(n))
        say(f"已测 {LABELS[name]}")


def _first_month(db: ServerDB, rolled: Callable[..., Any], times: dict[str, list[float]],
                 seen: dict[str, dict[str, Any]], say: Callable[[str], None]) -> None:
    """The first report of a month counts the month into the rollup: timed on the month before the report's,
    forgotten first (a scratch database), so a second run of the bench measures it again."""
    y, m = REPORT_MONTH
    first = dt.date(y - (m == 1), (m - 2) % 12 + 1, 1)
    with db.sessions.begin() as s:
        s.execute(delete(ReportMonth).where(ReportMonth.month == first))
    elapsed, got = _timed(lambda: rolled(db, Period.month(first.year, first.month), NOW))
    times["rollup_first_report"] = [elapsed]
    seen["rollup_first_report"] = _describe("rollup_first_report", got)
    say(f"已测 {LABELS['rollup_first_report']}")
