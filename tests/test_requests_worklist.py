"""诉求 in the worklist (issue 20): the 诉求 tab of the 块长 (a 站长 sees the committee's), rows carrying the
24-hour clock (yellow at 4 h left, red once late), late requests in the 已超期 tab and the reminder, and the
service tabs that never list a request."""

from __future__ import annotations

import datetime as dt

import pytest

from app.core.blocks import Block
from app.desk.auth import AuthService
from app.desk.blocks import BlockService
from app.desk.cases import CaseService, ItemRef
from app.desk.requests import RequestService
from app.desk.worklist import TABS, WorklistService

H = dt.timedelta(hours=1)


@pytest.fixture
def world(desk_ctx):
    auth = AuthService(desk_ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="kz", display_name="陈块长", password="kzpass1", roles=["front_desk"])
    people = {w.login: w for w, _ in auth.list_workers()}
    BlockService(desk_ctx).set(people["boss"], [Block("A1", "一块区", people["kz"].id, ("幸福里",))])
    return RequestService(desk_ctx), WorklistService(desk_ctx), people, desk_ctx


def _register(svc, actor, place="幸福里一区3号楼", **kw):
    return svc.register(actor, category="sanitation", place=place, description="垃圾桶满了",
                        contact_phone="13800138000", **kw)


def _ids(rows):
    return {r.id for r in rows}


def test_the_requests_tab_is_labelled_and_shown_to_everyone(world):
    _svc, wl, people, _ctx = world
    assert ("requests", "诉求") in TABS
    assert all("requests" in wl.tabs_for(people[x]) for x in ("desk", "kz", "boss", "admin"))


def test_the_block_leader_sees_their_open_requests_and_the_supervisor_all(world):
    svc, wl, people, _ctx = world
    theirs = _register(svc, people["desk"])  # → 陈块长
    elsewhere = _register(svc, people["desk"], place="和平路5号")  # no block → the registering worker
    done = _register(svc, people["desk"], on_spot="solved", result="已清运")
    assert _ids(wl.page("requests", people["kz"])) == {theirs.summary.id}
    assert _ids(wl.page("requests", people["desk"])) == {elsewhere.summary.id}
    assert _ids(wl.page("requests", people["boss"])) == {theirs.summary.id, elsewhere.summary.id}
    assert wl.count("requests", people["boss"]) == 2 and done.summary.id not in _ids(wl.page("requests",
                                                                                               people["admin"]))
    row = wl.page("requests", people["kz"])[0]
    assert row.kind == "request" and row.item_name == "诉求·环境卫生" and row.state_label == "待反馈"
    assert row.clock_level == "ok" and row.clock_label.startswith("剩余 2") and row.countdown == row.clock_label
    assert row.assignee == "陈块长" and row.applicant == "" and row.urgent is False


@pytest.mark.parametrize("elapsed,level,label,urgency", [
    (dt.timedelta(hours=19, minutes=59), "ok", "剩余 4 小时", ""),
    (dt.timedelta(hours=20), "soon", "剩余 4 小时", "due_today"),
    (dt.timedelta(hours=23, minutes=59), "soon", "剩余 1 分钟", "due_today"),
    (dt.timedelta(hours=24), "overdue", "已到期", "overdue"),
    (dt.timedelta(hours=26, minutes=30), "overdue", "已超时 2 小时", "overdue"),
])
def test_rows_carry_the_clock(world, elapsed, level, label, urgency):
    svc, wl, people, _ctx = world
    d = _register(svc, people["desk"], urgency="urgent")
    intake = d.request.intake_at
    row = wl.page("requests", people["kz"], now=intake + elapsed)[0]
    assert (row.clock_level, row.clock_label, row.urgency) == (level, label, urgency)
    assert row.due_at == intake + 24 * H and row.urgent


def test_late_requests_are_in_the_overdue_tab_and_the_reminder(world):
    svc, wl, people, _ctx = world
    late = _register(svc, people["desk"])
    fed = _register(svc, people["desk"])
    promised = fed.request.intake_at + 30 * H
    svc.feedback(people["kz"], fed.summary.id, channel="phone", text="周一清运", promised_at=promised)
    told = _register(svc, people["desk"])
    svc.feedback(people["kz"], told.summary.id, channel="phone", text="已清运")  # no promise: the clock is done
    at = late.request.intake_at + 25 * H
    assert _ids(wl.page("overdue", people["kz"], now=at)) == {late.summary.id}
    assert _ids(wl.page("overdue", people["boss"], now=at)) == {late.summary.id}
    assert wl.page("overdue", people["desk"], now=at) == []  # not the front desk's to answer
    later = promised + H
    assert _ids(wl.page("overdue", people["boss"], now=later)) == {late.summary.id, fed.summary.id}
    row = {r.id: r for r in wl.page("overdue", people["boss"], now=later)}[fed.summary.id]
    assert row.clock_level == "overdue" and row.clock_label == "超过承诺 1 小时"
    assert wl.reminder(people["boss"], now=later) == (0, 2) and wl.reminder(people["kz"], now=later) == (0, 2)
    assert wl.page("overdue", people["boss"], now=late.request.intake_at + H) == []


def test_service_tabs_never_list_a_request(world):
    svc, wl, people, ctx = world
    cases = CaseService(ctx)
    with ctx.sessions.begin() as s:  # a request left as a draft (never happens at the desk: registered at once)
        draft = cases.create_in(s, people["desk"], ItemRef("SQ", "诉求·其他", "居委会", "诉求", "t"), None,
                                at=ctx.now(), kind="request").id
    service = cases.create_draft(people["desk"], ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "t"), None)
    _register(svc, people["desk"])
    assert _ids(wl.page("drafts", people["desk"])) == {service}
    assert draft not in _ids(wl.page("drafts", people["desk"]))
    for tab in ("mine", "sent", "due_today", "pending", "makeup", "followup"):
        assert all(r.kind == "service" for r in wl.page(tab, people["boss"])), tab
