"""The policy errors of issue 13, one test (or a few) per fix, on the real catalog with the date pinned.

Each fix names its source in the item's legal_basis: RS-02 国发〔2014〕8 号; RS-07/09/10 the 2025 retirement reform
(and 财社〔2017〕164 号 for RS-10); MZ-04 民发〔2021〕43 号; CL-05 the province's 辅具 rules (policy figure with a child
exemption); MZ-05 国发〔2014〕47 号 (no national time limit: a dated local figure); GA-02 居住证暂行条例 Art. 8;
WJ-06 育儿补贴制度实施方案.
"""

from __future__ import annotations

import datetime as dt

import pytest
from stdnum.cn import ric

from app.core.paths import FORMS_ITEMS_DIR
from forms.loader import load_catalog
from forms.validate import ValidationResult, Verdict, make_id_number, sample_submission, validate_submission

TODAY = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(FORMS_ITEMS_DIR)


def _id_born(birth: dt.date, sex: str) -> str:
    """A valid ID number of someone born on ``birth``."""
    body = f"320302{birth:%Y%m%d}" + ("101" if sex == "男" else "102")
    return body + ric.calc_check_digit(body + "0")


def _applicant(sex: str = "男", *, age: int | None = None, born: dt.date | None = None, today=TODAY) -> dict:
    number = _id_born(born, sex) if born else make_id_number(age or 40, sex, today)
    return {"name": "张建国" if sex == "男" else "王秀英", "id_number": number, "phone": "13852001234",
            "local_hukou": True}


def _run(catalog, code: str, applicant: dict, today: dt.date = TODAY, **fields) -> ValidationResult:
    item = catalog.get(code)
    submission = sample_submission(item, applicant, today)
    submission["fields"].update(fields)
    return validate_submission(item, submission, today)


def _failed(result: ValidationResult, level: str | None = None) -> list[Verdict]:
    return [v for v in result.verdicts if v.passed is False and (level is None or v.level == level)]


def _verdict(result: ValidationResult, word: str) -> Verdict:
    return next(v for v in result.verdicts if word in v.rule)


# ---------------------------------------------------------------------------
# RS-02 城乡居民养老金: the cohort rule of 国发〔2014〕8 号, not a flat 15 years

def test_rs02_sixty_six_year_old_with_nine_years_is_not_refused(catalog):
    # Born 1960: 51 when the local scheme began (2011), so 9 years take him to 60 – all that was asked of him.
    result = _run(catalog, "RS-02", _applicant(age=66), contribution_years=9)
    assert result.errors == [] and result.eligible
    assert result.computed["required_years"] == 9
    assert _failed(result) == []


def test_rs02_missing_years_warn_with_pay_back_guidance_never_block(catalog):
    result = _run(catalog, "RS-02", _applicant(age=66), contribution_years=5)
    assert result.eligible and result.eligibility_failures == []
    (warning,) = _failed(result)
    assert warning.level == "warn" and "补缴" in warning.message and "15" in warning.message


def test_rs02_already_sixty_at_scheme_start_needs_no_contribution(catalog):
    result = _run(catalog, "RS-02", _applicant(age=76), contribution_years=0)
    assert result.computed["required_years"] == 0
    assert _failed(result) == []


def test_rs02_others_need_fifteen_years(catalog):
    # 60 today, born 1966: 45 at the start, so 15 years are needed.
    result = _run(catalog, "RS-02", _applicant("女", age=60), contribution_years=14)
    assert result.computed["required_years"] == 15
    assert [v.level for v in _failed(result)] == ["warn"]
    assert _failed(_run(catalog, "RS-02", _applicant("女", age=60), contribution_years=15)) == []


# ---------------------------------------------------------------------------
# RS-07 失业登记: working age ends at the person's own statutory retirement age

def test_rs07_man_born_1965_12_is_within_working_age_on_2026_02_15(catalog):
    day = dt.date(2026, 2, 15)
    man = _applicant(born=dt.date(1965, 12, 1), today=day)
    result = _run(catalog, "RS-07", man, today=day)
    assert result.errors == [] and result.eligible, result.eligibility_failures
    assert _verdict(result, "retired(").passed is True
    # His age is 60 years 3 months: from 2026-03-01 the desk cannot register him.
    later = _run(catalog, "RS-07", man, today=dt.date(2026, 3, 1))
    assert not later.eligible and any("法定退休年龄" in m for m in later.eligibility_failures)


@pytest.mark.parametrize("post", ["工人", "干部"])
def test_rs07_a_56_year_old_woman_is_past_her_retirement_age(catalog, post):
    result = _run(catalog, "RS-07", _applicant("女", age=56), retirement_post=post)
    assert result.errors == []
    assert not result.eligible and any("法定退休年龄" in m for m in result.eligibility_failures)


def test_rs07_woman_worker_of_working_age_passes_and_must_name_her_category(catalog):
    woman = _applicant("女", born=dt.date(1976, 2, 10))   # worker: 50 years 7 months, on 2026-09-10
    assert _run(catalog, "RS-07", woman, today=dt.date(2026, 9, 9), retirement_post="工人").eligible
    assert not _run(catalog, "RS-07", woman, today=dt.date(2026, 9, 10), retirement_post="工人").eligible
    assert _run(catalog, "RS-07", woman, today=dt.date(2026, 9, 10), retirement_post="干部").eligible
    unanswered = _run(catalog, "RS-07", woman, retirement_post=None)
    assert unanswered.errors_for("retirement_post")
    assert _verdict(unanswered, "retired(").passed is None        # undecided, never a wrong verdict


def test_rs07_men_are_not_asked_the_womens_category(catalog):
    result = _run(catalog, "RS-07", _applicant(age=35), retirement_post=None)
    assert result.errors == [] and "retirement_post" in result.hidden


# ---------------------------------------------------------------------------
# RS-09 / RS-10: the same calculator; RS-10's periods from 财社〔2017〕164 号

def test_rs09_past_retirement_age_warns(catalog):
    result = _run(catalog, "RS-09", _applicant(age=64))
    assert result.eligible
    assert any("法定退休年龄" in v.message for v in _failed(result, "warn"))
    assert _failed(_run(catalog, "RS-09", _applicant(age=55))) == []


def test_rs10_subsidy_periods_follow_the_distance_to_retirement(catalog):
    near = _applicant(born=dt.date(1968, 1, 15))          # retires 2028-11-15 (60 years 10 months)
    result = _run(catalog, "RS-10", near, qualification="已认定的就业困难人员", previous_months=30, period_months=12)
    assert _failed(result) == []                           # within 5 years of retirement: up to retirement
    young = _run(catalog, "RS-10", _applicant(age=40), qualification="已认定的就业困难人员",
                 previous_months=30, period_months=12)
    assert [v.level for v in _failed(young)] == ["warn"] and "3 年" in _failed(young)[0].message
    graduate = _run(catalog, "RS-10", _applicant(age=24), qualification="离校 2 年内未就业高校毕业生",
                    previous_months=20, period_months=6)
    assert [v.message for v in _failed(graduate)] == [
        "离校 2 年内未就业高校毕业生的灵活就业社保补贴累计最长 2 年（财社〔2017〕164 号）"]
    retired = _run(catalog, "RS-10", _applicant(age=64), qualification="已认定的就业困难人员")
    assert any("法定退休年龄" in v.message for v in _failed(retired, "warn")) and retired.eligible


# ---------------------------------------------------------------------------
# MZ-04 特困: 60+ and under 16 count as without work capacity (民发〔2021〕43 号)

def test_mz04_seventy_two_year_old_with_partial_capacity_is_not_refused(catalog):
    result = _run(catalog, "MZ-04", _applicant(age=72), applicant_category="60 周岁以上老年人",
                  work_capacity="有部分劳动能力")
    assert result.errors == [] and result.computed["deemed_no_work_capacity"] is True
    assert "work_capacity" in result.hidden          # the law decides; the question is not asked
    assert _failed(result) == []


def test_mz04_child_under_16_counts_as_without_work_capacity(catalog):
    result = _run(catalog, "MZ-04", _applicant(age=10), applicant_category="未成年人", work_capacity="有劳动能力")
    assert _failed(result) == []


def test_mz04_disability_grades_of_43hao(catalog):
    base = {"applicant_category": "残疾人", "work_capacity": "有部分劳动能力"}
    limb_2 = _run(catalog, "MZ-04", _applicant(age=45), **base, disability_category="肢体残疾", disability_level="二级")
    assert limb_2.errors == [] and _failed(limb_2) == []
    mind_3 = _run(catalog, "MZ-04", _applicant(age=45), **base, disability_category="智力残疾", disability_level="三级")
    assert _failed(mind_3) == []
    limb_3 = _run(catalog, "MZ-04", _applicant(age=45), **base, disability_category="肢体残疾", disability_level="三级")
    (warning,) = _failed(limb_3)
    assert warning.level == "warn" and "43 号" in warning.message


# ---------------------------------------------------------------------------
# CL-05 辅具: children outgrow devices; a dated use period, warned, not a flat 3-year block

def test_cl05_adult_within_the_use_period_is_warned_not_blocked(catalog):
    result = _run(catalog, "CL-05", _applicant(age=61), previous=True, previous_date=TODAY - dt.timedelta(days=400))
    assert result.eligible
    assert [v.level for v in _failed(result)] == ["warn"]
    later = _run(catalog, "CL-05", _applicant(age=61), previous=True, previous_date=dt.date(2022, 11, 1))
    assert _failed(later) == []


def test_cl05_child_is_exempt_from_the_use_period(catalog):
    result = _run(catalog, "CL-05", _applicant(age=8), previous=True, previous_date=TODAY - dt.timedelta(days=400))
    assert result.eligible and result.eligibility_warnings == []
    assert [v.level for v in _failed(result)] == ["info"] and "生长发育" in result.eligibility_infos[0]


# ---------------------------------------------------------------------------
# MZ-05 临时救助: no fixed 365-day block; a dated policy figure, warned

def test_mz05_old_hardship_warns_and_reads_the_policy_figure(catalog):
    item = catalog.get("MZ-05")
    rule = next(r for r in item.eligibility if "incident_date" in r.rule)
    assert "policy.temp_aid_days" in rule.rule and rule.level == "warn"
    result = _run(catalog, "MZ-05", _applicant(age=46), incident_date=TODAY - dt.timedelta(days=400))
    assert result.eligible and [v.level for v in _failed(result)] == ["warn"]
    assert _failed(_run(catalog, "MZ-05", _applicant(age=46), incident_date=TODAY - dt.timedelta(days=30))) == []


# ---------------------------------------------------------------------------
# GA-02 居住证: proof of the residence address is always required (居住证暂行条例 Art. 8)

@pytest.mark.parametrize("basis", ["合法稳定就业", "合法稳定住所", "连续就读"])
def test_ga02_address_proof_is_required_on_every_basis(catalog, basis):
    item = catalog.get("GA-02")
    assert any("第八条" in text for text in item.legal_basis)
    submission = sample_submission(item, None, TODAY)
    submission["fields"]["basis"] = basis
    submission["materials"] = {}
    missing = {m.name for m in validate_submission(item, submission, TODAY).missing_materials}
    assert "居住地住址证明" in missing


# ---------------------------------------------------------------------------
# WJ-06 育儿补贴: a baby not yet registered (尚未落户) has no ID number to give

def test_wj06_unregistered_baby_needs_no_id_number(catalog):
    result = _run(catalog, "WJ-06", _applicant("女", age=30), child_hukou="尚未落户", child=None,
                  child_name="张小宝", child_birth_date=TODAY - dt.timedelta(days=60))
    assert result.errors == [] and result.eligible
    assert "child" in result.hidden and _failed(result, "warn") == []
    assert [v.level for v in _failed(result)] == ["info"]
    item = catalog.get("WJ-06")
    submission = sample_submission(item, None, TODAY)
    submission["fields"]["child_hukou"] = "尚未落户"
    submission["materials"] = {}
    missing = {m.name for m in validate_submission(item, submission, TODAY).missing_materials}
    assert "婴幼儿户口簿" not in missing and "婴幼儿出生医学证明" in missing


def test_wj06_age_limit_applies_with_and_without_registration(catalog):
    old = _run(catalog, "WJ-06", _applicant("女", age=30), child_hukou="尚未落户", child=None,
               child_name="张小宝", child_birth_date=dt.date(2023, 6, 1))
    assert any("3 周岁" in m for m in old.eligibility_warnings)
    registered = _run(catalog, "WJ-06", _applicant("女", age=30), child_hukou="已落户本地", child=None)
    assert registered.errors_for("child")             # registered: name and ID number are asked
