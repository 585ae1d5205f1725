"""Resident register: ID and phone validation (rules.md §4), masking (§5), search, edit, audit of full views."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.desk.auth import AuthService
from app.desk.residents import ResidentError, ResidentInput, ResidentService
from app.desk.setup import FirstRunInput, initialise_desk
from forms.identity import IdentityError, mask_id, mask_phone, validate_id, validate_phone
from models import AuditEntry, OutboxEntry, Resident


def test_standard_example_and_lowercase_x():
    info = validate_id("11010519491231002x")
    assert info.number == "11010519491231002X"
    assert info.birth_date == dt.date(1949, 12, 31) and info.sex == "女"


@pytest.mark.parametrize("value,message", [
    ("110105194912310021", "校验位"),
    ("1101051949123100", "18 位"),
    ("11010519491331002X", "出生日期"),
    ("99010519491231002X", None),  # province 99 is not valid for a resident ID... but 9 = permanent residence card
    ("110105209912310029", "晚于今天"),
    ("abcdefghijklmnopqr", "数字"),
])
def test_invalid_ids_get_chinese_messages(value, message):
    if message is None:
        # 9xxxxx is the 2023 permanent residence card prefix: check digit decides.
        with pytest.raises(IdentityError, match=r"校验位|出生日期"):
            validate_id(value)
        return
    with pytest.raises(IdentityError, match=message):
        validate_id(value)


def test_unknown_region_code_accepted_if_check_digit_ok():
    from stdnum.cn import ric
    body = "32039919800101123"  # abolished/unknown county code in Jiangsu
    validate_id(body + ric.calc_check_digit(body + "0"))


def test_phone_rules():
    assert validate_phone("138 0013 8000") == ("13800138000", None)
    assert validate_phone("+8613800138000")[0] == "13800138000"
    assert validate_phone("0516-83001234")[1] is None
    assert validate_phone("12000138000")[1] is not None  # unusual prefix warns
    with pytest.raises(IdentityError, match="电话号码格式不正确"):
        validate_phone("12345")


def test_masks():
    assert mask_id("320302194003121234") == "320302********1234"
    assert mask_phone("13800138000") == "138****8000"


@pytest.fixture
def svc(ctx):
    initialise_desk(ctx, FirstRunInput(committee_name="测试居委会", committee_code="T001",
                                       admin_login="admin", admin_name="管理员", admin_password="secret123"))
    return ResidentService(ctx), AuthService(ctx).login("admin", "secret123")


def test_create_search_and_edit(svc, ctx):
    residents, actor = svc
    zhang = ResidentInput(name="张桂兰", id_number="11010519491231002X", phone="13800138000", address="幸福里1号")
    row, warning = residents.create(actor, zhang)
    assert warning is None and row.id_masked == "110105********002X" and row.phone_masked == "138****8000"
    for q in ("张桂", "zhangguilan", "zgl", "002X", "8000", "13800138000"):  # ID/phone: in full or last 4 only
        assert [r.name for r in residents.search(q)] == ["张桂兰"], q
    detail = residents.get(row.id)
    moved = ResidentInput(name="张桂兰", id_number="", phone="", address="幸福里2号")
    residents.update(actor, row.id, moved, detail.version)
    assert residents.get(row.id).address == "幸福里2号"
    with ctx.sessions() as s:
        r = s.scalars(select(Resident)).one()
        assert r.phone == "13800138000"  # empty field kept the stored phone
        assert s.scalar(select(OutboxEntry).order_by(OutboxEntry.mid.desc())).name == "resident.upsert.v1"


def test_bad_input_changes_nothing(svc, ctx):
    residents, actor = svc
    row, _ = residents.create(actor, ResidentInput(name="张桂兰", id_number="11010519491231002X", phone="13800138000"))
    with pytest.raises(ResidentError, match="校验位"):
        residents.update(actor, row.id, ResidentInput(name="李四", id_number="110105194912310021", phone=""))
    with pytest.raises(ResidentError, match="电话号码格式"):
        residents.update(actor, row.id, ResidentInput(name="李四", id_number="", phone="999"))
    with pytest.raises(ResidentError, match="已登记"):
        residents.create(actor, ResidentInput(name="王五", id_number="11010519491231002X"))
    assert residents.get(row.id).name == "张桂兰"
    with ctx.sessions() as s:
        assert len(s.scalars(select(Resident)).all()) == 1
        assert len(s.scalars(select(OutboxEntry)).all()) == 1


def test_full_id_only_for_roles_that_need_it_and_audited(svc, ctx):
    residents, admin = svc
    row, _ = residents.create(admin, ResidentInput(name="张桂兰", id_number="11010519491231002X", phone="13800138000"))
    auth = AuthService(ctx)
    desk = auth.create_worker(admin, login="desk", display_name="前台", password="deskpass", roles=["front_desk"])
    with pytest.raises(ResidentError, match="不能查看"):
        residents.reveal(desk, row.id)
    assert residents.reveal(admin, row.id) == ("11010519491231002X", "13800138000")
    with ctx.sessions() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "resident.view_full_id")).all()
        assert len(audit) == 1 and "1101051949" not in audit[0].subject + audit[0].detail
