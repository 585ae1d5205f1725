"""The receipt of a case accepted over a warning says so in its 备注 (issue 13): the warnings the department is to
check and that the resident insisted, with what the worker noted (an ID typed in it masked). Read back from the
real PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from app.core import rule_notes
from app.core.vocabulary import Action
from app.desk.auth import AuthService
from app.desk.intake import IntakeService
from app.desk.printing.service import PrintService
from app.desk.residents import ResidentService
from forms.identity import make_id_number
from tests.level_catalog import INFO, WARN, level_catalog

ID_CARD = {"申请人身份证": True}


def _text(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "").replace(" ", "")


@pytest.fixture
def intake(desk_ctx, tmp_path):
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    rid = ResidentService(desk_ctx).search("张桂兰")[0].id
    return IntakeService(desk_ctx, catalog=level_catalog(tmp_path / "items")), desk, rid


def _forwarded(intake, fields, **kw):
    svc, desk, rid = intake
    cid = svc.start(desk, "ZZ-91", rid, None)
    svc.finish(desk, cid, "ZZ-91", rid, None, fields, ID_CARD, outcome=Action.FORWARD, **kw)
    return cid


@pytest.mark.parametrize("layout", ["a4", "thermal80"])
def test_the_receipt_prints_the_warnings_and_the_insisting_in_its_remark(intake, layout):
    svc, desk, _ = intake
    son = make_id_number(50, "男", seed=9)
    cid = _forwarded(intake, {"amount": "8000", "kind": "乙"}, insisted=True, warning_note=f"其子{son}陪同，坚持申请")
    printing = PrintService(svc.ctx)
    data = printing.build(cid, "receipt", 0, svc.ctx.now())
    assert data.intake_remark == f"受理提示：{WARN}；居民坚持申请（其子{son}陪同，坚持申请）。"
    text = _text(printing.produce(desk, cid, "receipt", layout=layout).pdf)
    assert "备注" in text and "受理提示：" in text
    assert WARN.replace(" ", "") in text and "居民坚持申请" in text and "陪同，坚持申请" in text
    assert son not in text and son[:6] in text  # the ID typed into the note is masked on paper
    assert INFO not in text  # guidance for the worker, not for the resident's receipt


def test_a_receipt_without_warnings_has_no_remark(intake):
    svc, desk, _ = intake
    cid = _forwarded(intake, {"amount": "100", "kind": "乙"})  # only an info rule failed
    text = _text(PrintService(svc.ctx).produce(desk, cid, "receipt").pdf)
    assert "受理提示" not in text and "居民坚持申请" not in text


def test_remark_and_screen_lines_read_only_well_formed_entries():
    stored = [{"level": "warn", "message": "请核实。"}, {"level": "info", "message": "带户口簿"}, "garbage",
              {"level": "block", "message": "x"}, {"level": "warn", "message": "  "}]
    assert rule_notes.remark(stored, "") == "受理提示：请核实；居民坚持申请。"
    assert rule_notes.screen_lines(stored, "") == ["⚠ 请核实。", "ℹ 带户口簿", "居民坚持申请：（未填写说明）"]
    assert rule_notes.screen_lines([{"level": "info", "message": "带户口簿"}], "x") == ["ℹ 带户口簿"]
    assert rule_notes.remark(None, "x") == "" and rule_notes.screen_lines("x", "") == []
