"""Statutory retirement age under the 2025 gradual reform (forms/retirement.py), and its expression functions."""

from __future__ import annotations

import datetime as dt

import pytest

from forms import expr as ex
from forms.retirement import (
    RetirementError,
    add_months,
    age_text,
    is_retired,
    months_to_retirement,
    retirement_age_months,
    retirement_date,
)

# (birth year-month, sex, category, years, months): the reform's own examples and the edges of each scheme.
AGES = [
    # men: 60 → 63, one month per 4 months of birth from 1965-01
    ((1960, 6), "男", None, 60, 0),
    ((1964, 12), "男", None, 60, 0),
    ((1965, 1), "男", None, 60, 1),
    ((1965, 4), "男", None, 60, 1),
    ((1965, 5), "男", None, 60, 2),
    ((1965, 8), "男", None, 60, 2),
    ((1965, 9), "男", None, 60, 3),
    ((1965, 12), "男", None, 60, 3),
    ((1966, 1), "男", None, 60, 4),
    ((1976, 8), "男", None, 62, 11),
    ((1976, 9), "男", None, 63, 0),
    ((1990, 3), "男", None, 63, 0),
    ((1965, 12), "男", "工人", 60, 3),          # a man's category does not matter
    # women cadres (original age 55): 55 → 58, one month per 4 months of birth from 1970-01
    ((1969, 12), "女", "干部", 55, 0),
    ((1970, 1), "女", "干部", 55, 1),
    ((1970, 4), "女", "干部", 55, 1),
    ((1970, 5), "女", "干部", 55, 2),
    ((1981, 8), "女", "干部", 57, 11),
    ((1981, 9), "女", "干部", 58, 0),
    ((1995, 1), "女", "干部", 58, 0),
    # women workers (original age 50): 50 → 55, one month per 2 months of birth from 1975-01
    ((1974, 12), "女", "工人", 50, 0),
    ((1975, 1), "女", "工人", 50, 1),
    ((1975, 2), "女", "职工", 50, 1),
    ((1975, 3), "女", "工人", 50, 2),
    ((1975, 12), "女", "工人", 50, 6),
    ((1984, 10), "女", "工人", 54, 11),
    ((1984, 11), "女", "工人", 55, 0),
    ((2000, 7), "女", "工人", 55, 0),
]


@pytest.mark.parametrize(("birth", "sex", "category", "years", "months"), AGES)
def test_retirement_age_by_birth_month(birth, sex, category, years, months):
    for day in (1, 28):
        assert retirement_age_months(dt.date(*birth, day), sex, category) == years * 12 + months


@pytest.mark.parametrize(("birth", "sex", "category", "expected"), [
    (dt.date(1965, 12, 1), "男", None, dt.date(2026, 3, 1)),      # 60 years 3 months
    (dt.date(1964, 12, 31), "男", None, dt.date(2024, 12, 31)),   # born before the reform: 60
    (dt.date(1965, 1, 31), "男", None, dt.date(2025, 2, 28)),     # 60y1m: the 31st falls on February's last day
    (dt.date(1970, 1, 15), "女", "干部", dt.date(2025, 2, 15)),
    (dt.date(1975, 3, 10), "女", "工人", dt.date(2025, 5, 10)),
    (dt.date(1976, 2, 10), "女", "工人", dt.date(2026, 9, 10)),   # 50 years 7 months
])
def test_retirement_date(birth, sex, category, expected):
    assert retirement_date(birth, sex, category) == expected


def test_working_age_ends_on_the_retirement_date():
    birth = dt.date(1965, 12, 1)
    assert not is_retired(birth, "男", None, dt.date(2026, 2, 15))   # 60 years 2 months: still of working age
    assert not is_retired(birth, "男", None, dt.date(2026, 2, 28))
    assert is_retired(birth, "男", None, dt.date(2026, 3, 1))
    woman = dt.date(1970, 3, 1)                                        # 56 on 2026-03-01
    assert is_retired(woman, "女", "工人", dt.date(2026, 3, 1))
    assert is_retired(woman, "女", "干部", dt.date(2026, 3, 1))       # 55y1m reached in 2025-04


@pytest.mark.parametrize(("on", "months"), [
    (dt.date(2021, 3, 1), 60), (dt.date(2021, 3, 2), 59), (dt.date(2026, 2, 15), 0),
    (dt.date(2026, 3, 1), 0), (dt.date(2026, 3, 2), -1), (dt.date(2027, 3, 1), -12),
])
def test_months_to_retirement(on, months):
    assert months_to_retirement(dt.date(1965, 12, 1), "男", None, on) == months


def test_bad_sex_or_missing_category_is_a_chinese_error():
    with pytest.raises(RetirementError, match="工人"):
        retirement_age_months(dt.date(1980, 1, 1), "女", None)
    with pytest.raises(RetirementError, match="工人"):
        retirement_age_months(dt.date(1980, 1, 1), "女", "农民")
    with pytest.raises(RetirementError, match="性别"):
        retirement_age_months(dt.date(1980, 1, 1), "未知", None)
    with pytest.raises(RetirementError, match="出生日期"):
        retirement_date("1980-01-01", "男")  # type: ignore[arg-type]


def test_helpers():
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 3, 15), -3) == dt.date(2023, 12, 15)
    assert age_text(723) == "60 周岁 3 个月" and age_text(720) == "60 周岁"


def test_expression_functions_use_the_evaluation_date():
    names = {"b": dt.date(1965, 12, 1), "w": dt.date(1976, 2, 10)}
    assert ex.evaluate('retirement_age_months(b, "男")', names) == 723
    assert ex.evaluate('retirement_date(w, "女", "工人")', names) == dt.date(2026, 9, 10)
    assert ex.evaluate('retired(b, "男")', names, today=dt.date(2026, 2, 15)) is False
    assert ex.evaluate('retired(b, "男", null)', names, today=dt.date(2026, 3, 1)) is True
    assert ex.evaluate('months_to_retirement(b, "男")', names, today=dt.date(2021, 3, 1)) == 60
    assert ex.evaluate('retirement_age_months("1965-12-01", "男")', {}) == 723   # ISO text as a date
    # A woman without her category, or no birth date: undetermined, never a crash
    evaluator = ex.Evaluator(names, dt.date(2026, 2, 15))
    assert evaluator.truth('retired(w, "女")') is None
    assert evaluator.truth('retired(null, "男")') is None
    assert ex.check('retired(applicant.birth_date, applicant.sex, "工人")',
                    {"applicant": ex.NameSpec("record", ex.APPLICANT_ATTRS)}) == []
    assert ex.check("retired(1)", {}) == ["函数 retired 的参数个数不对（应为 2–3 个）"]


def test_checker_refuses_an_unknown_womens_category():
    names = {"applicant": ex.NameSpec("record", ex.APPLICANT_ATTRS),
             "post": ex.NameSpec(options=frozenset({"工人", "农民"})), "good": ex.NameSpec(options=frozenset({"干部"}))}
    assert ex.check('retired(applicant.birth_date, applicant.sex, "职员")', names) == [
        "retired 的第三个参数（女性原退休年龄类别）只能是 干部、工人、职工，不能是「职员」"]
    assert ex.check("months_to_retirement(applicant.birth_date, applicant.sex, post)", names) == [
        "months_to_retirement 的第三个参数（女性原退休年龄类别）只能是 干部、工人、职工，不能是「农民」"]
    assert ex.check("retirement_date(applicant.birth_date, applicant.sex, good)", names) == []
    assert ex.check("retirement_age_months(applicant.birth_date, applicant.sex)", names) == []
