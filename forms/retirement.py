"""Statutory retirement age under the gradual reform of 2025 (pure functions, no clock).

Source: 全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定（2024-09-13）and its annex
《国务院关于渐进式延迟法定退休年龄的办法》, in force from 2025-01-01 (../shared/domain/rules.md §7):

* men: 60 → 63, one month later for every 4 months of birth from 1965-01 (born 1965-01…04: 60 years 1 month);
* women whose original age was 55 (cadres, 干部: management and professional posts): 55 → 58, one month per
  4 months of birth from 1970-01;
* women whose original age was 50 (workers, 工人/职工): 50 → 55, one month per 2 months of birth from 1975-01.

People born before the first month of their scheme keep the old age; the delay stops at the final age. The
voluntary flexible retirement the decision also allows (up to 3 years earlier, never before the original age, or
later by agreement) is a choice of the person, not the statutory age computed here.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from app.core.errors import UserError


class RetirementError(UserError, ValueError):
    """Sex or category not understood; ``str(err)`` is a Chinese message."""


@dataclass(frozen=True)
class _Scheme:
    base_years: int          # the original statutory age
    first_birth: tuple[int, int]  # (year, month) of the first birth month that retires later
    months_per_step: int     # months of birth per one month of delay
    max_delay: int           # months: the final age minus the original one


MEN = _Scheme(60, (1965, 1), 4, 36)
WOMEN_CADRE = _Scheme(55, (1970, 1), 4, 36)
WOMEN_WORKER = _Scheme(50, (1975, 1), 2, 60)

# How a woman's original retirement age is named in the catalog's rules and choice options.
WOMEN_CATEGORIES: dict[str, _Scheme] = {"干部": WOMEN_CADRE, "工人": WOMEN_WORKER, "职工": WOMEN_WORKER}


def _scheme(sex: object, category: object) -> _Scheme:
    if sex == "男":
        return MEN
    if sex != "女":
        raise RetirementError("性别应为“男”或“女”")
    scheme = WOMEN_CATEGORIES.get(category.strip()) if isinstance(category, str) else None
    if scheme is None:
        raise RetirementError("女性须注明原法定退休年龄类别：“工人”（50 周岁）或“干部”（55 周岁）")
    return scheme


def _birth_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise RetirementError("出生日期无效")


def delay_months(birth_date: dt.date, sex: str, category: str | None = None) -> int:
    """Months by which the reform postpones this person's retirement (0 for earlier births)."""
    scheme = _scheme(sex, category)
    birth = _birth_date(birth_date)
    since = (birth.year - scheme.first_birth[0]) * 12 + birth.month - scheme.first_birth[1]
    if since < 0:
        return 0
    return min(since // scheme.months_per_step + 1, scheme.max_delay)


def retirement_age_months(birth_date: dt.date, sex: str, category: str | None = None) -> int:
    """Statutory retirement age in months (a man born 1965-12 → 723, i.e. 60 years 3 months)."""
    return _scheme(sex, category).base_years * 12 + delay_months(birth_date, sex, category)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months; the 31st becomes the month's last day where the month is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def retirement_date(birth_date: dt.date, sex: str, category: str | None = None) -> dt.date:
    """The day the person reaches their statutory retirement age."""
    birth = _birth_date(birth_date)
    return add_months(birth, retirement_age_months(birth, sex, category))


def is_retired(birth_date: dt.date, sex: str, category: str | None, on: dt.date) -> bool:
    """Reached the statutory retirement age on ``on`` (the working age has ended)."""
    return on >= retirement_date(birth_date, sex, category)


def months_to_retirement(birth_date: dt.date, sex: str, category: str | None, on: dt.date) -> int:
    """Whole months from ``on`` until the retirement date (0 in its last month and on the day, negative after)."""
    end = retirement_date(birth_date, sex, category)
    months = (end.year - on.year) * 12 + end.month - on.month
    return months - 1 if add_months(on, months) > end else months


def age_text(months: int) -> str:
    """``723`` → ``60 周岁 3 个月`` (for messages and printouts)."""
    years, rest = divmod(months, 12)
    return f"{years} 周岁" + (f" {rest} 个月" if rest else "")
