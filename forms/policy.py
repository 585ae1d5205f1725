"""Policy figures as dated data: the ``policy`` section of ``catalog.yaml``.

Each figure is a list of entries, each in force from its date until the next one::

    policy:
      dibao_line:
        - {value: 800, from: 2025-01-01, source: 徐民发〔2024〕12 号}
        - {value: 870, from: 2026-01-01, source: 徐民发〔2025〕8 号}

Rules read ``policy.dibao_line``: the value in force on the evaluation date (``today`` of
:func:`forms.validate.validate_submission`). Before a figure's first entry its value is None, so a rule
reading it is undecided rather than decided on a figure that did not yet exist. A plain number
(``dibao_line: 870``) is still accepted, in force on every date, without a source (older catalogs).

:class:`Policy` is a read-only mapping: ``policy["dibao_line"]`` is the value in force today,
``policy.on(day)`` every value in force on ``day``, ``policy.history(key)`` the dated entries.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ENTRY_KEYS = {"value", "from", "source"}
Number = int | float


@dataclass(frozen=True)
class PolicyEntry:
    """One value of a figure; ``effective`` None means in force on every date (a plain number)."""

    value: Number
    effective: dt.date | None
    source: str = ""


class Policy(Mapping[str, Any]):
    """Dated policy figures by key (see the module docstring)."""

    def __init__(self, figures: Mapping[str, list[PolicyEntry] | tuple[PolicyEntry, ...]] | None = None) -> None:
        self._figures: dict[str, tuple[PolicyEntry, ...]] = {
            key: tuple(sorted(entries, key=lambda e: e.effective or dt.date.min))
            for key, entries in (figures or {}).items()
        }

    def history(self, key: str) -> tuple[PolicyEntry, ...]:
        """The entries of ``key``, oldest first (empty for an unknown key)."""
        return self._figures.get(key, ())

    def entry_on(self, key: str, day: dt.date) -> PolicyEntry | None:
        """The entry of ``key`` in force on ``day``, or None before its first one."""
        current = None
        for entry in self._figures.get(key, ()):
            if entry.effective is None or entry.effective <= day:
                current = entry
        return current

    def value_on(self, key: str, day: dt.date) -> Number | None:
        entry = self.entry_on(key, day)
        return entry.value if entry else None

    def on(self, day: dt.date) -> dict[str, Number | None]:
        """Every figure's value in force on ``day`` (None where none is yet): what rules see as ``policy``."""
        return {key: self.value_on(key, day) for key in self._figures}

    def __getitem__(self, key: str) -> Number | None:
        if key not in self._figures:
            raise KeyError(key)
        return self.value_on(key, dt.date.today())

    def __iter__(self) -> Iterator[str]:
        return iter(self._figures)

    def __len__(self) -> int:
        return len(self._figures)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Policy):
            return self._figures == other._figures
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Policy({self._figures!r})"


def parse_policy(data: Any) -> tuple[Policy, list[tuple[str | None, str]]]:
    """The ``policy`` section read into a :class:`Policy`, with every problem as (where, Chinese message).

    A figure with a bad entry keeps its good entries (or none), so rules naming it are not reported twice.
    """
    problems: list[tuple[str | None, str]] = []
    if data is None:
        return Policy(), problems
    if not isinstance(data, dict):
        return Policy(), [("policy", "policy 应为键值对：每个政策标准一项")]
    figures: dict[str, list[PolicyEntry]] = {}
    for key, raw in data.items():
        where = f"policy.{key}"
        if not isinstance(key, str) or not _KEY.match(key):
            problems.append((where, "政策标准名称只能用小写字母、数字和下划线，以字母开头"))
            continue
        entries, errors = _figure(raw)
        figures[key] = entries
        problems += [(where, message) for message in errors]
    return Policy(figures), problems


def _figure(raw: Any) -> tuple[list[PolicyEntry], list[str]]:
    if _is_number(raw):
        return [PolicyEntry(raw, None)], []
    if not isinstance(raw, list) or not raw:
        return [], ["应为带生效日期的取值列表，如 [{value: 870, from: 2026-01-01, source: 文件名称及文号}]"]
    entries: list[PolicyEntry] = []
    errors: list[str] = []
    for i, item in enumerate(raw, start=1):
        entry, entry_errors = _entry(item, f"第 {i} 条")
        errors += entry_errors
        if entry is not None:
            if any(e.effective == entry.effective for e in entries):
                errors.append(f"第 {i} 条：生效日期 {entry.effective} 与前面的条目重复")
            else:
                entries.append(entry)
    return entries, errors


def _entry(item: Any, label: str) -> tuple[PolicyEntry | None, list[str]]:
    if not isinstance(item, dict):
        return None, [f"{label}应为键值对：value（数值）、from（生效日期）、source（政策依据）"]
    unknown = sorted(map(str, set(item) - _ENTRY_KEYS))
    errors = [f"{label}：未知属性「{k}」（应为 value、from、source）" for k in unknown]
    value = item.get("value")
    if "value" not in item or value is None:
        errors.append(f"{label}：缺少 value（数值）")
    elif not _is_number(value):
        errors.append(f"{label}：value「{value}」应为数字")
    effective = _date(item.get("from"))
    if "from" not in item or item.get("from") is None:
        errors.append(f"{label}：缺少 from（生效日期，格式 YYYY-MM-DD）")
    elif effective is None:
        errors.append(f"{label}：生效日期「{item.get('from')}」格式不正确，应为 YYYY-MM-DD")
    source = item.get("source")
    if not isinstance(source, str) or not source.strip():
        errors.append(f"{label}：缺少 source（政策依据：文件名称及文号）")
    if errors:
        return None, errors
    assert effective is not None and isinstance(source, str) and _is_number(value)
    return PolicyEntry(value, effective, source.strip()), []


def _is_number(value: Any) -> TypeGuard[Number]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
