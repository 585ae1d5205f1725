"""Desks with real data folders against a real ``main.py server`` process on its own PostgreSQL database,
and the administrator's backup and restore of that database (``CREATE DATABASE … TEMPLATE``).

Used by the tests that must see the whole path a district meets: HTTP, the server process, Alembic at start,
the desk's SQLite files. The in-process desks of tests/sync_helpers.py are faster but share the test's process.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url

from app.desk.auth import WorkerInfo, worker_info
from app.desk.cases import CaseService
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.sync.client import SyncClient, SyncResult
from app.desk.sync.enroll import enroll_desk
from app.server import admin
from app.server.db import ServerDB, normalise_url, open_server_db
from models import Case, CaseEvent, Worker
from tests.sync_helpers import COMMITTEE, PG_ENV, free_port, seed_server, start_server, stop_server, wait_ready


def admin_engine() -> Engine:
    return create_engine(normalise_url(os.environ[PG_ENV]), isolation_level="AUTOCOMMIT")


class LiveServer:
    """One server database and the process serving it on a fixed loopback port (so desks keep their address)."""

    def __init__(self, pg_url: str, work: Path):
        self.pg_url, self.work = pg_url, work
        self.engine = admin_engine()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = ""
        self.proc = None
        self.made: list[str] = []

    def db_url(self, database: str) -> str:
        return make_url(self.pg_url).set(database=database).render_as_string(hide_password=False)

    def create(self, hashes: dict[str, str]) -> None:
        """A fresh database, migrated by the server's chain, with the test committee."""
        self.database = self._new_name()
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.database}"'))
        db = open_server_db(self.db_url(self.database))
        seed_server(db, hashes)
        db.close()

    def _new_name(self) -> str:
        name = f"onedesk_live_{os.getpid()}_{secrets.token_hex(3)}"
        self.made.append(name)
        return name

    def start(self) -> None:
        self.proc, _ = start_server(self.work, self.db_url(self.database), port=self.port)
        wait_ready(self.url, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop_server(self.proc)
            self.proc = None

    def backup(self) -> str:
        """Copy the database now (the process must be stopped: a template may have no connections)."""
        name = self._new_name()
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.database}"'))
        return name

    def restore(self, backup: str) -> None:
        """Serve a fresh copy of ``backup`` from now on (the backup itself stays for the next restore)."""
        name = self._new_name()
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{backup}"'))
        self.database = name

    def open_db(self) -> ServerDB:
        return open_server_db(self.db_url(self.database), migrate=False)

    def enroll_code(self) -> str:
        db = self.open_db()
        try:
            return admin.create_enroll_code(db, COMMITTEE)[0]
        finally:
            db.close()

    def drop_all(self) -> None:
        self.stop()
        with self.engine.connect() as conn:
            for name in self.made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@dataclass
class LiveDesk:
    """A desk data folder that talks to the server process over HTTP, as the installed app does."""

    name: str
    folder: Path
    ctx: AppContext | None = None
    client: SyncClient | None = None
    cases: CaseService | None = None
    workers: dict[str, WorkerInfo] = field(default_factory=dict)

    @classmethod
    def new(cls, name: str, folder: Path, template_db: Path, server: LiveServer) -> LiveDesk:
        folder.mkdir(parents=True)
        shutil.copyfile(template_db, folder / DB_FILENAME)
        desk = cls(name, folder).open()
        enroll_desk(desk.ctx, server.url, server.enroll_code(), device_name=f"前台{name}",
                    allow_insecure_http=True)  # a plain-http server process: the lab opt-in
        desk.sync()
        return desk

    def open(self) -> LiveDesk:
        self.ctx = AppContext.open(self.folder)
        self.client = SyncClient(self.ctx)
        self.cases = CaseService(self.ctx)
        self.workers = {}
        return self

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.ctx is not None:
            self.ctx.close()
        self.ctx = self.client = self.cases = None

    def copy_to(self, folder: Path) -> LiveDesk:
        """The same desk (same device, same token) in another folder: a closed desk's files copied."""
        assert self.ctx is None, "close the desk before copying its folder"
        shutil.copytree(self.folder, folder)
        return LiveDesk(self.name, folder)

    def sync(self) -> SyncResult:
        result = self.client.sync_once()
        assert result.ok, f"desk {self.name}: {result.error}"
        return result

    def worker(self, login: str) -> WorkerInfo:
        if login not in self.workers:
            with self.ctx.sessions() as s:
                self.workers[login] = worker_info(s.scalars(select(Worker).where(Worker.login == login)).one())
        return self.workers[login]


def history(sessions, case_ids) -> dict:
    """What the acknowledged history of each case is made of: its state and its events in order (who, when,
    what, from, to, note). Event ids and the audit detail differ between copies and are left out."""
    out = {}
    with sessions() as s:
        for cid in case_ids:
            case = s.get(Case, cid)
            if case is None:
                out[cid] = None
                continue
            events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid).order_by(CaseEvent.seq))
            out[cid] = (case.state, case.version, case.reply_text, _iso(case.closed_at), _iso(case.due_at),
                        [(e.seq, e.action, e.from_state, e.to_state, str(e.worker_id), _iso(e.at), e.note)
                         for e in events])
    return out


def _iso(when) -> str | None:
    return when.isoformat() if when else None
