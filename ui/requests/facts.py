"""What the request window shows of a 诉求's detail (``CaseDetail.request``, app/core/requests.RequestView), as
text, and its 24-hour clock (app/core/requests.request_clock, the one rule) at a moment. Only wording."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace

from app.core.requests import RequestClock, request_clock
from ui.requests.common import fmt


@dataclass(frozen=True)
class RequestText:
    category: str
    urgency: str
    place: str
    block: str
    description: str
    who: str  # the resident (masked) or the anonymous contact
    phone: str  # as the service lets this worker read it
    accepted_at: dt.datetime | None
    feedback_due_at: dt.datetime | None
    first_feedback: str
    handler: str
    promised_at: dt.datetime | None
    result: str


def request_text(d) -> RequestText:
    r, s = d.request, d.summary
    if r.anonymous:
        who = f"匿名（联系人：{r.contact_name or '—'}）"
    else:
        who = "  ".join(x for x in (s.applicant_name, s.applicant_id_masked) if x) or "—"
        if r.contact_name and r.contact_name != s.applicant_name:
            who += f"（联系人：{r.contact_name}）"
    if r.first_feedback_at:
        channel = f"，{r.feedback_channel_label}" if r.feedback_channel_label else ""
        first = f"{fmt(r.first_feedback_at)}{channel}" + (f"：{r.feedback_text}" if r.feedback_text else "")
    else:
        first = "尚未反馈"
    block = f"{r.block_code} {r.block_name}".strip()
    return RequestText(
        category=r.category_label or s.item_name, urgency=r.urgency_label, place=r.place or "—", block=block,
        description=r.description, who=who, phone=r.contact_phone or d.applicant_phone_masked,
        accepted_at=r.intake_at, feedback_due_at=r.feedback_due_at, first_feedback=first, handler=r.handler,
        promised_at=r.promised_at, result=r.result_text)


def clock_at(d, now: dt.datetime) -> RequestClock:
    """The request's clock at ``now`` (the window re-reads it each minute without asking the database)."""
    r = d.request
    return request_clock(SimpleNamespace(state=d.summary.state, first_feedback_at=r.first_feedback_at,
                                         feedback_due_at=r.feedback_due_at, accepted_at=r.intake_at,
                                         promised_at=r.promised_at), now)
