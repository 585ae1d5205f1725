"""A preview is not a print job (issue 19, point 8), through the real widgets: a line colleague who only looks at
a document's preview leaves nothing in the front desk's 待打印; 稍后打印 puts it there, and the list names the
case, the applicant (masked), the item and the document."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog
from sqlalchemy import select

from forms.identity import mask_name
from models import Case, Resident, Worker
from tests.test_gui_case_reply_loop import as_worker, open_case, visible
from ui.cases.case_dialog import PRINT
from ui.printing.print_preview_dialog import PrintPreviewDialog
from ui.printing.to_print_dialog import COLUMNS, ToPrintDialog

pytestmark = pytest.mark.gui


def forwarded_to(ctx, login: str):
    with ctx.sessions() as s:
        wid = s.scalar(select(Worker.id).where(Worker.login == login))
        case = s.scalars(select(Case).where(Case.state == "forwarded", Case.assignee_id == wid)
                         .order_by(Case.case_number)).first()
        return case.id, case.case_number, case.item_name, s.get(Resident, case.applicant_id).name


def to_print_rows(qtbot, win) -> list[dict[str, str]]:
    """Open 待打印 from the worklist page as the worker does and read its table."""
    win.show_page("worklist")
    page = win.pages["worklist"]
    qtbot.mouseClick(page.to_print_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: visible(ToPrintDialog) is not None)
    dlg = visible(ToPrintDialog)
    qtbot.waitUntil(lambda: dlg.empty.text() != "")
    t = dlg.table
    rows = [{COLUMNS[c]: t.item(r, c).text() for c in range(t.columnCount())} for r in range(t.rowCount())]
    headers = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    assert headers[:4] == ["案件编号", "申请人", "事项", "文书"]
    dlg.close()
    return rows


def preview_from_case_window(qtbot, win, case_id):
    dlg = open_case(qtbot, win, case_id)
    qtbot.mouseClick(dlg.buttons[PRINT], Qt.LeftButton)
    qtbot.waitUntil(lambda: visible(PrintPreviewDialog) is not None)
    return dlg, visible(PrintPreviewDialog)


def test_a_preview_only_looked_at_is_no_job_and_later_lists_who_and_what(window, qtbot, monkeypatch):
    win = window
    ctx = win.services.ctx
    cid, number, item, name = forwarded_to(ctx, "minzheng")
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("受理回执", True)))
    before = to_print_rows(qtbot, win)
    # the line colleague opens the receipt's preview to read it, and closes it
    as_worker(win, "minzheng")
    case_window, preview = preview_from_case_window(qtbot, win, cid)
    assert preview.document.doc_type == "receipt" and preview.document.job_id is None
    preview.close()
    case_window.close()
    as_worker(win, "qiantai")
    assert to_print_rows(qtbot, win) == before
    assert number not in {r["案件编号"] for r in before}
    # the front desk chooses 稍后打印: now it waits, named
    case_window, preview = preview_from_case_window(qtbot, win, cid)
    qtbot.mouseClick(preview.later_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: visible(PrintPreviewDialog) is None)
    case_window.close()
    rows = [r for r in to_print_rows(qtbot, win) if r["案件编号"] == number]
    assert len(rows) == 1
    row = rows[0]
    assert (row["申请人"], row["事项"], row["文书"], row["状态"]) == (mask_name(name), item, "受理回执", "未打印")
    assert name not in row.values()  # the list never shows the full name
