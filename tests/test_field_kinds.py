"""Field kinds and the evaluation order of computed values.

One class per field kind (forms/kinds.py) and one editor per kind's editor name (ui/desk/field_widgets.py); the loader
derives in which order computed values are resolved, so a chain of any depth resolves and a cycle is refused.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.core.paths import FORMS_ITEMS_DIR
from forms.kinds import KINDS, FieldKind, ParseContext, sample_value
from forms.loader import load_catalog
from forms.schema import FIELD_TYPES, Field
from forms.validate import make_id_number, sample_submission, validate_submission

TODAY = dt.date(2026, 11, 20)
APPLICANT = {"name": "张三", "id_number": make_id_number(40, "男", TODAY), "phone": "13800138000", "local_hukou": True}

ITEM = """\
code: ZZ-01
name: 链式计算
aliases: [测试]
department: 民政
category: 测试类
mode: 即办
legal_basis: [测试依据]
conditions: [测试条件]
time_limit: 当场办结
forward_target: 测试部门
steps:
  - title: 第一步
    fields:
{fields}
{computed}
"""
# Written last-first, so resolving in file order (even twice over) would leave ``total`` empty.
CHAIN_FIELDS = """\
      - {key: bonus_note, label: 说明, type: text, visible_if: 'total > 100', required: true}
      - {key: doubled, label: 两倍, type: money, compute: 'amount * 2'}
      - {key: amount, label: 金额, type: money, required: true}
"""
CHAIN_COMPUTED = """\
computed:
  - {key: total, label: 合计, expr: 'tenfold + 1'}
  - {key: tenfold, label: 十倍, expr: 'doubled * 10'}
"""


def _load(tmp_path: Path, fields: str, computed: str = ""):
    (tmp_path / "ZZ-01.yaml").write_text(ITEM.format(fields=fields, computed=computed), "utf-8")
    return load_catalog(tmp_path)


def _submit(**fields) -> dict:
    return {"applicant": APPLICANT, "agent": None, "fields": fields, "materials": {}}


# ---------------------------------------------------------------------------
# Evaluation order

def test_a_chain_three_deep_resolves_in_one_pass(tmp_path):
    catalog = _load(tmp_path, CHAIN_FIELDS, CHAIN_COMPUTED)
    assert catalog.errors == []
    item = catalog.get("ZZ-01")
    keys = item.evaluation_order.keys
    assert keys.index("amount") < keys.index("doubled") < keys.index("tenfold") < keys.index("total") \
        < keys.index("bonus_note")

    result = validate_submission(item, _submit(amount="4", bonus_note="写明情况"), TODAY)
    assert result.errors == []
    assert result.computed == {"doubled": 8, "tenfold": 80, "total": 81}
    assert "bonus_note" in result.hidden and "bonus_note" not in result.values  # 81 is not over 100
    assert result.waiting == set()

    result = validate_submission(item, _submit(amount="6"), TODAY)
    assert result.computed["total"] == 121
    assert "bonus_note" not in result.hidden and result.errors_for("bonus_note") == ["请填写「说明」"]


def test_a_value_computed_from_an_unanswered_input_waits_through_the_chain(tmp_path):
    item = _load(tmp_path, CHAIN_FIELDS, CHAIN_COMPUTED).get("ZZ-01")
    result = validate_submission(item, _submit(), TODAY)
    assert result.waiting == {"doubled", "tenfold", "total"}
    assert result.computed["total"] is None


def test_a_cycle_of_computed_values_is_refused_with_item_and_fields_named(tmp_path):
    computed = """\
computed:
  - {key: first, label: 甲, expr: 'second + amount'}
  - {key: second, label: 乙, expr: 'third * 2'}
  - {key: third, label: 丙, expr: 'first - 1'}
"""
    catalog = _load(tmp_path, "      - {key: amount, label: 金额, type: money, required: true}\n", computed)
    (err,) = catalog.errors
    assert (err.file, err.item_code, err.field) == ("ZZ-01.yaml", "ZZ-01", "first")
    assert err.message == "计算字段 first → second → third → first 互相依赖（循环）"
    assert "ZZ-01" in catalog.unavailable and "ZZ-01" not in catalog.items
    assert "[ZZ-01]" in str(err)


def test_a_cycle_through_visibility_is_refused(tmp_path):
    fields = """\
      - {key: amount, label: 金额, type: money, required: true, visible_if: 'doubled > 0'}
      - {key: doubled, label: 两倍, type: money, compute: 'amount * 2'}
"""
    (err,) = _load(tmp_path, fields).errors
    assert (err.item_code, err.field) == ("ZZ-01", "amount")
    assert "amount → doubled → amount" in err.message and "显示条件" in err.message and "循环" in err.message


def test_a_cycle_of_computed_cells_in_a_group_is_refused(tmp_path):
    fields = """\
      - key: members
        label: 家庭成员
        type: group
        required: true
        fields:
          - {key: income, label: 月收入, type: money, required: true}
          - {key: net, label: 净收入, type: money, compute: 'gross - 10'}
          - {key: gross, label: 毛收入, type: money, compute: 'net + income'}
"""
    (err,) = _load(tmp_path, fields).errors
    assert (err.item_code, err.field) == ("ZZ-01", "members")
    assert "net → gross → net" in err.message and "循环" in err.message


def test_computed_cells_of_a_group_resolve_in_dependency_order(tmp_path):
    fields = """\
      - key: members
        label: 家庭成员
        type: group
        required: true
        fields:
          - {key: income, label: 月收入, type: money, required: true}
          - {key: yearly, label: 年收入, type: money, compute: 'monthly * 12'}
          - {key: monthly, label: 月收入合计, type: money, compute: 'income + 100'}
"""
    computed = "computed:\n  - {key: total, label: 全年合计, expr: 'sum_of(members, \"yearly\")'}\n"
    catalog = _load(tmp_path, fields, computed)
    assert catalog.errors == []
    item = catalog.get("ZZ-01")
    assert item.evaluation_order.rows["members"] == ("monthly", "yearly")
    result = validate_submission(item, _submit(members=[{"income": 900}, {"income": 400}]), TODAY)
    assert result.errors == [] and result.computed["total"] == (1000 + 500) * 12


def test_every_catalog_item_has_an_order_with_every_value_after_what_it_reads():
    for item in load_catalog(FORMS_ITEMS_DIR):
        order = item.evaluation_order
        position = {key: i for i, key in enumerate(order.keys)}
        assert set(position) == {f.key for _, f in item.iter_fields()} | {c.key for c in item.computed}
        for key, reads in order.reads.items():
            assert all(position[name] < position[key] for name in reads if name in position), (item.code, key)


# ---------------------------------------------------------------------------
# One class per kind

@pytest.fixture(scope="module")
def catalog_types() -> set[str]:
    catalog = load_catalog(FORMS_ITEMS_DIR)
    assert len(catalog) == 65
    return {f.type for item in catalog for _, fld in item.iter_fields() for f in [fld, *fld.fields]}


def _field(type_name: str) -> Field:
    extra: dict = {"options": ["甲", "乙", "丙"]} if KINDS[type_name].min_options else {}
    if KINDS[type_name].rows:
        extra["fields"] = [{"key": "member", "label": "姓名", "type": "text"},
                           {"key": "member_id", "label": "身份证号码", "type": "id_number"},
                           {"key": "works", "label": "是否就业", "type": "yesno"},
                           {"key": "role", "label": "关系", "type": "choice", "options": ["本人", "配偶"]}]
    return Field.model_validate({"key": f"t_{type_name}", "label": "示例", "type": type_name, **extra})


def test_the_field_types_are_the_kinds():
    assert FIELD_TYPES == tuple(KINDS)
    assert all(isinstance(kind, FieldKind) and kind.name == name for name, kind in KINDS.items())


def test_every_type_the_catalog_uses_has_a_kind_with_a_sample_that_validates(catalog_types):
    assert catalog_types <= set(KINDS), catalog_types - set(KINDS)
    for type_name in sorted(catalog_types):
        fld = _field(type_name)
        ctx = ParseContext(TODAY)
        value, _scope = fld.kind.coerce(fld, sample_value(fld, TODAY), fld.key, ctx)
        assert ctx.errors == [] and value is not None, (type_name, ctx.errors)


@pytest.mark.gui
def test_every_kind_has_an_editor_that_round_trips_its_sample(qtbot, catalog_types):
    from ui.desk.field_widgets import EDITORS, editor_for
    assert {KINDS[t].editor for t in catalog_types} <= set(EDITORS)
    for type_name in sorted(KINDS):
        fld = _field(type_name)
        editor = editor_for(fld)
        qtbot.addWidget(editor)
        assert isinstance(editor, EDITORS[fld.kind.editor])
        editor.set_value(sample_value(fld, TODAY))
        raw = editor.value()  # what the worker's entry hands to validation
        ctx = ParseContext(TODAY)
        value, _scope = fld.kind.coerce(fld, raw, fld.key, ctx)
        assert ctx.errors == [] and value is not None, (type_name, raw, ctx.errors)


def test_a_sample_submission_of_every_kind_validates(tmp_path):
    fields = "".join(f"      - {{key: t_{t}, label: 示例, type: {t}, required: true"
                     + (", options: [甲, 乙]" if KINDS[t].min_options else "")
                     + (", fields: [{key: member, label: 姓名, type: text, required: true}]" if KINDS[t].rows else "")
                     + "}\n" for t in KINDS)
    catalog = _load(tmp_path, fields)
    assert catalog.errors == []
    item = catalog.get("ZZ-01")
    result = validate_submission(item, sample_submission(item, APPLICANT, TODAY), TODAY)
    assert result.errors == [] and set(result.values) >= {f"t_{t}" for t in KINDS}


def test_format_writes_in_full_and_mask_hides_identifiers():
    number = make_id_number(40, "女", TODAY)
    id_field, phone_field, person_field = _field("id_number"), _field("phone"), _field("person")
    assert id_field.kind.format(id_field, number) == number
    assert id_field.kind.mask(id_field, number) == number[:6] + "********" + number[-4:]
    assert phone_field.kind.mask(phone_field, "13851230000") == "138****0000"
    assert phone_field.kind.screen_text(phone_field, "13851230000") == "13851230000"  # read back to the resident
    person = {"name": "李桂兰", "id_number": number, "relation": "配偶"}
    assert person_field.kind.format(person_field, person) == f"李桂兰（配偶，{number}）"
    assert person_field.kind.screen_text(person_field, person) == f"李桂兰（配偶，{number[:6]}********{number[-4:]}）"
    date_field, yes_field, multi = _field("date"), _field("yesno"), _field("multichoice")
    assert date_field.kind.format(date_field, dt.date(2026, 3, 5)) == "2026年03月05日"
    assert yes_field.kind.format(yes_field, False) == "否" and multi.kind.format(multi, ["甲", "丙"]) == "甲、丙"
    assert all(KINDS[t].format(_field(t), None) == "" for t in KINDS)


@pytest.mark.parametrize("type_name, attrs, message", [
    ("yesno", {"min": 1}, "yesno 类型的字段不能设置 min/max"),
    ("text", {"options": ["甲", "乙"]}, "text 类型的字段不能有 options"),
    ("choice", {"options": ["甲"]}, "单选字段至少需要两个选项（options）"),
    ("number", {"min": 5, "max": 1}, "min 大于 max"),
    ("group", {}, "重复组（group）需要子字段 fields"),
    ("date", {"fields": [{"key": "x", "label": "甲", "type": "text"}]}, "只有重复组（group）可以有子字段 fields"),
])
def test_each_kind_says_which_attributes_mean_something(type_name, attrs, message):
    fld = Field.model_validate({"key": "f", "label": "示例", "type": type_name, **attrs})
    assert message in fld.kind.shape_problems(fld)
