"""The case state machine, shared by the desk and the district server.

One table says which action moves a case from which states to which state and which role may do it.
``apply_transition`` checks, mutates the case and appends the CaseEvent; it never commits, so the caller
writes the change, the event and the outbox row in one transaction. An illegal transition raises
:class:`TransitionError` before anything is touched.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from models import Case, CaseEvent

DRAFT = "draft"
PENDING_MATERIALS = "pending_materials"
ACCEPTED = "accepted"
RESOLVED = "resolved"
FORWARDED = "forwarded"
REPLIED = "replied"
CLOSED = "closed"
REFUSED = "refused"
WITHDRAWN = "withdrawn"

STATES = (DRAFT, PENDING_MATERIALS, ACCEPTED, RESOLVED, FORWARDED, REPLIED, CLOSED, REFUSED, WITHDRAWN)
STATE_LABELS = {
    DRAFT: "草稿",
    PENDING_MATERIALS: "待补材料",
    ACCEPTED: "已受理",
    RESOLVED: "当场办结",
    FORWARDED: "已转办",
    REPLIED: "已答复",
    CLOSED: "已办结",
    REFUSED: "不予受理",
    WITHDRAWN: "已撤回",
}
FINAL_STATES = frozenset({RESOLVED, CLOSED, REFUSED, WITHDRAWN})
OPEN_STATES = frozenset(STATES) - FINAL_STATES

ANY_ROLE = None


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str | None  # None: the state does not change (acknowledge, reassign, note)
    roles: frozenset[str] | None = ANY_ROLE
    label: str = ""


def _t(action, sources, target, roles=None, label=""):
    return Transition(action, frozenset(sources), target, frozenset(roles) if roles else None, label)


_DESK = ("front_desk", "supervisor", "admin")
_LINE = ("line", "supervisor")
TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    _t("create_draft", {None}, DRAFT, _DESK, "开始办理"),
    _t("save_draft", {DRAFT}, None, _DESK, "保存草稿"),
    _t("await_materials", {DRAFT}, PENDING_MATERIALS, _DESK, "一次性告知，待补材料"),
    _t("accept", {DRAFT, PENDING_MATERIALS}, ACCEPTED, _DESK, "受理"),
    _t("resolve", {ACCEPTED}, RESOLVED, _DESK, "当场办结"),
    _t("forward", {ACCEPTED, REPLIED}, FORWARDED, _DESK, "转办"),
    _t("acknowledge", {FORWARDED}, None, _LINE, "签收"),
    _t("reassign", {FORWARDED}, None, ("supervisor",), "改派"),
    _t("reply", {FORWARDED}, REPLIED, _LINE, "答复"),
    _t("close", {REPLIED}, CLOSED, _DESK, "告知居民并办结"),
    _t("refuse", {DRAFT, PENDING_MATERIALS, ACCEPTED}, REFUSED, _DESK, "不予受理"),
    _t("withdraw", {DRAFT, PENDING_MATERIALS, ACCEPTED, FORWARDED, REPLIED}, WITHDRAWN, _DESK, "撤回"),
    _t("reopen", {CLOSED, RESOLVED, REFUSED}, ACCEPTED, ("supervisor",), "重新打开"),
    _t("note", set(STATES), None, None, "备注"),
)}

ROLE_NAMES = {"front_desk": "前台社工", "line": "条线社工", "supervisor": "站长", "admin": "管理员"}


class TransitionError(Exception):
    """An action that the case's state or the worker's role does not allow; Chinese message."""


def check_transition(state: str | None, action: str, roles: tuple[str, ...] | frozenset[str] | None) -> Transition:
    t = TRANSITIONS.get(action)
    if t is None:
        raise TransitionError(f"未知的操作：{action}")
    if state not in t.sources:
        label = STATE_LABELS.get(state or "", "新建")
        raise TransitionError(f"案件当前状态为“{label}”，不能执行“{t.label}”")
    if t.roles is not None and roles is not None and not (set(roles) & t.roles):
        need = "、".join(ROLE_NAMES.get(r, r) for r in sorted(t.roles))
        raise TransitionError(f"“{t.label}”需要以下角色之一：{need}")
    return t


REASON_REQUIRED = {"reopen": "重新打开案件必须填写原因", "reassign": "改派必须填写原因"}


def check_assignee(department: str, assignee_roles, assignee_lines) -> None:
    """A forwarded case goes to a line colleague whose responsibilities cover the item's department."""
    roles = set(assignee_roles or ())
    if not roles & {"line", "supervisor"}:
        raise TransitionError("只能转给条线社工或站长")
    if department not in set(assignee_lines or ()) and "supervisor" not in roles:
        raise TransitionError(f"所选接收人不负责“{department}”条线，请选择负责该条线的同事或部门队列")


def check_actor(case: Case, action: str, worker_id: uuid.UUID | None, roles, lines) -> None:
    """Who may acknowledge or reply to a forwarded case: its assignee; for a case waiting in a department
    queue, a colleague of that line; a supervisor always (站长 covers for an absent colleague)."""
    if action not in ("acknowledge", "reply") or roles is None or "supervisor" in set(roles):
        return
    if case.assignee_id is not None:
        if case.assignee_id != worker_id:
            raise TransitionError("该案件已转给其他同事承办，只有承办人或站长可以签收、答复")
        return
    queue = case.assignee_queue or case.department
    if queue not in set(lines or ()):
        raise TransitionError(f"该案件在“{queue}”队列中，只有负责该条线的同事可以签收、答复")


def apply_transition(case: Case, action: str, *, worker_id: uuid.UUID | None, roles, at: dt.datetime,
                     note: str = "", detail: dict | None = None) -> CaseEvent:
    """Check, then move ``case`` and append its event. The caller owns the transaction.

    Callers run :func:`check_actor` before they mutate the case (taking a case from a queue makes the
    actor its assignee, after which the check would prove nothing)."""
    current = case.state if case.state else None
    t = check_transition(current, action, roles)
    if action in REASON_REQUIRED and not note.strip():
        raise TransitionError(REASON_REQUIRED[action])
    target = t.target or current
    seq = (max((e.seq for e in case.events), default=0) + 1) if case.events else 1
    ev = CaseEvent(seq=seq, at=at, worker_id=worker_id, action=action, from_state=current, to_state=target,
                   note=note, detail=detail or {})
    case.events.append(ev)
    case.state = target
    case.version = (case.version or 0) + 1
    case.updated_at = at
    return ev
