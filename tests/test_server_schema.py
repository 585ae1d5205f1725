"""The server's schema belongs to its own Alembic chain: linear, matches the models, upgrades and downgrades,
and never mixes with the desk's chain (own folder, own version table)."""

from __future__ import annotations

import os
import secrets

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.server.db import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    make_engines,
    normalise_url,
    upgrade,
)
from models.server import include_server_object, server_target_metadata
from tests.sync_helpers import PG_ENV

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks


def test_server_chain_is_linear_and_separate_from_the_desk():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    assert all(not isinstance(r.down_revision, (tuple, list)) for r in script.walk_revisions())
    from app.desk.db import alembic_config as desk_config
    desk = {r.revision for r in ScriptDirectory.from_config(desk_config()).walk_revisions()}
    assert desk.isdisjoint(r.revision for r in script.walk_revisions())


def _check_roundtrip(url: str) -> None:
    engine, _ = make_engines(url)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        names = set(inspect(engine).get_table_names())
        assert {VERSION_TABLE, "server_change", "server_device", "case", "worker"} <= names
        assert "outbox" not in names and "alembic_version" not in names  # desk-only tables stay on desks
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True,
                                                         "include_object": include_server_object})
            assert compare_metadata(ctx, server_target_metadata()) == []
            assert conn.execute(text("SELECT last_seq FROM server_sync_lock WHERE id = 1")).scalar_one() == 0
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {VERSION_TABLE}
        upgrade(engine)
    finally:
        engine.dispose()


def test_sqlite_schema_roundtrip(tmp_path):
    _check_roundtrip(f"sqlite:///{tmp_path / 'server.sqlite3'}")


@pytest.mark.server
def test_postgresql_schema_roundtrip(pg_url):
    admin_engine = create_engine(normalise_url(os.environ[PG_ENV]), isolation_level="AUTOCOMMIT")
    name = f"onedesk_schema_{secrets.token_hex(4)}"
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _check_roundtrip(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()
