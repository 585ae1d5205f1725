"""The printing package's parts: one kind per DocKind, fonts registered once, each kind's own blocks and wording."""

from __future__ import annotations

import ast
import dataclasses
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.lib import textsplit as rl_textsplit
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import paragraph as rl_paragraph

from app.core.vocabulary import DOC_TITLES, DocKind
from app.demo.samples import sample_document
from app.desk.printing.fonts import CANNOT_START_LINE, CJK_FONT, LATIN_FONT, ensure_fonts
from app.desk.printing.kinds import KINDS, kind_for
from app.desk.printing.layout import LAYOUTS, geometry_for
from app.desk.printing.render import render

PRINTING = Path(__file__).resolve().parent.parent / "app" / "desk" / "printing"


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def test_every_doc_kind_has_exactly_one_kind_with_its_title():
    assert set(KINDS) == set(DocKind)
    for doc_kind, kind in KINDS.items():
        assert kind.kind is doc_kind
        assert kind.title == DOC_TITLES[doc_kind] == doc_kind.label
    prefixes = [kind.number_prefix for kind in KINDS.values()]
    assert len(set(prefixes)) == len(prefixes)


def test_kind_lookup_takes_the_value_and_refuses_unknown_names():
    assert kind_for("reply") is kind_for(DocKind.REPLY) is KINDS[DocKind.REPLY]
    with pytest.raises(ValueError, match="unknown document type"):
        kind_for("invoice")
    with pytest.raises(ValueError, match="unknown layout"):
        geometry_for("letter")
    assert LAYOUTS == ("a4", "a5", "thermal80")


def test_fonts_are_registered_once():
    fonts = ensure_fonts()
    lists = (rl_paragraph.ALL_CANNOT_START, rl_textsplit.ALL_CANNOT_START)
    assert ensure_fonts() is fonts
    assert (rl_paragraph.ALL_CANNOT_START, rl_textsplit.ALL_CANNOT_START) == lists  # not appended twice
    assert all(ch in lists[0] and ch in lists[1] for ch in CANNOT_START_LINE)
    assert (fonts.cjk, fonts.latin) == (CJK_FONT, LATIN_FONT)
    assert pdfmetrics.getFont(CJK_FONT) and pdfmetrics.getFont(LATIN_FONT)


def test_mixed_text_is_split_by_font():
    fonts = ensure_fonts()
    assert fonts.runs("编号：SL-12") == [(CJK_FONT, "编号："), (LATIN_FONT, "SL-12")]
    assert fonts.rich("受理 A&B") == f'受理<font face="{LATIN_FONT}">A&amp;B</font>'


@pytest.mark.parametrize("method,expected", [("sms", "已短信告知本人"), ("in_person", "已在窗口当面告知本人"),
                                             (None, "答复结果由社区电话或短信通知本人")])
def test_reply_delivery_says_how_the_applicant_was_told(method, expected):
    assert kind_for("reply").delivery_wording(method).startswith(expected + "；")
    assert kind_for("notice").delivery_wording(method) == ""


def test_decision_kinds_state_their_own_result_and_approval():
    completion, reply, receipt = kind_for("completion"), kind_for("reply"), kind_for("receipt")
    assert completion.result_text(resolution="当场办结", reply="答复") == "当场办结"
    assert reply.result_text(resolution="当场办结", reply="答复") == "答复"
    assert (completion.approval(False), reply.approval(False), receipt.approval(True)) == (True, False, None)
    assert completion.signer != receipt.signer == kind_for("refusal").signer


@pytest.mark.parametrize("layout", LAYOUTS)
def test_notice_tells_before_listing_and_receipt_explains_after_contacts(layout):
    notice = _text(render(sample_document("notice"), layout))
    assert notice.index("现一次性告知如下") < notice.index("需补正材料（共") < notice.index("已收材料（共")
    assert notice.index("已收材料（共") < notice.index("社区地址")
    receipt = _text(render(sample_document("receipt"), layout))
    assert receipt.index("社区地址") < receipt.index("说明：") and "需补正材料" not in receipt


def test_each_decision_prints_its_own_conclusion_wording():
    reply = _text(render(sample_document("reply"), "a4"))
    assert "答复结论不同意" in reply and "办理结论" not in reply
    completion = _text(render(sample_document("completion"), "a4"))
    assert "办理结论予以办理" in completion and "答复结论" not in completion
    undecided = _text(render(dataclasses.replace(sample_document("reply"), result_approved=None), "a4"))
    assert "答复结论" not in undecided and "答复日期" in undecided


def test_product_code_never_imports_demo_data():
    for path in sorted(PRINTING.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not [m for m in modules if m.startswith("app.demo")], path
