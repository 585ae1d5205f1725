"""The wizard as the worker sees the three levels of rule (issue 13): a failed ``block`` rule is ✗ with 不予受理;
a failed ``warn`` rule is amber "⚠ 提示（由承办部门审核决定）" with 居民坚持申请 and a note, and 转办 is enabled only
once it is ticked; ``info`` is guidance (ℹ). The colleague then sees the warnings in the case window.

The rules come from a small catalog with explicit levels (tests/level_catalog.py). Screenshots of the pages are
written when ONEDESK_SHOTS names a folder (as in tests/test_gui_wizard.py).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.desk.intake import IntakeService
from forms.identity import make_id_number
from tests.gui_helpers import tab_to, type_text
from tests.level_catalog import BLOCK, INFO, WARN, level_catalog
from tests.test_gui_wizard import (
    activate,
    pick_applicant,
    press_button,
    press_next,
    preview_of,
    shot,
    tick_materials,
    walk_steps,
)
from ui.printing.print_preview_dialog import PrintPreviewDialog

pytestmark = pytest.mark.gui


@pytest.fixture
def services(styled_app, desk_ctx, tmp_path):
    from ui.services import Services
    svc = Services(desk_ctx)
    svc.current_worker = svc.auth.login("desk", "deskpass")
    svc.intake = IntakeService(desk_ctx, svc.cases, catalog=level_catalog(tmp_path / "items"))
    yield svc
    for w in QApplication.topLevelWidgets():
        if isinstance(w, PrintPreviewDialog):
            w.close()


def _wizard(qtbot, services, code: str):
    from ui.desk.service_wizard import ServiceWizard
    wiz = ServiceWizard(services, code)
    qtbot.addWidget(wiz, before_close_func=lambda w: w.close_for_other_worker())  # no "停止办理？" question
    wiz.live_timer.setInterval(0)
    wiz.show()
    qtbot.waitExposed(wiz)
    activate(qtbot, wiz)
    return wiz


def _to_review(qtbot, wiz, fields: dict) -> None:
    pick_applicant(qtbot, wiz, "张桂兰", "张桂兰")
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.eligibility
    press_next(qtbot, wiz)
    walk_steps(qtbot, wiz, fields)
    tick_materials(qtbot, wiz)
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.review, wiz.message.text()


def test_a_warning_is_forwarded_once_the_resident_insists_and_the_colleague_sees_it(services, qtbot):
    wiz = _wizard(qtbot, services, "ZZ-91")
    _to_review(qtbot, wiz, {"amount": "8000", "kind": "乙"})
    box = wiz.review.insist
    assert box.isVisible() and box.heading.text() == "⚠ 提示（由承办部门审核决定）" and WARN in box.text.text()
    assert ("ℹ " + INFO) in wiz.review.infos.text() and wiz.review.infos.isVisible()
    assert not wiz.refuse_button.isVisible() and not wiz.resolve_button.isVisible()  # the department decides
    assert wiz.forward_button.isVisible() and not wiz.forward_button.isEnabled()
    shot(wiz, "wizard-warn-review-unticked")
    press_button(qtbot, wiz, box.box)
    assert box.box.isChecked() and wiz.forward_button.isEnabled() and box.note.isEnabled()
    tab_to(qtbot, wiz, box.note)
    type_text(qtbot, box.note, "居民称有特殊困难")
    QApplication.processEvents()
    wiz.grab().save("/tmp/work/warn.png")
    # the eligibility page shows the same warning and the same answer
    press_button(qtbot, wiz, wiz.back_button)
    press_button(qtbot, wiz, wiz.back_button)
    press_button(qtbot, wiz, wiz.back_button)
    assert wiz.current_page() is wiz.eligibility
    page = wiz.eligibility
    assert page.insist.isVisible() and WARN in page.insist.text.text() and page.insist.box.isChecked()
    assert page.insist.note.text() == "居民称有特殊困难" and ("ℹ " + INFO) in page.infos.text()
    assert not wiz.refuse_button.isVisible() and "✓" not in page.checks.text()
    QApplication.processEvents()
    wiz.grab().save("/tmp/work/warn-eligibility.png")
    shot(wiz, "wizard-warn-eligibility")
    for _ in range(3):
        press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.review and wiz.forward_button.isEnabled()
    case_id = wiz.case_id
    press_button(qtbot, wiz, wiz.forward_button)
    qtbot.waitUntil(lambda: not wiz.isVisible(), timeout=8000)
    detail = services.cases.get(case_id)
    assert detail.summary.state == "forwarded" and detail.warning_note == "居民称有特殊困难"
    assert detail.rule_warnings == [{"level": "warn", "message": WARN}, {"level": "info", "message": INFO}]
    qtbot.waitUntil(lambda: preview_of("receipt") is not None)

    from ui.cases.case_dialog import CaseDialog
    dlg = CaseDialog(services, case_id)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.detail is not None and dlg.warnings.isVisible())
    assert dlg.warnings.title() == "受理时的提示"
    text = dlg.warnings_text.text()
    assert f"⚠ {WARN}" in text and f"ℹ {INFO}" in text and "居民坚持申请：居民称有特殊困难" in text
    QApplication.processEvents()
    dlg.grab().save("/tmp/work/warn-case.png")
    shot(dlg, "case-with-warnings")

    from ui.worklist.worklist_table_model import WARNED_TIP, WorklistTableModel
    worker, wl = services.current_worker, services.worklist  # the 本窗口转出 list marks the row
    model = WorklistTableModel(lambda o, n, t, srt, d: wl.page("sent", worker, offset=o, limit=n, text=t),
                               lambda t: wl.count("sent", worker, t))
    with qtbot.waitSignal(model.loaded):
        model.reload("")
    row = next(i for i in range(model.rowCount()) if model.row_at(i).id == case_id)
    assert model.data(model.index(row, 1)) == "⚠ 测试补贴申请"
    assert model.data(model.index(row, 1), Qt.ToolTipRole) == WARNED_TIP


def test_unticking_disables_the_forward_again(services, qtbot):
    wiz = _wizard(qtbot, services, "ZZ-92")  # 即办, but a warned case goes to the department
    _to_review(qtbot, wiz, {"amount": "500", "kind": "甲"})
    assert not wiz.resolve_button.isVisible() and not wiz.forward_button.isEnabled()
    press_button(qtbot, wiz, wiz.review.insist.box)
    assert wiz.forward_button.isEnabled()
    qtbot.keyClick(wiz.review.insist.box, Qt.Key_Space)
    assert not wiz.review.insist.box.isChecked() and not wiz.forward_button.isEnabled()


def test_no_warning_no_box_and_both_outcomes(services, qtbot):
    wiz = _wizard(qtbot, services, "ZZ-92")
    _to_review(qtbot, wiz, {"amount": "50", "kind": "乙"})
    assert not wiz.review.insist.isVisible() and not wiz.review.infos.isVisible()
    assert wiz.resolve_button.isVisible() and wiz.resolve_button.isEnabled() and wiz.forward_button.isEnabled()


def test_a_failed_block_rule_is_a_cross_and_the_refusal_is_recorded(services, qtbot):
    from ui.cases.action_dialogs import ReasonDialog
    from ui.residents.resident_dialog import ResidentDialog
    wiz = _wizard(qtbot, services, "ZZ-91")

    def fill_dialog():
        dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ResidentDialog) and w.isVisible())
        type_text(qtbot, dlg.name, "赵小明")
        qtbot.keyClicks(dlg.id_number, make_id_number(15, "男"))
        qtbot.keyClicks(dlg.phone, "13912340000")
        qtbot.keyClick(dlg.phone, Qt.Key_Return)
    QTimer.singleShot(100, fill_dialog)
    press_button(qtbot, wiz, wiz.applicant.new_button)
    qtbot.waitUntil(lambda: wiz.applicant.resident is not None)
    press_next(qtbot, wiz)
    page = wiz.eligibility
    assert wiz.current_page() is page
    assert ("✗ " + BLOCK) in page.failures.text() and "不能受理" in page.failures.text()
    assert "15 岁" in page.checks.text() and not page.insist.isVisible() and wiz.refuse_button.isVisible()
    shot(wiz, "wizard-block-eligibility")
    press_next(qtbot, wiz)
    assert wiz.current_page() is page and "不予受理" in wiz.message.text()

    def confirm():
        dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ReasonDialog) and w.isVisible())
        assert BLOCK in dlg.reason.toPlainText()
        press_button(qtbot, dlg, dlg.buttons.buttons()[0])
    QTimer.singleShot(100, confirm)
    case_id = wiz.case_id
    press_button(qtbot, wiz, wiz.refuse_button)
    qtbot.waitUntil(lambda: not wiz.isVisible(), timeout=8000)
    assert services.cases.get(case_id).summary.state == "refused"
    qtbot.waitUntil(lambda: preview_of("refusal") is not None)
