"""块区 (issue 20): a committee's blocks, each with its 块长 (a worker) and the address prefixes it covers.

They live in ``Committee.settings["blocks"]`` as a list of ``{"code", "name", "leader_id", "addresses"}``; set by
the server's ``server committee blocks CODE FILE.json`` or at a desk by a 站长/admin (``committee.blocks.v1``).
A request at an address goes to the block whose longest address prefix matches it (whitespace removed on both
sides); a resident belongs to the block of their address, derived each time and never stored.

:func:`parse_blocks` checks what a person wrote (Chinese messages, nothing kept when refused);
:func:`committee_blocks` reads what a committee holds, leaving out an entry it cannot read (an older or newer
writer), so a bad setting never stops a desk.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.errors import UserError
from app.core.limits import has_unstorable

SETTINGS_KEY = "blocks"
MAX_BLOCKS = 200
MAX_ADDRESSES = 500  # address prefixes of one block
CODE_LENGTH = 16  # Case.block_code
NAME_LENGTH = 32
ADDRESS_LENGTH = 200  # Resident.address
_CODE_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_SPACE_RE = re.compile(r"\s+")


class BlockError(UserError, ValueError):
    """A 块区 setting refused; Chinese message, nothing changed."""


@dataclass(frozen=True)
class Block:
    code: str
    name: str
    leader_id: uuid.UUID | None
    addresses: tuple[str, ...] = ()

    def as_setting(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "leader_id": str(self.leader_id) if self.leader_id else None,
                "addresses": list(self.addresses)}

    @property
    def label(self) -> str:
        """``A1 一块区``."""
        return f"{self.code} {self.name}".strip()


def squeeze(address: str | None) -> str:
    """An address without whitespace: what prefixes are matched on."""
    return _SPACE_RE.sub("", address or "")


def _block(i: int, raw: Any) -> Block:
    where = f"第 {i + 1} 个块区"
    if not isinstance(raw, Mapping):
        raise BlockError(f"{where}格式不正确：应包含编号、名称、块长和地址")
    code = str(raw.get("code") or "").strip()
    if not _CODE_RE.fullmatch(code):
        raise BlockError(f"{where}的编号“{code}”不正确：1 到 {CODE_LENGTH} 个字母、数字、- 或 _")
    name = str(raw.get("name") or "").strip()
    if not name or len(name) > NAME_LENGTH or has_unstorable(name):
        raise BlockError(f"块区 {code} 的名称须为 1 到 {NAME_LENGTH} 个字")
    leader = raw.get("leader_id")
    leader_id: uuid.UUID | None = None
    if leader not in (None, ""):
        try:
            leader_id = uuid.UUID(str(leader))
        except ValueError:
            raise BlockError(f"块区 {code} 的块长编号不正确") from None
    addresses = raw.get("addresses", [])
    if not isinstance(addresses, list) or len(addresses) > MAX_ADDRESSES:
        raise BlockError(f"块区 {code} 的地址应为列表（最多 {MAX_ADDRESSES} 条）")
    kept: list[str] = []
    for a in addresses:
        text = squeeze(str(a)) if isinstance(a, str) else ""
        if not text or len(text) > ADDRESS_LENGTH or has_unstorable(text):
            raise BlockError(f"块区 {code} 有一条地址为空、过长（最多 {ADDRESS_LENGTH} 个字）或含无法保存的字符")
        if text not in kept:
            kept.append(text)
    return Block(code, name, leader_id, tuple(kept))


def parse_blocks(raw: Any, *, workers: Iterable[uuid.UUID] | None = None) -> list[Block]:
    """The blocks a person wrote (a list of dicts), checked: codes unique, an address prefix in one block only,
    and, when ``workers`` is given, every 块长 one of them (the committee's active workers)."""
    if isinstance(raw, Mapping) and SETTINGS_KEY in raw:
        raw = raw[SETTINGS_KEY]
    if not isinstance(raw, list):
        raise BlockError("块区设置应为列表")
    if len(raw) > MAX_BLOCKS:
        raise BlockError(f"块区过多（最多 {MAX_BLOCKS} 个）")
    blocks = [_block(i, entry) for i, entry in enumerate(raw)]
    codes: set[str] = set()
    owner: dict[str, str] = {}
    allowed = set(workers) if workers is not None else None
    for b in blocks:
        if b.code in codes:
            raise BlockError(f"块区编号 {b.code} 重复")
        codes.add(b.code)
        for a in b.addresses:
            if a in owner:
                raise BlockError(f"地址“{a}”同时写在块区 {owner[a]} 和 {b.code} 中")
            owner[a] = b.code
        if allowed is not None and b.leader_id is not None and b.leader_id not in allowed:
            raise BlockError(f"块区 {b.code} 的块长不是本居委会在岗的社工")
    return blocks


def blocks_setting(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    """The JSON form kept in ``Committee.settings["blocks"]`` and sent in ``committee.blocks.v1``."""
    return [b.as_setting() for b in blocks]


def committee_blocks(settings: Mapping[str, Any] | None) -> list[Block]:
    """The blocks a committee holds; an entry that cannot be read is left out."""
    raw = (settings or {}).get(SETTINGS_KEY) or []
    out: list[Block] = []
    for i, entry in enumerate(raw if isinstance(raw, list) else []):
        try:
            out.append(_block(i, entry))
        except BlockError:
            continue
    return out


def block_by_code(blocks: Iterable[Block], code: str | None) -> Block | None:
    return next((b for b in blocks if code and b.code == code), None)


def block_for_address(blocks: Iterable[Block], address: str | None) -> Block | None:
    """The block whose longest address prefix starts ``address`` (whitespace ignored), or None."""
    text = squeeze(address)
    if not text:
        return None
    best: tuple[int, Block] | None = None
    for b in blocks:
        for prefix in b.addresses:
            if text.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), b)
    return best[1] if best else None
