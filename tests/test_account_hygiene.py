"""Issue 14, finding 10 (account and device hygiene): one login message, rate limits on enrolment and the token
endpoint, device tokens that expire and are renewed while online, immediate revocation, no CLI act as a worker
without their password."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
from sqlalchemy import select

from app.cli.main import main
from app.core.wire import Endpoint, EnrollRequest
from app.desk.auth import AuthError, AuthService
from app.desk.cases import CaseService
from app.desk.keystore import device_token
from app.desk.residents import ResidentService
from app.server import admin
from models import Device, PrintJob, utcnow
from models.server import ServerDevice
from tests.sync_helpers import COMMITTEE, ITEM, enroll_raw

pytest_plugins = ("tests.server_fixtures",)

WRONG = "用户名或密码不正确"


# ----- login enumeration ----------------------------------------------------------------------------------------
def test_unknown_login_and_wrong_password_get_the_same_message(desk_ctx):
    """Finding 10: an unknown login and a wrong password on a real login read exactly the same."""
    auth = AuthService(desk_ctx)
    with pytest.raises(AuthError) as unknown:
        auth.login("nobody", "nope")
    with pytest.raises(AuthError) as wrong:
        auth.login("desk", "nope")
    assert str(unknown.value) == str(wrong.value) == WRONG
    for _ in range(3):  # the remaining tries are never counted down
        with pytest.raises(AuthError) as again:
            auth.login("desk", "nope")
        assert str(again.value) == WRONG


def test_remaining_tries_shown_only_once_locked(desk_ctx):
    """Finding 10: only a correct login name that is locked hears about the lock, with the minutes to wait."""
    auth, now = AuthService(desk_ctx), utcnow()
    for _ in range(4):
        with pytest.raises(AuthError, match=f"^{WRONG}$"):
            auth.login("desk", "bad", now=now)
    with pytest.raises(AuthError, match="账号已锁定，请 5 分钟后再试"):
        auth.login("desk", "bad", now=now)
    with pytest.raises(AuthError, match="账号已锁定，请 2 分钟后再试"):
        auth.login("desk", "deskpass", now=now + dt.timedelta(minutes=3, seconds=30))
    for _ in range(6):  # an unknown login is never "locked"
        with pytest.raises(AuthError, match=f"^{WRONG}$"):
            auth.login("nobody", "bad", now=now)


def test_unknown_login_costs_a_password_hash(desk_ctx, monkeypatch):
    """Finding 10: an unknown login runs the same Argon2 verification as a wrong password (no timing oracle)."""
    import app.desk.auth as auth_module
    calls: list[str] = []
    real = auth_module.verify_password
    monkeypatch.setattr(auth_module, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    auth = AuthService(desk_ctx)
    with pytest.raises(AuthError):
        auth.login("nobody", "nope")
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


# ----- CLI acts only with the worker's password ------------------------------------------------------------------
@pytest.fixture
def case_number(desk_ctx):
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    cases = CaseService(desk_ctx)
    cid = cases.create_draft(desk, ITEM, resident.id)
    cases.submit(desk, cid, {}, {"居民身份证": {"received": True, "form": "原件", "count": 1}})
    cases.forward(desk, cid, assignee_id=None, queue="民政")
    return cases.get(cid).summary.case_number


def _print_jobs(ctx) -> list:
    with ctx.sessions() as s:
        return list(s.scalars(select(PrintJob.worker_id)))


def test_print_as_worker_needs_the_password(desk_ctx, case_number, tmp_path, capsys, monkeypatch):
    """Finding 10: ``print --worker LOGIN`` recorded a worker without a password; now it is asked and checked."""
    base = ["print", case_number, "--data-dir", str(desk_ctx.data_dir), "--out", str(tmp_path / "w.pdf"),
            "--worker", "desk"]
    monkeypatch.delenv("ONEDESK_WORKER_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    assert main(base) == 2  # no password given and no terminal to ask on
    assert "密码" in capsys.readouterr().err
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("nope\n", encoding="utf-8")
    assert main([*base, "--password-file", str(wrong)]) == 2
    assert WRONG in capsys.readouterr().err
    assert main([*base[:-1], "nobody", "--password-file", str(wrong)]) == 2
    assert WRONG in capsys.readouterr().err  # no hint whether the login exists
    assert _print_jobs(desk_ctx) == [] and not (tmp_path / "w.pdf").exists()
    right = tmp_path / "right.txt"
    right.write_text("deskpass\n", encoding="utf-8")
    assert main([*base, "--password-file", str(right)]) == 0
    monkeypatch.setenv("ONEDESK_WORKER_PASSWORD", "deskpass")
    assert main(base) == 0
    desk_id = AuthService(desk_ctx).login("desk", "deskpass").id
    assert _print_jobs(desk_ctx) == [desk_id, desk_id]


def test_print_as_worker_prompts_on_a_terminal(desk_ctx, case_number, tmp_path, monkeypatch):
    """Finding 10: on a terminal the password is asked with getpass (never echoed)."""
    monkeypatch.delenv("ONEDESK_WORKER_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "deskpass")
    assert main(["print", case_number, "--data-dir", str(desk_ctx.data_dir), "--out", str(tmp_path / "t.pdf"),
                 "--worker", "desk"]) == 0
    assert len(_print_jobs(desk_ctx)) == 1


# ----- rate limits ------------------------------------------------------------------------------------------------
def _asgi(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.7", 5000)),
                             base_url="http://testserver")


@pytest.mark.anyio
async def test_wrong_enrolment_codes_hit_429_fast(server_app, seeded):
    """Finding 10: 300 wrong enrolment codes in under a second were all answered 400, never 429."""
    async with _asgi(server_app) as client:
        t0, statuses, last = time.monotonic(), [], None
        for i in range(300):
            last = await client.post(Endpoint.ENROLL, json=EnrollRequest(code=f"WRONG{i:04d}").wire())
            statuses.append(last.status_code)
        elapsed = time.monotonic() - t0
    assert 429 in statuses and statuses.count(400) <= 10
    assert statuses[-1] == 429 and int(last.headers["Retry-After"]) >= 1
    assert "过于频繁" in last.json()["detail"]["message"]
    assert elapsed < 10


@pytest.mark.anyio
async def test_enrolment_limit_is_per_committee_code_too(server_app, seeded):
    """Finding 10: guesses for one committee from many addresses are limited by the committee code as well."""
    statuses = []
    for i in range(40):
        transport = httpx.ASGITransport(app=server_app, client=(f"10.0.1.{i}", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            body = EnrollRequest(code=f"WRONG{i:04d}", committee_code=COMMITTEE).wire()
            statuses.append((await client.post(Endpoint.ENROLL, json=body)).status_code)
    assert statuses[0] == 400 and statuses[-1] == 429


@pytest.mark.anyio
async def test_token_endpoint_is_rate_limited(server_app, seeded, api):
    """Finding 10: the token endpoint answers 429 with a Chinese reason once asked too often."""
    _, headers = enroll_raw(api, seeded)
    async with _asgi(server_app) as client:
        statuses = [(await client.post(Endpoint.TOKEN_RENEW, headers={"Authorization": "Bearer x.y"})).status_code
                    for _ in range(100)]
        limited = await client.post(Endpoint.TOKEN_RENEW, headers=headers)
    assert statuses[0] == 401 and statuses[-1] == 429
    assert limited.status_code == 429 and "过于频繁" in limited.json()["detail"]["message"]
    assert api.post(Endpoint.TOKEN_RENEW, headers=headers).status_code == 200  # another address is not affected


# ----- token expiry, renewal, revocation ---------------------------------------------------------------------------
def test_device_token_expires_after_30_days(api, seeded, server_clock):
    """Finding 10: device tokens never expired; now a token unused for renewal stops working after 30 days."""
    _, headers = enroll_raw(api, seeded)
    assert api.get(Endpoint.SNAPSHOT_START, headers=headers).status_code == 200
    server_clock.advance(days=29)
    assert api.get(Endpoint.SNAPSHOT_START, headers=headers).status_code == 200
    server_clock.advance(days=2)
    answer = api.get(Endpoint.SNAPSHOT_START, headers=headers)
    assert answer.status_code == 401 and "过期" in answer.json()["detail"]["message"]
    assert api.post(Endpoint.TOKEN_RENEW, headers=headers).status_code == 401  # too late to renew


def test_renewal_near_expiry_rotates_the_token(api, seeded, server_clock, server_db):
    """Finding 10: inside the renewal window the server hands out a new token and the old one stops working."""
    _, headers = enroll_raw(api, seeded)
    early = api.post(Endpoint.TOKEN_RENEW, headers=headers).json()
    assert early["token"] is None  # far from expiry: keep the one you have
    server_clock.advance(days=25)
    renewed = api.post(Endpoint.TOKEN_RENEW, headers=headers).json()
    assert renewed["token"] and dt.datetime.fromisoformat(renewed["expires_at"]) > utcnow() + dt.timedelta(days=54)
    new_headers = {"Authorization": f"Bearer {renewed['token']}"}
    assert api.get(Endpoint.SNAPSHOT_START, headers=headers).status_code == 401
    # the answer was lost on the way: the previous token may renew once more, nothing else
    again = api.post(Endpoint.TOKEN_RENEW, headers=headers).json()
    assert again["token"] and again["token"] != renewed["token"]
    assert api.get(Endpoint.SNAPSHOT_START, headers=new_headers).status_code == 401
    assert api.get(Endpoint.SNAPSHOT_START, headers={"Authorization": f"Bearer {again['token']}"}).status_code == 200
    server_clock.advance(days=20)  # past the first token's 30 days
    assert api.get(Endpoint.SNAPSHOT_START, headers={"Authorization": f"Bearer {again['token']}"}).status_code == 200


def test_desk_renews_its_token_while_online(make_desk, server_clock, server_db):
    """Finding 10: the desk's sync round renews the token near expiry and stores the new one; it keeps syncing
    past the first token's 30 days."""
    desk = make_desk("A")
    with desk.ctx.sessions() as s:
        first = device_token(s.scalars(select(Device).where(Device.is_local.is_(True))).one())
    server_clock.advance(days=25)
    assert desk.sync.sync_once().ok
    with desk.ctx.sessions() as s:
        second = device_token(s.scalars(select(Device).where(Device.is_local.is_(True))).one())
    assert second and second != first
    server_clock.advance(days=20)
    result = desk.sync.sync_once()
    assert result.ok, result.error
    with server_db.sessions() as s:
        expiry = s.scalars(select(ServerDevice.token_expires_at)).one()
    assert expiry > utcnow() + dt.timedelta(days=40)


def test_revocation_is_immediate(api, seeded):
    """Finding 10: a revoked device's very next request is refused (403 revoked, the desk keeps its data)."""
    device_id, headers = enroll_raw(api, seeded)
    assert api.get(Endpoint.SNAPSHOT_START, headers=headers).status_code == 200
    admin.revoke_device(seeded, device_id)
    for method, path in (("GET", Endpoint.SNAPSHOT_START), ("POST", Endpoint.TOKEN_RENEW)):
        answer = api.request(method, path, headers=headers)
        assert answer.status_code == 403 and answer.json()["detail"]["error"] == "revoked"
