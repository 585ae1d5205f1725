"""The 统计 figures and the 台账, computed once from the cases and their events (issue 16).

One module for the desk's 统计 page, the Excel workbook, the monthly report PDF and the district server's report:
each passes its own SQLAlchemy session (the desk's SQLite, the server's PostgreSQL) and calendar. Nothing here
writes. The definitions (:data:`DEFINITIONS`) are the words the page's help, the workbook and the PDF print;
ARCHITECTURE.md states the same.

Definitions, in short (see :data:`DEFINITIONS` for the Chinese text):
- a case *of the period* was accepted (``accepted_at``, China time) on one of the period's days; drafts and
  cases never accepted (一次性告知 still waiting, refused at the window) are not cases of any period;
- 办件量 counts the period's cases except the withdrawn ones (counted apart as 撤回);
- 即办: resolved on the spot without a forwarding; 转办: forwarded at least once; 在办: neither yet;
- every forwarding (a re-forwarded case counts each) is judged against its own deadline (the ``due_at`` its
  forward event recorded): replied at or before it is 按时, after it (even minutes after close of business on
  the due day) 超期; a forwarding not yet replied is 未答复, and 超期未答复 once its deadline passed;
  a forwarding ended by a withdrawal is not judged;
- 按时答复率 = 按时答复 / (按时答复 + 超期答复 + 超期未答复);
- 平均答复用时: working hours (office hours 08:30 to close of business on working days) from forwarding to reply;
- 主动评价率 = rated cases / cases done at the desk (即办 + 转办); 满意率 = (非常满意 + 满意 + 基本满意) / rated;
  差评 = 不满意 + 非常不满意; 差评整改率 = 差评 whose fix is recorded / 差评; only the first rating counts;
- 当前超期 (overdue now) is of the moment of computing, whatever the period.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.orm import Session

from app.core.errors import UserError
from app.core.workdays import DEFAULT_CLOSE_OF_BUSINESS, WorkCalendar

OFFICE_OPENS = dt.time(8, 30)  # start of the working hours counted in 平均答复用时
MAX_PERIOD_DAYS = 366 * 2  # a range longer than two years is refused (a year's workbook is the usual maximum)


class StatsError(UserError):
    """A period or a breakdown the worker cannot ask for; Chinese message."""


class Breakdown(StrEnum):
    ITEM = "item"
    LINE = "line"
    WORKER = "worker"
    DAY = "day"
    COMMITTEE = "committee"  # the district's view


BREAKDOWN_LABELS: dict[Breakdown, str] = {
    Breakdown.ITEM: "按事项", Breakdown.LINE: "按条线", Breakdown.WORKER: "按受理人", Breakdown.DAY: "按日",
    Breakdown.COMMITTEE: "按居委会",
}


@dataclass(frozen=True)
class Period:
    """China-time days ``first`` … ``last`` (inclusive)."""

    first: dt.date
    last: dt.date

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        raise NotImplementedError

    @classmethod
    def parse_month(cls, text: str) -> Period:
        """``2026-11`` (also ``2026-1``, ``202611``); anything else is a StatsError in Chinese."""
        raise NotImplementedError

    @classmethod
    def this_month(cls, today: dt.date) -> Period:
        raise NotImplementedError

    @classmethod
    def last_month(cls, today: dt.date) -> Period:
        raise NotImplementedError

    @classmethod
    def between(cls, first: dt.date, last: dt.date) -> Period:
        """A date range; refused (StatsError) when ``last`` is before ``first`` or it spans more than two years."""
        raise NotImplementedError

    @classmethod
    def year(cls, year: int) -> Period:
        raise NotImplementedError

    @property
    def label(self) -> str:
        """``2026年11月`` for a whole month, ``2026年`` for a whole year, else ``2026年11月3日至2026年11月20日``."""
        raise NotImplementedError

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware UTC instants: China-time midnight of ``first`` and of the day after ``last``."""
        raise NotImplementedError

    def days(self) -> list[dt.date]:
        raise NotImplementedError


@dataclass
class Figures:
    """The figures of a set of cases (the period's, or one row of a breakdown). Rates are None with no base."""

    cases: int = 0  # 办件量 (withdrawn excluded)
    on_spot: int = 0  # 即办
    forwarded: int = 0  # 转办 (cases forwarded at least once)
    in_progress: int = 0  # 在办: accepted, neither resolved nor forwarded (refused after acceptance included)
    withdrawn: int = 0  # 撤回
    deferred: int = 0  # 容缺受理
    pledge: int = 0  # 告知承诺制
    forwardings: int = 0  # 转办次数
    replied_on_time: int = 0
    replied_late: int = 0
    open_forwardings: int = 0  # 未答复 (all, of which open_overdue past their deadline)
    open_overdue: int = 0
    on_time_rate: float | None = None
    avg_reply_hours: float | None = None  # working hours
    ratable: int = 0  # 即办 + 转办
    rated: int = 0
    rating_rate: float | None = None  # 主动评价率
    levels: dict[str, int] = field(default_factory=dict)  # RatingLevel value → count (first ratings)
    satisfied: int = 0
    satisfaction_rate: float | None = None  # 满意率
    bad: int = 0  # 差评
    bad_fixed: int = 0
    followup_rate: float | None = None  # 差评整改率


@dataclass
class Row:
    """One line of a breakdown: its key (item code, department, worker id, ISO day, committee id) and label."""

    key: str
    label: str
    figures: Figures


@dataclass
class DayPoint:
    """The chart's point for one day of the period: cases accepted that day and the on-time rate of the
    forwardings whose deadline fell on it (None: none)."""

    day: dt.date
    cases: int
    on_spot: int
    forwarded: int
    on_time_rate: float | None


@dataclass
class OverdueCase:
    """A forwarded case past its deadline now: what the 催办 list shows."""

    case_id: uuid.UUID
    case_number: str
    item_name: str
    department: str
    assignee_name: str  # the colleague, or the department queue's name
    due_at: dt.datetime
    remind_count: int
    reminded_at: dt.datetime | None
    committee_id: uuid.UUID


@dataclass
class OverdueFollowup:
    """A bad rating whose call-back or fix is past its deadline now."""

    case_id: uuid.UUID
    case_number: str
    item_name: str
    stage: str  # ratings.FollowupStage value
    due_at: dt.datetime
    rating: str  # RatingLevel value
    committee_id: uuid.UUID


@dataclass
class Report:
    period: Period
    breakdown: Breakdown
    scope: str  # the committee's name, or the district's label
    computed_at: dt.datetime
    total: Figures
    rows: list[Row]
    per_day: list[DayPoint]
    overdue_now: int  # forwarded cases past their deadline now (any period)
    overdue: list[OverdueCase]
    overdue_followups: list[OverdueFollowup]


@dataclass
class LedgerRow:
    """One case of the 台账 (applicant masked)."""

    case_number: str
    item_code: str
    item_name: str
    applicant: str  # masked name (张*) — never the ID or phone
    accepted_at: dt.datetime
    handling: str  # 即办 / 转办 / 在办 / 撤回 / 不予受理
    acceptance_mode: str  # "" / 容缺受理 / 告知承诺制
    department: str
    handler: str  # 承办: the assignee (or the queue) of a forwarded case, the worker who resolved one on the spot
    due_at: dt.datetime | None
    replied_at: dt.datetime | None
    overdue: str  # 是 / 否 / "" (not forwarded, or not yet due)
    rating: str  # label, 未评价 when none
    committee: str = ""


# (term, definition): printed on the page's help, the workbook's summary sheet and the PDF.
DEFINITIONS: tuple[tuple[str, str], ...] = ()


def compute(s: Session, *, period: Period, breakdown: Breakdown, now: dt.datetime, calendar: WorkCalendar,
            committee_ids: Sequence[uuid.UUID] | None = None, scope: str = "",
            close_of_business: Callable[[uuid.UUID], dt.time] = lambda _cid: DEFAULT_CLOSE_OF_BUSINESS,
            overdue_limit: int = 500) -> Report:
    """The figures of ``period`` for the given committees (None: every committee the session holds), broken down
    by ``breakdown``; the overdue lists as of ``now`` (at most ``overdue_limit`` rows each, oldest due first)."""
    raise NotImplementedError


def ledger(s: Session, *, period: Period, now: dt.datetime, committee_ids: Sequence[uuid.UUID] | None = None,
           batch: int = 2000) -> Iterator[LedgerRow]:
    """The period's cases in acceptance order, one :class:`LedgerRow` each, streamed (a year of 150,000 cases
    never sits in memory at once)."""
    raise NotImplementedError
