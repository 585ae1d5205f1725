"""Serving from several worker processes (issue 18): the database connections shared among them, the metrics
folder they share, and the application factory uvicorn calls in each.

``python main.py server --workers N`` opens (and upgrades) the database once in the parent, closes it, leaves
the settings in the environment (:func:`worker_environment`) and hands uvicorn :data:`FACTORY`. uvicorn binds
the socket once and starts N worker processes (multiprocessing's *spawn*: a fresh interpreter each), and each
calls :func:`app_from_env`, which opens that process's own engine and pool: no connection crosses a process.

Standard library only at import: the command line imports this module to parse ``server`` arguments.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.errors import UserError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.server.db import ServerDB

FACTORY = "app.server.workers:app_from_env"
ENV_DB = "ONEDESK_SERVER_DB"
ENV_FILES = "ONEDESK_SERVER_ATTACHMENTS"
ENV_POOL = "ONEDESK_SERVER_POOL"  # "<kept open>,<overflow>" of each worker's pool
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for the shared metrics folder

# PostgreSQL accepts 100 connections unless configured otherwise, 3 of them kept for superusers; 80 for the
# server's workers leaves the rest to the administrator's commands (`server held`, `attachments gc`, each with
# its own connection), pg_dump, psql and a monitoring agent.
DEFAULT_CONNECTIONS = 80
# One worker never needs more: anyio runs the sync routes — all database work — in at most 40 threads per
# process, each holding one connection at a time, and 10 more cover a request that briefly holds a second.
# It is the pool one process always had (10 kept open + 40 while busy), so `--workers 1` serves as before.
MAX_PER_WORKER = 50
KEPT_OPEN = 10
MIN_PER_WORKER = 2


class WorkerPlanError(UserError, ValueError):
    """A worker count or connection budget that cannot work; Chinese message."""


@dataclass(frozen=True)
class PoolPlan:
    """Each worker's pool (PostgreSQL; SQLite keeps no pool) within the budget of connections for all of them."""

    workers: int
    budget: int
    pool_size: int  # connections each worker keeps open
    max_overflow: int  # more it opens while busy, closed again when returned

    @property
    def per_worker(self) -> int:
        return self.pool_size + self.max_overflow

    @property
    def most(self) -> int:
        """Connections all workers together may hold at once (never above the budget)."""
        return self.workers * self.per_worker

    def describe(self, dialect: str) -> str:
        """The start-up line saying how the server uses the machine (Chinese)."""
        if dialect != "postgresql":
            return f"工作进程：{self.workers} 个  数据库连接：SQLite 文件，不设连接池"
        return (f"工作进程：{self.workers} 个  数据库连接：每个进程最多 {self.per_worker} 个"
                f"（常驻 {self.pool_size} 个），合计最多 {self.most} 个（预算 {self.budget} 个）")


def plan_pool(workers: int, budget: int = DEFAULT_CONNECTIONS) -> PoolPlan:
    """Split ``budget`` connections evenly among ``workers`` processes, none above :data:`MAX_PER_WORKER`."""
    if workers < 1:
        raise WorkerPlanError("--workers 至少为 1")
    share = min(budget // workers, MAX_PER_WORKER)
    if share < MIN_PER_WORKER:
        raise WorkerPlanError(f"数据库连接预算不够：{workers} 个工作进程每个至少要 {MIN_PER_WORKER} 个连接，"
                              f"请把 --db-connections 设为至少 {workers * MIN_PER_WORKER}，或减少 --workers")
    kept = min(KEPT_OPEN, share)
    return PoolPlan(workers, budget, kept, share - kept)


def connection_limit(db: ServerDB) -> int | None:
    """Connections the PostgreSQL server accepts from ordinary roles (None on SQLite)."""
    if db.dialect != "postgresql":
        return None
    with db.engine.connect() as conn:
        most = int(conn.exec_driver_sql("SHOW max_connections").scalar_one())
        reserved = int(conn.exec_driver_sql("SHOW superuser_reserved_connections").scalar_one())
    return most - reserved


def worker_environment(url: str, attachments: Path, plan: PoolPlan) -> dict[str, str]:
    """What :func:`app_from_env` reads in each worker (the database URL with its password, as ``--db`` had it)."""
    return {ENV_DB: url, ENV_FILES: str(attachments), ENV_POOL: f"{plan.pool_size},{plan.max_overflow}"}


@contextlib.contextmanager
def metrics_folder(workers: int) -> Iterator[Path | None]:
    """The folder where the worker processes write their metrics, for prometheus_client's multiprocess mode.

    One named by ``PROMETHEUS_MULTIPROC_DIR`` (the operator's) is emptied first — what an earlier run left would
    be added to this one's — and kept; otherwise with several workers a fresh temporary folder is made, named in
    the environment the workers inherit, and removed afterwards. One process without the variable needs none.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        yield folder
        return
    if workers == 1:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="onedesk-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield folder
    finally:
        del os.environ[MULTIPROC_ENV]
        shutil.rmtree(folder, ignore_errors=True)


# Python collects its youngest generation every 700 new objects that may hold references. A pushed batch makes
# hundreds of thousands (ORM objects and their states, payload rows), nearly all alive until its answer is sent,
# so most collections found nothing to free and the older generations were walked again and again: about a tenth
# of the server's CPU per command (issue 18, ``bench sync --only push``). Collected rarely instead; what the
# process holds from start-up (catalog, schema, the application) is frozen out of every collection.
GC_THRESHOLDS = (50_000, 20, 10)


def tune_gc() -> None:
    """Once the application is built, before serving: collect, freeze what is there, collect rarely from now on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def app_from_env() -> FastAPI:
    """uvicorn's factory, called once in each worker process: the application on this process's own engine."""
    from app.server import metrics
    from app.server.api import create_app
    from app.server.db import open_server_db

    pool_size, max_overflow = (int(n) for n in os.environ[ENV_POOL].split(","))
    # The parent upgraded the schema and made the lock rows before starting the workers.
    db = open_server_db(os.environ[ENV_DB], migrate=False, pool_size=pool_size, max_overflow=max_overflow)
    app = create_app(db, attachments_dir=Path(os.environ[ENV_FILES]))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        metrics.worker_stopped()
        db.close()

    app.router.lifespan_context = lifespan
    tune_gc()
    return app
