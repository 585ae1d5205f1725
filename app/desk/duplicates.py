"""Duplicate application check (issue 13): the same item started again for the same resident.

Starting an item for a resident warns — and never refuses — when the resident already has a case of that item
that is still open (with materials awaited, accepted, with the department, or answered and not yet closed), or one
resolved or closed within the item's ``repeat_window_days`` (e.g. 365 for 尊老金): a second application is most
often a mistake or a resident who did not know the first one is running. Drafts do not count (the wizard's own
case is one), nor cases refused (不予受理) or withdrawn: those granted nothing. Windows are measured on the desk's
working clock (``ctx.now()``, app/desk/clock.py) against the time the case was resolved or closed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select

from app.core.machine import OPEN_STATES
from app.core.vocabulary import STATE_LABELS, ReplyResult, State, chinese_date
from app.desk.context import AppContext
from models import Case

# Open for this check: every open state but the draft.
PENDING_STATES = frozenset(OPEN_STATES - {State.DRAFT})
# Finished with something granted or done: counted within the item's repeat window.
DONE_STATES = frozenset({State.RESOLVED, State.CLOSED})


@dataclass(frozen=True, kw_only=True)
class EarlierCase:
    """A case of the same item and resident the worker should look at before applying again."""

    case_id: uuid.UUID
    case_number: str
    item_name: str
    state: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    reply_result: str | None
    window_days: int | None

    @property
    def is_open(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def state_label(self) -> str:
        label = STATE_LABELS.get(self.state, self.state)
        if self.state == State.CLOSED and self.reply_result:
            label += f"，答复：{ReplyResult(self.reply_result).label}"
        return label

    @property
    def message(self) -> str:
        """One sentence for the worker: which case, in which state, since or until when."""
        if self.is_open:
            return (f"该居民已有正在办理的“{self.item_name}”案件 {self.case_number}（{self.state_label}，"
                    f"{chinese_date(self.started_at)}开始办理）。")
        return (f"该居民的“{self.item_name}”案件 {self.case_number} 已于 {chinese_date(self.finished_at)}办结"
                f"（{self.state_label}），距今不足 {self.window_days} 天。")




def warning_text(cases: list[EarlierCase]) -> str:
    """The wizard's notice: every earlier case, then what the worker may do (continue or look first)."""
    if not cases:
        return ""
    lines = [c.message for c in cases]
    lines.append("请先查看该案件，避免重复申请；确需再次申请的，可以继续办理。")
    return "重复申请提醒：" + "\n".join(lines)


def earlier_cases(ctx: AppContext, resident_id: uuid.UUID | None, item_code: str, window_days: int | None, *,
                  now: dt.datetime | None = None) -> list[EarlierCase]:
    """The resident's open cases of the item, and those resolved or closed within ``window_days`` of ``now``
    (the working clock by default); open ones first, then the most recent. Empty without a resident."""
    if resident_id is None:
        return []
    now = now or ctx.now()
    recent: ColumnElement[bool] = Case.state.in_(PENDING_STATES)
    if window_days:
        since = now - dt.timedelta(days=window_days)
        recent = or_(recent, and_(Case.state.in_(DONE_STATES), Case.closed_at >= since))
    query = (select(Case).where(Case.applicant_id == resident_id, Case.item_code == item_code, recent)
             .order_by(Case.created_at.desc()))
    with ctx.sessions() as s:
        rows = [EarlierCase(case_id=c.id, case_number=c.case_number, item_name=c.item_name, state=c.state,
                            started_at=c.created_at, finished_at=c.closed_at, reply_result=c.reply_result,
                            window_days=window_days) for c in s.scalars(query)]
    return sorted(rows, key=lambda c: not c.is_open)  # stable: newest first within each group
