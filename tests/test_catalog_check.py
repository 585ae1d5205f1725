"""`python main.py catalog check CODE --answers FILE.json [--today YYYY-MM-DD]` (issue 13, point 2).

A reviewer or an administrator checks the rules of an item against a set of answers without the GUI. The
command runs the real CLI here; the report comes from :func:`forms.report.check_report`, which runs the same
:func:`forms.validate.validate_submission` as the wizard.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.paths import FORMS_ITEMS_DIR
from app.core.vocabulary import CHINA_TZ
from forms.loader import load_catalog
from forms.report import check_report
from forms.validate import make_id_number, sample_submission, validate_submission

ROOT = FORMS_ITEMS_DIR.parent.parent
TODAY = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(FORMS_ITEMS_DIR)


def _applicant(age: int, sex: str = "男") -> dict:
    return {"name": "张建国", "id_number": make_id_number(age, sex, TODAY), "phone": "13852001234",
            "local_hukou": True}


def _write(tmp_path: Path, data, name: str = "answers.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def _check(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", "catalog", "check", *argv], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def _report(code: str, answers: Path, today: str = "2026-11-20") -> dict:
    done = _check(code, "--answers", str(answers), "--today", today)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)


# ---------------------------------------------------------------------------
# What the report holds

def test_an_eligible_answer_set_passes_every_rule_with_tier_computed_values_and_materials(tmp_path, catalog):
    item = catalog.get("MZ-01")
    answers = _write(tmp_path, sample_submission(item, _applicant(85), TODAY))
    report = _report("mz-01", answers)
    assert (report["code"], report["name"], report["today"]) == ("MZ-01", item.name, "2026-11-20")
    assert report["eligible"] is True and report["errors"] == []
    assert [(r["rule"], r["level"], r["message"]) for r in report["rules"]] == [
        (r.rule, r.level, r.message) for r in item.eligibility]
    assert all(r["passed"] is True for r in report["rules"])
    assert report["tier"].startswith("80–89")
    assert report["computed"]["age"] == 85
    assert report["materials"] == [
        {"name": m.name, "form": m.form, "count": m.count, "received": True} for m in item.materials
        if m.required is True]
    assert report["missing_materials"] == []


def test_a_failed_block_rule_and_the_level_label(tmp_path, catalog):
    item = catalog.get("MZ-01")
    report = _report("MZ-01", _write(tmp_path, sample_submission(item, _applicant(62), TODAY)))
    (age_rule,) = [r for r in report["rules"] if "80 周岁" in r["message"]]
    assert age_rule["passed"] is False and age_rule["level"] == "block" and age_rule["level_label"] == "阻止受理"
    assert report["eligible"] is False and report["tier"] is None


def test_household_answers_give_computed_values_warnings_and_conditional_materials(tmp_path, catalog):
    item = catalog.get("MZ-02")
    submission = sample_submission(item, _applicant(52), TODAY)
    submission["fields"]["household"] = [
        {"name": f"成员{i}", "id_number": make_id_number(50 - i * 20, "男", TODAY, seed=i), "relation": relation,
         "work_status": "其他", "monthly_income": income}
        for i, (relation, income) in enumerate([("本人", 5000), ("子女", 3000)])]
    submission["fields"]["hardship_reasons"] = ["因残"]
    submission["materials"] = {"最低生活保障申请书": True}
    report = _report("MZ-02", _write(tmp_path, submission))
    assert report["computed"]["household_size"] == 2 and report["computed"]["per_capita_income"] == 4000
    (income,) = [r for r in report["rules"] if r["rule"].startswith("per_capita_income <")]
    assert income["passed"] is False and income["level"] == "warn" and income["level_label"] == "提示转办"
    assert report["eligible"] is True  # a warning: the department decides
    names = {m["name"]: m["received"] for m in report["materials"]}
    assert names["最低生活保障申请书"] is True and names["残疾人证"] is False
    assert "诊断证明或病历资料" not in names  # not needed for these answers
    assert "残疾人证" in report["missing_materials"]


def test_an_unanswered_question_leaves_its_rule_undecided_and_input_errors_are_listed(tmp_path, catalog):
    item = catalog.get("MZ-01")
    submission = sample_submission(item, _applicant(85), TODAY)
    submission["fields"]["receiving_elsewhere"] = None
    submission["applicant"]["id_number"] = "110105194912310021"  # wrong check digit
    report = _report("MZ-01", _write(tmp_path, submission))
    (elsewhere,) = [r for r in report["rules"] if r["rule"] == "receiving_elsewhere == false"]
    assert elsewhere["passed"] is None
    fields = {e["field"]: e["message"] for e in report["errors"]}
    assert "校验位" in fields["applicant.id_number"] and fields["receiving_elsewhere"]
    assert "110105194912310021" not in json.dumps(report, ensure_ascii=False)  # no ID number echoed


def test_the_command_prints_what_the_core_reports_from_the_wizards_validation(tmp_path, catalog):
    item = catalog.get("MZ-06")
    submission = sample_submission(item, _applicant(40), TODAY)
    printed = _report("MZ-06", _write(tmp_path, submission))
    assert printed == json.loads(json.dumps(check_report(item, submission, TODAY), ensure_ascii=False))
    result = validate_submission(item, submission, TODAY)  # what IntakeService.check runs
    assert [(r["level"], r["passed"], r["message"], r["rule"]) for r in printed["rules"]] == [
        (v.level, v.passed, v.message, v.rule) for v in result.verdicts]


def test_today_defaults_to_the_current_date(tmp_path, catalog):
    item = catalog.get("MZ-12")
    done = _check("MZ-12", "--answers", str(_write(tmp_path, sample_submission(item, _applicant(70)))))
    assert done.returncode == 0, done.stderr
    # The desk's day is China's (at 23:30 UTC it is already tomorrow there).
    assert json.loads(done.stdout)["today"] == dt.datetime.now(CHINA_TZ).date().isoformat()


# ---------------------------------------------------------------------------
# Bad input: a Chinese message on stderr, exit 2, never a traceback

def _refused(done: subprocess.CompletedProcess, fragment: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert fragment in done.stderr and done.stderr.startswith("错误：")


def test_missing_answers_file(tmp_path):
    _refused(_check("MZ-01", "--answers", str(tmp_path / "nowhere.json")), "找不到答案文件")


def test_answers_file_that_is_a_folder(tmp_path):
    _refused(_check("MZ-01", "--answers", str(tmp_path)), "找不到答案文件")


def test_answers_file_with_bad_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"applicant": {"name": "张三",\n  }', "utf-8")
    _refused(_check("MZ-01", "--answers", str(path)), "不是有效的 JSON")


def test_answers_file_not_utf8(tmp_path):
    path = tmp_path / "gbk.json"
    path.write_bytes('{"applicant": {"name": "张三"}}'.encode("gbk"))
    _refused(_check("MZ-01", "--answers", str(path)), "UTF-8")


def test_answers_that_are_not_an_object(tmp_path):
    _refused(_check("MZ-01", "--answers", str(_write(tmp_path, [1, 2]))), "JSON 对象")


def test_unknown_item_code(tmp_path):
    _refused(_check("XX-99", "--answers", str(_write(tmp_path, {}))), "没有这个事项")


@pytest.mark.parametrize("today", ["2026-13-01", "明天", "20261120", ""])
def test_bad_date(tmp_path, today):
    _refused(_check("MZ-01", "--answers", str(_write(tmp_path, {})), "--today", today), "YYYY-MM-DD")


def test_an_empty_answers_object_is_reported_not_refused(tmp_path):
    report = _report("MZ-01", _write(tmp_path, {}))
    assert any(e["field"] == "applicant" for e in report["errors"])
    assert all(r["passed"] in (True, False, None) for r in report["rules"])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(st.sampled_from(["household", "financial_assets", "house_count", "has_vehicle",
                                               "hardship_reasons", "x"]), _JSON, max_size=5),
       materials=_JSON, applicant=_JSON)
def test_any_answers_give_a_json_report_never_an_exception(catalog, fields, materials, applicant):
    item = catalog.get("MZ-02")
    report = check_report(item, {"applicant": applicant, "fields": fields, "materials": materials}, TODAY)
    json.dumps(report, ensure_ascii=False, allow_nan=False)
    assert len(report["rules"]) == len(item.eligibility)
    assert all(e["message"] for e in report["errors"])


def test_an_oversized_answers_file_is_refused_unread(tmp_path):
    """Issue 14 point 4: the answers file is read like a catalog file — a regular file of bounded size."""
    big = tmp_path / "big.json"
    big.write_text('{"fields": {"x": "' + "a" * 600_000 + '"}}', encoding="utf-8")
    _refused(_check("MZ-02", "--answers", str(big)), "文件过大")
