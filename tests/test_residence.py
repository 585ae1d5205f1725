"""The residence model (rules.md §6, issue 13 point 3): 户籍地址 against the committee's own place, 人户分离 derived,
a valid 居住证; rules state their scope; the fields travel from the dialog through the desk to the server."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from app.core.paths import FORMS_ITEMS_DIR
from app.core.residence import Region, committee_region, region_from_division_code, residence_of, same_place
from app.core.residents import ResidentError, ResidentInput, validate_input
from app.desk.auth import AuthService
from app.desk.intake import IntakeService
from app.desk.region import RegionError, RegionService
from app.desk.residents import ResidentService
from forms.identity import make_id_number
from forms.loader import load_catalog
from forms.validate import sample_applicant, sample_submission, validate_submission
from models import Committee, OutboxEntry, Resident
from tests.gui_helpers import type_text

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server (the server tests below)

TODAY = dt.date(2026, 11, 20)
HOME = Region("江苏省", "徐州市", "鼓楼区", "丰财街道")
ID_NUMBER = "11010519491231002X"


def _resident(hukou=("", "", "", ""), *, local=True, permit="", expiry=None, nature=""):
    """An unsaved resident row with a 户籍地址 (the derivations read attributes only)."""
    p, c, k, s = hukou
    return Resident(hukou_province=p, hukou_city=c, hukou_county=k, hukou_street=s, hukou_nature=nature,
                    residence_permit_no=permit, residence_permit_expiry=expiry, local_hukou=local)


# ----- derivations ------------------------------------------------------------------------------------------
def test_same_place_compares_level_by_level_with_the_levels_above():
    nanjing_gulou = Region("江苏省", "南京市", "鼓楼区", "宁海路街道")
    assert same_place(nanjing_gulou, HOME, "county") is False  # there is a 鼓楼区 in 南京 too
    assert same_place(Region("江苏", "徐州", "鼓楼", "丰财"), HOME, "street") is True  # suffixes left off
    assert same_place(Region(city="徐州市", county="鼓楼区"), HOME, "county") is True  # no province: by city
    assert same_place(Region("江苏省", "徐州市", "鼓楼区"), HOME, "street") is None  # street not recorded
    assert same_place(Region("江苏省", "徐州市", "鼓楼区", "牌楼街道"), Region("江苏省", "徐州市", "鼓楼区"),
                      "street") is None  # the committee's street not set
    assert same_place(Region("安徽省", "宿州市"), HOME, "city") is False


@pytest.mark.parametrize(("hukou", "flags", "separated"), [
    (("江苏省", "徐州市", "鼓楼区", "丰财街道"), (True, True, True), False),
    (("江苏省", "徐州市", "鼓楼区", "牌楼街道"), (True, True, False), True),  # 人户分离 within the district
    (("江苏省", "徐州市", "泉山区", "奎山街道"), (True, False, False), True),
    (("安徽省", "宿州市", "埇桥区", "道东街道"), (False, False, False), True),
    (("江苏省", "徐州市", "", ""), (True, None, None), None),
])
def test_hukou_scope_and_separation_follow_the_hukou_address(hukou, flags, separated):
    r = residence_of(_resident(hukou), HOME, TODAY)
    assert (r.hukou_city_local, r.hukou_county_local, r.hukou_street_local) == flags
    assert r.separated is separated


def test_a_resident_without_hukou_address_keeps_what_the_old_flag_said():
    old_local = residence_of(_resident(local=True), HOME, TODAY)
    assert (old_local.hukou_city_local, old_local.hukou_county_local, old_local.separated) == (True, None, None)
    old_other = residence_of(_resident(local=False), HOME, TODAY)
    assert (old_other.hukou_city_local, old_other.hukou_street_local, old_other.separated) == (False, False, True)
    unknown_home = residence_of(_resident(("江苏省", "徐州市", "鼓楼区", "丰财街道")), Region(), TODAY)
    assert unknown_home.hukou_city_local is None  # the committee's place is not set: nothing can be said


def test_residence_permit_is_valid_with_a_number_and_an_expiry_not_passed():
    def valid(**kw):
        return residence_of(_resident(**kw), HOME, TODAY).residence_permit_valid
    assert valid(permit="320302202500001", expiry=TODAY) is True
    assert valid(permit="320302202500001", expiry=TODAY - dt.timedelta(days=1)) is False
    assert valid(permit="320302202500001") is None  # expiry not recorded
    assert valid(expiry=TODAY) is False and valid() is False


def test_committee_region_from_its_division_code_and_settings():
    assert region_from_division_code("320302001") == Region("江苏省", "徐州市", "鼓楼区", "")
    assert region_from_division_code("110105003") == Region("北京市", "北京市", "朝阳区", "")  # a 直辖市
    assert region_from_division_code("XF001").empty and region_from_division_code("999999").empty
    assert committee_region({"region": "江苏省/徐州市/鼓楼区/丰财街道"}) == HOME  # as the server CLI stores it
    assert committee_region({"region": HOME.as_dict()}) == HOME and committee_region(None).empty
    assert HOME.label() == "江苏省徐州市鼓楼区丰财街道"
    assert Region("北京市", "北京市", "朝阳区").label() == "北京市朝阳区"


# ----- input checks -----------------------------------------------------------------------------------------
BASE = ResidentInput(name="张桂兰", id_number=ID_NUMBER)


@pytest.mark.parametrize(("changes", "message"), [
    ({"hukou_nature": "城镇户口"}, "户口性质应为非农业家庭户口、农业家庭户口、居民户口、集体户口之一"),
    ({"residence_permit_no": "JZ1", "residence_permit_expiry": "2027-06-30"}, "居住证号码应为 6–30 位数字或字母"),
    ({"residence_permit_no": "320302202500001", "residence_permit_expiry": "明年六月"}, "居住证有效期应为日期"),
    ({"residence_permit_no": "320302202500001", "residence_permit_expiry": "2027-02-30"}, "居住证有效期应为日期"),
    ({"residence_permit_no": "320302202500001", "residence_permit_expiry": "2009-01-01"}, "不在合理范围内"),
    ({"residence_permit_expiry": "2027-06-30"}, "请同时填写居住证号码"),
    ({"hukou_county": "鼓楼区"}, "请同时填写所在的市"),
    ({"hukou_city": "徐州市", "hukou_street": "丰财街道"}, "请同时填写所在的区县"),
    ({"hukou_street": "街" * 61, "hukou_city": "徐州市", "hukou_county": "鼓楼区"}, "户籍地（街道、乡镇）过长"),
])
def test_bad_residence_values_get_chinese_messages(changes, message):
    with pytest.raises(ResidentError, match=message):
        validate_input(replace(BASE, **changes), TODAY)


def test_residence_values_are_cleaned():
    clean, _ = validate_input(replace(BASE, hukou_city=" 徐州 市", residence_permit_no="3203-0220 2500 001",
                                      residence_permit_expiry="2027年6月30日", hukou_nature=" 居民户口 "), TODAY)
    assert (clean.hukou_city, clean.residence_permit_no, clean.residence_permit_expiry, clean.hukou_nature) == (
        "徐州市", "320302202500001", dt.date(2027, 6, 30), "居民户口")


# ----- the desk ---------------------------------------------------------------------------------------------
@pytest.fixture
def home_desk(desk_ctx):
    """The desk of conftest's committee 320302001 with its street set by the administrator."""
    admin = AuthService(desk_ctx).login("admin", "secret123")
    RegionService(desk_ctx).set(admin, HOME)
    return desk_ctx, admin


def test_first_run_finds_the_committee_place_from_its_code_and_an_admin_completes_it(desk_ctx):
    svc = RegionService(desk_ctx)
    assert svc.get() == Region("江苏省", "徐州市", "鼓楼区", "")
    auth = AuthService(desk_ctx)
    with pytest.raises(RegionError, match="只有站长或管理员"):
        svc.set(auth.login("desk", "deskpass"), HOME)
    with pytest.raises(RegionError, match="请至少填写本居委会所在的市"):
        svc.set(auth.login("admin", "secret123"), Region(province="江苏省"))
    svc.set(auth.login("admin", "secret123"), HOME)
    assert svc.get() == HOME


def test_saved_resident_keeps_local_hukou_in_step_and_the_upsert_carries_the_fields(home_desk):
    ctx, admin = home_desk
    data = ResidentInput(name="钱志明", id_number=make_id_number(40, "男", seed=3), hukou_province="安徽省",
                         hukou_city="宿州市", hukou_county="埇桥区", hukou_street="道东街道",
                         hukou_nature="农业家庭户口",
                         residence_permit_no="320302202500007", residence_permit_expiry="2045-01-01")
    row, _ = ResidentService(ctx).create(admin, data)
    detail = ResidentService(ctx).get(row.id)
    assert detail.local_hukou is False  # derived from the 户籍 city, for code that still reads it
    assert detail.residence.separated is True and detail.residence.residence_permit_valid is True
    with ctx.sessions() as s:
        args = s.scalars(select(OutboxEntry.args).order_by(OutboxEntry.mid.desc())).first()
    assert (args["hukou_city"], args["hukou_nature"], args["residence_permit_expiry"]) == (
        "宿州市", "农业家庭户口", "2045-01-01")
    assert args["local_hukou"] is False


def test_bad_expiry_or_nature_on_edit_changes_nothing(home_desk):
    ctx, admin = home_desk
    svc = ResidentService(ctx)
    rid = svc.search("张桂兰")[0].id
    before = svc.get(rid)
    with ctx.sessions() as s:
        queued = s.scalar(select(func.count()).select_from(OutboxEntry))
    for bad in ({"hukou_nature": "农村户口"}, {"residence_permit_no": "320302202500001",
                                              "residence_permit_expiry": "2027-13-01"}):
        with pytest.raises(ResidentError) as e:
            svc.update(admin, rid, replace(ResidentInput(name="张桂兰", id_number="", address=before.address), **bad))
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(e.value))
    assert svc.get(rid) == before
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEntry)) == queued


def test_a_non_local_dibao_applicant_gets_a_warning_not_a_block(home_desk):
    ctx, admin = home_desk
    row, _ = ResidentService(ctx).create(admin, ResidentInput(
        name="孙明辉", id_number=make_id_number(52, "男", seed=5), hukou_province="江苏省", hukou_city="徐州市",
        hukou_county="鼓楼区", hukou_street="牌楼街道"))  # 人户分离: registered in another street of the district
    intake = IntakeService(ctx)
    item = intake.item("MZ-02")
    submission = sample_submission(item, intake.applicant(row.id), dt.date.today())
    result = validate_submission(item, submission, dt.date.today())
    assert result.eligible, result.eligibility_failures
    assert any("可按居住证政策" in m for m in result.eligibility_warnings)
    verdict = next(v for v in result.verdicts if "户籍所在地" in v.message)
    assert (verdict.level, verdict.passed) == ("warn", False)


def test_wrong_place_blocks_and_says_where_to_go_and_unknown_hukou_is_undecided():
    item = load_catalog(FORMS_ITEMS_DIR).get("RS-01")
    elsewhere = {**sample_applicant(item, TODAY), "hukou_city_local": True, "hukou_county_local": False,
                 "hukou_street_local": False}
    result = validate_submission(item, sample_submission(item, elsewhere, TODAY), TODAY)
    assert not result.eligible and any("请到户籍所在地" in m for m in result.eligibility_failures)
    unknown = {**sample_applicant(item, TODAY), "hukou_county_local": None, "hukou_street_local": None,
               "local_hukou": True}  # a resident registered before the 户籍地址 existed
    for key in ("hukou_city_local", "separated"):
        unknown.pop(key)
    result = validate_submission(item, sample_submission(item, unknown, TODAY), TODAY)
    assert result.eligible and any("户籍地参保" in m for m in result.eligibility_unknown)


def test_every_hukou_rule_states_its_scope_and_the_loader_refuses_the_old_flag(tmp_path):
    catalog = load_catalog(FORMS_ITEMS_DIR)
    scoped = [(code, r.scope) for code, item in catalog.items.items() for r in item.eligibility if r.scope]
    assert len(scoped) >= 15 and {s for _, s in scoped} == {"本市", "本区县", "本街道"}
    assert not any("applicant.local_hukou" in r.rule for item in catalog.items.values() for r in item.eligibility)
    src = (catalog.source_dir / "MZ-09.yaml").read_text("utf-8")
    items = tmp_path / "items"
    items.mkdir()
    for p in catalog.source_dir.glob("*.yaml"):
        (items / p.name).write_text(p.read_text("utf-8"), "utf-8")
    (items / "MZ-09.yaml").write_text(src.replace("applicant.hukou_city_local == true", "applicant.local_hukou"),
                                      "utf-8")
    (items / "MZ-11.yaml").write_text((items / "MZ-11.yaml").read_text("utf-8").replace("    scope: 本市\n", ""),
                                      "utf-8")
    broken = load_catalog(items)
    messages = [str(e) for e in broken.errors]
    assert any("MZ-09" in m and "local_hukou 含义不明" in m for m in messages)
    assert any("MZ-11" in m and "请写明 scope" in m for m in messages)


def test_catalog_show_prints_the_scope(capsys):
    from app.cli.main import main
    assert main(["catalog", "show", "MZ-02"]) == 0
    assert "范围 本街道" in capsys.readouterr().out


def test_demo_residents_include_separated_permit_holders_and_non_locals(demo_ctx):
    svc = ResidentService(demo_ctx)
    details = [svc.get(row.id) for row in svc.search("")]
    assert committee_region(_settings(demo_ctx)) == HOME
    residences = [d.residence for d in details]
    assert sum(r.separated is True for r in residences) >= 5
    assert sum(r.hukou_city_local is False for r in residences) >= 4
    assert sum(r.residence_permit_valid is True for r in residences) >= 3
    assert any(r.residence_permit_valid is False and d.residence_permit_no for r, d in zip(residences, details,
                                                                                          strict=True))
    assert sum(r.hukou_street_local is True for r in residences) >= 15


def _settings(ctx) -> dict:
    with ctx.sessions() as s:
        return s.get_one(Committee, ctx.identity().committee_id).settings


# ----- the dialog and the detail ------------------------------------------------------------------------------
@pytest.mark.gui
def test_resident_dialog_saves_the_hukou_and_the_detail_shows_separation(styled_app, qtbot, home_desk):
    from ui.residents.residents_page import ResidentsPage
    from ui.services import Services
    ctx, admin = home_desk
    services = Services(ctx)
    services.current_worker = admin
    page = ResidentsPage(services)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    qtbot.mouseClick(page.new_button, Qt.LeftButton)
    dlg = page.editor
    assert dlg is not None
    type_text(qtbot, dlg.name, "钱志明")
    qtbot.keyClicks(dlg.id_number, make_id_number(66, "男", seed=9))
    for widget, text in ((dlg.hukou_province, "江苏省"), (dlg.hukou_city, "徐州市"), (dlg.hukou_county, "鼓楼区"),
                         (dlg.hukou_street, "牌楼街道")):
        type_text(qtbot, widget, text)
    dlg.hukou_nature.setCurrentIndex(dlg.hukou_nature.findData("居民户口"))
    qtbot.keyClicks(dlg.permit_no, "320302202500009")
    qtbot.keyClicks(dlg.permit_expiry, "2045-06-30")
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Save), Qt.LeftButton)
    qtbot.waitUntil(lambda: page.current is not None and page.current.name == "钱志明")
    assert "江苏省徐州市鼓楼区牌楼街道" in page.d_hukou.text() and "本区县户籍" in page.d_hukou.text()
    assert "居民户口" in page.d_hukou.text()
    assert page.d_separated.text().startswith("是")
    assert page.d_permit.text() == "有效（至 2045-06-30）"
    with ctx.sessions() as s:
        r = s.scalars(select(Resident).where(Resident.name == "钱志明")).one()
        assert (r.hukou_street, r.hukou_nature, r.residence_permit_expiry, r.local_hukou) == (
            "牌楼街道", "居民户口", dt.date(2045, 6, 30), True)


@pytest.mark.gui
def test_resident_dialog_shows_a_bad_expiry_and_saves_nothing(styled_app, qtbot, home_desk):
    from ui.residents.resident_dialog import ResidentDialog
    ctx, admin = home_desk
    svc = ResidentService(ctx)
    dlg = ResidentDialog(lambda data: svc.create(admin, data))
    qtbot.addWidget(dlg)
    dlg.show()
    type_text(qtbot, dlg.name, "冯玉兰")
    qtbot.keyClicks(dlg.id_number, make_id_number(70, "女", seed=2))
    qtbot.keyClicks(dlg.permit_no, "320302202500010")
    qtbot.keyClicks(dlg.permit_expiry, "2045/13/40")
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Save), Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.error.text() != "")
    assert "居住证有效期应为日期" in dlg.error.text() and dlg.isVisible()
    assert svc.search("冯玉兰") == []


@pytest.mark.gui
def test_an_administrator_completes_the_committee_place_on_the_settings_page(styled_app, qtbot, desk_ctx):
    from tests.gui_helpers import answer_next_message_box
    from ui.region_editor import RegionEditor
    from ui.services import Services
    services = Services(desk_ctx)
    services.current_worker = AuthService(desk_ctx).login("admin", "secret123")
    editor = RegionEditor(services)
    qtbot.addWidget(editor)
    editor.show()
    editor.refresh()
    qtbot.waitUntil(lambda: editor.county.text() == "鼓楼区")  # from the committee code, at first run
    assert (editor.province.text(), editor.city.text(), editor.street.text()) == ("江苏省", "徐州市", "")
    type_text(qtbot, editor.street, "丰财街道")
    seen = answer_next_message_box()
    qtbot.mouseClick(editor.save_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: seen != [])
    assert seen == ["本居委会所在地已保存"] and RegionService(desk_ctx).get() == HOME


# ----- the district server ------------------------------------------------------------------------------------


@pytest.fixture
def device(api, seeded):
    from tests.sync_helpers import enroll_raw, server_worker_id
    device_id, headers = enroll_raw(api, seeded)
    return device_id, headers, server_worker_id(seeded, "desk")


def _push(api, device, *args_list):
    from tests.sync_helpers import mutation
    device_id, headers, worker = device
    batch = [mutation(i, "resident.upsert.v1", args, worker) for i, args in enumerate(args_list, 1)]
    resp = api.post("/v1/push", json={"device_id": device_id, "mutations": batch}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


def _old_args(**extra) -> dict:
    return {"id": str(uuid.uuid4()), "name": "张桂兰", "id_number": ID_NUMBER, "phone": "13800138000",
            "address": "幸福里一区3号楼", "household_no": "", "local_hukou": True, "notes": "", "version": 1, **extra}


@pytest.mark.server
def test_server_applies_the_new_fields_and_an_old_payload(api, seeded, device):
    from models.server import Resident as ServerResident
    new = _old_args(id_number=make_id_number(35, "女", seed=4), hukou_province="安徽省", hukou_city="宿州市",
                    hukou_county="埇桥区", hukou_street="道东街道", hukou_nature="农业家庭户口",
                    residence_permit_no="320302202500011", residence_permit_expiry="2045-01-31")
    old = _old_args()  # a desk from before the residence model
    assert [r["status"] for r in _push(api, device, new, old)] == ["applied", "applied"]
    with seeded.sessions() as s:
        r = s.get(ServerResident, uuid.UUID(new["id"]))
        assert (r.hukou_city, r.hukou_street, r.hukou_nature) == ("宿州市", "道东街道", "农业家庭户口")
        assert r.residence_permit_expiry == dt.date(2045, 1, 31) and r.residence_permit_no == "320302202500011"
        assert r.local_hukou is False  # against the committee's city, from its code 320302…
        o = s.get(ServerResident, uuid.UUID(old["id"]))
        assert (o.hukou_city, o.residence_permit_expiry, o.local_hukou) == ("", None, True)


@pytest.mark.server
@pytest.mark.parametrize(("bad", "message"), [
    ({"hukou_nature": "城镇户口"}, "户口性质应为"),
    ({"residence_permit_no": "320302202500012", "residence_permit_expiry": "2045-02-30"}, "居住证有效期应为日期"),
])
def test_server_sets_aside_a_bad_nature_or_expiry_and_stores_nothing(api, seeded, device, bad, message):
    from models.server import Resident as ServerResident
    (result,) = _push(api, device, _old_args(**bad))
    assert result["status"] == "set_aside" and message in result["reason"]
    with seeded.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ServerResident)) == 0
