"""The case packet (issue 15): what the colleague who decides reads of a forwarded case — the answers by wizard
step, the applicant and agent masked until an audited reveal, the materials as received and the files of each."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from stdnum.cn import ric

from app.core.machine import printable_documents
from app.core.residents import ResidentInput
from app.core.vocabulary import Action, DocKind, State
from app.desk.attachments import LOCAL_ONLY, SYNCED, UPLOADING
from app.desk.auth import AuthService
from app.desk.intake import IntakeService
from app.desk.packet import (
    FIGURES,
    NOT_NEEDED,
    OTHER_MATERIAL,
    OWED,
    RECEIVED,
    PacketError,
    PacketService,
    checklist,
    paper_warnings,
)
from app.desk.residents import ResidentService
from forms.identity import mask_id, mask_phone
from forms.validate import sample_submission
from models import Attachment, AttachmentBlob, AuditEntry, Case, Worker

CAR = {"has_vehicle": True, "vehicle_note": "2015年购置的二手代步车"}  # fails a warn rule: the resident insists
AGENT = {"name": "王小明", "id_number": "", "phone": "13952001111", "relation": "子女"}


def id_number(birth: str, seq: str) -> str:
    body = "320302" + birth + seq
    return body + ric.calc_check_digit(body + "0")


def make_case(ctx, code: str, *, birth: str, seq: str, name: str, agent: dict | None = None, deferred=False,
              fields: dict | None = None, forward_to: str = "minzheng") -> uuid.UUID:
    """A case the front desk took through the wizard's back end with the item's sample answers, accepted and
    forwarded to ``forward_to`` (``deferred``: 容缺受理 with the deferrable materials owed)."""
    auth = AuthService(ctx)
    desk, line = auth.login("qiantai", "demo1234"), auth.login(forward_to, "demo1234")
    saved = ResidentService(ctx).create(desk, ResidentInput(name=name, id_number=id_number(birth, seq),
                                                            phone="13852004321", address="幸福里二区5号楼"))
    rid = saved.row.id
    intake = IntakeService(ctx)
    item = intake.item(code)
    submission = sample_submission(item, intake.applicant(rid))
    answers = {**submission["fields"], **(fields or {})}
    if agent is not None and not agent.get("id_number"):
        agent = {**agent, "id_number": id_number("19700101", "031")}
    needed = {m.name for m in intake.check(code, rid, agent, answers, {}).required_materials}
    materials = {m.name: m.name in needed and not (deferred and m.deferrable) for m in item.materials}
    cid = intake.start(desk, code, rid, agent)
    intake.finish(desk, cid, code, rid, agent, answers, materials, outcome=Action.FORWARD, assignee_id=line.id,
                  insisted=True, warning_note="居民称家中确有困难，电话13952008888",
                  acceptance_mode="容缺受理" if deferred else "", credit_checked=deferred)
    return cid


def page_image(text: str = "", size=(600, 800)) -> bytes:
    """A small scanned-looking page (a real JPEG), different for each ``text``."""
    from PIL import Image, ImageDraw
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 40, size[0] - 40, size[1] - 40), outline="black", width=4)
    draw.text((60, 60), text or "page", fill="black")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def add_attachment(ctx, case_id: uuid.UUID, material: str, filename: str, data: bytes | None = None, *,
                   uploaded=False, present=True, pages=1) -> uuid.UUID:
    """A file added through the attachment service from disk (``filename`` in a temp folder), as the desk adds
    one; ``uploaded``: the district server has it since. ``present=False``: a file another desk added, whose
    metadata arrived but whose bytes were never fetched here (no blob record)."""
    from app.desk.attachments.service import AttachmentService
    if not present:
        sha = hashlib.sha256(data or filename.encode()).hexdigest()
        with ctx.sessions.begin() as s:
            case = s.get(Case, case_id)
            desk = s.scalar(select(Worker).where(Worker.login == "qiantai"))
            row = Attachment(committee_id=case.committee_id, case_id=case_id, material=material, sha256=sha,
                             size=len(data or b"") or 2048, mime="application/pdf", filename=filename, pages=pages,
                             source="scanner", added_by_id=desk.id, added_at=dt.datetime.now(dt.UTC))
            s.add(row)
            s.flush()
            return row.id
    folder = Path(tempfile.mkdtemp(prefix="packet-files-"))
    path = folder / filename
    path.write_bytes(data if data is not None else page_image(filename))
    desk = AuthService(ctx).login("qiantai", "demo1234")
    info = AttachmentService(ctx).add_file(desk, case_id, material, path)
    if uploaded:
        with ctx.sessions.begin() as s:
            s.get(AttachmentBlob, info.sha256).uploaded = True
    return info.id


@pytest.fixture
def workers(demo_ctx):
    auth = AuthService(demo_ctx)
    return {login: auth.login(login, "demo1234") for login in ("qiantai", "minzheng")}


def test_answers_by_step_with_the_household_table_and_the_figures_first(demo_ctx, workers):
    cid = make_case(demo_ctx, "MZ-02", birth="19730415", seq="051", name="赵国强", fields=CAR)
    packet = PacketService(demo_ctx).build(cid, workers["minzheng"])
    item = IntakeService(demo_ctx).item("MZ-02")
    titles = [s.title for s in packet.sections]
    assert titles[0] == FIGURES and titles[1:] == [s.title for s in item.steps]  # every step answered
    figures = dict(packet.sections[0].rows)
    assert figures["共同生活家庭人口"].endswith("人") and "家庭人均月收入" in figures
    family = packet.sections[1]
    household = family.tables[0]
    assert household.title.startswith("共同生活的家庭成员") and {"姓名", "身份证号码"} <= set(household.columns)
    ids = [row[household.columns.index("身份证号码")] for row in household.rows]
    assert mask_id(id_number("19730415", "051")) in ids and id_number("19730415", "051") not in str(packet)
    assets = dict(packet.sections[2].rows)
    assert assets["家庭金融资产合计"] == "5000 元" and assets["是否拥有机动车辆（残疾人功能性代步车除外）"] == "是"
    assert assets["车辆情况（品牌、购置年份、用途）"] == "2015年购置的二手代步车"
    assert any("机动车辆" in line for line in packet.warnings)
    assert packet.warnings and packet.warnings[-1].startswith("居民坚持申请：")
    assert "13952008888" not in packet.warnings[-1] and mask_phone("13952008888") in packet.warnings[-1]


def test_applicant_and_agent_masked_for_everyone_until_an_audited_reveal(demo_ctx, workers):
    cid = make_case(demo_ctx, "MZ-01", birth="19400315", seq="071", name="钱桂芳", agent=AGENT)
    full = id_number("19400315", "071")
    svc = PacketService(demo_ctx)
    for login in ("qiantai", "minzheng"):
        packet = svc.build(cid, workers[login])
        assert packet.applicant.id_text == mask_id(full) and packet.applicant.phone_text == mask_phone("13852004321")
        assert packet.agent.name == "王小明" and packet.agent.relation == "子女"
        assert packet.agent.phone_text == mask_phone("13952001111") and not packet.full
        assert packet.applicant.resident is not None and packet.applicant.resident.name == "钱桂芳"
    assert not svc.build(cid, workers["qiantai"]).can_reveal and svc.build(cid, workers["minzheng"]).can_reveal
    with pytest.raises(PacketError, match="不能查看完整身份证号码"):
        svc.reveal(workers["qiantai"], cid)
    shown = svc.reveal(workers["minzheng"], cid)
    assert shown.full and shown.applicant.id_text == full and shown.agent.phone_text == "13952001111"
    assert shown.agent.id_text == id_number("19700101", "031")
    with demo_ctx.sessions() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.worker_id == workers["minzheng"].id)).all()
        actions = {(a.action, a.subject) for a in audit}
    rid = shown.applicant.resident.id
    assert {("case.view_full_id", f"case:{cid}"), ("resident.view_full_id", f"resident:{rid}")} <= actions


def test_materials_as_received_with_their_files_and_the_deferred_one_owed(demo_ctx, workers):
    cid = make_case(demo_ctx, "MZ-01", birth="19410520", seq="013", name="孙玉兰", deferred=True)
    add_attachment(demo_ctx, cid, "申请人居民身份证", "身份证正反面.jpg", uploaded=True)
    add_attachment(demo_ctx, cid, "户口簿", "户口簿.pdf", present=False, pages=3)
    add_attachment(demo_ctx, cid, "", "情况说明.jpg")
    packet = PacketService(demo_ctx).build(cid, workers["minzheng"])
    rows = {r.name: r for r in packet.materials}
    case = IntakeService(demo_ctx).cases.get(cid)
    assert rows["申请人居民身份证"].status == RECEIVED and rows["申请人居民身份证"].form == "原件及复印件"
    assert [a.filename for a in rows["申请人居民身份证"].attachments] == ["身份证正反面.jpg"]
    assert rows["申请人居民身份证"].attachments[0].status == SYNCED
    hukou = rows["户口簿"].attachments[0]
    assert hukou.pages == 3 and not hukou.present  # not here yet: shown as such, it never blocks the case
    assert hukou.status == UPLOADING  # no word from the server yet that it holds the file whole
    owed = rows["申请人社会保障卡或银行卡"]
    due = case.makeup_due
    assert owed.status == OWED and owed.missing and owed.note == f"须于{due.year}年{due.month}月{due.day}日前补交"
    assert "代办人身份证" not in " ".join(rows)  # no agent: the agent's own materials are left out
    assert rows[OTHER_MATERIAL].attachments[0].filename == "情况说明.jpg"
    assert rows[OTHER_MATERIAL].attachments[0].status == LOCAL_ONLY
    assert packet.attachment_count == 3
    lines = {line.name: line for line in checklist(packet.materials)}
    assert lines["户口簿"].attachments == 1 and lines["申请人社会保障卡或银行卡"].status == OWED


def test_a_material_the_answers_do_not_need_reads_not_needed_and_stays_off_paper(demo_ctx, workers):
    cid = make_case(demo_ctx, "MZ-02", birth="19730416", seq="033", name="周志明")
    packet = PacketService(demo_ctx).build(cid, workers["minzheng"])
    rows = {r.name: r for r in packet.materials}
    assets = dict(next(s for s in packet.sections if s.title == "家庭财产").rows)
    assert "车辆情况（品牌、购置年份、用途）" not in assets  # hidden by the answers, as in the wizard
    assert not packet.warnings  # no rule failed: nothing to insist on
    assert rows["残疾人证"].status == NOT_NEEDED and not rows["残疾人证"].missing  # 致贫原因 is 失业
    assert rows["共同生活家庭成员居民身份证"].status == RECEIVED and rows["共同生活家庭成员居民身份证"].count >= 1
    assert "残疾人证" not in {line.name for line in checklist(tuple(rows.values()))}


def test_paper_words_the_rule_marks():
    assert paper_warnings(("⚠ 须核实", "ℹ 指引内容", "居民坚持申请：说明")) == (
        "须审核：须核实", "指引：指引内容", "居民坚持申请：说明")


def test_every_accepted_case_prints_its_application_form_and_the_packet():
    for state in (State.ACCEPTED, State.FORWARDED, State.REPLIED, State.CLOSED, State.RESOLVED):
        docs = printable_documents(state, state != State.RESOLVED)
        assert DocKind.APPLICATION in docs and docs[-1] == DocKind.PACKET, state
    assert printable_documents(State.FORWARDED, True)[0] == DocKind.RECEIPT  # the state's own document stays first
    for state in (State.DRAFT, State.PENDING_MATERIALS, State.REFUSED, State.WITHDRAWN):
        assert DocKind.PACKET not in printable_documents(state, False, {DocKind.APPLICATION}), state
    assert DocKind.APPLICATION in printable_documents(State.DRAFT, False, {DocKind.APPLICATION})
    assert DocKind.APPLICATION not in printable_documents(State.DRAFT, False, ())


def test_a_case_whose_item_left_the_catalog_shows_its_answers_as_stored(demo_ctx, workers):
    cid = make_case(demo_ctx, "MZ-01", birth="19400316", seq="091", name="李淑珍")
    with demo_ctx.sessions.begin() as s:
        s.get(Case, cid).item_code = "ZZ-99"
    packet = PacketService(demo_ctx).build(cid, workers["minzheng"])
    assert packet.notice and packet.sections[0].title == "申请内容" and packet.sections[0].rows
    assert packet.materials  # the recorded materials, without the item


def test_a_pledged_proof_reads_replaced_and_a_made_up_one_received():
    """As Case.materials records them: the 告知承诺 replaces a proof; a 容缺 material brought later is received."""
    from app.desk.packet import MADE_UP, PLEDGED, material_rows
    rows = {r.name: r for r in material_rows(None, {
        "房屋产权证明": {"received": False, "pledged": True, "form": "复印件", "count": 1, "required": True},
        "社会保障卡": {"received": True, "deferred": True, "form": "复印件", "count": 1, "required": True},
    }, [])}
    assert rows["房屋产权证明"].status == PLEDGED and not rows["房屋产权证明"].missing
    assert rows["社会保障卡"].status == MADE_UP and rows["社会保障卡"].received
