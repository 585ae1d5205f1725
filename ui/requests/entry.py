"""How the desk page reaches 诉求登记 (issue 20): F2, its button, and the search ("诉求", "sq") listing it first."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.vocabulary import REQUEST_ITEM_CODE, REQUEST_MODE

SHORTCUT = "F2"
LABEL = "诉求登记"
BUTTON_TEXT = f"{LABEL} ({SHORTCUT})"
# What a worker types for it: the Chinese words, their initials and their pinyin (any beginning of them).
_CHINESE = ("诉求登记", "诉求", "登记诉求")
_LATIN = (("sqdj", 2), ("suqiu", 3), ("suqiudengji", 3), ("sq", 2))


@dataclass(frozen=True)
class RequestHit:
    """A search hit that opens 诉求登记 instead of a service item's wizard (read by ItemListModel as a hit)."""

    code: str = REQUEST_ITEM_CODE
    name: str = LABEL
    department: str = "居委会"
    mode: str = f"{REQUEST_MODE}（{SHORTCUT}）"
    matched: str = ""
    available: bool = True
    reason: str = ""


REQUEST_HIT = RequestHit()


def matches(text: str) -> bool:
    """Whether the search text asks for 诉求登记: "诉" "诉求…", or "sq", "sqdj", "suqi…" (never one letter)."""
    t = "".join(text.split()).lower()
    if not t:
        return False
    if any(word.startswith(t) for word in _CHINESE):
        return True
    return any(len(t) >= least and word.startswith(t) for word, least in _LATIN)
