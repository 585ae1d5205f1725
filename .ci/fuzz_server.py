"""Fuzz the district server's OpenAPI with schemathesis, every check on (issue 14): ``.ci/schemathesis``.

Starts a real ``python main.py server`` on a free loopback port over a fresh PostgreSQL database (created on the
server named by ``ONEDESK_TEST_PG_URL``, migrated through the server's Alembic chain, dropped at the end), with one
committee, one worker and a device enrolled through the API, and runs ``schemathesis run --checks all`` with that
device's token. Prints the number of requests and of 5xx answers (read from schemathesis' HAR report); exits 1 on
any 5xx. ``--max-examples`` bounds the run (default 60 per operation and phase); extra arguments go to schemathesis.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.wire import Endpoint, EnrollRequest, EnrollResponse  # noqa: E402
from app.desk.auth import hash_password  # noqa: E402
from app.server import admin  # noqa: E402
from app.server.db import normalise_url, open_server_db  # noqa: E402
from tests.sync_helpers import free_port, start_server, stop_server, wait_ready  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COMMITTEE = "320302001"


def _database(admin_url: str) -> tuple[str, str]:
    """(name, URL) of a fresh, migrated server database."""
    name = f"onedesk_fuzz_{os.getpid()}_{secrets.token_hex(3)}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    db = open_server_db(url)
    admin.add_committee(db, COMMITTEE, "幸福里社区居民委员会", phone="0516-83001234")
    admin.add_worker(db, COMMITTEE, "desk", "王晓燕", roles=["front_desk"], lines=[],
                     password_hash=hash_password("deskpass"))
    db.close()
    return name, url


def _drop(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _enrol(base: str, db_url: str) -> str:
    db = open_server_db(db_url, migrate=False)
    code, _ = admin.create_enroll_code(db, COMMITTEE)
    db.close()
    r = httpx.post(base + Endpoint.ENROLL, json=EnrollRequest(code=code, device_name="fuzz").wire(), timeout=30)
    r.raise_for_status()
    return EnrollResponse.model_validate(r.json()).token


def _figures(har: Path) -> tuple[int, int]:
    """(requests, 5xx answers) recorded in schemathesis' HAR report."""
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    return len(entries), sum(1 for e in entries if int(e["response"]["status"]) >= 500)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=14)
    args, extra = parser.parse_known_args(argv)
    admin_url = normalise_url(os.environ.get("ONEDESK_TEST_PG_URL", DEFAULT_PG))
    name, db_url = _database(admin_url)
    work = Path(tempfile.mkdtemp(prefix="onedesk-fuzz-"))
    proc, port = start_server(work, db_url, port=free_port())
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, proc)
        token = _enrol(base, db_url)
        har = work / "requests.har"
        config = ROOT / ".ci" / "schemathesis.toml"
        cmd = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
               "run", f"{base}/openapi.json", "--checks", "all",
               "--header", f"Authorization: Bearer {token}", "--max-examples", str(args.max_examples),
               "--seed", str(args.seed), "--workers", "1", "--report", "har", "--report-har-path", str(har),
               "--suppress-health-check", "all", *extra]
        shown = [c if not c.startswith("Authorization:") else "Authorization: Bearer ***" for c in cmd]
        print("$", " ".join(shown), flush=True)
        rc = subprocess.call(cmd, cwd=work)
        requests, errors = _figures(har) if har.exists() else (0, 0)
        print(f"schemathesis: {requests} requests, {errors} answered 5xx (schemathesis exit code {rc})")
        return 1 if errors or not requests else 0
    finally:
        stop_server(proc)
        _drop(admin_url, name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
