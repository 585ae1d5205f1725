"""Hand-made reports and 台账 rows for the workbook and PDF tests (tests/test_workbook.py, tests/test_report_pdf.py).

Values a reader can check by eye: the figures are made up, not computed (app/core/stats.py has its own tests).
"""

from __future__ import annotations

import datetime as dt

from app.core.stats import Breakdown, DayPoint, Figures, LedgerRow, Period, Report, Row
from app.core.vocabulary import CHINA_TZ

NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
COMPUTED_AT = dt.datetime(2026, 12, 1, 9, 15, tzinfo=CHINA_TZ)


def figures(cases: int = 40, **extra) -> Figures:
    f = Figures(cases=cases, on_spot=25, forwarded=12, in_progress=3, withdrawn=2, deferred=4, pledge=1,
                forwardings=13, replied_on_time=9, replied_late=2, open_forwardings=2, open_overdue=1,
                on_time_rate=0.75, avg_reply_hours=9.5, ratable=37, rated=30,
                rating_rate=30 / 37, levels={"very_satisfied": 18, "satisfied": 7, "basic": 2, "dissatisfied": 2,
                                             "very_dissatisfied": 1},
                satisfied=27, satisfaction_rate=0.9, bad=3, bad_fixed=2, followup_rate=2 / 3)
    for key, value in extra.items():
        setattr(f, key, value)
    return f


def per_day(period: Period = NOVEMBER) -> list[DayPoint]:
    days, d = [], period.first
    while d <= period.last:
        n = (d.day * 7) % 5
        days.append(DayPoint(day=d, cases=n, on_spot=n // 2, forwarded=n - n // 2,
                             on_time_rate=None if d.day % 4 == 0 else (0.5 + (d.day % 3) * 0.25)))
        d += dt.timedelta(days=1)
    return days


def report(breakdown: Breakdown = Breakdown.ITEM, *, scope: str = "幸福里社区居民委员会", rows: int = 3,
           period: Period = NOVEMBER) -> Report:
    names = {Breakdown.ITEM: "城乡居民基本养老保险参保登记", Breakdown.COMMITTEE: "居委会",
             Breakdown.LINE: "民政", Breakdown.WORKER: "王社工", Breakdown.DAY: "2026-11-02"}
    lines = [Row(key=f"K{i}", label=f"{names[breakdown]}{i + 1}", figures=figures(cases=10 + i))
             for i in range(rows)]
    lines.append(Row(key="K-none", label="没有评价的事项", figures=figures(
        cases=1, rated=0, rating_rate=0.0, on_time_rate=None, avg_reply_hours=None, satisfaction_rate=None,
        followup_rate=None, levels={})))
    return Report(period=period, breakdown=breakdown, scope=scope, computed_at=COMPUTED_AT, total=figures(),
                  rows=lines, per_day=per_day(period), overdue_now=5, overdue=[], overdue_followups=[])


def ledger_rows(n: int, *, committee: str = "", start: dt.datetime | None = None):
    """``n`` 台账 rows accepted a minute apart (a generator: the writer must stream)."""
    start = start or dt.datetime(2026, 11, 2, 9, 0, tzinfo=CHINA_TZ)
    for i in range(n):
        accepted = start + dt.timedelta(minutes=i)
        forwarded = i % 3 == 0
        yield LedgerRow(
            case_number=f"XFL-A1-20261102-{i + 1:04d}", item_code="MZ-01", item_name="最低生活保障申请",
            applicant="张*" if i % 2 else "欧阳**", accepted_at=accepted,
            handling="转办" if forwarded else "即办", acceptance_mode="容缺受理" if i % 7 == 0 else "",
            department="民政" if forwarded else "", handler="民政科" if forwarded else "王社工",
            due_at=accepted + dt.timedelta(days=2) if forwarded else None,
            replied_at=accepted + dt.timedelta(days=1) if forwarded and i % 2 == 0 else None,
            overdue="否" if forwarded else "", rating="满意" if i % 4 else "未评价", committee=committee)
