"""Printed documents: every type in every layout, read back with pypdf."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import subprocess
import sys
from functools import cache

import pytest
from pypdf import PdfReader
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from app.core.paths import PROJECT_DIR
from app.core.vocabulary import DOC_TITLES, DocKind
from app.demo.samples import sample_document
from app.desk.printing.data import DocumentData, MaterialLine, MissingMaterial, RequestFacts, qr_payload
from app.desk.printing.fonts import CJK_FONT, LATIN_FONT
from app.desk.printing.kinds.decision import EVALUATION_LEVELS
from app.desk.printing.layout import LAYOUTS
from app.desk.printing.render import render
from forms.identity import mask_id, mask_phone

FULL_ID = "11010519491231002X"
FULL_PHONE = "13800138000"
CASES = [(doc_type, layout) for doc_type in DOC_TITLES for layout in LAYOUTS]
LONG_ITEM = "城乡居民基本养老保险待遇申领及重复领取养老金情况核查确认手续办理"
# Real lengths: <committee 9>-<device>-<yyyymmdd>-<seq> and the 8-character code CaseService issues.
REAL_NUMBER = "320302001-D01-20261201-0009"
REAL_CODE = "72B32C8A"
LONG_ADDRESS = (
    "北京市西城区新街口街道玉桃园三区12号楼一层东侧社区党群服务中心综合服务大厅"
    "（地铁4号线新街口站A口向北步行约500米，公交22路玉桃园站下车即到）"
)


def _stress(doc_type: str) -> DocumentData:
    materials = [
        MaterialLine(f"第{i}项证明材料（{'原件须与复印件一并核验，复印件加盖单位公章' if i % 3 == 0 else '本人签字'}）",
                     ("原件", "复印件", "原件及复印件")[i % 3], i)
        for i in range(1, 21)
    ]
    missing = [
        MissingMaterial(f"补正材料{i:02d}号", f"A4 纸复印，字迹清晰，需加盖出具单位公章并注明“与原件一致”，第{i}项")
        for i in range(1, 21)
    ]
    return dataclasses.replace(
        sample_document(doc_type),
        item_name=LONG_ITEM,
        committee_address=LONG_ADDRESS,
        committee_name="北京市西城区新街口街道玉桃园第三社区居民委员会（社区服务站）",
        department="北京市西城区新街口街道社会保障事务所养老保险科",
        agent_name="欧阳明明",
        materials=materials,
        missing=missing,
        result="经审核，" + "您提交的材料齐全、符合规定，" * 8 + "予以办理。",
        refusal_reason="不属于本社区受理范围，" * 6,
        redirect_to="请到" + LONG_ADDRESS,
        appeal_route="如有异议，可自收到本通知之日起60日内申请行政复议，或在6个月内提起行政诉讼。" * 2,
        reprint_count=12,
        case_number=REAL_NUMBER,
        verification_code=REAL_CODE,
        doc_number=f"SL-{REAL_NUMBER}",
        deadline_provisional=True,
        deadline_note="2027年节假日安排尚未公布，暂按周一至周五计算，如有调整另行告知。",
        request=_stress_request(doc_type),
    )


def _stress_request(doc_type: str) -> RequestFacts | None:
    """The 诉求受理单's own long values: a long place, description and handler."""
    facts = sample_document(doc_type).request
    if facts is None:
        return None
    return dataclasses.replace(facts, place=LONG_ADDRESS, block="玉桃园三区及新街口北大街沿街商铺（第一块区）",
                               description="楼道内堆放杂物、电动自行车停放充电，" * 6 + "存在消防安全隐患。",
                               handler_name="北京市西城区玉桃园物业管理有限责任公司第三项目部")


@cache
def _pdf(doc_type: str, layout: str, stress: bool = False) -> bytes:
    data = _stress(doc_type) if stress else sample_document(doc_type)
    return render(data, layout)


def _text(pdf: bytes) -> str:
    """All extracted text with whitespace removed (CJK lines wrap anywhere)."""
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def _flat(value: str) -> str:
    return re.sub(r"\s+", "", value)


@pytest.mark.parametrize("doc_type,layout", CASES)
def test_expected_fields_are_printed(doc_type, layout):
    data = sample_document(doc_type)
    text = _text(_pdf(doc_type, layout))
    expected = [
        data.committee_name, data.committee_phone, data.case_number, data.doc_number, data.item_name,
        mask_id(FULL_ID), mask_phone(FULL_PHONE), data.worker_name, DOC_TITLES[doc_type], "盖章", "签字",
    ]
    if doc_type == "request_slip":  # a 诉求 has no ID number and no item: its category, place and 24-hour time
        assert data.request is not None
        expected = [v for v in expected if v not in (data.item_name, mask_id(FULL_ID))]
        expected += [data.request.category, data.request.urgency, "玉桃园三区5号楼2单元***室", data.request.leader,
                     "2025年1月25日10:30前", data.request.description, "查询网址：" + data.verify_url]
        assert "301室" not in text  # the resident's room is masked
    if doc_type == "receipt":
        expected += ["2025年1月27日", data.department, data.mode, data.progress_query, data.delivery]
        expected += [m.name for m in data.materials]
    if doc_type == "notice":
        expected += [part for m in data.missing for part in (m.name, m.standard)]
    if doc_type == "refusal":
        expected += [data.refusal_reason, data.redirect_to]
    if doc_type in ("completion", "reply"):
        expected += [data.result, data.delivery, *EVALUATION_LEVELS]
    if doc_type == "reply":  # adverse: the appeal route is printed
        expected.append(data.appeal_route)
    for value in expected:
        assert _flat(value) in text, value
    assert "补打" not in text
    assert "暂定" not in text


@pytest.mark.parametrize("doc_type,layout", CASES)
def test_full_id_and_phone_never_printed(doc_type, layout):
    pdf = _pdf(doc_type, layout)
    reader = PdfReader(io.BytesIO(pdf))
    streams = b"".join(page.get_contents().get_data() for page in reader.pages)
    for secret in (FULL_ID, FULL_PHONE):
        assert secret not in _text(pdf)
        assert secret.encode() not in pdf
        assert secret.encode() not in streams
        assert secret not in qr_payload(sample_document(doc_type))
    assert FULL_ID not in str(reader.metadata)


def test_qr_payload_is_case_number_and_verification_code_only():
    """With the district's address known, the QR is its progress page's link; without, the desk-only payload."""
    data = sample_document("receipt")
    assert qr_payload(data) == "https://onedesk.example.gov.cn/v/110102003-D01-20250124-0007?c=7K3Q9D2M"
    assert qr_payload(dataclasses.replace(data, verify_url="")) == "ONEDESK|110102003-D01-20250124-0007|7K3Q9D2M"


def test_free_text_mentioning_the_applicant_is_masked():
    data = dataclasses.replace(
        sample_document("receipt"),
        delivery=f"短信通知 {FULL_PHONE}，身份证 {FULL_ID.lower()} 核验",
        progress_query="家属身份证 110105194912310037 也已核验",
    )
    text = _text(render(data, "a5"))
    assert FULL_PHONE not in text and FULL_ID not in text.upper()
    assert "110105194912310037" not in text
    assert mask_phone(FULL_PHONE) in text and "110105********0037" in text


@pytest.mark.parametrize("doc_type,layout", CASES)
def test_fonts_are_embedded_subsets(doc_type, layout):
    reader = PdfReader(io.BytesIO(_pdf(doc_type, layout)))
    for page in reader.pages:
        fonts = [f.get_object() for f in page["/Resources"]["/Font"].values()]
        cjk = [f for f in fonts if "DroidSansFallback" in f["/BaseFont"]]
        assert cjk, "CJK font not used"
        for font in fonts:
            assert re.fullmatch(r"/[A-Z]{6}\+\S+", font["/BaseFont"]), font["/BaseFont"]
            assert "/FontFile2" in font["/FontDescriptor"].get_object()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("doc_type", DOC_TITLES)
def test_reprint_is_marked(doc_type, layout):
    data = dataclasses.replace(sample_document(doc_type), reprint_count=2)
    assert "补打（第2次）" in _text(render(data, layout))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_provisional_deadline_is_marked(layout):
    note = "2027年节假日安排尚未公布，暂按周一至周五计算"
    data = dataclasses.replace(sample_document("receipt"), deadline_provisional=True, deadline_note=note)
    text = _text(render(data, layout))
    assert "2025年1月27日" in text and "（暂定）" in text and note in text


def test_on_the_spot_case_has_no_deadline():
    data = dataclasses.replace(sample_document("receipt"), mode="即办", deadline=None)
    assert "即办件，当场办结" in _text(render(data, "a4"))


def test_appeal_route_only_when_adverse():
    data = dataclasses.replace(sample_document("completion"), appeal_route="向区人民政府申请行政复议")
    assert "行政复议" not in _text(render(data, "a4"))
    adverse = dataclasses.replace(data, result_approved=False)
    assert "向区人民政府申请行政复议" in _text(render(adverse, "a4"))


def test_evaluation_levels_are_neutral_and_in_order():
    text = _text(_pdf("completion", "a4"))
    start = text.index("服务评价")
    positions = [text.index(level, start) for level in ("非常满意", "基本满意", "非常不满意")]
    assert positions == sorted(positions)
    assert "推荐" not in text and "请选择非常满意" not in text


# --------------------------------------------------------------------------- long content


def _text_boxes(pdf: bytes):
    """Yield (page index, page box, text, x0, x1, y, size) for every text run, in page coordinates.

    pypdf reports the line's origin for every run shown after a font change on the same line,
    so a run reported at the previous run's origin starts where the previous one ended.
    """
    reader = PdfReader(io.BytesIO(pdf))
    fonts = {"DroidSansFallback": CJK_FONT, "Vera": LATIN_FONT}
    for index, page in enumerate(reader.pages):
        box = [float(v) for v in page.mediabox]
        runs = []
        last = {"origin": None, "end": 0.0}

        def visit(text, cm, tm, font_dict, font_size, last=last, runs=runs):
            if not text.strip("\n") or font_dict is None:
                return
            a, b, _c, _d, e, f = tm
            x = e * cm[0] + f * cm[2] + cm[4]
            y = e * cm[1] + f * cm[3] + cm[5]
            scale = a * cm[0] + b * cm[2]
            name = next(v for k, v in fonts.items() if k in font_dict["/BaseFont"])
            width = pdfmetrics.stringWidth(text.strip("\n"), name, font_size) * scale
            start = last["end"] if last["origin"] == (x, y) else x
            last["origin"], last["end"] = (x, y), start + width
            runs.append((text, start, start + width, y, font_size * scale))

        page.extract_text(visitor_text=visit)
        yield from ((index, box, *run) for run in runs)


@pytest.mark.parametrize("doc_type,layout", CASES)
def test_long_content_fits(doc_type, layout):
    data = _stress(doc_type)
    pdf = _pdf(doc_type, layout, stress=True)
    text = _text(pdf)
    values = [data.item_name, data.committee_address, data.committee_name]
    if data.request is not None:  # the 诉求受理单 prints its category, not an item
        values = [data.committee_name, data.committee_address, data.request.place, data.request.block,
                  data.request.description, data.request.handler_name]
    for value in values:
        assert _flat(value) in text, value
    if doc_type in ("receipt", "completion", "reply"):
        assert _flat(data.department) in text
    if doc_type == "refusal":
        assert _flat(data.refusal_reason) in text and _flat(data.redirect_to) in text
    if doc_type in ("completion", "reply"):
        assert _flat(data.result) in text
    assert "补打（第12次）" in text and data.doc_number in text
    if doc_type == "receipt":
        assert all(_flat(m.name) in text for m in data.materials)
        assert "（暂定）" in text
    if doc_type == "notice":
        assert all(_flat(m.name) in text and _flat(m.standard) in text for m in data.missing)
        assert all(_flat(m.name) in text for m in data.materials)
    reader = PdfReader(io.BytesIO(pdf))
    if layout == "thermal80":
        for page in reader.pages:
            assert float(page.mediabox.width) == pytest.approx(80 * mm, abs=0.01)
    runs = list(_text_boxes(pdf))
    assert len(runs) > 50
    for _, (x0, y0, x1, y1), run, start, end, y, _ in runs:
        assert x0 <= start and end <= x1, (run, start, end, x1)
        assert y0 <= y <= y1, (run, y)
    _assert_no_overlap(runs)


def _assert_no_overlap(runs) -> None:
    """No two runs on the same page share ink: overlapping x ranges on lines closer than a line."""
    for i, (page, _, text, start, end, y, size) in enumerate(runs):
        for page2, _, text2, start2, end2, y2, size2 in runs[i + 1:]:
            if page2 != page:
                continue
            same_line = abs(y - y2) < 0.8 * min(size, size2)
            assert not (same_line and min(end, end2) - max(start, start2) > 0.5), (text, text2)


def _lines(pdf: bytes) -> list[str]:
    """The text of every printed line (runs on one baseline, left to right), per page; cells of a row
    whose texts sit on one baseline form one line, so a value broken over two lines is never whole."""
    runs = sorted(_text_boxes(pdf), key=lambda r: (r[0], -r[5], r[3]))
    lines: list[list] = []
    for page, _, text, _start, _end, y, size in runs:
        if lines and lines[-1][0] == page and abs(lines[-1][1] - y) < 0.3 * size:
            lines[-1][2].append(text.strip("\n"))
        else:
            lines.append([page, y, [text.strip("\n")]])
    return [_flat("".join(parts)) for _, _, parts in lines]


@pytest.mark.parametrize("stress", [False, True], ids=["sample", "stress"])
@pytest.mark.parametrize("doc_type,layout", CASES)
def test_case_number_and_verification_code_never_break(doc_type, layout, stress):
    """A real case number (27 characters) sits whole in its 办件编号 cell and in the document number;
    the 8-character verification code under the QR code is one line."""
    data = _stress(doc_type) if stress else sample_document(doc_type)
    assert len(data.case_number) == 27 and len(data.verification_code) == 8
    lines = _lines(_pdf(doc_type, layout, stress))
    assert any("办件编号" in line and data.case_number in line for line in lines), lines[:12]
    assert any(f"编号：{data.doc_number}" in line for line in lines)
    assert any(f"验证码：{data.verification_code}" in line for line in lines)


@pytest.mark.parametrize("stress", [False, True], ids=["sample", "stress"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_list_headings_break_only_before_the_count(layout, stress):
    """On the roll "需补正材料（共3项）" once read "（共3 / 项）"; the count stays whole."""
    data = _stress("notice") if stress else sample_document("notice")
    lines = _lines(_pdf("notice", layout, stress))
    assert any(f"（共{len(data.missing)}项）" in line for line in lines), lines
    assert any(f"（共{len(data.materials)}项）" in line for line in lines), lines
    assert any(line.startswith("需补正材料") or "需补正材料" in line for line in lines)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_blank_contact_details_print_a_dash(layout):
    data = dataclasses.replace(sample_document("receipt"), committee_address="", committee_phone="", worker_phone="",
                               applicant_phone="")
    text = _text(render(data, layout))
    assert "社区电话—" in text and "社区地址—" in text and "联系电话—" in text


def test_same_worker_and_committee_phone_printed_once():
    data = dataclasses.replace(sample_document("notice"), worker_phone="010-66181234")
    text = _text(render(data, "a5"))
    assert "经办人电话" not in text and "社区电话010-66181234" in text


@pytest.mark.parametrize("doc_type", DOC_TITLES)
def test_sample_roll_is_one_piece(doc_type):
    reader = PdfReader(io.BytesIO(_pdf(doc_type, "thermal80")))
    assert len(reader.pages) == 1


@pytest.mark.parametrize("doc_type", DOC_TITLES)
@pytest.mark.parametrize("layout", ["a4", "a5"])
def test_sample_fits_one_page(doc_type, layout):
    copies = 2 if doc_type == DocKind.MAKEUP_NOTICE else 1  # 容缺受理告知书: two copies, a page each
    assert len(PdfReader(io.BytesIO(_pdf(doc_type, layout))).pages) == copies


# --------------------------------------------------------------------------- determinism and API


@pytest.mark.parametrize("doc_type,layout", CASES)
def test_same_data_gives_same_bytes(doc_type, layout):
    data = sample_document(doc_type)
    assert render(data, layout) == render(data, layout) == _pdf(doc_type, layout)


def test_dates_are_shown_in_china_time():
    data = dataclasses.replace(
        sample_document("receipt"),
        received_at=dt.datetime(2025, 1, 23, 17, 0, tzinfo=dt.UTC),  # 01:00 next day in Beijing
    )
    assert "2025年1月24日01:00" in _text(render(data, "a4"))
    assert sample_document("receipt").received_at.utcoffset() == dt.timedelta(hours=8)


def test_unknown_type_or_layout_is_rejected():
    with pytest.raises(ValueError):
        render(sample_document("receipt"), "letter")
    with pytest.raises(ValueError):
        render(dataclasses.replace(sample_document("receipt"), doc_type="invoice"), "a4")
    with pytest.raises(ValueError):
        sample_document("invoice")


def test_generator_imports_no_qt():
    code = ("import sys, app.desk.printing.render, app.demo.samples, app.bench.documents;"
            " print(any(m.startswith('PySide6') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
