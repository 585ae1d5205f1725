"""Fixtures for the district-server and sync tests; a test module enables them with::

    pytest_plugins = ("tests.server_fixtures",)

PostgreSQL: ``ONEDESK_TEST_PG_URL`` names a server where a uniquely named database is created for the
session (migrated once through the server's Alembic chain, dropped at the end); each test starts from empty
tables. Without the variable the tests skip loudly; with ``ONEDESK_REQUIRE_PG=1`` (CI) a missing or
unreachable PostgreSQL makes them fail instead. Helpers the tests call directly are in tests/sync_helpers.py.
"""

from __future__ import annotations

import os
import secrets

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.desk.auth import hash_password
from app.server.api import create_app
from app.server.db import ServerDB, normalise_url, open_server_db
from models import utcnow
from tests.sync_helpers import (
    PASSWORDS,
    PG_ENV,
    REQUIRE_ENV,
    Desk,
    FakeClock,
    TestClient,
    new_desk,
    reset_server,
    seed_server,
)


def _unavailable(reason: str):
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but PostgreSQL is not usable for the district-server tests: {reason}",
                    pytrace=False)
    pytest.skip(f"!!! DISTRICT-SERVER TESTS SKIPPED: {reason}. Set {PG_ENV}=postgresql+psycopg://postgres@"
                "127.0.0.1:5432/test to run them against PostgreSQL (CI also sets ONEDESK_REQUIRE_PG=1).")


@pytest.fixture(scope="session")
def pg_url():
    """A fresh, migrated PostgreSQL database for this test session."""
    url = os.environ.get(PG_ENV)
    if not url:
        _unavailable(f"{PG_ENV} is not set")
    admin_url = normalise_url(url)
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # any driver or network failure means the same: no PostgreSQL
        engine.dispose()
        _unavailable(f"cannot connect to {make_url(admin_url).render_as_string()}: {type(e).__name__}: {e}")
    name = f"onedesk_test_{os.getpid()}_{secrets.token_hex(3)}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    open_server_db(db_url).close()  # the server's own Alembic chain, once per session
    yield db_url
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def server_db(pg_url):
    """The session database with every table emptied: each test starts from a clean server."""
    db = open_server_db(pg_url, migrate=False)
    reset_server(db)
    yield db
    db.close()


@pytest.fixture
def server_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server_app(server_db, server_clock):
    return create_app(server_db, clock=server_clock)


@pytest.fixture
def api(server_app):
    return TestClient(server_app)


@pytest.fixture(scope="session")
def password_hashes() -> dict[str, str]:
    """Argon2 takes ~50 ms per hash: hash each test password once per session."""
    return {login: hash_password(pw) for login, pw in PASSWORDS.items()}


@pytest.fixture
def seeded(server_db, password_hashes) -> ServerDB:
    return seed_server(server_db, password_hashes)


@pytest.fixture
def make_desk(tmp_path, template_db, seeded, server_app):
    """Factory: a fresh desk data folder, enrolled through the API and synced once (accounts arrive)."""
    made: list[Desk] = []

    def make(name: str = "A", *, sync: bool = True, clock=utcnow) -> Desk:
        desk = new_desk(tmp_path / f"desk-{name}", template_db, seeded, server_app, name, sync=sync, clock=clock)
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.close()
