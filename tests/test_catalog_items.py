"""The service catalog as a whole: every item file, the loader's error reports, search and the CLI.

One parametrized test walks all 65 items (qutebrowser's configdata test is the model): each loads,
each expression resolves, a generated sample passes validation, and a missing required value is
refused with a Chinese message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.bench import catalog as catalog_bench
from app.cli import catalog as catalog_cli
from app.core.paths import FORMS_ITEMS_DIR
from app.desk.catalog.search import CatalogService
from forms import expr as ex
from forms.loader import field_spec, item_names, load_catalog
from forms.schema import ServiceItem, has_cjk
from forms.validate import make_id_number, sample_applicant, sample_submission, validate_submission

TODAY = dt.date(2026, 11, 20)
_RANGES = {"MZ": 15, "CL": 7, "WJ": 9, "RS": 12, "YB": 6, "FG": 4, "GA": 4, "TY": 4, "SF": 2, "QT": 2}
ITEM_CODES = [f"{prefix}-{n:02d}" for prefix, count in _RANGES.items() for n in range(1, count + 1)]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(FORMS_ITEMS_DIR)


@pytest.fixture(scope="module")
def service():
    svc = CatalogService(FORMS_ITEMS_DIR)
    svc.load()
    return svc


def _applicant(age: int, sex: str = "男", local: bool = True) -> dict:
    return {"name": "张建国", "id_number": make_id_number(age, sex, TODAY), "phone": "13852001234",
            "local_hukou": local}


# ---------------------------------------------------------------------------
# The whole catalog

def test_catalog_holds_exactly_the_65_reference_items(catalog):
    assert len(ITEM_CODES) == 65
    assert sorted(catalog.items) == sorted(ITEM_CODES)
    assert catalog.errors == []
    assert catalog.unavailable == {}


def test_catalog_version_comes_from_catalog_yaml_and_hash_covers_content(catalog, tmp_path):
    assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", catalog.version)
    assert len(catalog.content_hash) == 64
    copy = _copy_items(tmp_path)
    (copy / "QT-02.yaml").write_text((copy / "QT-02.yaml").read_text("utf-8") + "\n# 修改\n", "utf-8")
    changed = load_catalog(copy)
    assert changed.version == catalog.version
    assert changed.content_hash != catalog.content_hash


def test_policy_figures_are_shared_with_every_item(catalog):
    assert catalog.policy["dibao_line"] > 0
    assert all(item.policy == catalog.policy for item in catalog)


def _all_expressions(item: ServiceItem):
    """(where, expression, extra names) for every expression in an item."""
    for step in item.steps:
        if step.visible_if:
            yield step.title, step.visible_if, {}
        for fld in step.fields:
            subs = {s.key: field_spec(s) for s in fld.fields}
            for f, scope in [(fld, {})] + [(s, subs) for s in fld.fields]:
                for source in (f.visible_if, f.compute, f.required if isinstance(f.required, str) else None):
                    if source:
                        yield f.key, source, scope
                for c in f.constraints:
                    yield f.key, c.rule, {**scope, "value": field_spec(f)}
    for rule in item.eligibility:
        yield "eligibility", rule.rule, {}
    for comp in item.computed:
        yield comp.key, comp.expr, {}
    for tier in item.tiers:
        yield "tiers", tier.when, {}
    for mat in item.materials:
        if isinstance(mat.required, str):
            yield mat.name, mat.required, {}


def _first_required_field(item: ServiceItem, result) -> str:
    for _, fld in item.iter_fields():
        if fld.required is True and not fld.is_computed and fld.key not in result.hidden:
            return fld.key
    raise AssertionError(f"{item.code} has no required field")


@pytest.mark.parametrize("code", ITEM_CODES, ids=ITEM_CODES)
def test_item(code, catalog):
    item = catalog.get(code)
    assert item is not None, catalog.unavailable.get(code)
    assert item.official_code == ""
    assert item.aliases and item.conditions and item.legal_basis and item.time_limit
    assert all(has_cjk(f.label) for _, f in item.iter_fields())
    assert all(has_cjk(m.standard) and m.count >= 1 for m in item.materials)

    names = item_names(item, item.policy)
    for where, source, extra in _all_expressions(item):
        assert ex.check(source, {**names, **extra}) == [], (where, source)

    applicant = sample_applicant(item, TODAY)
    submission = sample_submission(item, applicant, TODAY)
    result = validate_submission(item, submission, TODAY)
    assert result.errors == []
    assert result.eligibility_failures == [] and result.eligibility_unknown == []
    assert result.missing_materials == []

    key = _first_required_field(item, result)
    submission["fields"][key] = None
    refused = validate_submission(item, submission, TODAY)
    messages = refused.errors_for(key)
    assert messages and all(CJK.search(m) for m in messages)


def test_every_item_refuses_a_missing_applicant_id(catalog):
    for item in catalog:
        submission = sample_submission(item, None, TODAY)
        submission["applicant"]["id_number"] = "110105194912310021"  # wrong check digit
        errors = validate_submission(item, submission, TODAY).errors_for("applicant.id_number")
        assert errors and "校验位" in errors[0], item.code


# ---------------------------------------------------------------------------
# Eligibility, tiers, computed values, visibility and materials

@pytest.mark.parametrize("age, tier", [(85, "80–89"), (95, "90–99"), (101, "100")])
def test_zunlaojin_tiers(catalog, age, tier):
    item = catalog.get("MZ-01")
    result = validate_submission(item, sample_submission(item, _applicant(age), TODAY), TODAY)
    assert result.errors == [] and result.eligibility_failures == []
    assert result.tier is not None and result.tier.label.startswith(tier)
    assert result.computed["age"] == age


def test_zunlaojin_refuses_a_62_year_old_with_a_reason(catalog):
    item = catalog.get("MZ-01")
    result = validate_submission(item, sample_submission(item, _applicant(62), TODAY), TODAY)
    assert result.errors == []
    assert any("80 周岁" in reason for reason in result.eligibility_failures)
    assert result.tier is None


def test_zunlaojin_needs_local_hukou(catalog):
    item = catalog.get("MZ-01")
    result = validate_submission(item, sample_submission(item, _applicant(88, local=False), TODAY), TODAY)
    assert any("户籍" in reason for reason in result.eligibility_failures)


def test_rule_about_an_unanswered_question_is_undecided_not_failed(catalog):
    item = catalog.get("MZ-01")
    submission = sample_submission(item, _applicant(85), TODAY)
    submission["fields"]["receiving_elsewhere"] = None
    result = validate_submission(item, submission, TODAY)
    assert result.eligibility_failures == []
    assert any("重复领取" in m for m in result.eligibility_unknown)
    assert result.errors_for("receiving_elsewhere")


def _dibao(catalog, incomes: list, **fields) -> tuple[ServiceItem, dict]:
    item = catalog.get("MZ-02")
    applicant = _applicant(52)
    submission = sample_submission(item, applicant, TODAY)
    relations, ages = ["本人", "配偶", "子女", "子女"], [52, 50, 21, 18]
    submission["fields"]["household"] = [  # the 本人 row is the applicant (forms/household.py)
        {"name": f"成员{i}", "relation": relations[i], "work_status": "其他", "monthly_income": income,
         "id_number": applicant["id_number"] if i == 0 else make_id_number(ages[i], "男", TODAY, seed=i)}
        for i, income in enumerate(incomes)]
    submission["fields"].update(fields)
    return item, submission


def test_dibao_per_capita_income_is_computed_from_the_household_group(catalog):
    item, submission = _dibao(catalog, [1200, 0, 300.5])
    result = validate_submission(item, submission, TODAY)
    assert result.errors == []
    assert result.computed["household_size"] == 3
    assert result.computed["household_income"] == 1500.5
    assert result.computed["per_capita_income"] == pytest.approx(500.17)
    assert result.eligibility_failures == []


def test_dibao_income_above_the_line_fails_with_a_reason(catalog):
    item, submission = _dibao(catalog, [5000, 3000])
    result = validate_submission(item, submission, TODAY)
    # A warning, not a refusal: the 民政 office decides on the household's income (issue 13).
    assert any("低保标准" in r for r in result.eligibility_warnings)
    assert result.eligible


def test_group_rows_are_checked_cell_by_cell(catalog):
    item, submission = _dibao(catalog, [1000, "abc"])
    submission["fields"]["household"][1]["id_number"] = "12345"
    submission["fields"]["household"].append({})  # the UI's blank trailing row is ignored
    result = validate_submission(item, submission, TODAY)
    keys = dict(result.errors)
    assert "第 2 行" in keys["household[1].monthly_income"]
    assert "18 位" in keys["household[1].id_number"]
    assert not any(k.startswith("household[2]") for k in keys)


def test_group_constraint_wants_exactly_one_self_row(catalog):
    item, submission = _dibao(catalog, [100, 100])
    submission["fields"]["household"][1]["relation"] = "本人"
    assert "「本人」" in " ".join(validate_submission(item, submission, TODAY).errors_for("household"))


def test_hidden_fields_are_not_required_and_shown_ones_are(catalog):
    item, submission = _dibao(catalog, [100], has_vehicle=False, vehicle_note=None)
    result = validate_submission(item, submission, TODAY)
    assert "vehicle_note" in result.hidden and result.errors == []
    submission["fields"]["has_vehicle"] = True
    result = validate_submission(item, submission, TODAY)
    assert result.errors_for("vehicle_note") == ["请填写「车辆情况（品牌、购置年份、用途）」"]
    assert any("机动车" in r for r in result.eligibility_warnings)


def test_conditional_and_agent_materials(catalog):
    item, submission = _dibao(catalog, [100], hardship_reasons=["因残"])
    submission["materials"] = {}
    missing = {m.name for m in validate_submission(item, submission, TODAY).missing_materials}
    assert "残疾人证" in missing and "诊断证明或病历资料" not in missing
    assert "代办人居民身份证" not in missing
    submission["agent"] = {"name": "李四", "id_number": make_id_number(40, "男", TODAY), "relation": "子女"}
    missing = {m.name for m in validate_submission(item, submission, TODAY).missing_materials}
    assert {"代办人居民身份证", "授权委托书"} <= missing


def test_person_field_exposes_age_to_rules(catalog):
    item = catalog.get("MZ-08")
    submission = sample_submission(item, None, TODAY)
    submission["fields"]["child"] = {**submission["fields"]["child"], "name": "张小宝",
                                     "id_number": make_id_number(19, "女", TODAY)}
    result = validate_submission(item, submission, TODAY)
    assert result.errors == []
    assert any("18 周岁" in r for r in result.eligibility_failures)


def test_field_compute_and_constraints(catalog):
    item = catalog.get("YB-03")
    submission = sample_submission(item, None, TODAY)
    result = validate_submission(item, submission, TODAY)
    assert result.computed["self_paid"] == 20000
    submission["fields"]["insurance_paid"] = 60000
    errors = validate_submission(item, submission, TODAY).errors_for("insurance_paid")
    assert errors == ["已报销金额不能大于医疗费用总额"]


# ---------------------------------------------------------------------------
# Loader: every kind of authoring error, reported with file, item and field

GOOD_ITEM = """\
code: ZZ-01
name: 测试事项
aliases: [测试]
department: 民政
category: 测试类
mode: 即办
legal_basis: [测试依据]
conditions: [测试条件]
time_limit: 当场办结
forward_target: 测试部门
materials:
  - {name: 申请人身份证, form: 原件, standard: 有效期内的身份证}
steps:
  - title: 第一步
    fields:
      - {key: amount, label: 金额, type: money, required: true}
      - {key: kind, label: 类别, type: choice, required: true, options: [甲, 乙]}
"""


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, "utf-8")
    return path


def _copy_items(tmp_path: Path) -> Path:
    target = tmp_path / "items"
    target.mkdir()
    for path in FORMS_ITEMS_DIR.glob("*.yaml"):
        (target / path.name).write_bytes(path.read_bytes())
    return target


def _load_with(tmp_path: Path, broken: str, name: str = "ZZ-02.yaml"):
    _write(tmp_path, "ZZ-01.yaml", GOOD_ITEM)
    _write(tmp_path, name, broken)
    return load_catalog(tmp_path)


def _error(catalog, file: str):
    errors = [e for e in catalog.errors if e.file == file]
    assert errors, catalog.errors
    return errors


BROKEN = {
    "unknown field type": (GOOD_ITEM.replace("type: money", "type: currency"), "amount", "未知字段类型"),
    "unknown field in visible_if": (GOOD_ITEM.replace("type: money,", "type: money, visible_if: kindd == \"甲\","),
                                    "amount", "不存在的字段：kindd"),
    "bad expression": (GOOD_ITEM + "eligibility:\n  - {rule: 'amount >', message: 金额不对, level: block}\n",
                       "eligibility[0]", "语法错误"),
    "missing Chinese label": (GOOD_ITEM.replace("label: 金额", "label: Amount"), "amount", "中文"),
    "misspelt attribute": (GOOD_ITEM.replace("required: true, options", "requird: true, options"), "kind", "未知属性"),
    "misspelt option": (GOOD_ITEM.replace("type: money, required: true", "type: money, required: 'kind == \"丙\"'"),
                        "amount", "没有选项「丙」"),
    "unknown attribute of applicant": (GOOD_ITEM + "eligibility:\n"
                                       "  - {rule: applicant.agee > 1, message: 年龄不对, level: block}\n",
                                       "eligibility[0]", "没有属性 agee"),
    "unknown shared material": (GOOD_ITEM.replace("materials:\n", "materials:\n  - use: nothing_here\n"),
                                "nothing_here", "共享材料"),
    "choice without options": (GOOD_ITEM.replace(", options: [甲, 乙]", ""), "kind", "选项"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_loader_reports_each_authoring_error_with_file_item_and_field(tmp_path, case):
    text, field, fragment = BROKEN[case]
    catalog = _load_with(tmp_path, text.replace("ZZ-01", "ZZ-02"))
    errors = _error(catalog, "ZZ-02.yaml")
    assert any(e.item_code == "ZZ-02" and e.field == field and fragment in e.message for e in errors), errors
    assert "ZZ-02" in catalog.unavailable and "ZZ-01" in catalog.items


def test_loader_reports_every_error_of_a_file_not_just_the_first(tmp_path):
    text = GOOD_ITEM.replace("ZZ-01", "ZZ-02").replace("type: money", "type: currency")
    text = text.replace("label: 类别", "label: kind")
    errors = _error(_load_with(tmp_path, text), "ZZ-02.yaml")
    assert {e.field for e in errors} >= {"amount", "kind"}


def test_group_function_with_unknown_sub_field(tmp_path):
    text = GOOD_ITEM.replace("ZZ-01", "ZZ-02") + """\
      - key: members
        label: 成员
        type: group
        fields:
          - {key: income, label: 收入, type: money}
computed:
  - {key: total, label: 合计, expr: 'sum_of(members, "incom")'}
"""
    errors = _error(_load_with(tmp_path, text), "ZZ-02.yaml")
    assert any(e.field == "total" and "incom" in e.message for e in errors)


def test_yaml_syntax_error_marks_only_that_item_unavailable(tmp_path):
    catalog = _load_with(tmp_path, "code: ZZ-02\nname: [未闭合\n")
    (err,) = _error(catalog, "ZZ-02.yaml")
    assert err.item_code == "ZZ-02" and "YAML" in err.message and "行" in err.message
    assert "ZZ-02" in catalog.unavailable and list(catalog.items) == ["ZZ-01"]


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"- just\n- a list\n", b"", b"code: [1, 2"],
                         ids=["not-utf8", "list", "empty", "truncated"])
def test_corrupt_files_never_raise(tmp_path, content):
    _write(tmp_path, "ZZ-01.yaml", GOOD_ITEM)
    (tmp_path / "broken.yaml").write_bytes(content)
    catalog = load_catalog(tmp_path)
    assert "broken.yaml" in catalog.unavailable
    assert list(catalog.items) == ["ZZ-01"]


def test_duplicate_code_keeps_the_first_and_reports_the_second(tmp_path):
    catalog = _load_with(tmp_path, GOOD_ITEM, name="ZZ-09.yaml")
    (err,) = _error(catalog, "ZZ-09.yaml")
    assert err.item_code == "ZZ-01" and "重复" in err.message and "ZZ-01.yaml" in err.message
    assert catalog.get("ZZ-01").source_file == "ZZ-01.yaml"
    assert "ZZ-09.yaml" in catalog.unavailable


def test_broken_copy_of_a_valid_code_does_not_hide_the_valid_item(tmp_path):
    _write(tmp_path, "ZZ-01.yaml", GOOD_ITEM)
    _write(tmp_path, "AA-broken.yaml", GOOD_ITEM.replace("type: money", "type: currency"))
    catalog = load_catalog(tmp_path)
    assert "ZZ-01" in catalog.items and "ZZ-01" not in catalog.unavailable
    assert "AA-broken.yaml" in catalog.unavailable


def test_missing_or_empty_directory_gives_an_empty_catalog(tmp_path):
    assert len(load_catalog(tmp_path / "nowhere")) == 0
    empty = load_catalog(tmp_path)
    assert len(empty) == 0 and empty.errors == [] and empty.version.startswith("0+")


def test_department_must_be_listed_in_catalog_yaml(tmp_path):
    _write(tmp_path, "catalog.yaml", 'version: "1.0.0"\ndepartments: [民政]\n')
    alien = GOOD_ITEM.replace("ZZ-01", "ZZ-02").replace("department: 民政", "department: 外星部")
    catalog = _load_with(tmp_path, alien)
    assert any(e.field == "department" for e in _error(catalog, "ZZ-02.yaml"))
    assert catalog.version == "1.0.0"


# ---------------------------------------------------------------------------
# Search

@pytest.mark.parametrize("query, code", [
    ("gljt", "MZ-01"), ("zunlaojin", "MZ-01"), ("尊老金", "MZ-01"), ("dibao", "MZ-02"), ("低保", "MZ-02"),
    ("changhuxian", "YB-06"), ("gaolingjt", "MZ-01"), ("MZ-04", "MZ-04"), ("mz04", "MZ-04"), ("juzhuzheng", "GA-02"),
    ("ＤＩＢＡＯ", "MZ-02"), ("zun'lao jin", "MZ-01"), ("公租房", "FG-02"),
])
def test_search_ranks_the_expected_item_first(service, query, code):
    hits = service.search(query)
    assert hits and hits[0].code == code, [h.code for h in hits[:5]]


def test_search_hit_carries_what_matched(service):
    hit = service.search("gljt")[0]
    assert (hit.name, hit.department, hit.mode, hit.matched) == ("高龄老人尊老金申领", "民政", "转办", "高龄津贴")
    assert hit.score > 0


def test_search_by_department(service):
    hits = service.search("残疾", department="残联")
    assert {h.code for h in hits} == {"CL-01", "CL-02", "CL-05", "CL-06", "CL-07"}
    # 民政 leads the 两项补贴 (国发〔2015〕52号), so they are found under 民政, not 残联.
    assert {h.code for h in service.search("残疾", department="民政")} >= {"CL-03", "CL-04"}
    assert service.search("gljt", department="人社") == []


def test_recent_items_come_first_when_they_match(service):
    hits = service.search("dibao", recent_codes=["MZ-06", "RS-01"])
    assert hits[0].code == "MZ-06" and "RS-01" not in {h.code for h in hits}
    empty = service.search("", recent_codes=["TY-02", "MZ-01"])
    assert [h.code for h in empty[:2]] == ["TY-02", "MZ-01"] and len(empty) == 65


@pytest.mark.parametrize("query", ["", " ", "'", "zzzzzz", "🙂", "a" * 500, "低保" * 100, "\x00", "-", "９"])
def test_odd_queries_do_not_crash(service, query):
    assert isinstance(service.search(query), list)


# ---------------------------------------------------------------------------
# CLI

def _run(capsys, *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    catalog_cli.register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    code = args.func(args)
    return code, capsys.readouterr().out


def test_cli_list_and_json(capsys):
    code, out = _run(capsys, "catalog", "list")
    assert code == 0 and "MZ-01  高龄老人尊老金申领" in out and "共 65 项" in out
    code, out = _run(capsys, "catalog", "list", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 65
    mz01 = next(r for r in rows if r["code"] == "MZ-01")
    assert mz01["department"] == "民政" and mz01["mode"] == "转办" and mz01["fields"] > 0 and mz01["materials"] > 0


def test_cli_show(capsys):
    code, out = _run(capsys, "catalog", "show", "mz-01")
    assert code == 0 and "尊老金档次" in out and "申请人居民身份证" in out and "依据" in out
    code, out = _run(capsys, "catalog", "show", "XX-99")
    assert code == 1 and "没有这个事项" in out


def test_cli_search_prints_one_line_per_hit_best_first(capsys):
    code, out = _run(capsys, "catalog", "search", "gljt")
    assert code == 0 and out.splitlines()[0].startswith("MZ-01")
    code, out = _run(capsys, "catalog", "search", "dibao")
    assert out.splitlines()[0].split()[0] == "MZ-02"


def test_cli_validate(capsys, tmp_path):
    code, out = _run(capsys, "catalog", "validate")
    assert code == 0 and out.startswith("OK 65")
    _write(tmp_path, "ZZ-01.yaml", GOOD_ITEM.replace("type: money", "type: currency"))
    code, out = _run(capsys, "catalog", "validate", str(tmp_path))
    assert code == 1 and "ZZ-01.yaml [ZZ-01] amount" in out and "未知字段类型" in out


def test_bench_catalog_reports_figures(capsys):
    figures = catalog_bench.bench_catalog(loads=1)
    assert figures["items"] == 65 and figures["keystrokes"] > 20
    assert figures["load_ms_median"] > 0 and figures["search_ms_median"] > 0
    assert "ms" in capsys.readouterr().out


def test_catalog_core_does_not_import_qt():
    code = "import sys, app.desk.catalog.search, app.cli.catalog, forms.validate; sys.exit('PySide6' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=FORMS_ITEMS_DIR.parent.parent).returncode == 0
