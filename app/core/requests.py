"""诉求 (issue 20): a resident's request, a case of kind "request", and its 24-hour feedback clock.

The clock is written once here, for the desk's worklist, the case window, the paper and the statistics:
calendar hours from intake (never working days). Before the first feedback it counts to ``feedback_due_at``
(intake + 24 h); after it, to the handler's ``promised_at`` when one was recorded, else it is done. It turns
"soon" (yellow) at 4 hours left and "overdue" (red) once the due time is reached.

The categories a district may edit live in ``forms/items/catalog.yaml`` ``request_categories`` (read and
checked by the loader, :mod:`forms.request_categories`); :data:`REQUEST_CATEGORIES` is the list without one.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from app.core.errors import UserError
from app.core.vocabulary import (
    CHINA_TZ,
    FEEDBACK_CHANNELS,
    REQUEST_ITEM_CODE,
    REQUEST_MODE,
    URGENCY_LABELS,
    CaseKind,
    FeedbackChannel,
    State,
    Urgency,
)

FEEDBACK_HOURS = 24  # the first feedback is due this many calendar hours after intake
SOON_HOURS = 4  # the countdown turns yellow with this many hours left
FEEDBACK_WINDOW = dt.timedelta(hours=FEEDBACK_HOURS)
OPEN_REQUEST_STATES = frozenset({State.ACCEPTED, State.IN_PROGRESS})
FEEDBACK_DUE_LABEL = "承诺反馈"  # the 24-hour feedback time as the slip and the progress page name it
REQUEST_PHOTO_MATERIAL = "现场照片"  # what a request's photos are filed under (it has no item and no materials)

# The list a catalog without ``request_categories`` gets (code, label); codes fit Case.request_category.
REQUEST_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("property", "物业维修"), ("sanitation", "环境卫生"), ("dispute", "邻里纠纷"), ("safety", "安全隐患"),
    ("facility", "公共设施"), ("other", "其他"),
)
# What a request's state reads as (the service words of State.label fit a service case).
REQUEST_STATE_LABELS: dict[str, str] = {
    State.DRAFT: "草稿", State.ACCEPTED: "待反馈", State.IN_PROGRESS: "处理中", State.CLOSED: "已办结",
    State.WITHDRAWN: "已撤回",
}
ClockLevel = str  # "ok" | "soon" | "overdue" | "done"
OK, SOON, OVERDUE, DONE = "ok", "soon", "overdue", "done"


def is_request(case: Any) -> bool:
    """Whether a case (row, summary or payload-like object) is a 诉求."""
    return str(getattr(case, "kind", None) or CaseKind.SERVICE) == CaseKind.REQUEST


def request_categories(catalog: Any | None) -> list[tuple[str, str]]:
    """The district's categories (code, label) in display order: the catalog's, else :data:`REQUEST_CATEGORIES`."""
    own = list(getattr(catalog, "request_categories", None) or ())
    return [(str(code), str(label)) for code, label in own] if own else list(REQUEST_CATEGORIES)


def category_label(code: str | None, catalog: Any | None = None) -> str:
    """A category code as the worker reads it; an unknown code (a category removed since) reads as itself."""
    return dict(request_categories(catalog)).get(code or "", dict(REQUEST_CATEGORIES).get(code or "", code or ""))


def request_item_name(label: str) -> str:
    """``Case.item_name`` of a request: 诉求·<category label>."""
    return f"诉求·{label}"


def request_state_label(state: str | None) -> str:
    return REQUEST_STATE_LABELS.get(state or "", state or "")


def feedback_due(intake: dt.datetime) -> dt.datetime:
    """Intake + 24 calendar hours, to the second (midnight, weekends and holidays count like any hour)."""
    return intake + FEEDBACK_WINDOW


@dataclass(frozen=True)
class RequestClock:
    """The countdown of a request at a moment: hours left (negative once overdue), level and its label."""

    hours_left: float
    level: ClockLevel
    label: str
    due_at: dt.datetime | None = None  # what it counts to (None when done)


def _span(seconds: float) -> str:
    """``5 小时`` (whole hours, rounded down) from one hour on, ``35 分钟`` below."""
    if seconds >= 3600:
        return f"{int(seconds // 3600)} 小时"
    return f"{int(seconds // 60)} 分钟"


def _countdown(due: dt.datetime, now: dt.datetime, *, prefix: str = "") -> RequestClock:
    left = (due - now).total_seconds()
    hours = left / 3600
    if left <= 0:
        over = -left
        label = f"{prefix}已到期" if over < 60 else (
            f"超过承诺 {_span(over)}" if prefix else f"已超时 {_span(over)}")
        return RequestClock(hours, OVERDUE, label, due)
    level = SOON if left <= SOON_HOURS * 3600 else OK
    text = f"剩余 {_span(left)}" if left >= 60 else "剩余不到 1 分钟"
    return RequestClock(hours, level, f"{prefix}{text}", due)


def request_clock(case: Any, now: dt.datetime) -> RequestClock:
    """The 24-hour clock of ``case`` (a Case row or anything with its columns) at ``now`` (aware)."""
    state = str(getattr(case, "state", "") or "")
    if state not in OPEN_REQUEST_STATES:
        return RequestClock(0.0, DONE, request_state_label(state))
    if getattr(case, "first_feedback_at", None) is None:
        due = getattr(case, "feedback_due_at", None)
        if due is None:
            accepted = getattr(case, "accepted_at", None)
            if accepted is None:
                return RequestClock(0.0, DONE, request_state_label(state))
            due = feedback_due(accepted)
        return _countdown(due, now)
    promised = getattr(case, "promised_at", None)
    if promised is None:
        return RequestClock(0.0, DONE, "已反馈")
    return _countdown(promised, now, prefix="承诺")


@dataclass(frozen=True, kw_only=True)
class RequestView:
    """A 诉求 as the case window, the worklist and the paper read it (its clock as of when it was read)."""

    category: str
    category_label: str
    urgency: str
    urgency_label: str
    block_code: str
    place: str
    description: str
    contact_name: str
    contact_phone: str
    anonymous: bool
    intake_at: dt.datetime | None
    feedback_due_at: dt.datetime | None
    first_feedback_at: dt.datetime | None
    feedback_channel: str
    feedback_channel_label: str
    promised_at: dt.datetime | None
    handler_name: str
    handler_phone: str
    closed_at: dt.datetime | None
    result_text: str
    feedback_text: str
    clock: RequestClock
    block_name: str = ""

    @property
    def handler(self) -> str:
        return handler_text({"name": self.handler_name, "phone": self.handler_phone})


def request_view(case: Any, now: dt.datetime, catalog: Any | None = None, block_name: str = "") -> RequestView:
    """The request fields of a Case row, with its clock at ``now``."""
    data = dict(getattr(case, "data", None) or {})
    handler = dict(getattr(case, "external_handler", None) or {})
    urgency = str(getattr(case, "urgency", None) or Urgency.NORMAL)
    channel = str(getattr(case, "feedback_channel", None) or "")
    return RequestView(
        category=str(case.request_category or ""), category_label=category_label(case.request_category, catalog),
        urgency=urgency, urgency_label=URGENCY_LABELS.get(urgency, urgency),
        block_code=case.block_code or "", place=str(data.get("place") or ""),
        description=str(data.get("description") or ""), contact_name=str(data.get("contact_name") or ""),
        contact_phone=str(data.get("contact_phone") or ""), anonymous=bool(data.get("anonymous")),
        intake_at=case.accepted_at, feedback_due_at=case.feedback_due_at, first_feedback_at=case.first_feedback_at,
        feedback_channel=channel, feedback_channel_label=FEEDBACK_CHANNELS.get(channel, ""),
        promised_at=case.promised_at, handler_name=str(handler.get("name") or ""),
        handler_phone=str(handler.get("phone") or ""), closed_at=case.closed_at, result_text=case.result_text or "",
        feedback_text=case.reply_text or "", clock=request_clock(case, now), block_name=block_name)


def feedback_on_time(case: Any) -> bool | None:
    """Whether the first feedback came within the 24 hours: True/False once given (or once the 24 hours ended
    without it: False), None while the 24 hours are still running without feedback. ``now`` is not read:
    a request without feedback whose window has ended is judged by :func:`feedback_judged`."""
    first = getattr(case, "first_feedback_at", None)
    due = getattr(case, "feedback_due_at", None)
    if first is None or due is None:
        return None
    return bool(first <= due)


def feedback_judged(case: Any, now: dt.datetime) -> bool | None:
    """The 24-hour feedback of a request, judged at ``now``: True (in time), False (late, or the 24 hours ended
    without feedback), None (still running, or no clock: withdrawn before feedback counts as not judged)."""
    on_time = feedback_on_time(case)
    if on_time is not None:
        return on_time
    due = getattr(case, "feedback_due_at", None)
    if due is None or str(getattr(case, "state", "")) == State.WITHDRAWN:
        return None
    return False if now >= due else None


def china_time(when: dt.datetime | None) -> str:
    """``12月4日 15:30`` in China time; "" for None."""
    if when is None:
        return ""
    local = when.astimezone(CHINA_TZ)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def handler_text(handler: dict | None) -> str:
    """An external handler as one line: 某某物业（电话 138…）."""
    if not handler:
        return ""
    name, phone = str(handler.get("name") or ""), str(handler.get("phone") or "")
    return f"{name}（电话 {phone}）" if phone else name


def property_feedback_text(handler_name: str, handler_phone: str, promised_at: dt.datetime | None) -> str:
    """The automatic feedback of 已联系物业: 已联系<handler>（电话…），承诺<time>前处理."""
    who = handler_text({"name": handler_name, "phone": handler_phone}) or "物业"
    when = f"，承诺{china_time(promised_at)}前处理" if promised_at else ""
    return f"已联系{who}{when}"


def sms_text(*, committee_name: str, case_number: str, category: str, handler: str, promised_at: dt.datetime | None,
             state: str, result: str, reply: str) -> str:
    """The SMS a worker copies to tell the resident where their request stands (no personal data in it)."""
    head = f"【{committee_name}】您反映的{category}诉求（编号{case_number}）"
    if state == State.CLOSED:
        return f"{head}已办结：{result}。如有疑问请联系居委会。"
    parts = [reply] if reply else []
    if handler:
        parts.append(f"处理人：{handler}")
    if promised_at:
        parts.append(f"预计{china_time(promised_at)}前处理")
    body = "，".join(parts) if parts else "已登记，我们将在24小时内给您反馈"
    return f"{head}{body}。如有疑问请联系居委会。"


class RequestError(UserError):
    """A request's input refused by a rule of this module; Chinese message."""


def check_channel(channel: str) -> FeedbackChannel:
    if channel not in FEEDBACK_CHANNELS:
        raise RequestError("请选择反馈居民的方式（电话、当面或短信）")
    return FeedbackChannel(channel)


def check_urgency(urgency: str) -> Urgency:
    try:
        return Urgency(urgency or Urgency.NORMAL)
    except ValueError:
        raise RequestError("紧急程度只能是“一般”或“紧急”") from None


def remaining_hours(clock: RequestClock) -> int:
    """Whole hours left, rounded up (what a paper slip promises): 23.2 → 24; 0 once due."""
    return max(0, math.ceil(clock.hours_left))


__all__ = [
    "DONE", "FEEDBACK_HOURS", "OK", "OPEN_REQUEST_STATES", "OVERDUE", "REQUEST_CATEGORIES", "REQUEST_ITEM_CODE",
    "REQUEST_MODE", "SOON", "SOON_HOURS", "RequestClock", "RequestView", "category_label", "feedback_due",
    "feedback_judged", "feedback_on_time", "is_request", "request_categories", "request_clock", "request_item_name",
    "request_view",
]
