"""Case workflow service: every state change, its CaseEvent and its outbox row in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.core import actions, commands
from app.core import machine as cm
from app.core.changes import NO_CHANGES, Changes
from app.core.errors import UserError
from app.core.machine import ActionOption, TransitionError, available_actions, printable_documents
from app.core.masking import mask_free_text
from app.core.ratings import RatingView, rating_view
from app.core.requests import RequestView, is_request, request_state_label, request_view
from app.core.vocabulary import CHINA_TZ, REPLY_RESULTS, STATE_LABELS, Action, DocKind, Mutation
from app.desk.auth import WorkerInfo
from app.desk.context import AppContext
from app.desk.outbox import enqueue
from forms.identity import mask_id, mask_phone
from models import AuditEntry, Case, CaseCounter, CaseReplySeen, Committee, Resident, Worker, new_id, utcnow

log = logging.getLogger(__name__)
CASE_CHANGED = Changes(cases=True, sync_status=True)  # every case action also queues a command for the server
# A case window acts on the version it shows; one that shows an older one is refused with these words.
STALE_CASE = "案件已被更新，请刷新后再操作"
# 联系居民 (issue 19): the audit entry of a full phone number shown to the worker who informs the resident.
CONTACT_AUDIT_ACTION = "resident.view_phone"
CONTACT_PURPOSE = "联系居民"


class CaseError(UserError):
    """A refused case operation; Chinese message, nothing changed."""


@dataclass(frozen=True)
class ItemRef:
    code: str
    name: str
    department: str
    mode: str
    catalog_version: str


@dataclass(frozen=True, kw_only=True)
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
    kind: str = "service"  # "request": a 诉求 (issue 20)


@dataclass(frozen=True, kw_only=True)
class EventRow:
    seq: int
    at: dt.datetime
    worker_name: str
    action_label: str
    from_label: str
    to_label: str
    note: str
    action: str = ""


@dataclass(frozen=True, kw_only=True)
class CaseDetail:
    """A case as the case window shows it, with what the viewing worker may do with it now."""

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
    # From the shared state machine, for the worker the detail was read for (none without a viewer).
    options: list[ActionOption] = field(default_factory=list)
    documents: tuple[DocKind, ...] = ()
    # What the call that returned this detail changed (nothing for a plain read).
    changes: Changes = NO_CHANGES
    # Failed warn/info rules at acceptance ({"level", "message"}) and the note on the resident insisting.
    rule_warnings: list[dict] = field(default_factory=list)
    warning_note: str = ""
    # Flexible acceptance (rules.md §8): "" / 容缺受理 / 告知承诺制, what a 容缺 case still waits for and by when.
    acceptance_mode: str = ""
    makeup_materials: list[str] = field(default_factory=list)
    makeup_due: dt.date | None = None
    pledge_text: str = ""
    # 好差评 (issue 16): the rating, its follow-up, and 催办 sent.
    rating: RatingView = field(default_factory=RatingView)
    remind_count: int = 0
    reminded_at: dt.datetime | None = None
    # Issue 19: a department reply this desk has not read yet (until a worker who informs the resident opens
    # the case), and whether the viewer is that worker (联系居民 shows them the full phone number, audited) —
    # for a 诉求, whoever may give its feedback while it is open (machine.calls_resident).
    reply_unseen: bool = False
    informs_resident: bool = False
    # 诉求 (issue 20): "request" for a resident's request, with its fields and 24-hour clock (None otherwise).
    kind: str = "service"
    request: RequestView | None = None

    @property
    def reply_label(self) -> str:
        return REPLY_RESULTS.get(self.reply_result or "", "")


@dataclass(frozen=True, kw_only=True)
class ApplicantContact:
    """联系居民: whom to call about a case, the phone in full (shown once, audited)."""

    case_number: str
    name: str
    phone: str
    phone_masked: str


def masked_for(viewer: WorkerInfo | None, d: CaseDetail) -> CaseDetail:
    """The case as ``viewer`` may read it (issue 14, finding 9): for a role without full-ID rights every ID number
    and phone written into the free text (reply, result, refusal reason, notes, history) is masked, so a full
    number never reaches the front desk's screen outside the audited reveal. Without a viewer (the service's
    own use) nothing is masked."""
    if viewer is None:
        return d
    if d.request is not None:  # a 诉求's contact phone, like every ID and phone field, is masked on screen for
        # every role: the 块长 calls the resident through 联系居民 (audited)
        d = replace(d, request=replace(d.request, contact_phone=mask_phone(d.request.contact_phone)))
    if viewer.can_see_full_id:
        return d
    m = mask_free_text
    if d.request is not None:
        d = replace(d, request=replace(
            d.request, description=m(d.request.description), result_text=m(d.request.result_text),
            feedback_text=m(d.request.feedback_text)))
    return replace(d, reply_text=m(d.reply_text), result_text=m(d.result_text), refusal_reason=m(d.refusal_reason),
                   forward_note=m(d.forward_note), warning_note=m(d.warning_note),
                   events=[replace(e, note=m(e.note)) for e in d.events],
                   rating=replace(d.rating, note=m(d.rating.note), call_note=m(d.rating.call_note),
                                  fix_note=m(d.rating.fix_note)))


def reply_unseen(s: Session, c: Case) -> bool:
    """A replied case whose reply no worker who informs the resident has opened on this desk yet."""
    if c.state != cm.REPLIED or c.replied_at is None:
        return False
    seen = s.get(CaseReplySeen, c.id)
    return seen is None or seen.replied_at != c.replied_at


def next_case_number(s: Session, committee_code: str, device_code: str, at: dt.datetime) -> str:
    """``<committee>-<device>-<yyyymmdd>-<seq>``: unique across desks without coordination."""
    day = at.astimezone(CHINA_TZ).strftime("%Y%m%d")
    counter = s.get(CaseCounter, (device_code, day))
    if counter is None:
        counter = CaseCounter(device_code=device_code, day=day, last_seq=0)
        s.add(counter)
    counter.last_seq += 1
    return f"{committee_code}-{device_code}-{day}-{counter.last_seq:04d}"


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and case.version != expected_version:
        raise CaseError(STALE_CASE)


def _DeskEnv(s: Session, due: tuple[dt.datetime, bool] | None = None,
             followup: tuple[dt.datetime, dt.datetime] | None = None) -> actions.SimpleEnv:
    """The desk's side of a case action: colleagues from the local register, the deadline computed beforehand
    (it reads settings and the calendar, which must not happen inside the write transaction)."""
    def colleague(worker_id: uuid.UUID) -> Worker | None:
        w = s.get(Worker, worker_id)
        return w if w is not None and w.active else None
    return actions.SimpleEnv(colleagues=colleague, deadline_fn=(lambda _at: due) if due else None,
                             followup_fn=(lambda _at: followup) if followup else None)


@dataclass(frozen=True)
class Step:
    """One action of a service call that may take several in one transaction (the wizard's submit)."""

    action: Action
    cmd: Callable[[Case], commands.CaseCommand]


class CaseService:
    def __init__(self, ctx: AppContext, deadline_fn: Callable[[dt.datetime], tuple[dt.datetime, bool]] | None = None):
        self.ctx = ctx
        self._deadline_fn = deadline_fn

    # ----- creation -------------------------------------------------------------------------
    def create_draft(self, actor: WorkerInfo, item: ItemRef, applicant_id: uuid.UUID | None,
                     agent: dict | None = None, data: dict | None = None, materials: dict | None = None,
                     at: dt.datetime | None = None) -> uuid.UUID:
        at = at or self.ctx.now()  # corrected time: the case number is dated by it (app/desk/clock.py)
        with self.ctx.sessions.begin() as s:
            return self.create_in(s, actor, item, applicant_id, agent=agent, data=data, materials=materials,
                                  at=at).id

    def create_in(self, s: Session, actor: WorkerInfo, item: ItemRef, applicant_id: uuid.UUID | None, *,
                  at: dt.datetime, agent: dict | None = None, data: dict | None = None,
                  materials: dict | None = None, kind: str = "service") -> Case:
        """A new draft and its case.create.v1 row inside the caller's transaction (a 诉求 is created and
        registered in one, app/desk/requests.py)."""
        ident = self.ctx.identity()
        cmd = commands.CreateCaseArgs(
            id=new_id(), case_number=next_case_number(s, ident.committee_code, ident.device_code, at),
            item_code=item.code, item_name=item.name, catalog_version=item.catalog_version,
            department=item.department, mode=item.mode, kind=kind, applicant_id=applicant_id, agent=agent,
            data=data or {}, materials=materials or {}, origin_device_code=ident.device_code,
            verification_code=secrets.token_hex(4).upper())
        env, mutation_id = _DeskEnv(s), new_id()
        env.audit = {commands.MUTATION_ID: str(mutation_id)}  # the event names its command (issue 12)
        case = self._guard(lambda: actions.create_case(cmd, committee_id=ident.committee_id, actor=actor,
                                                       at=at, env=env))
        s.add(case)
        s.flush()
        enqueue(s, Mutation.CASE_CREATE, cmd.wire(), actor.id, at).mutation_id = mutation_id
        log.info("case created: %s item %s", case.case_number, item.code)
        return case

    def save_draft(self, actor: WorkerInfo, case_id: uuid.UUID, data: dict, materials: dict, step: int,
                   applicant_id: uuid.UUID | None = None, agent: dict | None = None) -> None:
        """Autosave of the wizard; recorded as one outbox command per save, no history noise."""
        at = self.ctx.now()  # before the write transaction: reading the clock offset may open a session
        with self.ctx.sessions.begin() as s:
            case = self._load(s, case_id)
            cmd = commands.SaveDraftArgs(id=case.id, data=data, materials=materials, applicant_id=applicant_id,
                                         agent=agent)
            self._guard(lambda: actions.save_draft(case, cmd, actor=actor, at=at, env=_DeskEnv(s), step=step))
            enqueue(s, Mutation.CASE_SAVE_DRAFT, actions.create_args(case).wire(), actor.id, at)

    # ----- transitions ----------------------------------------------------------------------
    def run(self, actor: WorkerInfo, case_id: uuid.UUID, steps: list[Step], *, at: dt.datetime | None = None,
            expected_version: int | None = None, due: tuple[dt.datetime, bool] | None = None,
            followup: tuple[dt.datetime, dt.datetime] | None = None) -> CaseDetail:
        """Take ``steps`` in order in ONE transaction: each through the shared core action, each with its outbox
        row. If any refuses, nothing at all is written and the case stays as it was.

        ``at`` dates the steps in corrected time (default :meth:`AppContext.now`); see app/desk/clock.py."""
        at = at or self.ctx.now()
        with self.ctx.sessions.begin() as s:
            case = self._load(s, case_id)
            _check_version(case, expected_version)
            self.run_in(s, actor, case, steps, at=at, due=due, followup=followup)
            return replace(self._detail(s, case, actor, now=at), changes=CASE_CHANGED)

    def run_in(self, s: Session, actor: WorkerInfo, case: Case, steps: list[Step], *, at: dt.datetime,
               due: tuple[dt.datetime, bool] | None = None,
               followup: tuple[dt.datetime, dt.datetime] | None = None) -> None:
        """:meth:`run`'s steps inside the caller's transaction (which rolls everything back on a refusal)."""
        env = _DeskEnv(s, due, followup)
        for step in steps:
            cmd = step.cmd(case)
            # Causal context (issue 12): the command comes after the one behind the case's latest event, and
            # its own event names it, so the server can put re-sent commands back in order after a restore.
            mutation_id, after = new_id(), actions.last_mutation(case)
            env.audit = {commands.MUTATION_ID: str(mutation_id)}
            done = self._guard(
                lambda step=step, cmd=cmd: actions.perform(case, step.action, cmd, actor=actor, at=at, env=env))
            args = {**done.command_args(case), commands.AFTER: after}
            enqueue(s, Mutation.for_action(step.action), args, actor.id, at).mutation_id = mutation_id
            log.info("case %s: %s -> %s", case.case_number, step.action, case.state)
        s.flush()

    def transition(self, actor: WorkerInfo, case_id: uuid.UUID, action: Action, cmd_kwargs: dict | None = None, *,
                   at: dt.datetime | None = None, expected_version: int | None = None,
                   due: tuple[dt.datetime, bool] | None = None) -> CaseDetail:
        """One action; ``cmd_kwargs`` are its arguments (see app/core/commands.py) besides the case reference."""
        return self.run(actor, case_id, [self.step(action, **(cmd_kwargs or {}))], at=at,
                        expected_version=expected_version, due=due)

    @staticmethod
    def step(action: Action, **kwargs) -> Step:
        model = commands.ARGS[Action(action)]
        return Step(Action(action), lambda case: model(case_id=case.id, case_number=case.case_number, **kwargs))

    @staticmethod
    def _guard(fn):
        try:
            return fn()
        except TransitionError as e:
            raise CaseError(str(e)) from None

    def submit_step(self, data: dict, materials: dict, missing: list[str] | None = None,
                    catalog_version: str | None = None, *, rule_warnings: list[dict] | None = None,
                    warning_note: str | None = None, flexible: dict | None = None) -> Step:
        """End of the wizard: accept, or await materials when required ones are missing.

        ``catalog_version``: the version the data was checked against (a draft resumed after a catalog
        update is checked against the new item); stamped on the case and sent with the command.
        ``rule_warnings``/``warning_note``: the failed warn/info rules and the note on the resident insisting,
        stored on the case by this step (app/core/rule_notes.py). ``flexible``: the flexible-acceptance arguments
        of the command (acceptance_mode, makeup_materials, makeup_due, pledge_text, credit_checked)."""
        action = Action.AWAIT_MATERIALS if missing else Action.ACCEPT
        return self.step(action, data=dict(data), materials=dict(materials), missing=list(missing or []),
                         catalog_version=catalog_version, rule_warnings=rule_warnings, warning_note=warning_note,
                         **(flexible or {}))

    def submit(self, actor: WorkerInfo, case_id: uuid.UUID, data: dict, materials: dict, *,
               missing: list[str] | None = None, catalog_version: str | None = None,
               at: dt.datetime | None = None) -> CaseDetail:
        return self.run(actor, case_id, [self.submit_step(data, materials, missing, catalog_version)], at=at)

    def accept_after_materials(self, actor: WorkerInfo, case_id: uuid.UUID, materials: dict, *,
                               expected_version: int | None = None) -> CaseDetail:
        def cmd(case: Case) -> commands.CaseCommand:
            return commands.SubmitArgs(case_id=case.id, case_number=case.case_number, note="材料已补齐",
                                       materials={**case.materials, **materials})
        return self.run(actor, case_id, [Step(Action.ACCEPT, cmd)], expected_version=expected_version)

    # ``expected_version``: the version the case window shows; an older one is refused (STALE_CASE).
    def resolve(self, actor: WorkerInfo, case_id: uuid.UUID, result_text: str, *,
                expected_version: int | None = None) -> CaseDetail:
        return self.transition(actor, case_id, Action.RESOLVE, {"result_text": result_text},
                               expected_version=expected_version)

    def refuse(self, actor: WorkerInfo, case_id: uuid.UUID, reason: str, redirect_to: str = "", *,
               expected_version: int | None = None) -> CaseDetail:
        return self.transition(actor, case_id, Action.REFUSE, {"reason": reason, "redirect_to": redirect_to},
                               expected_version=expected_version)

    def withdraw(self, actor: WorkerInfo, case_id: uuid.UUID, reason: str, *,
                 expected_version: int | None = None) -> CaseDetail:
        return self.transition(actor, case_id, Action.WITHDRAW, {"note": reason}, expected_version=expected_version)

    def deadline_service(self):
        if getattr(self, "_deadlines", None) is None:
            from app.desk.deadlines import DeadlineService
            self._deadlines = DeadlineService(self.ctx)
        return self._deadlines

    def deadline_for(self, at: dt.datetime) -> tuple[dt.datetime, bool]:
        if self._deadline_fn is None:
            self._deadline_fn = self.deadline_service().due
        return self._deadline_fn(at)

    def forward_step(self, *, assignee_id: uuid.UUID | None, queue: str, note: str = "") -> Step:
        return self.step(Action.FORWARD, assignee_id=assignee_id, queue=queue, note=note)

    def forward(self, actor: WorkerInfo, case_id: uuid.UUID, *, assignee_id: uuid.UUID | None, queue: str,
                note: str = "", at: dt.datetime | None = None, expected_version: int | None = None) -> CaseDetail:
        at = at or self.ctx.now()
        due = self.deadline_for(at)  # outside the write transaction: it reads settings
        return self.run(actor, case_id, [self.forward_step(assignee_id=assignee_id, queue=queue, note=note)],
                        at=at, due=due, expected_version=expected_version)

    def receive_makeup(self, actor: WorkerInfo, case_id: uuid.UUID, materials: list[str] | None = None, *,
                       expected_version: int | None = None) -> CaseDetail:
        """容缺受理: the materials the applicant pledged to bring were handed in (None: all still owed)."""
        return self.transition(actor, case_id, Action.RECEIVE_MAKEUP, {"materials": materials},
                               expected_version=expected_version)

    def makeup_due_for(self, at: dt.datetime, days: int) -> tuple[dt.date, bool]:
        """The 容缺 make-up deadline of a case accepted at ``at`` (call it outside the write transaction: it reads
        the calendar)."""
        return self.deadline_service().makeup_due(at, days)

    # ----- the reply read, the resident called (issue 19) ---------------------------------------------------
    def mark_reply_seen(self, viewer: WorkerInfo, case_id: uuid.UUID) -> Changes:
        """The worker who informs the resident opened a replied case: its reply is no longer new on this desk
        (the worklist stops highlighting it). Desk-only, no command; ``cases`` changed only when it was new."""
        with self.ctx.sessions.begin() as s:
            case = self._load(s, case_id)
            if case.replied_at is None or not cm.informs_resident(case.state, viewer.roles):
                return NO_CHANGES
            seen = s.get(CaseReplySeen, case.id)
            if seen is not None and seen.replied_at == case.replied_at:
                return NO_CHANGES
            if seen is None:
                seen = CaseReplySeen(case_id=case.id)
                s.add(seen)
            seen.replied_at, seen.seen_at, seen.worker_id = case.replied_at, utcnow(), viewer.id
        return Changes(cases=True)

    def contact_applicant(self, actor: WorkerInfo, case_id: uuid.UUID) -> ApplicantContact:
        """联系居民: the applicant's full phone number for the worker who must tell them the answer (the one who
        may 告知居民并办结 the case now); the view is audited like the full-ID view, with its purpose. The
        number is never logged."""
        with self.ctx.sessions.begin() as s:
            case = self._load(s, case_id)
            request = is_request(case)
            if not cm.calls_resident(case, actor.id, actor.roles):
                raise CaseError("只有负责该诉求的工作人员（块长、登记人或站长）在办结前可以查看居民的完整电话号码"
                                if request else "只有负责告知居民的工作人员在案件已答复后可以查看居民的完整电话号码")
            r = s.get(Resident, case.applicant_id) if case.applicant_id else None
            name, phone = (r.name, r.phone or "") if r else ("", "")
            if request:  # the contact the request was registered with (the resident's own, or an anonymous one)
                data = case.data or {}
                name, phone = data.get("contact_name") or name, data.get("contact_phone") or phone
            if r is None and not request:
                raise CaseError("该案件没有登记申请人")
            if not phone:
                raise CaseError("该诉求没有登记联系电话")
            s.add(AuditEntry(worker_id=actor.id, action=CONTACT_AUDIT_ACTION,
                             subject=f"resident:{r.id}" if r else f"case:{case.id}",
                             detail=f"{CONTACT_PURPOSE}；{'诉求' if request else '案件'} {case.case_number}"))
            log.info("contact phone of case %s shown to worker %s to call the resident", case.case_number,
                     actor.login)
            return ApplicantContact(case_number=case.case_number, name=name, phone=phone,
                                    phone_masked=mask_phone(phone))

    # ----- 好差评 and 催办 (issue 16) ---------------------------------------------------------------------------
    def rate(self, actor: WorkerInfo, case_id: uuid.UUID, level: str, *, round: int = 1, channel: str = "desk",
             reasons: list[str] | None = None, comment: str = "", at: dt.datetime | None = None) -> CaseDetail:
        """Record the resident's rating (the resident-facing window submits it; no version check: the rating
        belongs to the case number whatever the window showed). A second call for the same round is refused."""
        at = at or self.ctx.now()
        followup = self.deadline_service().followup(at)  # outside the write transaction: reads settings
        return self.run(actor, case_id, [self.step(Action.RATE, level=level, round=round, channel=channel,
                                                   reasons=list(reasons or []), comment=comment)],
                        at=at, followup=followup)

    def followup_callback(self, actor: WorkerInfo, case_id: uuid.UUID, note: str, *,
                          expected_version: int | None = None) -> CaseDetail:
        """差评回访: the 站长's record of the call to the resident."""
        return self.transition(actor, case_id, Action.FOLLOWUP_CALLBACK, {"note": note},
                               expected_version=expected_version)

    def followup_fix(self, actor: WorkerInfo, case_id: uuid.UUID, note: str, *,
                     expected_version: int | None = None) -> CaseDetail:
        """差评整改: what was done about the bad rating (after the call-back)."""
        return self.transition(actor, case_id, Action.FOLLOWUP_FIX, {"note": note}, expected_version=expected_version)

    def remind(self, actor: WorkerInfo, case_id: uuid.UUID, note: str = "", *,
               expected_version: int | None = None) -> CaseDetail:
        """催办: a reminder event to the assignee of a forwarded case."""
        return self.transition(actor, case_id, Action.REMIND, {"note": note}, expected_version=expected_version)

    def acknowledge(self, actor: WorkerInfo, case_id: uuid.UUID, *, expected_version: int | None = None) -> CaseDetail:
        return self.transition(actor, case_id, Action.ACKNOWLEDGE, expected_version=expected_version)

    def reassign(self, actor: WorkerInfo, case_id: uuid.UUID, assignee_id: uuid.UUID, reason: str, *,
                 expected_version: int | None = None) -> CaseDetail:
        return self.transition(actor, case_id, Action.REASSIGN, {"assignee_id": assignee_id, "note": reason},
                               expected_version=expected_version)

    def reply(self, actor: WorkerInfo, case_id: uuid.UUID, result: str, text: str,
              attachment_paths: list[Path] | None = None, *, expected_version: int | None = None) -> CaseDetail:
        self._guard(lambda: actions.check_reply(result, text))  # before the attachments are copied
        self.ensure_current(case_id, expected_version)
        attachments = self._store_attachments(case_id, attachment_paths or [])
        return self.transition(actor, case_id, Action.REPLY, {"result": result, "text": text,
                                                              "attachments": attachments},
                               expected_version=expected_version)

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

    def close(self, actor: WorkerInfo, case_id: uuid.UUID, inform_method: str, note: str = "", *,
              expected_version: int | None = None) -> CaseDetail:
        return self.transition(actor, case_id, Action.CLOSE, {"inform_method": inform_method, "note": note},
                               expected_version=expected_version)

    def reopen(self, actor: WorkerInfo, case_id: uuid.UUID, reason: str, *,
               expected_version: int | None = None) -> CaseDetail:
        return self.transition(actor, case_id, Action.REOPEN, {"note": reason}, expected_version=expected_version)

    # ----- queries --------------------------------------------------------------------------
    def ensure_current(self, case_id: uuid.UUID, expected_version: int | None) -> None:
        """Refuse (STALE_CASE) when the case is no longer at the version a window shows: for what a case window
        does besides an action (print, resume a draft), checked the same way as the actions."""
        with self.ctx.sessions() as s:
            _check_version(self._load(s, case_id), expected_version)

    def get(self, case_id: uuid.UUID, viewer: WorkerInfo | None = None) -> CaseDetail:
        """The case; with ``viewer``, also the actions that worker may take and the documents it may print."""
        now = self.ctx.now()  # before the session: reading the clock offset may open one
        with self.ctx.sessions() as s:
            return self._detail(s, self._load(s, case_id), viewer, now=now)

    def find_by_number(self, case_number: str) -> CaseDetail | None:
        now = self.ctx.now()
        with self.ctx.sessions() as s:
            case = s.scalar(select(Case).where(Case.case_number == case_number))
            return self._detail(s, case, now=now) if case else None

    def for_resident(self, resident_id: uuid.UUID) -> list[CaseSummary]:
        with self.ctx.sessions() as s:
            stmt = select(Case).where(Case.applicant_id == resident_id).order_by(Case.created_at.desc())
            rows = s.scalars(stmt).all()
            return [self._summary(s, c) for c in rows]

    def count_by_state(self) -> dict[str, int]:
        with self.ctx.sessions() as s:
            return dict(s.execute(select(Case.state, func.count()).group_by(Case.state)).tuples().all())

    # ----- helpers --------------------------------------------------------------------------
    def _load(self, s: Session, case_id: uuid.UUID) -> Case:
        case = s.get(Case, case_id, options=[selectinload(Case.events)])
        if case is None:
            raise CaseError("找不到该案件")
        return case

    def _summary(self, s: Session, c: Case) -> CaseSummary:
        r = s.get(Resident, c.applicant_id) if c.applicant_id else None
        w = s.get(Worker, c.assignee_id) if c.assignee_id else None
        return CaseSummary(id=c.id, case_number=c.case_number, item_code=c.item_code, item_name=c.item_name,
                           applicant_name=r.name if r else "", applicant_id_masked=mask_id(r.id_number) if r else "",
                           state=c.state, state_label=cm.state_label(c), created_at=c.created_at,
                           due_at=c.due_at, deadline_provisional=c.deadline_provisional,
                           assignee_name=w.display_name if w else (c.assignee_queue or ""), assignee_id=c.assignee_id,
                           kind=c.kind or "service")

    def _detail(self, s: Session, c: Case, viewer: WorkerInfo | None = None, *,
                now: dt.datetime | None = None) -> CaseDetail:
        """``now``: what a request's clock is read at (corrected time, taken before the session)."""
        detail = self._full_detail(s, c, viewer, now or utcnow())
        return masked_for(viewer, detail)

    def _full_detail(self, s: Session, c: Case, viewer: WorkerInfo | None, now: dt.datetime) -> CaseDetail:
        r = s.get(Resident, c.applicant_id) if c.applicant_id else None
        names: dict[uuid.UUID | None, str] = {w.id: w.display_name for w in s.scalars(select(Worker))}
        note = cm.TRANSITIONS[Action.NOTE]
        request = is_request(c)
        states = request_state_label if request else (lambda st: STATE_LABELS.get(st or "", st or ""))
        events = [EventRow(seq=e.seq, at=e.at, worker_name=names.get(e.worker_id, "系统"),
                           action_label=cm.REQUEST_TRANSITIONS.get(e.action, cm.TRANSITIONS.get(e.action, note)).label
                           if request else cm.TRANSITIONS.get(e.action, note).label,
                           from_label=states(e.from_state) or "—", to_label=states(e.to_state), note=e.note,
                           action=e.action)
                  for e in c.events]
        return CaseDetail(
            summary=self._summary(s, c), department=c.department, mode=c.mode, catalog_version=c.catalog_version,
            applicant_id=c.applicant_id, applicant_phone_masked=mask_phone(r.phone) if r else "", agent=c.agent,
            data=dict(c.data or {}), materials=dict(c.materials or {}), draft_step=c.draft_step,
            forward_note=c.forward_note, reply_result=c.reply_result, reply_text=c.reply_text,
            result_text=c.result_text, refusal_reason=c.refusal_reason, inform_method=c.inform_method,
            verification_code=c.verification_code, version=c.version, events=events,
            options=available_actions(c, viewer) if viewer else [],
            documents=printable_documents(c.state, c.forwarded_at is not None, self._item_paper(c.item_code),
                                          flexible=cm.case_paper(c), kind=c.kind),
            rule_warnings=list(c.rule_warnings or []), warning_note=c.warning_note or "",
            acceptance_mode=c.acceptance_mode or "", makeup_materials=list(c.makeup_materials or []),
            makeup_due=c.makeup_due, pledge_text=c.pledge_text or "", rating=rating_view(c),
            remind_count=c.remind_count or 0, reminded_at=c.reminded_at, reply_unseen=reply_unseen(s, c),
            informs_resident=bool(viewer and cm.calls_resident(c, viewer.id, viewer.roles)),
            kind=c.kind or "service", request=self._request_view(s, c, now) if request else None)

    def _request_view(self, s: Session, c: Case, now: dt.datetime) -> RequestView:
        from app.core.blocks import block_by_code, committee_blocks
        from app.desk.catalog.refs import shared_catalog  # refs builds on this module's ItemRef
        com = s.get(Committee, c.committee_id)
        block = block_by_code(committee_blocks(com.settings if com else None), c.block_code)
        return request_view(c, now, shared_catalog(self.ctx.data_dir).catalog, block.name if block else "")

    def _item_paper(self, code: str) -> frozenset[DocKind]:
        """What the case's item prints besides its state's documents (证明, 申请表)."""
        from app.desk.catalog.refs import item_documents  # refs builds on this module's ItemRef
        return item_documents(code, self.ctx.data_dir)
