"""The case state machine, shared by the desk and the district server.

One table says which action moves a case from which states to which state and which role may do it.
``apply_transition`` checks, mutates the case and appends the CaseEvent; it never commits, so the caller
writes the change, the event and the outbox row in one transaction. An illegal transition raises
:class:`TransitionError` before anything is touched.

The same table answers "what may this worker do with this case now" (:func:`available_actions`) and
"which documents fit this case" (:func:`printable_documents`): the case window shows exactly those.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm.attributes import flag_modified

from app.core import ratings
from app.core.errors import UserError
from app.core.requests import request_state_label
from app.core.vocabulary import STATE_LABELS, AcceptanceMode, Action, CaseKind, DocKind, Role, State, role_names
from models import Case, CaseEvent

if TYPE_CHECKING:
    from forms.schema import ServiceItem

DRAFT, PENDING_MATERIALS, ACCEPTED = State.DRAFT, State.PENDING_MATERIALS, State.ACCEPTED
RESOLVED, FORWARDED, REPLIED, CLOSED = State.RESOLVED, State.FORWARDED, State.REPLIED, State.CLOSED
REFUSED, WITHDRAWN, IN_PROGRESS = State.REFUSED, State.WITHDRAWN, State.IN_PROGRESS

STATES: tuple[State, ...] = tuple(State)
FINAL_STATES = frozenset({RESOLVED, CLOSED, REFUSED, WITHDRAWN})
OPEN_STATES = frozenset(STATES) - FINAL_STATES

ANY_ROLE = None
Roles = Iterable[str] | None


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[State | None]
    target: State | None  # None: the state does not change (acknowledge, reassign, note)
    roles: frozenset[Role] | None = ANY_ROLE

    @property
    def label(self) -> str:
        return self.action.label


def _t(action: Action, sources, target: State | None, roles=None) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles) if roles else None)


DESK_ROLES = frozenset({Role.FRONT_DESK, Role.SUPERVISOR, Role.ADMIN})
LINE_ROLES = frozenset({Role.LINE, Role.SUPERVISOR})
TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    _t(Action.CREATE_DRAFT, {None}, DRAFT, DESK_ROLES),
    _t(Action.SAVE_DRAFT, {DRAFT}, None, DESK_ROLES),
    _t(Action.AWAIT_MATERIALS, {DRAFT}, PENDING_MATERIALS, DESK_ROLES),
    _t(Action.ACCEPT, {DRAFT, PENDING_MATERIALS}, ACCEPTED, DESK_ROLES),
    _t(Action.RESOLVE, {ACCEPTED}, RESOLVED, DESK_ROLES),
    _t(Action.FORWARD, {ACCEPTED, REPLIED}, FORWARDED, DESK_ROLES),
    _t(Action.ACKNOWLEDGE, {FORWARDED}, None, LINE_ROLES),
    _t(Action.REASSIGN, {FORWARDED}, None, {Role.SUPERVISOR}),
    _t(Action.REPLY, {FORWARDED}, REPLIED, LINE_ROLES),
    _t(Action.CLOSE, {REPLIED}, CLOSED, DESK_ROLES),
    _t(Action.REFUSE, {DRAFT, PENDING_MATERIALS, ACCEPTED}, REFUSED, DESK_ROLES),
    _t(Action.WITHDRAW, {DRAFT, PENDING_MATERIALS, ACCEPTED, FORWARDED, REPLIED}, WITHDRAWN, DESK_ROLES),
    _t(Action.REOPEN, {CLOSED, RESOLVED, REFUSED}, ACCEPTED, {Role.SUPERVISOR}),
    _t(Action.NOTE, set(STATES), None, None),
    # 容缺受理: the pledged material may come while the department works on the case, or after it answered.
    _t(Action.RECEIVE_MAKEUP, {ACCEPTED, FORWARDED, REPLIED, RESOLVED, CLOSED}, None, DESK_ROLES | LINE_ROLES),
    # 好差评 (issue 16): the resident rates (no role: at the desk's window or on the QR page, the rating is the
    # resident's; which round a case may take is app/core/ratings.py); the 站长 follows a bad rating up.
    _t(Action.RATE, set(STATES) - {DRAFT, PENDING_MATERIALS}, None, None),
    _t(Action.FOLLOWUP_CALLBACK, set(STATES) - {DRAFT, PENDING_MATERIALS}, None, {Role.SUPERVISOR}),
    _t(Action.FOLLOWUP_FIX, set(STATES) - {DRAFT, PENDING_MATERIALS}, None, {Role.SUPERVISOR}),
    _t(Action.REMIND, {FORWARDED}, None, {Role.SUPERVISOR, Role.FRONT_DESK}),
)}

# 诉求 (issue 20): a case of kind "request" has a table of its own; the service actions above are refused on it
# and these on a service case. Any worker registers one; on a registered request the assignee (块长), the worker
# who registered it, a 站长 or an admin act (check_actor).
REQUEST_ONLY = frozenset({Action.REGISTER_REQUEST, Action.HAND_OVER, Action.GIVE_FEEDBACK, Action.CLOSE_REQUEST})
OPEN_REQUEST = frozenset({ACCEPTED, IN_PROGRESS})
MANAGER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
REQUEST_TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    _t(Action.CREATE_DRAFT, {None}, DRAFT),
    _t(Action.REGISTER_REQUEST, {DRAFT}, ACCEPTED),
    _t(Action.HAND_OVER, OPEN_REQUEST, None),
    _t(Action.GIVE_FEEDBACK, OPEN_REQUEST, IN_PROGRESS),
    _t(Action.CLOSE_REQUEST, OPEN_REQUEST, CLOSED),
    _t(Action.REASSIGN, OPEN_REQUEST, None, MANAGER_ROLES),
    _t(Action.WITHDRAW, {DRAFT} | OPEN_REQUEST, WITHDRAWN),
    _t(Action.REMIND, OPEN_REQUEST, None, MANAGER_ROLES),
    _t(Action.NOTE, set(STATES), None, None),
)}
# Request actions only the assignee, the registering worker or a manager may take.
_REQUEST_ACTOR_ACTIONS = frozenset({Action.HAND_OVER, Action.GIVE_FEEDBACK, Action.CLOSE_REQUEST, Action.REASSIGN,
                                    Action.WITHDRAW})

REASON_REQUIRED = {Action.REOPEN: "重新打开案件必须填写原因", Action.REASSIGN: "改派必须填写原因",
                   Action.FOLLOWUP_CALLBACK: "请填写回访情况", Action.FOLLOWUP_FIX: "请填写整改情况"}


class TransitionError(UserError):
    """An action that the case's state or the worker's role does not allow; Chinese message."""


def _state(value: str | None) -> str | None:
    """'' (a case being created) reads as None; StrEnum members compare and hash equal to their values."""
    return value or None


def _kind(value: object) -> str:
    return str(value or CaseKind.SERVICE)


def check_kind(kind: str | None, action: str) -> None:
    """A service item's action on a 诉求, or a 诉求's on a service case, is refused."""
    if _kind(kind) == CaseKind.REQUEST:
        if action not in REQUEST_TRANSITIONS:
            label = TRANSITIONS[action].label if action in TRANSITIONS else action
            raise TransitionError(f"诉求不能执行“{label}”")
    elif action in REQUEST_ONLY:
        raise TransitionError(f"“{Action(action).label}”只用于诉求，不能用于服务事项的案件")


def check_transition(state: str | None, action: str, roles: Roles, kind: str | None = None) -> Transition:
    """The transition ``action`` takes from ``state`` for a case of ``kind`` (None: a service case)."""
    check_kind(kind, action)
    table = REQUEST_TRANSITIONS if _kind(kind) == CaseKind.REQUEST else TRANSITIONS
    t = table.get(action)
    if t is None:
        raise TransitionError(f"未知的操作：{action}")
    if _state(state) not in t.sources:
        if _kind(kind) == CaseKind.REQUEST:
            raise TransitionError(f"诉求当前状态为“{request_state_label(state) or '新建'}”，不能执行“{t.label}”")
        label = STATE_LABELS.get(state or "", "新建")
        raise TransitionError(f"案件当前状态为“{label}”，不能执行“{t.label}”")
    if t.roles is not None and roles is not None and not (set(roles) & t.roles):
        raise TransitionError(f"“{t.label}”需要以下角色之一：{role_names(sorted(t.roles))}")
    return t


def check_assignee(department: str, assignee_roles: Roles, assignee_lines: Iterable[str] | None) -> None:
    """A forwarded case goes to a line colleague whose responsibilities cover the item's department."""
    roles = set(assignee_roles or ())
    if not roles & LINE_ROLES:
        raise TransitionError("只能转给条线社工或站长")
    if department not in set(assignee_lines or ()) and Role.SUPERVISOR not in roles:
        raise TransitionError(f"所选接收人不负责“{department}”条线，请选择负责该条线的同事或部门队列")


class CaseFacts(Protocol):
    """What the authority checks read of a case: the ORM row, or the desk's CaseDetail summary."""

    state: str
    assignee_id: uuid.UUID | None
    assignee_queue: str | None
    department: str


def check_actor(case: CaseFacts, action: str, worker_id: uuid.UUID | None, roles: Roles,
                lines: Iterable[str] | None) -> None:
    """Who may acknowledge or reply to a forwarded case: its assignee; for a case waiting in a department
    queue, a colleague of that line; a supervisor always (站长 covers for an absent colleague).

    A registered 诉求: its assignee (the 块长, responsible), the worker who registered it (the on-spot steps at
    intake), a 站长 or an admin."""
    if _kind(getattr(case, "kind", None)) == CaseKind.REQUEST:
        _check_request_actor(case, action, worker_id, roles)
        return
    if action not in (Action.ACKNOWLEDGE, Action.REPLY) or roles is None or Role.SUPERVISOR in set(roles):
        return
    if case.assignee_id is not None:
        if case.assignee_id != worker_id:
            raise TransitionError("该案件已转给其他同事承办，只有承办人或站长可以签收、答复")
        return
    queue = case.assignee_queue or case.department
    if queue not in set(lines or ()):
        raise TransitionError(f"该案件在“{queue}”队列中，只有负责该条线的同事可以签收、答复")


def _check_request_actor(case: object, action: str, worker_id: uuid.UUID | None, roles: Roles) -> None:
    if action not in _REQUEST_ACTOR_ACTIONS or roles is None or set(roles) & MANAGER_ROLES:
        return
    if getattr(case, "state", None) == DRAFT:
        return  # a draft is the registering worker's own (withdrawn before it was registered)
    allowed = {getattr(case, "assignee_id", None), getattr(case, "created_by_id", None)} - {None}
    if worker_id not in allowed:
        raise TransitionError("该诉求由其他同事负责，只有负责人（块长）、登记人、站长或管理员可以处理")


def apply_transition(case: Case, action: str, *, worker_id: uuid.UUID | None, roles: Roles, at: dt.datetime,
                     note: str = "", detail: dict | None = None) -> CaseEvent:
    """Check, then move ``case`` and append its event. The caller owns the transaction.

    Callers run :func:`check_actor` before they mutate the case (taking a case from a queue makes the
    actor its assignee, after which the check would prove nothing)."""
    current = case.state if case.state else None
    t = check_transition(current, action, roles, getattr(case, "kind", None))
    if action in REASON_REQUIRED and not note.strip():
        raise TransitionError(REASON_REQUIRED[Action(action)])
    target = t.target or current
    seq = (max((e.seq for e in case.events), default=0) + 1) if case.events else 1
    ev = CaseEvent(seq=seq, at=at, worker_id=worker_id, action=str(action), from_state=current, to_state=str(target),
                   note=note, detail=detail or {})
    case.events.append(ev)
    case.state = str(target)
    case.version = (case.version or 0) + 1
    # Never earlier than before: a command pushed late by an offline desk carries its own (earlier) time, and the
    # statistics re-read a period's cases changed since a bound by this column (stats_read._event_lists).
    if case.updated_at is None or at > case.updated_at:
        case.updated_at = at
    else:  # kept as it is, written as it is (else the column's onupdate would put the machine's clock in)
        flag_modified(case, "updated_at")
    return ev


# ----- what the case window offers ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionOption:
    """One button of the case window: the action and the words on it."""

    action: Action
    label: str


# Done elsewhere: drafts are created and finished by the wizard (继续办理 resumes it), notes are automatic.
_WIZARD_ONLY = frozenset({Action.CREATE_DRAFT, Action.AWAIT_MATERIALS, Action.NOTE})
# Offered only while the case can take them (app/core/ratings.py): which rating round, which follow-up stage.
_BUTTON_LABELS: dict[tuple[str, str | None], str] = {
    (Action.SAVE_DRAFT, DRAFT): "继续办理",
    (Action.ACCEPT, PENDING_MATERIALS): "材料已补齐，受理",
    (Action.FORWARD, REPLIED): "再次转办",
}


class Worker(Protocol):
    """Who acts, as the rules read it: the desk's WorkerInfo or the push handler's Actor (read-only)."""

    @property
    def id(self) -> uuid.UUID | None: ...
    @property
    def roles(self) -> Iterable[str]: ...
    @property
    def lines(self) -> Iterable[str]: ...


def available_actions(case: CaseFacts, worker: Worker | None) -> list[ActionOption]:
    """Exactly the actions this worker may take on this case now, in the order the case window shows them.

    Each passes :func:`check_transition` and :func:`check_actor`; accepting a draft is the wizard's job, so a
    draft offers 继续办理 (the wizard's save) instead."""
    if worker is None:
        return []
    kind = _kind(getattr(case, "kind", None))
    if kind == CaseKind.REQUEST:
        return _request_actions(case, worker)
    state, roles, options = _state(case.state), tuple(worker.roles), []
    for action, t in TRANSITIONS.items():
        if action in _WIZARD_ONLY or (action == Action.ACCEPT and state == DRAFT):
            continue
        if action == Action.RECEIVE_MAKEUP and not owes_makeup(case):
            continue
        if action == Action.ACKNOWLEDGE and getattr(case, "acknowledged_at", None) is not None:
            continue  # signed for already (a reassignment or a new forwarding clears it)
        if action in _RATING_ACTIONS and not _rating_action_open(case, action, roles):
            continue
        try:
            check_transition(state, action, roles)
            check_actor(case, action, worker.id, roles, worker.lines)
        except TransitionError:
            continue
        options.append(ActionOption(t.action, _option_label(case, t, state)))
    return options


# A request's buttons, in this order; registering is the intake dialog's, a draft request is never shown.
_REQUEST_BUTTONS = (Action.GIVE_FEEDBACK, Action.HAND_OVER, Action.CLOSE_REQUEST, Action.REASSIGN, Action.REMIND,
                    Action.WITHDRAW)


def _request_actions(case: CaseFacts, worker: Worker) -> list[ActionOption]:
    state, roles, options = _state(case.state), tuple(worker.roles), []
    if state == DRAFT:
        return []
    for action in _REQUEST_BUTTONS:
        try:
            t = check_transition(state, action, roles, CaseKind.REQUEST)
            check_actor(case, action, worker.id, roles, worker.lines)
        except TransitionError:
            continue
        options.append(ActionOption(t.action, t.label))
    return options


def state_label(case: object) -> str:
    """The state as a worker reads it: a forwarded case the colleague signed for reads 已签收, so the front desk
    sees it was picked up (the state itself stays 已转办: the machine has no separate state for it)."""
    state = str(getattr(case, "state", "") or "")
    if _kind(getattr(case, "kind", None)) == CaseKind.REQUEST:
        return request_state_label(state)
    if state == FORWARDED and getattr(case, "acknowledged_at", None) is not None:
        return ACKNOWLEDGED_LABEL
    return STATE_LABELS.get(state, state)


ACKNOWLEDGED_LABEL = "已签收"


def informs_resident(state: str | None, roles: Roles) -> bool:
    """Whether a worker of ``roles`` is the one to tell the resident the department's answer now: they may
    告知居民并办结 a case in ``state``. Such a worker is told that a reply arrived, marks it read by opening the
    case, and may see the applicant's full phone number to call them (联系居民, audited)."""
    try:
        check_transition(state, Action.CLOSE, roles)
    except TransitionError:
        return False
    return roles is not None


def calls_resident(case: object, worker_id: uuid.UUID | None, roles: Roles) -> bool:
    """联系居民 (the full phone number, audited): for a service case the worker who tells the resident the
    department's answer (:func:`informs_resident`); for an open 诉求 whoever may give its feedback — its 块长,
    the worker who registered it, a 站长 or an administrator."""
    state = getattr(case, "state", None)
    if _kind(getattr(case, "kind", None)) != CaseKind.REQUEST:
        return informs_resident(state, roles)
    if roles is None or state not in OPEN_REQUEST:
        return False
    try:
        check_actor(case, Action.GIVE_FEEDBACK, worker_id, roles, None)  # type: ignore[arg-type]
    except TransitionError:
        return False
    return True


_RATING_ACTIONS = frozenset({Action.RATE, Action.FOLLOWUP_CALLBACK, Action.FOLLOWUP_FIX})


def _rating_action_open(case: object, action: str, roles: tuple[str, ...]) -> bool:
    if action == Action.RATE:  # the rating window is the desk's (a line colleague never offers it)
        return ratings.rating_round(case) is not None and bool(set(roles) & DESK_ROLES)
    wanted = ratings.FollowupStage.CALLBACK if action == Action.FOLLOWUP_CALLBACK else ratings.FollowupStage.FIX
    return ratings.followup_stage(case) == wanted


def _option_label(case: object, t: Transition, state: str | None) -> str:
    if t.action == Action.RATE:
        return "请居民评价" if ratings.rating_round(case) == 1 else "请居民再次评价"
    return {Action.FOLLOWUP_CALLBACK: "记录回访", Action.FOLLOWUP_FIX: "记录整改"}.get(
        t.action, _BUTTON_LABELS.get((t.action, state), t.label))


REQUEST_SLIP_STATES = frozenset({ACCEPTED, IN_PROGRESS, CLOSED})


def printable_documents(state: str | None, forwarded: bool, item_paper: Iterable[DocKind] = (), *,
                        flexible: Iterable[DocKind] = (), kind: str | None = None) -> tuple[DocKind, ...]:
    """The documents that fit a case in ``state`` (the first is the default).

    受理回执 once the case went to the department (still valid after its reply, or after a reopen);
    办结单 only for a case resolved on the spot; 一次性告知单 while materials are awaited; 不予受理告知单
    after a refusal; 答复告知 once the department has replied. ``item_paper`` (:func:`item_paper`): what the
    case's item prints besides — its 证明 once the case is resolved, its 申请表 while the case is alive or done
    (not after a refusal or a withdrawal). ``flexible`` (:func:`case_paper`): the 容缺受理告知书 and 告知承诺书
    of a case accepted that way, printable (again) from its acceptance on. A 诉求 (``kind`` "request") prints
    only its 诉求受理单, once registered.

    Once a case is accepted (issue 15) every case prints its 申请表 (prefilled from the answers, also for an
    item that lists no application form among its materials) and the 申请材料清单 the department reads (last).
    """
    if _kind(kind) == CaseKind.REQUEST:  # a 诉求 prints its 诉求受理单 once registered (issue 20)
        return (DocKind.REQUEST_SLIP,) if _state(state) in REQUEST_SLIP_STATES else ()
    docs = _state_documents(_state(state), forwarded)
    paper = set(item_paper)
    s = _state(state)
    if DocKind.CERTIFICATE in paper and s == RESOLVED:
        docs = (DocKind.CERTIFICATE, *docs)  # what the resident came for comes first
    if (DocKind.APPLICATION in paper and s not in (REFUSED, WITHDRAWN)) or s in ACCEPTED_STATES:
        docs = (*docs, DocKind.APPLICATION)
    if s in ACCEPTED_STATES:
        docs = (*docs, *(d for d in (DocKind.MAKEUP_NOTICE, DocKind.PLEDGE) if d in set(flexible)), DocKind.PACKET)
    return docs


def _state_documents(s: str | None, forwarded: bool) -> tuple[DocKind, ...]:
    if s == PENDING_MATERIALS:
        return (DocKind.NOTICE,)
    if s == REFUSED:
        return (DocKind.REFUSAL,)
    if s == RESOLVED:
        return (DocKind.COMPLETION,)
    if s == FORWARDED:
        return (DocKind.RECEIPT,)
    if s in (REPLIED, CLOSED):
        return (DocKind.REPLY, DocKind.RECEIPT) if forwarded else (DocKind.REPLY,)
    if s == ACCEPTED and forwarded:
        return (DocKind.RECEIPT,)
    return ()


ACCEPTED_STATES = frozenset({ACCEPTED, RESOLVED, FORWARDED, REPLIED, CLOSED})


class FlexibleFacts(Protocol):
    """What the flexible-acceptance rules read of a case (the ORM row)."""

    acceptance_mode: str
    pledge_text: str


def owes_makeup(case: object) -> bool:
    """A 容缺受理 case whose applicant has not yet brought every material they pledged to bring."""
    return bool(getattr(case, "makeup_materials", None))


def case_paper(case: FlexibleFacts) -> frozenset[DocKind]:
    """The documents of how a case was accepted (rules.md §8): the 容缺受理告知书 of a 容缺 case and the
    告知承诺书 the applicant signed (a case may have both: a pledge, and a minor material brought later)."""
    return flexible_paper(case.acceptance_mode, case.pledge_text)


def flexible_paper(acceptance_mode: str | None, pledge_text: str | None) -> frozenset[DocKind]:
    """:func:`case_paper` from the two columns."""
    docs = set()
    if acceptance_mode == AcceptanceMode.DEFERRED:
        docs.add(DocKind.MAKEUP_NOTICE)
    if (pledge_text or "").strip():
        docs.add(DocKind.PLEDGE)
    return frozenset(docs)


def item_paper(item: ServiceItem | None) -> frozenset[DocKind]:
    """The documents an item prints beyond those of the case's state: a 证明 when the item has a certificate
    template, a 申请表 when one of its materials is an application form."""
    if item is None:
        return frozenset()
    docs = set()
    if item.certificate is not None:
        docs.add(DocKind.CERTIFICATE)
    if item.application_form is not None:
        docs.add(DocKind.APPLICATION)
    return frozenset(docs)


# The document handed to the resident right after an action (the wizard's outcome or a case-window action).
DOCUMENT_AFTER: dict[Action, DocKind] = {
    Action.FORWARD: DocKind.RECEIPT, Action.RESOLVE: DocKind.COMPLETION, Action.AWAIT_MATERIALS: DocKind.NOTICE,
    Action.REFUSE: DocKind.REFUSAL, Action.CLOSE: DocKind.REPLY,
}
