"""Rule levels in the catalog (issue 13): the desk accepts and forwards, the department decides.

Each eligibility rule states how much its failure weighs: ``block`` (cannot be accepted here: a legal
impossibility, or the wrong place — then the message says where to go), ``warn`` (the department decides),
``info`` (guidance). ``catalog show`` prints every rule with its level, ``--json`` carries it, and
``catalog validate`` refuses a rule without one, in Chinese, naming file, item and rule.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.paths import FORMS_ITEMS_DIR
from forms.loader import load_catalog
from forms.validate import make_id_number, sample_submission, validate_submission

ROOT = FORMS_ITEMS_DIR.parent.parent
TODAY = dt.date(2026, 11, 20)
# A message that itself hedges ("一般", "请核实", "以本地规定为准") leaves the decision to the department.
HEDGED = re.compile(r"一般|请核实|为准|主要面向")


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(FORMS_ITEMS_DIR)


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *argv], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)


def _applicant(age: int, sex: str = "男") -> dict:
    return {"name": "张建国", "id_number": make_id_number(age, sex, TODAY), "phone": "13852001234",
            "local_hukou": True}


# ---------------------------------------------------------------------------
# The grading itself

def test_every_level_is_used_and_warn_is_the_rule_on_forwarded_items(catalog):
    rules = [(item, rule) for item in catalog for rule in item.eligibility]
    levels = {lvl: sum(r.level == lvl for _, r in rules) for lvl in ("block", "warn", "info")}
    assert all(levels.values()), levels
    forwarded = [r for item, r in rules if item.mode == "转办"]
    assert sum(r.level == "warn" for r in forwarded) > 3 * sum(r.level == "block" for r in forwarded)


def test_no_hedged_message_blocks(catalog):
    blocking = [(item.code, r.message) for item in catalog for r in item.eligibility
                if r.level == "block" and HEDGED.search(r.message)]
    assert blocking == []


@pytest.mark.parametrize("code, rule, where", [
    ("TY-04", "enlisted_here == true", "入伍地"),
    ("WJ-03", 'employer_type != "机关事业单位"', "原单位"),
    ("GA-03", 'business != "年度签注" or still_living == true', "现居住地"),
    ("MZ-15", "on_list == true", "部门核查"),
])
def test_a_wrong_place_block_says_where_to_go(catalog, code, rule, where):
    (found,) = [r for r in catalog.get(code).eligibility if r.rule == rule]
    assert found.level == "block" and where in found.message


def test_under_60_is_not_an_elderly_person_for_the_elderly_items(catalog):
    # 老年人权益保障法 Art. 2: 老年人 are citizens aged 60 and over; a 59-year-old is not the person these serve.
    for code in ("MZ-09", "MZ-10", "MZ-11", "MZ-12"):
        item = catalog.get(code)
        result = validate_submission(item, sample_submission(item, _applicant(59), TODAY), TODAY)
        assert any("60 周岁" in m for m in result.eligibility_failures), code
    mz10 = catalog.get("MZ-10")
    result = validate_submission(mz10, sample_submission(mz10, _applicant(59), TODAY), TODAY)
    assert "YB-06" in result.eligibility_failures[0]  # where a younger disabled person can go


def test_an_18_year_old_orphan_is_warned_not_refused(catalog):
    item = catalog.get("MZ-07")
    submission = sample_submission(item, None, TODAY)
    submission["fields"]["child"] = {"name": "张小明", "id_number": make_id_number(18, "男", TODAY),
                                     "relation": "孙子女或外孙子女"}
    result = validate_submission(item, submission, TODAY)
    assert result.eligible
    assert any("18 周岁" in m and "在校" in m for m in result.eligibility_warnings)


def test_home_care_for_a_58_year_old_is_guidance(catalog):
    item = catalog.get("MZ-13")
    result = validate_submission(item, sample_submission(item, _applicant(58), TODAY), TODAY)
    assert result.eligible and result.eligibility_warnings == []
    assert any("服务站" in m for m in result.eligibility_infos)


def test_income_above_the_line_is_for_the_department_to_decide(catalog):
    item = catalog.get("QT-01")
    submission = sample_submission(item, None, TODAY)
    result = validate_submission(item, submission, TODAY)
    assert result.eligible
    verdicts = [v for v in result.verdicts if "困难职工认定标准" in v.message]
    assert [v.level for v in verdicts] == ["warn"]


# ---------------------------------------------------------------------------
# catalog show

def test_show_prints_each_rule_with_its_level():
    done = _cli("catalog", "show", "TY-04")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("资格")]
    assert len(lines) == 2
    assert "阻止受理" in lines[0] and "block" in lines[0] and "enlisted_here == true" in lines[0]
    assert "提示转办" in lines[1] and "warn" in lines[1]
    info = _cli("catalog", "show", "MZ-13")
    assert any("指引" in line and "info" in line for line in info.stdout.splitlines() if line.startswith("资格"))


def test_show_json_carries_each_rule_level(catalog):
    done = _cli("catalog", "show", "mz-02", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    item = catalog.get("MZ-02")
    assert data["code"] == "MZ-02" and data["name"] == item.name and data["mode"] == "转办"
    assert [(r["rule"], r["message"], r["level"]) for r in data["eligibility"]] == [
        (r.rule, r.message, r.level) for r in item.eligibility]
    assert data["policy"]["dibao_line"] == item.policy["dibao_line"]
    assert {m["name"] for m in data["materials"]} == {m.name for m in item.materials}


def test_show_json_of_an_unknown_item_is_a_chinese_message_not_json():
    done = _cli("catalog", "show", "XX-99", "--json")
    assert done.returncode == 1 and done.stdout == "" and "没有这个事项" in done.stderr


# ---------------------------------------------------------------------------
# catalog validate refuses a rule without a level

def _copy_items(tmp_path: Path) -> Path:
    target = tmp_path / "items"
    shutil.copytree(FORMS_ITEMS_DIR, target)
    return target


def _drop_first_level(path: Path) -> str:
    text = path.read_text("utf-8")
    start = text.index("eligibility:")
    head, tail = text[:start], text[start:]
    line = re.search(r"\n    level: \w+\n", tail)
    assert line is not None
    path.write_text(head + tail[:line.start()] + "\n" + tail[line.end():], "utf-8")
    return re.search(r"  - rule: (.+)\n", tail).group(1)  # type: ignore[union-attr]


def test_validate_refuses_a_rule_without_a_level_naming_file_item_and_rule(tmp_path):
    items = _copy_items(tmp_path)
    rule = _drop_first_level(items / "MZ-12.yaml")
    done = _cli("catalog", "validate", str(items))
    assert done.returncode == 1
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("MZ-12.yaml")]
    assert line.startswith("MZ-12.yaml [MZ-12] eligibility[0].level")
    assert "第 1 条资格规则" in line and rule in line
    assert "block（阻止受理）" in line and "warn（提示转办）" in line and "info（指引）" in line
    assert "1 处错误" in done.stdout


def test_validate_refuses_an_unknown_level_in_chinese(tmp_path):
    items = _copy_items(tmp_path)
    path = items / "MZ-02.yaml"
    text = path.read_text("utf-8")
    path.write_text(text.replace("    level: warn\n", "    level: 阻止\n", 1), "utf-8")
    done = _cli("catalog", "validate", str(items))
    assert done.returncode == 1
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("MZ-02.yaml")]
    assert "eligibility[0].level" in line and "「阻止」" in line and "第 1 条资格规则" in line
    assert "block（阻止受理）" in line
