"""What happened is what is printed: a document's 办理方式 and 承办部门 follow the case's outcome, not the item."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader

from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.desk.printing.service import PrintService
from app.desk.residents import ResidentService

INSTANT = ItemRef("GA-03", "居民身份证补领", "公安", "即办", "test-1")
MATERIALS = {"居民身份证": {"received": True, "form": "原件", "count": 1}}


def _text(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")


def _submitted(ctx):
    desk = AuthService(ctx).login("desk", "deskpass")
    cases = CaseService(ctx)
    cid = cases.create_draft(desk, INSTANT, ResidentService(ctx).search("张桂兰")[0].id)
    cases.submit(desk, cid, {}, MATERIALS)
    return desk, cases, cid


def test_forwarded_instant_item_prints_forwarded_and_the_target(desk_ctx):
    desk, cases, cid = _submitted(desk_ctx)
    cases.forward(desk, cid, assignee_id=None, queue="居住地公安派出所")
    data = PrintService(desk_ctx).build(cid, "receipt", 0, dt.datetime.now(dt.UTC))
    assert data.mode == "转办" and data.department == "居住地公安派出所"
    text = _text(PrintService(desk_ctx).produce(desk, cid, "receipt").pdf)
    assert "转办" in text and "居住地公安派出所" in text
    assert "当场办结" not in text and "当场办理" not in text


def test_resolved_instant_item_still_prints_instant(desk_ctx):
    desk, cases, cid = _submitted(desk_ctx)
    cases.resolve(desk, cid, "已当场办结")
    data = PrintService(desk_ctx).build(cid, "completion", 0, dt.datetime.now(dt.UTC))
    assert data.mode == "即办"
    assert "即办" in _text(PrintService(desk_ctx).produce(desk, cid, "completion").pdf)
