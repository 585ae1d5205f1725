"""The desk's file store: each attachment's bytes once, named by the sha256 of the plain bytes.

Files live under ``<data_dir>/attachments/ab/abcdef…`` (the first two hex digits as a folder), readable by the
owner alone like the database. Every write is atomic (a temporary file, fsync, rename, fsync of the folder), so
a power cut leaves either the whole file or none; a ``put`` of bytes already stored changes nothing.

At rest a file is ``MAGIC | version | mode | nonce | body``: mode 1 is AES-256-GCM with a key derived (HKDF) from
the desk's database key (app/desk/keystore.py), the file's sha256 bound in as associated data, so a file moved
to another name or changed by one bit is refused; mode 0 is plain (a desk whose database is not encrypted: the
bench's "before" figures). Which mode a store writes follows the database (see :meth:`BlobStore.for_data_dir`);
it reads both, so files written before the database was encrypted stay readable. ``get`` always checks the
sha256 of what it returns: damaged bytes raise :class:`BlobDamaged`, never come back as the file.

A download is built chunk by chunk in ``attachments/partial/<sha>.part`` (:meth:`BlobStore.open_partial`):
each chunk is appended as its own sealed record, fsynced, so the file survives a restart and the download goes on
from :attr:`Partial.offset`; a torn last record (power cut mid-write) is cut off when the file is opened again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.core.errors import DiskFullError, UserError, is_disk_full
from app.core.limits import ATTACHMENT_MAX_BYTES, is_sha256

log = logging.getLogger(__name__)

FOLDER = "attachments"
PARTIAL_FOLDER = "partial"
MAGIC = b"ODBLOB"
PART_MAGIC = b"ODPART"
VERSION = 1
PLAIN, SEALED = 0, 1
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = len(MAGIC) + 2 + NONCE_BYTES  # magic, version, mode, nonce (zeros when plain)
PART_HEADER_BYTES = len(PART_MAGIC) + 2
RECORD_HEAD = struct.Struct(">I")  # length of the record's body (nonce + ciphertext + tag, or the plain bytes)
HKDF_INFO = b"OneDesk attachments v1"


class BlobError(UserError):
    """A stored file could not be written or read; Chinese message."""


class BlobMissing(BlobError):
    """The file is not on this desk."""


class BlobDamaged(BlobError):
    """The file on this desk is damaged (or was written with another desk's key): its bytes are not returned."""


class BlobHashMismatch(BlobError):
    """Bytes offered under a sha256 that is not theirs (a download gone wrong): refused, nothing stored."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha(sha: str) -> str:
    """``sha`` as a file name: exactly 64 lowercase hex digits (anything else could name a path)."""
    if not is_sha256(sha):
        raise BlobError("附件编号（sha256）格式有误")
    return sha


def derive_key(database_key: bytes) -> bytes:
    """The store's AES-256 key: HKDF-SHA256 of the database key, so the two keys are never the same bytes."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(database_key)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a directory; NTFS journals the rename itself
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "posix" and folder.stat().st_mode & 0o077:
        os.chmod(folder, 0o700)


def _write_refused(folder: Path, e: OSError, what: str = "附件未保存") -> BlobError:
    """A write in the store that failed for another reason than a full disk (permission denied, a file where the
    folder should be, a read-only disk): the Chinese message names the folder."""
    return BlobError(f"无法写入附件文件夹“{folder}”（{e.strerror or type(e).__name__}），{what}。"
                     "请检查该文件夹的权限或磁盘是否只读。")


def _write_atomic(path: Path, data: bytes, folder: Path | None = None) -> None:
    """``data`` at ``path`` whole or not at all: temp file beside it, fsync, rename, fsync of the folder.
    ``folder``: the store's folder, named in the message of a write refused (:class:`BlobError`)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        _private_dir(path.parent)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if is_disk_full(e):
            raise DiskFullError("磁盘空间不足，附件未保存。请清理磁盘后重试。") from e
        raise _write_refused(folder or path.parent, e) from e


class BlobStore:
    """Content-addressed, encrypted file store of one data folder. ``key`` None: the store writes plain files."""

    def __init__(self, root: Path, *, encrypted: bool, key: bytes | None = None):
        self.root = Path(root)
        self.encrypted = encrypted
        self._key = key

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> BlobStore:
        """The store of a data folder, encrypted exactly when its database is (app/desk/db.py ``make_engine``:
        encrypted unless the database file is plain SQLite, which only the bench's unencrypted open keeps)."""
        from app.desk.db import DB_FILENAME, is_plain_sqlite
        return cls(Path(data_dir) / FOLDER, encrypted=not is_plain_sqlite(Path(data_dir) / DB_FILENAME))

    # ----- keys and the at-rest format -------------------------------------------------------------------------
    def _aes(self) -> AESGCM:
        if self._key is None:
            from app.desk import keystore
            self._key = derive_key(keystore.database_key())
        return AESGCM(self._key)

    def _seal(self, sha: str, data: bytes) -> bytes:
        if not self.encrypted:
            return MAGIC + bytes([VERSION, PLAIN]) + bytes(NONCE_BYTES) + data
        nonce = secrets.token_bytes(NONCE_BYTES)
        head = MAGIC + bytes([VERSION, SEALED]) + nonce
        return head + self._aes().encrypt(nonce, data, head + sha.encode("ascii"))

    def _open_sealed(self, sha: str, raw: bytes) -> bytes:
        """The plain bytes of a stored file, checked against ``sha``; :class:`BlobDamaged` otherwise."""
        damaged = BlobDamaged("附件文件已损坏或无法解密（可能来自其他电脑的数据），请重新添加或从服务器重新下载。")
        if len(raw) < HEADER_BYTES or raw[:len(MAGIC)] != MAGIC or raw[len(MAGIC)] != VERSION:
            raise damaged
        mode, head, body = raw[len(MAGIC) + 1], raw[:HEADER_BYTES], raw[HEADER_BYTES:]
        if mode == SEALED:
            try:
                data = self._aes().decrypt(head[-NONCE_BYTES:], body, head + sha.encode("ascii"))
            except InvalidTag:
                raise damaged from None
        elif mode == PLAIN:
            data = body
        else:
            raise damaged
        if sha256_hex(data) != sha:
            raise damaged
        return data

    # ----- paths -----------------------------------------------------------------------------------------------
    def path(self, sha: str) -> Path:
        check_sha(sha)
        return self.root / sha[:2] / sha

    def _partial_path(self, sha: str) -> Path:
        return self.root / PARTIAL_FOLDER / f"{check_sha(sha)}.part"

    # ----- whole files -----------------------------------------------------------------------------------------
    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent: bytes already here, intact, are not written again); returns its sha256."""
        sha = sha256_hex(data)
        self._store(sha, data)
        return sha

    def put_verified(self, sha: str, data: bytes) -> str:
        """Store ``data`` only if it is the file ``sha`` names (the downloader's last step)."""
        check_sha(sha)
        if sha256_hex(data) != sha:
            raise BlobHashMismatch("下载的附件与其编号（sha256）不符，未保存。")
        self._store(sha, data)
        return sha

    def _store(self, sha: str, data: bytes) -> None:
        if not data:
            raise BlobError("文件为空（0 字节），未保存。")
        if len(data) > ATTACHMENT_MAX_BYTES:
            raise BlobError(f"文件过大（最大 {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB），未保存。")
        if self.intact(sha) and not (self.encrypted and self._mode_of(sha) == PLAIN):
            return  # here already (a plain file from before the database was encrypted is sealed now)
        try:
            _private_dir(self.root)
        except OSError as e:
            raise _write_refused(self.root, e) from e
        _write_atomic(self.path(sha), self._seal(sha, data), self.root)

    def _mode_of(self, sha: str) -> int | None:
        try:
            with self.path(sha).open("rb") as f:
                head = f.read(len(MAGIC) + 2)
        except OSError:
            return None
        return head[-1] if len(head) == len(MAGIC) + 2 else None

    def has(self, sha: str) -> bool:
        """The file is here (its presence only; :meth:`intact` or :meth:`get` check its bytes)."""
        return self.path(sha).is_file()

    def looks_whole(self, sha: str, size: int) -> bool:
        """Cheap check for lists: the file is here with a valid header and the length ``size`` bytes give."""
        path = self.path(sha)
        try:
            with path.open("rb") as f:
                head = f.read(HEADER_BYTES)
                length = os.fstat(f.fileno()).st_size
        except OSError:
            return False
        if len(head) < HEADER_BYTES or head[:len(MAGIC)] != MAGIC or head[len(MAGIC)] != VERSION:
            return False
        mode = head[len(MAGIC) + 1]
        expected = HEADER_BYTES + size + (TAG_BYTES if mode == SEALED else 0)
        return mode in (PLAIN, SEALED) and length == expected

    def intact(self, sha: str) -> bool:
        """The file is here and decrypts to bytes whose sha256 is ``sha``."""
        try:
            self.get(sha)
        except BlobError:
            return False
        return True

    def get(self, sha: str) -> bytes:
        """The plain bytes of ``sha``, verified. :class:`BlobMissing` / :class:`BlobDamaged` otherwise."""
        try:
            raw = self.path(sha).read_bytes()
        except FileNotFoundError:
            raise BlobMissing("附件文件不在本机。") from None
        except OSError as e:
            raise BlobDamaged(f"附件文件无法读取（{e.strerror or type(e).__name__}）。") from None
        return self._open_sealed(sha, raw)

    def raw(self, sha: str) -> bytes:
        """The file as stored (sealed), for a backup; :class:`BlobMissing` if absent."""
        try:
            return self.path(sha).read_bytes()
        except FileNotFoundError:
            raise BlobMissing("附件文件不在本机。") from None

    def put_raw(self, sha: str, raw: bytes) -> bool:
        """Put back a file as a backup holds it (sealed), after checking it opens to ``sha`` with this desk's key.
        Returns False (nothing written) when the file is already here intact; :class:`BlobDamaged` if it does not
        open."""
        self._open_sealed(check_sha(sha), raw)
        if self.intact(sha):
            return False
        _write_atomic(self.path(sha), raw, self.root)
        return True

    def delete(self, sha: str) -> bool:
        """Remove the file (nothing calls this by itself: a desk never drops a file on its own)."""
        path = self.path(sha)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def shas(self) -> Iterator[str]:
        """Every file name in the store (complete files only, not partial downloads)."""
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if not sub.is_dir() or len(sub.name) != 2 or sub.name == PARTIAL_FOLDER:
                continue
            for f in sorted(sub.iterdir()):
                if is_sha256(f.name) and f.name[:2] == sub.name and f.is_file():
                    yield f.name

    # ----- chunked downloads -----------------------------------------------------------------------------------
    def open_partial(self, sha: str) -> Partial:
        """The partial download of ``sha``: resumes the ``.part`` file left by an earlier run, else starts one."""
        return Partial(self, check_sha(sha))


class Partial:
    """A file being built from chunks. ``offset`` is how many plain bytes are safely on disk; ``append`` adds one
    chunk (sealed, fsynced); ``finish`` checks the sha256 and stores the file; ``discard`` drops the part."""

    def __init__(self, store: BlobStore, sha: str):
        self.store, self.sha = store, sha
        self.path = store._partial_path(sha)
        self.offset = 0
        self._records = 0
        self._mode = SEALED if store.encrypted else PLAIN
        self._resume()

    def _resume(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        if len(raw) < PART_HEADER_BYTES or raw[:len(PART_MAGIC)] != PART_MAGIC or raw[len(PART_MAGIC)] != VERSION:
            self._reset("unreadable header")
            return
        self._mode = raw[len(PART_MAGIC) + 1]
        pos, good = PART_HEADER_BYTES, PART_HEADER_BYTES
        try:
            for chunk in self._records_of(raw):
                self.offset += len(chunk)
                self._records += 1
                pos += RECORD_HEAD.size + self._body_len(len(chunk))
                good = pos
        except BlobDamaged:
            self._reset("a record does not open")
            return
        if good < len(raw):  # a torn last record: what a power cut mid-append leaves
            with self.path.open("r+b") as f:
                f.truncate(good)
                os.fsync(f.fileno())

    def _body_len(self, plain_len: int) -> int:
        return plain_len + (NONCE_BYTES + TAG_BYTES if self._mode == SEALED else 0)

    def _aad(self, index: int) -> bytes:
        return PART_MAGIC + self.sha.encode("ascii") + struct.pack(">I", index)

    def _records_of(self, raw: bytes) -> Iterator[bytes]:
        """The plain chunks of a part file in order; stops before a torn last record."""
        pos, index = PART_HEADER_BYTES, 0
        while pos + RECORD_HEAD.size <= len(raw):
            (length,) = RECORD_HEAD.unpack_from(raw, pos)
            body = raw[pos + RECORD_HEAD.size:pos + RECORD_HEAD.size + length]
            if len(body) < length:
                return
            if self._mode == SEALED:
                try:
                    yield self.store._aes().decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], self._aad(index))
                except InvalidTag:
                    raise BlobDamaged("未下载完的附件已损坏") from None
            elif self._mode == PLAIN:
                yield body
            else:
                raise BlobDamaged("未下载完的附件已损坏")
            pos += RECORD_HEAD.size + length
            index += 1

    def _reset(self, why: str) -> None:
        log.warning("partial download %s… dropped (%s); it starts again", self.sha[:12], why)
        self.path.unlink(missing_ok=True)
        self.offset, self._records = 0, 0
        self._mode = SEALED if self.store.encrypted else PLAIN

    def append(self, data: bytes) -> int:
        """Add the next chunk; returns the new offset. A chunk that would make the file larger than any
        attachment may be is refused (and the part dropped)."""
        if not data:
            return self.offset
        if self.offset + len(data) > ATTACHMENT_MAX_BYTES:
            self.discard()
            raise BlobError(f"下载的附件超过 {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB，已停止。")
        if self._mode == SEALED:
            nonce = secrets.token_bytes(NONCE_BYTES)
            body = nonce + self.store._aes().encrypt(nonce, data, self._aad(self._records))
        else:
            body = data
        try:
            _private_dir(self.path.parent)
            new = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o600)
            with os.fdopen(fd, "ab") as f:
                if new:
                    f.write(PART_MAGIC + bytes([VERSION, self._mode]))
                f.write(RECORD_HEAD.pack(len(body)) + body)
                f.flush()
                os.fsync(f.fileno())
            if new:
                _fsync_dir(self.path.parent)
        except OSError as e:
            if is_disk_full(e):
                raise DiskFullError("磁盘空间不足，附件下载已暂停。请清理磁盘后重试。") from e
            raise _write_refused(self.store.root, e, "附件下载已暂停") from e
        self.offset += len(data)
        self._records += 1
        return self.offset

    def data(self) -> bytes:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return b""
        return b"".join(self._records_of(raw))

    def finish(self) -> str:
        """Check the whole file against its sha256 and store it; the part is dropped either way.
        :class:`BlobHashMismatch` when the bytes are not the file (the download starts again)."""
        try:
            data = self.data()
            self.store.put_verified(self.sha, data)
        except BlobError:
            self.discard()
            raise
        self.discard()
        return self.sha

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.offset, self._records = 0, 0
