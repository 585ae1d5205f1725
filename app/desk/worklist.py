"""Worklist (待办) queries: paged, sorted and filtered in SQL so each tab opens instantly at 150,000 cases."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import aliased

from app.core import machine as cm
from app.core import rule_notes
from app.core.vocabulary import CHINA_TZ, AcceptanceMode, Role, State
from app.desk.auth import WorkerInfo
from app.desk.context import AppContext
from app.desk.deadlines import DeadlineService
from app.desk.unapplied import UnappliedWork, unapplied_work
from forms.identity import mask_id
from models import Case, Resident, Worker

TABS = (
    ("mine", "转给我的"),
    ("sent", "本窗口转出"),
    ("due_today", "今日到期"),
    ("overdue", "已超期"),
    ("pending", State.PENDING_MATERIALS.label),
    ("makeup", "容缺待补"),
    ("drafts", State.DRAFT.label),
)
# Lists that are not of cases: the worker's own work the district server did not take (app/desk/unapplied.py).
NOTICE_TABS = (("unapplied", "未生效"),)
SORT_COLUMNS = {"case_number": Case.case_number, "item": Case.item_name, "state": Case.state,
                "due": Case.due_at, "created": Case.created_at, "applicant": Resident.name}


@dataclass(frozen=True, kw_only=True)
class WorklistRow:
    id: uuid.UUID
    case_number: str
    item_name: str
    applicant: str
    applicant_id_masked: str
    state: str
    state_label: str
    assignee: str
    due_at: dt.datetime | None
    provisional: bool
    countdown: str
    urgency: str  # "", "due_today", "overdue"
    warned: bool = False  # accepted over a failed warn rule (the resident insisted): the case window says which


def _local_day(now: dt.datetime) -> dt.date:
    return now.astimezone(CHINA_TZ).date()


def _owes_makeup():
    """容缺受理 cases still waiting for a pledged material (``Case.makeup_materials`` not empty)."""
    return and_(Case.acceptance_mode == AcceptanceMode.DEFERRED, Case.makeup_due.is_not(None),
                func.json_array_length(Case.makeup_materials) > 0)


class WorklistService:
    def __init__(self, ctx: AppContext, deadlines: DeadlineService | None = None):
        self.ctx = ctx
        self.deadlines = deadlines or DeadlineService(ctx)

    def _day_bounds(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        local = now.astimezone(CHINA_TZ)
        start = dt.datetime.combine(local.date(), dt.time(0), CHINA_TZ)
        return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)

    def _where(self, tab: str, worker: WorkerInfo, now: dt.datetime):
        start, end = self._day_bounds(now)
        forwarded = Case.state == cm.FORWARDED
        if tab == "mine":
            queue = and_(Case.assignee_id.is_(None), Case.assignee_queue.in_(worker.lines)) if worker.lines else false()
            return and_(forwarded, or_(Case.assignee_id == worker.id, queue))
        if tab == "sent":
            sent_here = Case.origin_device_code == self.ctx.identity().device_code
            return and_(Case.state.in_((cm.FORWARDED, cm.REPLIED)), sent_here)
        if tab in ("due_today", "overdue"):
            when = (and_(Case.due_at >= max(start, now), Case.due_at < end) if tab == "due_today"
                    else Case.due_at < now)
            if worker.has_role(Role.SUPERVISOR):  # the supervisor's list: every overdue case of the committee
                if tab == "overdue":  # … and every 容缺 make-up past its deadline (rules.md §8)
                    return or_(and_(forwarded, when), and_(_owes_makeup(), Case.makeup_due < _local_day(now)))
                return and_(forwarded, when)
            own = [self._where("mine", worker, now)]
            if worker.has_role(Role.FRONT_DESK):  # the desk follows up what it sent; a line colleague only their own
                own.append(self._where("sent", worker, now))
            return and_(forwarded, when, or_(*own))
        if tab == "pending":
            return Case.state == cm.PENDING_MATERIALS
        if tab == "makeup":
            return _owes_makeup()
        if tab == "drafts":
            return and_(Case.state == cm.DRAFT, Case.created_by_id == worker.id)
        raise ValueError(f"unknown tab {tab}")

    def _query(self, tab: str, worker: WorkerInfo, text: str, now: dt.datetime, *,
               with_resident: bool = False) -> Select:
        stmt = select(Case.id).where(self._where(tab, worker, now))
        if text.strip() or with_resident:
            stmt = stmt.outerjoin(Resident, Resident.id == Case.applicant_id)
        if text.strip():
            like = f"%{text.strip()}%"
            stmt = stmt.where(or_(Case.case_number.like(like), Case.item_name.like(like), Resident.name.like(like)))
        return stmt

    def count(self, tab: str, worker: WorkerInfo, text: str = "", now: dt.datetime | None = None) -> int:
        now = now or self.ctx.now()  # corrected time (app/desk/clock.py)
        with self.ctx.sessions() as s:
            return s.scalar(select(func.count()).select_from(self._query(tab, worker, text, now).subquery())) or 0

    def page(self, tab: str, worker: WorkerInfo, *, offset: int = 0, limit: int = 100, text: str = "",
             sort: str = "due", descending: bool = False, now: dt.datetime | None = None) -> list[WorklistRow]:
        now = now or self.ctx.now()  # corrected time (app/desk/clock.py)
        col = SORT_COLUMNS.get(sort, Case.due_at)
        order = (col.desc() if descending else col.asc(), Case.case_number.asc())
        assignee = aliased(Worker)
        ids = (self._query(tab, worker, text, now, with_resident=sort == "applicant")
               .order_by(*order).offset(offset).limit(limit).subquery())
        stmt = (select(Case, Resident.name, Resident.id_number, assignee.display_name)
                .join(ids, ids.c.id == Case.id)
                .outerjoin(Resident, Resident.id == Case.applicant_id)
                .outerjoin(assignee, assignee.id == Case.assignee_id)
                .order_by(*order))
        with self.ctx.sessions() as s:
            return [self._row(c, name, idn, aname, now, tab) for c, name, idn, aname in s.execute(stmt)]

    def _row(self, c: Case, name, id_number, assignee_name, now, tab: str = "") -> WorklistRow:
        countdown, urgency = "", ""
        if c.due_at is not None and c.state == cm.FORWARDED:
            left, countdown = self.deadlines.countdown(c.due_at, now)
            urgency = "overdue" if left < 0 else ("due_today" if left == 0 else "")
            if c.deadline_provisional:
                countdown += "（暂定）"
        owes = cm.owes_makeup(c) and c.makeup_due is not None
        if owes and c.makeup_due is not None and (tab == "makeup" or (tab == "overdue" and urgency != "overdue")):
            left, countdown = self.deadlines.makeup_countdown(c.makeup_due, now)  # what this list is about
            urgency = "overdue" if left < 0 else ("due_today" if left == 0 else "")
        return WorklistRow(id=c.id, case_number=c.case_number, item_name=c.item_name, applicant=name or "",
                           applicant_id_masked=mask_id(id_number), state=c.state,
                           state_label=cm.STATE_LABELS.get(c.state, c.state) + ("（容缺待补）" if owes else ""),
                           assignee=assignee_name or c.assignee_queue or "", due_at=c.due_at,
                           provisional=c.deadline_provisional, countdown=countdown, urgency=urgency,
                           warned=rule_notes.warned(c.rule_warnings))

    def unapplied(self, worker: WorkerInfo, text: str = "") -> list[UnappliedWork]:
        """The 未生效 tab: ``worker``'s own case work the server set aside, with what they wrote and why."""
        with self.ctx.sessions() as s:
            return unapplied_work(s, worker, text)

    def reminder(self, worker: WorkerInfo, now: dt.datetime | None = None) -> tuple[int, int]:
        """(due today, overdue) among the worker's own cases — or all of them for a supervisor."""
        now = now or self.ctx.now()  # corrected time (app/desk/clock.py)
        with self.ctx.sessions() as s:
            def n(tab):
                return s.scalar(select(func.count()).select_from(Case).where(self._where(tab, worker, now))) or 0
            return n("due_today"), n("overdue")
