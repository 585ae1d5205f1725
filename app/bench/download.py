"""A fresh desk's first download (issue 18): how long a newly enrolled desk takes to receive its committee.

``fresh_download(server, db, committee_code, workdir)`` enrols brand-new desks against a running district
server (a :class:`app.bench.sync.BenchServer`, or any server's URL) and times each one's first sync round —
the snapshot of everything the committee has, then the pull that follows it — as a worker would wait for it
after enrolment. ``python main.py bench sync`` calls it once the throughput part has pushed its cases; it only
reads what the server already holds. Target: 10,000 cases in under :data:`TARGET_S` seconds.

The desks keep their keys and tokens where app/desk/keystore.py puts them: the bench points XDG_CONFIG_HOME at
its own folder first, and so should any other caller.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select

from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, make_engine, upgrade
from app.desk.sync.client import SyncClient
from app.desk.sync.enroll import enroll_desk
from app.server import admin
from app.server.db import ServerDB
from models import Case, CaseEvent

TARGET_S = 3.0
DEFAULT_COMMITTEE = "B0001"  # the committee app/bench/sync.py seeds


class _Served(Protocol):
    url: str


def _url(server: _Served | str) -> str:
    return server if isinstance(server, str) else server.url


def _server_cpu_s(server: _Served | str) -> float | None:
    """CPU seconds the server process has used so far (Linux, a server this bench started), else None."""
    pid = getattr(getattr(server, "proc", None), "pid", None)
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _template(workdir: Path) -> Path:
    path = workdir / f"fresh-template-{secrets.token_hex(3)}.sqlite3"
    engine = make_engine(path)
    upgrade(engine)
    engine.dispose()
    return path


def _one(url: str, db: ServerDB, committee_code: str, folder: Path, template: Path) -> dict[str, Any]:
    folder.mkdir(parents=True)
    shutil.copyfile(template, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    client: SyncClient | None = None
    try:
        code, _ = admin.create_enroll_code(db, committee_code)
        enroll_desk(ctx, url, code, allow_insecure_http=url.startswith("http://"))
        client = SyncClient(ctx)
        t0, cpu0 = time.perf_counter(), time.process_time()
        result = client.sync_once()
        seconds, desk_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if not result.ok:
            raise RuntimeError(result.error)
        with ctx.sessions() as s:
            cases = s.scalar(select(func.count()).select_from(Case)) or 0
            events = s.scalar(select(func.count()).select_from(CaseEvent)) or 0
        return {"seconds": seconds, "desk_cpu_s": desk_cpu, "rows": result.pulled, "cases": cases,
                "events": events, "snapshot": result.snapshot}
    finally:
        if client is not None:
            client.close()
        ctx.close()
        shutil.rmtree(folder, ignore_errors=True)  # 10,000 cases are tens of MB per desk


def fresh_download(server: _Served | str, db: ServerDB, committee_code: str = DEFAULT_COMMITTEE,
                   workdir: Path | str | None = None, *, runs: int | None = None, quick: bool = False,
                   template: Path | None = None) -> dict:
    """Enrol ``runs`` fresh desks of ``committee_code`` (default 3, ``quick`` 1) one after the other and time
    each one's first sync round (``template``: a migrated empty desk database to copy). Returns ``seconds`` (the
    median), ``runs`` (each), ``rows`` (rows the desk wrote), ``cases`` and ``events`` (on the desk afterwards),
    ``desk_cpu_s`` and, for a server process this bench started, ``server_cpu_s`` (medians), ``target_s`` and
    ``met``."""
    url = _url(server)
    with tempfile.TemporaryDirectory(prefix="onedesk-fresh-") as scratch:
        base = Path(workdir) if workdir is not None else Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        template = template or _template(base)
        measured = []
        for i in range(max(1, runs or (1 if quick else 3))):
            before = _server_cpu_s(server)
            one = _one(url, db, committee_code, base / f"fresh-{i}-{secrets.token_hex(3)}", template)
            after = _server_cpu_s(server)
            one["server_cpu_s"] = None if before is None or after is None else after - before
            measured.append(one)
    seconds = statistics.median(m["seconds"] for m in measured)
    server_cpu = [m["server_cpu_s"] for m in measured if m["server_cpu_s"] is not None]
    last = measured[-1]
    return {"seconds": round(seconds, 2), "runs": [round(m["seconds"], 2) for m in measured],
            "rows": last["rows"], "cases": last["cases"], "events": last["events"],
            "desk_cpu_s": round(statistics.median(m["desk_cpu_s"] for m in measured), 2),
            "server_cpu_s": round(statistics.median(server_cpu), 2) if server_cpu else None,
            "target_s": TARGET_S, "met": seconds < TARGET_S}
