"""The parts of the capture dialog (capture_dialog.py): a page in its list, the live preview, the scanner and
registry it uses, and the thumbnail of a PDF file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtMultimedia import QVideoFrame, QVideoSink
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from app.core.changes import Changes
from app.desk.devices.scanner import SCAN_SUFFIXES

log = logging.getLogger(__name__)

THUMB = QSize(120, 160)
PREVIEW_MIN = QSize(520, 390)
PREVIEW_FPS = 15  # the preview repaints at most this often; every frame still reaches the image capture
FOLDER_POLL_MS = 1000
FILE_FILTER = "图片或 PDF (" + " ".join(f"*{s}" for s in sorted(SCAN_SUFFIXES)) + ")"
SIM_CAMERA = "camera-sim"


@dataclass
class Page:
    """One page in the list: an image (camera, scanner, file) or a whole PDF file added as it is."""

    data: bytes
    source: str  # camera | scanner | file
    thumb: QImage
    name: str = ""
    path: Path | None = None  # the file it came from (a watched-folder scan is moved away once attached)
    is_pdf: bool = False


@dataclass(frozen=True)
class Attached:
    """What 完成 attached."""

    infos: list
    changes: Changes


def device_registry(services):
    """The desk's device registry (services.devices once the 设备 page adds it; else one for this data folder)."""
    reg = getattr(services, "devices", None)
    if reg is not None and hasattr(reg, "configured"):
        return reg
    try:
        from app.desk.devices.registry import DeviceRegistry
        return DeviceRegistry(services.ctx)
    except Exception as e:  # no registry: the dialog still works with the defaults
        log.info("device registry unavailable: %s", type(e).__name__)
        return None


def pdf_thumb(name: str) -> QImage:
    image = QImage(THUMB, QImage.Format_RGB32)
    image.fill(QColor("#ffffff"))
    p = QPainter(image)
    p.setPen(QColor("#b42318"))
    font = p.font()
    font.setPixelSize(28)
    font.setBold(True)
    p.setFont(font)
    p.drawText(image.rect().adjusted(0, 0, 0, -50), Qt.AlignCenter, "PDF")
    font.setPixelSize(12)
    font.setBold(False)
    p.setFont(font)
    p.setPen(QColor("#333333"))
    p.drawText(image.rect().adjusted(6, 90, -6, -6), Qt.AlignHCenter | Qt.TextWrapAnywhere, name)
    p.end()
    return image


class PreviewLabel(QLabel):
    """Paints the capture session's frames; shows a Chinese message instead when there is no picture."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("cameraPreview")
        self.setMinimumSize(PREVIEW_MIN)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAlignment(Qt.AlignCenter)
        self.setWordWrap(True)
        self.setStyleSheet("QLabel#cameraPreview { background: #2b2f36; color: #f0f0f0; font-size: 15px;"
                           " padding: 24px; border-radius: 4px; }")
        self.sink = QVideoSink(self)
        self.sink.videoFrameChanged.connect(self._on_frame)
        self.frames = 0
        self._clock = QElapsedTimer()
        self._image = QImage()

    def _on_frame(self, frame: QVideoFrame) -> None:
        self.frames += 1
        if self._clock.isValid() and self._clock.elapsed() < 1000 // PREVIEW_FPS:
            return
        self._clock.start()
        image = frame.toImage()
        if not image.isNull():
            self._image = image
            self._paint()

    def _paint(self) -> None:
        self.setPixmap(QPixmap.fromImage(self._image.scaled(self.contentsRect().size(), Qt.KeepAspectRatio,
                                                            Qt.SmoothTransformation)))

    def show_message(self, text: str) -> None:
        self._image = QImage()
        self.clear()
        self.setText(text)

    @property
    def has_picture(self) -> bool:
        return not self._image.isNull()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.has_picture:
            self._paint()
