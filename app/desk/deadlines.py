"""Deadlines for forwarded cases: the working-day calendar plus the committee's close of business."""

from __future__ import annotations

import datetime as dt

from app.core.changes import Changes
from app.core.errors import UserError
from app.core.workdays import (
    DEFAULT_CLOSE_OF_BUSINESS,
    CalendarStore,
    Deadline,
    compute_deadline,
    makeup_deadline,
    parse_close_of_business,
)
from app.desk.context import AppContext
from models import Committee

DEFAULT_CLOSE = DEFAULT_CLOSE_OF_BUSINESS


class DeadlineError(UserError, ValueError):
    """Invalid deadline setting; Chinese message."""


class DeadlineService:
    def __init__(self, ctx: AppContext, store: CalendarStore | None = None):
        self.ctx = ctx
        self.store = store or CalendarStore(ctx.data_dir)

    def close_of_business(self) -> dt.time:
        try:
            with self.ctx.sessions() as s:
                com = s.get(Committee, self.ctx.identity().committee_id)
                return parse_close_of_business(com.close_of_business if com else None)
        except LookupError:
            return DEFAULT_CLOSE

    def set_close_of_business(self, actor, value: str) -> Changes:
        """Per committee (some close at 17:00); only an administrator changes it. Synced down from the server too."""
        import re
        if not actor.manages_desk:
            raise DeadlineError("只有站长或管理员可以修改下班时间")
        m = re.fullmatch(r"([01]?\d|2[0-3])[:：]([0-5]\d)", value.strip())
        if not m:
            raise DeadlineError("下班时间格式应为 时:分，例如 17:30")
        committee_id = self.ctx.identity().committee_id
        with self.ctx.sessions.begin() as s:
            com = s.get_one(Committee, committee_id)
            com.close_of_business = f"{int(m.group(1)):02d}:{m.group(2)}"
            com.version += 1
        return Changes(settings=True)

    def compute(self, at: dt.datetime, days: int = 2) -> Deadline:
        return compute_deadline(at, self.store.calendar, days=days, close_of_business=self.close_of_business())

    def makeup_due(self, at: dt.datetime, days: int) -> tuple[dt.date, bool]:
        """容缺受理: the day the applicant brings the missing material by, and whether it is provisional."""
        return makeup_deadline(at, self.store.calendar, days)

    def followup_days(self):
        """The district's bad-rating follow-up deadlines (working days), from the committee's synced settings."""
        from app.core.ratings import followup_days
        with self.ctx.sessions() as s:
            com = s.get(Committee, self.ctx.identity().committee_id)
            return followup_days(com.settings if com else None)

    def followup(self, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """Call-back and fix deadlines of a bad rating given at ``at`` (call outside the write transaction)."""
        from app.core.ratings import followup_deadlines
        return followup_deadlines(at, self.store.calendar, self.followup_days(), self.close_of_business())

    def due(self, at: dt.datetime) -> tuple[dt.datetime, bool]:
        d = self.compute(at)
        return d.due, d.provisional

    def admin_warning(self, now: dt.datetime) -> str | None:
        """For administrators: this year's or (from November) next year's holiday table is missing."""
        from app.core.workdays import CHINA_TZ
        return self.store.calendar.missing_next_year_warning(now.astimezone(CHINA_TZ).date())

    def makeup_countdown(self, due: dt.date, now: dt.datetime) -> tuple[int, str]:
        """容缺受理: working days left to bring the pledged material (negative when overdue) and the text shown.
        The applicant has the whole due day."""
        from app.core.workdays import CHINA_TZ
        today = now.astimezone(CHINA_TZ).date()
        if today > due:
            over = max(1, self.store.calendar.working_days_between(due, today))
            return -over, f"补交已超期 {over} 个工作日（{due:%m月%d日}截止）"
        if today == due:
            return 0, "今日补交截止"
        left = self.store.calendar.working_days_between(today, due)
        return left, f"补交剩余 {left} 个工作日（{due:%m月%d日}截止）"

    def countdown(self, due: dt.datetime, now: dt.datetime) -> tuple[int, str]:
        """Working days left (negative when overdue) and the Chinese text the worklist shows."""
        from app.core.workdays import CHINA_TZ
        today = now.astimezone(CHINA_TZ).date()
        due_day = due.astimezone(CHINA_TZ).date()
        left = self.store.calendar.working_days_between(today, due_day)
        if now > due and due_day == today:  # after close of business on the due day: late, but not by a day
            return -1, f"已超期（今日 {due.astimezone(CHINA_TZ):%H:%M} 截止）"
        if now > due:
            over = max(1, self.store.calendar.working_days_between(due_day, today))
            return -over, f"已超期 {over} 个工作日"
        if due_day == today:
            return 0, "今日到期"
        return left, f"剩余 {left} 个工作日"
