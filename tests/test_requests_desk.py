"""诉求 at the desk (issue 20): registration routed by 块区, each action and its refusals, the on-the-spot outcomes
in one transaction with their outbox rows, the 块区 setting by a 站长, and what the case window gets."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.core.blocks import Block, BlockError
from app.core.commands import BadCommand
from app.core.request_actions import FEEDBACK_TEXT_REQUIRED, RESULT_REQUIRED
from app.core.vocabulary import Action, Mutation
from app.desk.auth import AuthService
from app.desk.blocks import MANAGERS_ONLY, BlockService
from app.desk.cases import CaseError, CaseService, ItemRef
from app.desk.requests import RequestError, RequestService
from app.desk.residents import ResidentService
from models import AuditEntry, Case, CaseEvent, Committee, OutboxEntry

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")


@pytest.fixture
def world(desk_ctx):
    auth = AuthService(desk_ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="kz1", display_name="陈一块", password="kzpass1", roles=["front_desk"])
    auth.create_worker(admin, login="kz2", display_name="刘二块", password="kzpass2", roles=["line"], lines=["民政"])
    people = {w.login: w for w, _ in auth.list_workers()}
    BlockService(desk_ctx).set(people["boss"], [
        Block("A1", "一块区", people["kz1"].id, ("幸福里",)),
        Block("A2", "二块区", people["kz2"].id, ("幸福里 一区",)),  # longer prefix, written with a space
    ])
    residents = {name: ResidentService(desk_ctx).search(name)[0] for name in ("张桂兰", "李秀英")}
    return RequestService(desk_ctx), people, residents, desk_ctx


def _counts(ctx):
    with ctx.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Case, CaseEvent, OutboxEntry))


def _outbox(ctx, since=0):
    with ctx.sessions() as s:
        return [(o.name, o.args) for o in s.scalars(select(OutboxEntry).where(OutboxEntry.mid > since)
                                                    .order_by(OutboxEntry.mid))]


def _last_mid(ctx):
    with ctx.sessions() as s:
        return s.scalar(select(func.max(OutboxEntry.mid))) or 0


def _register(svc, actor, **kw):
    args = dict(category="property", urgency="normal", place="", description="楼道灯不亮", applicant_id=None,
                contact_name="", contact_phone="13800138000")
    args.update(kw)
    return svc.register(actor, **args)


def test_a_request_goes_to_the_block_of_the_longest_address_prefix(world):
    svc, people, residents, _ctx = world
    assert svc.route("幸福里一区3号楼").code == "A2" and svc.route("幸福里 二区5号").code == "A1"
    assert svc.route("和平路5号") is None and svc.route("") is None
    at_resident = _register(svc, people["desk"], applicant_id=residents["张桂兰"].id)  # 幸福里一区3号楼
    assert at_resident.request.block_code == "A2" and at_resident.summary.assignee_id == people["kz2"].id
    assert at_resident.request.block_name == "二块区"
    by_place = _register(svc, people["desk"], place="幸福里二区5号楼")
    assert by_place.request.block_code == "A1" and by_place.summary.assignee_id == people["kz1"].id
    nowhere = _register(svc, people["desk"], place="和平路5号")
    assert nowhere.request.block_code == "" and nowhere.summary.assignee_id == people["desk"].id  # the actor
    chosen = _register(svc, people["desk"], place="幸福里二区", block_code="A2", assignee_id=people["boss"].id)
    assert chosen.request.block_code == "A2" and chosen.summary.assignee_id == people["boss"].id
    with pytest.raises(RequestError, match="没有块区 Z9"):
        _register(svc, people["desk"], block_code="Z9")


def test_registration_is_a_case_of_kind_request_with_its_24_hour_clock(world):
    svc, people, residents, ctx = world
    since = _last_mid(ctx)
    d = _register(svc, people["desk"], applicant_id=residents["李秀英"].id, place="和平路5号", urgency="urgent",
                  contact_name="李秀英")
    assert d.kind == "request" and d.summary.state == "accepted" and d.summary.state_label == "待反馈"
    assert d.summary.kind == "request"
    assert [c.kind for c in CaseService(ctx).for_resident(residents["李秀英"].id)] == ["request"]
    with ctx.sessions() as s:
        case = s.get(Case, d.summary.id)
        assert (case.kind, case.item_code, case.item_name, case.mode) == ("request", "SQ", "诉求·物业维修", "诉求")
        assert case.feedback_due_at - case.accepted_at == dt.timedelta(hours=24)
        assert case.urgency == "urgent" and case.request_category == "property"
        assert case.data["description"] == "楼道灯不亮" and case.data["anonymous"] is False
        assert case.applicant_id == residents["李秀英"].id
    assert [n for n, _ in _outbox(ctx, since)] == [Mutation.CASE_CREATE, Mutation.CASE_REGISTER_REQUEST]
    create = _outbox(ctx, since)[0][1]
    assert create["kind"] == "request" and create["item_code"] == "SQ"
    assert d.request.clock.level == "ok" and d.request.clock.label == "剩余 24 小时"  # read at intake
    assert d.documents == ("request_slip",)


def test_registration_refusals_change_nothing(world):
    svc, people, _residents, ctx = world
    before = _counts(ctx)
    with pytest.raises(RequestError, match="诉求类别"):
        _register(svc, people["desk"], category="nonsense")
    with pytest.raises(CaseError, match="诉求内容"):
        _register(svc, people["desk"], description="  ")
    with pytest.raises(CaseError, match="匿名诉求须留联系电话"):
        _register(svc, people["desk"], place="和平路", anonymous=True, contact_phone="")
    with pytest.raises(CaseError, match="地点"):
        _register(svc, people["desk"], place="", applicant_id=None)
    with pytest.raises(RequestError, match="当场解决须填写"):
        _register(svc, people["desk"], place="和平路", on_spot="solved", result=" ")
    assert _counts(ctx) == before


def test_anonymous_request_keeps_no_resident(world):
    svc, people, residents, ctx = world
    d = _register(svc, people["desk"], place="幸福里二区", anonymous=True, applicant_id=residents["张桂兰"].id)
    assert d.applicant_id is None and d.request.anonymous
    assert d.request.contact_phone == "138****8000"  # masked on screen, for the 块长 too
    assert CaseService(ctx).get(d.summary.id, people["kz1"]).request.contact_phone == "138****8000"


def test_the_full_phone_of_a_request_is_read_through_the_audited_contact_only(world):
    """联系居民 on a 诉求: its 块长 (and the registering worker) get the contact's full number, each view written
    to the audit log without the number; a colleague who does not handle it is refused and nothing is logged."""
    svc, people, _residents, ctx = world
    d = _register(svc, people["desk"], place="幸福里二区", anonymous=True, contact_name="楼下住户",
                  contact_phone="13900001111")
    cases = CaseService(ctx)
    assert cases.get(d.summary.id, people["kz1"]).informs_resident
    contact = cases.contact_applicant(people["kz1"], d.summary.id)
    assert (contact.name, contact.phone, contact.phone_masked) == ("楼下住户", "13900001111", "139****1111")
    with ctx.sessions() as s:
        audits = s.scalars(select(AuditEntry).where(AuditEntry.worker_id == people["kz1"].id)).all()
    assert [a.subject for a in audits] == [f"case:{d.summary.id}"]
    assert "13900001111" not in audits[0].detail and d.summary.case_number in audits[0].detail
    assert not cases.get(d.summary.id, people["kz2"]).informs_resident
    with pytest.raises(CaseError, match="只有负责该诉求的工作人员"):
        cases.contact_applicant(people["kz2"], d.summary.id)
    svc.close(people["kz1"], d.summary.id, result="已处理", channel="phone")
    with pytest.raises(CaseError, match="办结前"):
        cases.contact_applicant(people["kz1"], d.summary.id)


def test_solved_on_the_spot_is_registered_and_closed_in_one_transaction(world):
    svc, people, residents, ctx = world
    since = _last_mid(ctx)
    d = _register(svc, people["desk"], applicant_id=residents["张桂兰"].id, on_spot="solved", result="已帮助更换灯泡")
    assert d.summary.state == "closed" and d.request.result_text == "已帮助更换灯泡"
    with ctx.sessions() as s:
        case = s.get(Case, d.summary.id)
        assert case.first_feedback_at == case.closed_at == case.accepted_at and case.feedback_channel == "in_person"
        assert case.assignee_id == people["kz2"].id  # the 块长 stays responsible; the registering worker closed it
    assert [n for n, _ in _outbox(ctx, since)] == [Mutation.CASE_CREATE, Mutation.CASE_REGISTER_REQUEST,
                                                   Mutation.CASE_CLOSE_REQUEST]
    assert d.request.clock.level == "done"


def test_a_refused_step_of_an_on_spot_outcome_leaves_no_request(world):
    svc, people, _residents, ctx = world
    before = _counts(ctx)
    with pytest.raises(BadCommand):  # the third step's command cannot be built: nothing of the first two stays
        _register(svc, people["desk"], place="和平路", on_spot="solved", result="坏\x00字")
    assert _counts(ctx) == before


def test_property_contacted_on_the_spot(world):
    svc, people, _residents, ctx = world
    since = _last_mid(ctx)
    promised = dt.datetime(2030, 1, 5, 9, 0, tzinfo=dt.UTC)  # 17:00 China time
    d = _register(svc, people["desk"], place="幸福里一区3号楼", on_spot="property", handler_name="安居物业",
                  handler_phone="025-88886666", promised_at=promised)
    assert d.summary.state == "in_progress" and d.summary.state_label == "处理中"
    assert d.request.handler_name == "安居物业" and d.request.promised_at == promised
    assert d.request.feedback_text == "已联系安居物业（电话 0258***6666），承诺1月5日 17:00前处理"  # front desk: masked
    full = CaseService(ctx).get(d.summary.id, people["kz2"]).request
    assert full.feedback_text == "已联系安居物业（电话 025-88886666），承诺1月5日 17:00前处理"
    assert d.request.feedback_channel == "in_person" and d.request.first_feedback_at is not None
    assert d.request.clock.label.startswith("承诺剩余")
    assert [n for n, _ in _outbox(ctx, since)] == [Mutation.CASE_CREATE, Mutation.CASE_REGISTER_REQUEST,
                                                   Mutation.CASE_HAND_OVER, Mutation.CASE_GIVE_FEEDBACK]
    with pytest.raises(RequestError, match="物业"):
        _register(svc, people["desk"], place="和平路", on_spot="property", handler_name="安居物业")


def test_feedback_then_close_by_the_block_leader(world):
    svc, people, _residents, ctx = world
    d = _register(svc, people["desk"], place="幸福里二区")  # → A1, 陈一块
    kz = people["kz1"]
    opts = {o.action for o in CaseService(ctx).get(d.summary.id, kz).options}
    assert opts == {Action.GIVE_FEEDBACK, Action.HAND_OVER, Action.CLOSE_REQUEST, Action.WITHDRAW}
    before = _counts(ctx)
    with pytest.raises(CaseError) as blank:
        svc.feedback(kz, d.summary.id, channel="phone", text="  ", expected_version=d.version)
    assert str(blank.value) == FEEDBACK_TEXT_REQUIRED
    with pytest.raises(CaseError, match="反馈居民的方式"):
        svc.feedback(kz, d.summary.id, channel="pigeon", text="已安排", expected_version=d.version)
    assert _counts(ctx) == before
    handed = svc.hand_over(kz, d.summary.id, name="安居物业", phone="025-88886666", expected_version=d.version)
    assert handed.summary.state == "accepted" and handed.summary.assignee_id == kz.id
    fed = svc.feedback(kz, d.summary.id, channel="phone", text="物业明天上午来修", expected_version=handed.version)
    assert fed.summary.state == "in_progress" and fed.request.feedback_channel_label == "电话"
    first = fed.request.first_feedback_at
    again = svc.feedback(kz, d.summary.id, channel="sms", text="物业改到下午", expected_version=fed.version)
    assert again.request.first_feedback_at == first and again.request.feedback_channel == "sms"
    with pytest.raises(CaseError) as no_result:
        svc.close(kz, d.summary.id, result="", channel="phone", expected_version=again.version)
    assert str(no_result.value) == RESULT_REQUIRED
    with pytest.raises(CaseError, match="已被更新"):
        svc.close(kz, d.summary.id, result="已修好", channel="phone", expected_version=fed.version)
    done = svc.close(kz, d.summary.id, result="已修好", channel="phone", expected_version=again.version)
    assert done.summary.state == "closed" and done.request.closed_at is not None
    assert done.request.first_feedback_at == first and done.options == []
    labels = [e.action_label for e in done.events]
    assert labels == ["开始办理", "诉求登记", "转交处理", "反馈居民", "反馈居民", "办结"]
    assert done.events[-1].to_label == "已办结" and done.events[1].to_label == "待反馈"


def test_closing_without_feedback_counts_as_the_first_feedback(world):
    svc, people, _residents, _ctx = world
    d = _register(svc, people["desk"], place="幸福里二区")
    done = svc.close(people["kz1"], d.summary.id, result="已解决", channel="phone", expected_version=d.version)
    assert done.request.first_feedback_at == done.request.closed_at and done.request.feedback_channel == "phone"


def test_who_may_act_on_a_request(world):
    svc, people, _residents, ctx = world
    d = _register(svc, people["kz1"], place="幸福里一区3号楼")  # registered by 陈一块, goes to 刘二块 (A2)
    auth = AuthService(ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="other", display_name="赵其他", password="otherpw1", roles=["front_desk"])
    other = {w.login: w for w, _ in auth.list_workers()}["other"]
    assert CaseService(ctx).get(d.summary.id, other).options == []
    with pytest.raises(CaseError, match="只有负责人（块长）、登记人、站长或管理员"):
        svc.feedback(other, d.summary.id, channel="phone", text="收到")
    fed = svc.feedback(people["kz1"], d.summary.id, channel="phone", text="收到，已转块长")  # the registering worker
    boss_opts = {o.action for o in CaseService(ctx).get(d.summary.id, people["boss"]).options}
    assert boss_opts == {Action.GIVE_FEEDBACK, Action.HAND_OVER, Action.CLOSE_REQUEST, Action.REASSIGN,
                         Action.REMIND, Action.WITHDRAW}
    moved = CaseService(ctx).reassign(people["boss"], d.summary.id, other.id, "刘二块休假",
                                      expected_version=fed.version)
    assert moved.summary.assignee_id == other.id
    assert {o.action for o in CaseService(ctx).get(d.summary.id, other).options} >= {Action.CLOSE_REQUEST}


def test_service_actions_are_refused_on_a_request_and_request_actions_on_a_service_case(world):
    svc, people, residents, ctx = world
    cases = CaseService(ctx)
    d = _register(svc, people["desk"], place="和平路")
    before = _counts(ctx)
    with pytest.raises(CaseError, match="诉求不能执行“当场办结”"):
        cases.resolve(people["desk"], d.summary.id, "办好了")
    with pytest.raises(CaseError, match="诉求不能执行“转办”"):
        cases.forward(people["desk"], d.summary.id, assignee_id=None, queue="民政")
    service = cases.create_draft(people["desk"], ITEM, residents["张桂兰"].id)
    cases.submit(people["desk"], service, {}, {"身份证": True})
    with pytest.raises(CaseError, match="“反馈居民”只用于诉求"):
        svc.feedback(people["desk"], service, channel="phone", text="已处理")
    with pytest.raises(CaseError, match="“办结”只用于诉求"):
        svc.close(people["desk"], service, result="已处理", channel="phone")
    with ctx.sessions() as s:
        assert s.get(Case, d.summary.id).state == "accepted" and s.get(Case, service).kind == "service"
    assert _counts(ctx)[0] == before[0] + 1


def test_withdraw_a_request(world):
    svc, people, _residents, ctx = world
    d = _register(svc, people["desk"], place="和平路")
    gone = CaseService(ctx).withdraw(people["desk"], d.summary.id, "居民说不用了", expected_version=d.version)
    assert gone.summary.state == "withdrawn" and gone.request.clock.level == "done"


def test_sms_text_names_the_request_and_what_happens(world):
    svc, people, _residents, _ctx = world
    d = _register(svc, people["desk"], place="幸福里二区", on_spot="property", handler_name="安居物业",
                  handler_phone="025-88886666", promised_at=dt.datetime(2030, 1, 5, 9, 0, tzinfo=dt.UTC))
    text = svc.sms_text(d.summary.id)
    assert text.startswith("【幸福里社区居民委员会】您反映的物业维修诉求（编号" + d.summary.case_number + "）")
    assert "处理人：安居物业（电话 025-88886666）" in text and "预计1月5日 17:00前处理" in text
    closed = svc.close(people["kz1"], d.summary.id, result="灯已修好", channel="sms")
    assert "已办结：灯已修好" in svc.sms_text(closed.summary.id)
    assert "13800138000" not in text  # the resident's number is not in a text meant to be sent to them


def test_categories_come_from_the_catalog(world):
    svc, *_ = world
    assert svc.categories()[0] == ("property", "物业维修") and svc.categories()[-1] == ("other", "其他")


def test_blocks_are_set_by_a_supervisor_with_an_outbox_command(world):
    svc, people, _residents, ctx = world
    blocks = BlockService(ctx)
    assert [b.code for b in blocks.get()] == ["A1", "A2"] and blocks.get()[1].addresses == ("幸福里一区",)
    with pytest.raises(BlockError) as refused:
        blocks.set(people["desk"], [])
    assert str(refused.value) == MANAGERS_ONLY
    before, since = _counts(ctx), _last_mid(ctx)
    with pytest.raises(BlockError, match="同时写在块区 A1 和 B2"):
        blocks.set(people["boss"], [{"code": "A1", "name": "一", "addresses": ["幸福里"]},
                                    {"code": "B2", "name": "二", "addresses": ["幸福里"]}])
    with pytest.raises(BlockError, match="块长不是本居委会在岗的社工"):
        blocks.set(people["boss"], [{"code": "A1", "name": "一", "leader_id": str(ITEM_ID), "addresses": []}])
    assert _counts(ctx) == before and [b.code for b in blocks.get()] == ["A1", "A2"]
    changes = blocks.set(people["admin"], [Block("C3", "三块区", people["kz2"].id, ("和平路",))])
    assert changes.settings and changes.sync_status
    assert _outbox(ctx, since) == [(Mutation.COMMITTEE_BLOCKS, {"blocks": [
        {"code": "C3", "name": "三块区", "leader_id": str(people["kz2"].id), "addresses": ["和平路"]}]})]
    with ctx.sessions() as s:
        assert s.scalars(select(Committee)).one().settings["blocks"][0]["code"] == "C3"
    assert svc.route("和平路5号").code == "C3" and svc.route("幸福里一区") is None


ITEM_ID = "0195a7b0-0000-7000-8000-000000000001"


def test_the_service_figures_leave_the_requests_out(world):
    """stats.py counts service items only (the 诉求 figures are app/core/request_stats.py's): a request of the
    period is neither a case of 办件量 nor a 台账 row, whatever became of it."""
    from app.core import stats
    from app.core.stats_types import Breakdown, Period
    from app.core.vocabulary import CHINA_TZ
    from app.core.workdays import CalendarStore
    svc, people, residents, ctx = world
    cases = CaseService(ctx)
    service = cases.create_draft(people["desk"], ITEM, residents["张桂兰"].id)
    cases.submit(people["desk"], service, {}, {"身份证": True})
    cases.resolve(people["desk"], service, "已办结")
    _register(svc, people["desk"], place="和平路", on_spot="solved", result="已解决")
    _register(svc, people["desk"], place="和平路")
    now = ctx.now()
    period = Period.this_month(now.astimezone(CHINA_TZ).date())
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case).where(Case.kind == "request")) == 2
        report = stats.compute(s, period=period, breakdown=Breakdown.ITEM, now=now,
                               calendar=CalendarStore(None).calendar)
        rows = list(stats.ledger(s, period=period, now=now))
    assert (report.total.cases, report.total.on_spot) == (1, 1)
    assert [r.key for r in report.rows] == ["MZ-01"] and len(rows) == 1


def test_the_resident_is_the_contact_unless_another_is_given(world):
    svc, people, residents, _ctx = world
    d = _register(svc, people["desk"], applicant_id=residents["张桂兰"].id, contact_phone="")
    full = CaseService(_ctx).contact_applicant(people["kz2"], d.summary.id)  # 幸福里一区 → 刘二块, audited
    assert (full.name, full.phone) == ("张桂兰", "13800138000")
    other = _register(svc, people["desk"], applicant_id=residents["张桂兰"].id, contact_name="她儿子",
                      contact_phone="13700001111")
    full = CaseService(_ctx).contact_applicant(people["kz2"], other.summary.id)
    assert (full.name, full.phone) == ("她儿子", "13700001111")


def test_photos_of_a_request_at_intake_and_of_the_result(world, tmp_path):
    import io

    from PIL import Image

    from app.core.requests import REQUEST_PHOTO_MATERIAL
    from app.desk.attachments.service import AttachmentError, AttachmentService
    svc, people, _residents, ctx = world
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (120, 130, 140)).save(buf, "JPEG")
    files = AttachmentService(ctx)
    solved = _register(svc, people["desk"], place="幸福里二区", on_spot="solved", result="已清理")  # closed at once
    added = files.add_images(people["desk"], solved.summary.id, REQUEST_PHOTO_MATERIAL, [buf.getvalue()])
    assert added.material == REQUEST_PHOTO_MATERIAL
    files.add_images(people["kz1"], solved.summary.id, "", [buf.getvalue()])  # the 块长 (其他材料)
    auth = AuthService(ctx)
    auth.create_worker(auth.login("admin", "secret123"), login="other", display_name="赵其他", password="otherpw1",
                       roles=["front_desk"])
    other = {w.login: w for w, _ in auth.list_workers()}["other"]
    with pytest.raises(AttachmentError, match="该诉求由其他同事负责"):
        files.add_images(other, solved.summary.id, REQUEST_PHOTO_MATERIAL, [buf.getvalue()])
    with pytest.raises(AttachmentError, match="没有“身份证”这项材料"):
        files.add_images(people["desk"], solved.summary.id, "身份证", [buf.getvalue()])
    gone = _register(svc, people["desk"], place="和平路")
    CaseService(ctx).withdraw(people["desk"], gone.summary.id, "不用了")
    with pytest.raises(AttachmentError, match="诉求已撤回"):
        files.add_images(people["desk"], gone.summary.id, REQUEST_PHOTO_MATERIAL, [buf.getvalue()])
    assert [a.material for a in files.for_case(solved.summary.id)] == [REQUEST_PHOTO_MATERIAL, ""]  # "": 其他材料


def test_a_block_leader_who_left_leaves_the_request_with_the_registering_worker(world):
    from models import Worker
    svc, people, _residents, ctx = world
    with ctx.sessions.begin() as s:
        s.get(Worker, people["kz1"].id).active = False
    d = _register(svc, people["desk"], place="幸福里二区")  # 一块区, whose 块长 is no longer active
    assert d.request.block_code == "A1" and d.summary.assignee_id == people["desk"].id
