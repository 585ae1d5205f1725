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
from app.core.wire import TOKEN_LIFETIME, TOKEN_RENEW_WINDOW, CommitteeRow, EnrollRequest, EnrollResponse, TokenRenewal
from app.server.admin import hash_enroll_code
from app.server.changes import scope_of
from app.server.db import ServerDB, take_lock
from models import utcnow
from models.server import Committee, EnrollCode, ServerDevice


class AuthFailed(Exception):
    """Missing or wrong token (401)."""


class DeviceRevoked(UserError):
    """The district administrator revoked this desk (403); the desk keeps its unsent data."""


class EnrollError(UserError, ValueError):
    """Enrolment refused (400); Chinese message."""


REVOKED_MESSAGE = "本机已被区管理员停用，未上传的数据仍保留在本机。请联系区管理员重新登记。"
EXPIRED_MESSAGE = "本机登记已过期（超过 30 天未与区服务器联系），请向区管理员申请注册码重新登记"


class TokenExpired(AuthFailed):
    """The token's 30 days are over (401); the desk must enrol again."""


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
        ec = s.scalar(select(EnrollCode).where(EnrollCode.code_hash == hash_enroll_code(code)))
        if ec is not None:  # two desks racing for one code, or for one device code, are served one after the other
            take_lock(s, scope_of(ec.committee_id))
            s.refresh(ec)
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
                           enrolled_at=now, last_seen_at=now, token_expires_at=now + TOKEN_LIFETIME)
        s.add(dev)
        s.flush()
        ec.used_at, ec.device_id = now, dev.id
        return EnrollResponse(device_id=str(dev.id), token=f"{dev.id}.{secret}", device_code=dev.code,
                              committee=CommitteeRow.model_validate(committee_payload(com)), server_time=now)


def authenticate(s: Session, token: str | None, *, for_update: bool = False, now: dt.datetime | None = None,
                 renewing: bool = False) -> ServerDevice:
    """The device behind a bearer token. ``for_update`` locks its row for the rest of the transaction. An expired
    token is refused; ``renewing`` also accepts the token the last renewal replaced (its answer may have been lost)."""
    dev_id, _, secret = (token or "").partition(".")
    try:
        key = uuid.UUID(dev_id)
    except ValueError:
        raise AuthFailed("bad token") from None
    stmt = select(ServerDevice).where(ServerDevice.id == key)
    dev = s.scalar(stmt.with_for_update() if for_update else stmt)
    if dev is None:
        raise AuthFailed("bad token")
    presented = _token_hash(secret)
    current = hmac.compare_digest(dev.token_hash, presented)
    previous = renewing and dev.previous_token_hash is not None and hmac.compare_digest(dev.previous_token_hash,
                                                                                        presented)
    if not (current or previous):
        raise AuthFailed("bad token")
    if dev.revoked_at is not None:
        raise DeviceRevoked(REVOKED_MESSAGE)
    if dev.token_expires_at is not None and dev.token_expires_at <= (now or utcnow()):
        raise TokenExpired(EXPIRED_MESSAGE)
    return dev


def renew_token(db: ServerDB, token: str | None, now: dt.datetime) -> TokenRenewal:
    """A fresh token for a device whose token ends within :data:`TOKEN_RENEW_WINDOW`; the replaced one may renew once
    more (a lost answer), nothing else. Far from expiry the answer only tells the expiry."""
    with db.sessions.begin() as s:
        dev = authenticate(s, token, for_update=True, now=now, renewing=True)
        presented = _token_hash((token or "").partition(".")[2])
        lost_answer = not hmac.compare_digest(dev.token_hash, presented)  # the replaced token came back
        if not lost_answer and dev.token_expires_at is not None and dev.token_expires_at - now > TOKEN_RENEW_WINDOW:
            return TokenRenewal(token=None, expires_at=dev.token_expires_at, server_time=now)
        secret = secrets.token_urlsafe(32)
        dev.previous_token_hash = presented
        dev.token_hash, dev.token_expires_at = _token_hash(secret), now + TOKEN_LIFETIME
        return TokenRenewal(token=f"{dev.id}.{secret}", expires_at=dev.token_expires_at, server_time=now)
