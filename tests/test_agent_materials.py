"""Agents (代办) handled once, at catalog level (issue 13 point 4; rules.md §6).

Whenever a submission has an agent, the agent's ID and — unless the item exempts close relatives and the agent is
one — an authorisation are required, for every item, without the item file listing them. The agent's phone is
captured and checked like the applicant's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from app.core.paths import FORMS_ITEMS_DIR
from forms.agents import AGENT_RELATIONS, CLOSE_RELATIVES, agent_problem, is_close_relative
from forms.loader import load_catalog
from forms.validate import make_id_number, sample_submission, validate_submission
from tests.test_catalog_items import GOOD_ITEM, ITEM_CODES

TODAY = dt.date(2026, 11, 20)
AGENT_ID, AUTHORIZATION = "代办人居民身份证", "授权委托书"
EXEMPT = {"MZ-01", "MZ-10", "MZ-12", "MZ-13", "WJ-07", "WJ-08", "WJ-09", "YB-01"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(FORMS_ITEMS_DIR)


def _agent(relation: str = "邻居或朋友", phone: str | None = "13952001234") -> dict:
    agent = {"name": "李四", "id_number": make_id_number(40, "男", TODAY, seed=9), "relation": relation}
    if phone is not None:
        agent["phone"] = phone
    return agent


def _missing(item, agent, received_agent_materials=False) -> set[str]:
    submission = sample_submission(item, None, TODAY)
    submission["agent"] = agent
    if not received_agent_materials:
        for name in (AGENT_ID, AUTHORIZATION):
            submission["materials"].pop(name, None)
    return {m.name for m in validate_submission(item, submission, TODAY).missing_materials}


@pytest.mark.parametrize("code", ITEM_CODES)
def test_every_item_asks_an_agent_for_id_and_authorisation_without_listing_them(catalog, code):
    raw = yaml.safe_load((Path(FORMS_ITEMS_DIR) / f"{code}.yaml").read_text(encoding="utf-8"))
    listed = [m.get("name") or m.get("use") for m in raw.get("materials") or []]
    assert not {AGENT_ID, AUTHORIZATION, "agent_id", "authorization"} & set(listed), listed  # not in the file
    item = catalog.get(code)
    agent_materials = [m for m in item.materials if m.for_agent]
    assert [m.name for m in agent_materials] == [AGENT_ID, AUTHORIZATION]  # added by the loader, last
    assert _missing(item, None) & {AGENT_ID, AUTHORIZATION} == set()  # no agent: nothing asked
    assert {AGENT_ID, AUTHORIZATION} <= _missing(item, _agent("邻居或朋友"))
    spouse = _missing(item, _agent("配偶"))
    assert AGENT_ID in spouse and (AUTHORIZATION in spouse) == (code not in EXEMPT)
    assert not _missing(item, _agent(), received_agent_materials=True) & {AGENT_ID, AUTHORIZATION}


def test_the_exemption_is_the_items_choice_and_only_for_close_relatives(catalog):
    assert {c for c in ITEM_CODES if catalog.get(c).agent_relative_exempt} == EXEMPT
    zunlaojin, dibao = catalog.get("MZ-01"), catalog.get("MZ-02")
    for relation in AGENT_RELATIONS:
        needs = AUTHORIZATION in _missing(zunlaojin, _agent(relation))
        assert needs == (relation not in CLOSE_RELATIVES), relation
        assert AUTHORIZATION in _missing(dibao, _agent(relation)), relation  # 低保: always the 委托书
    assert CLOSE_RELATIVES == {"配偶", "父母", "子女", "兄弟姐妹", "祖父母或外祖父母", "孙子女或外孙子女"}
    assert is_close_relative("子女") and not is_close_relative("其他亲属") and not is_close_relative(None)


def test_agent_phone_is_required_and_checked(catalog):
    item = catalog.get("MZ-02")
    submission = sample_submission(item, None, TODAY)
    submission["agent"] = _agent(phone=None)
    errors = dict(validate_submission(item, submission, TODAY).errors)
    assert errors["agent.phone"] == "代办人联系电话：请填写代办人的联系电话"
    submission["agent"] = _agent(phone="1395200")
    assert "代办人联系电话" in dict(validate_submission(item, submission, TODAY).errors)["agent.phone"]
    submission["agent"] = _agent(phone="139 5200 1234")
    result = validate_submission(item, submission, TODAY)
    assert result.errors == [] and result.values["agent"]["phone"] == "13952001234"


def test_agent_problem_says_what_to_fix_in_chinese():
    good = _agent()
    assert agent_problem(good, TODAY) is None
    assert agent_problem({**good, "name": ""}, TODAY) == "请填写代办人姓名"
    assert agent_problem({**good, "id_number": "110105194912310021"}, TODAY).startswith("代办人身份证号码：")
    assert agent_problem({**good, "phone": ""}, TODAY) == "请填写代办人的联系电话"
    assert agent_problem({**good, "phone": "12345"}, TODAY).startswith("代办人联系电话：")
    assert agent_problem({**good, "relation": "路人"}, TODAY) == "请选择代办人与申请人的关系"


def _catalog_dir(tmp_path: Path, item_text: str, agent_section: str | None = None) -> Path:
    text = 'version: "1.0.0"\ndepartments: [民政]\n'
    if agent_section is not None:
        text += agent_section
    (tmp_path / "catalog.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "ZZ-01.yaml").write_text(item_text, encoding="utf-8")
    return tmp_path


AGENT_SECTION = """agent_materials:
  - name: 代办人居民身份证
    form: 原件及复印件
    standard: 代办人有效居民身份证
  - name: 授权委托书
    form: 原件
    standard: 申请人签字的委托书
    relative_exempt: true
"""


def test_an_item_file_listing_an_agent_material_is_refused(tmp_path):
    item = GOOD_ITEM + "materials:\n  - name: 代办人居民身份证\n    form: 原件\n    standard: 代办人身份证\n"
    catalog = load_catalog(_catalog_dir(tmp_path, item, AGENT_SECTION))
    assert "ZZ-01" in catalog.unavailable
    assert any("agent_materials" in e.message and "代办人居民身份证" in e.message for e in catalog.errors)


def test_bad_agent_materials_section_is_reported(tmp_path):
    bad = "agent_materials:\n  - name: 代办人居民身份证\n    form: 扫描件\n    standard: 身份证\n    required: true\n"
    catalog = load_catalog(_catalog_dir(tmp_path, GOOD_ITEM, bad))
    messages = [str(e) for e in catalog.errors if e.file == "catalog.yaml"]
    assert any("agent_materials[0]" in m and "form" in m for m in messages), messages
    assert any("required" in m for m in messages), messages


def test_catalog_without_agent_materials_adds_none(tmp_path):
    catalog = load_catalog(_catalog_dir(tmp_path, GOOD_ITEM))
    assert catalog.errors == [] and not [m for m in catalog.get("ZZ-01").materials if m.for_agent]
