"""Issue 14, finding 4 ("nothing is encrypted at rest"): the desk database, its backups and the pre-restore copies
are SQLCipher files keyed from the OS key store (app/desk/keystore.py); a plain database from before is converted
once with nothing lost; the data folder is 0700 and its files 0600."""

from __future__ import annotations

import logging
import os
import stat
from contextlib import closing
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from sqlalchemy import func, select

from app.cli.main import main
from app.demo.seed import seed_demo
from app.desk import keystore
from app.desk.backup import backup, restore
from app.desk.catalog.refs import item_ref
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, connect, is_plain_sqlite, open_database
from models import Case, OutboxEntry, Resident

TABLES = (Case, Resident, OutboxEntry)


def _id_numbers(ctx: AppContext) -> list[str]:
    with ctx.sessions() as s:
        return list(s.scalars(select(Resident.id_number)))


def _counts(ctx: AppContext) -> dict[str, int]:
    with ctx.sessions() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0 for m in TABLES}


def _raw(path: Path) -> bytes:
    """The file and its WAL, as a thief copying the folder would read them."""
    data = path.read_bytes()
    wal = Path(f"{path}-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def _plain_demo(folder: Path) -> tuple[list[str], dict[str, int]]:
    """A database as the desk kept it before encryption: plain SQLite holding residents, cases and outbox rows."""
    folder.mkdir()
    engine, sessions = open_database(folder, encrypted=False)
    ctx = AppContext(data_dir=folder, engine=engine, sessions=sessions)
    assert seed_demo(ctx, item_ref)
    ids, counts = _id_numbers(ctx), _counts(ctx)
    ctx.close()
    assert is_plain_sqlite(folder / DB_FILENAME)
    assert ids and ids[0].encode() in _raw(folder / DB_FILENAME)  # the finding, on the old layout
    return ids, counts


def test_raw_database_file_holds_no_id_number(demo_ctx):
    """Finding 4: all ID numbers were readable in the raw onedesk.sqlite3 (and its WAL)."""
    ids = _id_numbers(demo_ctx)
    assert len(ids) >= 3
    raw = _raw(demo_ctx.data_dir / DB_FILENAME)
    assert not raw.startswith(b"SQLite format 3")
    for number in ids:
        assert number.encode() not in raw
        assert number.encode("utf-16-le") not in raw


def test_the_key_is_in_the_key_store_not_in_the_data_folder(demo_ctx):
    """Finding 4: the database key sits in the OS key store; nothing in the data folder or a fallback file holds it."""
    stored = keyring.get_password(keystore.SERVICE, keystore.DATABASE_KEY_NAME)
    assert stored is not None and len(bytes.fromhex(stored)) == 32
    key = bytes.fromhex(stored)
    for f in demo_ctx.data_dir.rglob("*"):
        if f.is_file():
            content = f.read_bytes()
            assert key not in content and stored.encode() not in content, f
    assert not keystore.fallback_dir().exists()


def test_a_desk_without_a_key_store_keeps_the_key_in_a_private_file_and_says_so(tmp_path, monkeypatch, caplog):
    """Finding 4, documented fallback: no key store → a 0600 key file in a 0700 folder outside the data folder,
    and a loud log line."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())
    caplog.set_level(logging.WARNING)
    folder = tmp_path / "desk"
    ctx = AppContext.open(folder)
    try:
        assert not is_plain_sqlite(folder / DB_FILENAME)
    finally:
        ctx.close()
    key_file = keystore.fallback_dir() / keystore.DATABASE_KEY_NAME
    assert len(bytes.fromhex(key_file.read_text())) == 32
    assert not key_file.is_relative_to(folder)
    if os.name == "posix":
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(keystore.fallback_dir().stat().st_mode) == 0o700
    assert any("no operating-system key store" in r.getMessage() for r in caplog.records)
    ctx = AppContext.open(folder)  # the same key again: the folder opens
    ctx.close()


def test_folder_is_0700_and_files_0600(tmp_path, demo_ctx):
    """Finding 4: files were created 0644, so any local account could copy the database."""
    folder = demo_ctx.data_dir
    with demo_ctx.sessions.begin() as s:  # a write, so the WAL exists
        s.execute(select(1))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in (DB_FILENAME, DB_FILENAME + "-wal", DB_FILENAME + "-shm"):
        p = folder / name
        if p.exists():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, name
    out = backup(folder, tmp_path / "b.sqlite3")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_plain_database_is_converted_once_with_nothing_lost(tmp_path, capsys):
    """Finding 4: an existing plain database is converted at upgrade; counts match, no ID bytes remain, and
    db check, backup and restore keep working."""
    folder = tmp_path / "desk"
    ids, counts = _plain_demo(folder)
    assert counts["case"] and counts["resident"] and counts["outbox"]
    ctx = AppContext.open(folder)
    try:
        assert _counts(ctx) == counts
        assert sorted(_id_numbers(ctx)) == sorted(ids)
    finally:
        ctx.close()
    db = folder / DB_FILENAME
    assert not is_plain_sqlite(db)
    raw = _raw(db)
    assert not any(n.encode() in raw for n in ids)
    assert not list(folder.glob("*.encrypting*"))
    assert main(["--data-dir", str(folder), "db", "check"]) == 0
    assert capsys.readouterr().out.strip().endswith("OK")
    out = tmp_path / "backup.sqlite3"
    assert main(["--data-dir", str(folder), "backup", "--out", str(out)]) == 0
    assert not is_plain_sqlite(out) and not any(n.encode() in out.read_bytes() for n in ids)
    assert main(["--data-dir", str(folder), "restore", str(out)]) == 0
    kept = list(folder.glob("onedesk-before-restore-*.sqlite3"))
    assert len(kept) == 1
    assert not is_plain_sqlite(kept[0]) and not any(n.encode() in kept[0].read_bytes() for n in ids)
    ctx = AppContext.open(folder)
    try:
        assert _counts(ctx) == counts
    finally:
        ctx.close()


def test_an_old_plain_backup_restores_encrypted(tmp_path):
    """Finding 4: a backup made before encryption still restores, and goes in encrypted."""
    old = tmp_path / "old"
    ids, counts = _plain_demo(old)
    folder = tmp_path / "desk"
    AppContext.open(folder).close()
    restore(folder, old / DB_FILENAME)
    db = folder / DB_FILENAME
    assert not is_plain_sqlite(db) and not any(n.encode() in _raw(db) for n in ids)
    ctx = AppContext.open(folder)
    try:
        assert _counts(ctx) == counts
    finally:
        ctx.close()


def test_backup_needs_the_key(tmp_path, demo_ctx):
    """Finding 4: a backup is not plain SQLite; read with another key it is refused, with the desk's key it opens."""
    out = backup(demo_ctx.data_dir, tmp_path / "b.sqlite3")
    assert not out.read_bytes().startswith(b"SQLite format 3")
    with closing(connect(out, read_only=True)) as con:
        assert con.execute("SELECT count(*) FROM resident").fetchone()[0] == len(_id_numbers(demo_ctx))
    from app.desk.db import StorageError
    with pytest.raises(StorageError):
        connect(out, key=b"\x01" * 32, read_only=True)


def test_a_device_token_in_the_database_moves_to_the_key_store(tmp_path):
    """Finding 4: the device token was stored in plain text in ``device.token``; at upgrade it moves into the key
    store and the column is emptied."""
    from models import Device
    folder = tmp_path / "desk"
    _plain_demo(folder)
    engine, sessions = open_database(folder, encrypted=False)
    with sessions.begin() as s:
        dev = s.scalars(select(Device).where(Device.is_local.is_(True))).one()
        dev.token = "dev-1.secret-token-value"
        dev_id = dev.id
    engine.dispose()
    ctx = AppContext.open(folder)
    try:
        with ctx.sessions() as s:
            dev = s.get_one(Device, dev_id)
            assert dev.token is None
            assert keystore.device_token(dev) == "dev-1.secret-token-value"
    finally:
        ctx.close()
    assert keyring.get_password(keystore.SERVICE, keystore.device_token_name(dev_id)) == "dev-1.secret-token-value"
    assert b"secret-token-value" not in _raw(folder / DB_FILENAME)


def test_db_upgrade_converts_a_plain_database(tmp_path, capsys):
    """Finding 4: ``db upgrade`` on a folder from before encryption converts it, keeping every row."""
    folder = tmp_path / "desk"
    ids, counts = _plain_demo(folder)
    assert main(["--data-dir", str(folder), "db", "upgrade"]) == 0
    db = folder / DB_FILENAME
    assert not is_plain_sqlite(db) and not any(n.encode() in _raw(db) for n in ids)
    assert main(["--data-dir", str(folder), "db", "check"]) == 0
    ctx = AppContext.open(folder)
    try:
        assert _counts(ctx) == counts
    finally:
        ctx.close()


def test_restore_refuses_a_backup_under_another_key_and_changes_nothing(tmp_path, demo_ctx, capsys):
    """Finding 4: a file encrypted with another desk's key is refused with a Chinese reason, nothing changed."""
    folder = demo_ctx.data_dir
    foreign = tmp_path / "foreign.sqlite3"
    with closing(connect(foreign, key=b"\x02" * 32)) as con:
        con.execute("CREATE TABLE t (x)")
    demo_ctx.close()
    before = (folder / DB_FILENAME).read_bytes()
    assert main(["--data-dir", str(folder), "restore", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert "密钥" in err and "Traceback" not in err
    assert (folder / DB_FILENAME).read_bytes() == before


def test_the_key_store_fallback_is_said_once_not_on_every_read(monkeypatch, caplog):
    """A desk without a key store reads its device token on every sync request: the warning comes once."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())
    caplog.set_level(logging.WARNING)
    keystore.set_secret("probe-secret", "abc")
    for _ in range(3):
        assert keystore.get_secret("probe-secret") == "abc"
    said = [r for r in caplog.records if "no operating-system key store" in r.getMessage()
            and "probe-secret" in r.getMessage()]
    assert len(said) == 1
