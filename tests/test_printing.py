"""Printing a case's documents: archive, reprint marks and records, regeneration, CLI, the real Qt print path."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from app.auth import AuthService
from app.cases import CaseService, ItemRef
from app.cli import main
from app.printing import PrintError, PrintService
from app.residents import ResidentService

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")


def _text(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def forwarded(desk_ctx):
    auth = AuthService(desk_ctx)
    desk = auth.login("desk", "deskpass")
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    cases = CaseService(desk_ctx)
    cid = cases.create_draft(desk, ITEM, resident.id)
    cases.submit(desk, cid, {}, {"居民身份证": {"received": True, "form": "原件", "count": 1},
                                 "户口簿": {"received": True, "form": "复印件", "count": 2}})
    cases.forward(desk, cid, assignee_id=None, queue="民政", at=dt.datetime(2026, 2, 13, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    return desk_ctx, desk, cid


def test_receipt_from_case_is_masked_archived_and_recorded(forwarded):
    ctx, desk, cid = forwarded
    svc = PrintService(ctx)
    doc = svc.produce(desk, cid, layout="a5", now=dt.datetime(2026, 2, 13, 3, tzinfo=dt.timezone.utc))
    text = _text(doc.pdf)
    assert doc.doc_type == "receipt" and doc.path.exists() and doc.path.read_bytes() == doc.pdf
    for expected in ("受理回执", "幸福里社区居民委员会", "高龄老人尊老金申领", "110105********002X", "138****8000",
                     "户口簿", "2026年2月24日"):
        assert expected in text.replace(" ", ""), expected
    assert "11010519491231002X" not in text and "13800138000" not in text
    assert [j.status for j in svc.jobs(waiting_only=True)] == ["pending"]
    svc.record_result(doc.job_id, printer="前台热敏打印机", ok=True)
    assert svc.jobs(waiting_only=True) == []


def test_reprint_needs_reason_and_is_marked(forwarded):
    ctx, desk, cid = forwarded
    svc = PrintService(ctx)
    first = svc.produce(desk, cid)
    svc.record_result(first.job_id, printer="P1", ok=False, reason="打印机缺纸")
    assert len(svc.jobs(waiting_only=True)) == 1
    with pytest.raises(PrintError, match="补打"):
        svc.produce(desk, cid)
    again = svc.produce(desk, cid, reprint_reason="打印机缺纸，重新打印")
    assert again.reprint_count == 1 and "补打（第1次）" in _text(again.pdf)
    svc.record_result(again.job_id, printer="P1", ok=True)
    jobs = svc.jobs(cid)
    assert [(j.reprint_count, j.status) for j in jobs] == [(1, "printed"), (0, "failed")]
    assert "打印机缺纸" in jobs[1].reason
    assert svc.jobs(waiting_only=True) == []


def test_regenerating_gives_the_same_document(forwarded):
    ctx, desk, cid = forwarded
    svc = PrintService(ctx)
    doc = svc.produce(desk, cid, layout="thermal80")
    assert svc.regenerate(doc.job_id) == doc.pdf


def test_print_cli_and_demo_documents(forwarded, tmp_path, capsys):
    ctx, desk, cid = forwarded
    number = CaseService(ctx).get(cid).summary.case_number
    out = tmp_path / "r.pdf"
    assert main(["--data-dir", str(ctx.data_dir), "print", number, "--doc", "receipt", "--layout", "a4", "--out", str(out)]) == 0
    assert "受理回执" in _text(out.read_bytes())
    assert main(["--data-dir", str(ctx.data_dir), "print", "NO-SUCH", "--out", str(out)]) == 2
    assert "找不到案件" in capsys.readouterr().err
    empty = tmp_path / "empty"
    assert main(["--data-dir", str(empty), "demo-documents", "--out", str(tmp_path / "docs")]) == 0
    assert len(list((tmp_path / "docs").glob("*.pdf"))) == 15


@pytest.mark.gui
def test_real_qt_print_path_to_pdf_printer(styled_app, forwarded, tmp_path):
    from PySide6.QtPrintSupport import QPrinter

    from ui.printing.qt_printing import print_pdf
    ctx, desk, cid = forwarded
    doc = PrintService(ctx).produce(desk, cid, layout="a5")
    printer = QPrinter(QPrinter.HighResolution)
    printer.setOutputFormat(QPrinter.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    pages = print_pdf(doc.pdf, printer)
    printed = PdfReader(str(tmp_path / "printed.pdf"))
    source = PdfReader(io.BytesIO(doc.pdf))
    assert pages == len(source.pages) == len(printed.pages)
    assert [round(float(p.mediabox.width)) for p in printed.pages] == [round(float(p.mediabox.width)) for p in source.pages]
    assert (tmp_path / "printed.pdf").stat().st_size > 20_000  # the page image is really there


@pytest.mark.gui
def test_missing_printer_keeps_job_waiting(styled_app, qtbot, forwarded):
    from ui.printing.print_preview_dialog import PrintPreviewDialog
    from ui.services import Services
    ctx, desk, cid = forwarded
    services = Services(ctx)
    services.current_worker = desk
    doc = services.printing.produce(desk, cid)
    dlg = PrintPreviewDialog(services, doc, printer_name="不存在的打印机")
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.printed, timeout=5000) as sig:
        qtbot.mouseClick(dlg.quick_button, __import__("PySide6.QtCore", fromlist=["Qt"]).Qt.LeftButton)
    assert sig.args[0] is False
    assert "待打印" in dlg.status.text() and "找不到打印机" in dlg.status.text()
    waiting = services.printing.jobs(waiting_only=True)
    assert len(waiting) == 1 and waiting[0].status == "failed"
    assert CaseService(ctx).get(cid).summary.state == "forwarded"  # the case is untouched
