"""Packages of the desk program the district publishes (issue 17): ``server release publish FILE``, the newest
per platform named in every pull answer, and the download a desk makes with its device token.

The bytes are kept like the attachments' (app/server/files.py), in the same owner-only folder
(``--attachments-dir``, default ``<data dir>/server-attachments``), under ``releases/<ab>/<sha256>`` — a name the
attachments' garbage collection never takes for one of its own. The ``server_release`` row holds platform,
version, sha256, size, file name and publication time; it is written only once the file is in place, so a
refused or failed publish leaves no row (and removes the copy it made).

Publishing the same version and platform again is idempotent when the file is byte-for-byte the same (nothing
new is stored; a copy gone from the folder is put back) and refused when it differs: a published version never
changes under the desks that learned its hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.digests import sha256_file
from app.core.releases import (
    ReleaseError,
    check_file_name,
    check_size,
    normal_version,
    platform_of_file,
    sort_key,
    version_in_file_name,
)
from app.core.wire import ErrorCode, ReleaseInfo
from app.server.admin import AdminError
from app.server.db import ServerDB
from app.server.devices import authenticate
from app.server.files import READ_BLOCK, Content, FileRefused, FileStore, _owner_only_dir, _sync_dir, check_sha
from models import utcnow
from models.server import ServerRelease

log = logging.getLogger(__name__)

RELEASES_DIRNAME = "releases"
NO_RELEASE = "区服务器上没有该安装包（可能已被区管理员更换），请等下次同步后再下载"
RELEASE_FILE_GONE = "区服务器上的安装包文件已丢失，请区管理员重新发布该版本"


@dataclass(frozen=True)
class Published:
    release: ServerRelease
    created: bool  # False: the same file was published before, nothing new stored


def release_path(store: FileStore, sha: str) -> Path:
    return store.root / RELEASES_DIRNAME / sha[:2] / sha


def info(r: ServerRelease) -> ReleaseInfo:
    return ReleaseInfo(platform=r.platform, version=r.version, sha256=r.sha256, size=r.size, file_name=r.file_name,
                       published_at=r.published_at)


# ----- publish ------------------------------------------------------------------------------------------------
def _source(path: Path, version: str | None) -> tuple[str, str, int]:
    """(platform, version, size) of a package file, or a Chinese refusal before anything is read or stored."""
    if not path.is_file():  # a folder, a FIFO or nothing at all
        raise AdminError(f"找不到安装包文件：{path}")
    platform = platform_of_file(path.name)
    check_file_name(path.name, platform)
    release_version = normal_version(version) if version is not None else version_in_file_name(path.name)
    return platform, release_version, check_size(path.stat().st_size, path.name)



def _copy_in(store: FileStore, path: Path, size: int) -> str:
    """Copy the package into the store while hashing it; its sha256. The copy is in place only when whole."""
    folder = store.root / RELEASES_DIRNAME
    _owner_only_dir(folder)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".publish-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest, copied = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            while block := src.read(READ_BLOCK):
                digest.update(block)
                out.write(block)
                copied += len(block)
            out.flush()
            os.fsync(out.fileno())
        if copied != size:
            raise AdminError(f"安装包文件在读取过程中发生了变化（{path}），未发布，请确认文件已完整生成后重试")
        sha = digest.hexdigest()
        final = release_path(store, sha)
        _owner_only_dir(final.parent)
        os.replace(tmp, final)
        _sync_dir(final.parent)
        return sha
    finally:
        tmp.unlink(missing_ok=True)


def _existing(s: Session, platform: str, version: str) -> ServerRelease | None:
    return s.scalars(select(ServerRelease).where(ServerRelease.platform == platform,
                                                 ServerRelease.version == version)).first()


def _same_again(store: FileStore, existing: ServerRelease, path: Path) -> Published:
    """The version and platform were published before: the same bytes are a no-op, other bytes are refused."""
    if sha256_file(path) != existing.sha256:
        raise AdminError(f"版本 {existing.version} 的 {existing.platform} 安装包已发布且内容不同，"
                         "已发布的版本不能更换（各前台已记下它的摘要），请提高版本号后重新打包发布")
    if not release_path(store, existing.sha256).is_file():  # gone from the folder: put the same bytes back
        _copy_in(store, path, existing.size)
    return Published(existing, created=False)


def publish_release(db: ServerDB, store: FileStore, path: Path, *, version: str | None = None,
                    now: dt.datetime | None = None) -> Published:
    """Check a package file, keep it with its sha256, and make it the one desks learn of if it is the newest."""
    path = Path(path)
    try:
        platform, release_version, size = _source(path, version)
    except ReleaseError as e:
        raise AdminError(str(e)) from None
    try:
        with db.read_sessions() as s:
            existing = _existing(s, platform, release_version)
        if existing is not None:
            return _same_again(store, existing, path)
        sha = _copy_in(store, path, size)
    except OSError as e:
        raise AdminError(f"无法读取或保存安装包（{path} → {store.root}）：{e.strerror or e}") from None
    try:
        with db.sessions.begin() as s:
            row = ServerRelease(platform=platform, version=release_version, sort_key=sort_key(release_version),
                                sha256=sha, size=size, file_name=path.name, published_at=now or utcnow())
            s.add(row)
    except IntegrityError:  # the same version published by another command at the same moment
        _drop_unreferenced(db, store, sha)
        raise AdminError(f"版本 {release_version} 的 {platform} 安装包正在被另一条命令发布，请稍后用 "
                         "server release list 查看") from None
    log.info("release %s %s published (%d bytes, sha256 %s)", platform, release_version, size, sha[:12])
    return Published(row, created=True)


def _drop_unreferenced(db: ServerDB, store: FileStore, sha: str) -> None:
    with db.read_sessions() as s:
        if s.scalars(select(ServerRelease.id).where(ServerRelease.sha256 == sha).limit(1)).first() is None:
            release_path(store, sha).unlink(missing_ok=True)


def list_releases(db: ServerDB) -> list[ServerRelease]:
    with db.read_sessions() as s:
        return list(s.scalars(select(ServerRelease).order_by(ServerRelease.platform, ServerRelease.sort_key.desc())))


# ----- what desks learn and download --------------------------------------------------------------------------
def newest(s: Session) -> list[ReleaseInfo]:
    """The newest release of each platform (a pull answer's ``releases``)."""
    best: dict[str, ReleaseInfo] = {}
    for r in s.scalars(select(ServerRelease).order_by(ServerRelease.platform, ServerRelease.sort_key.desc())):
        best.setdefault(r.platform, info(r))
    return list(best.values())


def open_release(db: ServerDB, store: FileStore, token: str | None, sha: str, now: dt.datetime) -> Content:
    """The bytes of a published package, for an enrolled device (its token, as for a pull). The size is the
    file's own: the desk checks it and the sha256 against what its pull named, and refuses any difference."""
    sha = check_sha(sha)
    with db.read_sessions() as s:
        authenticate(s, token, now=now)
        known = s.scalars(select(ServerRelease.id).where(ServerRelease.sha256 == sha).limit(1)).first()
    if known is None:
        raise FileRefused(404, ErrorCode.NO_FILE, NO_RELEASE)
    try:
        handle = release_path(store, sha).open("rb")
    except FileNotFoundError:
        log.error("release file %s missing from %s", sha[:12], store.root)
        raise FileRefused(404, ErrorCode.NO_FILE, RELEASE_FILE_GONE) from None
    return Content(handle, os.fstat(handle.fileno()).st_size, "application/octet-stream")
