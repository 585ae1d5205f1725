"""Desk enrolment with a one-time code, and the bearer-token check on every sync request."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import UserError
from app.core.payloads import committee_payload
from app.core.wire import CommitteeRow, EnrollRequest, EnrollResponse
from app.server.admin import hash_enroll_code
from app.server.db import ServerDB, take_lock
from models.server import Committee, EnrollCode, ServerDevice


class AuthFailed(Exception):
    """Missing or wrong token (401)."""


class DeviceRevoked(UserError):
    """The district administrator revoked this desk (403); the desk keeps its unsent data."""


class EnrollError(UserError, ValueError):
    """Enrolment refused (400); Chinese message."""


REVOKED_MESSAGE = "本机已被区管理员停用，未上传的数据仍保留在本机。请联系区管理员重新登记。"


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _free_device_code(s: Session, committee_id: uuid.UUID, wanted: str) -> str:
    """Device codes are part of case numbers, so they must be unique within a committee."""
    taken = set(s.scalars(select(ServerDevice.code).where(ServerDevice.committee_id == committee_id)))
    wanted = (wanted or "").strip().upper()
    if re.fullmatch(r"[0-9A-Z]{1,8}", wanted) and wanted not in taken:
        return wanted
    n = 1
    while f"D{n:02d}" in taken:
        n += 1
    return f"D{n:02d}"


def enroll(db: ServerDB, request: EnrollRequest, now: dt.datetime) -> EnrollResponse:
    """Consume the request's one-time code and register a device; returns its id and token (shown once, stored
    only hashed)."""
    code, committee_code = request.code, request.committee_code
    with db.sessions.begin() as s:
        take_lock(s)  # two desks racing for one code, or for one device code, are served one after the other
        ec = s.scalar(select(EnrollCode).where(EnrollCode.code_hash == hash_enroll_code(code)))
        if ec is None or ec.used_at is not None or ec.expires_at <= now:
            raise EnrollError("注册码无效、已使用或已过期（有效期 15 分钟），请向区管理员重新申请")
        com = s.get(Committee, ec.committee_id)
        assert com is not None
        if committee_code and committee_code.strip() != com.code:
            raise EnrollError(f"该注册码属于“{com.name}”（编码 {com.code}），本机设置的居委会编码为 {committee_code}，"
                              "请核对后再登记")
        secret = secrets.token_urlsafe(32)
        dev = ServerDevice(committee_id=com.id, code=_free_device_code(s, com.id, request.device_code),
                           name=request.device_name.strip()[:100], token_hash=_token_hash(secret), last_mid=0,
                           enrolled_at=now, last_seen_at=now)
        s.add(dev)
        s.flush()
        ec.used_at, ec.device_id = now, dev.id
        return EnrollResponse(device_id=str(dev.id), token=f"{dev.id}.{secret}", device_code=dev.code,
                              committee=CommitteeRow.model_validate(committee_payload(com)), server_time=now)


def authenticate(s: Session, token: str | None, *, for_update: bool = False) -> ServerDevice:
    """The device behind a bearer token. ``for_update`` locks its row for the rest of the transaction."""
    dev_id, _, secret = (token or "").partition(".")
    try:
        key = uuid.UUID(dev_id)
    except ValueError:
        raise AuthFailed("bad token") from None
    stmt = select(ServerDevice).where(ServerDevice.id == key)
    dev = s.scalar(stmt.with_for_update() if for_update else stmt)
    if dev is None or not hmac.compare_digest(dev.token_hash, _token_hash(secret)):
        raise AuthFailed("bad token")
    if dev.revoked_at is not None:
        raise DeviceRevoked(REVOKED_MESSAGE)
    return dev
