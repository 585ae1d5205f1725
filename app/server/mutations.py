"""Applying one pushed command to the server's data, through the same core case actions the desk uses.

A handler either returns a result dict or raises :class:`Rejected` with a Chinese reason: a business-rule
rejection that is stored and shown on the desk as "set aside". It never commits; app/server/push.py runs
each command in a savepoint of the batch transaction. Every rule lives in app/core (actions, machine,
residents); this module only resolves what a command names on the server and wraps refusals.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.core import actions, commands
from app.core import machine as cm
from app.core.errors import UserError
from app.core.residents import ID_NUMBER_TAKEN, ResidentError, ResidentInput, apply_resident, validate_input
from app.core.vocabulary import Action, Mutation
from app.core.workdays import DEFAULT_CLOSE_OF_BUSINESS, WorkCalendar, compute_deadline
from models.server import Case, Committee, Resident, ResidentAlias, ServerDevice, Worker


class Rejected(UserError):
    """A business-rule rejection. ``keep_text`` is what the worker wrote, saved on the case as a note."""

    def __init__(self, reason: str, *, case_id: uuid.UUID | None = None, keep_text: str = "", label: str = ""):
        super().__init__(reason)
        self.reason, self.case_id, self.keep_text, self.label = reason, case_id, keep_text, label


@dataclass
class ApplyContext:
    s: Session
    device: ServerDevice
    committee: Committee
    worker: Worker
    at: dt.datetime  # the desk's time corrected by the measured clock offset; never after received_at
    client_time: dt.datetime
    received_at: dt.datetime
    calendar: Callable[[], WorkCalendar]
    touched_cases: dict[uuid.UUID, Case] = field(default_factory=dict)
    touched_residents: dict[uuid.UUID, Resident] = field(default_factory=dict)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.worker.roles or ())

    def audit(self) -> dict:
        """Both clocks are kept (DESIGN.md: clock skew); order comes from the server, never from client time."""
        return {"client_time": self.client_time.isoformat(), "received_at": self.received_at.isoformat(),
                "device": self.device.code}


def acting_worker(s: Session, device: ServerDevice, worker_id: uuid.UUID | None) -> Worker:
    """Every command is checked against the device's committee and the acting worker's account."""
    w = s.get(Worker, worker_id) if worker_id else None
    if w is None:
        raise Rejected("操作人账号未在区服务器登记，该操作未生效。请使用区里下发的账号登录后重新办理。")
    if w.committee_id != device.committee_id:
        raise Rejected("操作人不属于本机所在的居委会，该操作未生效")
    if not w.active:
        raise Rejected("操作人账号已被停用，该操作未生效")
    return w


# ----- residents ---------------------------------------------------------------------------------------------
def _canonical_resident_id(s: Session, rid: uuid.UUID) -> uuid.UUID:
    alias = s.get(ResidentAlias, rid)
    return alias.resident_id if alias else rid


def _resident_upsert(ctx: ApplyContext, cmd: commands.ResidentArgs) -> dict:
    rid = cmd.id
    try:
        clean, _warning = validate_input(ResidentInput(
            cmd.name, cmd.id_number, cmd.phone, cmd.address, cmd.household_no, cmd.local_hukou, cmd.notes),
            today=ctx.received_at.date())
    except ResidentError as e:
        raise Rejected(f"居民信息有误：{e}") from None
    s, merged_from = ctx.s, None
    r = s.get(Resident, _canonical_resident_id(s, rid))
    if r is None:
        # The same person registered at two desks while offline: keep the first record, remember the alias.
        r = s.scalar(select(Resident).where(Resident.committee_id == ctx.committee.id,
                                            Resident.id_number == clean.id_number))
        if r is not None:
            s.add(ResidentAlias(alias_id=rid, resident_id=r.id))
            merged_from = str(rid)
    elif r.committee_id != ctx.committee.id:
        raise Rejected("该居民不属于本居委会，不能修改")
    elif r.id_number != clean.id_number and s.scalar(select(Resident.id).where(
            Resident.committee_id == ctx.committee.id, Resident.id_number == clean.id_number)):
        raise Rejected(ID_NUMBER_TAKEN)
    if r is None:
        r = Resident(id=rid, committee_id=ctx.committee.id, created_at=ctx.at, version=0)
        s.add(r)
    apply_resident(r, clean, at=ctx.at, today=ctx.received_at.date())
    ctx.touched_residents[r.id] = r
    return {"resident_id": str(r.id), "merged_from": merged_from}


# ----- cases -------------------------------------------------------------------------------------------------
class ServerEnv:
    """The server's side of a case action: colleagues and residents of the device's committee only, and the
    server's own calendar and the committee's close of business for deadlines."""

    def __init__(self, ctx: ApplyContext):
        self.ctx, self.audit = ctx, ctx.audit()

    def colleague(self, worker_id: uuid.UUID) -> Worker | None:
        w = self.ctx.s.get(Worker, worker_id)
        return w if w is not None and w.active and w.committee_id == self.ctx.committee.id else None

    def resident_id(self, resident_id: uuid.UUID | None) -> uuid.UUID | None:
        if resident_id is None:
            return None
        r = self.ctx.s.get(Resident, _canonical_resident_id(self.ctx.s, resident_id))
        if r is None or r.committee_id != self.ctx.committee.id:
            raise Rejected("申请人信息尚未上传到区服务器（居民记录不存在），案件未能建立")
        return r.id

    def deadline(self, at: dt.datetime) -> tuple[dt.datetime, bool]:
        """The server's own calendar and the corrected forward time decide the deadline; the desk adopts it."""
        try:
            hh, mm = (self.ctx.committee.close_of_business or "17:30").split(":")
            cob = dt.time(int(hh), int(mm))
        except ValueError:
            cob = DEFAULT_CLOSE_OF_BUSINESS
        d = compute_deadline(at, self.ctx.calendar(), close_of_business=cob)
        return d.due, d.provisional


def _actor(ctx: ApplyContext) -> actions.Actor:
    return actions.Actor(id=ctx.worker.id, roles=ctx.roles, lines=tuple(ctx.worker.lines or ()))


def _load_case(ctx: ApplyContext, case_id: uuid.UUID | None) -> Case:
    case = ctx.s.get(Case, case_id, options=[selectinload(Case.events)]) if case_id else None
    if case is None:
        raise Rejected("该案件尚未上传到区服务器，操作未生效")
    if case.committee_id != ctx.committee.id:
        raise Rejected("该案件不属于本机所在的居委会，操作未生效")
    return case


def _refused(e: cm.TransitionError) -> Rejected:
    return Rejected(str(e))


def _case_create(ctx: ApplyContext, cmd: commands.CreateCaseArgs) -> dict:
    clash = ctx.s.execute(select(Case.id).where(or_(Case.id == cmd.id, Case.case_number == cmd.case_number))
                          .limit(1)).first()
    if clash is not None:
        if clash[0] == cmd.id:
            raise Rejected("该案件已经上传过，不能重复建立")
        raise Rejected(f"案件编号 {cmd.case_number} 与其他前台的案件重复，请联系区管理员核对本机编号")
    if not cmd.origin_device_code:
        cmd = cmd.model_copy(update={"origin_device_code": ctx.device.code})
    try:
        case = actions.create_case(cmd, committee_id=ctx.committee.id, actor=_actor(ctx), at=ctx.at, env=ServerEnv(ctx))
    except cm.TransitionError as e:
        raise _refused(e) from None
    ctx.s.add(case)
    ctx.touched_cases[case.id] = case  # written when the savepoint is released: a clash surfaces there
    return {"case_id": str(case.id), "state": case.state, "version": case.version}


def _case_save_draft(ctx: ApplyContext, cmd: commands.SaveDraftArgs) -> dict:
    case = _load_case(ctx, cmd.id)
    try:
        actions.save_draft(case, cmd, actor=_actor(ctx), at=ctx.at, env=ServerEnv(ctx))
    except cm.TransitionError as e:
        raise _refused(e) from None
    ctx.touched_cases[case.id] = case
    return {"case_id": str(case.id), "state": case.state, "version": case.version}


def _keep_text(args: dict) -> str:
    """What the worker wrote, from the raw command (it may not parse), to keep as a note if it is set aside."""
    for key in ("note", "text", "reason", "result_text"):
        value = args.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _case_transition(ctx: ApplyContext, action: Action, raw: dict) -> dict:
    cmd = commands.parse_args(commands.ARGS[action], raw)
    case = _load_case(ctx, cmd.case_id)
    try:
        actions.perform(case, action, cmd, actor=_actor(ctx), at=ctx.at, env=ServerEnv(ctx))
    except (cm.TransitionError, Rejected) as e:
        raise Rejected(str(e), case_id=case.id, keep_text=_keep_text(raw), label=action.label) from None
    ctx.touched_cases[case.id] = case
    result = {"case_id": str(case.id), "state": case.state, "version": case.version}
    if action == Action.FORWARD:
        result["due_at"] = case.due_at.isoformat() if case.due_at else None
    return result


def keep_text_as_note(ctx: ApplyContext, rejection: Rejected) -> bool:
    """What a set-aside command's worker wrote is never lost: it becomes a note on the case (any state)."""
    if not rejection.keep_text or rejection.case_id is None:
        return False
    case = ctx.s.get(Case, rejection.case_id, options=[selectinload(Case.events)])
    if case is None:
        return False
    text = f"{rejection.label}未生效（{rejection.reason}），原填写内容：{rejection.keep_text}"
    cm.apply_transition(case, Action.NOTE, worker_id=ctx.worker.id, roles=None, at=ctx.at, note=text,
                        detail={"set_aside": True, **ctx.audit()})
    ctx.touched_cases[case.id] = case
    return True


def apply_mutation(ctx: ApplyContext, name: str, args: Any) -> dict:
    """Apply one command; raises Rejected for anything the business rules refuse."""
    model = commands.command_args(name)
    if model is None:
        raise Rejected(f"区服务器不认识该操作（{name}），请升级本机程序后再试")
    try:
        if name == Mutation.RESIDENT_UPSERT:
            return _resident_upsert(ctx, commands.parse_args(model, args))
        if name == Mutation.CASE_CREATE:
            return _case_create(ctx, commands.parse_args(model, args))
        if name == Mutation.CASE_SAVE_DRAFT:
            return _case_save_draft(ctx, commands.parse_args(model, args))
        action = Mutation(name).action
        assert action is not None  # command_args knows only these names
        return _case_transition(ctx, action, args)
    except commands.BadCommand as e:
        raise Rejected(str(e)) from None
