"""A one-line label that never widens its window: a text longer than the room it has is cut with "…", and the
whole text is its tooltip. Used in the status bar (issue 19: a long warning once grew the main window to 1607 px)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QStatusBar

MIN_CHARS = 4  # the least it shrinks to: a few characters and the ellipsis


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent=None, *, min_chars: int = MIN_CHARS):
        """``min_chars``: how many characters it keeps before cutting (the worker's name more than a notice)."""
        super().__init__(parent)
        self._own_tip = False
        self._min_chars = min_chars
        self.setWordWrap(False)
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        if not self._own_tip:
            super().setToolTip(text)
        self.updateGeometry()
        self.update()

    def setToolTip(self, tip: str) -> None:
        """A tooltip set by the caller (more than the text says) is kept; an empty one gives the text back."""
        self._own_tip = bool(tip)
        super().setToolTip(tip or self.text())

    def shown_text(self) -> str:
        """What the worker reads now: the text, cut to the label's width."""
        return self.fontMetrics().elidedText(self.text(), Qt.ElideRight, max(0, self.contentsRect().width()))

    def is_elided(self) -> bool:
        return self.shown_text() != self.text()

    def minimumSizeHint(self) -> QSize:
        m = self.contentsMargins()
        text = self.text()
        kept = text if len(text) <= self._min_chars else text[:self._min_chars] + "…"
        width = self.fontMetrics().horizontalAdvance(kept) + 2
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), width + m.left() + m.right()), hint.height())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        self.style().drawItemText(painter, self.contentsRect(), self.alignment(),
                                  self.palette(), self.isEnabled(), self.shown_text(), self.foregroundRole())


class ElidingStatusBar(QStatusBar):
    """A status bar whose passing messages (``showMessage``) are cut to its width too, the whole text as its
    tooltip while shown; its own minimum width stays small whatever its labels say."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._full_message = ""
        self.messageChanged.connect(self._on_message_changed)

    def showMessage(self, text: str, timeout: int = 0) -> None:
        self._full_message = text
        room = max(0, self.width() - 24)  # the size grip and the margins
        super().showMessage(self.fontMetrics().elidedText(text, Qt.ElideRight, room), timeout)
        self.setToolTip(text)

    def full_message(self) -> str:
        """The whole text of the message shown now ("" when none is)."""
        return self._full_message if self.currentMessage() else ""

    def _on_message_changed(self, message: str) -> None:
        if not message:
            self._full_message = ""
            self.setToolTip("")
