"""好差评 on the resident's progress page (issue 16): the form behind the receipt's QR code, posted back to the
page's own address on the real PostgreSQL server; the same core action as a desk's rating, its change row for
the committee's desks, and refusals that change nothing and never answer 5xx."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from app.core.ratings import followup_days, followup_deadlines
from app.core.vocabulary import RATING_REASONS
from app.desk.residents import ResidentInput, ResidentService
from app.server import verify
from app.server.admin import server_calendar
from models.server import Case, CaseEvent, ChangeRow, Committee

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server

ZHANG = ResidentInput(name="张桂兰", id_number="11010519491231002X", phone="13800138000", address="幸福里一区3号楼")
FORM = {"content-type": verify.FORM_TYPE}


@pytest.fixture
def forwarded(make_desk, seeded):
    """A forwarded case with a named applicant, on the server: (case id, number, code, desk)."""
    desk = make_desk("A")
    row, _ = ResidentService(desk.ctx).create(desk.worker("desk"), ZHANG)
    cid = desk.new_case(applicant_id=row.id)
    desk.cases.forward(desk.worker("desk"), cid, assignee_id=desk.worker("mz").id, queue="民政", note="请审核")
    assert desk.sync.sync_once().ok
    with seeded.sessions() as s:
        case = s.get_one(Case, cid)
        return cid, case.case_number, case.verification_code, desk


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _post(api, number: str, code: str, body: str | bytes, headers=FORM):
    return api.post(f"/v/{number}", params={"c": code}, content=body, headers=headers)


def _encode(fields: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in fields)


def _state(db, cid):
    """What a refused post must leave as it was: the case's rating columns, its events, the change log."""
    with db.sessions() as s:
        case = s.get_one(Case, cid)
        events = s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == cid))
        changes = s.scalar(select(func.count()).select_from(ChangeRow))
        return case.rating, case.rated_at, case.rating_note, case.version, events, changes


def test_a_ratable_case_shows_the_form_with_no_level_chosen(api, forwarded):
    _, number, code, _ = forwarded
    r = api.get(f"/v/{number}", params={"c": code})
    assert r.status_code == 200
    page, text = r.text, _text(r.text)
    assert "服务评价" in text and "提交评价" in text
    for label in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert label in text
    form = page[page.index("<form"):page.index("</form>")]
    assert form.count('type="radio" name="level"') == 5 and "checked" not in form  # never steered
    assert all(reason in text for reason in RATING_REASONS) and "基本满意”“不满意”或“非常不满意”时填写" in text
    assert '<form class="rate" method="post"' in page and "action=" not in page  # posts to the page's own address
    assert "form-action 'self'" in r.headers["content-security-policy"]
    assert "<script" not in page and code not in page  # the code stays in the address, never echoed
    for secret in (ZHANG.name, ZHANG.id_number, ZHANG.phone, ZHANG.address, "请审核"):
        assert secret not in page


def test_a_case_not_finished_at_the_desk_shows_no_form(api, make_desk, seeded):
    desk = make_desk("A")
    cid = desk.new_case()  # accepted: the resident's business at the desk is not done yet
    assert desk.sync.sync_once().ok
    with seeded.sessions() as s:
        case = s.get_one(Case, cid)
    page = api.get(f"/v/{case.case_number}", params={"c": case.verification_code}).text
    assert "已受理" in _text(page) and "<form" not in page and "提交评价" not in page
    r = _post(api, case.case_number, case.verification_code, "level=satisfied&round=1")
    assert r.status_code == 409 and "案件办结或转办后才能评价" in _text(r.text)


def test_a_rating_is_taken_once_with_its_event_and_change_row(api, forwarded, seeded):
    cid, number, code, _ = forwarded
    with seeded.sessions() as s:
        last_seq = s.scalar(select(func.max(ChangeRow.seq)))
    body = _encode([("round", "1"), ("level", "basic"), ("reasons", "等候时间长"), ("reasons", "材料要求多"),
                    ("note", "排队等了四十分钟")])
    r = _post(api, number, code, body)
    assert r.status_code == 200, r.text
    assert "感谢您的评价" in _text(r.text) and "基本满意" in _text(r.text)
    with seeded.sessions() as s:
        case = s.get_one(Case, cid)
        assert (case.rating, case.rating_channel, case.rating_reasons, case.rating_note) == (
            "basic", "qr", ["等候时间长", "材料要求多"], "排队等了四十分钟")
        assert case.rated_at is not None and case.followup_callback_due is None  # not a bad rating
        event = max(case.events, key=lambda e: e.seq)
        assert (event.action, event.worker_id, event.note) == ("rate", None, "评价：基本满意")
        assert event.detail["channel"] == "qr" and "mutation_id" not in event.detail  # no desk's command
        rows = s.scalars(select(ChangeRow).where(ChangeRow.seq > last_seq)).all()
    assert [(row.entity, row.entity_id) for row in rows] == [("case", str(cid))]
    assert rows[0].data["rating"] == "basic" and rows[0].data["events"][-1]["action"] == "rate"
    page = api.get(f"/v/{number}", params={"c": code}).text
    assert "<form" not in page and verify.RATED_NOTE in page and "基本满意" not in page

    before = _state(seeded, cid)
    again = _post(api, number, code, "round=1&level=very_dissatisfied")
    assert again.status_code == 409 and "该案件已评价，评价提交后不能修改" in _text(again.text)
    assert _state(seeded, cid) == before


def test_a_bad_rating_gets_the_servers_follow_up_deadlines(api, forwarded, seeded, server_clock):
    cid, number, code, _ = forwarded
    with seeded.sessions.begin() as s:
        committee = s.scalars(select(Committee)).one()
        committee.settings = {**(committee.settings or {}), "followup": {"callback_days": 2, "fix_days": 5}}
    r = _post(api, number, code, _encode([("level", "very_dissatisfied"), ("reasons", "态度不好")]))
    assert r.status_code == 200 and "社区将尽快与您联系" in _text(r.text)
    with seeded.sessions() as s:
        case = s.get_one(Case, cid)
        committee = s.scalars(select(Committee)).one()
        expected = followup_deadlines(case.rated_at, server_calendar(s), followup_days(committee.settings))
        assert (case.followup_callback_due, case.followup_fix_due) == expected
        assert case.followup_callback_due < case.followup_fix_due


@pytest.mark.parametrize("how", ["no level", "empty level", "unknown level", "unknown reason", "long note",
                                 "nul in note", "not utf-8", "raw bytes", "not a form", "two levels",
                                 "bad round", "too many fields", "huge body"])
def test_bad_input_is_a_chinese_page_and_changes_nothing(api, forwarded, seeded, how):
    cid, number, code, _ = forwarded
    body: str | bytes
    headers, status = FORM, 422
    if how == "no level":
        body = "round=1&note=" + quote("很好")
    elif how == "empty level":
        body = "level=&round=1"
    elif how == "unknown level":
        body = "level=excellent"
    elif how == "unknown reason":
        body = _encode([("level", "dissatisfied"), ("reasons", "太热了")])
    elif how == "long note":
        body = _encode([("level", "satisfied"), ("note", "好" * (verify.RATE_NOTE_CHARS + 1))])
    elif how == "nul in note":
        body = _encode([("level", "satisfied"), ("note", "好\x00")])
    elif how == "not utf-8":
        body, status = "level=satisfied&note=%C4%E3%BA%C3", 400  # 你好 in GBK
    elif how == "raw bytes":
        body = b"level=satisfied&note=\xc4\xe3"  # refused before the route (app/server/body_limits.py)
    elif how == "not a form":
        body, headers, status = '{"level": "satisfied"}', {"content-type": "application/json"}, 400
    elif how == "two levels":
        body, status = "level=satisfied&level=dissatisfied", 400
    elif how == "bad round":
        body, status = "level=satisfied&round=3", 400
    elif how == "too many fields":
        body, status = "level=satisfied&" + "&".join(["reasons=x"] * 60), 400
    else:
        body, status = "level=satisfied&note=" + "A" * (verify.RATE_BODY_BYTES + 1), 413
    before = _state(seeded, cid)
    r = _post(api, number, code, body, headers)
    assert r.status_code == status, r.text
    assert re.search(r"[\u4e00-\u9fff]", r.text) and "Traceback" not in r.text
    if how != "raw bytes":
        assert r.headers["content-type"] == "text/html; charset=utf-8" and "<script" not in r.text
    assert _state(seeded, cid) == before
    if how in ("no level", "empty level", "unknown level"):
        assert verify.LEVEL_MISSING in _text(r.text)
    if how == "long note":
        assert verify.NOTE_TOO_LONG in _text(r.text)
    # the form as shown still works afterwards
    assert _post(api, number, code, "level=satisfied&round=1").status_code == 200


@pytest.mark.parametrize("how", ["wrong code", "no code", "unknown case"])
def test_a_wrong_code_or_unknown_case_gets_the_pages_own_404(api, forwarded, seeded, how):
    cid, number, code, _ = forwarded
    url, params = {"wrong code": (f"/v/{number}", {"c": "AAAAAAAA"}), "no code": (f"/v/{number}", {}),
                   "unknown case": (f"/v/{number[:-1]}9", {"c": code})}[how]
    before = _state(seeded, cid)
    for body in ("level=very_satisfied&round=1", "nonsense=%FF"):  # whatever the form holds
        r = api.post(url, params=params, content=body, headers=FORM)
        assert r.status_code == 404
        assert r.text == api.get(f"/v/{number}", params={"c": "BBBBBBBB"}).text and verify.NOT_FOUND in r.text
    assert _state(seeded, cid) == before


def test_posts_count_against_the_pages_rate_limit(api, forwarded):
    _, number, code, _ = forwarded
    for _ in range(verify.VERIFY_FAILURES_PER_IP.attempts):
        assert _post(api, number, "ZZZZZZZZ", "level=satisfied").status_code == 404
    r = _post(api, number, code, "level=satisfied")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "过于频繁" in r.text
    assert api.get(f"/v/{number}", params={"c": code}).status_code == 429


def test_the_rating_reaches_the_desk_by_pull_and_a_late_desk_rating_is_set_aside(api, forwarded, seeded):
    cid, number, code, desk = forwarded
    desk_worker = desk.worker("desk")
    # The resident rates on the phone while the desk, not yet pulled, lets them rate at the window too.
    assert _post(api, number, code.lower(), "level=satisfied&round=1").status_code == 200
    desk.cases.rate(desk_worker, cid, "very_satisfied")
    result = desk.sync.sync_once()
    assert result.ok and result.set_aside == 1
    item = desk.sync.status().set_aside_items[0]
    assert "该案件已评价，评价提交后不能修改" in item.reason and item.case_id == str(cid)
    rating = desk.cases.get(cid).rating
    assert (rating.level, rating.channel, rating.label) == ("satisfied", "qr", "满意")  # the server's rating
    with seeded.sessions() as s:
        assert s.get_one(Case, cid).rating == "satisfied"


def test_a_second_rating_after_the_fix_on_the_page(api, forwarded, seeded):
    cid, number, code, desk = forwarded
    assert _post(api, number, code, "level=dissatisfied&round=1").status_code == 200
    assert desk.sync.sync_once().ok
    boss = desk.worker("boss")
    desk.cases.followup_callback(boss, cid, "已电话联系居民，了解等候时间过长的情况")
    desk.cases.followup_fix(boss, cid, "增加午间窗口一个")
    assert desk.sync.sync_once().ok
    page = api.get(f"/v/{number}", params={"c": code}).text
    assert "整改后再次评价" in page and 'name="round" value="2"' in page and 'name="reasons"' not in page
    r = _post(api, number, code, "level=satisfied&round=2")
    assert r.status_code == 200 and "感谢您的再次评价" in _text(r.text)
    with seeded.sessions() as s:
        case = s.get_one(Case, cid)
        assert (case.rating, case.second_rating) == ("dissatisfied", "satisfied")
    # A stale first-round form posted now is refused by the rule, not taken as the second rating.
    again = _post(api, number, code, "level=very_satisfied&round=1")
    assert again.status_code == 409 and "该案件已评价" in _text(again.text)
    assert desk.sync.sync_once().ok
    assert desk.cases.get(cid).rating.second_level == "satisfied"
