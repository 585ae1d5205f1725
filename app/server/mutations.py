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

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from app.core import actions, commands, limits
from app.core import machine as cm
from app.core.blocks import SETTINGS_KEY as BLOCKS_KEY
from app.core.blocks import BlockError, blocks_setting, parse_blocks
from app.core.errors import UserError
from app.core.ratings import followup_days, followup_deadlines
from app.core.residence import committee_region
from app.core.residents import ID_NUMBER_TAKEN, ResidentError, apply_resident, validate_input
from app.core.vocabulary import Action, Mutation
from app.core.wire import ResultStatus
from app.core.workdays import WorkCalendar, compute_deadline, parse_close_of_business
from app.server.batch import Known
from app.server.changes import ChangeWriter
from models import Attachment
from models.server import Case, Committee, MutationRecord, Resident, ResidentAlias, ServerDevice, Worker

# A command whose mutation id another device pushed first (issue 14, finding 3): app/server/push.py.
REPLAY_REASON = "该操作编号已由另一台前台机上传过，不能由本机重复提交，操作未生效"


class Rejected(UserError):
    """A business-rule rejection. ``keep_text`` is what the worker wrote, saved on the case as a note."""

    def __init__(self, reason: str, *, case_id: uuid.UUID | None = None, keep_text: str = "", label: str = "",
                 resident_id: uuid.UUID | None = None):
        super().__init__(reason)
        self.reason, self.case_id, self.keep_text, self.label = reason, case_id, keep_text, label
        self.resident_id = resident_id

    def result(self) -> dict:
        """The stored result of the set-aside command: what it was about (later commands that depend on it
        read the reason back, see :func:`_earlier_refusal`)."""
        named = {"case_id": self.case_id, "resident_id": self.resident_id}
        return {key: str(value) for key, value in named.items() if value}


@dataclass(frozen=True, kw_only=True)
class ApplyContext:
    s: Session
    device: ServerDevice
    committee: Committee
    worker: Worker
    at: dt.datetime  # the desk's time corrected by its clock offset (command_dating); never after received_at
    client_time: dt.datetime
    received_at: dt.datetime
    calendar: Callable[[], WorkCalendar]
    touched_cases: dict[uuid.UUID, Case] = field(default_factory=dict)
    touched_residents: dict[uuid.UUID, Resident] = field(default_factory=dict)
    touched_attachments: dict[uuid.UUID, Attachment] = field(default_factory=dict)  # issue 15: app/server/attachments
    clock_offset_s: float = 0.0  # what corrected client_time into ``at`` (app/server/push.py command_dating)
    clock_offset_from: str = "batch"  # "desk": known when the action was taken; "batch": measured at the push
    batch_records: list[dict] = field(default_factory=list)  # this batch's outcomes so far (not yet stored)
    mutation_id: uuid.UUID | None = None  # the command being applied: every event it makes names it (issue 12)
    known: Known | None = None  # what the batch names, loaded up front (app/server/batch.py); None: ask the database

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.worker.roles or ())

    def audit(self) -> dict:
        """Both clocks are kept (DESIGN.md: clock skew); order comes from the server, never from client time."""
        audit = {"client_time": self.client_time.isoformat(), "received_at": self.received_at.isoformat(),
                 "clock_offset_s": self.clock_offset_s, "clock_offset_from": self.clock_offset_from,
                 "device": self.device.code}
        if self.mutation_id is not None:  # what a desk's next command on the case comes after
            audit[commands.MUTATION_ID] = str(self.mutation_id)
        return audit


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


def find_resident(ctx: ApplyContext, rid: uuid.UUID) -> Resident | None:
    """The resident ``rid`` names (or was merged into), wherever it is."""
    if ctx.known is not None:
        return ctx.known.resident(ctx.s, rid)
    return ctx.s.get(Resident, _canonical_resident_id(ctx.s, rid))


RESIDENT_REFUSED = "居民信息有误："


def _resident_command(ctx: ApplyContext, raw: Any) -> dict:
    """resident.upsert.v1; a refusal names the resident, so the cases that name it can say why it is missing."""
    rid = _raw_id(raw, "id")
    try:
        return _resident_upsert(ctx, commands.parse_args(commands.ResidentArgs, raw))
    except commands.BadCommand as e:
        raise Rejected(f"{RESIDENT_REFUSED}{e.problem}", resident_id=rid) from None
    except Rejected as r:
        raise Rejected(r.reason, resident_id=rid) from None


def _raw_id(raw: Any, key: str) -> uuid.UUID | None:
    """An id from a command's raw args (which may not parse as a whole)."""
    try:
        return uuid.UUID(str(raw[key])) if isinstance(raw, dict) and raw.get(key) else None
    except ValueError:
        return None


def _earlier_refusal(ctx: ApplyContext, name: Mutation, key: str, entity_id: uuid.UUID) -> str | None:
    """Why this desk's command that would have created ``entity_id`` was set aside (this batch first, then the
    stored records), or None. Read only on the way to a rejection."""
    wanted = str(entity_id)
    for rec in reversed(ctx.batch_records):
        if rec["name"] == name and rec["status"] == ResultStatus.SET_ASIDE and (rec["result"] or {}).get(key) == wanted:
            return rec["reason"]
    rows = ctx.s.execute(select(MutationRecord.reason, MutationRecord.result).where(
        MutationRecord.device_id == ctx.device.id, MutationRecord.name == name,
        MutationRecord.status == ResultStatus.SET_ASIDE).order_by(MutationRecord.mid.desc()))
    return next((reason for reason, result in rows if (result or {}).get(key) == wanted), None)


def _resident_upsert(ctx: ApplyContext, cmd: commands.ResidentArgs) -> dict:
    rid = cmd.id
    try:
        clean, _warning = validate_input(cmd.resident_input(), today=ctx.received_at.date())
    except ResidentError as e:
        raise Rejected(f"居民信息有误：{e}") from None
    s, merged_from = ctx.s, None
    r = find_resident(ctx, rid)
    if r is None:
        # The same person registered at two desks while offline: keep the first record, remember the alias.
        r = s.scalar(select(Resident).where(Resident.committee_id == ctx.committee.id,
                                            Resident.id_number == clean.id_number))
        if r is not None:
            s.add(ResidentAlias(alias_id=rid, resident_id=r.id))
            merged_from = str(rid)
            if ctx.known is not None:
                ctx.known.add_alias(rid, r.id)
    elif r.committee_id != ctx.committee.id:
        raise Rejected("该居民不属于本居委会，不能修改")
    elif r.id_number != clean.id_number and s.scalar(select(Resident.id).where(
            Resident.committee_id == ctx.committee.id, Resident.id_number == clean.id_number)):
        raise Rejected(ID_NUMBER_TAKEN)
    created = r is None
    if r is None:
        r = Resident(id=rid, committee_id=ctx.committee.id, created_at=ctx.at, version=0)
        s.add(r)
        if ctx.known is not None:
            ctx.known.add_resident(r)
    apply_resident(r, clean, at=ctx.at, today=ctx.received_at.date(), home=committee_region(ctx.committee.settings))
    if ctx.known is not None and created:
        # Written now: the cases naming it may be flushed with it, and the unit of work does not order a case
        # after its applicant (no relationship between them), so the case's foreign key would fail.
        s.flush()
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
        r = find_resident(self.ctx, resident_id)
        if r is None or r.committee_id != self.ctx.committee.id:
            why = _earlier_refusal(self.ctx, Mutation.RESIDENT_UPSERT, "resident_id", resident_id)
            if why:
                raise Rejected(f"申请人信息未能上传：{why.removeprefix(RESIDENT_REFUSED)}，案件未能建立。"
                               "请在居民信息中改正后重新办理")
            raise Rejected("申请人信息尚未上传到区服务器（居民记录不存在），案件未能建立")
        return r.id

    def _close_of_business(self) -> dt.time:
        return parse_close_of_business(self.ctx.committee.close_of_business)

    def deadline(self, at: dt.datetime) -> tuple[dt.datetime, bool]:
        """The server's own calendar and the corrected forward time decide the deadline; the desk adopts it."""
        d = compute_deadline(at, self.ctx.calendar(), close_of_business=self._close_of_business())
        return d.due, d.provisional

    def followup_deadlines(self, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """A bad rating's follow-up deadlines: the server's calendar and the district's settings decide."""
        return followup_deadlines(at, self.ctx.calendar(), followup_days(self.ctx.committee.settings),
                                  self._close_of_business())


def _actor(ctx: ApplyContext) -> actions.Actor:
    return actions.Actor(id=ctx.worker.id, roles=ctx.roles, lines=tuple(ctx.worker.lines or ()))


def _load_case(ctx: ApplyContext, case_id: uuid.UUID | None) -> Case:
    if case_id is None:
        case = None
    elif ctx.known is not None:
        case = ctx.known.case(ctx.s, case_id)
    else:
        case = ctx.s.get(Case, case_id, options=[selectinload(Case.events)])
    if case is None:
        why = _earlier_refusal(ctx, Mutation.CASE_CREATE, "case_id", case_id) if case_id else None
        if why:
            raise Rejected(f"该案件未能上传到区服务器，操作未生效。原因：{why}")
        raise Rejected("该案件尚未上传到区服务器，操作未生效")
    if case.committee_id != ctx.committee.id:
        raise Rejected("该案件不属于本机所在的居委会，操作未生效")
    return case


def _refused(e: cm.TransitionError) -> Rejected:
    return Rejected(str(e))


def _number_problem(ctx: ApplyContext, number: str) -> str | None:
    """Why a device may not create a case under ``number`` (issue 14, finding 2), or None. Numbers are
    ``<committee>-<device>-<yyyymmdd>-<seq>`` (app/desk/cases.py): the committee part must be the device's own;
    the device part its own code, or one no other active desk of the committee holds — the desk's own former
    code after it was enrolled again, or the code it had before it was first enrolled."""
    own = f"{ctx.committee.code}-{ctx.device.code}-"
    rest = number.removeprefix(f"{ctx.committee.code}-")
    if rest == number:
        return f"案件编号 {number} 不是本机的编号（本机的编号以 {own} 开头），案件未能建立"
    device, _, tail = rest.partition("-")
    if not (device and tail):
        return f"案件编号 {number} 格式不正确（应为 {own}年月日-序号），案件未能建立"
    if device == ctx.device.code:
        return None
    holder = ctx.s.scalar(select(ServerDevice.id).where(
        ServerDevice.committee_id == ctx.committee.id, ServerDevice.code == device,
        ServerDevice.revoked_at.is_(None), ServerDevice.id != ctx.device.id).limit(1))
    if holder is not None:
        return (f"案件编号 {number} 是本居委会另一台前台机（{device}）的编号，不是本机的编号"
                f"（本机的编号以 {own} 开头），案件未能建立。请联系区管理员核对本机编号")
    return None


def _case_create(ctx: ApplyContext, cmd: commands.CreateCaseArgs) -> dict:
    problem = _number_problem(ctx, cmd.case_number)
    if problem:
        raise Rejected(problem, case_id=cmd.id)
    if ctx.known is not None:
        same_id = ctx.known.case(ctx.s, cmd.id) is not None
        same_number = not same_id and ctx.known.number_taken(ctx.s, ctx.committee.id, cmd.case_number)
    else:
        clash = ctx.s.execute(select(Case.id).where(or_(
            Case.id == cmd.id, and_(Case.committee_id == ctx.committee.id, Case.case_number == cmd.case_number)))
            .limit(1)).first()
        same_id, same_number = clash is not None and clash[0] == cmd.id, clash is not None and clash[0] != cmd.id
    if same_id or same_number:
        if same_id:
            raise Rejected("该案件已经上传过，不能重复建立")
        raise Rejected(f"案件编号 {cmd.case_number} 与其他前台的案件重复，请联系区管理员核对本机编号")
    if not cmd.origin_device_code:
        cmd = cmd.model_copy(update={"origin_device_code": ctx.device.code})
    try:
        case = actions.create_case(cmd, committee_id=ctx.committee.id, actor=_actor(ctx), at=ctx.at, env=ServerEnv(ctx))
    except cm.TransitionError as e:
        raise _refused(e) from None
    except Rejected as r:  # the applicant is missing: the case's later commands name this reason
        raise Rejected(r.reason, case_id=cmd.id) from None
    if ctx.known is not None:
        ctx.known.add_case(case, new=True)  # written in bulk (app/server/batch.py write_new_cases)
    else:
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


def _case_transition(ctx: ApplyContext, action: Action, raw: dict) -> dict:
    try:
        cmd = commands.parse_args(commands.ARGS[action], raw)
    except commands.BadCommand as e:  # e.g. a text the database cannot store: kept, cleaned, as a note
        raise Rejected(str(e), case_id=_raw_id(raw, "case_id"), keep_text=commands.written_text(raw),
                       label=action.label) from None
    case = _load_case(ctx, cmd.case_id)
    try:
        actions.perform(case, action, cmd, actor=_actor(ctx), at=ctx.at, env=ServerEnv(ctx))
    except (cm.TransitionError, Rejected) as e:
        raise Rejected(str(e), case_id=case.id, keep_text=commands.written_text(raw), label=action.label) from None
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
    if case is None or case.committee_id != ctx.committee.id:
        return False
    # Cleaned, so keeping it cannot fail: the text was set aside, perhaps for holding what cannot be stored.
    kept = limits.clean_text(rejection.keep_text, limits.MAX_TEXT)
    text = limits.clean_text(f"{rejection.label}未生效（{rejection.reason}），原填写内容：", limits.MAX_TEXT) + kept
    cm.apply_transition(case, Action.NOTE, worker_id=ctx.worker.id, roles=None, at=ctx.at, note=text,
                        detail={"set_aside": True, **ctx.audit()})
    ctx.touched_cases[case.id] = case
    return True


def _committee_blocks(ctx: ApplyContext, raw: Any) -> dict:
    """committee.blocks.v1 (issue 20): a 站长/admin replaced the committee's 块区 at a desk; checked again here
    (app/core/blocks.py, 块长 among the committee's active workers), kept in its settings, sent to every desk."""
    try:
        cmd = commands.parse_args(commands.BlocksArgs, raw)
    except commands.BadCommand as e:
        raise Rejected(str(e)) from None
    if not set(ctx.roles) & cm.MANAGER_ROLES:
        raise Rejected("只有站长或管理员可以设置块区，该操作未生效")
    com = ctx.committee
    active = ctx.s.scalars(select(Worker.id).where(Worker.committee_id == com.id, Worker.active.is_(True)))
    try:
        checked = parse_blocks(cmd.blocks, workers=list(active))
    except BlockError as e:
        raise Rejected(f"块区设置有误：{e}") from None
    com.settings = {**(com.settings or {}), BLOCKS_KEY: blocks_setting(checked)}
    com.version = (com.version or 0) + 1
    com.updated_at = ctx.at
    ChangeWriter(ctx.s, ctx.received_at).committee(com)  # the push holds the committee's stream already
    return {"committee_id": str(com.id), "blocks": len(checked)}


def apply_mutation(ctx: ApplyContext, name: str, args: Any) -> dict:
    """Apply one command; raises Rejected for anything the business rules refuse."""
    model = commands.command_args(name)
    if model is None:
        raise Rejected(f"区服务器不认识该操作（{limits.clean_text(name, 64)}），请升级本机程序后再试")
    if name == Mutation.RESIDENT_UPSERT:
        return _resident_command(ctx, args)
    if name == Mutation.COMMITTEE_BLOCKS:
        return _committee_blocks(ctx, args)
    if name in (Mutation.ATTACHMENT_ADD, Mutation.ATTACHMENT_REMOVE):
        from app.server import attachments  # it builds on this module's helpers

        return attachments.apply(ctx, name, args)
    try:
        if name == Mutation.CASE_CREATE:
            return _case_create(ctx, commands.parse_args(model, args))
        if name == Mutation.CASE_SAVE_DRAFT:
            return _case_save_draft(ctx, commands.parse_args(model, args))
        action = Mutation(name).action
        assert action is not None  # command_args knows only these names
        return _case_transition(ctx, action, args)
    except commands.BadCommand as e:
        raise Rejected(str(e)) from None


def named_entities(name: str, args: Any) -> dict:
    """The case or resident a command names, read from its raw args (which may not parse), so that the answer
    for a command set aside for whatever reason carries the server's state of it (issue 12, finding 4)."""
    if name == Mutation.RESIDENT_UPSERT:
        rid = _raw_id(args, "id")
        return {"resident_id": str(rid)} if rid else {}
    if name == Mutation.ATTACHMENT_ADD:
        return {key: str(value) for key in ("case_id", "resident_id") if (value := _raw_id(args, key))}
    by_id = name in (Mutation.CASE_CREATE, Mutation.CASE_SAVE_DRAFT)
    cid = _raw_id(args, "id" if by_id else "case_id")
    return {"case_id": str(cid)} if cid else {}


def given_up(name: str, args: Any, reason: str) -> Rejected:
    """A held command given up (the command it was made after never came, app/server/held.py): refused like any
    other, what the worker wrote kept as a note."""
    try:
        action = Mutation(name).action
    except ValueError:
        action = None
    return Rejected(reason, case_id=_raw_id(args, "case_id"), keep_text=commands.written_text(args),
                    label=action.label if action else "")
