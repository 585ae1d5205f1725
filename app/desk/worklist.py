"""Worklist (待办) queries: paged, sorted and filtered in SQL so each tab opens instantly at 150,000 cases."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlalchemy.orm import aliased

from app.core import machine as cm
from app.core import ratings, rule_notes
from app.core.requests import OVERDUE, SOON, request_clock, request_state_label
from app.core.vocabulary import (
    CHINA_TZ,
    REPLY_RESULTS,
    AcceptanceMode,
    CaseKind,
    RatingLevel,
    Role,
    State,
    Urgency,
    rating_label,
)
from app.desk.auth import WorkerInfo
from app.desk.context import AppContext
from app.desk.deadlines import DeadlineService
from app.desk.unapplied import UnappliedWork, unapplied_work
from forms.identity import mask_id
from models import Case, CaseReplySeen, Resident, Worker

TABS = (
    ("mine", "转给我的"),
    ("requests", "诉求"),  # issue 20: open 诉求 of the viewer (a 站长/admin: of the committee)
    ("sent", "本窗口转出"),
    ("due_today", "今日到期"),
    ("overdue", "已超期"),
    ("followup", "差评回访"),
    ("pending", State.PENDING_MATERIALS.label),
    ("makeup", "容缺待补"),
    ("drafts", State.DRAFT.label),
)
# Tabs only a 站长 or an administrator is shown (WorklistService.tabs_for).
MANAGER_TABS = frozenset({"followup"})
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
    followup: str = ""  # a bad rating's follow-up still owed: "待回访" / "待整改" (ratings.STAGE_LABELS)
    rating_label: str = ""  # the first rating's label when a follow-up is owed
    remind_count: int = 0  # 催办 sent to the assignee of this forwarded case
    reminded_at: dt.datetime | None = None
    reply_unseen: bool = False  # the department replied and no worker who informs the resident opened it yet
    # 诉求 (issue 20): the row of a request, its 24-hour clock (app/core/requests.py: label, and level "ok" |
    # "soon" (yellow) | "overdue" (red) | "done") and whether the resident marked it urgent (紧急).
    kind: str = "service"
    clock_label: str = ""
    clock_level: str = ""
    urgent: bool = False


@dataclass(frozen=True, kw_only=True)
class ReplyNotice:
    """A reply this desk has not read: what the status bar names (issue 19)."""

    case_id: uuid.UUID
    case_number: str
    item_name: str
    reply_label: str
    replied_at: dt.datetime


def _reply_unseen():
    """``app.desk.cases.reply_unseen`` in SQL (with ``CaseReplySeen`` outer-joined on the case)."""
    return and_(Case.state == cm.REPLIED, Case.replied_at.is_not(None),
                or_(CaseReplySeen.case_id.is_(None), CaseReplySeen.replied_at != Case.replied_at))


def _local_day(now: dt.datetime) -> dt.date:
    return now.astimezone(CHINA_TZ).date()


def _owes_makeup():
    """容缺受理 cases still waiting for a pledged material (``Case.makeup_materials`` not empty)."""
    return and_(Case.acceptance_mode == AcceptanceMode.DEFERRED, Case.makeup_due.is_not(None),
                func.json_array_length(Case.makeup_materials) > 0)


def _followup_open():
    """A bad first rating whose follow-up is not done (``ratings.followup_stage`` in callback or fix)."""
    return and_(Case.rating.in_([str(lv) for lv in RatingLevel if lv.bad]), Case.followup_callback_due.is_not(None),
                Case.followup_fixed_at.is_(None))


SERVICE = Case.kind != CaseKind.REQUEST  # the service items' cases: what the service tabs list
REQUEST = Case.kind == CaseKind.REQUEST
_OPEN_REQUEST = and_(REQUEST, Case.state.in_((cm.ACCEPTED, cm.IN_PROGRESS)))


def _request_due():
    """What a request's clock counts to (``request_clock`` in SQL): the 24-hour feedback until it is given, then
    the handler's promised time (NULL: nothing to count to)."""
    return case((Case.first_feedback_at.is_(None), Case.feedback_due_at), else_=Case.promised_at)


def _request_overdue(now: dt.datetime):
    """Open requests whose first feedback is late, or whose promised time has passed."""
    return and_(_OPEN_REQUEST, _request_due() <= now)


def _followup_due():
    """``ratings.followup_next_due`` in SQL: the call-back's deadline until it is recorded, then the fix's."""
    return case((Case.followup_called_at.is_(None), Case.followup_callback_due), else_=Case.followup_fix_due)


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
        if tab == "requests":  # the viewer's open requests; a 站长/admin sees the committee's
            return _OPEN_REQUEST if worker.manages_desk else and_(_OPEN_REQUEST, Case.assignee_id == worker.id)
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
                due = _followup_due()  # … and every bad rating's follow-up due today or late (rules.md §3)
                followup = and_(_followup_open(), (and_(due >= max(start, now), due < end) if tab == "due_today"
                                                   else due < now))
                if tab == "overdue":  # … and every 容缺 make-up past its deadline (rules.md §8), every late 诉求
                    return or_(and_(forwarded, when), and_(_owes_makeup(), Case.makeup_due < _local_day(now)),
                               followup, _request_overdue(now))
                return or_(and_(forwarded, when), followup)
            own = [self._where("mine", worker, now)]
            if worker.has_role(Role.FRONT_DESK):  # the desk follows up what it sent; a line colleague only their own
                own.append(self._where("sent", worker, now))
            mine = and_(forwarded, when, or_(*own))
            if tab == "overdue":  # … and the late 诉求 the worker is responsible for
                return or_(mine, and_(_request_overdue(now), Case.assignee_id == worker.id))
            return mine
        if tab == "followup":  # the 站长's follow-ups of bad ratings (an administrator may look at them too)
            return _followup_open() if worker.manages_desk else false()
        if tab == "pending":
            return and_(Case.state == cm.PENDING_MATERIALS, SERVICE)
        if tab == "makeup":
            return and_(_owes_makeup(), SERVICE)
        if tab == "drafts":  # a 诉求 is registered as it is created: never a draft to resume
            return and_(Case.state == cm.DRAFT, Case.created_by_id == worker.id, SERVICE)
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
        col: Any = SORT_COLUMNS.get(sort, Case.due_at)
        if tab == "followup" and sort == "due":  # this list is about the follow-up's deadline
            col = _followup_due()
        elif sort == "due" and tab in ("requests", "overdue"):  # a request's clock, a case's deadline
            col = func.coalesce(Case.due_at, _request_due())
        order = (col.desc() if descending else col.asc(), Case.case_number.asc())
        assignee = aliased(Worker)
        ids = (self._query(tab, worker, text, now, with_resident=sort == "applicant")
               .order_by(*order).offset(offset).limit(limit).subquery())
        stmt = (select(Case, Resident.name, Resident.id_number, assignee.display_name, CaseReplySeen.replied_at)
                .join(ids, ids.c.id == Case.id)
                .outerjoin(Resident, Resident.id == Case.applicant_id)
                .outerjoin(assignee, assignee.id == Case.assignee_id)
                .outerjoin(CaseReplySeen, CaseReplySeen.case_id == Case.id)
                .order_by(*order))
        with self.ctx.sessions() as s:
            return [self._row(c, name, idn, aname, now, tab, seen) for c, name, idn, aname, seen in s.execute(stmt)]

    def replies_to_read(self, worker: WorkerInfo, limit: int = 20) -> tuple[int, list[ReplyNotice]]:
        """Replies to cases sent from this desk that nobody who informs the resident has opened yet, newest
        first: (how many, the first ``limit``). None for a worker who does not inform residents."""
        if not cm.informs_resident(cm.REPLIED, worker.roles):
            return 0, []
        where = and_(Case.origin_device_code == self.ctx.identity().device_code, _reply_unseen())
        base = select(Case).outerjoin(CaseReplySeen, CaseReplySeen.case_id == Case.id).where(where)
        with self.ctx.sessions() as s:
            total = s.scalar(select(func.count()).select_from(base.subquery())) or 0
            rows = s.scalars(base.order_by(Case.replied_at.desc()).limit(limit)).all()
            return total, [ReplyNotice(case_id=c.id, case_number=c.case_number, item_name=c.item_name,
                                       reply_label=REPLY_RESULTS.get(c.reply_result or "", ""),
                                       replied_at=c.replied_at or c.updated_at) for c in rows]

    def _row(self, c: Case, name, id_number, assignee_name, now, tab: str = "",
             seen_reply: dt.datetime | None = None) -> WorklistRow:
        if c.kind == CaseKind.REQUEST:
            return self._request_row(c, name, id_number, assignee_name, now)
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
        stage = ratings.followup_stage(c)
        owed = ratings.STAGE_LABELS[stage] if stage and stage != ratings.FollowupStage.DONE else ""
        followup_due = ratings.followup_next_due(c) if owed else None
        due_at, state_label = c.due_at, cm.state_label(c) + ("（容缺待补）" if owes else "")
        if followup_due is not None and (tab == "followup" or (tab in ("overdue", "due_today") and urgency == "")):
            left, countdown = self.deadlines.countdown(followup_due, now)  # what this list is about
            urgency = "overdue" if left < 0 else ("due_today" if left == 0 else "")
            if tab == "followup":
                due_at, state_label = followup_due, f"{owed}（{rating_label(c.rating)}）"
            else:
                countdown, state_label = f"{owed}：{countdown}", f"{state_label}（差评{owed}）"
        reminded = c.remind_count or 0
        if reminded and c.state == cm.FORWARDED and tab != "followup":  # 催办 reaches the assignee's list
            countdown = f"{countdown}（已催办 {reminded} 次）" if countdown else f"已催办 {reminded} 次"
        return WorklistRow(id=c.id, case_number=c.case_number, item_name=c.item_name, applicant=name or "",
                           applicant_id_masked=mask_id(id_number), state=c.state, state_label=state_label,
                           assignee=assignee_name or c.assignee_queue or "", due_at=due_at,
                           provisional=c.deadline_provisional and due_at == c.due_at, countdown=countdown,
                           urgency=urgency, warned=rule_notes.warned(c.rule_warnings), followup=owed,
                           rating_label=rating_label(c.rating) if owed else "", remind_count=reminded,
                           reminded_at=c.reminded_at,
                           reply_unseen=tab != "followup" and c.state == cm.REPLIED and c.replied_at is not None
                           and seen_reply != c.replied_at)

    @staticmethod
    def _request_row(c: Case, name, id_number, assignee_name, now: dt.datetime) -> WorklistRow:
        """A 诉求's row: its 24-hour clock is what the row counts (yellow at 4 h left, red once late)."""
        clock = request_clock(c, now)
        data = c.data or {}
        who = name or str(data.get("contact_name") or "") or ("匿名" if data.get("anonymous") else "")
        urgency = {OVERDUE: "overdue", SOON: "due_today"}.get(clock.level, "")
        return WorklistRow(id=c.id, case_number=c.case_number, item_name=c.item_name, applicant=who,
                           applicant_id_masked=mask_id(id_number), state=c.state,
                           state_label=request_state_label(c.state), assignee=assignee_name or "",
                           due_at=clock.due_at, provisional=False, countdown=clock.label, urgency=urgency,
                           remind_count=c.remind_count or 0, reminded_at=c.reminded_at, kind=str(CaseKind.REQUEST),
                           clock_label=clock.label, clock_level=clock.level, urgent=c.urgency == Urgency.URGENT)

    def tabs_for(self, worker: WorkerInfo) -> list[str]:
        """The worklist tabs ``worker`` is shown (差评回访 only to a 站长 or an administrator)."""
        return [key for key, _label in TABS if key not in MANAGER_TABS or worker.manages_desk]

    def unapplied(self, worker: WorkerInfo, text: str = "") -> list[UnappliedWork]:
        """The 未生效 tab: ``worker``'s own case work the server set aside, with what they wrote and why."""
        with self.ctx.sessions() as s:
            return unapplied_work(s, worker, text)

    def reminder(self, worker: WorkerInfo, now: dt.datetime | None = None) -> tuple[int, int]:
        """(due today, overdue) among the worker's own cases — or all of them for a supervisor, with the bad
        ratings' follow-ups due today or late and the late 容缺 make-ups."""
        now = now or self.ctx.now()  # corrected time (app/desk/clock.py)
        with self.ctx.sessions() as s:
            def n(tab):
                return s.scalar(select(func.count()).select_from(Case).where(self._where(tab, worker, now))) or 0
            return n("due_today"), n("overdue")
