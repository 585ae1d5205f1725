"""The desk's attachment file store: content-addressed, encrypted at rest, verified on read, resumable downloads."""

from __future__ import annotations

import hashlib
import os
import stat
from contextlib import closing

import pytest

from app.core.errors import UserError
from app.core.limits import ATTACHMENT_MAX_BYTES
from app.desk.attachments.store import (
    BlobDamaged,
    BlobError,
    BlobHashMismatch,
    BlobMissing,
    BlobStore,
    Partial,
)
from app.desk.backup import FILES_TABLE, backup, restore
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, connect

PAGE = b"%PDF-1.4 scanned page of \xe6\x88\xb7\xe5\x8f\xa3\xe7\xb0\xbf 110105194912310021 " * 200


def test_roundtrip_is_content_addressed_and_encrypted_on_disk(ctx):
    store = ctx.blobs
    assert store.encrypted  # the test desk's database is encrypted, so its files are too
    sha = store.put(PAGE)
    assert sha == hashlib.sha256(PAGE).hexdigest()
    path = ctx.data_dir / "attachments" / sha[:2] / sha
    assert path.is_file() and store.has(sha)
    raw = path.read_bytes()
    assert PAGE[:40] not in raw and b"110105194912310021" not in raw
    assert store.get(sha) == PAGE
    assert store.looks_whole(sha, len(PAGE))
    assert sorted(store.shas()) == [sha]
    # Idempotent: the same bytes again write nothing new (the file keeps its encryption nonce).
    assert store.put(PAGE) == sha
    assert path.read_bytes() == raw
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE((ctx.data_dir / "attachments").stat().st_mode) == 0o700
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_new_context_reads_the_file_back(ctx, data_dir):
    sha = ctx.blobs.put(PAGE)
    again = BlobStore.for_data_dir(data_dir)
    assert again.encrypted and again.get(sha) == PAGE


def test_tampered_file_is_refused_never_returned(ctx):
    store = ctx.blobs
    sha = store.put(PAGE)
    path = store.path(sha)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(BlobDamaged, match="已损坏") as caught:
        store.get(sha)
    assert isinstance(caught.value, UserError)
    assert not store.intact(sha)
    # A put of the right bytes repairs it.
    store.put(PAGE)
    assert store.get(sha) == PAGE


def test_file_under_another_name_or_truncated_is_refused(ctx):
    store = ctx.blobs
    a, b = store.put(b"first file" * 50), store.put(b"second file" * 50)
    store.path(b).write_bytes(store.path(a).read_bytes())  # a's sealed bytes renamed to b
    with pytest.raises(BlobDamaged):
        store.get(b)
    store.path(a).write_bytes(store.path(a).read_bytes()[:30])
    assert not store.looks_whole(a, 500)
    with pytest.raises(BlobDamaged):
        store.get(a)


def test_missing_and_bad_names(ctx):
    store = ctx.blobs
    with pytest.raises(BlobMissing, match="不在本机"):
        store.get("0" * 64)
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63, "0" * 64 + "\n"):  # the one test: limits.is_sha256
        with pytest.raises(BlobError, match="格式有误"):
            store.get(bad)
    with pytest.raises(BlobError, match="0 字节"):
        store.put(b"")
    assert not store.delete("0" * 64)


def test_put_verified_refuses_wrong_bytes(ctx):
    store = ctx.blobs
    sha = hashlib.sha256(PAGE).hexdigest()
    with pytest.raises(BlobHashMismatch, match="不符"):
        store.put_verified(sha, PAGE + b"x")
    assert not store.has(sha)
    assert store.put_verified(sha, PAGE) == sha and store.get(sha) == PAGE


def test_plain_store_when_database_is_plain(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "onedesk.sqlite3").write_bytes(b"SQLite format 3\x00" + bytes(100))
    store = BlobStore.for_data_dir(folder)
    assert not store.encrypted
    sha = store.put(PAGE)
    assert store.get(sha) == PAGE
    # An encrypted store (the database converted since) still reads the plain file it finds.
    enc = BlobStore(folder / "attachments", encrypted=True)
    assert enc.get(sha) == PAGE
    assert PAGE[:40] in enc.path(sha).read_bytes()
    enc.put(PAGE)  # and seals it when the same bytes are put again
    assert PAGE[:40] not in enc.path(sha).read_bytes() and enc.get(sha) == PAGE


def test_delete_removes_only_that_file(ctx):
    store = ctx.blobs
    a, b = store.put(b"a" * 10), store.put(b"b" * 10)
    assert store.delete(a) and not store.has(a) and store.get(b) == b"b" * 10


def test_partial_download_resumes_after_restart_and_verifies(ctx, data_dir):
    data = os.urandom(300_000)
    sha = hashlib.sha256(data).hexdigest()
    part = ctx.blobs.open_partial(sha)
    assert part.offset == 0
    part.append(data[:100_000])
    part.append(data[100_000:200_000])
    assert part.offset == 200_000
    assert data[:64] not in part.path.read_bytes()  # the part file is sealed too
    # A power cut in the middle of the next chunk: half a record at the end of the file.
    with part.path.open("ab") as f:
        f.write(b"\x00\x01\x86\xa0" + b"torn")
    # "Restart": a new store object on the same folder finds the part and where to go on.
    resumed = BlobStore.for_data_dir(data_dir).open_partial(sha)
    assert isinstance(resumed, Partial) and resumed.offset == 200_000
    resumed.append(data[200_000:])
    assert resumed.finish() == sha
    assert ctx.blobs.get(sha) == data
    assert not resumed.path.exists()


def test_partial_with_wrong_bytes_is_dropped(ctx):
    data = b"the real file" * 1000
    sha = hashlib.sha256(data).hexdigest()
    part = ctx.blobs.open_partial(sha)
    part.append(b"something else" * 1000)
    with pytest.raises(BlobHashMismatch):
        part.finish()
    assert not ctx.blobs.has(sha) and not part.path.exists()
    assert ctx.blobs.open_partial(sha).offset == 0


def test_partial_damaged_record_starts_again(ctx):
    data = b"x" * 5000
    sha = hashlib.sha256(data).hexdigest()
    part = ctx.blobs.open_partial(sha)
    part.append(data[:2500])
    raw = bytearray(part.path.read_bytes())
    raw[-3] ^= 0xFF
    part.path.write_bytes(bytes(raw))
    again = ctx.blobs.open_partial(sha)
    assert again.offset == 0 and not again.path.exists()
    again.append(data)
    assert again.finish() == sha


def test_partial_refuses_more_than_the_limit(ctx):
    part = ctx.blobs.open_partial("1" * 64)
    part.offset = ATTACHMENT_MAX_BYTES - 10  # as if almost all of it had arrived
    with pytest.raises(BlobError, match="超过"):
        part.append(b"y" * 11)
    assert not part.path.exists()


def test_discard(ctx):
    part = ctx.blobs.open_partial("2" * 64)
    part.append(b"abc")
    part.discard()
    assert not part.path.exists() and ctx.blobs.open_partial("2" * 64).offset == 0


# ----- backups carry the files ---------------------------------------------------------------------------------
def _blob_rows(folder):
    from sqlalchemy import select

    from models import AttachmentBlob
    c = AppContext.open(folder)
    try:
        with c.sessions() as s:
            return {b.sha256: (b.present, b.wanted) for b in s.scalars(select(AttachmentBlob))}
    finally:
        c.close()


def test_backup_and_restore_keep_the_files(tmp_path, data_dir):
    from models import AttachmentBlob
    ctx = AppContext.open(data_dir)
    first, second = b"scan of the hukou " * 3000, b"scan of the ID card " * 3000
    a, b = ctx.blobs.put(first), ctx.blobs.put(second)
    with ctx.sessions.begin() as s:
        s.add_all([AttachmentBlob(sha256=a, size=len(first), mime="application/pdf", present=True),
                   AttachmentBlob(sha256=b, size=len(second), mime="image/jpeg", present=True)])
    ctx.close()
    out = backup(data_dir, tmp_path / "backup.sqlite3")
    raw = out.read_bytes()
    assert b"scan of the hukou" not in raw and b"ODBLOB" not in raw  # inside the encrypted backup
    # The desk loses both files (a broken disk), and a file added after the backup exists too.
    store = BlobStore.for_data_dir(data_dir)
    store.path(a).unlink()
    store.path(b).write_bytes(b"garbage")
    later = store.put(b"added after the backup" * 100)
    restore(data_dir, out)
    store = BlobStore.for_data_dir(data_dir)
    assert store.get(a) == first and store.get(b) == second
    assert store.get(later) == b"added after the backup" * 100  # a restore never removes a file
    assert _blob_rows(data_dir) == {a: (True, False), b: (True, False)}
    # The restored database is a desk database again, without the backup's file table.
    with closing(connect(data_dir / DB_FILENAME)) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert FILES_TABLE not in tables and "attachment_blob" in tables


def test_restore_of_a_backup_without_files_keeps_the_desks_files(tmp_path, data_dir):
    from models import AttachmentBlob
    out = backup(data_dir, tmp_path / "old.sqlite3")  # a desk with no file yet: a backup as before
    with closing(connect(out)) as con:
        assert FILES_TABLE not in {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    ctx = AppContext.open(data_dir)
    sha = ctx.blobs.put(PAGE)
    with ctx.sessions.begin() as s:
        s.add(AttachmentBlob(sha256=sha, size=len(PAGE), mime="application/pdf", present=True))
    ctx.close()
    restore(data_dir, out)
    assert BlobStore.for_data_dir(data_dir).get(sha) == PAGE
    assert _blob_rows(data_dir) == {}  # the restored database is the old one


def test_restore_marks_a_file_it_cannot_put_back_as_absent(tmp_path, data_dir):
    from models import AttachmentBlob
    ctx = AppContext.open(data_dir)
    sha = ctx.blobs.put(PAGE)
    with ctx.sessions.begin() as s:
        s.add(AttachmentBlob(sha256=sha, size=len(PAGE), mime="application/pdf", present=True, uploaded=True))
    ctx.close()
    out = backup(data_dir, tmp_path / "b.sqlite3")
    with closing(connect(out)) as con, con:  # the file is damaged inside the backup
        con.execute(f"UPDATE {FILES_TABLE} SET data = ?", (b"ODBLOB\x01\x01" + bytes(40),))
    BlobStore.for_data_dir(data_dir).path(sha).unlink()
    restore(data_dir, out)
    assert not BlobStore.for_data_dir(data_dir).has(sha)
    assert _blob_rows(data_dir) == {sha: (False, True)}  # absent, to be fetched from the server again


def test_a_write_refused_for_another_reason_than_a_full_disk_names_the_folder(ctx, monkeypatch):
    """Permission denied on attachments/ (or a file where a folder should be): a BlobError in Chinese naming the
    folder, never a bare OSError; a full disk keeps its own message."""
    import errno

    from app.core.errors import DiskFullError
    store = ctx.blobs
    real_replace = os.replace

    def denied(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))
    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(BlobError, match="无法写入附件文件夹") as refused:
        store.put(PAGE)
    assert str(store.root) in str(refused.value) and "Permission denied" in str(refused.value)
    assert list(store.shas()) == [] and not any(p.name.endswith(".tmp") for p in store.root.rglob("*"))

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(DiskFullError, match="磁盘空间不足"):
        store.put(PAGE)
    monkeypatch.setattr(os, "replace", real_replace)
    partial = store.open_partial(hashlib.sha256(PAGE).hexdigest())
    real_open = os.open

    def no_part(path, *a, **k):
        if str(path).endswith(".part"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *a, **k)
    monkeypatch.setattr(os, "open", no_part)
    with pytest.raises(BlobError, match=r"无法写入附件文件夹.*附件下载已暂停"):
        partial.append(PAGE[:100])
    assert partial.offset == 0
