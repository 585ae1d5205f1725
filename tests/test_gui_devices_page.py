"""The 设备 page in 设置 (issue 15 part 7), driven as a worker: choose a driver, save, 测试, 上次错误, and the two
committee settings only a supervisor or administrator may change."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from app.desk.devices.base import DeviceKind
from app.desk.devices.base import TestResult as Result
from app.desk.devices.registry import (
    CONFIG_FILE,
    OPTION_SDK_PATH,
    DeviceConfig,
    keep_card_photo,
    register_factory,
    unregister_factory,
    verify_base_url,
)
from tests.gui_helpers import choose_by_arrows, save_shot, type_text


@dataclass
class FakeCamera:
    name: str
    label: str
    fails: str = ""
    simulated: bool = False
    kind: DeviceKind = DeviceKind.CAMERA

    def available(self) -> tuple[bool, str]:
        return True, ""

    def test(self) -> Result:
        return Result(not self.fails, self.fails or "拍照成功（1600×1200）")


def fake_cameras(config, *, simulate: bool):
    if simulate:
        return [FakeCamera("fake-camera-sim", "模拟高拍仪", simulated=True)]
    return [FakeCamera("fake-camera-broken", "坏的高拍仪", fails="摄像头无法打开，请检查 USB 连接")]


@pytest.fixture
def cameras():
    register_factory(fake_cameras)
    yield
    unregister_factory(fake_cameras)


def wait(qtbot, condition) -> None:
    """Until ``condition`` holds: listing drivers may probe hardware (``scanimage -L`` takes seconds)."""
    qtbot.waitUntil(condition, timeout=60_000)


def services_for(ctx, login: str, password: str):
    from ui.services import Services
    services = Services(ctx)
    services.current_worker = services.auth.login(login, password)
    return services


def open_page(qtbot, services):
    from ui.devices.devices_page import DevicesPage
    page = DevicesPage(services)
    qtbot.addWidget(page)
    page.resize(980, 760)
    page.show()
    wait(qtbot, lambda: hasattr(page, "snapshot"))
    return page


def click_box(qtbot, box) -> None:
    """Click a check box on its indicator, where a worker clicks it."""
    qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(8, box.height() // 2))


def choose(qtbot, combo, name: str) -> None:
    combo.setFocus()
    choose_by_arrows(qtbot, combo, combo.findData(name))


def test_choose_the_simulated_code_scanner_save_and_test(styled_app, qtbot, desk_ctx, cameras):
    page = open_page(qtbot, services_for(desk_ctx, "desk", "deskpass"))
    panel = page.panels[DeviceKind.CODE_SCANNER]
    assert panel.combo.currentText() == "不使用"
    names = [panel.combo.itemData(i) for i in range(panel.combo.count())]
    assert "code-sim" in names  # the simulated driver of app/desk/devices/codes.py
    choose(qtbot, panel.combo, "code-sim")
    assert "设备就绪" in panel.reason.text()
    qtbot.mouseClick(panel.save_button, Qt.LeftButton)
    wait(qtbot, lambda: panel.result_label.text().startswith("已保存"))
    saved = json.loads((desk_ctx.data_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    assert saved["drivers"]["code_scanner"] == "code-sim"
    wait(qtbot, lambda: panel.combo.currentData() == "code-sim")  # the page re-read what was saved
    qtbot.mouseClick(panel.test_button, Qt.LeftButton)
    wait(qtbot, lambda: panel.result_label.text().startswith(("成功", "失败")))
    assert panel.result_label.text().startswith("成功：扫码成功")
    assert panel.error_label.text() == "无"
    cam = page.panels[DeviceKind.CAMERA]
    choose(qtbot, cam.combo, "fake-camera-sim")
    qtbot.mouseClick(cam.test_button, Qt.LeftButton)
    wait(qtbot, lambda: cam.result_label.text().startswith(("成功", "失败")))
    assert cam.result_label.text() == "成功：拍照成功（1600×1200）"


def test_a_failing_device_shows_its_last_error(styled_app, qtbot, desk_ctx, cameras):
    services = services_for(desk_ctx, "desk", "deskpass")
    page = open_page(qtbot, services)
    cam = page.panels[DeviceKind.CAMERA]
    choose(qtbot, cam.combo, "fake-camera-broken")
    assert cam.error_label.text() == "无"
    qtbot.mouseClick(cam.test_button, Qt.LeftButton)
    wait(qtbot, lambda: cam.result_label.text().startswith(("成功", "失败")))
    assert cam.result_label.text() == "失败：摄像头无法打开，请检查 USB 连接"
    assert cam.error_label.text().startswith("摄像头无法打开，请检查 USB 连接（")
    page.close()
    again = open_page(qtbot, services)  # opened later: the last error is still there
    cam2 = again.panels[DeviceKind.CAMERA]
    choose(qtbot, cam2.combo, "fake-camera-broken")
    assert cam2.error_label.text().startswith("摄像头无法打开")


def test_reader_options_are_saved_and_a_bad_url_is_refused(styled_app, qtbot, desk_ctx, cameras):
    page = open_page(qtbot, services_for(desk_ctx, "desk", "deskpass"))
    reader = page.panels[DeviceKind.ID_READER]
    assert set(reader.option_edits) == {"sdk_path", "service_url", "sdk_port", "service_fields"}
    assert "sdk_path" in reader.browse_buttons and "sdk_port" not in reader.browse_buttons
    assert reader.browse_buttons["sdk_path"].text() == "浏览…"
    type_text(qtbot, reader.option_edits["service_url"], "ftp://127.0.0.1")
    qtbot.mouseClick(reader.save_button, Qt.LeftButton)
    wait(qtbot, lambda: "http://" in reader.result_label.text())
    assert "https://" in reader.result_label.text()
    assert not (desk_ctx.data_dir / CONFIG_FILE).exists()  # nothing saved
    reader.option_edits["service_url"].clear()
    type_text(qtbot, reader.option_edits["sdk_path"], "/opt/vendor/libtermb.so")
    type_text(qtbot, reader.option_edits["sdk_port"], "1002")
    qtbot.mouseClick(reader.save_button, Qt.LeftButton)
    wait(qtbot, lambda: reader.result_label.text().startswith("已保存"))
    saved = DeviceConfig.load(desk_ctx.data_dir)
    assert saved.option(DeviceKind.ID_READER, OPTION_SDK_PATH) == "/opt/vendor/libtermb.so"
    assert saved.option(DeviceKind.ID_READER, "sdk_port") == "1002"  # read by the SDK drivers


def test_bad_devices_json_is_shown_in_chinese(styled_app, qtbot, desk_ctx):
    (desk_ctx.data_dir / CONFIG_FILE).write_text("{broken", encoding="utf-8")
    page = open_page(qtbot, services_for(desk_ctx, "desk", "deskpass"))
    assert page.problem.isVisible() and "格式不对" in page.problem.text()
    assert page.panels[DeviceKind.ID_READER].combo.currentText() == "不使用"


def test_front_desk_worker_cannot_change_the_committee_settings(styled_app, qtbot, desk_ctx):
    page = open_page(qtbot, services_for(desk_ctx, "desk", "deskpass"))
    assert not page.keep_photo.isEnabled()
    assert page.verify_url.isReadOnly()
    assert not page.save_committee_button.isVisible()
    assert "只有站长或管理员" in page.committee_note.text()
    click_box(qtbot, page.keep_photo)
    assert not page.keep_photo.isChecked()
    assert keep_card_photo(desk_ctx) is False


def test_supervisor_turns_on_keeping_the_photo_and_sets_the_verify_url(styled_app, qtbot, desk_ctx):
    page = open_page(qtbot, services_for(desk_ctx, "boss", "bosspass"))
    assert page.keep_photo.isEnabled() and not page.verify_url.isReadOnly()
    assert "未登记区服务器" in page.verify_url.placeholderText()
    click_box(qtbot, page.keep_photo)
    assert page.keep_photo.isChecked()  # the same click as the front-desk worker's, on an enabled box
    type_text(qtbot, page.verify_url, "jd.example.cn")
    qtbot.mouseClick(page.save_committee_button, Qt.LeftButton)
    wait(qtbot, lambda: "http" in page.committee_status.text())
    assert keep_card_photo(desk_ctx) is False  # the bad address refused it all
    page.verify_url.clear()
    type_text(qtbot, page.verify_url, "https://jd.example.cn/onedesk")
    qtbot.mouseClick(page.save_committee_button, Qt.LeftButton)
    wait(qtbot, lambda: page.committee_status.text() == "居委会设置已保存")
    assert keep_card_photo(desk_ctx) is True
    assert verify_base_url(desk_ctx) == "https://jd.example.cn/onedesk"


def test_settings_page_opens_the_devices_window(styled_app, qtbot, demo_ctx, cameras):
    from ui.pages import SettingsPage
    services = services_for(demo_ctx, "zhanzhang", "demo1234")
    settings = SettingsPage(services)
    qtbot.addWidget(settings)
    settings.resize(1100, 700)
    settings.show()
    assert settings.devices_button.text() == "设备设置与测试…"
    save_shot(settings, "settings_page_devices_button.png")
    qtbot.mouseClick(settings.devices_button, Qt.LeftButton)
    dialog = settings.devices_dialog
    wait(qtbot, lambda: dialog.isVisible() and hasattr(dialog.page, "snapshot"))
    assert dialog.windowTitle() == "设备"
    code = dialog.page.panels[DeviceKind.CODE_SCANNER]
    choose(qtbot, code.combo, "code-sim")
    qtbot.mouseClick(code.test_button, Qt.LeftButton)
    wait(qtbot, lambda: code.result_label.text().startswith(("成功", "失败")))
    cam = dialog.page.panels[DeviceKind.CAMERA]
    choose(qtbot, cam.combo, "fake-camera-broken")
    qtbot.mouseClick(cam.test_button, Qt.LeftButton)
    wait(qtbot, lambda: cam.result_label.text().startswith(("成功", "失败")))
    QApplication.processEvents()
    save_shot(dialog, "devices_page.png")
    dialog.close()


def test_saving_one_device_keeps_what_is_typed_in_another(styled_app, qtbot, desk_ctx):
    page = open_page(qtbot, services_for(desk_ctx, "desk", "deskpass"))
    scanner, code = page.panels[DeviceKind.SCANNER], page.panels[DeviceKind.CODE_SCANNER]
    type_text(qtbot, scanner.option_edits["watch_folder"], "/srv/scans")  # typed, not saved yet
    choose(qtbot, code.combo, "code-sim")
    snapshot = page.snapshot
    qtbot.mouseClick(code.save_button, Qt.LeftButton)
    wait(qtbot, lambda: page.snapshot is not snapshot)  # the page re-read what was saved
    assert code.combo.currentData() == "code-sim" and code.dirty is False
    assert scanner.option_edits["watch_folder"].text() == "/srv/scans"
    assert DeviceConfig.load(desk_ctx.data_dir).option(DeviceKind.SCANNER, "watch_folder") == ""
