"""Policy figures as dated data (forms/policy.py): the catalog.yaml section, the loader's checks, the date used."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.paths import FORMS_ITEMS_DIR
from forms.loader import load_catalog
from forms.policy import Policy, PolicyEntry, parse_policy
from forms.validate import make_id_number, validate_submission

ROOT = Path(__file__).resolve().parents[1]

ITEM = """\
code: ZZ-01
name: 测试事项
department: 民政
category: 测试类
mode: 转办
legal_basis: [测试依据]
conditions: [测试条件]
time_limit: 当场
forward_target: 街道民政办
steps:
  - title: 第一步
    fields:
      - key: amount
        label: 金额
        type: money
        required: true
eligibility:
  - rule: amount <= policy.limit
    message: 金额超过标准
    level: warn
"""

CATALOG = """\
version: "2026.1.1"
departments: [民政]
policy:
  limit:
    - {value: 200, from: 2026-07-01, source: 测试文件二}
    - {value: 100, from: 2026-01-01, source: 测试文件一}
"""


def _catalog(tmp_path: Path, meta: str = CATALOG):
    (tmp_path / "catalog.yaml").write_text(meta, encoding="utf-8")
    (tmp_path / "ZZ-01.yaml").write_text(ITEM, encoding="utf-8")
    return load_catalog(tmp_path)


def _check(item, amount, day):
    submission = {"applicant": {"name": "张建国", "id_number": make_id_number(40, "男", day), "local_hukou": True},
                  "fields": {"amount": amount}, "materials": {}}
    return next(v for v in validate_submission(item, submission, day).verdicts if "policy.limit" in v.rule)


def test_the_value_in_force_on_the_evaluation_date_is_used(tmp_path):
    catalog = _catalog(tmp_path)
    assert catalog.errors == []
    item = catalog.get("ZZ-01")
    assert _check(item, 150, dt.date(2026, 3, 1)).passed is False       # 100 in force
    assert _check(item, 150, dt.date(2026, 7, 1)).passed is True        # 200 from its first day
    assert _check(item, 150, dt.date(2025, 12, 31)).passed is None      # no figure yet: undecided
    assert [e.value for e in item.policy.history("limit")] == [100, 200]  # oldest first, whatever the order
    assert item.policy.entry_on("limit", dt.date(2026, 8, 1)) == PolicyEntry(200, dt.date(2026, 7, 1), "测试文件二")


def test_a_plain_number_is_still_accepted_in_force_on_every_date(tmp_path):
    catalog = _catalog(tmp_path, 'version: "1"\ndepartments: [民政]\npolicy:\n  limit: 120\n')
    assert catalog.errors == []
    assert _check(catalog.get("ZZ-01"), 110, dt.date(2001, 1, 1)).passed is True
    assert catalog.policy["limit"] == 120 and catalog.policy.history("limit")[0].effective is None


@pytest.mark.parametrize(("figure", "message"), [
    ("[{from: 2026-01-01, source: 文件}]", "第 1 条：缺少 value（数值）"),
    ("[{value: 870, source: 文件}]", "第 1 条：缺少 from（生效日期，格式 YYYY-MM-DD）"),
    ("[{value: 870, from: 2026-13-01, source: 文件}]", "第 1 条：生效日期「2026-13-01」格式不正确，应为 YYYY-MM-DD"),
    ("[{value: 870, from: 明年, source: 文件}]", "第 1 条：生效日期「明年」格式不正确，应为 YYYY-MM-DD"),
    ("[{value: 八百, from: 2026-01-01, source: 文件}]", "第 1 条：value「八百」应为数字"),
    ("[{value: 870, from: 2026-01-01}]", "第 1 条：缺少 source（政策依据：文件名称及文号）"),
    ("[{value: 870, from: 2026-01-01, source: 文件, unit: 元}]",
     "第 1 条：未知属性「unit」（应为 value、from、source）"),
    ("[{value: 1, from: 2026-01-01, source: 甲}, {value: 2, from: 2026-01-01, source: 乙}]",
     "第 2 条：生效日期 2026-01-01 与前面的条目重复"),
    ("[]", "应为带生效日期的取值列表"),
    ("很多", "应为带生效日期的取值列表"),
    ("[870]", "第 1 条应为键值对"),
])
def test_the_loader_names_each_bad_figure_in_chinese(tmp_path, figure, message):
    catalog = _catalog(tmp_path, f'version: "1"\ndepartments: [民政]\npolicy:\n  limit: {figure}\n')
    errors = [e for e in catalog.errors if e.file == "catalog.yaml"]
    assert [e.field for e in errors] == ["policy.limit"]
    assert errors[0].message.startswith(message), errors[0].message
    assert "ZZ-01" in catalog.items   # the rule naming the figure is not reported a second time


def test_policy_section_shape_errors():
    assert parse_policy(None) == (Policy(), [])
    assert parse_policy([1, 2])[1] == [("policy", "policy 应为键值对：每个政策标准一项")]
    _, problems = parse_policy({"Dibao-Line": 1})
    assert problems == [("policy.Dibao-Line", "政策标准名称只能用小写字母、数字和下划线，以字母开头")]


def test_catalog_validate_refuses_a_figure_without_date(tmp_path):
    _catalog(tmp_path, 'version: "1"\ndepartments: [民政]\npolicy:\n  limit: [{value: 1, source: 文件}]\n')
    run = subprocess.run([sys.executable, "main.py", "catalog", "validate", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "policy.limit" in run.stdout + run.stderr and "缺少 from" in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_real_catalog_policy_is_dated_with_sources_and_read_as_before():
    catalog = load_catalog(FORMS_ITEMS_DIR)
    assert catalog.errors == []
    for key in catalog.policy:
        entries = catalog.policy.history(key)
        assert entries and all(e.effective and e.source for e in entries), key
    assert catalog.policy["dibao_line"] > 0 and all(item.policy == catalog.policy for item in catalog)
    assert catalog.policy.on(dt.date(2026, 11, 20))["pension_min_years"] == 15
    # The thresholds that were constants in rules now come from the policy section.
    rules = " ".join([r.rule for item in catalog for r in item.eligibility]
                     + [c.expr for item in catalog for c in item.computed])
    for figure in ("pension_min_years", "flex_subsidy_months", "housing_hukou_years", "temp_aid_days",
                   "device_interval_years", "residence_permit_days", "long_unemployment_days"):
        assert f"policy.{figure}" in rules
    for constant in ("contribution_years >= 15", "<= 36", "hukou_years >= 5", "<= 365", ">= 365", "age < 60"):
        assert constant not in rules
