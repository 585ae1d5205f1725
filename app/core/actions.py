"""Every case action, written once: check authority and state → change the case → append the event.

The desk's ``CaseService`` calls these and adds the outbox row; the server's push handler calls them and adds
the change-log row. Neither commits here. What differs between the two sides is behind :class:`CaseEnv`:
how a colleague or a resident is looked up (the server also checks the committee), how the deadline is
computed (the server's calendar is the authority), and what extra audit detail every event carries.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.core import commands as c
from app.core import ratings
from app.core import request_actions as req
from app.core.errors import UserError
from app.core.machine import TransitionError, apply_transition, check_actor, check_assignee, check_transition
from app.core.machine import Worker as Acting  # who acts: the desk's WorkerInfo or an Actor
from app.core.vocabulary import INFORM_METHODS, REPLY_RESULTS, AcceptanceMode, Action, CaseKind, ReplyResult
from models import Case


class ActionRefused(TransitionError):
    """A case action refused by a rule of its own (a missing result, an unknown colleague…); Chinese message."""


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who acts: a desk login or the worker a pushed command names."""

    id: uuid.UUID | None
    roles: tuple[str, ...]
    lines: tuple[str, ...] = ()


class Colleague(Protocol):
    id: uuid.UUID
    roles: Any
    lines: Any


class CaseEnv(Protocol):
    """What an action needs from its side (desk or server)."""

    audit: dict[str, Any]

    def colleague(self, worker_id: uuid.UUID) -> Colleague | None:
        """An active colleague who may receive this committee's cases, or None."""

    def resident_id(self, resident_id: uuid.UUID | None) -> uuid.UUID | None:
        """The resident a case may name (the server maps merged records and checks the committee)."""

    def deadline(self, at: dt.datetime) -> tuple[dt.datetime, bool]:
        """Reply deadline of a case forwarded at ``at`` and whether it is provisional."""

    def followup_deadlines(self, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """Call-back and fix deadlines of a bad rating given at ``at`` (working days from the district's settings,
        app/core/ratings.py ``followup_days``; each at close of business of its last working day)."""


@dataclass(kw_only=True)
class SimpleEnv:
    """A CaseEnv from plain callables (tests, the demo, and the desk's own services)."""

    colleagues: Callable[[uuid.UUID], Colleague | None] = lambda _id: None
    deadline_fn: Callable[[dt.datetime], tuple[dt.datetime, bool]] | None = None
    followup_fn: Callable[[dt.datetime], tuple[dt.datetime, dt.datetime]] | None = None
    audit: dict[str, Any] = field(default_factory=dict)

    def colleague(self, worker_id: uuid.UUID) -> Colleague | None:
        return self.colleagues(worker_id)

    def resident_id(self, resident_id: uuid.UUID | None) -> uuid.UUID | None:
        return resident_id

    def deadline(self, at: dt.datetime) -> tuple[dt.datetime, bool]:
        if self.deadline_fn is None:
            raise ActionRefused("无法计算答复期限")
        return self.deadline_fn(at)

    def followup_deadlines(self, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        if self.followup_fn is None:
            raise ActionRefused("无法计算差评回访期限")
        return self.followup_fn(at)


@dataclass(frozen=True)
class Performed:
    """What an action did: its detail (recorded on the event and sent as the command) and the event note."""

    action: Action
    detail: dict[str, Any]
    note: str

    def command_args(self, case: Case) -> dict[str, Any]:
        """The outbox args of this action: the case reference, the note and what was recorded."""
        return {"case_id": str(case.id), "case_number": case.case_number, "note": self.note, **self.detail}


def last_mutation(case: Case) -> str | None:
    """The mutation id of the command behind the case's latest event: what a new command on it comes after."""
    last = max(case.events or (), key=lambda e: e.seq, default=None)
    value = (last.detail or {}).get(c.MUTATION_ID) if last is not None else None
    return str(value) if value else None


Mutator = Callable[[Case, Any, Acting, dt.datetime, CaseEnv], dict[str, Any]]


def _assignee(env: CaseEnv, case: Case, worker_id: uuid.UUID | None) -> Colleague:
    w = env.colleague(worker_id) if worker_id else None
    if w is None:
        raise ActionRefused("所选接收人不存在、已停用或不属于本居委会")
    check_assignee(case.department, w.roles, w.lines)
    return w


def _submit(case: Case, cmd: c.SubmitArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    flexible = _flexible(cmd)  # refused before anything is touched
    detail: dict[str, Any] = {}
    for key, value in flexible.items():
        setattr(case, key, value)
        detail[key] = value.isoformat() if isinstance(value, dt.date) else value
    if flexible.get("makeup_materials"):
        detail["credit_checked"] = True  # the command the server applies again carries the confirmation
    if cmd.data is not None:
        case.data = detail["data"] = dict(cmd.data)
    if cmd.materials is not None:
        case.materials = detail["materials"] = dict(cmd.materials)
    if cmd.missing is not None:
        detail["missing"] = list(cmd.missing)
    if cmd.rule_warnings is not None:  # the warnings travel with the case to the department (issue 13)
        case.rule_warnings = detail["rule_warnings"] = [w.model_dump() for w in cmd.rule_warnings]
    if cmd.warning_note is not None:
        case.warning_note = detail["warning_note"] = cmd.warning_note
    if cmd.catalog_version and cmd.catalog_version != case.catalog_version:
        # checked against a newer catalog than the draft was started with
        detail["catalog_version"], detail["previous_catalog_version"] = cmd.catalog_version, case.catalog_version
        case.catalog_version = cmd.catalog_version
    return detail


def _accept(case: Case, cmd: c.SubmitArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    detail = _submit(case, cmd, actor, at, env)
    case.accepted_at = at
    return detail


def _flexible(cmd: c.SubmitArgs) -> dict[str, Any]:
    """The flexible-acceptance columns an accept sets (rules.md §8), or {} when the command names no mode.

    容缺受理 needs the materials still owed, the make-up deadline the applicant signed for, and the worker's
    confirmation that the applicant is on no dishonesty list (失信名单: not eligible). The pledge text of
    告知承诺制 is kept whichever mode the case is accepted in (a pledged case may also owe a minor material)."""
    if cmd.acceptance_mode is None:
        return {}
    mode = AcceptanceMode(cmd.acceptance_mode)
    owed = list(dict.fromkeys(cmd.makeup_materials or ())) if mode == AcceptanceMode.DEFERRED else []
    if mode == AcceptanceMode.DEFERRED:
        if not owed:
            raise ActionRefused("容缺受理须写明申请人承诺补交的材料")
        if cmd.makeup_due is None:
            raise ActionRefused("容缺受理须写明补交期限")
        if not cmd.credit_checked:
            raise ActionRefused("容缺受理前须核实申请人不在失信名单内（失信人员不适用容缺受理）")
    pledge = (cmd.pledge_text or "").strip()
    if mode == AcceptanceMode.PLEDGE and not pledge:
        raise ActionRefused("告知承诺制须有申请人签署的承诺内容")
    return {"acceptance_mode": str(mode), "makeup_materials": owed,
            "makeup_due": cmd.makeup_due if owed else None, "pledge_text": pledge}


def _resolve(case: Case, cmd: c.ResolveArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    text = cmd.result_text or cmd.note
    if not text:
        raise ActionRefused("请填写办理结果")
    case.result_text, case.closed_at = text, at
    return {"result_text": text}


def _refuse(case: Case, cmd: c.RefuseArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    reason = cmd.reason or cmd.note
    if not reason:
        raise ActionRefused("不予受理必须写明具体原因")
    case.refusal_reason, case.redirect_to, case.closed_at = reason, cmd.redirect_to, at
    return {"reason": reason, "redirect_to": cmd.redirect_to}


def _closed_now(case: Case, cmd: c.CaseCommand, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    case.closed_at = at
    return {}


def _forward(case: Case, cmd: c.ForwardArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    if cmd.assignee_id is None and not cmd.queue:
        raise ActionRefused("请选择接收的条线社工或部门")
    if cmd.assignee_id is not None:
        _assignee(env, case, cmd.assignee_id)
    due, provisional = env.deadline(at)
    case.assignee_id, case.assignee_queue = cmd.assignee_id, cmd.queue or case.department
    case.forwarded_by_id, case.forwarded_at, case.forward_note = actor.id, at, cmd.note
    case.due_at, case.deadline_provisional, case.acknowledged_at = due, provisional, None
    detail = {"assignee_id": str(cmd.assignee_id) if cmd.assignee_id else None, "queue": case.assignee_queue,
              "due_at": due.isoformat(), "provisional": provisional, "forwarded_at": at.isoformat()}
    if cmd.due_at and cmd.due_at != detail["due_at"]:
        detail["desk_due_at"] = cmd.due_at
    return detail


def _acknowledge(case: Case, cmd: c.CaseCommand, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    case.acknowledged_at = at
    if case.assignee_id is None:
        case.assignee_id = actor.id  # taking a case from the department queue
    return {"assignee_id": str(case.assignee_id) if case.assignee_id else None}


def _reassign(case: Case, cmd: c.ReassignArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    if case.kind == CaseKind.REQUEST:
        return req._reassign_request(case, cmd, actor, at, env)
    w = _assignee(env, case, cmd.assignee_id)
    old = case.assignee_id
    case.assignee_id, case.acknowledged_at = w.id, None
    return {"from_assignee_id": str(old) if old else None, "assignee_id": str(w.id)}


REPLY_TEXT_REQUIRED = "请填写答复内容：写明办理结果或需要居民做什么"


def check_reply_result(result: str) -> None:
    """The department's answer is one of the reply results (checked before the desk copies attachments too)."""
    if result not in REPLY_RESULTS:
        raise ActionRefused("请选择答复结果")


def check_reply(result: str, text: str) -> None:
    """A reply is a result and a text (issue 19): "同意" with nothing after tells the front desk nothing to say
    to the resident. Checked by the reply action (desk and server alike) and by the desk before it copies the
    attachments."""
    check_reply_result(result)
    if not (text or "").strip():
        raise ActionRefused("不予批准必须写明原因" if result == ReplyResult.REFUSED else REPLY_TEXT_REQUIRED)


def _reply(case: Case, cmd: c.ReplyArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    text = cmd.text or cmd.note
    check_reply(cmd.result, text)
    case.reply_result, case.reply_text, case.replied_at = cmd.result, text, at
    # Attachment files stay on the desk that received them; only their description travels.
    return {"result": cmd.result, "text": text, "attachments": list(cmd.attachments)}


def _close(case: Case, cmd: c.CloseArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    if cmd.inform_method not in INFORM_METHODS:
        raise ActionRefused("请选择告知居民的方式")
    case.inform_method, case.closed_at = cmd.inform_method, at
    return {"inform_method": cmd.inform_method}


def _reopen(case: Case, cmd: c.CaseCommand, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    case.closed_at = None
    return {}


def _nothing(case: Case, cmd: c.CaseCommand, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    return {}


def _receive_makeup(case: Case, cmd: c.ReceiveMakeupArgs, actor: Acting, at: dt.datetime,
                    env: CaseEnv) -> dict[str, Any]:
    """容缺受理: the pledged materials handed in. The state stays; what is still owed shrinks (to none: the case
    no longer waits for anything and leaves the overdue make-up list); the deadline is kept for the record."""
    owed = list(case.makeup_materials or ())
    if not owed:
        raise ActionRefused("该案件没有待补交的容缺材料")
    brought = list(dict.fromkeys(cmd.materials)) if cmd.materials else owed
    unknown = [m for m in brought if m not in owed]
    if unknown:
        raise ActionRefused("以下材料不在待补交的容缺材料中：" + "、".join(unknown))
    materials = dict(case.materials or {})
    for name in brought:
        entry = materials.get(name)
        entry = entry if isinstance(entry, dict) else {}
        materials[name] = {**entry, "received": True, "received_at": at.isoformat()}
    case.materials = materials
    case.makeup_materials = [m for m in owed if m not in brought]
    return {"received": brought, "still_owed": list(case.makeup_materials)}


def _refused(fn: Callable[[], Any]) -> Any:
    """A rating rule's refusal (app/core/ratings.py raises UserError) as this module's ActionRefused."""
    try:
        return fn()
    except TransitionError:
        raise
    except UserError as e:
        raise ActionRefused(str(e)) from None


def _rate(case: Case, cmd: c.RateArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    """The resident's rating (rules.md §3): given once per round, never changed; a bad first rating opens the
    站长's follow-up with its two deadlines."""
    level = _refused(lambda: ratings.parse_level(cmd.level))
    _refused(lambda: ratings.check_round(case, cmd.round))
    channel = _refused(lambda: ratings.check_channel(cmd.channel, cmd.round))
    reasons = _refused(lambda: ratings.check_reasons(level, list(cmd.reasons)))
    detail: dict[str, Any] = {"level": str(level), "round": cmd.round, "channel": str(channel)}
    if cmd.round == 2:
        case.second_rating, case.second_rated_at = str(level), at
        return detail
    case.rating, case.rated_at, case.rating_channel = str(level), at, str(channel)
    case.rating_reasons, case.rating_note = reasons, cmd.comment
    detail.update(reasons=reasons, comment=cmd.comment)
    if level.bad:
        callback_due, fix_due = env.followup_deadlines(at)
        case.followup_callback_due, case.followup_fix_due = callback_due, fix_due
        detail.update(followup_callback_due=callback_due.isoformat(), followup_fix_due=fix_due.isoformat())
    return detail


def _followup_callback(case: Case, cmd: c.FollowupArgs, actor: Acting, at: dt.datetime,
                       env: CaseEnv) -> dict[str, Any]:
    stage = ratings.followup_stage(case)
    if stage is None:
        raise ActionRefused("该案件没有需要回访的差评")
    if stage != ratings.FollowupStage.CALLBACK:
        raise ActionRefused("该差评已回访")
    case.followup_called_at, case.followup_call_note, case.followup_by_id = at, cmd.note, actor.id
    return {"called_at": at.isoformat()}


def _followup_fix(case: Case, cmd: c.FollowupArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    stage = ratings.followup_stage(case)
    if stage is None:
        raise ActionRefused("该案件没有需要整改的差评")
    if stage == ratings.FollowupStage.CALLBACK:
        raise ActionRefused("请先记录回访情况，再记录整改")
    if stage == ratings.FollowupStage.DONE:
        raise ActionRefused("该差评已整改")
    case.followup_fixed_at, case.followup_fix_note = at, cmd.note
    case.followup_by_id = case.followup_by_id or actor.id
    return {"fixed_at": at.isoformat()}


def _remind(case: Case, cmd: c.RemindArgs, actor: Acting, at: dt.datetime, env: CaseEnv) -> dict[str, Any]:
    case.reminded_at, case.remind_count = at, (case.remind_count or 0) + 1
    return {"assignee_id": str(case.assignee_id) if case.assignee_id else None, "queue": case.assignee_queue,
            "remind_count": case.remind_count}


MUTATORS: dict[Action, Mutator] = {
    Action.AWAIT_MATERIALS: _submit, Action.ACCEPT: _accept, Action.RESOLVE: _resolve, Action.REFUSE: _refuse,
    Action.WITHDRAW: _closed_now, Action.FORWARD: _forward, Action.ACKNOWLEDGE: _acknowledge,
    Action.REASSIGN: _reassign, Action.REPLY: _reply, Action.CLOSE: _close, Action.REOPEN: _reopen,
    Action.NOTE: _nothing, Action.RECEIVE_MAKEUP: _receive_makeup, Action.RATE: _rate,
    Action.FOLLOWUP_CALLBACK: _followup_callback, Action.FOLLOWUP_FIX: _followup_fix, Action.REMIND: _remind,
    # 诉求 (issue 20): app/core/request_actions.py
    Action.REGISTER_REQUEST: req._register, Action.HAND_OVER: req._hand_over,
    Action.GIVE_FEEDBACK: req._give_feedback, Action.CLOSE_REQUEST: req._close_request,
}


def perform(case: Case, action: Action, cmd: c.CaseCommand, *, actor: Acting, at: dt.datetime,
            env: CaseEnv) -> Performed:
    """Check that ``actor`` may take ``action`` on ``case`` now, then change it and append the event.

    Raises :class:`TransitionError` (or its :class:`ActionRefused`) before the case is touched when a rule
    refuses; the caller rolls back its transaction if it already wrote something else."""
    action = Action(action)
    expected = c.ARGS[action]
    if not isinstance(cmd, expected):
        raise TypeError(f"{action} takes {expected.__name__}, not {type(cmd).__name__}")
    check_transition(case.state or None, action, actor.roles, case.kind)
    check_actor(case, action, actor.id, actor.roles, actor.lines)  # before the mutator: acknowledge assigns
    detail = MUTATORS[action](case, cmd, actor, at, env)
    note = cmd.event_note()
    apply_transition(case, action, worker_id=actor.id, roles=actor.roles, at=at, note=note,
                     detail={**detail, **env.audit})
    return Performed(action, detail, note)


def create_case(cmd: c.CreateCaseArgs, *, committee_id: uuid.UUID, actor: Acting, at: dt.datetime,
                env: CaseEnv) -> Case:
    """A new draft from a case.create.v1 command (the desk builds the command first, then calls this)."""
    check_transition(None, Action.CREATE_DRAFT, actor.roles, cmd.kind)
    case = Case(id=cmd.id, committee_id=committee_id, case_number=cmd.case_number, item_code=cmd.item_code,
                kind=cmd.kind, item_name=cmd.item_name, catalog_version=cmd.catalog_version, department=cmd.department,
                mode=cmd.mode or "转办", state="", applicant_id=env.resident_id(cmd.applicant_id), agent=cmd.agent,
                data=dict(cmd.data), materials=dict(cmd.materials), created_by_id=actor.id,
                origin_device_code=cmd.origin_device_code, verification_code=cmd.verification_code,
                created_at=at, updated_at=at, version=0)
    case.events = []
    apply_transition(case, Action.CREATE_DRAFT, worker_id=actor.id, roles=actor.roles, at=at, detail=dict(env.audit))
    return case


def save_draft(case: Case, cmd: c.SaveDraftArgs, *, actor: Acting, at: dt.datetime, env: CaseEnv,
               step: int | None = None) -> None:
    """The wizard's autosave: answers, materials, applicant and agent; no history entry (it would be noise)."""
    check_transition(case.state or None, Action.SAVE_DRAFT, actor.roles, case.kind)
    case.data, case.materials = dict(cmd.data), dict(cmd.materials)
    if cmd.applicant_id is not None:
        case.applicant_id = env.resident_id(cmd.applicant_id)
    case.agent = cmd.agent
    if step is not None:
        case.draft_step = step
    case.version, case.updated_at = (case.version or 0) + 1, at


def create_args(case: Case) -> c.CreateCaseArgs:
    """The case.create.v1 command of a case (the desk sends it; tests compare with what the server built)."""
    return c.CreateCaseArgs(
        id=case.id, case_number=case.case_number, item_code=case.item_code, item_name=case.item_name,
        catalog_version=case.catalog_version, department=case.department, mode=case.mode,
        applicant_id=case.applicant_id, agent=case.agent, data=dict(case.data or {}),
        materials=dict(case.materials or {}), origin_device_code=case.origin_device_code,
        verification_code=case.verification_code, kind=case.kind or CaseKind.SERVICE)
