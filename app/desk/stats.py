"""The desk's 统计 page, 台账 workbook and monthly report (issue 16): the shared figures of ``app/core/stats.py``
over this desk's committee, with its calendar and close of business. No Qt."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.core.errors import UserError
from app.core.request_stats import REQUEST_DEFINITIONS, RequestReport, compute_requests
from app.core.stats import (
    DEFINITIONS,
    Breakdown,
    LedgerRow,
    Period,
    Report,
    compute,
    ledger,
    ledger_with_report,
    parse_breakdown,
)
from app.core.workdays import CalendarStore, WorkCalendar
from app.desk.auth import WorkerInfo
from app.desk.cases import CaseDetail, CaseService
from app.desk.context import AppContext
from app.desk.deadlines import DeadlineService


class StatsPermissionError(UserError):
    """The worker may not export the 台账 or the monthly report; Chinese message."""


class StatsService:
    def __init__(self, ctx: AppContext, store: CalendarStore | None = None):
        self.ctx = ctx
        self.store = store or CalendarStore(ctx.data_dir)

    @property
    def calendar(self) -> WorkCalendar:
        return self.store.calendar

    @property
    def definitions(self) -> tuple[tuple[str, str], ...]:
        """The service figures' definitions, then the 诉求's (issue 20)."""
        return DEFINITIONS + REQUEST_DEFINITIONS

    def committee_id(self) -> uuid.UUID:
        return self.ctx.identity().committee_id

    def scope(self) -> str:
        """The committee's name: what the page, the workbook and the PDF are titled with."""
        return self.ctx.identity().committee_name

    def close_of_business(self) -> dt.time:
        return DeadlineService(self.ctx, self.store).close_of_business()

    def today(self) -> dt.date:
        """The China-time day of the desk's corrected clock (what 本月 / 上月 start from)."""
        from app.core.vocabulary import CHINA_TZ
        return self.ctx.now().astimezone(CHINA_TZ).date()

    def report(self, actor: WorkerInfo | None, period: Period, breakdown: Breakdown | str,
               now: dt.datetime | None = None) -> Report:
        """The period's figures by ``breakdown`` and the overdue lists as of ``now`` (default: the desk's clock)."""
        _logged_in(actor)
        breakdown = parse_breakdown(breakdown)
        now = now or self.ctx.now()
        closes = self.close_of_business()
        committee_id = self.committee_id()
        labels = self.category_labels()
        with self.ctx.sessions() as s:
            report = compute(s, period=period, breakdown=breakdown, now=now, calendar=self.calendar,
                             committee_ids=[committee_id], scope=self.scope(), close_of_business=lambda _cid: closes)
            requests = compute_requests(s, period=period, now=now, committee_ids=[committee_id],
                                        category_labels=labels)
        return dataclasses.replace(report, requests=requests)

    def requests(self, actor: WorkerInfo | None, period: Period, now: dt.datetime | None = None) -> RequestReport:
        """The period's 诉求 figures alone (app/core/request_stats.py)."""
        _logged_in(actor)
        labels = self.category_labels()
        with self.ctx.sessions() as s:
            return compute_requests(s, period=period, now=now or self.ctx.now(),
                                    committee_ids=[self.committee_id()], category_labels=labels)

    def category_labels(self) -> dict[str, str]:
        """code → label of the district's 诉求 categories (forms/items/catalog.yaml), in the list's order."""
        from app.core.requests import request_categories
        from app.desk.catalog.refs import shared_catalog
        return dict(request_categories(shared_catalog(self.ctx.data_dir)))

    def ledger(self, actor: WorkerInfo | None, period: Period, now: dt.datetime | None = None) -> Iterator[LedgerRow]:
        """The period's cases, one 台账 row each (applicant masked), streamed from one read session."""
        _logged_in(actor)
        return self._ledger(period, now or self.ctx.now(), self.committee_id())

    def _ledger(self, period: Period, now: dt.datetime, committee_id: uuid.UUID) -> Iterator[LedgerRow]:
        with self.ctx.sessions() as s:
            yield from ledger(s, period=period, now=now, committee_ids=[committee_id])

    @contextmanager
    def ledger_and_report(self, actor: WorkerInfo | None, period: Period, breakdown: Breakdown | str,
                          now: dt.datetime | None = None
                          ) -> Iterator[tuple[Iterator[LedgerRow], Callable[[], Report]]]:
        """For the workbook: the 台账 rows and, once they are read, the report, from one reading of the period
        in one read session (open while the block runs)."""
        _logged_in(actor)
        closes = self.close_of_business()
        labels = self.category_labels()
        now = now or self.ctx.now()
        with self.ctx.sessions() as s:
            rows, report = ledger_with_report(s, period=period, breakdown=parse_breakdown(breakdown),
                                              now=now, calendar=self.calendar,
                                              committee_ids=[self.committee_id()], scope=self.scope(),
                                              close_of_business=lambda _cid: closes)
            requests = compute_requests(s, period=period, now=now, committee_ids=[self.committee_id()],
                                        category_labels=labels)

            def with_requests() -> Report:
                return dataclasses.replace(report(), requests=requests)
            try:
                yield rows, with_requests
            finally:
                rows.close()  # a failed write stops reading: the cursor closes before the session does

    def write_workbook(self, actor: WorkerInfo | None, period: Period, path: Path | str) -> Path:
        """The 台账 as an Excel workbook (app/desk/report_files.py); 站长 and 管理员 only."""
        _may_export(actor, "导出台账")
        from app.desk.report_files import write_desk_workbook
        return write_desk_workbook(self, actor, period, Path(path))

    def write_pdf(self, actor: WorkerInfo | None, period: Period, path: Path | str) -> Path:
        """The monthly report PDF for the street office; 站长 and 管理员 only."""
        _may_export(actor, "生成月报")
        from app.desk.report_files import write_desk_pdf
        return write_desk_pdf(self, actor, period, Path(path))

    def remind(self, actor: WorkerInfo, case_id: uuid.UUID, note: str = "") -> CaseDetail:
        """催办 from the overdue list: a reminder event to the assignee (the case action's own rules apply)."""
        return CaseService(self.ctx).remind(actor, case_id, note)


def _logged_in(actor: WorkerInfo | None) -> WorkerInfo:
    if actor is None:
        raise StatsPermissionError("请先登录")
    return actor


def _may_export(actor: WorkerInfo | None, what: str) -> None:
    if not _logged_in(actor).manages_desk:
        raise StatsPermissionError(f"只有站长或管理员可以{what}")
