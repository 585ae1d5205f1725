"""Login, lockout and account management. Passwords are hashed with Argon2id (argon2-cffi)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from app.core.accounts import (
    MIN_PASSWORD_LENGTH,
    AuthError,
    hash_password,
    needs_rehash,
    validate_new_password,
    verify_password,
)
from app.core.changes import Changes
from app.core.errors import UserError
from app.core.vocabulary import Role, role_names
from app.desk.context import AppContext
from models import AuditEntry, Worker, utcnow

log = logging.getLogger(__name__)
__all__ = [
    "MIN_PASSWORD_LENGTH",
    "AuthError",
    "AuthService",
    "PermissionDenied",
    "WorkerInfo",
    "hash_password",
    "validate_new_password",
    "verify_password",
    "worker_info",
]

MAX_FAILURES = 5
LOCK_DURATION = dt.timedelta(minutes=5)
# Unknown and wrong are told apart by nothing: the same words, and an unknown login verifies a password against
# this hash so it costs the same Argon2 work (issue 14, finding 10).
WRONG_LOGIN = "用户名或密码不正确"


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for an unknown login (made on first use: argon2 is slow by design, and the
    start-up should not pay for it)."""
    return hash_password("onedesk-no-such-login")




def _locked_message(locked_until: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, -(-int((locked_until - now).total_seconds()) // 60))
    return f"账号已锁定，请 {minutes} 分钟后再试（连续输错密码 {MAX_FAILURES} 次），或请站长解锁。"


class PermissionDenied(UserError):
    """The acting worker's role does not allow this; Chinese message."""


@dataclass(frozen=True)
class WorkerInfo:
    id: uuid.UUID
    login: str
    display_name: str
    phone: str
    roles: tuple[str, ...]
    lines: tuple[str, ...]

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def role_labels(self) -> str:
        return role_names(self.roles)

    @property
    def can_see_full_id(self) -> bool:
        # Line colleagues decide on cases and supervisors check them; the front desk sees masked values.
        return any(r in self.roles for r in (Role.LINE, Role.SUPERVISOR, Role.ADMIN))

    @property
    def manages_desk(self) -> bool:
        """Supervisors and administrators keep the desk's settings and are told what is missing (holiday tables)."""
        return self.has_role(Role.SUPERVISOR) or self.has_role(Role.ADMIN)


def worker_info(w: Worker) -> WorkerInfo:
    return WorkerInfo(w.id, w.login, w.display_name, w.phone, tuple(w.roles or ()), tuple(w.lines or ()))


class AuthService:
    def __init__(self, ctx: AppContext):
        self.ctx = ctx

    def login(self, login: str, password: str, now: dt.datetime | None = None) -> WorkerInfo:
        now = now or utcnow()
        # The failure count must be committed even though the login fails, so the error is raised
        # only after the transaction has ended.
        with self.ctx.sessions.begin() as s:
            w = s.scalar(select(Worker).where(Worker.login == login.strip()))
            error, info = self._check(s, w, password, now)
        if error:
            raise AuthError(error)
        assert info is not None
        return info

    def _check(self, s, w: Worker | None, password: str, now: dt.datetime) -> tuple[str | None, WorkerInfo | None]:
        if w is None or not w.active:
            verify_password(_dummy_hash(), password)  # the same cost as a wrong password: logins cannot be probed
            return WRONG_LOGIN, None
        if w.locked_until and w.locked_until > now:
            return _locked_message(w.locked_until, now), None
        if not verify_password(w.password_hash, password):
            w.failed_attempts += 1
            s.add(AuditEntry(worker_id=w.id, action="login.failed", subject=f"worker:{w.id}"))
            if w.failed_attempts >= MAX_FAILURES:
                w.locked_until, w.failed_attempts = now + LOCK_DURATION, 0
                log.warning("account locked after %d failures: worker %s", MAX_FAILURES, w.id)
                return _locked_message(w.locked_until, now), None
            return WRONG_LOGIN, None  # no count of the tries left: that would tell a real login from an unknown one
        w.failed_attempts, w.locked_until = 0, None
        if needs_rehash(w.password_hash):
            w.password_hash = hash_password(password)
        from app.desk.sync.apply import LOGIN_OK, want_files  # the sync's modules are not needed to show the login
        s.add(AuditEntry(worker_id=w.id, action=LOGIN_OK, subject=f"worker:{w.id}"))
        want_files(s, here=[(w.id, list(w.lines or ()))])  # the files of their forwarded cases come to this desk
        log.info("login ok: worker %s", w.id)
        return None, worker_info(w)

    def unlock(self, actor: WorkerInfo, worker_id: uuid.UUID) -> Changes:
        if not actor.manages_desk:
            raise PermissionDenied("只有站长或管理员可以解锁账号")
        with self.ctx.sessions.begin() as s:
            w = s.get(Worker, worker_id)
            if w is None:
                raise LookupError("worker not found")
            w.locked_until = None
            w.failed_attempts = 0
            s.add(AuditEntry(worker_id=actor.id, action="worker.unlock", subject=f"worker:{worker_id}"))
        return Changes(workers=True)

    def list_workers(self) -> list[tuple[WorkerInfo, bool]]:
        """Every worker with whether the account is currently locked."""
        now = utcnow()
        with self.ctx.sessions() as s:
            rows = s.scalars(select(Worker).order_by(Worker.login)).all()
            return [(worker_info(w), bool(w.locked_until and w.locked_until > now)) for w in rows]

    def workers_for_line(self, department: str) -> list[WorkerInfo]:
        with self.ctx.sessions() as s:
            rows = s.scalars(select(Worker).where(Worker.active.is_(True)).order_by(Worker.login)).all()
            return [worker_info(w) for w in rows if department in (w.lines or [])]

    def create_worker(self, actor: WorkerInfo | None, *, login: str, display_name: str, password: str,
                      roles: list[str], lines: list[str] | None = None, phone: str = "") -> WorkerInfo:
        if actor is not None and not actor.has_role(Role.ADMIN):
            raise PermissionDenied("只有管理员可以添加账号")
        if not login.strip() or not display_name.strip():
            raise AuthError("请填写登录名和姓名")
        validate_new_password(password)
        ident = self.ctx.identity()
        with self.ctx.sessions.begin() as s:
            if s.scalar(select(Worker).where(Worker.login == login.strip())):
                raise AuthError(f"登录名“{login}”已存在")
            w = Worker(committee_id=ident.committee_id, login=login.strip(), display_name=display_name.strip(),
                       password_hash=hash_password(password), roles=roles, lines=lines or [], phone=phone)
            s.add(w)
            s.flush()
            return worker_info(w)
