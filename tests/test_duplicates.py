"""Duplicate application check (issue 13 point 9) on a real desk database.

For a resident and an item: open cases of the item (not drafts, not finished) and those resolved or closed within
the item's ``repeat_window_days``, measured on the working clock.
"""

from __future__ import annotations

import datetime as dt

import pytest

from app.core.paths import FORMS_ITEMS_DIR
from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.desk.duplicates import earlier_cases, warning_text
from app.desk.intake import IntakeService
from app.desk.residents import ResidentService
from forms.loader import load_catalog
from models import Case

ZUNLAOJIN = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")
DIBAO = ItemRef("MZ-02", "最低生活保障申请", "民政", "转办", "test-1")
WINDOWS = {"MZ-01": 365, "MZ-03": 365, "MZ-09": 365, "MZ-12": 365, "FG-04": 365, "RS-03": 365, "WJ-08": 365,
           "WJ-09": 365, "TY-03": 365, "TY-04": 365, "MZ-10": 180, "YB-06": 180}


@pytest.fixture
def desk(desk_ctx):
    auth = AuthService(desk_ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="mz", display_name="李建国", password="mzpass1", roles=["line"], lines=["民政"])
    people = {w.login: w for w, _ in auth.list_workers()}
    zhang = ResidentService(desk_ctx).search("张桂兰")[0]
    li = ResidentService(desk_ctx).search("李秀英")[0]
    return desk_ctx, CaseService(desk_ctx), people, zhang, li


def _closed(cases, people, resident, item=ZUNLAOJIN, result="approved"):
    d, mz = people["desk"], people["mz"]
    cid = cases.create_draft(d, item, resident.id)
    cases.submit(d, cid, {}, {"申请人居民身份证": True})
    cases.forward(d, cid, assignee_id=mz.id, queue="民政")
    cases.reply(mz, cid, result, "符合条件" if result == "approved" else "不符合条件")
    cases.close(d, cid, "phone")
    return cid


def _set_closed_at(ctx, cid, days_ago: int) -> None:
    with ctx.sessions.begin() as s:
        case = s.get_one(Case, cid)
        case.closed_at = ctx.now() - dt.timedelta(days=days_ago)


def test_open_and_recent_cases_are_listed_drafts_refused_and_old_ones_not(desk):
    ctx, cases, people, zhang, li = desk
    d = people["desk"]
    closed = _closed(cases, people, zhang)
    draft = cases.create_draft(d, ZUNLAOJIN, zhang.id)
    refused = cases.create_draft(d, ZUNLAOJIN, zhang.id)
    cases.refuse(d, refused, "未满 80 周岁")
    waiting = cases.create_draft(d, ZUNLAOJIN, zhang.id)
    cases.submit(d, waiting, {}, {}, missing=["户口簿"])
    cases.create_draft(d, DIBAO, zhang.id)  # another item
    other = _closed(cases, people, li)  # another resident
    found = earlier_cases(ctx, zhang.id, "MZ-01", 365)
    assert [c.case_id for c in found] == [waiting, closed]  # open first
    assert draft not in [c.case_id for c in found] and refused not in [c.case_id for c in found]
    assert found[0].is_open and found[0].state == "pending_materials" and not found[1].is_open
    assert [c.case_id for c in earlier_cases(ctx, li.id, "MZ-01", 365)] == [other]
    # without a window only open cases count; outside the window a closed case no longer does
    assert [c.case_id for c in earlier_cases(ctx, zhang.id, "MZ-01", None)] == [waiting]
    _set_closed_at(ctx, closed, days_ago=366)
    assert [c.case_id for c in earlier_cases(ctx, zhang.id, "MZ-01", 365)] == [waiting]
    _set_closed_at(ctx, closed, days_ago=364)
    assert closed in [c.case_id for c in earlier_cases(ctx, zhang.id, "MZ-01", 365)]
    assert earlier_cases(ctx, None, "MZ-01", 365) == []


def test_window_is_measured_on_the_working_clock(desk, monkeypatch):
    ctx, cases, people, zhang, _li = desk
    closed = _closed(cases, people, zhang)
    assert [c.case_id for c in earlier_cases(ctx, zhang.id, "MZ-01", 365)] == [closed]
    later = ctx.now() + dt.timedelta(days=400)
    monkeypatch.setattr(ctx, "now", lambda: later)  # the desk's corrected clock, a year on
    assert earlier_cases(ctx, zhang.id, "MZ-01", 365) == []
    assert [c.case_id for c in earlier_cases(ctx, zhang.id, "MZ-01", 365, now=later - dt.timedelta(days=60))] \
        == [closed]


def test_message_names_case_state_and_result(desk):
    ctx, cases, people, zhang, _li = desk
    closed = _closed(cases, people, zhang, result="refused")
    (found,) = earlier_cases(ctx, zhang.id, "MZ-01", 365)
    number = cases.get(closed).summary.case_number
    assert number in found.message and "已办结" in found.state_label and "不予批准" in found.state_label
    assert "不足 365 天" in found.message
    text = warning_text([found])
    assert text.startswith("重复申请提醒：") and number in text and "可以继续办理" in text
    assert warning_text([]) == ""


def test_intake_uses_the_items_window(desk):
    ctx, cases, people, zhang, _li = desk
    closed = _closed(cases, people, zhang)
    intake = IntakeService(ctx, cases)
    assert [c.case_id for c in intake.earlier_cases("MZ-01", zhang.id)] == [closed]
    assert intake.item("MZ-01").repeat_window_days == 365


def test_repeat_windows_in_the_catalog():
    catalog = load_catalog(FORMS_ITEMS_DIR)
    assert {i.code: i.repeat_window_days for i in catalog if i.repeat_window_days} == WINDOWS
