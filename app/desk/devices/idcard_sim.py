"""The simulated 二代身份证 reader, for the demo and the tests.

It holds cards as the fields a card carries (codes for sex and ethnicity, dates as ``YYYYMMDD``) — from a JSON
list or the built-in ones — and hands each over the way a real reader does: as the 256-byte UCS-2LE text block,
read back by :func:`app.core.idcard.parse_wz`, so the parser and its checks run on every simulated read.

A test places and removes a card (:meth:`SimulatedReader.place` / :meth:`remove`); with ``auto`` (the demo) a
read with nothing placed finds the next card of the list, as if the worker had just put it down.
"""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

from app.core.idcard import WZ_LAYOUT, WZ_SIZE, CardReaderError, IdCard, parse_wz
from forms.safe_yaml import CatalogFileError, read_catalog_file

# The demo's first resident (app/demo/seed.py: 张桂兰, ID demo_id_number(0), 户籍 at the committee's street), a
# newcomer nobody has registered, and a newcomer whose card ran out.
BUILT_IN_CARDS: tuple[dict[str, str], ...] = (
    {"name": "张桂兰", "sex": "2", "ethnicity": "01", "birth": "19400312", "id_number": "320302194003121003",
     "address": "江苏省徐州市鼓楼区丰财街道幸福里一区3号楼1单元100室", "authority": "徐州市公安局鼓楼分局",
     "valid_from": "20060115", "valid_until": "长期"},
    {"name": "陈晓东", "sex": "1", "ethnicity": "01", "birth": "19880516", "id_number": "320302198805160133",
     "address": "江苏省徐州市鼓楼区丰财街道和平路12号2单元301室", "authority": "徐州市公安局鼓楼分局",
     "valid_from": "20180620", "valid_until": "20380620"},
    {"name": "刘玉芬", "sex": "2", "ethnicity": "03", "birth": "19750822", "id_number": "320302197508220246",
     "address": "安徽省宿州市埇桥区道东街道淮河西路66号", "authority": "宿州市公安局埇桥分局",
     "valid_from": "20050630", "valid_until": "20250630"},
)
_MAX_CARDS_FILE = 256 * 1024


def wz_block(card: dict[str, Any]) -> bytes:
    """The card's fields as a reader's 256-byte text block: each UCS-2LE, space-padded to its width."""
    out = bytearray()
    for key, size in WZ_LAYOUT:
        raw = str(card.get(key, "")).encode("utf-16-le")[:size]
        out += raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)
    out += " ".encode("utf-16-le") * ((WZ_SIZE - len(out)) // 2)
    return bytes(out)


def sample_photo() -> bytes:
    """A 102×126 grey JPEG, the size of a card photo, for a simulated card that carries one."""
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (102, 126), (200, 200, 200)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def load_cards(path: Path) -> list[dict[str, str]]:
    """Cards from a JSON list of objects with the keys of :data:`BUILT_IN_CARDS`; a Chinese error otherwise."""
    try:
        data = json.loads(read_catalog_file(Path(path), _MAX_CARDS_FILE).decode("utf-8"))
    except CatalogFileError as e:
        raise CardReaderError(f"模拟读卡器的证件文件无法读取：{e}") from None
    except ValueError:
        raise CardReaderError("模拟读卡器的证件文件不是有效的 JSON（UTF-8）") from None
    if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
        raise CardReaderError("模拟读卡器的证件文件应为证件信息的列表")
    return [{k: str(v) for k, v in c.items()} for c in data]


class SimulatedReader:
    """A reader that is always there; thread-safe (the desk reads off the UI thread, a test places cards)."""

    def __init__(self, cards: list[dict[str, str]] | None = None, *, cards_file: Path | str | None = None,
                 auto: bool = True, photo: bool = False):
        self.cards = list(cards) if cards is not None else (load_cards(Path(cards_file)) if cards_file
                                                             else list(BUILT_IN_CARDS))
        self.auto = auto
        self.photo = photo
        self.blocks_read = 0
        self._lock = threading.Lock()
        self._placed: dict[str, str] | None = None
        self._next = 0
        self._open = False

    def open(self) -> None:
        with self._lock:
            self._open = True

    def close(self) -> None:
        with self._lock:
            self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def place(self, card: dict[str, str] | int = 0) -> None:
        """Put a card on the reader: one of :attr:`cards` by index, or any card's fields."""
        with self._lock:
            self._placed = self.cards[card] if isinstance(card, int) else dict(card)

    def remove(self) -> None:
        with self._lock:
            self._placed = None

    def read(self) -> IdCard | None:
        with self._lock:
            if not self._open:
                raise CardReaderError("身份证阅读器未打开")
            card = self._placed
            if card is None and self.auto and self.cards:
                card = self.cards[self._next % len(self.cards)]
                self._next += 1
            if card is None:
                return None
            self.blocks_read += 1
            raw = wz_block(card)
        return parse_wz(raw, photo=sample_photo() if self.photo else None)
