"""What the request window shows of a 诉求's detail, as text, and its 24-hour clock (app/core/requests.py, the
one rule) at a moment. Only reading and wording: nothing here decides."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace

from app.core.requests import category_label, handler_text, request_clock
from app.core.vocabulary import FEEDBACK_CHANNELS, URGENCY_LABELS
from forms.identity import mask_phone
from ui.requests.common import fmt


@dataclass(frozen=True)
class RequestText:
    category: str
    urgency: str
    place: str
    block: str
    description: str
    who: str  # the resident (masked) or the anonymous contact
    phone: str  # masked
    accepted_at: dt.datetime | None
    feedback_due_at: dt.datetime | None
    first_feedback: str
    handler: str
    promised_at: dt.datetime | None
    result: str
    clock_label: str
    clock_level: str


def _get(d, name: str, default=None):
    """A request column of the detail: on the detail itself or on its ``request`` part."""
    part = getattr(d, "request", None)
    if part is not None and hasattr(part, name):
        return getattr(part, name)
    return getattr(d, name, default)


def request_facts(d, now: dt.datetime | None = None) -> RequestText:
    data = d.data or {}
    s = d.summary
    anonymous = bool(data.get("anonymous"))
    contact, phone = str(data.get("contact_name") or ""), str(data.get("contact_phone") or "")
    if anonymous:
        who = f"匿名（联系人：{contact or '—'}）"
    else:
        who = "  ".join(x for x in (s.applicant_name, s.applicant_id_masked) if x) or "—"
        if contact and contact != s.applicant_name:
            who += f"（联系人：{contact}）"
    shown_phone = mask_phone(phone) if phone else d.applicant_phone_masked
    first = _get(d, "first_feedback_at")
    channel = FEEDBACK_CHANNELS.get(str(_get(d, "feedback_channel") or ""), "")
    first_text = f"{fmt(first)}（{channel}）" if first and channel else (fmt(first) if first else "尚未反馈")
    block = str(_get(d, "block_name", "") or "") or str(_get(d, "block_code", "") or "")
    clock = request_clock(SimpleNamespace(
        state=s.state, first_feedback_at=first, feedback_due_at=_get(d, "feedback_due_at"),
        accepted_at=_get(d, "accepted_at"), promised_at=_get(d, "promised_at")), now or dt.datetime.now(dt.UTC))
    label = str(_get(d, "category_label", "") or "") or category_label(_get(d, "request_category"))
    return RequestText(
        category=label or s.item_name, urgency=URGENCY_LABELS.get(str(_get(d, "urgency") or ""), "一般"),
        place=str(data.get("place") or "—"), block=block, description=str(data.get("description") or ""),
        who=who, phone=shown_phone, accepted_at=_get(d, "accepted_at"), feedback_due_at=_get(d, "feedback_due_at"),
        first_feedback=first_text, handler=handler_text(_get(d, "external_handler")),
        promised_at=_get(d, "promised_at"), result=d.result_text or "", clock_label=clock.label,
        clock_level=clock.level)
