"""Scanners (issue 15 part 4): SANE through its Python binding where it is installed, else SANE's ``scanimage``
command, and always the watched folder every scanner's own software can save into.

A direct scanner (:class:`SaneScanner`, :class:`ScanimageScanner`, :class:`SimulatedScanner`) has
``scan(color=...) -> list[bytes]``: the pages of one scan as PNG bytes; it blocks, so the capture dialog calls it
off the UI thread. The folder scanner (:class:`FolderScanner`) has a :class:`WatchedFolder`: new complete files
(size unchanged between two looks, not a temporary name) are offered once; after they were attached they are
moved to the folder's ``imported`` subfolder. No Qt here: the capture dialog (ui/devices) puts the pages in its list.

python-sane (``import sane``, the Pillow project's binding, sdist only: it builds against libsane-dev) is optional
and Linux-only; without it ``scanimage`` (package sane-utils) does the same. Windows scanners save to the folder.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import UserError
from app.desk.devices.base import DeviceKind, TestResult

log = logging.getLogger(__name__)

OPTION_WATCH_FOLDER = "watch_folder"  # as registry.OPTION_WATCH_FOLDER (not imported: the registry imports us)
OPTION_DEVICE = "device"  # a SANE device name ("test:0", "epson2:libusb:001:004"); "" = the first one found
IMPORTED = "imported"
DEFAULT_FOLDER_NAME = "OneDesk扫描件"
SCAN_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".pdf"})
# Names scanner software and copy tools give a file while they still write it.
TEMP_PREFIXES = (".", "~", "$")
TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")
SCAN_RESOLUTION = 200  # dpi: legible text on A4; the attachment service compresses the page afterwards
LIST_CACHE_S = 60.0  # how long the list of SANE devices found is reused (a replugged scanner shows within a minute)
_LISTED: dict[str, tuple[float, list[str]]] = {}
SCAN_TIMEOUT = 180  # seconds one scanimage run may take (a flatbed at 200 dpi needs ~15 s)
LIST_TIMEOUT = 30


class ScanError(UserError):
    """The scanner did not deliver a page; Chinese message."""


def default_folder() -> Path:
    return Path.home() / DEFAULT_FOLDER_NAME


def _is_candidate(path: Path) -> bool:
    name = path.name.lower()
    return (path.suffix.lower() in SCAN_SUFFIXES and not name.startswith(TEMP_PREFIXES)
            and not name.endswith(TEMP_SUFFIXES))


class WatchedFolder:
    """A folder a scanner saves into. ``poll()`` returns each new complete file once; not thread-safe on its own
    (the dialog polls from the UI thread, the move runs after the attach, guarded by a lock)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._last: dict[Path, tuple[int, int]] = {}  # size and mtime seen at the previous look
        self._offered: set[Path] = set()
        self._lock = threading.Lock()

    @property
    def imported_dir(self) -> Path:
        return self.path / IMPORTED

    def ensure(self) -> None:
        """Create the folder (and its ``imported`` subfolder); a Chinese message when that is not possible."""
        try:
            self.imported_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ScanError(f"无法创建扫描文件夹 {self.path}：{e.strerror or e}") from None

    def _listing(self) -> dict[Path, tuple[int, int]]:
        try:
            entries = list(os.scandir(self.path))
        except OSError:
            return {}
        found = {}
        for e in entries:
            path = Path(e.path)
            try:
                if e.is_file() and _is_candidate(path):
                    st = e.stat()
                    found[path] = (st.st_size, st.st_mtime_ns)
            except OSError:  # gone, or being replaced, while we looked
                continue
        return found

    def waiting(self) -> list[Path]:
        """Every scan in the folder not yet imported (complete or not), by name."""
        return sorted(p for p, (size, _m) in self._listing().items() if size > 0)

    def poll(self) -> list[Path]:
        """The files that are complete now and were not offered before, by name."""
        with self._lock:
            now = self._listing()
            ready = [p for p, seen in now.items()
                     if p not in self._offered and seen[0] > 0 and self._last.get(p) == seen and _readable(p)]
            self._last = now
            self._offered &= set(now)  # a file moved away (or deleted) is forgotten: the same name is new again
            self._offered.update(ready)
            return sorted(ready)

    def release(self, path: Path) -> None:
        """Offer ``path`` again (the dialog that took it was cancelled)."""
        with self._lock:
            self._offered.discard(Path(path))
            seen = self._listing().get(Path(path))
            if seen is not None:  # complete already: offered at the next look
                self._last[Path(path)] = seen

    def mark_imported(self, path: Path) -> Path:
        """Move an attached scan into ``imported/`` (a name taken there gets ``-1``, ``-2``…); the new path."""
        path = Path(path)
        with self._lock:
            self.imported_dir.mkdir(parents=True, exist_ok=True)
            target = self.imported_dir / path.name
            n = 0
            while target.exists():
                n += 1
                target = self.imported_dir / f"{path.stem}-{n}{path.suffix}"
            try:
                shutil.move(str(path), str(target))
            except OSError as e:
                raise ScanError(f"扫描件已保存为附件，但无法移到 {self.imported_dir}：{e.strerror or e}") from None
            self._offered.discard(path)
            self._last.pop(path, None)
            return target


def _readable(path: Path) -> bool:
    """On Windows a file the scanner still writes cannot be opened; elsewhere this only proves it is there."""
    try:
        with path.open("rb") as fh:
            fh.read(1)
        return True
    except OSError:
        return False


# ----- drivers ------------------------------------------------------------------------------------------------
@dataclass
class FolderScanner:
    """Any scanner whose software saves into a folder (every Windows scanner can)."""

    folder: WatchedFolder
    kind: DeviceKind = DeviceKind.SCANNER
    name: str = "scanner-folder"
    label: str = "扫描仪（监视扫描文件夹）"

    def available(self) -> tuple[bool, str]:
        """The folder is ours to create (the default one, or the one set on the 设备 page)."""
        try:
            self.folder.ensure()
        except ScanError as e:
            return False, str(e)
        if not os.access(self.folder.path, os.W_OK):
            return False, f"扫描文件夹 {self.folder.path} 不能写入，导入后无法移走扫描件"
        return True, ""

    def test(self) -> TestResult:
        ok, reason = self.available()
        if not ok:
            return TestResult(False, reason, {"folder": str(self.folder.path)})
        n = len(self.folder.waiting())
        waiting = f"有 {n} 个文件待导入" if n else "没有待导入的扫描件"
        return TestResult(True, f"扫描文件夹可用：{self.folder.path}，{waiting}",
                          {"folder": str(self.folder.path), "waiting": n})


def _png(image: Any, *, color: bool) -> bytes:
    """A PIL image as PNG bytes, in the mode asked for."""
    image = image.convert("RGB" if color else "L")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _scan_test(driver: Any) -> TestResult:
    try:
        pages = driver.scan(color=False)
    except ScanError as e:
        return TestResult(False, str(e), {"name": driver.name})
    size = sum(len(p) for p in pages)
    return TestResult(True, f"扫描成功：{len(pages)} 页（{size / 1024:.0f} KB）", {"pages": len(pages), "bytes": size})


@dataclass
class SimulatedScanner:
    """A scanner for the demo and the tests: a printed-looking page, numbered."""

    kind: DeviceKind = DeviceKind.SCANNER
    name: str = "scanner-sim"
    label: str = "模拟扫描仪"
    simulated: bool = True
    scanned: int = field(default=0, init=False)

    def available(self) -> tuple[bool, str]:
        return True, ""

    def scan(self, *, color: bool) -> list[bytes]:
        from PIL import Image, ImageDraw
        self.scanned += 1
        page = Image.new("RGB", (827, 1169), "white")  # A4 at 100 dpi
        draw = ImageDraw.Draw(page)
        draw.rectangle((60, 60, 767, 140), outline=(40, 40, 40), width=3)
        for i in range(24):
            y = 200 + i * 38
            draw.line((80, y, 747 - (i % 5) * 60, y), fill=(70, 70, 70), width=4)
        draw.ellipse((560, 900, 720, 1060), outline=(200, 30, 30), width=6)  # a red seal
        draw.text((80, 90), f"SCAN {self.scanned}", fill=(0, 0, 0))
        return [_png(page, color=color)]

    def test(self) -> TestResult:
        return _scan_test(self)


def sane_module() -> Any | None:
    """The python-sane binding when installed, else None."""
    try:
        import sane  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    return sane


_SANE_LOCK = threading.Lock()  # sane.init/exit are process-wide: one scan at a time


@dataclass
class SaneScanner:
    """A scanner through SANE's library (python-sane)."""

    device: str = ""
    resolution: int = SCAN_RESOLUTION
    kind: DeviceKind = DeviceKind.SCANNER
    name: str = "scanner-sane"
    label: str = "扫描仪（SANE）"

    def _devices(self, sane: Any) -> list[str]:
        return [d[0] for d in sane.get_devices()]

    def available(self) -> tuple[bool, str]:
        sane = sane_module()
        if sane is None:
            return False, "未安装 SANE 的 Python 组件（python-sane）"
        with _SANE_LOCK:
            try:
                sane.init()
                try:
                    found = self._devices(sane)
                finally:
                    sane.exit()
            except Exception as e:  # the binding raises its own error type, or RuntimeError
                log.info("SANE device list failed: %s", type(e).__name__)
                return False, "SANE 无法列出扫描仪，请检查扫描仪驱动"
        if not found:
            return False, "未检测到扫描仪：请检查扫描仪电源和 USB 连接"
        if self.device and self.device not in found:
            return False, f"未找到设置的扫描仪 {self.device}"
        return True, ""

    def scan(self, *, color: bool) -> list[bytes]:
        sane = sane_module()
        if sane is None:
            raise ScanError("未安装 SANE 的 Python 组件（python-sane），无法扫描")
        with _SANE_LOCK:
            try:
                sane.init()
                try:
                    name = self.device or next(iter(self._devices(sane)), "")
                    if not name:
                        raise ScanError("未检测到扫描仪：请检查扫描仪电源和 USB 连接")
                    dev = sane.open(name)
                    try:
                        _set_option(dev, "mode", "Color" if color else "Gray")
                        _set_option(dev, "resolution", self.resolution)
                        image = dev.scan()
                    finally:
                        dev.close()
                finally:
                    sane.exit()
            except ScanError:
                raise
            except Exception as e:
                log.warning("SANE scan failed: %s", type(e).__name__)
                raise ScanError("扫描失败：扫描仪没有送回图像，请检查扫描仪是否放好文件、是否被其他程序占用") from None
        return [_png(image, color=color)]

    def test(self) -> TestResult:
        return _scan_test(self)


def _set_option(dev: Any, name: str, value: Any) -> None:
    """Set a SANE option where the backend has it (names vary by backend; a missing one keeps its default)."""
    try:
        if name in getattr(dev, "opt", {}):
            setattr(dev, name, value)
    except Exception as e:
        log.info("SANE option %s not set: %s", name, type(e).__name__)


@dataclass
class ScanimageScanner:
    """A scanner through SANE's ``scanimage`` command (sane-utils), where the Python binding is not installed."""

    device: str = ""
    resolution: int = SCAN_RESOLUTION
    kind: DeviceKind = DeviceKind.SCANNER
    name: str = "scanner-scanimage"
    label: str = "扫描仪（SANE scanimage）"

    def _run(self, args: list[str], timeout: int) -> subprocess.CompletedProcess:
        exe = shutil.which("scanimage")
        if exe is None:
            raise ScanError("未安装 SANE 的 scanimage 程序（sane-utils），无法扫描")
        try:
            return subprocess.run([exe, *args], capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ScanError("扫描仪没有响应：请检查扫描仪电源和连接后重试") from None
        except OSError as e:
            raise ScanError(f"无法运行 scanimage：{e.strerror or e}") from None

    def available(self) -> tuple[bool, str]:
        if shutil.which("scanimage") is None:
            return False, "未安装 SANE 的 scanimage 程序（sane-utils）"
        listed = _LISTED.get("devices")
        if listed is not None and time.monotonic() - listed[0] < LIST_CACHE_S:
            found = listed[1]
        else:  # SANE probes every backend: seconds, so the 设备 page and `devices list` share one answer a while
            try:
                done = self._run(["-f", "%d%n"], LIST_TIMEOUT)
            except ScanError as e:
                return False, str(e)
            found = [line.strip() for line in done.stdout.decode("utf-8", "replace").splitlines() if line.strip()]
            _LISTED["devices"] = (time.monotonic(), found)
        if not found:
            return False, "未检测到扫描仪：请检查扫描仪电源和 USB 连接"
        if self.device and self.device not in found:
            return False, f"未找到设置的扫描仪 {self.device}"
        return True, ""

    def scan(self, *, color: bool) -> list[bytes]:
        base = (["-d", self.device] if self.device else []) + ["--format=png", f"--resolution={self.resolution}"]
        done = self._run([*base, "--mode", "Color" if color else "Gray"], SCAN_TIMEOUT)
        if done.returncode != 0 and b"mode" in done.stderr.lower():  # a backend without that mode name
            done = self._run(base, SCAN_TIMEOUT)
        if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
            log.warning("scanimage failed (%s): %s", done.returncode, done.stderr[-300:].decode("utf-8", "replace"))
            raise ScanError("扫描失败：扫描仪没有送回图像，请检查扫描仪是否已连接、是否被其他程序占用")
        from PIL import Image
        return [_png(Image.open(io.BytesIO(done.stdout)), color=color)]

    def test(self) -> TestResult:
        return _scan_test(self)


def _option(config: Any, key: str) -> str:
    option = getattr(config, "option", None)
    return option(DeviceKind.SCANNER, key) if callable(option) else ""


def drivers(config: Any, *, simulate: bool) -> list:
    """The scanners this desk can use (see registry.DRIVER_MODULES): the simulated one when simulating; SANE
    (binding, else ``scanimage``) where installed; the watched folder always."""
    if simulate:
        return [SimulatedScanner()]
    found: list = []
    device = _option(config, OPTION_DEVICE)
    if sane_module() is not None:
        found.append(SaneScanner(device))
    elif shutil.which("scanimage") is not None:
        found.append(ScanimageScanner(device))
    folder = _option(config, OPTION_WATCH_FOLDER)
    found.append(FolderScanner(WatchedFolder(Path(folder) if folder else default_folder())))
    return found
