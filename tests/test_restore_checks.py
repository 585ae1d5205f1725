"""``restore`` checks a file before it replaces the desk's database; ``db check`` sees missing tables
(issue 12, finding 2): a future revision, foreign-key violations, a missing table — each refused with a Chinese
reason, the current database untouched."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from app.cli.main import main
from app.desk.backup import backup
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, connect, current_revision, downgrade, head_revision, make_engine
from app.desk.setup import FirstRunInput, initialise_desk


@pytest.fixture
def desk(tmp_path, data_dir) -> tuple[Path, Path]:
    """A desk folder and a good backup of it (taken after the desk was changed once more)."""
    ctx = AppContext.open(data_dir)
    initialise_desk(ctx, FirstRunInput(committee_name="测试居委会", committee_code="T001", admin_login="admin",
                                       admin_name="管理员", admin_password="secret123"))
    ctx.close()
    good = backup(data_dir, tmp_path / "good.sqlite3")
    _sql(data_dir / DB_FILENAME, "UPDATE committee SET name='恢复前的名字'")
    return data_dir, good


def _sql(db: Path, *statements: str) -> None:
    with closing(connect(db)) as con, con:  # closed, so nothing is checkpointed into it later
        for statement in statements:
            con.execute(statement)


def _one(db: Path, query: str):
    with closing(connect(db)) as con:
        return con.execute(query).fetchone()[0]


def _spoil(good: Path, tmp_path: Path, *sql: str) -> Path:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(good.read_bytes())
    _sql(bad, *sql)  # foreign keys are off on a bare DB-API connection
    return bad


def _refused(folder: Path, bad: Path, capsys) -> str:
    before = (folder / DB_FILENAME).read_bytes()
    assert main(["--data-dir", str(folder), "restore", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "未恢复" in err, err
    assert (folder / DB_FILENAME).read_bytes() == before
    assert not list(folder.glob("onedesk-before-restore-*")) and not list(folder.glob("*.restoring*"))
    return err


def test_restore_refuses_a_database_from_a_newer_program(desk, tmp_path, capsys):
    folder, good = desk
    bad = _spoil(good, tmp_path, "UPDATE alembic_version SET version_num='9f9f9f9f_future'")
    err = _refused(folder, bad, capsys)
    assert "更新版本" in err and "9f9f9f9f_future" in err


def test_restore_refuses_foreign_key_violations(desk, tmp_path, capsys):
    folder, good = desk
    bad = _spoil(good, tmp_path, "UPDATE worker SET committee_id = '00112233445566778899aabbccddeeff'")
    err = _refused(folder, bad, capsys)
    assert "关联" in err and "worker" in err


def test_restore_refuses_a_database_without_the_outbox(desk, tmp_path, capsys):
    folder, good = desk
    bad = _spoil(good, tmp_path, "DROP TABLE outbox")
    err = _refused(folder, bad, capsys)
    assert "缺少数据表" in err and "outbox" in err


def test_restore_refuses_a_database_without_a_revision(desk, tmp_path, capsys):
    folder, good = desk
    bad = _spoil(good, tmp_path, "DELETE FROM alembic_version")
    assert "版本" in _refused(folder, bad, capsys)


def test_restore_accepts_an_older_revision_and_brings_it_to_head(desk, tmp_path, capsys):
    folder, good = desk
    old = tmp_path / "old.sqlite3"
    old.write_bytes(good.read_bytes())
    engine = make_engine(old)
    downgrade(engine, "0002")
    engine.dispose()
    assert main(["--data-dir", str(folder), "restore", str(old)]) == 0
    engine = make_engine(folder / DB_FILENAME)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    assert main(["--data-dir", str(folder), "db", "check"]) == 0
    assert _one(folder / DB_FILENAME, "SELECT name FROM committee") == "测试居委会"


def test_restore_of_a_good_backup_still_works(desk, capsys):
    folder, good = desk
    assert main(["--data-dir", str(folder), "restore", str(good)]) == 0
    assert _one(folder / DB_FILENAME, "SELECT name FROM committee") == "测试居委会"


def test_db_check_reports_a_missing_table(desk, capsys):
    folder, _good = desk
    _sql(folder / DB_FILENAME, "DROP TABLE outbox")
    assert main(["--data-dir", str(folder), "db", "check"]) == 1
    assert "outbox" in capsys.readouterr().out


def test_db_upgrade_of_a_database_from_a_newer_program_is_a_chinese_message(desk, capsys):
    folder, _good = desk
    _sql(folder / DB_FILENAME, "UPDATE alembic_version SET version_num='9f9f9f9f_future'")
    assert main(["--data-dir", str(folder), "db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "更新版本" in err and "内部出错" not in err, err
