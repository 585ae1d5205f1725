"""Dialogs open at their preferred size where the screen allows and never larger than it (issue 19: committee PCs
have 1366×768 or 1024×768 screens). The caller names the size it would like; what is left of the screen (minus a
margin for the title bar and the taskbar) caps it."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QWidget

MARGIN_W, MARGIN_H = 24, 48  # the window frame and its title bar


def fitted_size(width: int, height: int, available: QRect | None) -> QSize:
    """``width``×``height``, capped to ``available`` less the window frame."""
    if available is None or available.isEmpty():
        return QSize(width, height)
    return QSize(min(width, available.width() - MARGIN_W), min(height, available.height() - MARGIN_H))


def resize_to_fit(widget: QWidget, width: int, height: int, available: QRect | None = None) -> None:
    """Resize ``widget`` to ``width``×``height`` or less, so that it fits the screen it opens on (or ``available``)."""
    if available is None:
        screen = widget.screen()
        available = screen.availableGeometry() if screen is not None else None
    widget.resize(fitted_size(width, height, available))
