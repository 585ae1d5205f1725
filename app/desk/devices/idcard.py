"""The 二代身份证 reader's drivers for the device registry (kind ID_READER), and what becomes of the card photo.

``drivers(config, simulate=False)``: the vendor SDKs (``idcard-termb``, ``idcard-sdtapi``: ``sdk_path`` names the
file, else the usual names are tried) and the vendor's local service (``idcard-http``: ``service_url``);
``simulate=True``: the simulated reader (``idcard-sim``). Each driver gives the desk a
:class:`~app.core.idcard.CardReader` through :meth:`CardReaderDriver.reader`; the simulated one always the same
reader, so a test (or the demo) can place cards on it.

The photo read from a card is kept only when the committee turns ``keep_card_photo`` on (registry setting):
then it becomes an attachment of the resident (source ``idcard``); otherwise it is dropped right after the read.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

from app.core.idcard import CardReader, CardReaderError, IdCard
from app.desk.devices.base import DeviceKind, TestResult
from app.desk.devices.idcard_http import DEFAULT_URL, HttpCardReader
from app.desk.devices.idcard_sdk import SDTAPI_NAMES, TERMB_NAMES, SdtapiReader, TermbReader, load_library
from app.desk.devices.idcard_sim import SimulatedReader

log = logging.getLogger(__name__)

KIND = DeviceKind.ID_READER
OPTION_SDK_PATH = "sdk_path"  # as registry.OPTION_SDK_PATH
OPTION_SERVICE_URL = "service_url"  # as registry.OPTION_SERVICE_URL
OPTION_SDK_PORT = "sdk_port"  # 1001–1016 USB (default 1001), 1–16 serial
OPTION_SERVICE_FIELDS = "service_fields"  # JSON: {"name": "data.xm", ...} for a service with other field names
NO_CARD = "阅读器正常，未检测到身份证：请把身份证放在阅读器上再测试"


class CardReaderDriver:
    """One way to reach a reader, as the registry lists it."""

    kind = KIND

    def __init__(self, name: str, label: str, make: Callable[[], CardReader],
                 probe: Callable[[], tuple[bool, str]], *, simulated: bool = False):
        self.name, self.label, self.simulated = name, label, simulated
        self._make, self._probe = make, probe

    def reader(self) -> CardReader:
        """A reader to open, read and close (CardReaderError when its settings are wrong)."""
        return self._make()

    def available(self) -> tuple[bool, str]:
        try:
            return self._probe()
        except CardReaderError as e:
            return False, str(e)

    def test(self) -> TestResult:
        """Read the card on the reader once; the result names the card masked, never in full."""
        try:
            reader = self.reader()
            reader.open()
        except CardReaderError as e:
            return TestResult(False, str(e), {"name": self.name, "stage": "open"})
        try:
            card = reader.read()
        except CardReaderError as e:
            return TestResult(False, str(e), {"name": self.name, "stage": "read"})
        finally:
            reader.close()
        if card is None:
            return TestResult(False, NO_CARD, {"name": self.name, "card": False})
        return TestResult(True, f"读卡成功：{card.masked_label()}", {"name": self.name, "card": True,
                                                                   "photo": card.photo is not None})


def _option(config: Any, key: str, default: str = "") -> str:
    option = getattr(config, "option", None)
    return str(option(KIND, key, default)) if callable(option) else default


def _port(config: Any) -> int:
    text = _option(config, OPTION_SDK_PORT, "1001").strip()
    return int(text) if text.isdigit() else 1001


def _fields(config: Any) -> dict[str, str] | None:
    text = _option(config, OPTION_SERVICE_FIELDS)
    try:
        value = json.loads(text) if text else None
    except ValueError:
        raise CardReaderError("读卡服务的字段设置不是有效的 JSON") from None
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def _library_probe(path: str, names: tuple[str, ...]) -> Callable[[], tuple[bool, str]]:
    def probe() -> tuple[bool, str]:
        load_library(path or None, names)
        return True, ""
    return probe


def _service_probe(make: Callable[[], HttpCardReader]) -> Callable[[], tuple[bool, str]]:
    def probe() -> tuple[bool, str]:
        make().open()
        return True, ""
    return probe


_SIMULATED: SimulatedReader | None = None


def simulated_reader() -> SimulatedReader:
    """The one simulated reader of this process (the demo's cards; a test places its own)."""
    global _SIMULATED
    if _SIMULATED is None:
        _SIMULATED = SimulatedReader()
    return _SIMULATED


def drivers(config: Any, *, simulate: bool) -> list[CardReaderDriver]:
    if simulate:
        return [CardReaderDriver("idcard-sim", "模拟身份证阅读器（演示）", simulated_reader, lambda: (True, ""),
                                 simulated=True)]
    sdk = _option(config, OPTION_SDK_PATH)
    url = _option(config, OPTION_SERVICE_URL) or DEFAULT_URL

    def http() -> HttpCardReader:
        return HttpCardReader(url=url, fields=_fields(config))
    return [
        CardReaderDriver("idcard-termb", "身份证阅读器（termb 驱动）",
                         lambda: TermbReader(library=sdk or None, port=_port(config)),
                         _library_probe(sdk, TERMB_NAMES)),
        CardReaderDriver("idcard-sdtapi", "身份证阅读器（sdtapi 驱动）",
                         lambda: SdtapiReader(library=sdk or None, port=_port(config)),
                         _library_probe(sdk, SDTAPI_NAMES)),
        CardReaderDriver("idcard-http", "身份证阅读器（厂家读卡服务）", http, _service_probe(http)),
    ]


# ----- the card photo -------------------------------------------------------------------------------------------

def keep_card_photo(ctx) -> bool:
    """The committee's ``keep_card_photo`` setting (default off), read where the registry reads it."""
    from app.desk.devices import registry
    return registry.keep_card_photo(ctx)


def without_photo(card: IdCard) -> IdCard:
    return dataclasses.replace(card, photo=None)


def file_card_photo(ctx, attachments, actor, resident_id, card: IdCard):
    """Keep the card's photo as an attachment of the resident (``AttachmentService.add_images``, source
    ``idcard``) when the committee keeps card photos; returns the attachment's info, or None when nothing was kept
    (no photo, setting off, the resident has a card photo already). The caller drops the photo either way."""
    if card.photo is None or resident_id is None or not keep_card_photo(ctx):
        return None
    if any(a.source == "idcard" for a in attachments.for_resident(resident_id)):
        return None  # read again at the next visit: one photo per resident is enough
    return attachments.add_images(actor, None, "", [card.photo], source="idcard", color=True,
                                  resident_id=resident_id)
