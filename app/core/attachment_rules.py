"""Who may add a file to a case (or a resident) and who may take one off — one rule for desk and server (issue 15).

Each function returns None when allowed, else the reason in Chinese without a closing mark; the desk shows it
to the worker (``AttachmentService``), the server sets the command aside with it (``app/server/attachments.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from app.core import machine as cm
from app.core.requests import is_request
from app.core.vocabulary import STATE_LABELS, Action, Role, State

# No file is added to a case that has ended; a supervisor or administrator may still take one off it.
FINISHED = frozenset({State.CLOSED, State.REFUSED, State.WITHDRAWN})
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
# Who may add or take off a file at all: any role that acts on cases (the desk roles and the line colleagues).
ATTACHMENT_ROLES = cm.DESK_ROLES | cm.LINE_ROLES
ROLE_REFUSED = "操作人的角色不能办理案件"


def role_refusal(roles: Iterable[str]) -> str | None:
    """The first gate of every attachment command, before the case is looked at: a role that acts on cases."""
    return None if set(roles) & ATTACHMENT_ROLES else ROLE_REFUSED


def add_refusal(case, worker_id: uuid.UUID, roles: Iterable[str], lines: Iterable[str]) -> str | None:
    """``case`` None: a file on a resident alone (desk roles only). The front desk, supervisors and
    administrators add to any case not ended; a line colleague only to a forwarded or replied case that is with
    them (its assignee, or one of the queue's line: the same test as replying). A 诉求 takes photos until it is
    withdrawn (a closed one too: the photo of what was done) from its 块长, the worker who registered it, a 站长
    or an administrator."""
    roles = set(roles)
    if why := role_refusal(roles):
        return why
    if case is None:
        return None if roles & cm.DESK_ROLES else "只有前台社工、站长或管理员可以为居民添加附件"
    if is_request(case):  # 诉求 (issue 20): its photos, at intake or of the result, by whoever may act on it
        if case.state == State.WITHDRAWN:
            return "诉求已撤回，不能再添加附件"
        try:
            cm.check_actor(case, Action.CLOSE_REQUEST, worker_id, tuple(roles), tuple(lines))
        except cm.TransitionError:
            return "该诉求由其他同事负责，不能为其添加附件"
        return None
    if case.state in FINISHED:
        return f"案件状态为“{STATE_LABELS.get(case.state, case.state)}”，不能再添加附件"
    if roles & cm.DESK_ROLES:
        return None
    if Role.LINE in roles and case.state in (State.FORWARDED, State.REPLIED):
        try:
            cm.check_actor(case, Action.REPLY, worker_id, tuple(roles), tuple(lines))
        except cm.TransitionError:
            return "该案件由其他同事承办，不能为其添加附件"
        return None
    return "该角色不能为该案件添加附件"


def remove_refusal(added_by_id: uuid.UUID | None, worker_id: uuid.UUID, roles: Iterable[str],
                   case_state: str | None) -> str | None:
    """The worker who added a file may take it off while its case has not ended; a supervisor or an
    administrator always (a worker whose roles no longer act on cases: nobody)."""
    roles = set(roles)
    if why := role_refusal(roles):
        return why
    if roles & MANAGERS:
        return None
    if added_by_id != worker_id:
        return "只有添加该附件的同事、站长或管理员可以移除附件"
    if case_state in FINISHED:
        return f"案件状态为“{STATE_LABELS.get(case_state, case_state)}”，只有站长或管理员可以移除附件"
    return None
