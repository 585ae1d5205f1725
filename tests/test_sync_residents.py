"""Residents travel with their cases; the same person registered at two desks while offline becomes one record."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.desk.residents import ResidentInput, ResidentService
from models import Case, Resident

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = pytest.mark.server

ZHANG = ResidentInput(name="张桂兰", id_number="11010519491231002X", phone="13800138000", address="幸福里一区3号楼")


def test_resident_and_case_reach_the_other_desk(make_desk, seeded):
    a, b = make_desk("A"), make_desk("B")
    row, _ = ResidentService(a.ctx).create(a.worker("desk"), ZHANG)
    cid = a.new_case(applicant_id=row.id)
    assert a.sync.sync_once().ok
    assert b.sync.sync_once().ok
    assert ResidentService(b.ctx).find_by_id_number(ZHANG.id_number).id == row.id
    assert b.cases.get(cid).summary.applicant_name == "张桂兰"


def test_same_person_registered_offline_at_two_desks_is_merged(make_desk, seeded):
    a, b = make_desk("A"), make_desk("B")
    first, _ = ResidentService(a.ctx).create(a.worker("desk"), ZHANG)
    twin = ResidentInput(name=ZHANG.name, id_number=ZHANG.id_number, phone="13900000000")
    second, _ = ResidentService(b.ctx).create(b.worker("desk"), twin)
    case_b = b.new_case(applicant_id=second.id)
    assert a.sync.sync_once().ok
    result = b.sync.sync_once()
    assert result.ok and result.set_aside == 0
    for desk in (a, b, a):
        assert desk.sync.sync_once().ok
    with seeded.sessions() as s:
        kept = s.scalars(select(Resident)).one()
        assert kept.id == first.id and kept.phone == "13900000000"  # the later edit wins, on the first record
        assert s.get(Case, case_b).applicant_id == first.id
    for desk in (a, b):
        with desk.ctx.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Resident)) == 1
            assert s.get(Case, case_b).applicant_id == first.id
