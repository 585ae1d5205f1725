"""Property tests: random strings, huge numbers and malformed ID numbers at every field type.

Nothing may crash, and every invalid value must be refused with a Chinese message.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.core.paths import FORMS_ITEMS_DIR
from app.desk.catalog.search import CatalogService
from forms import expr as ex
from forms.identity import is_valid_id
from forms.loader import load_catalog
from forms.schema import FIELD_TYPES, ServiceItem
from forms.validate import make_id_number, validate_submission
from forms.values import MAX_MONEY, MAX_NUMBER

TODAY = dt.date(2026, 11, 20)
CJK = re.compile(r"[\u4e00-\u9fff]")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.function_scoped_fixture])

_SCALAR_FIELDS = [
    {"key": "t_text", "label": "文字", "type": "text"},
    {"key": "t_longtext", "label": "长文字", "type": "longtext"},
    {"key": "t_id", "label": "身份证号码", "type": "id_number"},
    {"key": "t_phone", "label": "电话", "type": "phone"},
    {"key": "t_date", "label": "日期", "type": "date",
     "constraints": [{"rule": "value <= today()", "message": "日期不能晚于今天"}]},
    {"key": "t_number", "label": "数量", "type": "number", "integer": True, "min": 0, "max": 1000},
    {"key": "t_money", "label": "金额", "type": "money",
     "constraints": [{"rule": "value * 2 < 10 ** 12", "message": "金额不合理"}]},
    {"key": "t_choice", "label": "单选", "type": "choice", "options": ["甲", "乙"]},
    {"key": "t_multi", "label": "多选", "type": "multichoice", "options": ["甲", "乙", "丙"], "max": 2},
    {"key": "t_yesno", "label": "是否", "type": "yesno"},
    {"key": "t_address", "label": "地址", "type": "address"},
]
ITEM = ServiceItem.model_validate({
    "code": "ZZ-99", "name": "性质测试", "department": "民政", "category": "测试", "mode": "即办",
    "legal_basis": ["测试"], "conditions": ["测试"], "time_limit": "当场", "forward_target": "测试",
    "steps": [
        {"title": "全部类型", "fields": [{**f, "required": True} for f in _SCALAR_FIELDS] + [
            {"key": "t_person", "label": "人员", "type": "person", "required": True, "options": ["配偶", "子女"]},
            {"key": "t_group", "label": "成员", "type": "group", "required": True, "min": 1, "max": 5,
             "fields": [{**f, "key": f["key"] + "_g"} for f in _SCALAR_FIELDS]},
            {"key": "t_shown", "label": "条件字段", "type": "text", "required": True, "visible_if": "t_yesno == true"},
        ]},
    ],
    "computed": [{"key": "c_total", "label": "合计", "expr": 'sum_of(t_group, "t_money_g") + (t_money or 0)'},
                 {"key": "c_ratio", "label": "比例", "expr": "t_money / t_number"}],
    "eligibility": [{"rule": "t_money < 5000", "message": "金额过高", "level": "block"},
                    {"rule": "t_number < 100", "message": "数量偏大", "level": "warn"}],
    "materials": [{"name": "身份证", "form": "原件", "standard": "有效身份证", "required": "t_choice == \"甲\""}],
})
FIELD_KEYS = [f["key"] for f in _SCALAR_FIELDS] + ["t_person", "t_group"]
APPLICANT = {"name": "张三", "id_number": make_id_number(40, "男", TODAY), "phone": "13800138000",
             "local_hukou": True}

garbage = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**12, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=True, allow_infinity=True),
    st.text(), st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40),
    st.binary(max_size=20), st.lists(st.text(max_size=5), max_size=5), st.dates(), st.datetimes(),
    st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers()), max_size=4),
    st.lists(st.dictionaries(st.sampled_from(["t_text_g", "t_money_g", "t_id_g", "x"]),
                             st.one_of(st.text(max_size=8), st.integers(), st.none()), max_size=4), max_size=6),
)


def _check(result) -> None:
    for key, message in result.errors + result.warnings:
        assert isinstance(key, str) and isinstance(message, str) and CJK.search(message), (key, message)
    messages = result.eligibility_failures + result.eligibility_warnings + result.eligibility_infos
    assert all(isinstance(m, str) and CJK.search(m) for m in messages)


def _submit(**fields) -> dict:
    return {"applicant": APPLICANT, "agent": None, "fields": fields, "materials": {}}


@SETTINGS
@given(key=st.sampled_from(FIELD_KEYS + ["t_shown", "c_total", "unknown"]), value=garbage)
def test_garbage_in_any_field_never_crashes(key, value):
    _check(validate_submission(ITEM, _submit(**{key: value, "t_yesno": True}), TODAY))


@SETTINGS
@given(fields=st.dictionaries(st.sampled_from(FIELD_KEYS), garbage, max_size=len(FIELD_KEYS)),
       applicant=st.one_of(garbage, st.fixed_dictionaries({"name": garbage, "id_number": garbage,
                                                           "phone": garbage, "local_hukou": garbage})),
       agent=garbage, materials=garbage)
def test_garbage_submissions_never_crash(fields, applicant, agent, materials):
    result = validate_submission(ITEM, {"applicant": applicant, "agent": agent, "fields": fields,
                                        "materials": materials}, TODAY)
    _check(result)
    assert all(v is None or isinstance(v, (int, float, bool, str)) for v in result.computed.values())


@SETTINGS
@given(submission=garbage)
def test_a_submission_that_is_not_a_dict_is_refused(submission):
    assume(not isinstance(submission, dict))
    result = validate_submission(ITEM, submission, TODAY)
    assert result.errors and not result.ok


def _refused(key: str, value) -> bool:
    result = validate_submission(ITEM, _submit(**{key: value}), TODAY)
    _check(result)
    return bool(result.errors_for(key))


@SETTINGS
@given(st.text(max_size=25))
def test_malformed_id_numbers_are_refused(text):
    assume(text.strip() and not is_valid_id(text, TODAY))
    assert _refused("t_id", text)
    assert _refused("t_person", {"name": "李四", "id_number": text, "relation": "配偶"})


@SETTINGS
@given(age=st.integers(0, 110), sex=st.sampled_from(["男", "女"]), position=st.integers(0, 16),
       digit=st.integers(1, 9))
def test_valid_ids_pass_and_any_single_digit_change_is_caught(age, sex, position, digit):
    number = make_id_number(age, sex, TODAY)
    assert not _refused("t_id", number) and not _refused("t_id", number.lower())
    changed = number[:position] + str((int(number[position]) + digit) % 10) + number[position + 1:]
    assert _refused("t_id", changed)  # ISO 7064 MOD 11-2 detects every single-digit error


@SETTINGS
@given(st.one_of(st.integers(), st.integers(min_value=-10**300, max_value=10**300)))
def test_huge_numbers_are_refused(number):
    assert _refused("t_number", number) == (not 0 <= number <= 1000)
    assert _refused("t_money", number) == (not 0 <= number <= MAX_MONEY)


@SETTINGS
@given(st.text(max_size=30))
def test_non_numbers_are_refused(text):
    try:
        Decimal(text.strip().replace(",", "").replace("，", ""))
        assume(False)
    except (InvalidOperation, ValueError):
        pass
    assume(text.strip())
    assert _refused("t_number", text) and _refused("t_money", text)


@SETTINGS
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_bounded_and_finite(number):
    refused = _refused("t_money", number)
    acceptable = number == number and abs(number) != float("inf") and 0 <= number <= float(MAX_MONEY) \
        and Decimal(str(number)) == Decimal(str(number)).quantize(Decimal("0.01"))
    assert refused == (not acceptable)
    assert MAX_NUMBER > MAX_MONEY


@SETTINGS
@given(st.text(max_size=30))
def test_random_strings_in_typed_fields_are_refused(text):
    assume(text.strip())
    if text.strip() not in ("甲", "乙"):
        assert _refused("t_choice", text)
    if text.strip() not in ("是", "否"):
        assert _refused("t_yesno", text)
    if not re.fullmatch(r"\s*\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s*", text):
        assert _refused("t_date", text)
    if not re.fullmatch(r"[\d+\-\s()（）]+", text):
        assert _refused("t_phone", text)


_word = st.text(alphabet="张三ab1", min_size=1, max_size=3)


@SETTINGS
@given(st.builds(lambda a, c, b: a + c + b, _word, st.sampled_from([chr(i) for i in range(32)] + ["\x7f", "\ud800"]),
                 _word))
def test_control_characters_and_lone_surrogates_are_refused_in_text(text):
    assert _refused("t_text", text) and _refused("t_address", text + "路1号")


@pytest.fixture(scope="module")
def real_items():
    return list(load_catalog(FORMS_ITEMS_DIR))


@SETTINGS
@given(data=st.data())
def test_garbage_into_real_items_never_crashes(real_items, data):
    item = data.draw(st.sampled_from(real_items))
    keys = [f.key for _, f in item.iter_fields()]
    fields = data.draw(st.dictionaries(st.sampled_from(keys), garbage, max_size=6))
    _check(validate_submission(item, _submit(**fields), TODAY))


@SETTINGS
@given(st.text(max_size=80))
def test_expression_checker_and_evaluator_never_raise(source):
    problems = ex.check(source, {"a": None, "b": None})
    assert isinstance(problems, list)
    if not problems:
        assert ex.Evaluator({"a": 10**300, "b": "x"}, TODAY).truth(source) in (True, False, None)


@SETTINGS
@given(st.sampled_from(["a ** b", "a * b", "a << b", "a / b", "a - b * 1e308 * 1e308", "'x' * b", "a // b % b"]),
       st.one_of(st.integers(), st.floats(), st.text(max_size=5)), st.one_of(st.integers(), st.floats()))
def test_hostile_arithmetic_is_undetermined_not_a_crash(source, a, b):
    assert ex.Evaluator({"a": a, "b": b}, TODAY).truth(source) in (True, False, None)


@pytest.fixture(scope="module")
def service():
    svc = CatalogService(FORMS_ITEMS_DIR)
    svc.load()
    return svc


@SETTINGS
@given(text=st.text(max_size=40), department=st.one_of(st.none(), st.text(max_size=4), st.just("民政")))
def test_search_never_crashes(service, text, department):
    hits = service.search(text, department=department, recent_codes=[text, "MZ-01"])
    assert all(h.code in service.catalog.items for h in hits)
    assert all(department is None or h.department == department for h in hits)


def test_every_field_type_is_covered():
    covered = {f["type"] for f in _SCALAR_FIELDS} | {"person", "group"}
    assert covered == set(FIELD_TYPES)
