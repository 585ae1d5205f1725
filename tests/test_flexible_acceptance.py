"""Flexible acceptance (issue 13 point 8, rules.md §8): 容缺受理 — accepted and forwarded with a minor material
missing, on the applicant's pledge to bring it by a deadline counted in working days; the make-up recorded; an
overdue make-up in the supervisor's list; the notice in two copies on one PDF — and 告知承诺制 — the item's
standard pledge signed instead of the proofs it replaces, kept with the case and printable again. Both sync."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.core import actions, commands
from app.core.machine import TransitionError, check_transition
from app.core.vocabulary import CHINA_TZ, Action, DocKind
from app.core.workdays import CalendarStore, makeup_deadline
from app.desk.auth import AuthService
from app.desk.cases import CaseError, CaseService
from app.desk.intake import IntakeService
from app.desk.printing.service import PrintService
from app.desk.residents import ResidentInput, ResidentService
from app.desk.worklist import WorklistService
from forms.validate import sample_applicant, sample_submission
from models import Case, OutboxEntry
from models.server import Case as ServerCase
from tests.sync_helpers import ITEM

pytest_plugins = ("tests.server_fixtures",)  # the sync tests: PostgreSQL, a clean server, desks

BANK_CARD = "申请人社会保障卡或银行卡"  # deferrable on MZ-01 (the account is only needed to pay the allowance)
HOUSING_PROOF = "住房情况证明"  # replaced by FG-02's pledge
KIN_PROOF = "与逝者亲属关系证明"  # replaced by MZ-14's pledge


def _calendar():
    return CalendarStore(None).calendar


def test_makeup_deadline_counts_working_days_across_the_national_day_holiday():
    accepted = dt.datetime(2026, 9, 30, 16, 0, tzinfo=CHINA_TZ)  # Wed; 10/1–10/7 off, Sat 10/10 is worked
    assert makeup_deadline(accepted, _calendar(), 5) == (dt.date(2026, 10, 13), False)  # 10/8, 9, 10, 12, 13
    assert makeup_deadline(accepted, _calendar(), 1) == (dt.date(2026, 10, 8), False)
    late = dt.datetime(2026, 2, 13, 23, 30, tzinfo=CHINA_TZ)  # Fri night before 春节; Sat 2/14 is a working day
    assert makeup_deadline(late, _calendar(), 2) == (dt.date(2026, 2, 24), False)  # 2/14, then 2/24
    assert makeup_deadline(dt.datetime(2031, 3, 3, 9, tzinfo=CHINA_TZ), _calendar(), 5)[1] is True  # no data


@pytest.fixture
def desk(desk_ctx):
    auth = AuthService(desk_ctx)
    return desk_ctx, auth.login("desk", "deskpass"), auth.login("boss", "bosspass")


def _resident(ctx, worker, item, name: str):
    hint = sample_applicant(item)
    saved = ResidentService(ctx).create(worker, ResidentInput(
        name=name, id_number=hint["id_number"], phone="13852001234", address="幸福里二区5号",
        local_hukou=hint["local_hukou"]))
    return saved.row.id


def _start(ctx, worker, code: str, name: str):
    intake = IntakeService(ctx)
    item = intake.item(code)
    rid = _resident(ctx, worker, item, name)
    sub = sample_submission(item, intake.applicant(rid), dt.date.today())
    return intake, rid, intake.start(worker, code, rid, None), sub["fields"], dict(sub["materials"])


def _outbox(ctx, name: str) -> list[dict]:
    with ctx.sessions() as s:
        rows = s.scalars(select(OutboxEntry).where(OutboxEntry.name == name).order_by(OutboxEntry.mid))
        return [o.args for o in rows]


def _deferred_case(ctx, worker):
    intake, rid, cid, fields, materials = _start(ctx, worker, "MZ-01", "赵德福")
    materials[BANK_CARD] = False
    finished = intake.finish(worker, cid, "MZ-01", rid, None, fields, materials, outcome=Action.FORWARD,
                             insisted=True, acceptance_mode="容缺受理", credit_checked=True)
    return intake, rid, cid, finished


def test_deferred_acceptance_is_offered_only_when_only_deferrable_materials_are_missing(desk):
    ctx, worker, _boss = desk
    intake, rid, cid, fields, materials = _start(ctx, worker, "MZ-01", "赵德福")
    materials[BANK_CARD] = False
    result = intake.check("MZ-01", rid, None, fields, materials)
    modes = [(o.action, o.acceptance_mode) for o in intake.outcomes("MZ-01", result)]
    assert modes == [(Action.AWAIT_MATERIALS, ""), (Action.FORWARD, "容缺受理")]
    materials["户口簿"] = False  # a main material missing as well: only the one-time notice
    result = intake.check("MZ-01", rid, None, fields, materials)
    assert [o.action for o in intake.outcomes("MZ-01", result)] == [Action.AWAIT_MATERIALS]
    with pytest.raises(CaseError, match="可容缺的次要材料"):
        intake.finish(worker, cid, "MZ-01", rid, None, fields, materials, outcome=Action.FORWARD, insisted=True,
                      acceptance_mode="容缺受理", credit_checked=True)
    materials["户口簿"] = True
    with pytest.raises(CaseError, match="失信名单"):  # not confirmed: nothing happens
        intake.finish(worker, cid, "MZ-01", rid, None, fields, materials, outcome=Action.FORWARD, insisted=True,
                      acceptance_mode="容缺受理")
    assert CaseService(ctx).get(cid).summary.state == "draft" and _outbox(ctx, "case.accept.v1") == []


def test_deferred_case_is_forwarded_with_its_make_up_terms_in_one_submit(desk):
    ctx, worker, _boss = desk
    before = dt.datetime.now(CHINA_TZ)
    _intake, _rid, cid, finished = _deferred_case(ctx, worker)
    d = finished.detail
    assert d.summary.state == "forwarded" and d.acceptance_mode == "容缺受理"
    assert d.makeup_materials == [BANK_CARD]
    assert d.makeup_due == makeup_deadline(before, _calendar(), 5)[0]  # policy.makeup_working_days
    assert finished.document == DocKind.RECEIPT and DocKind.MAKEUP_NOTICE in finished.also
    assert d.materials[BANK_CARD]["received"] is False and d.materials[BANK_CARD]["deferred"] is True
    accept = _outbox(ctx, "case.accept.v1")[-1]
    assert accept["acceptance_mode"] == "容缺受理" and accept["makeup_materials"] == [BANK_CARD]
    assert accept["makeup_due"] == d.makeup_due.isoformat() and accept["credit_checked"] is True
    assert accept["missing"] == [] and "容缺受理，待补" in d.events[-2].note
    assert Action.RECEIVE_MAKEUP in {o.action for o in CaseService(ctx).get(cid, worker).options}


def test_make_up_received_keeps_the_state_and_clears_what_is_owed(desk):
    ctx, worker, _boss = desk
    _intake, _rid, cid, finished = _deferred_case(ctx, worker)
    cases = CaseService(ctx)
    done = cases.receive_makeup(worker, cid, expected_version=finished.detail.version)
    assert done.summary.state == "forwarded" and done.makeup_materials == []
    assert done.materials[BANK_CARD]["received"] is True and done.makeup_due == finished.detail.makeup_due
    assert done.events[-1].action == Action.RECEIVE_MAKEUP and done.events[-1].from_label == done.events[-1].to_label
    assert _outbox(ctx, "case.receive_makeup.v1")[-1]["case_id"] == str(cid)
    assert Action.RECEIVE_MAKEUP not in {o.action for o in done.options}
    with pytest.raises(CaseError, match="没有待补交"):
        cases.receive_makeup(worker, cid)
    with pytest.raises(TransitionError):  # the shared machine: not before acceptance
        check_transition("draft", Action.RECEIVE_MAKEUP, ["front_desk"])


def test_an_overdue_make_up_surfaces_to_the_supervisor(desk):
    ctx, worker, boss = desk
    _intake, _rid, cid, finished = _deferred_case(ctx, worker)
    CaseService(ctx).reply(boss, cid, "approved", "符合条件")  # the department answered; the card is still owed
    due = finished.detail.makeup_due
    wl = WorklistService(ctx)
    on_time = dt.datetime.combine(due, dt.time(12), CHINA_TZ)
    late = dt.datetime.combine(due + dt.timedelta(days=3), dt.time(10), CHINA_TZ)
    assert [r.id for r in wl.page("makeup", worker, now=on_time)] == [cid]  # waiting for the material
    row = wl.page("makeup", worker, now=on_time)[0]
    assert "容缺待补" in row.state_label and row.urgency == "due_today" and row.countdown == "今日补交截止"
    assert cid not in [r.id for r in wl.page("overdue", boss, now=on_time)]
    overdue = wl.page("overdue", boss, now=late)
    assert cid in [r.id for r in overdue]
    row = next(r for r in overdue if r.id == cid)
    assert row.urgency == "overdue" and "补交" in row.countdown
    assert wl.reminder(boss, now=late)[1] >= 1
    CaseService(ctx).receive_makeup(worker, cid)
    assert cid not in [r.id for r in wl.page("overdue", boss, now=late)]
    assert wl.page("makeup", worker, now=late) == []


def test_pledge_replaces_the_listed_proof_and_is_kept_with_the_case(desk):
    ctx, worker, _boss = desk
    intake, rid, cid, fields, materials = _start(ctx, worker, "FG-02", "钱志强")
    materials[HOUSING_PROOF] = False
    without = intake.check("FG-02", rid, None, fields, materials)
    assert [m.name for m in without.missing_materials] == [HOUSING_PROOF]
    pledged = intake.check("FG-02", rid, None, fields, materials, pledge=True)
    assert pledged.missing_materials == [] and [m.name for m in pledged.pledged_materials] == [HOUSING_PROOF]
    finished = intake.finish(worker, cid, "FG-02", rid, None, fields, materials, outcome=Action.FORWARD,
                             insisted=True, pledge=True)
    d = finished.detail
    assert d.summary.state == "forwarded" and d.acceptance_mode == "告知承诺制"
    assert d.pledge_text == intake.item("FG-02").pledge.text and d.makeup_materials == []
    assert d.materials[HOUSING_PROOF]["pledged"] is True and DocKind.PLEDGE in d.documents
    assert _outbox(ctx, "case.accept.v1")[-1]["pledge_text"] == d.pledge_text
    assert finished.also == (DocKind.PLEDGE,)
    other = _start(ctx, worker, "MZ-01", "孙大海")
    with pytest.raises(CaseError, match="不适用告知承诺制"):
        intake.finish(worker, other[2], "MZ-01", other[1], None, other[3], other[4], pledge=True)


# ----- printing ---------------------------------------------------------------------------------------------
def _pages(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]


def _flat(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("layout", ["a4", "a5"])
def test_makeup_notice_prints_two_copies_on_one_pdf(desk, layout):
    ctx, worker, _boss = desk
    intake, _rid, cid, finished = _deferred_case(ctx, worker)
    doc = PrintService(ctx).produce(worker, cid, DocKind.MAKEUP_NOTICE, layout)
    pages = [_flat(t) for t in _pages(doc.pdf)]
    assert len(pages) == 2, "one page per copy"
    assert "申请人留存联" in pages[0] and "窗口留存联" in pages[1]
    due = finished.detail.makeup_due
    standard = _flat(intake.item("MZ-01").material(BANK_CARD).standard)
    for page in pages:
        assert "容缺受理告知书" in page and BANK_CARD in page and standard[:20] in page
        assert f"{due.year}年{due.month}月{due.day}日前" in page
        assert "申请人承诺" in page and "申请人（签字）" in page and "经办人（签字）" in page
        assert "11010519" not in page  # no full ID on paper


def test_makeup_notice_on_the_roll_holds_both_copies(desk):
    ctx, worker, _boss = desk
    _intake, _rid, cid, _finished = _deferred_case(ctx, worker)
    text = _flat("".join(_pages(PrintService(ctx).produce(worker, cid, DocKind.MAKEUP_NOTICE, "thermal80").pdf)))
    assert text.count("容缺受理告知书") >= 2 and "申请人留存联" in text and "窗口留存联" in text


def test_pledge_prints_its_text_and_prints_again_from_the_case(desk):
    ctx, worker, _boss = desk
    intake, rid, cid, fields, materials = _start(ctx, worker, "MZ-14", "周国庆")
    materials[KIN_PROOF] = False
    intake.finish(worker, cid, "MZ-14", rid, None, fields, materials, outcome=Action.FORWARD, insisted=True,
                  pledge=True)
    printing = PrintService(ctx)
    assert DocKind.PLEDGE in printing.allowed(cid) and DocKind.MAKEUP_NOTICE not in printing.allowed(cid)
    first = printing.produce(worker, cid, DocKind.PLEDGE, "a4")
    text = _flat("".join(_pages(first.pdf)))
    assert "告知承诺书" in text and _flat(intake.item("MZ-14").pledge.text) in text
    assert KIN_PROOF in text and "承诺人（签字）" in text
    printing.record_print(first, printer="测试打印机", ok=True)
    again = printing.produce(worker, cid, DocKind.PLEDGE, "a5", reprint_reason="申请人要求再留一份")
    assert again.reprint_count == 1 and "补打" in _flat("".join(_pages(again.pdf)))
    with ctx.sessions() as s:
        assert s.get(Case, cid).pledge_text == intake.item("MZ-14").pledge.text


# ----- sync: the flexible fields travel in the case commands and the server stores them (PostgreSQL) -----------
@pytest.mark.server
def test_flexible_terms_and_the_make_up_reach_the_server_and_the_other_desk(make_desk, seeded):
    a, b = make_desk("A"), make_desk("B")
    desk, due = a.worker("desk"), dt.date(2026, 12, 9)
    deferred = a.cases.create_draft(desk, ITEM, None)
    materials = {"身份证": {"received": True}, BANK_CARD: {"received": False, "deferred": True, "required": True}}
    flexible = {"acceptance_mode": "容缺受理", "makeup_materials": [BANK_CARD], "makeup_due": due,
                "pledge_text": "", "credit_checked": True}
    a.cases.run(desk, deferred, [a.cases.submit_step({"x": 1}, materials, [], flexible=flexible)])
    pledged = a.cases.create_draft(desk, ITEM, None)
    a.cases.run(desk, pledged, [a.cases.submit_step({"x": 1}, {"身份证": True}, [], flexible={
        "acceptance_mode": "告知承诺制", "pledge_text": "本人承诺所述情况属实。"})])
    refused = a.cases.create_draft(desk, ITEM, None)
    a.sync.sync_once()
    with seeded.sessions() as s:
        row = s.get(ServerCase, deferred)
        assert (row.state, row.acceptance_mode, row.makeup_materials, row.makeup_due) == (
            "accepted", "容缺受理", [BANK_CARD], due)
        row = s.get(ServerCase, pledged)
        assert (row.acceptance_mode, row.pledge_text, row.makeup_due) == ("告知承诺制", "本人承诺所述情况属实。", None)
    a.cases.receive_makeup(desk, deferred)
    a.sync.sync_once()
    with seeded.sessions() as s:
        row = s.get(ServerCase, deferred)
        assert row.makeup_materials == [] and row.materials[BANK_CARD]["received"] is True
        assert row.state == "accepted" and row.events[-1].action == "receive_makeup"
    b.sync.sync_once()
    seen = b.cases.get(deferred)
    assert seen.acceptance_mode == "容缺受理" and seen.makeup_due == due and seen.makeup_materials == []
    assert b.cases.get(pledged).pledge_text == "本人承诺所述情况属实。"
    # A 容缺 command without the worker's dishonesty-list confirmation is set aside by the server's own check.
    raw = commands.SubmitArgs(case_id=refused, data={"x": 1}, materials={}, acceptance_mode="容缺受理",
                              makeup_materials=[BANK_CARD], makeup_due=due).wire()
    with seeded.sessions() as s:
        case = s.get(ServerCase, refused)
        with pytest.raises(TransitionError, match="失信名单"):
            actions.perform(case, Action.ACCEPT, commands.parse_args(commands.SubmitArgs, raw),
                            actor=actions.Actor(id=None, roles=("front_desk",)), at=dt.datetime.now(dt.UTC),
                            env=actions.SimpleEnv())
        assert case.state == "draft" and case.acceptance_mode == ""


# ----- the wizard (pytest-qt) ---------------------------------------------------------------------------------
def _wizard_at_materials(qtbot, window, query: str, code: str, resident: str):
    from tests.test_gui_wizard import open_item, pick_applicant, press_next, sample_fields, walk_steps
    wiz = open_item(qtbot, window, query, code)
    pick_applicant(qtbot, wiz, resident, resident)
    press_next(qtbot, wiz)
    if wiz.eligibility.insist.isVisibleTo(wiz.eligibility):  # a warning: the resident insists (issue 13)
        wiz.eligibility.insist.box.setChecked(True)
    press_next(qtbot, wiz)
    walk_steps(qtbot, wiz, sample_fields(wiz, window.services))
    assert wiz.current_page() is wiz.materials, wiz.message.text()
    return wiz


@pytest.mark.gui
def test_wizard_offers_deferred_acceptance_only_when_only_deferrable_materials_are_missing(window, qtbot):
    from tests.test_gui_wizard import press_button, press_next, tick_materials
    wiz = _wizard_at_materials(qtbot, window, "zunlaojin", "MZ-01", "张桂兰")
    assert not wiz.materials.pledge.isVisibleTo(wiz.materials)  # MZ-01 has no 告知承诺制
    tick_materials(qtbot, wiz, skip=(BANK_CARD, "户口簿"))
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.review
    assert wiz.notice_button.isVisible() and not wiz.makeup_button.isVisible()  # a main material is missing
    assert not wiz.review.deferred.isVisibleTo(wiz.review)
    wiz._go(wiz.pages.index(wiz.materials))
    tick_materials(qtbot, wiz, skip=(BANK_CARD,))
    press_next(qtbot, wiz)
    assert wiz.makeup_button.isVisible() and wiz.notice_button.isVisible() and not wiz.forward_button.isVisible()
    assert wiz.review.deferred.isVisibleTo(wiz.review) and BANK_CARD in wiz.review.deferred.text.text()
    assert not wiz.makeup_button.isEnabled()  # waits for the dishonesty-list check
    wiz.review.deferred.credit.setChecked(True)
    assert wiz.makeup_button.isEnabled()
    wiz.review.target.setCurrentIndex(0)  # the department queue
    cid = wiz.case_id
    press_button(qtbot, wiz, wiz.makeup_button)
    qtbot.waitUntil(lambda: not wiz.isVisible(), timeout=8000)
    d = window.services.cases.get(cid)
    assert d.summary.state == "forwarded" and d.acceptance_mode == "容缺受理" and d.makeup_materials == [BANK_CARD]


@pytest.mark.gui
def test_wizard_offers_the_pledge_only_on_flagged_items_and_it_replaces_the_proof(window, qtbot):
    from app.desk.intake import IntakeService
    from ui.desk.service_wizard import ServiceWizard
    flagged = set()
    for code in ("MZ-01", "MZ-14", "RS-04", "FG-02", "GA-02", "RS-02"):
        wiz = ServiceWizard(window.services, code, parent=window)
        if wiz.materials.pledge.isVisibleTo(wiz.materials):
            flagged.add(code)
        wiz.deleteLater()
    assert flagged == {"MZ-14", "RS-04", "FG-02"}
    assert {i.code for i in IntakeService(window.services.ctx).catalog.catalog if i.pledge} == flagged
    wiz = _wizard_at_materials(qtbot, window, "zfzlbt", "FG-03", "杨丽娟")  # no pledge on FG-03
    assert not wiz.materials.pledge.isVisibleTo(wiz.materials)
    wiz.done(0)


@pytest.mark.gui
def test_choosing_the_pledge_in_the_wizard_replaces_the_proof_and_keeps_the_pledge(window, qtbot):
    from tests.test_gui_wizard import finish, press_button, press_next, tick_materials
    wiz = _wizard_at_materials(qtbot, window, "binzangbutie", "MZ-14", "陈志强")
    pledge = wiz.materials.pledge
    assert pledge.isVisibleTo(wiz.materials) and KIN_PROOF in pledge.box.text()
    tick_materials(qtbot, wiz, skip=(KIN_PROOF,))
    wiz._refresh_checks(wiz.materials)
    assert KIN_PROOF in wiz.materials.missing.text()
    press_button(qtbot, wiz, pledge.box)
    assert pledge.box.isChecked() and pledge.text.isVisibleTo(wiz.materials)
    assert KIN_PROOF not in wiz.materials.missing.text().partition("（")[0]  # the pledge stands in for the proof
    assert wiz.materials.missing.text() == f"✓ 必交材料已收齐（{KIN_PROOF}以告知承诺代替）。"
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.review and wiz.forward_button.isVisible(), wiz.message.text()
    if wiz.review.insist.isVisibleTo(wiz.review):
        wiz.review.insist.box.setChecked(True)
    wiz.review.target.setCurrentIndex(0)
    cid = wiz.case_id
    finish(qtbot, wiz, "forward")
    d = window.services.cases.get(cid)
    assert d.acceptance_mode == "告知承诺制" and d.pledge_text and DocKind.PLEDGE in d.documents
