"""The agent on paper (rules.md §6): the agent's materials on the one-time notice while missing and on the receipt
once received, and the agent's ID and phone masked like the applicant's — read back from the real PDFs."""

from __future__ import annotations

import io

from pypdf import PdfReader

from app.core.vocabulary import Action, DocKind
from app.desk.auth import AuthService
from app.desk.cases import CaseService
from app.desk.intake import IntakeService
from app.desk.printing.service import PrintService
from app.desk.residents import ResidentService
from forms.identity import mask_id, mask_phone
from forms.validate import make_id_number, sample_submission

AGENT_ID = make_id_number(52, "男", seed=5)
AGENT_PHONE = "13952005555"


def _text(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "").replace("\n", "")


def _no_full_numbers(text: str) -> None:
    assert AGENT_ID not in text and AGENT_PHONE not in text
    assert mask_id(AGENT_ID) in text and mask_phone(AGENT_PHONE) in text


def test_agent_materials_and_masked_agent_on_notice_then_receipt(desk_ctx):
    intake, cases, printing = IntakeService(desk_ctx), CaseService(desk_ctx), PrintService(desk_ctx)
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    li = ResidentService(desk_ctx).search("李秀英")[0]
    item = intake.item("MZ-01")
    fields = sample_submission(item, intake.applicant(li.id))["fields"]
    agent = {"name": "周建军", "id_number": AGENT_ID, "relation": "邻居或朋友", "phone": "139 5200 5555"}
    materials = {m.name: True for m in item.materials if not m.for_agent}  # the agent brought nothing yet
    cid = intake.start(desk, "MZ-01", li.id, agent)
    intake.save_draft(desk, cid, 1, li.id, agent, fields, materials)
    assert cases.get(cid).agent["phone"] == AGENT_PHONE  # stored as digits
    finished = intake.finish(desk, cid, "MZ-01", li.id, agent, fields, materials, outcome=Action.AWAIT_MATERIALS,
                             insisted=True, warning_note="居民坚持申请")
    assert finished.document == DocKind.NOTICE
    notice = _text(printing.produce(desk, cid, "notice", layout="a4").pdf)
    assert "代办人居民身份证" in notice and "授权委托书" in notice and "周建军（邻居或朋友）" in notice
    _no_full_numbers(notice)

    cases.accept_after_materials(desk, cid, printing.materials_handed_in(cid))
    cases.forward(desk, cid, assignee_id=None, queue="民政")
    for layout in ("a5", "thermal80"):
        receipt = _text(printing.produce(desk, cid, "receipt", layout=layout).pdf)
        assert "代办人居民身份证" in receipt and "授权委托书" in receipt
        _no_full_numbers(receipt)


def test_no_agent_prints_none_and_no_agent_rows(desk_ctx):
    cases, printing = CaseService(desk_ctx), PrintService(desk_ctx)
    intake = IntakeService(desk_ctx)
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    li = ResidentService(desk_ctx).search("李秀英")[0]
    item = intake.item("MZ-01")
    fields = sample_submission(item, intake.applicant(li.id))["fields"]
    materials = {m.name: True for m in item.materials if not m.for_agent}
    cid = intake.start(desk, "MZ-01", li.id, None)
    intake.finish(desk, cid, "MZ-01", li.id, None, fields, materials, outcome=Action.FORWARD, insisted=True,
                  warning_note="居民坚持申请")
    text = _text(printing.produce(desk, cid, "receipt").pdf)
    assert "代办人无" in text and "代办人身份证号" not in text and "代办人居民身份证" not in text
    assert cases.get(cid).summary.state == "forwarded"
