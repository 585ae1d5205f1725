"""The device registry (issue 15 part 7): devices.json, drivers from modules and factories, test + last error,
and the two committee settings the devices read (keep_card_photo, verify_base_url)."""

from __future__ import annotations

import json
import os
import re
import textwrap
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.desk.devices.base import DeviceDriver, DeviceKind
from app.desk.devices.base import TestResult as Result
from app.desk.devices.registry import (
    CONFIG_FILE,
    OPTION_SDK_PATH,
    OPTION_SERVICE_URL,
    OPTION_WATCH_FOLDER,
    STATE_FILE,
    DeviceConfig,
    DeviceRegistry,
    DeviceSettingsError,
    keep_card_photo,
    register_factory,
    set_keep_card_photo,
    set_verify_base_url,
    unregister_factory,
    verify_base_url,
)

FAKE_MODULE = textwrap.dedent('''
    from app.desk.devices.base import DeviceKind, TestResult

    class Reader:
        kind = DeviceKind.ID_READER
        def __init__(self, name, label, ok, sdk=""):
            self.name, self.label, self.ok, self.sdk = name, label, ok, sdk
        def available(self):
            return (True, "") if self.ok else (False, "未检测到阅读器")
        def test(self):
            return TestResult(True, "读卡成功：张*（110************1234）")

    def drivers(config, *, simulate):
        if simulate:
            return [Reader("fake-idcard-sim", "模拟身份证阅读器", True)]
        return [Reader("fake-idcard-sdk", "读卡器 SDK", False, config.option(DeviceKind.ID_READER, "sdk_path"))]
''')

BROKEN_MODULE = "def drivers(config, *, simulate):\n    raise RuntimeError('boom')\n"


@dataclass
class FakeCamera:
    name: str
    label: str
    fails: str = ""  # the failure message of test(); "" = ok
    raises: bool = False
    kind: DeviceKind = DeviceKind.CAMERA
    simulated: bool = False

    def available(self) -> tuple[bool, str]:
        return True, ""

    def test(self) -> Result:
        if self.raises:
            raise OSError("device gone")
        return Result(not self.fails, self.fails or "拍照成功（1600×1200）", {"width": 1600})


CAMERAS = [FakeCamera("fake-camera-0", "USB 摄像头"), FakeCamera("fake-camera-bad", "坏摄像头", fails="摄像头无法打开"),
           FakeCamera("fake-camera-raise", "出错摄像头", raises=True)]


def fake_cameras(config, *, simulate: bool):
    if simulate:
        return [FakeCamera("fake-camera-sim", "模拟高拍仪", simulated=True)]
    return list(CAMERAS)


@pytest.fixture(autouse=True)
def _own_factories(monkeypatch):
    """Only the factories a test registers (a GUI test in the same run may have registered the real camera)."""
    from app.desk.devices import registry
    monkeypatch.setattr(registry, "_FACTORIES", [])


@pytest.fixture
def fake_modules(tmp_path, monkeypatch):
    folder = tmp_path / "fake_pkgs"
    folder.mkdir()
    (folder / "fake_idcard_drivers.py").write_text(FAKE_MODULE, encoding="utf-8")
    (folder / "fake_broken_drivers.py").write_text(BROKEN_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    register_factory(fake_cameras)
    yield ["app.desk.devices.not_here_yet", "fake_broken_drivers", "fake_idcard_drivers"]
    unregister_factory(fake_cameras)


# ----- devices.json --------------------------------------------------------------------------------------------

def test_config_roundtrip(tmp_path):
    config = (DeviceConfig().with_driver(DeviceKind.ID_READER, "idcard-termb")
              .with_option(DeviceKind.ID_READER, OPTION_SDK_PATH, r"C:\\读卡器\\termb.dll")
              .with_option(DeviceKind.ID_READER, OPTION_SERVICE_URL, "http://127.0.0.1:19196")
              .with_driver(DeviceKind.SCANNER, "scanner-folder")
              .with_option(DeviceKind.SCANNER, OPTION_WATCH_FOLDER, str(tmp_path / "扫描")))
    config.save(tmp_path)
    back = DeviceConfig.load(tmp_path)
    assert back.problem == ""
    assert back.chosen == config.chosen and back.options == config.options
    assert back.driver_name(DeviceKind.CAMERA) == ""  # none chosen
    assert back.option(DeviceKind.ID_READER, OPTION_SDK_PATH) == r"C:\\读卡器\\termb.dll"
    raw = json.loads((tmp_path / CONFIG_FILE).read_text(encoding="utf-8"))
    assert raw["drivers"]["id_reader"] == "idcard-termb" and raw["drivers"]["camera"] == ""
    assert not list(tmp_path.glob(".devices-*.tmp"))  # the temporary file of the atomic write is gone


def test_missing_file_gives_defaults_without_a_message(tmp_path):
    config = DeviceConfig.load(tmp_path)
    assert config.chosen == {} and config.options == {} and config.problem == ""


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\xff\xfe garbage"])
def test_bad_devices_json_gives_defaults_and_a_chinese_message(tmp_path, text):
    (tmp_path / CONFIG_FILE).write_bytes(text.encode("latin-1"))
    config = DeviceConfig.load(tmp_path)
    assert config.chosen == {} and config.options == {}
    assert "设备设置文件" in config.problem and "未配置设备" in config.problem
    registry = DeviceRegistry(tmp_path)  # the registry opens too, with the message to show
    assert registry.config_problem == config.problem
    assert registry.configured(DeviceKind.ID_READER) is None


ENGLISH_ERRORS = ("Error", "error", "directory", "denied", "codec", "Expecting", "recursion", "Traceback")


def _chinese_only(message: str, path) -> None:
    """A message for the worker: Chinese words, no Python exception's English text (the file's path aside)."""
    text = message.replace(str(path), "")
    assert re.search(r"[\u4e00-\u9fff]", text), message
    assert not any(word in text for word in ENGLISH_ERRORS), message


GARBAGE = {
    "deep": lambda p: p.write_text("[" * 200_000, encoding="utf-8"),  # beyond the size bound
    "deep_small": lambda p: p.write_text("[" * 60_000, encoding="utf-8"),  # within it: RecursionError in json.loads
    "deep_object": lambda p: p.write_text('{"drivers": ' * 100_000, encoding="utf-8"),
    "huge": lambda p: p.write_text(json.dumps({"drivers": {"id_reader": "idcard-sim"}}) + " " * 70_000,
                                   encoding="utf-8"),  # valid JSON, but beyond the size bound
    "not_utf8": lambda p: p.write_bytes(b'{"drivers": {"id_reader": "\xff\xfe"}}'),
    "directory": lambda p: p.mkdir(),
    "fifo": lambda p: os.mkfifo(p),  # must not block the desk's start
}


@pytest.mark.parametrize("garbage", sorted(GARBAGE))
def test_garbage_devices_json_gives_defaults_and_a_chinese_message(tmp_path, garbage):
    path = tmp_path / CONFIG_FILE
    GARBAGE[garbage](path)
    config = DeviceConfig.load(tmp_path)
    assert config.chosen == {} and config.options == {}
    assert "设备设置文件" in config.problem and "未配置设备" in config.problem
    _chinese_only(config.problem, path)
    if garbage == "huge":
        assert "过大" in config.problem and "64 KB" in config.problem
    registry = DeviceRegistry(tmp_path)
    assert registry.config_problem == config.problem and registry.configured(DeviceKind.ID_READER) is None


@pytest.mark.parametrize("garbage", sorted(GARBAGE))
def test_garbage_devices_state_json_reads_as_no_past_tests(tmp_path, fake_modules, garbage):
    GARBAGE[garbage](tmp_path / STATE_FILE)
    registry = DeviceRegistry(tmp_path, modules=fake_modules)
    assert registry.last_error("fake-camera-bad") == ""
    assert registry.info(registry.driver("fake-camera-bad")).last_error == ""
    result = registry.test("fake-camera-bad")  # a test still runs and its error is kept
    assert not result.ok and registry.last_error("fake-camera-bad").startswith("摄像头无法打开")
    if garbage not in ("directory", "fifo"):  # a regular file is replaced by a good one
        fresh = DeviceRegistry(tmp_path, modules=fake_modules)
        assert fresh.last_error("fake-camera-bad").startswith("摄像头无法打开")


def test_state_entries_of_the_wrong_type_are_ignored(tmp_path, fake_modules):
    nested: list = []
    for _ in range(900):  # deep, but within what json.loads reads
        nested = [nested]
    (tmp_path / STATE_FILE).write_text(json.dumps({"version": 1, "devices": {
        "fake-camera-bad": {"last_error": nested, "error_at": 7},
        "fake-camera-0": {"last_error": "没有画面", "error_at": "2026-12-01T09:30:00+08:00"}}}), encoding="utf-8")
    registry = DeviceRegistry(tmp_path, modules=fake_modules)
    assert registry.last_error("fake-camera-bad") == ""
    assert registry.last_error("fake-camera-0") == "没有画面（2026-12-01 09:30）"


def test_unknown_keys_are_dropped_and_named(tmp_path):
    (tmp_path / CONFIG_FILE).write_text(json.dumps({
        "version": 1, "colour": "blue",
        "drivers": {"id_reader": "idcard-sim", "printer": "hp", "camera": 7},
        "options": {"id_reader": {"sdk_path": "/opt/termb.so", "password": "x"}, "fax": {}},
    }), encoding="utf-8")
    config = DeviceConfig.load(tmp_path)
    assert config.chosen == {DeviceKind.ID_READER: "idcard-sim"}
    assert config.options == {DeviceKind.ID_READER: {"sdk_path": "/opt/termb.so"}}
    for name in ("colour", "drivers.printer", "drivers.camera", "options.id_reader.password", "options.fax"):
        assert name in config.problem
    assert "无法识别" in config.problem


def test_bad_option_values_are_refused_in_chinese(tmp_path):
    with pytest.raises(DeviceSettingsError, match="http:// 或 https://"):
        DeviceConfig().with_option(DeviceKind.ID_READER, OPTION_SERVICE_URL, "ftp://127.0.0.1")
    with pytest.raises(DeviceSettingsError, match="没有"):
        DeviceConfig().with_option(DeviceKind.CAMERA, OPTION_SDK_PATH, "x")
    with pytest.raises(DeviceSettingsError):
        DeviceConfig().with_option(DeviceKind.SCANNER, OPTION_WATCH_FOLDER, "a" * 501)
    assert not (tmp_path / CONFIG_FILE).exists()


# ----- drivers --------------------------------------------------------------------------------------------------

def test_missing_and_broken_driver_modules_are_skipped(tmp_path, fake_modules):
    registry = DeviceRegistry(tmp_path, modules=fake_modules)
    readers = [d.name for d in registry.drivers(DeviceKind.ID_READER)]
    assert readers == ["fake-idcard-sdk", "fake-idcard-sim"]  # real first, then simulated
    assert [d.name for d in registry.drivers(DeviceKind.CAMERA)] == [
        "fake-camera-0", "fake-camera-bad", "fake-camera-raise", "fake-camera-sim"]
    skipped = registry.skipped_modules
    assert "模块缺失" in skipped["app.desk.devices.not_here_yet"]
    assert "列出驱动失败" in skipped["fake_broken_drivers"]
    assert registry.is_simulated("fake-idcard-sim") and not registry.is_simulated("fake-idcard-sdk")
    assert all(isinstance(d, DeviceDriver) for d in registry.all_drivers())


def test_registry_with_the_shipped_module_list_works_whatever_is_present(tmp_path):
    registry = DeviceRegistry(tmp_path)  # DRIVER_MODULES: the other helpers' modules may not exist yet
    for kind in DeviceKind:
        assert registry.configured(kind) is None
        registry.drivers(kind)


def test_configured_driver_follows_the_config_and_simulate(tmp_path, fake_modules):
    registry = DeviceRegistry(tmp_path, modules=fake_modules)
    assert registry.configured(DeviceKind.CAMERA) is None
    registry.choose(DeviceKind.ID_READER, "fake-idcard-sdk", {OPTION_SDK_PATH: "/opt/vendor/libtermb.so"})
    driver = registry.configured(DeviceKind.ID_READER)
    assert driver is not None and driver.name == "fake-idcard-sdk"
    assert driver.sdk == "/opt/vendor/libtermb.so"  # drivers are rebuilt with the saved options
    again = DeviceRegistry(tmp_path, modules=fake_modules)  # what was saved is what the next start uses
    assert again.configured(DeviceKind.ID_READER).name == "fake-idcard-sdk"
    sim = DeviceRegistry(tmp_path, simulate=True, modules=fake_modules)
    assert sim.configured(DeviceKind.ID_READER).name == "fake-idcard-sim"
    assert sim.configured(DeviceKind.CAMERA).name == "fake-camera-sim"
    with pytest.raises(DeviceSettingsError, match="没有名为"):
        registry.choose(DeviceKind.CAMERA, "no-such-camera")


def test_a_chosen_driver_this_build_lacks_is_not_configured(tmp_path, fake_modules):
    DeviceConfig().with_driver(DeviceKind.CAMERA, "camera-gone").save(tmp_path)
    registry = DeviceRegistry(tmp_path, modules=fake_modules)
    assert registry.configured(DeviceKind.CAMERA) is None
    assert registry.configured_name(DeviceKind.CAMERA) == "camera-gone"


def test_configure_simulated_chooses_every_sim_driver(tmp_path, fake_modules):
    DeviceRegistry(tmp_path, modules=fake_modules).configure_simulated()
    config = DeviceConfig.load(tmp_path)
    assert config.chosen[DeviceKind.ID_READER] == "fake-idcard-sim"
    assert config.chosen[DeviceKind.CAMERA] == "fake-camera-sim"


# ----- test() and the last error --------------------------------------------------------------------------------

def test_test_records_and_clears_the_last_error(tmp_path, fake_modules):
    registry = DeviceRegistry(tmp_path, modules=fake_modules)
    bad = registry.test("fake-camera-bad")
    assert not bad.ok and bad.message == "摄像头无法打开"
    assert registry.last_error("fake-camera-bad").startswith("摄像头无法打开（")
    state = json.loads((tmp_path / STATE_FILE).read_text(encoding="utf-8"))
    assert state["devices"]["fake-camera-bad"]["last_error"] == "摄像头无法打开"
    fresh = DeviceRegistry(tmp_path, modules=fake_modules)  # another process (the CLI) reads it too
    assert fresh.info(fresh.driver("fake-camera-bad")).last_error.startswith("摄像头无法打开")
    ok = registry.test("fake-camera-0")
    assert ok.ok and ok.message.startswith("拍照成功") and ok.detail == {"width": 1600}
    assert registry.last_error("fake-camera-0") == ""
    assert registry.state("fake-camera-0").last_ok_at


def test_test_never_raises(tmp_path, fake_modules):
    registry = DeviceRegistry(tmp_path, modules=fake_modules)
    raised = registry.test("fake-camera-raise")
    assert not raised.ok and "OSError" in raised.message and "重试" in raised.message
    assert registry.last_error("fake-camera-raise")
    missing = registry.test("nothing-by-this-name")
    assert not missing.ok and "没有名为“nothing-by-this-name”" in missing.message
    unavailable = registry.test("fake-idcard-sdk")
    assert not unavailable.ok and unavailable.message == "未检测到阅读器"
    assert registry.last_error("fake-idcard-sdk").startswith("未检测到阅读器")


def test_a_test_that_needs_the_program_is_not_kept_as_the_last_error(tmp_path):
    registry = DeviceRegistry(tmp_path, modules=["app.desk.devices.codes"])
    result = registry.test("wedge")  # the keyboard-wedge scanner: only testable inside the app
    assert not result.ok and result.detail.get("needs_ui") is True
    assert registry.last_error("wedge") == "" and registry.state("wedge") == registry.state("never-tested")
    assert not (tmp_path / STATE_FILE).exists()


def test_unwritable_state_file_keeps_the_error_in_memory(tmp_path, fake_modules):
    (tmp_path / STATE_FILE).mkdir()  # a folder where the file should be: cannot be replaced
    registry = DeviceRegistry(tmp_path, modules=fake_modules)
    result = registry.test("fake-camera-bad")
    assert not result.ok
    assert registry.last_error("fake-camera-bad").startswith("摄像头无法打开")


# ----- committee settings ---------------------------------------------------------------------------------------

def _workers(ctx):
    from app.desk.auth import AuthService
    auth = AuthService(ctx)
    return auth.login("admin", "secret123"), auth.login("boss", "bosspass"), auth.login("desk", "deskpass")


def test_keep_card_photo_default_off_and_only_managers_change_it(desk_ctx):
    admin, boss, desk = _workers(desk_ctx)
    assert keep_card_photo(desk_ctx) is False
    with pytest.raises(DeviceSettingsError, match="只有站长或管理员"):
        set_keep_card_photo(desk_ctx, desk, True)
    assert keep_card_photo(desk_ctx) is False
    changes = set_keep_card_photo(desk_ctx, boss, True)
    assert changes.settings and keep_card_photo(desk_ctx) is True
    registry = DeviceRegistry(desk_ctx)
    assert registry.keep_card_photo() is True
    registry.set_keep_card_photo(admin, False)
    assert keep_card_photo(desk_ctx) is False


def test_keep_card_photo_reads_the_servers_text_setting(desk_ctx):
    from models import Committee
    with desk_ctx.sessions.begin() as s:  # `server committee set CODE --setting keep_card_photo=1` comes as text
        com = s.get_one(Committee, desk_ctx.identity().committee_id)
        com.settings = {**(com.settings or {}), "keep_card_photo": "1", "region": {"city": "徐州市"}}
    assert keep_card_photo(desk_ctx) is True
    admin, _, _ = _workers(desk_ctx)
    set_keep_card_photo(desk_ctx, admin, False)
    with desk_ctx.sessions() as s:  # the other settings stay
        assert s.get_one(Committee, desk_ctx.identity().committee_id).settings["region"] == {"city": "徐州市"}


def test_verify_base_url_defaults_to_the_enrolled_server(desk_ctx):
    from models import Device
    admin, boss, desk = _workers(desk_ctx)
    assert verify_base_url(desk_ctx) == ""  # not enrolled, nothing set
    with desk_ctx.sessions.begin() as s:
        dev = s.scalars(select(Device).where(Device.is_local.is_(True))).one()
        dev.server_url = "https://onedesk.district.gov.cn:8443"
    assert verify_base_url(desk_ctx) == "https://onedesk.district.gov.cn:8443"
    with pytest.raises(DeviceSettingsError, match="只有站长或管理员"):
        set_verify_base_url(desk_ctx, desk, "https://jd.example.cn")
    for bad in ("jd.example.cn", "javascript:alert(1)", "https://", "https://a.cn/v?x=1", "https://a b.cn"):
        with pytest.raises(DeviceSettingsError):
            set_verify_base_url(desk_ctx, boss, bad)
    assert verify_base_url(desk_ctx) == "https://onedesk.district.gov.cn:8443"
    set_verify_base_url(desk_ctx, boss, " https://jd.example.cn/onedesk/ ")
    assert verify_base_url(desk_ctx) == "https://jd.example.cn/onedesk"
    DeviceRegistry(desk_ctx).set_verify_base_url(admin, "")  # empty: back to the server's own address
    assert verify_base_url(desk_ctx) == "https://onedesk.district.gov.cn:8443"


def test_committee_settings_need_the_database(tmp_path):
    with pytest.raises(DeviceSettingsError, match="数据库"):
        DeviceRegistry(tmp_path).keep_card_photo()


# ----- the shipped drivers (app/desk/devices/idcard.py, scanner.py, codes.py) ------------------------------------

def test_the_shipped_simulated_drivers_are_listed_and_pass_their_test(tmp_path):
    registry = DeviceRegistry(tmp_path, simulate=True)
    assert registry.skipped_modules == {}  # every module of DRIVER_MODULES is there
    for kind in (DeviceKind.ID_READER, DeviceKind.SCANNER, DeviceKind.CODE_SCANNER):
        driver = registry.configured(kind)
        assert driver is not None and registry.is_simulated(driver.name), kind
        assert registry.availability(driver) == (True, "")
        result = registry.test(driver.name)
        assert result.ok, (driver.name, result.message)
        assert result.message and registry.last_error(driver.name) == ""
    assert registry.configured(DeviceKind.ID_READER).name == "idcard-sim"
    assert registry.configured(DeviceKind.CODE_SCANNER).name == "code-sim"
    real = DeviceRegistry(tmp_path)
    assert {d.name for d in real.drivers(DeviceKind.ID_READER)} >= {"idcard-sim", "idcard-termb", "idcard-http"}
    for d in real.all_drivers():
        ok, reason = real.availability(d)
        assert ok or reason, d.name  # an unavailable driver always says why, in Chinese
        if not ok:
            assert re.search(r"[\u4e00-\u9fff]", reason), (d.name, reason)
            assert not any(word in reason for word in ENGLISH_ERRORS), (d.name, reason)
        assert all(ord(ch) < 128 for ch in d.name)


def test_the_demo_desk_starts_with_the_simulated_devices(demo_template):
    config = DeviceConfig.load(demo_template.parent)
    assert config.problem == ""
    assert config.driver_name(DeviceKind.ID_READER) == "idcard-sim"
    assert config.driver_name(DeviceKind.SCANNER) == "scanner-sim"
    assert config.driver_name(DeviceKind.CODE_SCANNER) == "code-sim"
    registry = DeviceRegistry(demo_template.parent)  # not in simulate mode: the demo's devices.json chose them
    assert registry.configured(DeviceKind.ID_READER).name == "idcard-sim"
