"""The resident's progress page on the district server (GET /v/{case_number}?c=CODE): a real case pushed by a
desk to the real PostgreSQL server, read without login; wrong codes look exactly like unknown cases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.core.verify import verification_url
from app.core.vocabulary import CHINA_TZ
from app.desk.residents import ResidentInput, ResidentService
from app.server import verify
from models.server import Case, Committee

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server

ZHANG = ResidentInput(name="张桂兰", id_number="11010519491231002X", phone="13800138000", address="幸福里一区3号楼")


@pytest.fixture
def forwarded(make_desk, seeded):
    """A forwarded case with a named applicant, on the server: (case number, verification code, desk)."""
    desk = make_desk("A")
    row, _ = ResidentService(desk.ctx).create(desk.worker("desk"), ZHANG)
    cid = desk.new_case(applicant_id=row.id)
    desk.cases.forward(desk.worker("desk"), cid, assignee_id=desk.worker("mz").id, queue="民政",
                       note="请核对张桂兰户籍")
    assert desk.sync.sync_once().ok
    with seeded.sessions() as s:
        case = s.get_one(Case, cid)
        assert case.state == "forwarded" and case.due_at is not None and case.verification_code
        return case.case_number, case.verification_code, desk


def _text(page: str) -> str:
    return re.sub(r"<[^>]+>", " ", page)


def test_correct_code_shows_state_and_due_date_and_nothing_personal(api, forwarded, seeded):
    number, code, _ = forwarded
    r = api.get(f"/v/{number}", params={"c": code})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    page = r.text
    text = _text(page)
    assert "已转办" in text and verify.STATE_HINTS["forwarded"] in text and "承诺答复" in text and number in text
    # State and due date only: the item (低保, 特困供养 ... would tell a photo's holder the resident's situation)
    # and the date of the last step are not shown.
    assert "高龄老人尊老金申领" not in page and "尊老金" not in page and "办理事项" not in text
    assert "最近更新" not in text and text.count("年") == 1  # one date: the promised reply
    with seeded.sessions() as s:
        due = s.scalar(select(Case.due_at).where(Case.case_number == number))
    assert due is not None
    local = due.astimezone(CHINA_TZ)
    assert f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} 前" in text
    assert "已超过" not in text
    for secret in (ZHANG.name, ZHANG.id_number, ZHANG.phone, ZHANG.address, "请核对", "李建国", "王晓燕", code):
        assert secret not in page
    # Mobile-friendly and self-contained: a viewport, no script, nothing fetched from elsewhere.
    assert 'name="viewport"' in page and "<script" not in page and "src=" not in page and "href=" not in page


def test_code_is_not_case_sensitive_and_the_desk_link_opens_the_page(api, forwarded):
    number, code, _ = forwarded
    url = verification_url("http://testserver", number, code)
    assert api.get(url).status_code == 200
    assert api.get(f"/v/{number}", params={"c": code.lower()}).status_code == 200


def test_overdue_is_said_once_the_promised_time_has_passed(api, forwarded, server_clock):
    number, code, _ = forwarded
    server_clock.advance(days=10)
    page = api.get(f"/v/{number}", params={"c": code}).text
    assert "已超过承诺答复时间" in _text(page)


@pytest.mark.parametrize("how", ["wrong code", "no code", "empty code", "unknown case", "bad number", "long code"])
def test_wrong_code_or_unknown_case_is_one_and_the_same_404(api, forwarded, how):
    number, code, _ = forwarded
    url, params = {
        "wrong code": (f"/v/{number}", {"c": "AAAAAAAA"}),
        "no code": (f"/v/{number}", {}),
        "empty code": (f"/v/{number}", {"c": ""}),
        "unknown case": (f"/v/{number[:-1]}9", {"c": code}),
        "bad number": ("/v/%3Cscript%3E", {"c": code}),
        "long code": (f"/v/{number}", {"c": code * 10}),
    }[how]
    r = api.get(url, params=params)
    assert r.status_code == 404
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert verify.NOT_FOUND in r.text and "<script" not in r.text and number not in r.text
    # The same bytes whatever the reason: nothing tells a guesser which case numbers exist.
    assert r.text == api.get(f"/v/{number}", params={"c": "BBBBBBBB"}).text


@pytest.mark.parametrize("path", ["/v/", "/v", "/v/a/b", f"/v/{'x' * 40}/more", "/v/%2F..%2F"])
def test_any_other_path_under_v_is_the_same_chinese_404_page(api, forwarded, path):
    """Not Starlette's English {"detail": "Not Found"}: the very page a wrong code gets (and it counts as one)."""
    number, _, _ = forwarded
    wrong = api.get(f"/v/{number}", params={"c": "AAAAAAAA"})
    for r in (api.get(path), api.post(path), api.post(f"/v/{number}", params={"c": "AAAAAAAA"})):
        assert r.status_code == 404 and r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.text == wrong.text and verify.NOT_FOUND in r.text and "Not Found" not in r.text
        assert r.headers["cache-control"] == "no-store"


def test_a_number_only_reaches_its_own_committees_case_and_the_code_decides(api, forwarded, seeded):
    """The same number stored under another committee (the server never takes such a number from a desk) is
    not found through its code, and does not hide the real case."""
    number, code, _ = forwarded
    from app.server import admin
    admin.add_committee(seeded, "320399001", "另一社区居民委员会")
    with seeded.sessions.begin() as s:
        original = s.scalars(select(Case).where(Case.case_number == number)).one()
        other = s.scalars(select(Committee).where(Committee.code == "320399001")).one()
        twin = Case(**{c.key: getattr(original, c.key) for c in Case.__table__.columns
                       if c.key not in ("id", "committee_id", "verification_code", "item_name")},
                    committee_id=other.id, verification_code="TWIN0001", item_name="城乡居民医疗保险参保登记")
        s.add(twin)
    assert api.get(f"/v/{number}", params={"c": "TWIN0001"}).status_code == 404
    real = api.get(f"/v/{number}", params={"c": code})
    assert real.status_code == 200 and "已转办" in real.text and "城乡居民医疗保险" not in real.text


def test_many_requests_from_one_address_are_refused_with_429(api, forwarded):
    number, code, _ = forwarded
    statuses = [api.get(f"/v/{number}", params={"c": code}).status_code for _ in range(verify.VERIFY_PER_IP.attempts)]
    assert statuses == [200] * verify.VERIFY_PER_IP.attempts
    r = api.get(f"/v/{number}", params={"c": code})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "查询过于频繁" in r.text and r.headers["content-type"] == "text/html; charset=utf-8"


def test_guessing_is_refused_sooner_than_reading(api, forwarded):
    number, code, _ = forwarded
    for _ in range(verify.VERIFY_FAILURES_PER_IP.attempts):
        assert api.get(f"/v/{number}", params={"c": "ZZZZZZZZ"}).status_code == 404
    assert api.get(f"/v/{number}", params={"c": code}).status_code == 429  # even the right code, for a while
