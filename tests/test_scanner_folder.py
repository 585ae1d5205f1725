"""The scanner drivers (issue 15 part 4): the watched folder every scanner can write to, and SANE (its ``scanimage``
command, or the python-sane binding where installed) driven against SANE's own ``test`` backend when present."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from PIL import Image

from app.desk.devices import scanner
from app.desk.devices.base import DeviceKind
from app.desk.devices.registry import OPTION_WATCH_FOLDER, DeviceConfig, DeviceRegistry
from app.desk.devices.scanner import FolderScanner, ScanError, WatchedFolder


def _png(color: str = "white") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, "PNG")
    return out.getvalue()


def test_a_new_file_is_offered_once_when_its_size_is_stable_then_moved_when_imported(tmp_path):
    inbox = tmp_path / "扫描"
    folder = WatchedFolder(inbox)
    folder.ensure()
    page = inbox / "scan_001.png"
    page.write_bytes(_png())
    assert folder.poll() == []  # seen once: its size may still grow
    assert folder.poll() == [page]  # unchanged since the last look: complete
    assert folder.poll() == []  # offered once
    moved = folder.mark_imported(page)
    assert moved == inbox / "imported" / "scan_001.png" and moved.read_bytes() == _png()
    assert not page.exists()
    again = inbox / "scan_001.png"  # the scanner reuses the name: a new file, and the old copy is kept
    again.write_bytes(_png("black"))
    folder.poll()
    assert folder.poll() == [again]
    second = folder.mark_imported(again)
    assert second.name == "scan_001-1.png" and second.parent == inbox / "imported"
    assert (inbox / "imported" / "scan_001.png").read_bytes() == _png()


def test_a_file_still_growing_waits_and_temp_names_and_other_files_are_never_offered(tmp_path):
    folder = WatchedFolder(tmp_path)
    growing = tmp_path / "doc.pdf"
    growing.write_bytes(b"%PDF-1.4\n")
    for name in ("~scan.png", ".scan.png", "scan.png.part", "scan.tmp", "scan.crdownload", "notes.txt", "empty.jpg"):
        (tmp_path / name).write_bytes(b"" if name == "empty.jpg" else _png())
    (tmp_path / "imported").mkdir()
    (tmp_path / "imported" / "old.png").write_bytes(_png())
    assert folder.poll() == []
    with growing.open("ab") as fh:
        fh.write(b"more pages\n")
    assert folder.poll() == []  # it grew since the last look
    assert folder.poll() == [growing]
    assert folder.poll() == []
    assert folder.waiting() == [growing]  # still there until imported


def test_a_released_file_is_offered_again(tmp_path):
    """The capture dialog was cancelled: the scan stays in the folder and is offered the next time."""
    folder = WatchedFolder(tmp_path)
    page = tmp_path / "a.jpg"
    page.write_bytes(_png())
    folder.poll()
    assert folder.poll() == [page]
    folder.release(page)
    assert folder.poll() == [page]


def test_the_folder_driver_reads_its_folder_from_devices_json_and_tests_in_chinese(tmp_path):
    inbox = tmp_path / "scans"
    config = DeviceConfig().with_option(DeviceKind.SCANNER, OPTION_WATCH_FOLDER, str(inbox))
    config.save(tmp_path)
    registry = DeviceRegistry(tmp_path)
    driver = registry.driver("scanner-folder")
    assert isinstance(driver, FolderScanner) and driver.folder.path == inbox
    assert driver.kind == DeviceKind.SCANNER and "文件夹" in driver.label
    assert not inbox.exists()
    result = registry.test("scanner-folder")  # the folder is created when first needed
    assert result.ok and inbox.is_dir() and "没有待导入" in result.message and str(inbox) in result.message
    (inbox / "p1.png").write_bytes(_png())
    assert driver.available() == (True, "")
    assert "1 个文件待导入" in driver.test().message
    (tmp_path / "a-file").write_text("x")
    blocked = FolderScanner(WatchedFolder(tmp_path / "a-file" / "scans"))  # under a file: cannot be created
    ok, reason = blocked.available()
    assert not ok and "无法创建扫描文件夹" in reason


def test_the_simulated_scanner_scans_a_page_in_colour_or_grey(tmp_path):
    registry = DeviceRegistry(tmp_path, simulate=True)
    sim = registry.configured(DeviceKind.SCANNER)
    assert sim is not None and sim.name == "scanner-sim" and sim.available() == (True, "")
    grey, colour = sim.scan(color=False), sim.scan(color=True)
    assert len(grey) == 1 and Image.open(io.BytesIO(grey[0])).mode == "L"
    assert Image.open(io.BytesIO(colour[0])).mode == "RGB"
    assert sim.test().ok


def _sane_test_backend(tmp_path, monkeypatch) -> None:
    """SANE's own virtual scanner: a dll.conf naming only the ``test`` backend."""
    conf = tmp_path / "sane.d"
    conf.mkdir()
    (conf / "dll.conf").write_text("test\n")
    monkeypatch.setenv("SANE_CONFIG_DIR", str(conf))


@pytest.mark.skipif(shutil.which("scanimage") is None, reason="SANE's scanimage is not installed (apt sane-utils)")
def test_scanimage_scans_a_page_from_the_sane_test_device(tmp_path, monkeypatch):
    _sane_test_backend(tmp_path, monkeypatch)
    driver = scanner.ScanimageScanner("test:0", resolution=50)
    assert driver.available() == (True, "")
    pages = driver.scan(color=False)
    assert len(pages) == 1 and Image.open(io.BytesIO(pages[0])).format == "PNG"
    assert driver.test().ok
    missing = scanner.ScanimageScanner("nosuch:0", resolution=50)
    with pytest.raises(ScanError) as err:
        missing.scan(color=False)
    assert "扫描失败" in str(err.value)


@pytest.mark.skipif(scanner.sane_module() is None, reason="the python-sane binding is not installed")
def test_python_sane_scans_a_page_from_the_sane_test_device(tmp_path, monkeypatch):
    _sane_test_backend(tmp_path, monkeypatch)
    driver = scanner.SaneScanner("test:0", resolution=50)
    assert driver.available() == (True, "")
    pages = driver.scan(color=True)
    assert len(pages) == 1 and Image.open(io.BytesIO(pages[0])).mode == "RGB"


def test_without_a_sane_device_the_scanner_says_so_in_chinese(tmp_path, monkeypatch):
    conf = tmp_path / "empty-sane"
    conf.mkdir()
    (conf / "dll.conf").write_text("")
    monkeypatch.setenv("SANE_CONFIG_DIR", str(conf))
    monkeypatch.setattr(scanner.shutil, "which", lambda _name: None)
    names = {d.name for d in scanner.drivers(DeviceConfig(), simulate=False)}
    assert "scanner-folder" in names and "scanner-scanimage" not in names
    driver = scanner.ScanimageScanner("")
    ok, reason = driver.available()
    assert not ok and "scanimage" in reason and "未安装" in reason


def test_the_sane_device_list_is_reused_for_a_minute(monkeypatch):
    """Listing SANE's devices takes seconds: the 设备 page and `devices list` ask once a minute, not every time."""
    runs = []

    def fake_run(self, args, timeout):
        runs.append(args)
        return subprocess.CompletedProcess(args, 0, stdout=b"test:0\n", stderr=b"")

    monkeypatch.setattr(scanner.shutil, "which", lambda name: "/usr/bin/scanimage")
    monkeypatch.setattr(scanner.ScanimageScanner, "_run", fake_run)
    monkeypatch.setattr(scanner, "_LISTED", {})
    clock = [1000.0]
    monkeypatch.setattr(scanner.time, "monotonic", lambda: clock[0])
    assert scanner.ScanimageScanner("test:0").available() == (True, "")
    assert scanner.ScanimageScanner("nosuch:0").available()[0] is False  # the same list, read again
    assert len(runs) == 1
    clock[0] += scanner.LIST_CACHE_S + 1
    scanner.ScanimageScanner("test:0").available()
    assert len(runs) == 2
