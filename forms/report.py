"""What the rules of an item make of one set of answers, as plain JSON-ready data (``catalog check``).

A reviewer or an administrator checks an item without the GUI: :func:`check_report` runs the same
:func:`forms.validate.validate_submission` the wizard runs at every step and turns its result into a dict of
plain values. No ID number or phone is copied into the report (only computed values, verdicts, messages and
material names), so it can be pasted into a bug report.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from forms.expr import Record
from forms.schema import RULE_LEVEL_LABELS, ServiceItem
from forms.validate import ValidationResult, validate_submission

_PERSONAL = frozenset({"id_number", "phone"})


def check_report(item: ServiceItem, submission: Any, today: dt.date) -> dict[str, Any]:
    """Every rule's verdict, the computed values, the tier, input errors and the materials these answers need."""
    result = validate_submission(item, submission, today)
    received = submission.get("materials") if isinstance(submission, dict) else None
    received = received if isinstance(received, dict) else {}
    return {
        "code": item.code,
        "name": item.name,
        "mode": item.mode,
        "today": today.isoformat(),
        "eligible": result.eligible,
        "rules": [{"level": v.level, "level_label": RULE_LEVEL_LABELS[v.level], "passed": v.passed,
                   "message": v.message, "rule": v.rule} for v in result.verdicts],
        "computed": {key: plain(value) for key, value in result.computed.items()},
        "waiting": sorted(result.waiting),
        "tier": result.tier.label if result.tier else None,
        "errors": [{"field": key, "message": message} for key, message in result.errors],
        "warnings": [{"field": key, "message": message} for key, message in result.warnings],
        "materials": _materials(result, received),
        "missing_materials": [m.name for m in result.missing_materials],
        "pledged_materials": [m.name for m in result.pledged_materials],  # 告知承诺制 instead of the proof
    }


def _materials(result: ValidationResult, received: dict) -> list[dict[str, Any]]:
    """The materials these answers require, with the copies they need and whether each was received."""
    return [{"name": m.name, "form": m.form, "count": result.material_counts.get(m.name, m.count),
             "received": received.get(m.name) is True} for m in result.required_materials]


def plain(value: Any) -> Any:
    """A computed value as JSON can carry it (dates as ISO text, records as objects, no NaN)."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return plain(float(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Record):  # a person or a group row: its facts, never its ID number or phone
        data = object.__getattribute__(value, "_data")
        return {str(k): plain(v) for k, v in data.items() if k not in _PERSONAL}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return str(value)
