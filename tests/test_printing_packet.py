"""The 申请材料清单 (issue 15) and the prefilled 申请表 of every accepted case, as real PDFs read back."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from app.core.vocabulary import DocKind
from app.desk.auth import AuthService
from app.desk.intake import IntakeService
from app.desk.packet import PacketService
from app.desk.printing.layout import LAYOUTS
from app.desk.printing.service import PrintService
from forms.identity import mask_id
from tests.test_case_packet import AGENT, CAR, add_attachment, id_number, make_case
from tests.test_documents import _assert_no_overlap, _text_boxes


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def _flat(value: str) -> str:
    return re.sub(r"\s+", "", value)


@pytest.fixture
def mz(demo_ctx):
    return AuthService(demo_ctx).login("minzheng", "demo1234")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_packet_prints_the_answers_by_step_the_materials_and_the_warnings_masked(demo_ctx, mz, layout):
    cid = make_case(demo_ctx, "MZ-02", birth="19730415", seq="051", name="赵国强", fields=CAR)
    add_attachment(demo_ctx, cid, "共同生活家庭成员居民身份证", "家庭成员身份证.jpg")
    add_attachment(demo_ctx, cid, "共同生活家庭成员居民身份证", "补拍.pdf", present=False, pages=2)
    printing = PrintService(demo_ctx)
    assert DocKind.PACKET in printing.allowed(cid)
    doc = printing.produce(mz, cid, "packet", layout)
    text = _text(doc.pdf)
    packet = PacketService(demo_ctx).build(cid, mz)
    assert "申请材料清单" in text and f"QD-{packet.case_number}" in text
    for section in packet.sections:
        assert _flat(section.title) in text, section.title
        for label, value in section.rows:
            assert _flat(label) in text and _flat(value) in text, (label, value)
        for table in section.tables:
            for row in table.rows:
                assert all(_flat(cell) in text for cell in row if cell), row
    for row in packet.materials:
        if row.status != "本案不需要":
            assert _flat(row.name) in text and row.status in text, row.name
    assert "材料清单（共" in text and "须审核：" in text and "机动车辆" in text and "居民坚持申请" in text
    assert "附材料扫描件2份" in text
    full = id_number("19730415", "051")
    assert full not in text and mask_id(full) in text and "13952008888" not in text and "13852004321" not in text
    _assert_no_overlap(list(_text_boxes(doc.pdf)))


def test_packet_of_a_deferred_case_says_what_is_owed_and_by_when(demo_ctx, mz):
    cid = make_case(demo_ctx, "MZ-01", birth="19410520", seq="013", name="孙玉兰", deferred=True, agent=AGENT)
    due = IntakeService(demo_ctx).cases.get(cid).makeup_due
    text = _text(PrintService(demo_ctx).produce(mz, cid, "packet", "a4").pdf)
    assert "容缺待补" in text and f"须于{due.year}年{due.month}月{due.day}日前补交" in text
    assert "王小明（子女）" in text and id_number("19700101", "031") not in text
    assert mask_id(id_number("19700101", "031")) in text


def test_every_accepted_case_prints_a_prefilled_application_form(demo_ctx, mz):
    """MZ-01 lists no application form among its materials: its 申请表 is the committee's own, with the answers
    and the applicant's signature line."""
    cid = make_case(demo_ctx, "MZ-01", birth="19400315", seq="071", name="钱桂芳")
    item = IntakeService(demo_ctx).item("MZ-01")
    assert item.application_form is None
    printing = PrintService(demo_ctx)
    assert printing.allowed(cid) == (DocKind.RECEIPT, DocKind.APPLICATION, DocKind.PACKET)
    text = _text(printing.produce(mz, cid, "application", "a5").pdf)
    assert "申请表" in text and "申请人（签字或按手印）" in text and "居住情况" in text and "周岁年龄" in text
    assert id_number("19400315", "071") not in text
