"""The vocabulary of the 统计 figures (issue 16): periods, breakdowns, the figure and report records, and the
definitions printed on the page's help, the workbook and the PDF. The computing is :mod:`app.core.stats`."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from app.core.errors import UserError

if TYPE_CHECKING:
    from app.core.request_stats import RequestReport

OFFICE_OPENS = dt.time(8, 30)  # start of the working hours counted in 平均答复用时
MAX_PERIOD_DAYS = 366 * 2  # a range longer than two years is refused (a year's workbook is the usual maximum)
MIN_YEAR, MAX_YEAR = 2000, 2099  # the years a period may name
# China has kept UTC+8 without daylight saving since 1991: the hot loops add it instead of converting time zones.
CHINA_OFFSET = dt.timedelta(hours=8)
_UTC = dt.UTC


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


def parse_breakdown(value: Any) -> Breakdown:
    try:
        return Breakdown(str(value))
    except ValueError:
        raise StatsError("统计方式应为：" + "、".join(BREAKDOWN_LABELS.values())) from None


_MONTH = re.compile(r"(\d{4})-(\d{1,2})|(\d{4})(\d{2})")


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise StatsError(f"年份应在 {MIN_YEAR} 到 {MAX_YEAR} 之间")


@dataclass(frozen=True)
class Period:
    """China-time days ``first`` … ``last`` (inclusive)."""

    first: dt.date
    last: dt.date

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        _check_year(year)
        if not 1 <= month <= 12:
            raise StatsError("月份应在 1 到 12 之间")
        first = dt.date(year, month, 1)
        nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
        return cls(first, nxt - dt.timedelta(days=1))

    @classmethod
    def parse_month(cls, text: str) -> Period:
        """``2026-11`` (also ``2026-1``, ``202611``); anything else is a StatsError in Chinese."""
        m = _MONTH.fullmatch((text or "").strip())
        if m is None:
            raise StatsError(f"月份格式应为 2026-11，而不是“{(text or '').strip()[:20]}”")
        year, month = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        return cls.month(int(year), int(month))

    @classmethod
    def this_month(cls, today: dt.date) -> Period:
        return cls.month(today.year, today.month)

    @classmethod
    def last_month(cls, today: dt.date) -> Period:
        return cls.month(today.year - (today.month == 1), (today.month - 2) % 12 + 1)

    @classmethod
    def between(cls, first: dt.date, last: dt.date) -> Period:
        """A date range; refused (StatsError) when ``last`` is before ``first`` or it spans more than two years."""
        if last < first:
            raise StatsError("结束日期不能早于开始日期")
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            raise StatsError("统计期间最长两年，请缩短日期范围")
        _check_year(first.year)
        _check_year(last.year)
        return cls(first, last)

    @classmethod
    def year(cls, year: int) -> Period:
        _check_year(year)
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))

    @property
    def is_month(self) -> bool:
        return self.first.day == 1 and self == Period.month(self.first.year, self.first.month)

    @property
    def is_year(self) -> bool:
        return (self.first.month, self.first.day, self.last.month, self.last.day) == (1, 1, 12, 31) \
            and self.first.year == self.last.year

    @property
    def label(self) -> str:
        """``2026年11月`` for a whole month, ``2026年`` for a whole year, else ``2026年11月3日至2026年11月20日``."""
        if self.is_year:
            return f"{self.first.year}年"
        if self.is_month:
            return f"{self.first.year}年{self.first.month}月"
        if self.first == self.last:
            return _full_day(self.first)
        return f"{_full_day(self.first)}至{_full_day(self.last)}"

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware UTC instants: China-time midnight of ``first`` and of the day after ``last``."""
        start = dt.datetime.combine(self.first, dt.time(0)) - CHINA_OFFSET
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(0)) - CHINA_OFFSET
        return start.replace(tzinfo=_UTC), end.replace(tzinfo=_UTC)

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.first <= day <= self.last


def _full_day(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def day_label(d: dt.date) -> str:
    """A day of a breakdown or a chart: ``11月3日``."""
    return f"{d.month}月{d.day}日"


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
    # The 诉求 figures of the same period (issue 20, app/core/request_stats.py): the desk attaches them; the page,
    # the workbook's 诉求 sheet and the PDF's 诉求 section show them when present.
    requests: RequestReport | None = None


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
DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("本期案件", "受理时间（北京时间）在统计期间内的案件；草稿、一次性告知待补材料和受理前不予受理的不计入。"),
    ("办件量", "本期案件中未撤回的件数；撤回的另计为“撤回”。"),
    ("即办", "当场办结、从未转办的案件。"),
    ("转办", "至少转办过一次的案件（再次转办仍算一件）。"),
    ("在办", "已受理、既未办结也未转办的案件（受理后不予受理的也计入）。"),
    ("按时答复", "每次转办单独计：部门在该次转办记录的答复期限（期限日下班时间）之前或当时答复。"),
    ("超期答复", "答复晚于该次转办的期限，哪怕只晚于下班时间几分钟。"),
    ("超期未答复", "期限已过仍未答复的转办；因撤回而结束的转办不评判。"),
    ("按时答复率", "按时答复 ÷（按时答复 + 超期答复 + 超期未答复）。"),
    ("平均答复用时", "从转办到答复的工作时长（工作日 8:30 至下班时间）的平均值，单位小时。"),
    ("主动评价率", "有评价的案件 ÷（即办 + 转办）；“未评价”不是一种评价。"),
    ("满意率", "（非常满意 + 满意 + 基本满意）÷ 有评价的案件；只计居民的首次评价。"),
    ("差评", "首次评价为不满意或非常不满意。"),
    ("差评整改率", "已记录整改的差评 ÷ 差评。"),
    ("当前超期", "统计时刻仍在转办、已过答复期限的案件，不论受理于哪个期间。"),
)


# ---------------------------------------------------------------------------------------------------------------
# Computing

