"""Case workflow service: every state change, its CaseEvent and its outbox row in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.core import machine as cm
from app.desk.auth import WorkerInfo
from app.desk.context import AppContext
from app.desk.outbox import enqueue
from forms.identity import mask_id, mask_phone
from models import Case, CaseCounter, Resident, Worker, utcnow

log = logging.getLogger(__name__)
CST = dt.timezone(dt.timedelta(hours=8))  # China Standard Time has no DST


class CaseError(Exception):
    """A refused case operation; Chinese message, nothing changed."""


@dataclass(frozen=True)
class ItemRef:
    code: str
    name: str
    department: str
    mode: str
    catalog_version: str


@dataclass(frozen=True)
class CaseSummary:
    id: uuid.UUID
    case_number: str
    item_code: str
    item_name: str
    applicant_name: str
    applicant_id_masked: str
    state: str
    state_label: str
    created_at: dt.datetime
    due_at: dt.datetime | None
    deadline_provisional: bool
    assignee_name: str
    assignee_id: uuid.UUID | None = None


@dataclass(frozen=True)
class EventRow:
    seq: int
    at: dt.datetime
    worker_name: str
    action_label: str
    from_label: str
    to_label: str
    note: str


@dataclass(frozen=True)
class CaseDetail:
    summary: CaseSummary
    department: str
    mode: str
    catalog_version: str
    applicant_id: uuid.UUID | None
    applicant_phone_masked: str
    agent: dict | None
    data: dict
    materials: dict
    draft_step: int
    forward_note: str
    reply_result: str | None
    reply_text: str
    result_text: str
    refusal_reason: str
    inform_method: str | None
    verification_code: str
    version: int
    events: list[EventRow] = field(default_factory=list)


def next_case_number(s: Session, committee_code: str, device_code: str, at: dt.datetime) -> str:
    """``<committee>-<device>-<yyyymmdd>-<seq>``: unique across desks without coordination."""
    day = at.astimezone(CST).strftime("%Y%m%d")
    counter = s.get(CaseCounter, (device_code, day))
    if counter is None:
        counter = CaseCounter(device_code=device_code, day=day, last_seq=0)
        s.add(counter)
    counter.last_seq += 1
    return f"{committee_code}-{device_code}-{day}-{counter.last_seq:04d}"


class CaseService:
    def __init__(self, ctx: AppContext, deadline_fn: Callable[[dt.datetime], tuple[dt.datetime, bool]] | None = None):
        self.ctx = ctx
        self._deadline_fn = deadline_fn

    # ----- creation -------------------------------------------------------------------------
    def create_draft(self, actor: WorkerInfo, item: ItemRef, applicant_id: uuid.UUID | None, agent: dict | None = None,
                     data: dict | None = None, materials: dict | None = None, at: dt.datetime | None = None) -> uuid.UUID:
        at = at or utcnow()
        ident = self.ctx.identity()
        cm.check_transition(None, "create_draft", actor.roles)
        with self.ctx.sessions.begin() as s:
            case = Case(committee_id=ident.committee_id, case_number=next_case_number(s, ident.committee_code, ident.device_code, at),
                        item_code=item.code, item_name=item.name, catalog_version=item.catalog_version,
                        department=item.department, mode=item.mode, state="", applicant_id=applicant_id, agent=agent,
                        data=data or {}, materials=materials or {}, created_by_id=actor.id,
                        origin_device_code=ident.device_code, verification_code=secrets.token_hex(4).upper(),
                        created_at=at, updated_at=at, version=0)
            s.add(case)
            cm.apply_transition(case, "create_draft", worker_id=actor.id, roles=actor.roles, at=at)
            s.flush()
            enqueue(s, "case.create.v1", case_snapshot(case), actor.id, at)
            log.info("case created: %s item %s", case.case_number, item.code)
            return case.id

    def save_draft(self, actor: WorkerInfo, case_id: uuid.UUID, data: dict, materials: dict, step: int,
                   applicant_id: uuid.UUID | None = None, agent: dict | None = None) -> None:
        """Autosave of the wizard; recorded as one outbox command per save, no history noise."""
        with self.ctx.sessions.begin() as s:
            case = self._load(s, case_id)
            cm.check_transition(case.state, "save_draft", actor.roles)
            case.data, case.materials, case.draft_step = dict(data), dict(materials), step
            if applicant_id is not None:
                case.applicant_id = applicant_id
            case.agent = agent
            case.version += 1
            case.updated_at = utcnow()
            enqueue(s, "case.save_draft.v1", case_snapshot(case), actor.id)

    # ----- transitions ----------------------------------------------------------------------
    def transition(self, actor: WorkerInfo, case_id: uuid.UUID, action: str, *, note: str = "",
                   mutate: Callable[[Session, Case, dt.datetime], dict] | None = None,
                   at: dt.datetime | None = None, expected_version: int | None = None) -> CaseDetail:
        at = at or utcnow()
        with self.ctx.sessions.begin() as s:
            case = self._load(s, case_id)
            if expected_version is not None and case.version != expected_version:
                raise CaseError("案件已被他人更新，请刷新后重试")
            try:
                cm.check_transition(case.state or None, action, actor.roles)
                cm.check_actor(case, action, actor.id, actor.roles, actor.lines)
                args = mutate(s, case, at) if mutate else {}
                cm.apply_transition(case, action, worker_id=actor.id, roles=actor.roles, at=at, note=note, detail=args)
            except cm.TransitionError as e:
                raise CaseError(str(e)) from None
            enqueue(s, f"case.{action}.v1", {"case_id": str(case.id), "case_number": case.case_number,
                                             "note": note, **args}, actor.id, at)
            log.info("case %s: %s -> %s", case.case_number, action, case.state)
            s.flush()
            return self._detail(s, case)

    def submit(self, actor: WorkerInfo, case_id: uuid.UUID, data: dict, materials: dict, *,
               missing: list[str] | None = None, catalog_version: str | None = None,
               at: dt.datetime | None = None) -> CaseDetail:
        """End of the wizard: accept, or await materials when required ones are missing.

        ``catalog_version``: the version the data was checked against (a draft resumed after a catalog
        update is checked against the new item); stamped on the case and sent with the command."""
        def mutate(_s, case, at):
            case.data, case.materials = dict(data), dict(materials)
            if not missing:
                case.accepted_at = at
            args = {"data": case.data, "materials": case.materials, "missing": list(missing or [])}
            if catalog_version and case.catalog_version != catalog_version:
                args["catalog_version"], args["previous_catalog_version"] = catalog_version, case.catalog_version
                case.catalog_version = catalog_version
            return args
        action = "await_materials" if missing else "accept"
        note = ("缺少材料：" + "、".join(missing)) if missing else ""
        return self.transition(actor, case_id, action, note=note, mutate=mutate, at=at)

    def accept_after_materials(self, actor: WorkerInfo, case_id: uuid.UUID, materials: dict) -> CaseDetail:
        def mutate(_s, case, at):
            case.materials = {**case.materials, **materials}
            case.accepted_at = at
            return {"materials": case.materials}
        return self.transition(actor, case_id, "accept", note="材料已补齐", mutate=mutate)

    def resolve(self, actor: WorkerInfo, case_id: uuid.UUID, result_text: str) -> CaseDetail:
        if not result_text.strip():
            raise CaseError("请填写办理结果")
        def mutate(_s, case, at):
            case.result_text, case.closed_at = result_text.strip(), at
            return {"result_text": case.result_text}
        return self.transition(actor, case_id, "resolve", note=result_text.strip(), mutate=mutate)

    def refuse(self, actor: WorkerInfo, case_id: uuid.UUID, reason: str, redirect_to: str = "") -> CaseDetail:
        if not reason.strip():
            raise CaseError("不予受理必须写明具体原因")
        def mutate(_s, case, at):
            case.refusal_reason, case.redirect_to, case.closed_at = reason.strip(), redirect_to.strip(), at
            return {"reason": case.refusal_reason, "redirect_to": case.redirect_to}
        return self.transition(actor, case_id, "refuse", note=reason.strip(), mutate=mutate)

    def withdraw(self, actor: WorkerInfo, case_id: uuid.UUID, reason: str) -> CaseDetail:
        def mutate(_s, case, at):
            case.closed_at = at
            return {}
        return self.transition(actor, case_id, "withdraw", note=reason.strip() or "居民撤回申请", mutate=mutate)

    def deadline_service(self):
        if getattr(self, "_deadlines", None) is None:
            from app.desk.deadlines import DeadlineService
            self._deadlines = DeadlineService(self.ctx)
        return self._deadlines

    def deadline_for(self, at: dt.datetime) -> tuple[dt.datetime, bool]:
        if self._deadline_fn is None:
            self._deadline_fn = self.deadline_service().due
        return self._deadline_fn(at)

    def forward(self, actor: WorkerInfo, case_id: uuid.UUID, *, assignee_id: uuid.UUID | None, queue: str,
                note: str = "", at: dt.datetime | None = None) -> CaseDetail:
        if assignee_id is None and not queue:
            raise CaseError("请选择接收的条线社工或部门")
        at = at or utcnow()
        due, provisional = self.deadline_for(at)  # outside the write transaction: it reads settings
        def mutate(s, case, when):
            if assignee_id is not None:
                w = s.get(Worker, assignee_id)
                if w is None or not w.active:
                    raise CaseError("所选接收人不存在或已停用")
                cm.check_assignee(case.department, w.roles, w.lines)
            case.assignee_id, case.assignee_queue = assignee_id, queue or case.department
            case.forwarded_by_id, case.forwarded_at, case.forward_note = actor.id, when, note
            case.due_at, case.deadline_provisional, case.acknowledged_at = due, provisional, None
            return {"assignee_id": str(assignee_id) if assignee_id else None, "queue": case.assignee_queue,
                    "due_at": due.isoformat(), "provisional": provisional, "forwarded_at": when.isoformat()}
        return self.transition(actor, case_id, "forward", note=note, mutate=mutate, at=at)

    def acknowledge(self, actor: WorkerInfo, case_id: uuid.UUID) -> CaseDetail:
        def mutate(_s, case, at):
            case.acknowledged_at = at
            if case.assignee_id is None:
                case.assignee_id = actor.id  # taking a case from the department queue
            return {"assignee_id": str(case.assignee_id)}
        return self.transition(actor, case_id, "acknowledge", mutate=mutate)

    def reassign(self, actor: WorkerInfo, case_id: uuid.UUID, assignee_id: uuid.UUID, reason: str) -> CaseDetail:
        def mutate(s, case, at):
            w = s.get(Worker, assignee_id)
            if w is None or not w.active:
                raise CaseError("所选接收人不存在或已停用")
            cm.check_assignee(case.department, w.roles, w.lines)
            old = case.assignee_id
            case.assignee_id, case.acknowledged_at = assignee_id, None
            return {"from_assignee_id": str(old) if old else None, "assignee_id": str(assignee_id)}
        return self.transition(actor, case_id, "reassign", note=reason, mutate=mutate)

    REPLY_RESULTS = {"approved": "同意/已办理", "refused": "不予批准", "need_more": "需居民补充"}

    def reply(self, actor: WorkerInfo, case_id: uuid.UUID, result: str, text: str,
              attachment_paths: list[Path] | None = None) -> CaseDetail:
        if result not in self.REPLY_RESULTS:
            raise CaseError("请选择答复结果")
        if result == "refused" and not text.strip():
            raise CaseError("不予批准必须写明原因")
        attachments = self._store_attachments(case_id, attachment_paths or [])
        def mutate(_s, case, at):
            case.reply_result, case.reply_text, case.replied_at = result, text.strip(), at
            return {"result": result, "text": case.reply_text, "attachments": attachments or []}
        return self.transition(actor, case_id, "reply", note=text.strip(), mutate=mutate)

    def _store_attachments(self, case_id: uuid.UUID, paths: list[Path]) -> list[dict]:
        """Copy reply attachments under the data folder (content-addressed, so a retry never duplicates)."""
        stored = []
        folder = self.ctx.data_dir / "attachments" / str(case_id)
        for p in paths:
            try:
                blob = Path(p).read_bytes()
            except OSError:
                raise CaseError(f"无法读取附件：{Path(p).name}") from None
            if len(blob) > 20 * 1024 * 1024:
                raise CaseError(f"附件过大（超过 20 MB）：{Path(p).name}")
            digest = hashlib.sha256(blob).hexdigest()
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{digest[:16]}{Path(p).suffix.lower()}"
            if not target.exists():
                target.write_bytes(blob)
            stored.append({"name": Path(p).name, "sha256": digest, "file": target.name, "size": len(blob)})
        return stored

    INFORM_METHODS = {"phone": "电话", "sms": "短信", "visit": "上门", "in_person": "居民到窗口领取"}

    def close(self, actor: WorkerInfo, case_id: uuid.UUID, inform_method: str, note: str = "") -> CaseDetail:
        if inform_method not in self.INFORM_METHODS:
            raise CaseError("请选择告知居民的方式")
        def mutate(_s, case, at):
            case.inform_method, case.closed_at = inform_method, at
            return {"inform_method": inform_method}
        return self.transition(actor, case_id, "close", note=note, mutate=mutate)

    def reopen(self, actor: WorkerInfo, case_id: uuid.UUID, reason: str) -> CaseDetail:
        if not reason.strip():
            raise CaseError("重新打开案件必须填写原因")
        def mutate(_s, case, at):
            case.closed_at = None
            return {}
        return self.transition(actor, case_id, "reopen", note=reason, mutate=mutate)

    # ----- queries --------------------------------------------------------------------------
    def get(self, case_id: uuid.UUID) -> CaseDetail:
        with self.ctx.sessions() as s:
            return self._detail(s, self._load(s, case_id))

    def find_by_number(self, case_number: str) -> CaseDetail | None:
        with self.ctx.sessions() as s:
            case = s.scalar(select(Case).where(Case.case_number == case_number))
            return self._detail(s, case) if case else None

    def for_resident(self, resident_id: uuid.UUID) -> list[CaseSummary]:
        with self.ctx.sessions() as s:
            rows = s.scalars(select(Case).where(Case.applicant_id == resident_id).order_by(Case.created_at.desc())).all()
            return [self._summary(s, c) for c in rows]

    def count_by_state(self) -> dict[str, int]:
        with self.ctx.sessions() as s:
            return dict(s.execute(select(Case.state, func.count()).group_by(Case.state)).all())

    # ----- helpers --------------------------------------------------------------------------
    def _load(self, s: Session, case_id: uuid.UUID) -> Case:
        case = s.get(Case, case_id, options=[selectinload(Case.events)])
        if case is None:
            raise CaseError("找不到该案件")
        return case

    def _summary(self, s: Session, c: Case) -> CaseSummary:
        r = s.get(Resident, c.applicant_id) if c.applicant_id else None
        w = s.get(Worker, c.assignee_id) if c.assignee_id else None
        return CaseSummary(c.id, c.case_number, c.item_code, c.item_name, r.name if r else "", mask_id(r.id_number) if r else "",
                           c.state, cm.STATE_LABELS.get(c.state, c.state), c.created_at, c.due_at, c.deadline_provisional,
                           w.display_name if w else (c.assignee_queue or ""), c.assignee_id)

    def _detail(self, s: Session, c: Case) -> CaseDetail:
        r = s.get(Resident, c.applicant_id) if c.applicant_id else None
        names = {w.id: w.display_name for w in s.scalars(select(Worker))}
        events = [EventRow(e.seq, e.at, names.get(e.worker_id, "系统"), cm.TRANSITIONS.get(e.action, cm.TRANSITIONS["note"]).label,
                           cm.STATE_LABELS.get(e.from_state or "", "—"), cm.STATE_LABELS.get(e.to_state, e.to_state), e.note)
                  for e in c.events]
        return CaseDetail(self._summary(s, c), c.department, c.mode, c.catalog_version, c.applicant_id,
                          mask_phone(r.phone) if r else "", c.agent, dict(c.data or {}), dict(c.materials or {}), c.draft_step,
                          c.forward_note, c.reply_result, c.reply_text, c.result_text, c.refusal_reason, c.inform_method,
                          c.verification_code, c.version, events)


def case_snapshot(c: Case) -> dict:
    return {"id": str(c.id), "case_number": c.case_number, "item_code": c.item_code, "item_name": c.item_name,
            "catalog_version": c.catalog_version, "department": c.department, "mode": c.mode, "state": c.state,
            "applicant_id": str(c.applicant_id) if c.applicant_id else None, "agent": c.agent, "data": c.data,
            "materials": c.materials, "created_by_id": str(c.created_by_id), "origin_device_code": c.origin_device_code,
            "verification_code": c.verification_code, "created_at": c.created_at.isoformat()}
