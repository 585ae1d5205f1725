"""Printing a case's documents: archive, reprint marks and records, regeneration, CLI, the real Qt print path."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from app.cli.main import main
from app.core.vocabulary import Action, DocKind
from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.desk.printing.service import PrintError, PrintService
from app.desk.residents import ResidentService

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
    friday_morning = dt.datetime(2026, 2, 13, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    cases.forward(desk, cid, assignee_id=None, queue="民政", at=friday_morning)
    return desk_ctx, desk, cid


def test_receipt_from_case_is_masked_archived_and_recorded(forwarded):
    ctx, desk, cid = forwarded
    svc = PrintService(ctx)
    doc = svc.produce(desk, cid, layout="a5", now=dt.datetime(2026, 2, 13, 3, tzinfo=dt.UTC))
    text = _text(doc.pdf)
    assert doc.doc_type == "receipt" and doc.path.exists() and doc.path.read_bytes() == doc.pdf
    for expected in ("受理回执", "幸福里社区居民委员会", "高龄老人尊老金申领", "110105********002X", "138****8000",
                     "户口簿", "2026年2月24日"):
        assert expected in text.replace(" ", ""), expected
    assert "11010519491231002X" not in text and "13800138000" not in text
    assert doc.job_id is None and svc.jobs(cid) == []  # a preview is no print job (issue 19)
    doc = svc.keep_for_later(doc)  # 稍后打印
    assert [j.status for j in svc.jobs(waiting_only=True)] == ["pending"]
    assert svc.keep_for_later(doc) == doc and len(svc.jobs(cid)) == 1  # chosen twice: still one job
    svc.record_print(doc, printer="前台热敏打印机", ok=True)
    assert svc.jobs(waiting_only=True) == [] and [j.status for j in svc.jobs(cid)] == ["printed"]


def test_reprint_needs_reason_and_is_marked(forwarded):
    """补打 = the document reached paper before (in any layout); a retry after a failed print is not one."""
    ctx, desk, cid = forwarded
    svc = PrintService(ctx)
    first = svc.produce(desk, cid)
    svc.record_print(first, printer="P1", ok=False, reason="打印机缺纸")  # printing attempted: now a job
    assert len(svc.jobs(waiting_only=True)) == 1
    retry = svc.produce(desk, cid)
    assert retry.reprint_count == 0 and "补打" not in _text(retry.pdf)
    svc.record_print(retry, printer="P1", ok=True)
    for layout in ("a5", "thermal80"):
        with pytest.raises(PrintError, match="补打"):
            svc.produce(desk, cid, layout=layout)
    again = svc.produce(desk, cid, reprint_reason="居民遗失回执，重新打印")
    assert again.reprint_count == 1 and "补打（第1次）" in _text(again.pdf)
    svc.record_print(again, printer="P1", ok=True)
    jobs = svc.jobs(cid)
    assert [(j.reprint_count, j.status) for j in jobs] == [(1, "printed"), (0, "printed"), (0, "failed")]
    assert "打印机缺纸" in jobs[2].reason and jobs[0].reason == "居民遗失回执，重新打印"
    assert svc.jobs(waiting_only=True) == []
    assert len({j.path for j in jobs}) == 3 and all(j.path.exists() for j in jobs)  # no archive overwritten


def test_regenerating_gives_the_same_document(forwarded):
    ctx, desk, cid = forwarded
    svc = PrintService(ctx)
    doc = svc.keep_for_later(svc.produce(desk, cid, layout="thermal80"))
    assert svc.regenerate(doc.job_id) == doc.pdf


def test_print_cli_and_demo_documents(forwarded, tmp_path, capsys):
    ctx, _desk, cid = forwarded
    number = CaseService(ctx).get(cid).summary.case_number
    out = tmp_path / "r.pdf"
    argv = ["--data-dir", str(ctx.data_dir), "print", number, "--doc", "receipt", "--layout", "a4", "--out", str(out)]
    assert main(argv) == 0
    assert "受理回执" in _text(out.read_bytes())
    assert main(["--data-dir", str(ctx.data_dir), "print", "NO-SUCH", "--out", str(out)]) == 2
    assert "找不到案件" in capsys.readouterr().err
    empty = tmp_path / "empty"
    assert main(["--data-dir", str(empty), "demo-documents", "--out", str(tmp_path / "docs")]) == 0
    assert len(list((tmp_path / "docs").glob("*.pdf"))) == 3 * len(DocKind)  # every kind in every layout


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
    def widths(reader):
        return [round(float(p.mediabox.width)) for p in reader.pages]
    assert widths(printed) == widths(source)
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


# --------------------------------------------------------------------------- which document fits the case


def _case(ctx, desk, state: str, item=ITEM):
    """A case in ``state`` built through the real service calls."""
    cases = CaseService(ctx)
    resident = ResidentService(ctx).search("张桂兰")[0]
    cid = cases.create_draft(desk, item, resident.id)
    if state == "draft":
        return cid
    if state == "refused":
        cases.refuse(desk, cid, "不属于本社区受理范围", "区政务服务中心")
        return cid
    if state == "pending_materials":
        cases.submit(desk, cid, {}, {"申请人居民身份证": {"received": True, "form": "原件及复印件", "count": 1}},
                     missing=["户口簿"])
        return cid
    cases.submit(desk, cid, {}, {"申请人居民身份证": {"received": True, "form": "原件及复印件", "count": 1}})
    if state == "accepted":
        return cid
    if state == "resolved":
        cases.resolve(desk, cid, "已当场办结")
        return cid
    boss = AuthService(ctx).login("boss", "bosspass")
    cases.forward(desk, cid, assignee_id=None, queue="民政")
    if state == "forwarded":
        return cid
    cases.reply(boss, cid, "approved", "经审核符合条件。")
    if state == "replied":
        return cid
    cases.close(desk, cid, "phone")
    return cid


# Every accepted case also prints its 申请表 and the 申请材料清单 (issue 15).
PAPER = {"application", "packet"}
ALLOWED = {
    "draft": set(), "pending_materials": {"notice"}, "accepted": PAPER, "resolved": {"completion"} | PAPER,
    "forwarded": {"receipt"} | PAPER, "replied": {"reply", "receipt"} | PAPER, "closed": {"reply", "receipt"} | PAPER,
    "refused": {"refusal"},
}


@pytest.mark.parametrize("state", ALLOWED)
def test_only_documents_that_fit_the_state_are_produced(desk_ctx, state):
    """A refused case once printed a 办结单 saying 予以办理; a draft a 受理回执."""
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    cid = _case(desk_ctx, desk, state)
    svc = PrintService(desk_ctx)
    assert set(svc.allowed(cid)) == ALLOWED[state]
    for doc_type in ("receipt", "completion", "notice", "refusal", "reply"):
        if doc_type in ALLOWED[state]:
            assert svc.produce(desk, cid, doc_type, "a5").doc_type == doc_type
        else:
            with pytest.raises(PrintError, match="不能打印"):
                svc.produce(desk, cid, doc_type, "a5")
    if not ALLOWED[state]:
        with pytest.raises(PrintError, match="没有可打印的文书"):
            svc.produce(desk, cid)


def test_cli_refuses_a_document_that_does_not_fit(desk_ctx, tmp_path, capsys):
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    cid = _case(desk_ctx, desk, "refused")
    number = CaseService(desk_ctx).get(cid).summary.case_number
    out = tmp_path / "x.pdf"
    assert main(["--data-dir", str(desk_ctx.data_dir), "print", number, "--doc", "completion", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "不能打印办结单" in err and "可打印：不予受理告知单" in err and not out.exists()
    assert main(["print", number, "--out", str(out), "--data-dir", str(desk_ctx.data_dir)]) == 0
    assert "不予受理告知单" in _text(out.read_bytes())


def test_completion_and_reply_carry_their_own_wording(desk_ctx):
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    svc = PrintService(desk_ctx)
    done = _case(desk_ctx, desk, "resolved")
    closed = _case(desk_ctx, desk, "closed")
    completion = svc.build(done, "completion", 0, dt.datetime.now(dt.UTC))
    reply = svc.build(closed, "reply", 0, dt.datetime.now(dt.UTC))
    receipt = svc.build(closed, "receipt", 0, dt.datetime.now(dt.UTC))
    assert "回执" not in completion.delivery and "办结单" in completion.delivery
    assert "回执" not in reply.delivery and "已电话告知本人" in reply.delivery
    assert "凭本回执" in receipt.delivery


# --------------------------------------------------------------------------- materials handed in later


def test_notice_lists_the_missing_materials_however_they_were_stored(desk_ctx):
    """Bare flags and the missing names given to submit() (the old demo) still print every missing one."""
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    cases = CaseService(desk_ctx)
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    cid = cases.create_draft(desk, ITEM, resident.id)
    cases.submit(desk, cid, {}, {"身份证": True}, missing=["残疾人证", "银行卡"])
    data = PrintService(desk_ctx).build(cid, "notice", 0, dt.datetime.now(dt.UTC))
    assert [m.name for m in data.missing] == ["残疾人证", "银行卡"]
    assert [m.name for m in data.materials] == ["身份证"]


def test_materials_handed_in_later_are_on_the_receipt(desk_ctx):
    """"材料已补齐，受理" once passed {} and the late materials stayed not received, missing from the receipt."""
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    cases, svc = CaseService(desk_ctx), PrintService(desk_ctx)
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    cid = cases.create_draft(desk, ITEM, resident.id)
    hukou = {"received": False, "form": "原件及复印件", "count": 1, "standard": "户主页及本人页", "required": True}
    agent_id = {"received": False, "form": "原件", "count": 1, "required": False}
    cases.submit(desk, cid, {}, {"申请人居民身份证": {"received": True, "form": "原件", "count": 1, "required": True},
                                 "户口簿": hukou, "代办人居民身份证": agent_id},
                 missing=["户口簿"])
    handed = svc.materials_handed_in(cid)
    assert handed == {"户口簿": {**hukou, "received": True}}  # the conditional one that does not apply stays out
    cases.accept_after_materials(desk, cid, handed)
    cases.forward(desk, cid, assignee_id=None, queue="民政")
    text = _text(svc.produce(desk, cid, "receipt", "a4").pdf).replace(" ", "")
    assert "户口簿" in text and "已收材料（共2项）" in text and "代办人居民身份证" not in text


# --------------------------------------------------------------------------- command line export


def test_cli_export_is_recorded_as_a_file_and_a_second_layout_is_no_reprint(forwarded, tmp_path, capsys,
                                                                            monkeypatch):
    ctx, desk, cid = forwarded
    svc = PrintService(ctx)
    number = CaseService(ctx).get(cid).summary.case_number
    base = ["print", number, "--data-dir", str(ctx.data_dir)]
    assert main(base + ["--layout", "a4", "--out", str(tmp_path / "a4.pdf")]) == 0
    assert main(base + ["--layout", "a5", "--out", str(tmp_path / "a5.pdf")]) == 0  # no --reason needed
    assert "补打" not in _text((tmp_path / "a5.pdf").read_bytes())
    jobs = svc.jobs(cid)
    assert [(j.layout, j.status, j.reprint_count) for j in jobs] == [("a5", "exported", 0), ("a4", "exported", 0)]
    assert str(tmp_path / "a5.pdf") in jobs[0].printer
    assert svc.jobs(waiting_only=True) == []  # a file is not waiting for a printer
    from models import PrintJob
    with ctx.sessions() as s:
        assert {j.worker_id for j in s.query(PrintJob)} == {None}  # not pinned on the first admin
    monkeypatch.setenv("ONEDESK_WORKER_PASSWORD", "deskpass")  # --worker needs the worker's password
    assert main(base + ["--out", str(tmp_path / "w.pdf"), "--worker", "desk"]) == 0
    with ctx.sessions() as s:
        assert desk.id in {j.worker_id for j in s.query(PrintJob)}
    # once on paper, another export is a 补打 and needs its reason
    svc.record_print(svc.produce(desk, cid, layout="a5"), printer="P1", ok=True)
    capsys.readouterr()
    assert main(base + ["--out", str(tmp_path / "again.pdf")]) == 2
    assert "补打" in capsys.readouterr().err
    assert main(base + ["--out", str(tmp_path / "again.pdf"), "--reason", "存档"]) == 0
    assert "补打（第1次）" in _text((tmp_path / "again.pdf").read_bytes())


def test_cli_export_does_not_hide_a_pending_print(forwarded, tmp_path):
    ctx, desk, cid = forwarded
    svc = PrintService(ctx)
    pending = svc.keep_for_later(svc.produce(desk, cid, layout="a5"))
    number = CaseService(ctx).get(cid).summary.case_number
    assert main(["print", number, "--out", str(tmp_path / "r.pdf"), "--data-dir", str(ctx.data_dir)]) == 0
    assert [j.id for j in svc.jobs(waiting_only=True)] == [pending.job_id]


def test_demo_print_on_a_fresh_folder_seeds_the_demo(tmp_path, capsys):
    fresh = tmp_path / "fresh"
    assert main(["--data-dir", str(fresh), "print", "X", "--out", str(tmp_path / "x.pdf")]) == 2
    assert "--demo" in capsys.readouterr().err
    assert main(["--demo", "--data-dir", str(fresh), "print", "X", "--out", str(tmp_path / "x.pdf")]) == 2
    captured = capsys.readouterr()
    assert "已在" in captured.out and "演示数据" in captured.out
    assert "找不到案件：X" in captured.err and "已转办  受理回执" in captured.err
    number = next(line.split()[0] for line in captured.err.splitlines() if "已转办" in line)
    assert main(["print", number, "--out", str(tmp_path / "r.pdf"), "--data-dir", str(fresh), "--demo"]) == 0
    assert "受理回执" in _text((tmp_path / "r.pdf").read_bytes())


# --------------------------------------------------------------------------- the demo data


def _demo_case(ctx, state, item_code=None):
    from models import Case
    with ctx.sessions() as s:
        rows = s.query(Case).filter(Case.state == state, Case.kind == "service").all()
        return next(c.id for c in rows if item_code is None or c.item_code == item_code)


def test_demo_notice_lists_what_is_missing_with_its_standard(demo_ctx):
    svc = PrintService(demo_ctx)
    desk = AuthService(demo_ctx).login("qiantai", "demo1234")
    doc = svc.produce(desk, _demo_case(demo_ctx, "pending_materials"), layout="a5")
    assert doc.doc_type == "notice"
    text = _text(doc.pdf).replace(" ", "").replace("\n", "")
    assert "需补正材料（共2项）" in text and "残疾人证" in text and "第二代（智能化）残疾人证" in text
    assert "申请人社会保障卡或银行卡" in text
    assert "原件及复印件" in text  # the wizard's forms, not a bare 原件 ×1
    assert "幸福里一区18号" in text  # the demo committee has an address


def test_demo_receipt_dates_run_forward(demo_ctx):
    """A back-dated forwarded case is accepted back-dated too: no reply promised before it was received."""
    from models import Case
    svc = PrintService(demo_ctx)
    with demo_ctx.sessions() as s:
        forwarded = s.query(Case).filter(Case.forwarded_at.is_not(None)).all()
        assert len(forwarded) >= 6
        for c in forwarded:
            assert c.created_at <= c.accepted_at <= c.forwarded_at < c.due_at, c.case_number
            ats = [e.at for e in sorted(c.events, key=lambda e: e.seq)]
            assert ats == sorted(ats), c.case_number
        ids = [c.id for c in forwarded]
    for cid in ids:
        data = svc.build(cid, "receipt", 0, dt.datetime.now(dt.UTC))
        assert data.received_at < data.deadline
        assert any(m.form == "原件及复印件" for m in data.materials)


# --------------------------------------------------------------------------- the case window


@pytest.mark.gui
def test_case_window_marks_handed_in_materials_received(styled_app, qtbot, demo_ctx):
    from PySide6.QtCore import Qt

    from ui.cases.case_dialog import CaseDialog
    from ui.services import Services
    services = Services(demo_ctx)
    services.current_worker = services.auth.login("qiantai", "demo1234")
    cid = _demo_case(demo_ctx, "pending_materials")
    dlg = CaseDialog(services, cid)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: Action.ACCEPT in dlg.buttons)
    qtbot.mouseClick(dlg.buttons[Action.ACCEPT], Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.detail.summary.state == "accepted")
    materials = CaseService(demo_ctx).get(cid).materials
    assert materials["残疾人证"]["received"] is True and materials["残疾人证"]["form"] == "原件及复印件"
    assert all(m["received"] for m in materials.values() if m["required"])
    # accepted, never forwarded: no receipt yet; the application form and the 申请材料清单 of an accepted case
    assert dlg.detail.documents == (DocKind.APPLICATION, DocKind.PACKET) and "print" in dlg.buttons


@pytest.mark.gui
def test_case_window_reprint_prompt_counts_only_that_document(styled_app, qtbot, demo_ctx, monkeypatch):
    """A closed case whose 受理回执 was printed: printing its 答复告知 is a first print, no 补打 prompt."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QInputDialog

    from ui.cases.case_dialog import CaseDialog
    from ui.printing.print_preview_dialog import PrintPreviewDialog
    from ui.services import Services
    services = Services(demo_ctx)
    desk = services.current_worker = services.auth.login("qiantai", "demo1234")
    cid = _demo_case(demo_ctx, "closed")
    for _ in range(2):
        job = services.printing.produce(desk, cid, "receipt", "a5", reprint_reason="补打")
        services.printing.record_print(job, printer="P1", ok=True)
    asked = []
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: (asked.append(a[3]) or "答复告知", True)))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: (asked.append(a[2]) or "", False)))
    dlg = CaseDialog(services, cid)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: "print" in dlg.buttons)
    qtbot.mouseClick(dlg.buttons["print"], Qt.LeftButton)

    def preview():
        shown = (w for w in QApplication.topLevelWidgets() if isinstance(w, PrintPreviewDialog) and w.isVisible())
        return next(shown, None)
    qtbot.waitUntil(lambda: preview() is not None)
    assert preview().document.doc_type == "reply" and preview().document.reprint_count == 0
    assert asked == [["答复告知", "受理回执", "申请表", "申请材料清单"]]  # the choice only; no 补打 prompt
    preview().close()
    # the receipt itself was printed twice: its prompt says so
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("受理回执", True)))
    qtbot.mouseClick(dlg.buttons["print"], Qt.LeftButton)
    qtbot.waitUntil(lambda: len(asked) == 2)
    assert "受理回执已打印 2 次" in asked[1]
