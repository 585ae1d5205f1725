"""Updates from the district on the desk (issue 17): what the last pull said was published, whether it is newer
than this program, and its download — verified before it is kept. No Qt; the UI runs :meth:`download` off its
thread.

Every pull answer names the newest package per platform (``PullPage.releases``); :func:`remember_releases` keeps
them in ``known_release``, in the pull's own transaction. An administrator (role 管理员) is offered this desk's
platform's package when it is newer than :data:`app.version.VERSION`. The download goes through the same checks as
the sync (the district CA pinned at enrolment, plain http only by the lab opt-in, the device token) into a
temporary file in ``<data dir>/updates/``; only a file whose size and sha256 match what the pull named is moved to
``updates/<file name>``, anything else is deleted. Nothing is ever executed: installing stays the
administrator's act.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.digests import sha256_file
from app.core.errors import UserError
from app.core.releases import (
    BAD_DOWNLOAD,
    ONLY_ADMINS,
    Platform,
    desk_platform,
    newest_per_platform,
    release_problem,
    update_for,
)
from app.core.vocabulary import Role
from app.core.wire import Endpoint, ErrorBody, ReleaseInfo
from app.desk import keystore
from app.desk.auth import PermissionDenied, WorkerInfo
from app.desk.context import AppContext
from app.desk.sync.enroll import ca_file, insecure_http_allowed, plain_http_refused, tls_verify
from app.version import VERSION
from models import Device, KnownRelease, utcnow

log = logging.getLogger(__name__)

UPDATES_DIRNAME = "updates"
PART_PREFIX = ".download-"
READ_BLOCK = 256 * 1024
DESK_PLATFORM = desk_platform()

NO_UPDATE = "没有可下载的新版本（本机已是区服务器公布的最新版本，或尚未同步）"
NOT_ENROLLED = "本机尚未登记到区服务器，无法下载新版本"
OFFLINE = "无法连接区服务器，安装包未下载，请稍后重试"
REFUSED = "区服务器拒绝了安装包的下载（{status}），请稍后重试或联系区管理员"


class UpdateError(UserError):
    """A download that did not give a verified package; Chinese message, nothing kept."""


@dataclass(frozen=True, kw_only=True)
class AvailableUpdate:
    """A newer package for this desk's platform, as the last pull named it."""

    version: str
    current: str  # the version this desk runs
    platform: str
    file_name: str
    size: int
    sha256: str
    published_at: dt.datetime
    downloaded: Path | None  # already in updates/ (its size matches; download() checks the hash again)


@dataclass(frozen=True)
class DownloadedUpdate:
    version: str
    path: Path  # verified: size and sha256 as the district published them
    size: int


def may_update(worker: WorkerInfo | None) -> bool:
    """Only an administrator hears of new versions and downloads them (installing is theirs to do)."""
    return worker is not None and worker.has_role(Role.ADMIN)


# ----- what the pull says -------------------------------------------------------------------------------------
def _usable(rows: list[Any]) -> list[ReleaseInfo]:
    good = []
    for row in rows:
        try:
            info = ReleaseInfo.model_validate(row)
        except ValidationError:
            log.warning("a release row from the server does not fit ReleaseInfo; ignored")
            continue
        problem = release_problem(info)
        if problem:
            log.warning("release %s %s from the server ignored: %s", info.platform[:20], info.version[:40], problem)
            continue
        good.append(info)
    return good


def remember_releases(s: Session, rows: list[Any] | None) -> None:
    """Keep the newest package per platform a pull answer named, in the caller's (the pull's) transaction.
    ``None`` (a server that predates releases) keeps what is known; an empty list forgets it."""
    if rows is None:
        return
    wanted = newest_per_platform(_usable(rows))
    known = {k.platform: k for k in s.scalars(select(KnownRelease))}
    for platform, k in known.items():
        if platform not in wanted:
            s.delete(k)
    for platform, r in wanted.items():
        old = known.get(platform)
        if old is not None and (old.version, old.sha256, old.size, old.file_name) == (r.version, r.sha256, r.size,
                                                                                      r.file_name):
            continue  # unchanged: no write on every pull page
        k = old if old is not None else KnownRelease(platform=platform)
        s.add(k)
        k.version, k.sha256, k.size, k.file_name = r.version, r.sha256, r.size, r.file_name
        k.published_at, k.learned_at = r.published_at, utcnow()


def known_releases(s: Session) -> list[ReleaseInfo]:
    return [ReleaseInfo(platform=k.platform, version=k.version, sha256=k.sha256, size=k.size, file_name=k.file_name,
                        published_at=k.published_at) for k in s.scalars(select(KnownRelease))]



# ----- the service ------------------------------------------------------------------------------------------------
class UpdateService:
    """``platform``: the package kind this desk installs (by default from the operating system); ``current``: the
    version it runs; ``http``: a client whose base URL is the server (tests), else one made like the sync's."""

    def __init__(self, ctx: AppContext, *, platform: Platform | None = DESK_PLATFORM, current: str = VERSION,
                 http: httpx.Client | None = None, timeout_s: float = 60.0):
        self.ctx, self.platform, self.current = ctx, platform, current
        self._http, self._timeout_s = http, timeout_s

    @property
    def folder(self) -> Path:
        return Path(self.ctx.data_dir) / UPDATES_DIRNAME

    def available(self, worker: WorkerInfo | None) -> AvailableUpdate | None:
        """The newer package to offer ``worker``, or None (not an administrator, nothing newer, no platform)."""
        if not may_update(worker):
            return None
        with self.ctx.sessions() as s:
            release = update_for(known_releases(s), self.platform, self.current)
        if release is None:
            return None
        target = self.folder / release.file_name
        have = target.is_file() and target.stat().st_size == release.size
        return AvailableUpdate(version=release.version, current=self.current, platform=release.platform,
                               file_name=release.file_name, size=release.size, sha256=release.sha256,
                               published_at=release.published_at, downloaded=target if have else None)

    def download(self, worker: WorkerInfo | None) -> DownloadedUpdate:
        """Download the offered package, verify it, keep it as ``updates/<file name>``; never runs it."""
        if not may_update(worker):
            raise PermissionDenied(ONLY_ADMINS)
        update = self.available(worker)
        if update is None:
            raise UpdateError(NO_UPDATE)
        target = self.folder / update.file_name
        if update.downloaded is not None:
            if sha256_file(target) == update.sha256:
                return DownloadedUpdate(update.version, target, update.size)
            target.unlink(missing_ok=True)  # not the published bytes: fetched again below
        http, token = self._link()
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.folder, prefix=PART_PREFIX, suffix=".part")
        part = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                sha, size = self._fetch(http, token, update, out)
            if sha != update.sha256 or size != update.size:
                log.warning("downloaded package %s did not match what the server published; deleted",
                            update.file_name)
                raise UpdateError(BAD_DOWNLOAD)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
            if self._http is not http:
                http.close()
        log.info("package %s %s downloaded and verified: %s", update.platform, update.version, target)
        return DownloadedUpdate(update.version, target, update.size)

    # ----- plumbing ---------------------------------------------------------------------------------------------
    def _link(self) -> tuple[httpx.Client, str]:
        """(client, device token): the sync's server and TLS settings, or a Chinese refusal."""
        with self.ctx.sessions() as s:
            dev = s.scalars(select(Device).where(Device.is_local.is_(True))).first()
            token = keystore.device_token(dev) if dev is not None else None
            url = (dev.server_url or "") if dev is not None else ""
        if not token or not url:
            raise UpdateError(NOT_ENROLLED)
        if self._http is not None:
            return self._http, token
        if url.startswith("http://") and not insecure_http_allowed(self.ctx.data_dir, url):
            raise UpdateError(plain_http_refused(url))
        http = httpx.Client(base_url=url, verify=tls_verify(ca_file(self.ctx.data_dir)),
                            timeout=httpx.Timeout(self._timeout_s, connect=10.0))
        return http, token

    def _fetch(self, http: httpx.Client, token: str, update: AvailableUpdate, out) -> tuple[str, int]:
        """Stream the package into ``out``; (sha256, size) of what arrived. More bytes than published stop it."""
        digest, size = hashlib.sha256(), 0
        path = Endpoint.RELEASE.format(sha256=update.sha256)
        try:
            with http.stream("GET", path, headers={"Authorization": f"Bearer {token}"}) as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise UpdateError(_refusal(resp))
                for block in resp.iter_bytes(READ_BLOCK):
                    size += len(block)
                    if size > update.size:
                        break  # not the published file: refused below
                    digest.update(block)
                    out.write(block)
        except httpx.HTTPError:
            raise UpdateError(OFFLINE) from None
        out.flush()
        os.fsync(out.fileno())
        return digest.hexdigest(), size


def _refusal(resp: httpx.Response) -> str:
    try:
        return ErrorBody.model_validate(resp.json()).detail.message or REFUSED.format(status=resp.status_code)
    except ValueError:
        return REFUSED.format(status=resp.status_code)
