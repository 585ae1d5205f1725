"""块区 (issue 20, app/core/blocks.py): what a person writes is checked with Chinese messages, a committee's
setting is read leniently, and a request's address goes to the block of its longest prefix (whitespace
ignored; no block → None). Also catalog.yaml ``request_categories`` as the loader checks it."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from app.core.blocks import (
    Block,
    BlockError,
    block_by_code,
    block_for_address,
    blocks_setting,
    committee_blocks,
    parse_blocks,
)
from forms.loader import load_catalog
from forms.request_categories import read_request_categories

LEADER = uuid.uuid4()
BLOCKS = [
    Block("A1", "幸福路", LEADER, ("幸福路",)),
    Block("A2", "幸福路100弄", None, ("幸福路100弄",)),
    Block("A3", "幸福路100弄12号", None, ("幸福路100弄12号",)),
    Block("B1", "和平路", None, ("和平路1号", "和平路3号")),
]


@pytest.mark.parametrize("address,code", [
    ("幸福路100弄12号502室", "A3"),  # the longest prefix wins
    ("幸福路100弄 12号 502室", "A3"),  # written with spaces
    ("幸福路100弄7号", "A2"),
    ("幸福路102号", "A1"),
    ("和平路3号楼", "B1"),
    ("和平路2号", None),
    ("", None),
    (None, None),
])
def test_an_address_goes_to_the_block_of_its_longest_prefix(address, code):
    block = block_for_address(BLOCKS, address)
    assert (block.code if block else None) == code


def test_the_setting_round_trips():
    raw = blocks_setting(BLOCKS)
    assert raw[0] == {"code": "A1", "name": "幸福路", "leader_id": str(LEADER), "addresses": ["幸福路"]}
    assert parse_blocks(raw) == BLOCKS and committee_blocks({"blocks": raw}) == BLOCKS
    assert parse_blocks({"blocks": raw}) == BLOCKS  # the file may hold the settings' shape too
    assert block_by_code(BLOCKS, "B1") is BLOCKS[3] and block_by_code(BLOCKS, "") is None


@pytest.mark.parametrize("raw,message", [
    ("A1", "块区设置应为列表"),
    ([["A1"]], "第 1 个块区格式不正确"),
    ([{"code": "一", "name": "x"}], "编号“一”不正确"),
    ([{"code": "A" * 17, "name": "x"}], "不正确：1 到 16 个"),
    ([{"code": "A1", "name": ""}], "块区 A1 的名称须为 1 到 32 个字"),
    ([{"code": "A1", "name": "x", "leader_id": "nobody"}], "块区 A1 的块长编号不正确"),
    ([{"code": "A1", "name": "x", "addresses": "幸福路"}], "块区 A1 的地址应为列表"),
    ([{"code": "A1", "name": "x", "addresses": ["  "]}], "块区 A1 有一条地址为空"),
    ([{"code": "A1", "name": "x", "addresses": ["幸\x00福路"]}], "含无法保存的字符"),
    ([{"code": "A1", "name": "x"}, {"code": "A1", "name": "y"}], "块区编号 A1 重复"),
    ([{"code": "A1", "name": "x", "addresses": ["幸福路 1号"]},
      {"code": "A2", "name": "y", "addresses": ["幸福路1号"]}], "地址“幸福路1号”同时写在块区 A1 和 A2 中"),
])
def test_what_a_person_writes_is_checked(raw, message):
    with pytest.raises(BlockError, match=message):
        parse_blocks(raw)


def test_a_block_leader_must_be_an_active_worker_of_the_committee():
    raw = [{"code": "A1", "name": "x", "leader_id": str(LEADER)}]
    assert parse_blocks(raw, workers=[LEADER])[0].leader_id == LEADER
    with pytest.raises(BlockError, match="块区 A1 的块长不是本居委会在岗的社工"):
        parse_blocks(raw, workers=[uuid.uuid4()])


def test_a_committee_setting_is_read_leniently():
    good = {"code": "A1", "name": "一块区", "addresses": ["幸福路"]}
    assert committee_blocks({"blocks": [good, {"code": "坏"}, "junk"]}) == [Block("A1", "一块区", None, ("幸福路",))]
    assert committee_blocks(None) == [] and committee_blocks({"blocks": "junk"}) == []


# ----- catalog.yaml request_categories ----------------------------------------------------------------------
def test_the_bundled_catalog_lists_the_default_categories():
    catalog = load_catalog(Path("forms/items"))
    assert catalog.request_categories[0] == ("property", "物业维修") and len(catalog.request_categories) == 6
    assert not [e for e in catalog.errors if e.field and "request_categories" in e.field]


@pytest.mark.parametrize("raw,message", [
    ("物业", "应为非空的类别列表"),
    ([], "应为非空的类别列表"),
    ([{"code": "Property", "label": "物业"}], "code「Property」应为"),
    ([{"code": "p", "label": ""}], "label 应为 1 到 20 个字"),
    ([{"code": "p", "label": "物业", "extra": 1}], "应为含 code 和 label 两项的键值对"),
    ([{"code": "p", "label": "物业"}, {"code": "p", "label": "物业2"}], "code「p」重复"),
    ([{"code": "p", "label": "物业"}, {"code": "q", "label": "物业"}], "label「物业」重复"),
])
def test_request_categories_authoring_errors(raw, message):
    out, problems = read_request_categories(raw)
    assert out == [] and any(message in m for _, m in problems), problems


def test_a_bad_request_categories_section_is_reported_by_the_loader(tmp_path):
    folder = tmp_path / "items"
    shutil.copytree("forms/items", folder)
    meta = folder / "catalog.yaml"
    text = meta.read_text(encoding="utf-8").replace("  - {code: other, label: 其他}\n",
                                                    "  - {code: other, label: 其他}\n  - {code: other, label: 另}\n")
    meta.write_text(text, encoding="utf-8")
    catalog = load_catalog(folder)
    assert catalog.request_categories == []
    assert any(e.file == "catalog.yaml" and "code「other」重复" in e.message for e in catalog.errors)
