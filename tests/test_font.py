"""The bundled CJK font renders Chinese on a machine with no CJK font installed: no tofu boxes."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QFont, QFontInfo, QImage, QPainter, QRawFont
from PySide6.QtWidgets import QLabel

from app.core.paths import CJK_FONT_FILE

pytestmark = pytest.mark.gui


def _render(text: str, font: QFont) -> QImage:
    img = QImage(64, 64, QImage.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.setFont(font)
    p.setPen(QColor("black"))
    p.drawText(img.rect(), 0x84, text)  # AlignCenter
    p.end()
    return img


def _ink(img: QImage) -> set[tuple[int, int]]:
    return {(x, y) for x in range(img.width()) for y in range(img.height()) if img.pixelColor(x, y).lightness() < 128}


def test_licence_ships_with_font():
    assert CJK_FONT_FILE.exists()
    assert (CJK_FONT_FILE.parent / "DroidSansFallback-LICENSE.txt").read_text().count("Apache") >= 1


def test_chinese_label_uses_bundled_font_not_tofu(styled_app, qtbot):
    from ui.resources import register_fonts
    family = register_fonts()
    label = QLabel("办事待办居民")
    qtbot.addWidget(label)
    assert QFontInfo(label.font()).family() == family
    raw = QRawFont.fromFont(label.font())
    assert all(raw.supportsCharacter(ord(ch)) for ch in "办事待办居民统计设置受理回执")
    # Tofu boxes are identical for every character; real glyphs differ from each other.
    shapes = [_ink(_render(ch, label.font())) for ch in "办事民"]
    assert all(len(s) > 20 for s in shapes)
    assert shapes[0] != shapes[1] != shapes[2]
    grabbed = label.grab().toImage()
    assert len(_ink(grabbed)) > 50
