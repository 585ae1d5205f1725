"""Storage: Alembic owns the schema, pragmas keep data safe, keys are UUIDv7, times are UTC."""

from __future__ import annotations

import datetime as dt
import uuid

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from app.desk.context import AppContext
from app.desk.db import (
    DB_FILENAME,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    integrity_check,
    make_engine,
    upgrade,
)
from app.desk.setup import FirstRunInput, initialise_desk
from models import Committee, Worker


def test_revision_chain_is_linear():
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, f"several heads: {heads}"
    seen = 0
    for rev in script.walk_revisions():
        seen += 1
        assert not isinstance(rev.down_revision, (tuple, list)), f"merge revision {rev.revision}"
    assert seen >= 1
    assert len(list(script.walk_revisions())) == len({r.revision for r in script.walk_revisions()})
    # The start-up reads the head from the scripts' text without loading Alembic: it must agree.
    assert head_revision() == script.get_current_head()


def test_everyday_start_loads_no_alembic(tmp_path):
    """A database already at head opens without importing Alembic (start-up time, issue 17)."""
    import subprocess
    import sys
    engine = make_engine(tmp_path / DB_FILENAME)
    upgrade(engine)
    engine.dispose()
    code = ("import sys; from pathlib import Path; from app.desk.db import make_engine, upgrade, current_revision;"
            f"e = make_engine(Path({str(tmp_path / DB_FILENAME)!r})); upgrade(e); print(current_revision(e));"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == head_revision()
    assert out[1] == "[]", out[1]


def _seed(ctx: AppContext) -> None:
    initialise_desk(ctx, FirstRunInput(committee_name="测试居委会", committee_code="T001",
                                       admin_login="admin", admin_name="管理员", admin_password="secret123"))


def test_upgrade_downgrade_upgrade_keeps_data(tmp_path):
    d = tmp_path / "d"
    ctx = AppContext.open(d)
    _seed(ctx)
    ctx.close()
    engine = make_engine(d / DB_FILENAME)
    revisions = [r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    # Step down every revision above the first and back up again; data written at head must survive.
    first = revisions[-1]
    downgrade(engine, first)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM committee")).scalar_one() == "测试居委会"
        assert conn.execute(text("SELECT login FROM worker")).scalar_one() == "admin"
    assert integrity_check(engine) == []


def test_full_downgrade_then_upgrade_recreates_schema(tmp_path):
    engine = make_engine(tmp_path / DB_FILENAME)
    upgrade(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert {"case", "case_event", "resident", "worker", "outbox"} <= set(inspect(engine).get_table_names())


def test_pragmas(ctx):
    with ctx.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_uuid7_keys_and_utc_times(ctx):
    _seed(ctx)
    with ctx.sessions() as s:
        com = s.scalars(select(Committee)).one()
        assert isinstance(com.id, uuid.UUID) and com.id.version == 7
        assert com.created_at.tzinfo is not None and com.created_at.utcoffset() == dt.timedelta(0)
        assert com.version == 1
        w = s.scalars(select(Worker)).one()
        assert w.password_hash.startswith("$argon2id$")


def test_foreign_keys_enforced(ctx):
    import pytest
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError):
        with ctx.sessions.begin() as s:
            s.add(Worker(committee_id=uuid.uuid4(), login="x", display_name="x", password_hash="x", roles=[]))


def test_no_create_all_in_code():
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    for folder in ("app", "models", "ui", "forms"):
        for p in (root / folder).rglob("*.py"):
            assert "create_all(" not in p.read_text(encoding="utf-8"), p
