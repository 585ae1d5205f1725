"""The 诉求 actions (issue 20), written once for desk and server: register, hand over, give feedback, close.

They are mutators of :mod:`app.core.actions` (which lists them in ``MUTATORS``): :func:`app.core.actions.perform`
checks the request's state table and who acts (app/core/machine.py) before any of them runs, and appends the
event after. A refusal raises :class:`RequestRefused` before the case is touched.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from app.core import commands as c
from app.core.errors import UserError
from app.core.machine import TransitionError
from app.core.requests import check_channel, check_urgency, feedback_due
from app.core.vocabulary import FeedbackChannel
from models import Case

if TYPE_CHECKING:
    from app.core.actions import CaseEnv
    from app.core.machine import Worker as Acting


class RequestRefused(TransitionError):
    """A request action refused by a rule of its own (blank feedback, no contact phone…); Chinese message."""


FEEDBACK_TEXT_REQUIRED = "请填写反馈内容：已解决的结果，或谁在处理、何时处理好"
RESULT_REQUIRED = "请填写办结结果"


def _checked(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except UserError as e:
        raise RequestRefused(str(e)) from None


def _iso(when: dt.datetime | None) -> str | None:
    return when.isoformat() if when else None


def _colleague(env: CaseEnv, worker_id: uuid.UUID | None) -> uuid.UUID:
    w = env.colleague(worker_id) if worker_id else None
    if w is None:
        raise RequestRefused("所选负责人（块长）不存在、已停用或不属于本居委会")
    return w.id


def _register(case: Case, cmd: c.RegisterRequestArgs, actor: Acting, at: dt.datetime,
              env: CaseEnv) -> dict[str, Any]:
    urgency = _checked(check_urgency, cmd.urgency)
    if not cmd.description.strip():
        raise RequestRefused("请填写诉求内容")
    if not (cmd.place.strip() or cmd.block_code):
        raise RequestRefused("请填写诉求地点（地址或块区）")
    if cmd.anonymous and not cmd.contact_phone.strip():
        raise RequestRefused("匿名诉求须留联系电话，以便24小时内反馈")
    if not cmd.anonymous and case.applicant_id is None and not cmd.contact_phone.strip():
        raise RequestRefused("请选择居民，或留下联系人电话")
    assignee = _colleague(env, cmd.assignee_id or actor.id)
    if cmd.anonymous:
        case.applicant_id = None
    case.request_category, case.urgency, case.block_code = cmd.category, str(urgency), cmd.block_code
    case.data = {**(case.data or {}), "description": cmd.description, "place": cmd.place,
                 "contact_name": cmd.contact_name, "contact_phone": cmd.contact_phone, "anonymous": cmd.anonymous}
    case.accepted_at, case.assignee_id = at, assignee
    case.feedback_due_at = feedback_due(at)
    return {"category": cmd.category, "urgency": str(urgency), "block_code": cmd.block_code, "place": cmd.place,
            "description": cmd.description, "contact_name": cmd.contact_name, "contact_phone": cmd.contact_phone,
            "anonymous": cmd.anonymous, "assignee_id": str(assignee), "feedback_due_at": _iso(case.feedback_due_at)}


def _hand_over(case: Case, cmd: c.HandOverArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    if not cmd.handler_name.strip():
        raise RequestRefused("请填写转交的处理单位或处理人（如物业公司）")
    if not cmd.handler_phone.strip():
        raise RequestRefused("请填写处理单位或处理人的电话")
    case.external_handler = {"name": cmd.handler_name, "phone": cmd.handler_phone}
    if cmd.promised_at is not None:
        case.promised_at = cmd.promised_at
    return {"handler_name": cmd.handler_name, "handler_phone": cmd.handler_phone,
            "promised_at": _iso(cmd.promised_at)}


def _told(case: Case, channel: FeedbackChannel, at: dt.datetime) -> dict[str, Any]:
    """The resident was told: the first feedback time (once), the channel (the last one)."""
    first = case.first_feedback_at is None
    if first:
        case.first_feedback_at = at
    case.feedback_channel = str(channel)
    return {"channel": str(channel), "first_feedback": first}


def _give_feedback(case: Case, cmd: c.GiveFeedbackArgs, actor: Acting, at: dt.datetime,
                   env: CaseEnv) -> dict[str, Any]:
    channel = _checked(check_channel, cmd.channel)
    if not cmd.text.strip():
        raise RequestRefused(FEEDBACK_TEXT_REQUIRED)
    detail = _told(case, channel, at)
    case.reply_text = cmd.text
    if cmd.promised_at is not None:
        case.promised_at = cmd.promised_at
    return {**detail, "text": cmd.text, "promised_at": _iso(cmd.promised_at)}


def _close_request(case: Case, cmd: c.CloseRequestArgs, actor: Acting, at: dt.datetime,
                   env: CaseEnv) -> dict[str, Any]:
    channel = _checked(check_channel, cmd.channel)
    if not cmd.result_text.strip():
        raise RequestRefused(RESULT_REQUIRED)
    detail = _told(case, channel, at)  # closing tells the resident: their first feedback if none before
    case.result_text, case.closed_at = cmd.result_text, at
    return {**detail, "result_text": cmd.result_text}


def _reassign_request(case: Case, cmd: c.ReassignArgs, actor: Acting, at: dt.datetime,
                      env: CaseEnv) -> dict[str, Any]:
    """A request moved to another worker of the committee (no line needed: anyone may be responsible)."""
    new = _colleague(env, cmd.assignee_id)
    old = case.assignee_id
    case.assignee_id = new
    return {"from_assignee_id": str(old) if old else None, "assignee_id": str(new)}
