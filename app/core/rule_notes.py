"""The eligibility warnings a case keeps (``Case.rule_warnings``): how they are made and how they read.

At the desk a failed ``warn`` rule does not refuse: the worker records that the resident insists (居民坚持申请),
optionally with a note, and forwards; the department decides (issue 13). A failed ``info`` rule is guidance.
Both are kept on the case as ``{"level", "message"}`` entries, so the colleague sees them in the case window and
the receipt prints the warnings in its 备注. One wording for screen and paper lives here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

INSISTED = "居民坚持申请"
HEADING = "受理时的提示"
MARKS = {"warn": "⚠", "info": "ℹ"}


def entries(warnings: Iterable[str], infos: Iterable[str]) -> list[dict[str, str]]:
    """What a case stores of the failed warn and info rules of its submission, warnings first."""
    return ([{"level": "warn", "message": m} for m in warnings]
            + [{"level": "info", "message": m} for m in infos])


def _valid(rule_warnings: Any) -> list[dict]:
    """The well-formed entries of a stored value (a row from an older or a foreign desk may hold anything)."""
    if not isinstance(rule_warnings, list):
        return []
    return [w for w in rule_warnings if isinstance(w, dict) and w.get("level") in MARKS
            and isinstance(w.get("message"), str) and w["message"].strip()]


def warned(rule_warnings: Any) -> bool:
    """Whether the case was accepted over a failed warn rule (so the resident insisted)."""
    return any(w["level"] == "warn" for w in _valid(rule_warnings))


def screen_lines(rule_warnings: Any, note: str) -> list[str]:
    """The lines of the case window's 受理时的提示 block: each entry with its mark, then the resident's insisting."""
    lines = [f"{MARKS[w['level']]} {w['message'].strip()}" for w in _valid(rule_warnings)]
    if warned(rule_warnings):
        lines.append(f"{INSISTED}：{note.strip() or '（未填写说明）'}")
    return lines


def remark(rule_warnings: Any, note: str) -> str:
    """The receipt's 备注: the warnings the department is to check, and that the resident insisted ("" if none)."""
    messages = [w["message"].strip().rstrip("。；;") for w in _valid(rule_warnings) if w["level"] == "warn"]
    if not messages:
        return ""
    insisted = f"{INSISTED}（{note.strip()}）" if note.strip() else INSISTED
    return "受理提示：" + "；".join(messages) + "；" + insisted + "。"
