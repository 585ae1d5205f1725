"""Typing as a worker does: ASCII through key events, Chinese through an input-method commit (as a pinyin IME)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
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


# ----- keyboard navigation, as a worker moves through a form (added for the wizard walks) ----------------------

def focus_in(window):
    """The widget that has the keyboard focus inside ``window`` (or the window itself)."""
    w = QApplication.focusWidget()
    if w is not None and (w is window or window.isAncestorOf(w)):
        return w
    return window.focusWidget() or window


def press(qtbot, window, key, modifier=None) -> None:
    """One key press on whatever has the focus in ``window``."""
    qtbot.keyClick(focus_in(window), key, modifier if modifier is not None else Qt.NoModifier)


def tab_to(qtbot, window, target, limit: int = 120) -> int:
    """Press Tab until ``target`` has the focus; fails when Tab never reaches it. Returns the number of presses."""
    for n in range(limit):
        if focus_in(window) is target:
            return n
        press(qtbot, window, Qt.Key_Tab)
    raise AssertionError(f"Tab never reached {target!r} (focus stays on {focus_in(window)!r})")


def choose_by_arrows(qtbot, combo, index: int) -> None:
    """Move a focused combo box to ``index`` with the arrow keys, without opening its list."""
    assert 0 <= index < combo.count(), (index, combo.count())
    for _ in range(combo.count() * 2):
        if combo.currentIndex() == index:
            return
        qtbot.keyClick(combo, Qt.Key_Down if combo.currentIndex() < index else Qt.Key_Up)
    raise AssertionError(f"arrow keys did not reach item {index} of the combo box")
