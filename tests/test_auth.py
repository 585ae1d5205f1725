"""Login, Argon2 hashes, lockout after five wrong passwords, supervisor unlock."""

from __future__ import annotations

import datetime as dt

import pytest

from app.desk.auth import AuthError, AuthService, PermissionDenied, hash_password, verify_password
from app.desk.setup import FirstRunInput, SetupError, initialise_desk
from models import utcnow


@pytest.fixture
def auth(ctx):
    initialise_desk(ctx, FirstRunInput(committee_name="测试居委会", committee_code="T001",
                                       admin_login="admin", admin_name="管理员", admin_password="secret123"))
    svc = AuthService(ctx)
    admin = svc.login("admin", "secret123")
    svc.create_worker(admin, login="desk", display_name="前台甲", password="deskpass", roles=["front_desk"])
    svc.create_worker(admin, login="boss", display_name="站长乙", password="bosspass", roles=["supervisor"])
    return svc


def test_hash_is_argon2_and_verifies():
    h = hash_password("密码abc123")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "密码abc123")
    assert not verify_password(h, "wrong")
    assert not verify_password("not-a-hash", "x")


def test_login_ok_and_wrong_password_message(auth):
    assert auth.login("desk", "deskpass").display_name == "前台甲"
    with pytest.raises(AuthError, match="用户名或密码不正确"):
        auth.login("desk", "nope")
    with pytest.raises(AuthError, match="用户名或密码不正确"):
        auth.login("nobody", "nope")


def test_five_failures_lock_for_five_minutes_then_unlock(auth):
    now = utcnow()
    for _ in range(4):
        with pytest.raises(AuthError, match=r"^用户名或密码不正确$"):
            auth.login("desk", "bad", now=now)
    with pytest.raises(AuthError, match="账号已锁定，请 5 分钟后再试"):
        auth.login("desk", "bad", now=now)
    # Even the right password is refused while locked.
    with pytest.raises(AuthError, match="账号已锁定"):
        auth.login("desk", "deskpass", now=now + dt.timedelta(minutes=4))
    assert auth.login("desk", "deskpass", now=now + dt.timedelta(minutes=5, seconds=1)).login == "desk"


def test_supervisor_unlocks_front_desk_cannot(auth):
    for _ in range(5):
        with pytest.raises(AuthError):
            auth.login("desk", "bad")
    desk_id = next(w.id for w, _ in auth.list_workers() if w.login == "desk")
    assert dict((w.login, locked) for w, locked in auth.list_workers())["desk"] is True
    boss = auth.login("boss", "bosspass")
    other = auth.create_worker(auth.login("admin", "secret123"), login="desk2", display_name="前台丙",
                               password="desk2pass", roles=["front_desk"])
    with pytest.raises(PermissionDenied):
        auth.unlock(other, desk_id)
    auth.unlock(boss, desk_id)
    assert auth.login("desk", "deskpass").login == "desk"


def test_first_run_validation_changes_nothing(ctx):
    with pytest.raises(SetupError, match="居委会名称"):
        initialise_desk(ctx, FirstRunInput(committee_name="", committee_code="T001",
                                           admin_login="admin", admin_name="管理员", admin_password="secret123"))
    with pytest.raises(SetupError, match="密码至少"):
        initialise_desk(ctx, FirstRunInput(committee_name="测试", committee_code="T001",
                                           admin_login="admin", admin_name="管理员", admin_password="123"))
    assert not ctx.is_initialised()
