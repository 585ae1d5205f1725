"""Where the capture dialog's pictures come from (issue 15 part 4).

高拍仪 are ordinary UVC/USB video cameras, so one pipeline serves them and any webcam: an input feeds a
``QMediaCaptureSession``, whose video sink paints the preview and whose ``QImageCapture`` takes a page.
:class:`CameraSource` puts a ``QCamera`` in as the input; :class:`VirtualSource` (demo, tests, no camera)
puts image frames in through ``QVideoFrameInput`` (Qt ≥ 6.8). Everything after the input — preview, shutter,
the captured ``QImage``, JPEG bytes, the page list, the attachment — is the same code for both.

:class:`CameraDriver` / :class:`SimulatedCameraDriver` are the camera's entries in the device registry
(app/desk/devices/registry.py): ``camera-0``, ``camera-1`` … per ``QMediaDevices.videoInputs()``, and
``camera-sim``; ``test()`` takes one picture. They need Qt, so ``main.py`` registers :func:`camera_drivers`
with ``registry.register_factory`` (:func:`register`).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QEventLoop,
    QIODevice,
    QLoggingCategory,
    QObject,
    QRect,
    Qt,
    QThread,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPen

from app.desk.devices.base import DeviceKind, TestResult

# Qt Multimedia looks for optional hardware-decoding libraries (VA-API, PipeWire) when it is loaded, and warns for
# each one absent on every desk without them; the camera works without them, so the desk's log does not need to
# hear it, nor the FFmpeg version line it prints on loading. The rules must be in place before the import below
# loads the library.
QLoggingCategory.setFilterRules("qt.multimedia.symbolsresolver.warning=false\nqt.multimedia.ffmpeg.info=false")

from PySide6.QtMultimedia import (  # noqa: E402 - after the logging rule above
    QCamera,
    QCameraDevice,
    QImageCapture,
    QMediaCaptureSession,
    QMediaDevices,
    QVideoFrame,
    QVideoFrameInput,
    QVideoSink,
)

log = logging.getLogger(__name__)

NO_CAMERA = "未检测到高拍仪或摄像头：请检查 USB 连接。仍可“从文件添加”或“扫描”。"
CAMERA_BUSY = "摄像头无法打开：可能正被其他程序（如视频会议软件）使用，或已断开。请关闭其他程序后点“重新连接”。"
CAMERA_DENIED = "系统不允许本程序使用摄像头：请在系统设置的“隐私 › 相机”中允许后点“重新连接”。"
NOT_READY = "摄像头尚未准备好，请稍候再拍。"
CAPTURE_FAILED = "拍照没有成功，请重试。"
TEST_TIMEOUT_MS = 15000
JPEG_QUALITY = 92  # the attachment service compresses a page again; this keeps the camera's detail for it


def jpeg_bytes(image: QImage, quality: int = JPEG_QUALITY) -> bytes:
    """``image`` as JPEG bytes (what a page from the camera is handed on as)."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    image.convertToFormat(QImage.Format_RGB32).save(buf, "JPEG", quality)
    buf.close()
    return bytes(data.data())


def camera_devices() -> list[QCameraDevice]:
    return list(QMediaDevices.videoInputs())


def _best_format(device: QCameraDevice):
    """The camera's largest picture that still moves (≥ 5 fps): a document camera's 5–8 MP mode, not 640×480."""
    formats = [f for f in device.videoFormats() if f.maxFrameRate() >= 5]
    if not formats:
        return None
    return max(formats, key=lambda f: (f.resolution().width() * f.resolution().height(), f.maxFrameRate()))


class FrameSource(QObject):
    """An input → ``QMediaCaptureSession`` → the preview's ``QVideoSink`` and a ``QImageCapture``."""

    captured = Signal(QImage)  # a page taken
    failed = Signal(str)  # Chinese, shown where the preview is

    label = ""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.session = QMediaCaptureSession(self)
        self.image_capture = QImageCapture(self)
        self.image_capture.setQuality(QImageCapture.Quality.VeryHighQuality)
        self.session.setImageCapture(self.image_capture)
        self.image_capture.imageCaptured.connect(self._on_captured)
        self.image_capture.errorOccurred.connect(self._on_capture_error)

    def set_sink(self, sink: QVideoSink) -> None:
        self.session.setVideoSink(sink)

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def shoot(self) -> None:
        """Take a page; ``captured`` or ``failed`` follows."""
        self.image_capture.capture()  # -1 when not ready: errorOccurred says so

    def _on_captured(self, _request: int, image: QImage) -> None:
        self.captured.emit(image)

    def _on_capture_error(self, _request: int, error, text: str) -> None:
        log.info("image capture failed: %s %s", error, text)
        self.failed.emit(NOT_READY if error == QImageCapture.Error.NotReadyError else CAPTURE_FAILED)


class CameraSource(FrameSource):
    """A real camera (any UVC 高拍仪 or webcam) through ``QCamera``."""

    def __init__(self, device: QCameraDevice, parent: QObject | None = None):
        super().__init__(parent)
        self.device = device
        self.label = device.description()
        self.camera = QCamera(device, self)
        fmt = _best_format(device)
        if fmt is not None:
            self.camera.setCameraFormat(fmt)
        self.session.setCamera(self.camera)
        self.camera.errorOccurred.connect(self._on_camera_error)

    def start(self) -> None:
        if not _permission_granted(self):
            return
        if self.camera.error() != QCamera.Error.NoError:  # gone before it started (unplugged, a stale choice)
            self._on_camera_error(self.camera.error(), self.camera.errorString())
            return
        if self.camera.isFocusModeSupported(QCamera.FocusMode.FocusModeAuto):
            self.camera.setFocusMode(QCamera.FocusMode.FocusModeAuto)
        self.camera.start()

    def stop(self) -> None:
        self.camera.stop()

    def _on_camera_error(self, error, text: str) -> None:
        if error == QCamera.Error.NoError:
            return
        log.warning("camera %s: %s", self.label, text)  # Qt's text is English: for the log, not the worker
        self.failed.emit(CAMERA_BUSY)


def _permission_granted(source: FrameSource) -> bool:
    """macOS and Windows may ask the user first; denied → the Chinese message instead of a black preview."""
    app = QCoreApplication.instance()
    try:
        from PySide6.QtCore import QCameraPermission
    except ImportError:
        return True
    if app is None:
        return True
    status = app.checkPermission(QCameraPermission())
    if status == Qt.PermissionStatus.Denied:
        source.failed.emit(CAMERA_DENIED)
        return False
    if status == Qt.PermissionStatus.Undetermined:
        def answered(permission) -> None:
            if app.checkPermission(permission) == Qt.PermissionStatus.Granted:
                source.start()
            else:
                source.failed.emit(CAMERA_DENIED)
        app.requestPermission(QCameraPermission(), source, answered)
        return False
    return True


def sample_page(number: int, size: tuple[int, int] = (1240, 1754)) -> QImage:
    """A document-looking page for the virtual camera: a heading, text lines, a red seal, the page number."""
    w, h = size
    image = QImage(w, h, QImage.Format_RGB32)
    image.fill(QColor("#f4f1ea"))  # paper under a lamp, not pure white
    p = QPainter(image)
    p.setRenderHint(QPainter.Antialiasing)
    font = QFont()
    font.setPixelSize(h // 28)
    p.setFont(font)
    p.setPen(QColor("#222"))
    p.drawText(QRect(0, h // 14, w, h // 14), Qt.AlignCenter, f"示例材料　第 {number} 页")
    p.setPen(QPen(QColor("#555"), max(2, h // 400)))
    for i in range(18):
        y = h // 5 + i * (h // 28)
        p.drawLine(w // 10, y, w - w // 10 - (i * 37 % 5) * (w // 20), y)
    p.setPen(QPen(QColor("#c0392b"), max(3, h // 250)))
    p.drawEllipse(QRect(w * 6 // 10, h * 7 // 10, w // 4, w // 4))
    p.end()
    return image


class VirtualSource(FrameSource):
    """Image frames fed into the capture session through ``QVideoFrameInput``, like a camera looking at pages:
    each page taken turns to the next one (demo desks, tests, the 设备 page's simulated camera)."""

    label = "模拟高拍仪"

    def __init__(self, pages: list[QImage] | None = None, parent: QObject | None = None, *, interval_ms: int = 100):
        super().__init__(parent)
        self.pages = pages or [sample_page(n) for n in (1, 2, 3)]
        self.index = 0
        self.frame_input = QVideoFrameInput(self)
        self.session.setVideoFrameInput(self.frame_input)
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.send_frame)
        self.captured.connect(self._turn_page)

    def send_frame(self) -> None:
        self.frame_input.sendVideoFrame(QVideoFrame(self.pages[self.index % len(self.pages)]))

    def start(self) -> None:
        self.send_frame()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _turn_page(self, _image: QImage) -> None:
        self.index += 1
        self.send_frame()


# ----- the camera in the device registry -----------------------------------------------------------------------
_APP: list[QCoreApplication] = []  # the application made for the command line, kept for the process


def _ensure_app() -> None:
    """`devices list/test` on the command line has no Qt application; Qt Multimedia needs one (and the virtual
    camera's page a font): a windowless one."""
    if QCoreApplication.instance() is None:
        _APP.append(QGuiApplication(["onedesk", "-platform", "offscreen"]))


class _OnUiThread(QObject):
    """Runs a function on the application's thread and waits for its result. Qt's camera backends belong there
    (Media Foundation's COM apartment, V4L2's socket notifiers), and the 设备 page tests from a pool thread."""

    call = Signal(object)

    def __init__(self):
        super().__init__()
        self.moveToThread(QCoreApplication.instance().thread())
        self.call.connect(self._run, Qt.BlockingQueuedConnection)

    @Slot(object)
    def _run(self, box: dict) -> None:
        try:
            box["result"] = box["fn"]()
        except Exception as e:  # test() never raises: the worker reads a message, the log has the type
            log.warning("camera test failed: %s", type(e).__name__)


def _take_one_picture(make_source) -> TestResult:
    """Start a source, take a picture once its first frame is there, stop; never raises. Off the UI thread it runs
    on the UI thread (a nested event loop there, as a dialog's) while the calling thread waits."""
    _ensure_app()
    app = QCoreApplication.instance()
    if QThread.currentThread() is not app.thread():
        runner, box = _OnUiThread(), {"fn": lambda: _take_one_picture(make_source)}
        runner.call.emit(box)
        runner.deleteLater()
        return box.get("result") or TestResult(False, CAPTURE_FAILED, {})
    loop = QEventLoop()
    outcome: dict = {}
    source = make_source()
    sink = QVideoSink()
    source.set_sink(sink)

    def first_frame(_frame) -> None:
        sink.videoFrameChanged.disconnect(first_frame)
        source.shoot()

    def finish(**result) -> None:
        outcome.update(result)
        loop.quit()
    sink.videoFrameChanged.connect(first_frame)
    source.captured.connect(lambda image: finish(image=image))
    source.failed.connect(lambda message: finish(message=message))
    QTimer.singleShot(TEST_TIMEOUT_MS, lambda: finish(message="摄像头没有画面：请检查连接，或关闭正在使用摄像头的程序"))
    try:
        source.start()
        if not outcome:
            loop.exec()
    finally:
        source.stop()
        source.deleteLater()
    image = outcome.get("image")
    if image is None:
        return TestResult(False, outcome.get("message", CAPTURE_FAILED), {})
    size = len(jpeg_bytes(image))
    return TestResult(True, f"拍照成功：{image.width()}×{image.height()}，{size / 1024:.0f} KB",
                      {"width": image.width(), "height": image.height(), "bytes": size})


class CameraDriver:
    """One camera Qt sees (``QMediaDevices.videoInputs()``), by its place in that list."""

    kind = DeviceKind.CAMERA

    def __init__(self, index: int, description: str = ""):
        self.index = index
        self.name = f"camera-{index}"
        self.label = f"高拍仪/摄像头：{description}" if description else f"高拍仪/摄像头 {index + 1}"

    def device(self) -> QCameraDevice | None:
        cameras = camera_devices()
        return cameras[self.index] if self.index < len(cameras) else None

    def available(self) -> tuple[bool, str]:
        if self.device() is None:
            return False, "未检测到高拍仪或摄像头：请检查 USB 连接"
        return True, ""

    def test(self) -> TestResult:
        device = self.device()
        if device is None:
            return TestResult(False, "未检测到高拍仪或摄像头：请检查 USB 连接", {})
        return _take_one_picture(lambda: CameraSource(device))


class SimulatedCameraDriver:
    kind = DeviceKind.CAMERA
    name = "camera-sim"
    label = "模拟高拍仪"
    simulated = True

    def available(self) -> tuple[bool, str]:
        return True, ""

    def test(self) -> TestResult:
        return _take_one_picture(lambda: VirtualSource(interval_ms=50))


def camera_drivers(_config=None, *, simulate: bool) -> list:
    """The registry factory: every camera Qt sees, or the simulated one."""
    if simulate:
        return [SimulatedCameraDriver()]
    _ensure_app()
    return [CameraDriver(i, d.description()) for i, d in enumerate(camera_devices())]


def register() -> None:
    """Called by main.py: the camera joins the device registry (app/ cannot import Qt)."""
    from app.desk.devices import registry
    registry.register_factory(camera_drivers)
