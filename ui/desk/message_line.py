"""Message labels of the wizard: one that takes no room while empty, one that always keeps its line."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QSizePolicy


class MessageLabel(QLabel):
    """A message that takes no room while it is empty (used where its appearing moves nothing the worker aims at:
    under a scrolling form, above the buttons)."""

    def __init__(self, text: str = "", name: str = ""):
        super().__init__(text)
        self.setWordWrap(True)
        self.setObjectName(name)
        self.setVisible(bool(text))

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text))


class MessageLine(QLabel):
    """The line(s) under a field, always there (empty, they still take their height), so that a message appearing
    moves no field. A red error, or a quiet note; a text longer than the room is cut with "…" and is whole in the
    tooltip. ``lines``: 1 under a single value, more under a table (its row messages are longer)."""

    def __init__(self, parent=None, lines: int = 1):
        super().__init__(parent)
        self._text = ""
        self.lines = lines
        self.setWordWrap(lines > 1)
        self.setTextFormat(Qt.PlainText)
        self.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)  # a long message never widens the form
        metrics = QFontMetrics(self.font())
        self.setFixedHeight(metrics.height() + (lines - 1) * metrics.lineSpacing() + 2)
        self._tone("hint")

    def show_error(self, text: str) -> None:
        self._tone("error")
        self._set(text)

    def show_note(self, text: str) -> None:
        self._tone("hint")
        self._set(text)

    def message(self) -> str:
        """The whole text shown (cut or not)."""
        return self._text

    def is_error(self) -> bool:
        return self.objectName() == "error" and bool(self._text)

    def _tone(self, name: str) -> None:
        if self.objectName() != name:
            self.setObjectName(name)
            self.style().unpolish(self)
            self.style().polish(self)

    def _set(self, text: str) -> None:
        self._text = text
        self.setToolTip(text if text else "")
        self._elide()

    def _elide(self) -> None:
        metrics = QFontMetrics(self.font())
        width = max(self.width(), 40)
        if self.lines > 1:  # wrapped lines lose a little at each break (a word or a wide character)
            width = width * self.lines - (self.lines - 1) * 4 * metrics.averageCharWidth()
        super().setText(metrics.elidedText(self._text, Qt.ElideRight, width))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()
