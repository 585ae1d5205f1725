"""What a case's answers print as: the rows of its 申请表 and the text of its 证明 (no reportlab, no session).

Answers are read back through the item (``forms.validate``), so a draft's raw values and a submitted case's
checked values print alike, a question hidden by the answers is left out, and each value is written by its field
kind with identifiers masked (rules.md §5).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.desk.printing.data import AnswerTable
from forms.identity import mask_id
from forms.schema import CertificateTemplate, Field, ServiceItem
from forms.validate import ValidationResult, validate_submission
from forms.values import format_value, is_empty

# An answer set into running text loses the closing mark the worker typed; the template has its own.
_TRAILING = "。；;，,、 "


def read_answers(item: ServiceItem, data: dict, applicant: dict, agent: dict | None,
                 today: dt.date | None = None) -> ValidationResult:
    """The case's answers as the rules see them (values, computed values, what is hidden)."""
    submission = {"applicant": applicant, "agent": agent, "fields": dict(data or {}), "materials": {}}
    return validate_submission(item, submission, today)


def application_rows(item: ServiceItem, result: ValidationResult) -> tuple[tuple[tuple[str, str], ...],
                                                                           tuple[AnswerTable, ...]]:
    """(label, answer) of every answered question in form order, then the computed figures; and one table per
    answered repeat group (the household)."""
    pairs: list[tuple[str, str]] = []
    tables: list[AnswerTable] = []
    for _, fld in item.iter_fields():
        if fld.key in result.hidden:
            continue
        value = result.computed.get(fld.key) if fld.is_computed else result.values.get(fld.key)
        if is_empty(value) or fld.key in result.waiting:
            continue
        if fld.kind.rows and isinstance(value, list):
            tables.append(_group_table(fld, value))
        else:
            pairs.append((fld.label, fld.kind.mask(fld, value)))
    for comp in item.computed:
        value = result.computed.get(comp.key)
        if comp.key not in result.waiting and not is_empty(value):
            pairs.append((comp.label, format_value(value, comp.unit)))
    if result.tier is not None:
        pairs.append((item.tier_title, result.tier.label))
    return tuple(pairs), tuple(tables)


def _group_table(fld: Field, rows: list[dict[str, Any]]) -> AnswerTable:
    subs = [s for s in fld.fields if any(not is_empty(r.get(s.key)) for r in rows)]
    body = tuple(tuple(s.kind.mask(s, r.get(s.key)) for s in subs) for r in rows)
    return AnswerTable(fld.label, tuple(s.label for s in subs), body)


def certificate_content(item: ServiceItem, template: CertificateTemplate, result: ValidationResult,
                        applicant_name: str, applicant_id: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The certifying text filled from the answers, and the (label, answer) rows it rests on."""
    texts: dict[str, str] = {}
    for _, fld in item.iter_fields():
        value = result.values.get(fld.key)
        texts[fld.key] = "" if is_empty(value) else fld.kind.mask(fld, value)
    who = applicant_name + (f"（身份证号：{mask_id(applicant_id)}）" if applicant_id else "")
    slots = {k: v.strip().rstrip(_TRAILING) for k, v in texts.items()} | {"applicant": who}
    text = template.text.format_map(slots)
    basis = []
    for key in template.basis:
        named = item.field(key)
        if named is not None:
            basis.append((named.label, texts.get(key) or "—"))
    return text, tuple(basis)
