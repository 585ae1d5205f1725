"""The QR / barcode scanner (扫码枪) as a keyboard wedge: what a burst of keystrokes is (no Qt here).

A wedge scanner types what it reads, very fast, and ends with Enter. :class:`BurstBuffer` is the decision the
Qt event filter (``ui/devices/wedge.py``) asks for every key: printable keys are held back for at most
:attr:`WedgeTiming.hold_s`; a key that follows its predecessor within that time joins the burst, a slower one
releases what was held (a person typing gets every key, ``hold_s`` late at most). Enter ends the burst: it is a
scan when it has at least ``min_chars`` characters and the median gap between its keys (Enter included) is at
most ``max_median_gap_s`` — no person types six keys and Enter at 35 ms a key.

:func:`classify` says what a scan is: OneDesk's receipt (its verification link or the desk payload,
:mod:`app.core.verify`) → case number + code; a valid 18-digit ID number → the ID; anything else → an unknown
code (the filter types those into the focused field, as any wedge would).

Testing a wedge needs someone to scan while the program runs: :data:`WAITER` hands a scan recognised on the UI
thread to a ``test()`` waiting in another thread. Without the desk program running (the command line) the test
can only say where to try it.
"""

from __future__ import annotations

import itertools
import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from app.core.verify import parse_verification
from app.desk.devices.base import DeviceKind, TestResult
from forms.identity import IdentityError, mask_id, normalize_id, validate_id

T = TypeVar("T")

MAX_BURST_CHARS = 512  # a burst longer than this is not a code we read: released as typed
TEST_WAIT_S = 15.0


@dataclass(frozen=True)
class WedgeTiming:
    min_chars: int = 6  # characters before Enter
    max_median_gap_s: float = 0.035  # median gap between keys (Enter included)
    hold_s: float = 0.05  # longest gap inside a burst; a key waits at most this long for its successor


DEFAULT_TIMING = WedgeTiming()


class CodeKind(StrEnum):
    RECEIPT = "receipt"  # 受理回执的二维码: opens the case
    ID_NUMBER = "id_number"  # 身份证号: fills the applicant search
    UNKNOWN = "unknown"  # another code: typed into the focused field


CODE_LABELS = {CodeKind.RECEIPT: "受理回执二维码", CodeKind.ID_NUMBER: "身份证号", CodeKind.UNKNOWN: "其他条码"}


@dataclass(frozen=True)
class ScannedCode:
    kind: CodeKind
    text: str  # what was scanned, as typed by the scanner
    case_number: str = ""  # RECEIPT
    code: str = ""  # RECEIPT: the verification code
    id_number: str = ""  # ID_NUMBER, normalised (capital X)

    @property
    def value(self) -> str:
        """What the desk acts on: the case number, the ID number, or the text itself."""
        if self.kind == CodeKind.RECEIPT:
            return self.case_number
        if self.kind == CodeKind.ID_NUMBER:
            return self.id_number
        return self.text

    @property
    def shown(self) -> str:
        """For a message on screen: never a full ID number."""
        if self.kind == CodeKind.RECEIPT:
            return f"{CODE_LABELS[self.kind]}（办件编号 {self.case_number}）"
        if self.kind == CodeKind.ID_NUMBER:
            return f"{CODE_LABELS[self.kind]} {mask_id(self.id_number)}"
        return f"{CODE_LABELS[self.kind]}（{len(self.text)} 个字符）"


def classify(text: str) -> ScannedCode:
    """What a scanned text is (see the module's docstring)."""
    text = (text or "").strip()
    found = parse_verification(text)
    if found is not None:
        return ScannedCode(CodeKind.RECEIPT, text, case_number=found[0], code=found[1])
    number = normalize_id(text)
    if len(number) == 18:
        try:
            return ScannedCode(CodeKind.ID_NUMBER, text, id_number=validate_id(number).number)
        except IdentityError:
            pass
    return ScannedCode(CodeKind.UNKNOWN, text)


def is_scan(times: Sequence[float], timing: WedgeTiming = DEFAULT_TIMING) -> bool:
    """Whether keys at ``times`` (seconds; the last one is Enter's) came from a scanner."""
    if len(times) - 1 < timing.min_chars:
        return False
    gaps = [b - a for a, b in itertools.pairwise(times)]
    if any(g < 0 or g > timing.hold_s for g in gaps):
        return False
    return statistics.median(gaps) <= timing.max_median_gap_s


def recognise(keys: Sequence[tuple[str, float]], enter_at: float,
              timing: WedgeTiming = DEFAULT_TIMING) -> ScannedCode | None:
    """The code typed by ``keys`` ((character, time) each) and Enter at ``enter_at``, or None when a person typed it."""
    if not is_scan([at for _, at in keys] + [enter_at], timing):
        return None
    return classify("".join(ch for ch, _ in keys))


@dataclass
class _Held(Generic[T]):
    token: T
    char: str
    at: float


@dataclass
class BurstBuffer(Generic[T]):
    """The keys held back while a burst may be a scan. ``token`` is whatever the caller needs to deliver a key
    later (the filter keeps a copy of the key event and its receiver); the buffer only keeps order and times."""

    timing: WedgeTiming = DEFAULT_TIMING
    _held: list[_Held[T]] = field(default_factory=list)

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def tokens(self) -> list[T]:
        """What is held, in order (nothing released)."""
        return [h.token for h in self._held]

    def key(self, token: T, char: str, at: float) -> list[T]:
        """A printable key at ``at``: it is held; returns what must be delivered first (a burst it does not
        continue, or one grown too long to be a code)."""
        released = self.expire(at)
        self._held.append(_Held(token, char, at))
        if len(self._held) > MAX_BURST_CHARS:
            released += self.release()
        return released

    def enter(self, at: float) -> tuple[ScannedCode | None, list[T]]:
        """Enter at ``at``: (the scan, []) when the held keys and Enter are a scan — the keys are swallowed —
        else (None, the keys to deliver before Enter)."""
        scan = recognise([(h.char, h.at) for h in self._held], at, self.timing)
        if scan is None:
            return None, self.release()
        self._held.clear()
        return scan, []

    def expire(self, now: float) -> list[T]:
        """The held keys when the last one waited longer than ``hold_s`` by ``now``; else nothing."""
        if self._held and now - self._held[-1].at > self.timing.hold_s:
            return self.release()
        return []

    def release(self) -> list[T]:
        """Everything held, in order (another key came, the timer ran out, the focus moved)."""
        out = [h.token for h in self._held]
        self._held.clear()
        return out


# ----- testing the scanner -------------------------------------------------------------------------------------
class ScanWaiter:
    """Hands scans recognised on the UI thread (``offer``) to a ``test()`` waiting in another thread (``wait``).
    ``attached``: a wedge filter is installed in this process (the desk program runs)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting = 0
        self._scan: ScannedCode | None = None
        self._seq = 0
        self.attached = False

    @property
    def waiting(self) -> bool:
        with self._cond:
            return self._waiting > 0

    def offer(self, scan: ScannedCode) -> bool:
        """Give ``scan`` to a waiting test; True when one took it (the desk then does nothing else with it)."""
        with self._cond:
            if not self._waiting:
                return False
            self._scan, self._seq = scan, self._seq + 1
            self._cond.notify_all()
            return True

    def wait(self, timeout_s: float) -> ScannedCode | None:
        with self._cond:
            start = self._seq
            self._waiting += 1
            try:
                self._cond.wait_for(lambda: self._seq != start, timeout=timeout_s)
                return self._scan if self._seq != start else None
            finally:
                self._waiting -= 1


WAITER = ScanWaiter()


def _scan_result(scan: ScannedCode | None, waited_s: float) -> TestResult:
    if scan is None:
        return TestResult(False, f"{waited_s:g} 秒内没有收到扫码：请确认扫码枪已连接、输入法为英文状态、"
                                 "扫码后自动回车", {"scanned": False})
    return TestResult(True, f"扫码成功：{scan.shown}", {"scanned": True, "kind": scan.kind.value})


class WedgeDriver:
    """A scanner that types like a keyboard: always "there" (it is a keyboard); its test waits for one scan
    while the desk program runs, and from the command line says where to try it."""

    kind = DeviceKind.CODE_SCANNER
    name = "wedge"
    label = "扫码枪（键盘输入模式）"

    def __init__(self, waiter: ScanWaiter = WAITER, wait_s: float = TEST_WAIT_S):
        self.waiter, self.wait_s = waiter, wait_s

    def available(self) -> tuple[bool, str]:
        return True, ""

    def test(self) -> TestResult:
        if not self.waiter.attached:
            return TestResult(False, "扫码枪是键盘输入设备，无法在命令行测试：请在程序中任意界面扫码测试",
                              {"needs_ui": True})
        return _scan_result(self.waiter.wait(self.wait_s), self.wait_s)


SAMPLE_SCAN = "https://onedesk.example.gov.cn/v/110102003-D01-20250124-0007?c=7K3Q9D2M"


class SimulatedCodeScanner:
    """For the demo and tests: "scans" a sample receipt link through the same classifier, at scanner speed."""

    kind = DeviceKind.CODE_SCANNER
    name = "code-sim"
    label = "模拟扫码枪"
    simulated = True

    def __init__(self, text: str = SAMPLE_SCAN, timing: WedgeTiming = DEFAULT_TIMING):
        self.text, self.timing = text, timing

    def available(self) -> tuple[bool, str]:
        return True, ""

    def test(self) -> TestResult:
        step = self.timing.max_median_gap_s / 4
        scan = recognise([(ch, i * step) for i, ch in enumerate(self.text)], len(self.text) * step, self.timing)
        return _scan_result(scan, 0)


def drivers(config: Any, *, simulate: bool) -> list[Any]:
    """The device registry's entry (app/desk/devices/registry.py)."""
    return [SimulatedCodeScanner()] if simulate else [WedgeDriver()]
