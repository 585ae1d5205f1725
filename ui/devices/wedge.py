"""The QR / barcode scanner as a keyboard wedge, anywhere in the desk: an event filter on the application.

A wedge scanner types what it reads and presses Enter, faster than anyone types. The filter holds every plain
printable key back for a few tens of milliseconds (``WedgeTiming.hold_s``, 50 ms): a key that follows within that
time joins the burst, a slower one — a person typing — sends what was held on to the widget it was meant for,
in order, and is held in turn; the hold timer sends the last one. Enter after a burst that
:mod:`app.desk.devices.codes` calls a scan swallows the whole burst: nothing reaches the focused field, and
``scanned(kind, value)`` / ``scanned_code(ScannedCode)`` are emitted. A code that is neither a receipt nor an
ID number is typed into the focused field after all (as any wedge would), Enter included.

Why hold back instead of taking typed characters out of the field afterwards: the first characters of a scan
would already have run the field's per-keystroke work (the 办事 search, the wizard's checks, a validator or
an input mask that refuses some characters, the undo stack), and widgets that are not text fields (a list's
keyboard search, a button's Space) cannot be undone at all. 50 ms is below what a person notices while typing.

Timing comes from the key events' own timestamps (the platform's: a busy UI thread cannot make queued keys of a
person look like a burst). Synthetic events without a timestamp (``QTest``) pass untouched, so tests that type
are not affected; tests of the wedge inject a ``clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import isValid

from app.desk.devices import codes
from app.desk.devices.codes import DEFAULT_TIMING, BurstBuffer, CodeKind, ScannedCode, WedgeTiming

_ENTER = (Qt.Key_Return, Qt.Key_Enter)
_PLAIN = (Qt.NoModifier, Qt.ShiftModifier, Qt.KeypadModifier, Qt.ShiftModifier | Qt.KeypadModifier)
_FLUSH_ON = (QEvent.FocusOut, QEvent.FocusIn, QEvent.MouseButtonPress, QEvent.MouseButtonDblClick,
             QEvent.WindowDeactivate, QEvent.InputMethod)


@dataclass
class _Key:
    """A held key: its receiver and copies of its press (and its release, once that came)."""

    receiver: QObject
    key: int
    events: list[QKeyEvent] = field(default_factory=list)
    released: bool = False


class CodeWedge(QObject):
    scanned = Signal(str, str)  # kind ("receipt" / "id_number" / "unknown"), value (case number / ID / text)
    scanned_code = Signal(object)  # the ScannedCode (a receipt's verification code too)

    def __init__(self, parent: QObject | None = None, *, clock: Callable[[], float] | None = None,
                 timing: WedgeTiming = DEFAULT_TIMING, waiter: codes.ScanWaiter = codes.WAITER):
        """``clock``: seconds for each key as it arrives (tests); by default the event's own timestamp."""
        super().__init__(parent)
        self.clock, self._waiter = clock, waiter
        self._buffer: BurstBuffer[_Key] = BurstBuffer(timing)
        self._replaying = False
        self._swallow_release: set[int] = set()  # keys of a swallowed scan whose release is still to come
        self._target: QObject | None = None
        self._timer = QTimer(self, singleShot=True, interval=max(1, round(timing.hold_s * 1000)))
        self._timer.timeout.connect(self.flush)
        QApplication.instance().installEventFilter(self)
        waiter.attached = True

    def stop(self) -> None:
        """Hand back what is held and stop watching (the main window closes)."""
        self.flush()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self._waiter.attached = False

    @property
    def holding(self) -> bool:
        return self._buffer.holding

    # ----- the filter ----------------------------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:
        if self._replaying:
            return False
        kind = event.type()
        if kind in _FLUSH_ON:
            if self._buffer.holding:
                self.flush()  # the keys go where they were typed, before the focus moves or the mouse acts
            return False
        if not isinstance(obj, QWidget):  # the window's copy of a key event: acted on when it reaches the widget
            return False
        if kind == QEvent.KeyPress:
            return self._on_press(obj, event)
        if kind == QEvent.KeyRelease:
            return self._on_release(event)
        return False

    def _time(self, event) -> float | None:
        if self.clock is not None:
            return self.clock()
        stamp = event.timestamp()
        return stamp / 1000.0 if stamp else None

    def _on_press(self, obj, event) -> bool:
        at = self._time(event)
        if at is None or event.isAutoRepeat():  # no time to judge by, or a key held down: typed as it is
            self.flush()
            return False
        if event.key() in _ENTER and event.modifiers() in _PLAIN:
            return self._on_enter(event, at)
        text = event.text()
        if len(text) != 1 or not text.isprintable() or event.modifiers() not in _PLAIN:
            self.flush()  # Backspace, arrows, Tab, Ctrl+…: after what was held, in order
            return False
        held = _Key(obj, event.key(), [event.clone()])
        self._deliver(self._buffer.key(held, text, at))
        self._timer.start()
        return True

    def _on_release(self, event) -> bool:
        if event.isAutoRepeat():
            return False
        key = event.key()
        if key in self._swallow_release:
            self._swallow_release.discard(key)
            return True
        for held in reversed(self._buffer.tokens()):
            if held.key == key and not held.released:
                held.events.append(event.clone())
                held.released = True
                return True
        return False

    def _on_enter(self, event, at: float) -> bool:
        tokens = self._buffer.tokens()
        scan, release = self._buffer.enter(at)
        self._timer.stop()
        if scan is None:
            self._deliver(release)
            return False
        if self._waiter.offer(scan):  # a device test is waiting for this scan: the desk does nothing else
            self._swallowed(tokens, event)
            return True
        if scan.kind == CodeKind.UNKNOWN:  # not ours: typed into the field after all, Enter included
            self._deliver(tokens)
            self._emit(scan)
            return False
        self._swallowed(tokens, event)
        self._target = tokens[0].receiver
        self._emit(scan)
        return True

    @property
    def last_target(self) -> QWidget | None:
        """The widget the last recognised scan was typed into (the focused one), if it is still there."""
        t = self._target
        return t if isinstance(t, QWidget) and isValid(t) else None

    def _swallowed(self, tokens: list[_Key], enter) -> None:
        self._swallow_release.update(t.key for t in tokens if not t.released)
        self._swallow_release.add(enter.key())

    def _emit(self, scan: ScannedCode) -> None:
        self.scanned.emit(scan.kind.value, scan.value)
        self.scanned_code.emit(scan)

    # ----- handing keys on -----------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Send every held key on to its widget (the hold timer ran out, another key or the mouse came)."""
        self._timer.stop()
        self._deliver(self._buffer.release())

    def _deliver(self, keys: list[_Key]) -> None:
        if not keys:
            return
        self._replaying = True
        try:
            for held in keys:
                if not isValid(held.receiver):
                    continue  # the field was closed meanwhile
                for ev in held.events:
                    QApplication.sendEvent(held.receiver, ev)
        finally:
            self._replaying = False
