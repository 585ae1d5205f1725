"""Deadlines for forwarded cases: the working-day calendar plus the committee's close of business."""

from __future__ import annotations

import datetime as dt

from app.context import AppContext
from app.workdays import CalendarStore, Deadline, compute_deadline
from models import Committee

DEFAULT_CLOSE = dt.time(17, 30)


class DeadlineService:
    def __init__(self, ctx: AppContext, store: CalendarStore | None = None):
        self.ctx = ctx
        self.store = store or CalendarStore(ctx.data_dir)

    def close_of_business(self) -> dt.time:
        try:
            with self.ctx.sessions() as s:
                com = s.get(Committee, self.ctx.identity().committee_id)
                hh, mm = (com.close_of_business if com else "17:30").split(":")
                return dt.time(int(hh), int(mm))
        except (LookupError, ValueError):
            return DEFAULT_CLOSE

    def compute(self, at: dt.datetime, days: int = 2) -> Deadline:
        return compute_deadline(at, self.store.calendar, days=days, close_of_business=self.close_of_business())

    def due(self, at: dt.datetime) -> tuple[dt.datetime, bool]:
        d = self.compute(at)
        return d.due, d.provisional

    def admin_warning(self, now: dt.datetime) -> str | None:
        """For administrators: this year's or (from November) next year's holiday table is missing."""
        from app.workdays import CHINA_TZ
        return self.store.calendar.missing_next_year_warning(now.astimezone(CHINA_TZ).date())

    def countdown(self, due: dt.datetime, now: dt.datetime) -> tuple[int, str]:
        """Working days left (negative when overdue) and the Chinese text the worklist shows."""
        from app.workdays import CHINA_TZ
        today = now.astimezone(CHINA_TZ).date()
        due_day = due.astimezone(CHINA_TZ).date()
        left = self.store.calendar.working_days_between(today, due_day)
        if now > due:
            over = max(1, self.store.calendar.working_days_between(due_day, today))
            return -over, f"已超期 {over} 个工作日"
        if due_day == today:
            return 0, "今日到期"
        return left, f"剩余 {left} 个工作日"
