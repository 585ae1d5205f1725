"""Service catalog: load the item files and search them as the worker types.

A worker types Chinese (低保), full pinyin (zunlaojin), pinyin initials (gljt), a mix
(gaolingjt) or an item code (MZ-01). Pinyin of every name, alias and department is computed
once at load time, so one keystroke is a few string comparisons per item (well under 5 ms for
the 65 items). No Qt here: the UI calls this from its operations layer.

An item whose file is broken is still found (by code, file name, and name when it could be read) but
comes back with ``available=False`` and a worker-readable reason; the technical errors go to the log.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pypinyin import Style, lazy_pinyin

from app.core.paths import FORMS_ITEMS_DIR
from forms.loader import load_catalog
from forms.schema import Catalog, ServiceItem, UnavailableItem

log = logging.getLogger(__name__)

# Readings pypinyin's phrase dictionary may not pick but workers type (长护险 → changhuxian).
_ALT_READINGS = {
    "长": ("chang", "zhang"), "重": ("zhong", "chong"), "行": ("xing", "hang"), "参": ("can", "shen"),
    "调": ("tiao", "diao"), "还": ("huan", "hai"), "单": ("dan", "shan"), "会": ("hui", "kuai"),
    "系": ("xi", "ji"), "传": ("chuan", "zhuan"), "解": ("jie", "xie"), "种": ("zhong", "chong"),
    "省": ("sheng", "xing"), "率": ("lv", "shuai"), "度": ("du", "duo"), "便": ("bian", "pian"),
}
_CJK = re.compile(r"[\u3400-\u9fff]")
_WEIGHTS = {"code": 1.0, "name": 1.0, "alias": 0.97, "category": 0.45, "department": 0.4}
# A hit below this is a loose guess (a shared word or sound); it is listed but never jumps ahead as a recent item.
WEAK_SCORE = 60.0
_HOMOPHONE = 0.9  # a Chinese query matched only through its sound (底保 → 低保) ranks below the real spelling


@dataclass(frozen=True, kw_only=True)
class SearchHit:
    code: str
    name: str
    department: str
    mode: str
    score: float
    matched: str = ""  # the name or alias that matched, for display ("高龄津贴")
    available: bool = True
    reason: str = ""  # why an unavailable item cannot be handled, for the worker (Chinese)


@dataclass(frozen=True, kw_only=True)
class _Key:
    """One searchable text of an item with its precomputed pinyin forms."""

    text: str
    kind: str
    fulls: tuple[str, ...]       # full pinyin, primary reading first
    initials: tuple[str, ...]
    boundaries: tuple[str, ...]  # suffixes of the primary full pinyin at syllable starts (not 0)
    syllables: tuple[tuple[str, ...], ...]  # readings per syllable, for mixed typing
    starts: dict[str, tuple[int, ...]] = field(default_factory=dict)  # letter -> syllables it can start
    spaced: tuple[str, ...] = ()  # " di bao " per reading, to match a Chinese query by its sound
    grams: frozenset[str] = frozenset()  # syllable pairs (adjacent and one apart), for partial overlap
    gram_count: int = 0  # pairs of the primary reading alone (alternative readings do not dilute overlap)


def normalize_query(text: str) -> str:
    """Full-width to half-width, lower case, no spaces/apostrophes/hyphens (zun'lao jin → zunlaojin)."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[\s'’\-_·.]", "", text).replace("ü", "v")


def _readings(text: str) -> list[tuple[str, ...]]:
    """Readings per character: the phrase-aware primary reading first, then common alternatives."""
    # errors=list keeps non-Chinese characters one per entry, so readings line up with text.
    # pypinyin's stub types the errors callback as returning str; the library documents a list as well.
    primary = lazy_pinyin(text, style=Style.NORMAL, v_to_u=False,
                          errors=lambda s: list(s))  # type: ignore[arg-type,return-value]
    if len(primary) != len(text):
        return [(p.lower(),) for p in primary]
    return [(p.lower(), *(a for a in _ALT_READINGS.get(ch, ()) if a != p.lower()))
            for ch, p in zip(text, primary, strict=True)]


def _code_key(clean: str) -> _Key:
    """An item code (already normalised) is matched as typed, never through pinyin."""
    return _Key(text=clean, kind="code", fulls=(), initials=(), boundaries=(), syllables=())


@functools.lru_cache(maxsize=4096)  # departments/categories repeat; reloads reuse everything
def _make_key(text: str, kind: str) -> _Key:
    clean = normalize_query(text)
    syllables = tuple(r for r in _readings(clean) if r[0].isalnum())
    primary = [r[0] for r in syllables]
    fulls, initials = _variants(primary, syllables)
    offsets = [sum(len(p) for p in primary[:i]) for i in range(1, len(primary))]
    boundaries = tuple(fulls[0][o:] for o in offsets)
    spaced = tuple(dict.fromkeys(" " + " ".join(r) + " " for r in _reading_lists(primary, syllables)))
    grams = frozenset().union(*(_grams(r) for r in _reading_lists(primary, syllables)))
    return _Key(text=clean, kind=kind, fulls=fulls, initials=initials, boundaries=boundaries, syllables=syllables,
                starts=_starts_by_letter(syllables), spaced=spaced, grams=grams, gram_count=len(_grams(primary)))


def _reading_lists(primary: list[str], syllables: tuple[tuple[str, ...], ...]) -> list[list[str]]:
    """The primary reading and each single alternative reading, as syllable lists."""
    readings = [primary]
    for i, options in enumerate(syllables):
        readings += [primary[:i] + [alt] + primary[i + 1:] for alt in options[1:]]
    return readings


def _grams(syllables: list[str]) -> frozenset[str]:
    """Syllable pairs next to each other or one apart (开个证明 still shares 开·证 and 证·明 with 开证明)."""
    return frozenset(f"{syllables[i]} {syllables[j]}" for i in range(len(syllables))
                     for j in (i + 1, i + 2) if j < len(syllables))


@dataclass(frozen=True)
class _Sound:
    """A Chinese query by its sound: spaced syllables and syllable pairs."""

    spaced: str
    grams: frozenset[str]


@functools.lru_cache(maxsize=1024)
def _sound(q: str) -> _Sound:
    primary = [r[0] for r in _readings(q) if r[0].isalnum()]
    return _Sound(spaced=" " + " ".join(primary) + " ", grams=_grams(primary))


def _variants(primary: list[str], syllables: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Full pinyin and initials for the primary reading and for each single alternative reading."""
    readings = [primary]
    for i, options in enumerate(syllables):
        readings += [primary[:i] + [alt] + primary[i + 1:] for alt in options[1:]]
    fulls = tuple(dict.fromkeys("".join(r) for r in readings))
    initials = tuple(dict.fromkeys("".join(p[0] for p in r) for r in readings))
    return fulls, initials


def _starts_by_letter(syllables: tuple[tuple[str, ...], ...]) -> dict[str, tuple[int, ...]]:
    by_letter: dict[str, list[int]] = {}
    for i, readings in enumerate(syllables):
        for letter in {r[0] for r in readings}:
            by_letter.setdefault(letter, []).append(i)
    return {k: tuple(v) for k, v in by_letter.items()}


def _match_text(q: str, key: _Key) -> float:
    return _contains(q, key.text, minimum=2)


def _contains(q: str, text: str, minimum: int) -> float:
    """Equal, prefix, inside, or (for a longer query) the whole text inside the query: 低保户 ⊃ 低保."""
    if text == q:
        return 100
    if text.startswith(q):
        return 85 + 10 * len(q) / len(text)
    if q in text:
        return 70 + 10 * len(q) / len(text)
    if len(text) >= minimum and text in q:
        return 60 + 25 * len(text) / len(q)
    return 0


def _match_sound(sound: _Sound, key: _Key) -> float:
    """A Chinese query matched by its sound (homophone slips), else by the syllable pairs it shares."""
    best = 0.0
    for spaced in key.spaced:
        # Spaced strings: "minimum" in characters, so a single syllable never counts as a whole text inside.
        best = max(best, _HOMOPHONE * _contains(sound.spaced, spaced, minimum=7))
    if best or not key.gram_count:
        return best
    common = len(sound.grams & key.grams)
    if not common:
        return 0
    return 30 + 30 * min(1.0, common / key.gram_count) + 25 * common / max(1, len(sound.grams))


def _match_pinyin(q: str, key: _Key) -> float:
    best = 0.0
    for full in key.fulls:
        if full == q:
            return 96
        if full.startswith(q):
            best = max(best, 80 + 10 * len(q) / len(full))
    for ini in key.initials:
        if ini == q:
            best = max(best, 92)
        elif ini.startswith(q):
            best = max(best, 76 + 10 * len(q) / len(ini))
        elif len(q) >= 2 and q in ini:
            best = max(best, 55)
    if not best and any(b.startswith(q) for b in key.boundaries):
        best = 62
    if not best and len(q) >= 2:
        best = _match_mixed(q, key)
    return best


def _match_mixed(q: str, key: _Key) -> float:
    """Each syllable typed in full, by its initial (zh/ch/sh count too) or, last, by a prefix."""
    # Only syllables that can start with the first typed letter are worth trying (keeps typing fast).
    for start in key.starts.get(q[0], ()):
        if _mixed_from(q, key.syllables, start):
            return 70 if start == 0 else 50
    return 0


def _mixed_from(q: str, syllables: tuple[tuple[str, ...], ...], start: int) -> bool:
    states = {0}
    for readings in syllables[start:]:
        nxt = set()
        for p in states:
            rest = q[p:]
            for r in readings:
                if r.startswith(rest):
                    return True  # the query ends inside (or exactly at the end of) this syllable
                if rest.startswith(r):
                    nxt.add(p + len(r))
                if rest[0] == r[0]:
                    nxt.add(p + 1)
                if r[:2] in ("zh", "ch", "sh") and rest.startswith(r[:2]):
                    nxt.add(p + 2)
        if not nxt:
            return False
        if len(q) in nxt:
            return True
        states = nxt
    return False


def _score(q: str, keys: Iterable[_Key], ascii_letters: bool) -> tuple[float, str]:
    best, matched = 0.0, ""
    sound = _sound(q) if _CJK.search(q) else None
    for key in keys:
        if key.kind == "code":
            s = 100.0 if key.text == q else (40.0 if key.text.startswith(q) and len(q) >= 2 else 0.0)
        else:
            s = _match_text(q, key)
            if not s and ascii_letters:
                s = _match_pinyin(q, key)
            elif not s and sound is not None:
                s = _match_sound(sound, key)
        s *= _WEIGHTS[key.kind]
        if s > best:
            best, matched = s, key.text
    return round(best, 2), matched


class CatalogService:
    """Holds the loaded catalog and its search index."""

    def __init__(self, items_dir: Path | str | None = None) -> None:
        self.items_dir = Path(items_dir) if items_dir else FORMS_ITEMS_DIR
        self._catalog: Catalog | None = None
        self._index: dict[str, tuple[_Key, ...]] = {}
        self._broken_index: dict[str, tuple[_Key, ...]] = {}
        self._names: dict[str, str] = {}

    def load(self) -> Catalog:
        """(Re)load the item files and rebuild the search index; never raises on bad files."""
        catalog = load_catalog(self.items_dir)
        for err in catalog.errors:
            log.warning("catalog %s: %s", self.items_dir, err)
        self._index = {code: self._keys(item) for code, item in catalog.items.items()}
        self._broken_index = {key: self._broken_keys(b) for key, b in catalog.broken.items()}
        self._names = {}
        for item in catalog:
            for text in [item.name, *item.aliases]:
                self._names[normalize_query(text)] = text
        self._catalog = catalog
        return catalog

    @staticmethod
    def _keys(item: ServiceItem) -> tuple[_Key, ...]:
        keys = [_code_key(normalize_query(item.code)), _make_key(item.name, "name")]
        keys += [_make_key(a, "alias") for a in item.aliases if a.strip()]
        keys += [_make_key(item.category, "category"), _make_key(item.department, "department")]
        return tuple(keys)

    @staticmethod
    def _broken_keys(broken: UnavailableItem) -> tuple[_Key, ...]:
        codes = dict.fromkeys(normalize_query(t) for t in (broken.code or "", Path(broken.file).stem, broken.file) if t)
        keys = [_code_key(c) for c in codes if c]
        if broken.name:
            keys.append(_make_key(broken.name, "name"))
        return tuple(keys)

    def unavailable_reason(self, code: str) -> str | None:
        """The worker-readable reason an item (by code or file name) cannot be handled, or None."""
        return self.catalog.unavailable.get(code)

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self.load()
        assert self._catalog is not None
        return self._catalog

    def get(self, code: str) -> ServiceItem | None:
        return self.catalog.get(code)

    def items(self, department: str | None = None) -> list[ServiceItem]:
        return [i for i in self.catalog if department is None or i.department == department]

    def departments(self) -> list[str]:
        present = {i.department for i in self.catalog}
        return [d for d in self.catalog.departments if d in present]

    def search(self, text: str, department: str | None = None,
               recent_codes: Iterable[str] = (), limit: int | None = None) -> list[SearchHit]:
        """Ranked hits for ``text``; recently used items come first when they match.

        An empty query lists the recent items first, then every item in code order.
        """
        catalog = self.catalog
        recent = {code: i for i, code in enumerate(dict.fromkeys(recent_codes))}
        q = normalize_query(text)[:60]
        ascii_letters = q.isascii() and q.isalpha()
        hits = []
        for code, item in catalog.items.items():
            if department is not None and item.department != department:
                continue
            score, matched = _score(q, self._index[code], ascii_letters) if q else (0.0, "")
            if q and score <= 0:
                continue
            hits.append(SearchHit(code=code, name=item.name, department=item.department, mode=item.mode, score=score,
                                  matched=self._names.get(matched, matched)))
        for key, broken in catalog.broken.items():
            if department is not None and broken.department != department:
                continue
            score, _matched = _score(q, self._broken_index.get(key, ()), ascii_letters) if q else (0.0, "")
            if q and score <= 0:
                continue
            hits.append(SearchHit(code=key, name=broken.name or "（名称无法读取）", department=broken.department,
                                  mode="", score=score, available=False, reason=catalog.unavailable.get(key, "")))
        # A recent item leads only when it really matches; a loose guess stays where its score puts it.
        scores = {h.code: h.score for h in hits}
        recent = {c: i for c, i in recent.items() if not q or scores.get(c, 0.0) >= WEAK_SCORE}
        hits.sort(key=lambda h: (h.code not in recent, recent.get(h.code, 0), -h.score, not h.available, h.code))
        return hits[:limit] if limit else hits
