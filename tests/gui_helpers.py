"""Typing as a worker does: ASCII through key events, Chinese through an input-method commit (as a pinyin IME)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QMessageBox


def type_text(qtbot, widget, text: str) -> None:
    """QTest only knows ASCII keys; Chinese arrives the way an IME delivers it: a committed string."""
    widget.setFocus()
    chunk = ""
    for ch in text:
        if ch.isascii():
            if chunk:
                _commit(widget, chunk)
                chunk = ""
            qtbot.keyClicks(widget, ch)
        else:
            chunk += ch
    if chunk:
        _commit(widget, chunk)


def _commit(widget, text: str) -> None:
    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def answer_next_message_box(button_text: str | None = None) -> list[str]:
    """Close the next QMessageBox when it appears (accept, or click the button with that text); returns its texts."""
    seen: list[str] = []

    def close_box():
        for w in QApplication.topLevelWidgets():
            # skip non-modal notices (the 待办 reminder) — we answer the box that blocks the flow
            if isinstance(w, QMessageBox) and w.isVisible() and w.isModal():
                seen.append(w.text())
                if button_text:
                    for b in w.buttons():
                        if b.text() == button_text:
                            b.click()
                            return
                w.accept()
                return
        QTimer.singleShot(30, close_box)
    QTimer.singleShot(30, close_box)
    return seen


def save_shot(widget, name: str) -> None:
    """With ONEDESK_SHOTS=DIR set, save a PNG grab of the widget there, to look at by eye."""
    import os
    folder = os.environ.get("ONEDESK_SHOTS")
    if folder:
        widget.grab().save(os.path.join(folder, name))
