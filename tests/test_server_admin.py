"""The administrator's side: server CLI, enrolment codes, tokens, revocation, and reference data flowing down
(accounts with password hashes, committee settings, holiday calendars, catalog versions)."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid

import pytest
from sqlalchemy import func, select

from app.cli.main import main
from app.core.paths import FORMS_ITEMS_DIR
from app.core.workdays import CalendarStore
from app.desk.auth import AuthError, AuthService
from app.desk.catalog.refs import shared_catalog
from app.desk.catalog.store import current_catalog_dir
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.setup import FirstRunInput, initialise_desk
from app.desk.sync.enroll import EnrollFailed, enroll_desk
from app.server import admin
from models import Committee, Device, OutboxEntry, Resident, Worker
from models.server import CatalogVersion, EnrollCode, ServerDevice
from tests.sync_helpers import COMMITTEE, enroll_raw

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = pytest.mark.server


def _cli(pg_url, tmp_path, *argv) -> int:
    return main(["--data-dir", str(tmp_path / "srv"), "server", *argv, "--db", pg_url])


def test_admin_cli_end_to_end(server_db, pg_url, tmp_path, capsys):
    assert _cli(pg_url, tmp_path, "committee", "add", COMMITTEE, "幸福里社区居民委员会",
                "--close-of-business", "17:00") == 0
    assert _cli(pg_url, tmp_path, "committee", "set", COMMITTEE, "--phone", "0516-1",
                "--setting", "receipt_footer=谢谢", "--setting", "region=江苏省/徐州市/鼓楼区/丰财街道") == 0
    assert _cli(pg_url, tmp_path, "worker", "add", "mz", "李建国", "--committee", COMMITTEE, "--roles", "line",
                "--lines", "民政,残联", "--password", "mzpass1") == 0
    assert _cli(pg_url, tmp_path, "worker", "add", "bad", "坏", "--committee", COMMITTEE, "--roles", "wizard",
                "--password", "xxxxxx1") == 2
    assert _cli(pg_url, tmp_path, "worker", "add", "x", "短", "--committee", "nope", "--roles", "line",
                "--password", "p") == 2
    assert _cli(pg_url, tmp_path, "enroll-code", "--committee", COMMITTEE) == 0
    code = capsys.readouterr().out.splitlines()[-2]
    assert len(code) == 11 and code[5] == "-"
    calendar_file = FORMS_ITEMS_DIR.parent.parent / "resources/calendar/cn-2026.json"
    assert _cli(pg_url, tmp_path, "calendar", "import", str(calendar_file)) == 0
    assert _cli(pg_url, tmp_path, "catalog", "publish", str(FORMS_ITEMS_DIR)) == 0
    assert _cli(pg_url, tmp_path, "worker", "list") == 0
    assert _cli(pg_url, tmp_path, "committee", "list") == 0
    out = capsys.readouterr()
    assert "李建国" in out.out and "民政,残联" in out.out and "0516-1" in out.out
    with server_db.sessions() as s:
        com = s.scalars(select(Committee)).one()
        assert com.close_of_business == "17:00" and com.settings == {"receipt_footer": "谢谢", "region": {
            "province": "江苏省", "city": "徐州市", "county": "鼓楼区", "street": "丰财街道"}}  # the street set by hand
        w = s.scalars(select(Worker)).one()
        assert w.password_hash.startswith("$argon2id$") and w.lines == ["民政", "残联"]
        ec = s.scalars(select(EnrollCode)).one()
        assert ec.code_hash == hashlib.sha256(code.replace("-", "").encode()).hexdigest()  # only the hash is kept
        assert s.scalar(select(func.count()).select_from(CatalogVersion)) == 1


def test_device_list_and_revoke_cli(seeded, api, pg_url, tmp_path, capsys):
    device_id, headers = enroll_raw(api, seeded)
    assert _cli(pg_url, tmp_path, "device", "list") == 0
    assert device_id in capsys.readouterr().out
    assert _cli(pg_url, tmp_path, "device", "revoke", device_id) == 0
    resp = api.get("/v1/pull", headers=headers)
    assert resp.status_code == 403 and "停用" in resp.json()["detail"]["message"]
    assert _cli(pg_url, tmp_path, "device", "revoke", str(uuid.uuid4())) == 2


def test_enroll_code_is_one_time_and_expires_after_15_minutes(api, seeded, server_clock):
    code, _ = admin.create_enroll_code(seeded, COMMITTEE)
    first = api.post("/v1/enroll", json={"code": code.lower()})  # read over the phone: case does not matter
    assert first.status_code == 200
    assert api.post("/v1/enroll", json={"code": code}).status_code == 400
    late, _ = admin.create_enroll_code(seeded, COMMITTEE)
    server_clock.advance(minutes=16)
    resp = api.post("/v1/enroll", json={"code": late})
    assert resp.status_code == 400 and "过期" in resp.json()["detail"]["message"]


def test_token_is_stored_hashed(api, seeded):
    code, _ = admin.create_enroll_code(seeded, COMMITTEE)
    answer = api.post("/v1/enroll", json={"code": code, "device_code": "D01"}).json()
    secret = answer["token"].split(".", 1)[1]
    with seeded.sessions() as s:
        dev = s.get(ServerDevice, uuid.UUID(answer["device_id"]))
        assert dev.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in dev.token_hash


def test_device_codes_stay_unique_within_a_committee(make_desk):
    a, b = make_desk("A"), make_desk("B")
    assert a.ctx.identity().device_code != b.ctx.identity().device_code


def test_accounts_flow_down_with_password_hashes(make_desk, seeded):
    a = make_desk("A")
    assert AuthService(a.ctx).login("mz", "mzpass1").lines == ("民政",)
    admin.set_worker_active(seeded, COMMITTEE, "mz", False)
    admin.add_worker(seeded, COMMITTEE, "new", "新人", roles=["front_desk"], password="newpass1")
    a.sync.sync_once()
    auth = AuthService(a.ctx)
    assert auth.login("new", "newpass1").display_name == "新人"
    with pytest.raises(AuthError, match="用户名或密码不正确"):
        auth.login("mz", "mzpass1")


def test_lockout_state_stays_on_the_desk(make_desk, seeded):
    a = make_desk("A")
    with pytest.raises(AuthError, match="用户名或密码不正确"):
        AuthService(a.ctx).login("desk", "wrong")
    admin.update_committee(seeded, COMMITTEE, phone="1")  # something else changes and is pulled
    admin.set_worker_active(seeded, COMMITTEE, "desk", True)  # the worker row itself is pulled again
    a.sync.sync_once()
    with a.ctx.sessions() as s:
        assert s.scalars(select(Worker).where(Worker.login == "desk")).one().failed_attempts == 1


def test_committee_settings_calendar_and_catalog_flow_down(make_desk, seeded, tmp_path):
    a = make_desk("A")
    admin.update_committee(seeded, COMMITTEE, close_of_business="16:30", settings={"k": "v"})
    cal = tmp_path / "cn-2031.json"
    cal.write_text(json.dumps({"year": 2031, "version": 3, "holidays": ["2031-01-01"], "makeup_workdays": []}))
    admin.import_calendar(seeded, cal)
    items = tmp_path / "items"
    shutil.copytree(FORMS_ITEMS_DIR, items)
    published = admin.publish_catalog(seeded, items)
    assert a.sync.sync_once().ok
    with a.ctx.sessions() as s:
        com = s.scalars(select(Committee)).one()
        assert (com.close_of_business, com.settings) == ("16:30", {"k": "v", "region": {  # from the code 320302…
            "province": "江苏省", "city": "徐州市", "county": "鼓楼区", "street": ""}})
    assert CalendarStore(a.ctx.data_dir).versions()[2031] == 3
    folder = current_catalog_dir(a.ctx.data_dir)
    assert folder is not None and sorted(p.name for p in folder.glob("*.yaml")) == sorted(published.files)
    assert shared_catalog(a.ctx.data_dir).catalog.content_hash == published.content_hash  # used at next start
    b = make_desk("B")  # a new desk gets the same through its first snapshot
    assert CalendarStore(b.ctx.data_dir).versions()[2031] == 3 and current_catalog_dir(b.ctx.data_dir) is not None


def test_publishing_a_broken_catalog_is_refused(seeded, tmp_path):
    items = tmp_path / "items"
    shutil.copytree(FORMS_ITEMS_DIR, items)
    first = sorted(items.glob("MZ-*.yaml"))[0]
    first.write_text(first.read_text(encoding="utf-8").replace("department:", "departmentt:", 1), encoding="utf-8")
    with pytest.raises(admin.AdminError, match="编写错误"):
        admin.publish_catalog(seeded, items)


def test_enrolling_a_desk_set_up_on_its_own_adopts_the_district_records(tmp_path, template_db, seeded, api):
    folder = tmp_path / "solo"
    folder.mkdir()
    shutil.copyfile(template_db, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    initialise_desk(ctx, FirstRunInput(committee_name="幸福里", committee_code=COMMITTEE,
                                       admin_login="desk", admin_name="王晓燕", admin_password="localpass"))
    from app.desk.residents import ResidentInput, ResidentService
    local_admin = AuthService(ctx).login("desk", "localpass")
    ResidentService(ctx).create(local_admin, ResidentInput(name="张桂兰", id_number="11010519491231002X"))
    local_committee = ctx.identity().committee_id
    code, _ = admin.create_enroll_code(seeded, COMMITTEE)
    enroll_desk(ctx, "http://testserver", code, http=api, allow_insecure_http=True)
    from app.desk.sync.client import SyncClient
    assert SyncClient(ctx, http=api).sync_once().ok
    with ctx.sessions() as s:
        com = s.scalars(select(Committee)).one()
        assert com.id != local_committee and com.name == "幸福里社区居民委员会"
        assert s.scalars(select(Resident)).one().committee_id == com.id
        desk = s.scalars(select(Worker).where(Worker.login == "desk")).one()
        entry = s.scalars(select(OutboxEntry)).one()
        assert entry.acting_worker_id == desk.id  # the local account's history moved to the district account
        assert entry.status == "applied", entry.reason
        assert s.scalars(select(Device)).one().server_device_id
    assert AuthService(ctx).login("desk", "deskpass")  # the district password now
    ctx.close()


def test_enrolling_with_a_code_of_another_committee_is_refused(tmp_path, template_db, seeded, api):
    admin.add_committee(seeded, "320302002", "和平里社区居民委员会")
    folder = tmp_path / "solo"
    folder.mkdir()
    shutil.copyfile(template_db, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    initialise_desk(ctx, FirstRunInput(committee_name="幸福里", committee_code=COMMITTEE,
                                       admin_login="admin", admin_name="管理员", admin_password="localpass"))
    code, _ = admin.create_enroll_code(seeded, "320302002")
    with pytest.raises(EnrollFailed, match="和平里"):
        enroll_desk(ctx, "http://testserver", code, http=api, allow_insecure_http=True)
    ctx.close()


def test_openapi_is_served(api):
    spec = api.get("/openapi.json").json()
    assert {"/v1/push", "/v1/pull", "/v1/enroll", "/v1/snapshot"} <= set(spec["paths"])
