"""catalog.yaml ``request_categories`` (issue 20): the 诉求 categories a district may edit, as (code, label).

Each entry is ``{code, label}``: the code is what a request stores (``Case.request_category``, 1 to 16 lower-case
letters, digits or ``_``, starting with a letter), the label what the worker and the statistics read. Codes and
labels are unique. A catalog without the section gets the default list (app/core/requests.py).
"""

from __future__ import annotations

import re
from typing import Any

Problem = tuple[str | None, str]
CODE_RE = re.compile(r"[a-z][a-z0-9_]{0,15}")
LABEL_LENGTH = 20
MAX_CATEGORIES = 50


def read_request_categories(raw: Any) -> tuple[list[tuple[str, str]], list[Problem]]:
    """The section as (code, label) pairs in order, and each authoring error (where, Chinese message)."""
    if raw is None:
        return [], []
    if not isinstance(raw, list) or not raw:
        return [], [("request_categories", "request_categories 应为非空的类别列表（每项含 code 和 label）")]
    if len(raw) > MAX_CATEGORIES:
        return [], [("request_categories", f"诉求类别过多（最多 {MAX_CATEGORIES} 个）")]
    out: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for i, entry in enumerate(raw):
        where = f"request_categories[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"code", "label"}:
            problems.append((where, "应为含 code 和 label 两项的键值对"))
            continue
        code, label = str(entry.get("code") or ""), str(entry.get("label") or "").strip()
        if not CODE_RE.fullmatch(code):
            problems.append((where, f"code「{code}」应为 1 到 16 个小写字母、数字或下划线，以字母开头"))
            continue
        if not label or len(label) > LABEL_LENGTH:
            problems.append((where, f"label 应为 1 到 {LABEL_LENGTH} 个字"))
            continue
        if code in {c for c, _ in out}:
            problems.append((where, f"code「{code}」重复"))
            continue
        if label in {lb for _, lb in out}:
            problems.append((where, f"label「{label}」重复"))
            continue
        out.append((code, label))
    return (out, problems) if not problems else ([], problems)
