"""好差评 through the district server (issue 16): the desk's ratings, follow-ups and 催办 pushed and pulled, the
resident's rating on the QR page of a real server process reaching the desks, a late desk rating set aside."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from app.core.ratings import followup_days, followup_deadlines
from app.desk.sync.bad_rows import row_problem
from app.server.admin import server_calendar
from models.server import Case, Committee
from tests.live_world import LiveDesk, LiveServer
from tests.sync_helpers import ITEM

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server


def _forward(desk):
    w = desk.worker("desk")
    cid = desk.cases.create_draft(w, ITEM, None)
    desk.cases.submit(w, cid, {"x": 1}, {"身份证": True})
    desk.cases.forward(w, cid, assignee_id=desk.worker("mz").id, queue="民政", note="请审核")
    return cid


def test_a_bad_desk_rating_gets_the_servers_follow_up_deadlines_and_everything_syncs(make_desk, seeded):
    a = make_desk("A")
    cid = _forward(a)
    assert a.sync.sync_once().ok
    with seeded.sessions.begin() as s:  # the district changes its follow-up days after the desk last pulled
        committee = s.scalars(select(Committee)).one()
        committee.settings = {**(committee.settings or {}), "followup": {"callback_days": 3, "fix_days": 6}}
    a.cases.rate(a.worker("desk"), cid, "dissatisfied", reasons=["办理时间长"], comment="等了很久")
    a.cases.remind(a.worker("desk"), cid, "请尽快答复")
    result = a.sync.sync_once()
    assert result.ok and result.set_aside == 0
    with seeded.sessions() as s:
        case = s.get_one(Case, cid)
        committee = s.scalars(select(Committee)).one()
        expected = followup_deadlines(case.rated_at, server_calendar(s), followup_days(committee.settings))
        assert (case.rating, case.rating_channel, case.rating_reasons) == ("dissatisfied", "desk", ["办理时间长"])
        assert (case.followup_callback_due, case.followup_fix_due) == expected
        assert case.remind_count == 1 and case.reminded_at is not None
    view = a.cases.get(cid).rating
    assert (view.callback_due, view.fix_due) == expected  # the desk adopts the server's deadlines


def test_rating_rows_the_desk_cannot_read_are_set_aside():
    good = {"id": "01a2364e-39e6-7cf0-af75-938a6b7bb12c", "committee_id": "01a2364e-39e6-7cf0-af75-938a6b7bb12d",
            "case_number": "C-1", "state": "forwarded", "events": [], "rating": "satisfied", "rating_reasons": []}
    assert row_problem("case", good) is None
    assert row_problem("case", {**good, "rating": None, "rating_reasons": None}) is None
    assert "评价等级" in row_problem("case", {**good, "rating": "excellent"})
    assert "评价等级" in row_problem("case", {**good, "second_rating": 5})
    assert "评价原因" in row_problem("case", {**good, "rating_reasons": "态度不好"})


@pytest.mark.slow
def test_ratings_across_two_desks_and_the_qr_page_of_a_real_server(pg_url, tmp_path, template_db, password_hashes):
    server = LiveServer(pg_url, tmp_path)
    desks: list[LiveDesk] = []
    try:
        server.create(password_hashes)
        server.start()
        a = LiveDesk.new("A", tmp_path / "desk-A", template_db, server)
        b = LiveDesk.new("B", tmp_path / "desk-B", template_db, server)
        desks += [a, b]
        # Desk A forwards and the resident rates at its window; desk B (same committee) sees the rating.
        first = _forward(a)
        a.cases.rate(a.worker("desk"), first, "very_satisfied")
        a.sync()
        b.sync()
        assert b.cases.get(first).rating.label == "非常满意"
        # A resident rates another case on the running server's QR page; desk A pulls and shows it.
        second = _forward(a)
        a.sync()
        b.sync()  # desk B has the forwarded case, not yet rated
        detail = a.cases.get(second)
        url = f"{server.url}/v/{detail.summary.case_number}"
        with httpx.Client() as http:
            page = http.get(url, params={"c": detail.verification_code})
            assert page.status_code == 200 and "提交评价" in page.text
            rated = http.post(url, params={"c": detail.verification_code},
                              content="round=1&level=dissatisfied&reasons=%E7%AD%89%E5%80%99%E6%97%B6%E9%97%B4%E9%95%BF",
                              headers={"content-type": "application/x-www-form-urlencoded"})
            assert rated.status_code == 200 and "感谢您的评价" in rated.text
        # Desk B had not pulled yet: its window's rating of the same case is set aside with the rule's reason.
        b.cases.rate(b.worker("desk"), second, "satisfied")
        result = b.sync()
        assert result.set_aside == 1
        item = b.client.status().set_aside_items[0]
        assert "该案件已评价，评价提交后不能修改" in item.reason
        assert (b.cases.get(second).rating.level, b.cases.get(second).rating.channel) == ("dissatisfied", "qr")
        a.sync()
        view = a.cases.get(second).rating
        assert (view.level, view.channel, view.reasons) == ("dissatisfied", "qr", ["等候时间长"])
        assert view.stage_label == "待回访" and view.callback_due is not None
        # The 站长 follows it up on desk A; the resident's second rating comes by phone; desk B gets it all.
        boss = a.worker("boss")
        a.cases.followup_callback(boss, second, "已电话联系居民，解释了等候原因")
        a.cases.followup_fix(boss, second, "高峰时段增开一个窗口")
        a.cases.rate(boss, second, "satisfied", round=2, channel="phone")
        a.sync()
        b.sync()
        view = b.cases.get(second).rating
        assert (view.stage_label, view.second_level, view.fix_note) == ("已整改", "satisfied", "高峰时段增开一个窗口")
        db = server.open_db()
        try:
            with db.sessions() as s:
                case = s.get_one(Case, second)
                assert (case.rating, case.second_rating, case.rating_channel) == ("dissatisfied", "satisfied", "qr")
                assert case.followup_called_at is not None and case.followup_fixed_at is not None
        finally:
            db.close()
    finally:
        for d in desks:
            d.close()
        server.drop_all()
