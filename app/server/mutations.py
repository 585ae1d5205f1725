"""Applying one pushed command to the server's data, through the same case state machine the desk uses.

A handler either returns a result dict or raises :class:`Rejected` with a Chinese reason: a business-rule
rejection that is stored and shown on the desk as "set aside". It never commits; app/server/push.py runs
each command in a savepoint of the batch transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.core import machine as cm
from app.desk.cases import CaseService
from app.desk.residents import ResidentError, ResidentInput, _pinyin_key, validate_input
from app.core.workdays import DEFAULT_CLOSE_OF_BUSINESS, WorkCalendar, compute_deadline
from forms.identity import validate_id
from models.server import Case, Committee, Resident, ResidentAlias, ServerDevice, Worker


class Rejected(Exception):
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


# ----- argument access: a malformed command is set aside, never retried forever ------------------------------
def _uuid(args: dict, key: str, *, required: bool = True) -> uuid.UUID | None:
    value = args.get(key)
    if value in (None, ""):
        if required:
            raise Rejected(f"操作内容不完整（缺少 {key}），无法处理")
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Rejected(f"操作内容有误（{key} 不是有效编号）") from None


def _text(args: dict, key: str) -> str:
    value = args.get(key, "")
    return value.strip() if isinstance(value, str) else ""


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


def _resident_for_case(ctx: ApplyContext, rid: uuid.UUID | None) -> uuid.UUID | None:
    if rid is None:
        return None
    r = ctx.s.get(Resident, _canonical_resident_id(ctx.s, rid))
    if r is None or r.committee_id != ctx.committee.id:
        raise Rejected("申请人信息尚未上传到区服务器（居民记录不存在），案件未能建立")
    return r.id


def _resident_upsert(ctx: ApplyContext, args: dict) -> dict:
    rid = _uuid(args, "id")
    try:
        clean, _warning = validate_input(ResidentInput(
            _text(args, "name"), _text(args, "id_number"), _text(args, "phone"), _text(args, "address"),
            _text(args, "household_no"), bool(args.get("local_hukou", True)), _text(args, "notes")),
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
        raise Rejected("该身份证号码已属于另一位居民")
    if r is None:
        r = Resident(id=rid, committee_id=ctx.committee.id, created_at=ctx.at, version=0)
        s.add(r)
    info = validate_id(clean.id_number, ctx.received_at.date())
    r.name, r.name_pinyin, r.id_number = clean.name, _pinyin_key(clean.name), clean.id_number
    r.sex, r.birth_date, r.phone, r.address = info.sex, info.birth_date, clean.phone, clean.address
    r.household_no, r.local_hukou, r.notes = clean.household_no, clean.local_hukou, clean.notes
    r.version, r.updated_at = (r.version or 0) + 1, ctx.at
    ctx.touched_residents[r.id] = r
    return {"resident_id": str(r.id), "merged_from": merged_from}


# ----- cases -------------------------------------------------------------------------------------------------
def _load_case(ctx: ApplyContext, case_id: uuid.UUID | None) -> Case:
    case = ctx.s.get(Case, case_id, options=[selectinload(Case.events)]) if case_id else None
    if case is None:
        raise Rejected("该案件尚未上传到区服务器，操作未生效")
    if case.committee_id != ctx.committee.id:
        raise Rejected("该案件不属于本机所在的居委会，操作未生效")
    return case


def _check(state: str | None, action: str, roles) -> None:
    try:
        cm.check_transition(state, action, roles)
    except cm.TransitionError as e:
        raise Rejected(str(e)) from None


def _case_create(ctx: ApplyContext, args: dict) -> dict:
    s, case_id = ctx.s, _uuid(args, "id")
    number = _text(args, "case_number")
    if not number or not _text(args, "item_code"):
        raise Rejected("操作内容不完整（缺少案件编号或事项），无法建立案件")
    clash = s.execute(select(Case.id).where(or_(Case.id == case_id, Case.case_number == number)).limit(1)).first()
    if clash is not None:
        if clash[0] == case_id:
            raise Rejected("该案件已经上传过，不能重复建立")
        raise Rejected(f"案件编号 {number} 与其他前台的案件重复，请联系区管理员核对本机编号")
    _check(None, "create_draft", ctx.roles)
    case = Case(id=case_id, committee_id=ctx.committee.id, case_number=number, item_code=_text(args, "item_code"),
                item_name=_text(args, "item_name"), catalog_version=_text(args, "catalog_version"),
                department=_text(args, "department"), mode=_text(args, "mode") or "转办", state="",
                applicant_id=_resident_for_case(ctx, _uuid(args, "applicant_id", required=False)),
                agent=args.get("agent"), data=dict(args.get("data") or {}), materials=dict(args.get("materials") or {}),
                created_by_id=ctx.worker.id, origin_device_code=_text(args, "origin_device_code") or ctx.device.code,
                verification_code=_text(args, "verification_code"), created_at=ctx.at, updated_at=ctx.at, version=0)
    s.add(case)
    cm.apply_transition(case, "create_draft", worker_id=ctx.worker.id, roles=ctx.roles, at=ctx.at, detail=ctx.audit())
    ctx.touched_cases[case.id] = case  # written when the savepoint is released: a clash surfaces there
    return {"case_id": str(case.id), "state": case.state, "version": case.version}


def _case_save_draft(ctx: ApplyContext, args: dict) -> dict:
    case = _load_case(ctx, _uuid(args, "id"))
    _check(case.state or None, "save_draft", ctx.roles)
    case.data, case.materials = dict(args.get("data") or {}), dict(args.get("materials") or {})
    applicant = _uuid(args, "applicant_id", required=False)
    if applicant is not None:
        case.applicant_id = _resident_for_case(ctx, applicant)
    case.agent = args.get("agent")
    case.version, case.updated_at = case.version + 1, ctx.at
    ctx.touched_cases[case.id] = case
    return {"case_id": str(case.id), "state": case.state, "version": case.version}


def _committee_worker(ctx: ApplyContext, worker_id: uuid.UUID, what: str) -> Worker:
    w = ctx.s.get(Worker, worker_id)
    if w is None or not w.active or w.committee_id != ctx.committee.id:
        raise Rejected(f"所选{what}不存在、已停用或不属于本居委会")
    return w


def _m_materials(ctx, case, args):
    if args.get("catalog_version"):  # checked against a newer catalog than the draft was started with
        case.catalog_version = str(args["catalog_version"])
    if "data" in args:
        case.data = dict(args["data"] or {})
    if "materials" in args:
        case.materials = dict(args["materials"] or {})
    return {k: args[k] for k in ("data", "materials", "missing") if k in args}


def _m_accept(ctx, case, args):
    detail = _m_materials(ctx, case, args)
    case.accepted_at = ctx.at
    return detail


def _m_resolve(ctx, case, args):
    text = _text(args, "result_text") or _text(args, "note")
    if not text:
        raise Rejected("请填写办理结果")
    case.result_text, case.closed_at = text, ctx.at
    return {"result_text": text}


def _m_refuse(ctx, case, args):
    reason = _text(args, "reason") or _text(args, "note")
    if not reason:
        raise Rejected("不予受理必须写明具体原因")
    case.refusal_reason, case.redirect_to, case.closed_at = reason, _text(args, "redirect_to"), ctx.at
    return {"reason": reason, "redirect_to": case.redirect_to}


def _m_closed_now(ctx, case, args):
    case.closed_at = ctx.at
    return {}


def _deadline(ctx: ApplyContext, at: dt.datetime) -> tuple[dt.datetime, bool]:
    try:
        hh, mm = (ctx.committee.close_of_business or "17:30").split(":")
        cob = dt.time(int(hh), int(mm))
    except ValueError:
        cob = DEFAULT_CLOSE_OF_BUSINESS
    d = compute_deadline(at, ctx.calendar(), close_of_business=cob)
    return d.due, d.provisional


def _m_forward(ctx, case, args):
    assignee = _uuid(args, "assignee_id", required=False)
    queue = _text(args, "queue")
    if assignee is None and not queue:
        raise Rejected("请选择接收的条线社工或部门")
    if assignee is not None:
        w = _committee_worker(ctx, assignee, "接收人")
        cm.check_assignee(case.department, w.roles, w.lines)
    # The server's own calendar and the corrected forward time decide the deadline; the desk adopts it.
    due, provisional = _deadline(ctx, ctx.at)
    case.assignee_id, case.assignee_queue = assignee, queue or case.department
    case.forwarded_by_id, case.forwarded_at, case.forward_note = ctx.worker.id, ctx.at, _text(args, "note")
    case.due_at, case.deadline_provisional, case.acknowledged_at = due, provisional, None
    return {"assignee_id": str(assignee) if assignee else None, "queue": case.assignee_queue,
            "due_at": due.isoformat(), "provisional": provisional, "forwarded_at": ctx.at.isoformat(),
            "desk_due_at": args.get("due_at")}


def _m_acknowledge(ctx, case, args):
    case.acknowledged_at = ctx.at
    if case.assignee_id is None:
        case.assignee_id = ctx.worker.id  # taken from the department queue
    return {"assignee_id": str(case.assignee_id)}


def _m_reassign(ctx, case, args):
    assignee = _committee_worker(ctx, _uuid(args, "assignee_id"), "接收人")
    cm.check_assignee(case.department, assignee.roles, assignee.lines)
    old = case.assignee_id
    case.assignee_id, case.acknowledged_at = assignee.id, None
    return {"from_assignee_id": str(old) if old else None, "assignee_id": str(assignee.id)}


def _m_reply(ctx, case, args):
    result, text = _text(args, "result"), _text(args, "text") or _text(args, "note")
    if result not in CaseService.REPLY_RESULTS:
        raise Rejected("请选择答复结果")
    if result == "refused" and not text:
        raise Rejected("不予批准必须写明原因")
    case.reply_result, case.reply_text, case.replied_at = result, text, ctx.at
    # Attachment files stay on the desk that received them; only their description travels.
    return {"result": result, "text": text, "attachments": list(args.get("attachments") or [])}


def _m_close(ctx, case, args):
    method = _text(args, "inform_method")
    if method not in CaseService.INFORM_METHODS:
        raise Rejected("请选择告知居民的方式")
    case.inform_method, case.closed_at = method, ctx.at
    return {"inform_method": method}


def _m_reopen(ctx, case, args):
    case.closed_at = None
    return {}


def _m_nothing(ctx, case, args):
    return {}


MUTATORS: dict[str, Callable[[ApplyContext, Case, dict], dict]] = {
    "await_materials": _m_materials, "accept": _m_accept, "resolve": _m_resolve, "refuse": _m_refuse,
    "withdraw": _m_closed_now, "forward": _m_forward, "acknowledge": _m_acknowledge, "reassign": _m_reassign,
    "reply": _m_reply, "close": _m_close, "reopen": _m_reopen, "note": _m_nothing,
}


def _case_transition(ctx: ApplyContext, action: str, args: dict) -> dict:
    case = _load_case(ctx, _uuid(args, "case_id"))
    label = cm.TRANSITIONS[action].label
    note = _text(args, "note")
    keep = note or _text(args, "text") or _text(args, "reason") or _text(args, "result_text")
    try:
        cm.check_transition(case.state or None, action, ctx.roles)
        cm.check_actor(case, action, ctx.worker.id, ctx.roles, ctx.worker.lines)
        detail = MUTATORS[action](ctx, case, args)
        cm.apply_transition(case, action, worker_id=ctx.worker.id, roles=ctx.roles, at=ctx.at, note=note,
                            detail={**detail, **ctx.audit()})
    except (cm.TransitionError, Rejected) as e:
        raise Rejected(str(e), case_id=case.id, keep_text=keep, label=label) from None
    ctx.touched_cases[case.id] = case
    result = {"case_id": str(case.id), "state": case.state, "version": case.version}
    if action == "forward":
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
    cm.apply_transition(case, "note", worker_id=ctx.worker.id, roles=None, at=ctx.at, note=text,
                        detail={"set_aside": True, **ctx.audit()})
    ctx.touched_cases[case.id] = case
    return True


def apply_mutation(ctx: ApplyContext, name: str, args: dict) -> dict:
    """Apply one command; raises Rejected for anything the business rules refuse."""
    if not isinstance(args, dict):
        raise Rejected("操作内容格式有误，无法处理")
    if name == "resident.upsert.v1":
        return _resident_upsert(ctx, args)
    if name == "case.create.v1":
        return _case_create(ctx, args)
    if name == "case.save_draft.v1":
        return _case_save_draft(ctx, args)
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "case" and parts[2] == "v1" and parts[1] in MUTATORS:
        return _case_transition(ctx, parts[1], args)
    raise Rejected(f"区服务器不认识该操作（{name}），请升级本机程序后再试")
