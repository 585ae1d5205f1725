"""The capture dialog (issue 15 part 4), driven as the worker does: the virtual camera feeds frames through the same
capture session as a 高拍仪, Space takes a page, 完成 attaches all pages as ONE file of the material (a PDF read back
with pypdf); 取消 attaches nothing; without a camera the dialog says so in Chinese and files still go in; scans the
scanner saves into the watched folder are offered, imported and moved away."""

from __future__ import annotations

import io
import os
import threading

import pytest
from PIL import Image
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from shiboken6 import isValid

from app.desk.auth import AuthService
from app.desk.devices.scanner import FolderScanner, SimulatedScanner, WatchedFolder
from app.desk.intake import IntakeService
from app.desk.residents import ResidentService
from tests.gui_helpers import answer_next_message_box
from ui.devices import camera
from ui.devices.camera import NO_CAMERA, VirtualSource, sample_page
from ui.devices.capture_dialog import CaptureDialog
from ui.services import Services

# Offscreen has no GPU: Qt Multimedia says once per thread that it converts video frames on the CPU (as the
# offscreen plugin's size-hint notices pyproject ignores, an artefact of the test platform, not of the code).
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("No RHI backend. Using CPU conversion")]

ITEM = "MZ-01"


@pytest.fixture
def desk(desk_ctx, styled_app):
    services = Services(desk_ctx)
    services.current_worker = AuthService(desk_ctx).login("desk", "deskpass")
    resident = ResidentService(desk_ctx).search("李秀英")[0]
    intake = IntakeService(desk_ctx)
    case_id = intake.start(services.current_worker, ITEM, resident.id, None)
    material = next(m.name for m in intake.item(ITEM).materials if not m.for_agent)
    return services, case_id, material


def _open(qtbot, desk, tmp_path, **kw) -> CaptureDialog:
    services, case_id, material = desk
    kw.setdefault("scanner", FolderScanner(WatchedFolder(tmp_path / "scans")))
    dlg = CaptureDialog(services, case_id, material, **kw)
    qtbot.addWidget(dlg)
    with qtbot.waitActive(dlg):  # a shortcut (Space) works in the active window, as the worker's dialog is
        dlg.show()
        dlg.activateWindow()
    return dlg


def _texts(dlg) -> list[str]:
    return [dlg.page_list.item(i).text() for i in range(dlg.page_list.count())]


def _shots(dlg, name: str) -> None:
    os.makedirs("/tmp/work/shots", exist_ok=True)
    dlg.grab().save(f"/tmp/work/shots/{name}")


def test_space_twice_then_done_attaches_one_pdf_of_two_pages(qtbot, desk, tmp_path):
    services, case_id, material = desk
    dlg = _open(qtbot, desk, tmp_path, source=VirtualSource(interval_ms=40))
    qtbot.waitUntil(lambda: dlg.preview.has_picture)  # the frames reached the preview through the session's sink
    assert not dlg.camera_combo.isVisible()  # one source: no camera choice
    assert dlg.mono.isChecked() and not dlg.colour.isChecked()  # documents: black and white by default
    dlg.done_button.setFocus()  # Space is the shutter wherever the focus is, never a click on a button
    qtbot.keyClick(dlg, Qt.Key_Space)
    qtbot.waitUntil(lambda: dlg.page_list.count() == 1)
    qtbot.keyClick(dlg, Qt.Key_Space)
    qtbot.waitUntil(lambda: dlg.page_list.count() == 2)
    assert _texts(dlg) == ["第 1 页", "第 2 页"] and dlg.count_label.text() == "已添加 2 页"
    assert dlg.done_button.text() == "完成（保存 2 页）"
    first, second = (p.data for p in dlg.ordered_pages())
    assert first != second  # the virtual camera turned the page after the first shot
    assert Image.open(io.BytesIO(first)).format == "JPEG"
    shown = dlg.preview.frames
    qtbot.waitUntil(lambda: dlg.preview.frames >= shown + 4)  # the preview shows the page now under the camera
    _shots(dlg, "capture_dialog.png")
    assert services.attachments.for_case(case_id) == []
    with qtbot.waitSignal(dlg.attached, timeout=20000) as saved:
        qtbot.mouseClick(dlg.done_button, Qt.LeftButton)
    assert len(saved.args[0].infos) == 1
    infos = services.attachments.for_case(case_id)
    assert len(infos) == 1
    info = infos[0]
    assert (info.material, info.pages, info.source, info.mime) == (material, 2, "camera", "application/pdf")
    pdf = PdfReader(io.BytesIO(services.attachments.read(info.id)))
    assert len(pdf.pages) == 2
    assert {page.images[0].image.mode for page in pdf.pages} == {"L"}  # 黑白 reached the attachment
    assert not dlg.isVisible()


def test_delete_and_reorder_pages_then_cancel_attaches_nothing(qtbot, desk, tmp_path):
    services, case_id, _material = desk
    pages = [sample_page(n, (620, 877)) for n in (1, 2, 3)]
    dlg = _open(qtbot, desk, tmp_path, source=VirtualSource(pages, interval_ms=40))
    qtbot.waitUntil(lambda: dlg.preview.has_picture)
    for n in range(1, 4):
        qtbot.keyClick(dlg, Qt.Key_Space)
        qtbot.waitUntil(lambda n=n: dlg.page_list.count() == n)
    taken = [p.data for p in dlg.ordered_pages()]
    dlg.page_list.setCurrentRow(0)
    qtbot.mouseClick(dlg.later_button, Qt.LeftButton)  # page 1 after page 2
    assert [p.data for p in dlg.ordered_pages()] == [taken[1], taken[0], taken[2]]
    dlg.page_list.setCurrentRow(2)
    dlg.page_list.setFocus()  # Delete works in the page list, where the worker's click on a thumbnail puts it
    qtbot.keyClick(dlg.page_list, Qt.Key_Delete)
    assert [p.data for p in dlg.ordered_pages()] == [taken[1], taken[0]] and _texts(dlg) == ["第 1 页", "第 2 页"]
    seen = answer_next_message_box("是(&Y)")
    dlg.cancel_button.click()
    qtbot.waitUntil(lambda: not isValid(dlg) or not dlg.isVisible())
    assert "放弃已添加的 2 页" in seen[0]
    assert services.attachments.for_case(case_id) == []


def test_without_a_camera_the_dialog_says_so_and_files_still_go_in(qtbot, desk, tmp_path, monkeypatch):
    services, case_id, material = desk
    monkeypatch.setattr("ui.devices.capture_dialog.camera_devices", lambda: [])
    dlg = _open(qtbot, desk, tmp_path)
    assert dlg.source is None and dlg.preview.text() == NO_CAMERA and "从文件添加" in NO_CAMERA
    assert not dlg.shutter_button.isEnabled()
    qtbot.keyClick(dlg, Qt.Key_Space)
    assert dlg.message.text() == NO_CAMERA  # the shutter explains, nothing breaks
    photo = tmp_path / "户口本.png"
    Image.new("RGB", (900, 1200), "white").save(photo)
    broken = tmp_path / "坏图.jpg"
    broken.write_bytes(b"not a picture")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(photo), str(broken)], ""))
    qtbot.mouseClick(dlg.file_button, Qt.LeftButton)
    assert _texts(dlg) == ["第 1 页"] and "无法识别的图片：坏图.jpg" in dlg.message.text()
    with qtbot.waitSignal(dlg.attached, timeout=20000):
        qtbot.mouseClick(dlg.done_button, Qt.LeftButton)
    (info,) = services.attachments.for_case(case_id)
    assert (info.material, info.pages, info.source, info.mime) == (material, 1, "file", "image/jpeg")


def test_a_pdf_file_goes_in_as_it_is_and_a_broken_one_is_refused_in_chinese(qtbot, desk, tmp_path, monkeypatch):
    services, case_id, material = desk
    monkeypatch.setattr("ui.devices.capture_dialog.camera_devices", lambda: [])
    dlg = _open(qtbot, desk, tmp_path)
    good = tmp_path / "户口本.pdf"
    Image.new("RGB", (600, 800), "white").save(good, "PDF")
    broken = tmp_path / "残缺.pdf"  # the PDF header but cut off before its end (a half-copied file)
    broken.write_bytes(good.read_bytes()[:-200])
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(broken), str(good)], ""))
    qtbot.mouseClick(dlg.file_button, Qt.LeftButton)
    assert _texts(dlg) == ["第 1 页（PDF）"]
    assert "残缺.pdf" in dlg.message.text() and "不是完整的 PDF" in dlg.message.text()
    with qtbot.waitSignal(dlg.attached, timeout=20000):
        qtbot.mouseClick(dlg.done_button, Qt.LeftButton)
    (info,) = services.attachments.for_case(case_id)
    assert (info.material, info.pages, info.mime) == (material, 1, "application/pdf")
    assert len(PdfReader(io.BytesIO(services.attachments.read(info.id))).pages) == 1


def test_a_scan_saved_into_the_watched_folder_is_offered_imported_and_moved(qtbot, desk, tmp_path, monkeypatch):
    services, case_id, material = desk
    monkeypatch.setattr("ui.devices.capture_dialog.camera_devices", lambda: [])
    inbox = tmp_path / "scans"
    dlg = _open(qtbot, desk, tmp_path, scanner=FolderScanner(WatchedFolder(inbox)))
    assert inbox.is_dir() and not dlg.folder_bar.isVisible()
    qtbot.mouseClick(dlg.scan_button, Qt.LeftButton)
    assert str(inbox) in dlg.message.text() and "导入扫描件" in dlg.message.text()
    scan = inbox / "scan0001.png"
    Image.new("L", (850, 1100), 255).save(scan)
    (inbox / "scan0002.png.part").write_bytes(b"still writing")
    qtbot.waitUntil(lambda: dlg.folder_bar.isVisible(), timeout=5000)  # seen twice with the same size
    assert "1 个新扫描件" in dlg.folder_text.text() and "scan0001.png" in dlg.folder_text.text()
    qtbot.mouseClick(dlg.import_button, Qt.LeftButton)
    assert _texts(dlg) == ["第 1 页"] and not dlg.folder_bar.isVisible()
    dlg.poll_folder()
    dlg.poll_folder()
    assert dlg.page_list.count() == 1 and not dlg.folder_bar.isVisible()  # picked up once
    with qtbot.waitSignal(dlg.attached, timeout=20000):
        qtbot.mouseClick(dlg.done_button, Qt.LeftButton)
    (info,) = services.attachments.for_case(case_id)
    assert (info.material, info.source, info.pages) == (material, "scanner", 1)
    assert not scan.exists() and (inbox / "imported" / "scan0001.png").exists()
    assert (inbox / "scan0002.png.part").exists()  # never taken


def test_a_direct_scanner_adds_its_page_off_the_ui_thread(qtbot, desk, tmp_path, monkeypatch):
    monkeypatch.setattr("ui.devices.capture_dialog.camera_devices", lambda: [])
    dlg = _open(qtbot, desk, tmp_path, scanner=SimulatedScanner())
    assert not dlg.folder_bar.isVisible() and dlg.folder is None
    qtbot.mouseClick(dlg.scan_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.page_list.count() == 1)
    assert dlg.ordered_pages()[0].source == "scanner" and dlg.message.text() == ""
    answer_next_message_box("否(&N)")  # Esc asks before the page is thrown away: keep it
    qtbot.keyClick(dlg, Qt.Key_Escape)
    assert dlg.isVisible() and dlg.page_list.count() == 1
    dlg.delete_selected()
    qtbot.keyClick(dlg, Qt.Key_Escape)  # nothing to lose: closes at once
    assert not dlg.isVisible()


def test_the_simulated_camera_driver_takes_one_picture(qtbot, styled_app):
    result = camera.SimulatedCameraDriver().test()
    assert result.ok and "拍照成功" in result.message and result.detail["width"] > 0
    results: list = []  # the 设备 page tests from a pool thread: the camera still works on the UI thread
    worker = threading.Thread(target=lambda: results.append(camera.SimulatedCameraDriver().test()))
    worker.start()
    qtbot.waitUntil(lambda: bool(results), timeout=20000)
    worker.join()
    assert results[0].ok and "拍照成功" in results[0].message
    assert [d.name for d in camera.camera_drivers(None, simulate=True)] == ["camera-sim"]


def test_the_wizards_materials_page_captures_into_the_draft_case(qtbot, desk, tmp_path):
    """拍照/扫描 beside a material on the checklist: the dialog attaches to the draft case, the row says 已附 1 份
    and the material counts as received. The desk's configured camera is the simulated one (devices.json)."""
    from app.desk.devices.base import DeviceKind
    from app.desk.devices.registry import DeviceConfig
    from ui.desk.service_wizard import ServiceWizard
    services, case_id, material = desk
    DeviceConfig().with_driver(DeviceKind.CAMERA, "camera-sim").save(services.ctx.data_dir)
    intake = services.intake
    draft = intake.load_draft(case_id)
    wiz = ServiceWizard(services, ITEM, draft=draft)
    qtbot.addWidget(wiz, before_close_func=lambda w: w.close_for_other_worker())  # closes without asking
    wiz.show()
    wiz._go(wiz.pages.index(wiz.materials))
    assert wiz.current_page() is wiz.materials
    assert not wiz.materials.boxes[material].isChecked() and wiz.materials.attached_labels[material].text() == ""
    qtbot.mouseClick(wiz.materials.capture_buttons[material], Qt.LeftButton)
    qtbot.waitUntil(lambda: wiz.findChild(CaptureDialog) is not None and wiz.findChild(CaptureDialog).isVisible())
    dlg = wiz.findChild(CaptureDialog)
    assert isinstance(dlg.source, VirtualSource) and dlg.material == material and dlg.case_id == case_id
    dlg.activateWindow()
    qtbot.waitUntil(lambda: dlg.isActiveWindow() and dlg.preview.has_picture)
    qtbot.keyClick(dlg, Qt.Key_Space)
    qtbot.waitUntil(lambda: dlg.page_list.count() == 1)
    qtbot.mouseClick(dlg.done_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: wiz.materials.attached_labels[material].text() == "已附 1 份", timeout=20000)
    assert wiz.materials.boxes[material].isChecked() and material not in wiz.materials.missing.text()
    _shots(wiz, "wizard_materials_capture.png")
    (info,) = services.attachments.for_case(case_id)
    assert info.material == material and info.pages == 1


def test_a_camera_that_cannot_be_opened_is_said_in_chinese_and_files_still_go_in(qtbot, desk, tmp_path, monkeypatch):
    """The real QCamera path with a camera that is gone (a stale device, unplugged): Qt's English error goes to
    the log, the worker reads Chinese where the preview was and can reconnect or add files."""
    from PySide6.QtMultimedia import QCameraDevice
    monkeypatch.setattr("ui.devices.capture_dialog.camera_devices", lambda: [])
    dlg = _open(qtbot, desk, tmp_path, source=camera.CameraSource(QCameraDevice()))
    assert dlg.preview.text() == camera.CAMERA_BUSY and dlg.reconnect_button.isVisible()
    assert all(ord(c) > 127 or not c.isalpha() for c in dlg.preview.text())  # no English words
    qtbot.keyClick(dlg, Qt.Key_Space)
    assert "摄像头还没有画面" in dlg.message.text() and dlg.page_list.count() == 0
    qtbot.mouseClick(dlg.reconnect_button, Qt.LeftButton)
    assert dlg.preview.text() == NO_CAMERA and dlg.source is None and not dlg.shutter_button.isEnabled()
    photo = tmp_path / "page.jpg"
    Image.new("RGB", (800, 1100), "white").save(photo)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(photo)], ""))
    qtbot.mouseClick(dlg.file_button, Qt.LeftButton)
    assert _texts(dlg) == ["第 1 页"]
    dlg.delete_selected()


def test_several_cameras_offer_a_choice(qtbot, desk, tmp_path, monkeypatch):
    """Two cameras (here two that cannot open: no camera offscreen): a combo chooses, each choice a QCamera."""
    from PySide6.QtMultimedia import QCameraDevice
    cameras = [QCameraDevice(), QCameraDevice()]
    monkeypatch.setattr("ui.devices.capture_dialog.camera_devices", lambda: cameras)
    dlg = _open(qtbot, desk, tmp_path)
    assert dlg.camera_combo.isVisible() and dlg.camera_combo.count() == 2 and dlg.camera_label.text() == "摄像头"
    first = dlg.source
    assert isinstance(first, camera.CameraSource) and dlg.preview.text() == camera.CAMERA_BUSY
    dlg.camera_combo.setCurrentIndex(1)
    assert isinstance(dlg.source, camera.CameraSource) and dlg.source is not first
