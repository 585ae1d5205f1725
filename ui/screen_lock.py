"""The screen lock's reach: Ctrl+L from any window of the desk, and every window out of sight while locked.

An event filter on the application sees Ctrl+L whatever window has the keyboard (a ``QShortcut`` on the main
window is blocked while a window-modal wizard or case window is open — exactly when a worker steps away).

When the screen locks, every visible window but the main window's frame is hidden and remembered; a window
that offers ``on_screen_locked()`` is told first (the wizard saves the current step as its draft). A window
shown while the screen is locked (a late result, the 15-minute reminder) is hidden too.

After a login (decision, issue 12 point 10):
- the same worker gets their windows back as they left them, the one they were in on top;
- another worker gets none of them: they are closed — ``close_for_other_worker()`` where a window offers it
  (the wizard closes without asking, its work is the draft in the first worker's 待办 › 草稿), ``reject()``
  for other dialogs, ``close()`` otherwise. Closing, not keeping them hidden, means a worker's half-done
  window can never surface in front of someone else.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from shiboken6 import isValid


def _depth(w: QWidget) -> int:
    """How many windows ``w`` sits on (a case window's reply dialog is one deeper than the case window)."""
    n, p = 0, w.parentWidget()
    while p is not None:
        if p.isWindow():
            n += 1
        p = p.parentWidget()
    return n


def _within(w: QWidget, ancestor: QWidget | None) -> bool:
    while w is not None:
        if w is ancestor:
            return True
        w = w.parentWidget()
    return False


class ScreenLock(QObject):
    def __init__(self, window, lock_fn):
        """``window``: the main window (its frame stays, its pages are hidden by the caller); ``lock_fn()``
        shows the lock screen and returns it."""
        super().__init__(window)
        self.window, self._lock_fn = window, lock_fn
        self.lock_dialog: QWidget | None = None
        self.hidden: list[QWidget] = []
        self._active: QWidget | None = None
        QApplication.instance().installEventFilter(self)

    def stop(self) -> None:
        """The main window closes: Ctrl+L is no longer ours."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    @property
    def locked(self) -> bool:
        return self.lock_dialog is not None

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind == QEvent.KeyPress and event.key() == Qt.Key_L \
                and (event.modifiers() & ~Qt.KeypadModifier) == Qt.ControlModifier:
            if not self.locked:
                self._lock_fn()
            return True  # also on the lock screen itself: nothing more to lock
        if kind == QEvent.Show and self.locked and isinstance(obj, QWidget) and obj.isWindow() \
                and not self._may_show_while_locked(obj):
            QTimer.singleShot(0, lambda w=obj: self._hide_late(w))
        return False

    # ----- locking ------------------------------------------------------------------------------------
    def hide_windows(self, lock_dialog: QWidget) -> None:
        """Before the lock screen shows: every visible window out of sight, the wizard's step saved."""
        self.lock_dialog = lock_dialog
        self._active = QApplication.activeWindow()
        windows = [w for w in QApplication.topLevelWidgets()
                   if w.isVisible() and w is not self.window and not _within(w, lock_dialog)]
        for w in sorted(windows, key=_depth, reverse=True):  # a small dialog before the window it sits on
            hook = getattr(w, "on_screen_locked", None)
            if callable(hook):
                hook()
            w.hide()
            self.hidden.append(w)

    def _may_show_while_locked(self, w: QWidget) -> bool:
        return w is self.window or _within(w, self.lock_dialog)

    def _hide_late(self, w: QWidget) -> None:
        if self.locked and isValid(w) and w.isVisible() and not self._may_show_while_locked(w):
            w.hide()
            if w not in self.hidden:
                self.hidden.append(w)

    # ----- after a login ------------------------------------------------------------------------------
    def unlocked(self, same_worker: bool) -> None:
        windows = [w for w in self.hidden if isValid(w)]
        self.hidden, self.lock_dialog = [], None
        active, self._active = self._active, None
        if same_worker:
            for w in sorted(windows, key=_depth):  # a window before the small dialog that sits on it
                w.show()
            if active is not None and isValid(active) and active in windows:
                active.raise_()
                active.activateWindow()
            return
        for w in sorted(windows, key=_depth, reverse=True):
            hook = getattr(w, "close_for_other_worker", None)
            if callable(hook):
                hook()
            elif isinstance(w, QDialog):
                w.reject()
            else:
                w.close()
