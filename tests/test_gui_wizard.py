"""The guided desk driven by keyboard through the real widgets: search, wizard, drafts, outcomes, documents."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QCheckBox

from forms.validate import make_id_number, sample_submission
from tests.gui_helpers import answer_next_message_box, type_text
from ui.desk.field_widgets import ChoiceEditor, GroupEditor, LineEditor, LongTextEditor, MultiChoiceEditor, PersonEditor
from ui.printing.print_preview_dialog import PrintPreviewDialog

pytestmark = pytest.mark.gui
SHOTS = Path(os.environ["ONEDESK_SHOTS"]) if os.environ.get("ONEDESK_SHOTS") else None


def shot(widget, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(SHOTS / f"{name}.png"))


def open_item(qtbot, win, query: str, code: str):
    win.show_page("desk")
    page = win.pages["desk"]
    page.search.clear()
    type_text(qtbot, page.search, query)
    assert page.model.hit_at(0).code == code, [page.model.hit_at(i).code for i in range(3)]
    shot(win, f"search-{query}")
    qtbot.keyClick(page.search, Qt.Key_Return)
    qtbot.waitUntil(lambda: _wizard(win) is not None)
    return _wizard(win)


def _wizard(win):
    from ui.desk.service_wizard import ServiceWizard
    return next((w for w in win.pages["desk"].findChildren(ServiceWizard) if w.isVisible()), None)


def press_next(qtbot, wiz) -> None:
    before = wiz.stack.currentIndex()
    focus = wiz.focusWidget() or wiz.next_button
    if isinstance(focus, (QCheckBox,)) or focus is None:
        focus = wiz.next_button
    qtbot.keyClick(focus, Qt.Key_Return)
    qtbot.waitUntil(lambda: wiz.stack.currentIndex() != before or wiz.message.text() != "", timeout=5000)


def pick_applicant(qtbot, wiz, query: str, name: str) -> None:
    type_text(qtbot, wiz.applicant.search, query)
    qtbot.waitUntil(lambda: wiz.applicant.resident is not None and wiz.applicant.resident.name == name)


def fill_step(qtbot, page, values: dict) -> None:
    for key, editor in page.editors.items():
        if not editor.isVisibleTo(page) or key not in values or values[key] is None:
            continue
        v = values[key]
        if isinstance(editor, (LineEditor, LongTextEditor)):
            editor.focus_widget().clear() if isinstance(editor, LineEditor) else editor.edit.clear()
            type_text(qtbot, editor.focus_widget(), v.isoformat() if isinstance(v, dt.date) else str(v))
        elif isinstance(editor, ChoiceEditor):
            target = editor.combo.findData(v)
            combo = editor.combo
            combo.setFocus()
            while combo.currentIndex() < target:
                qtbot.keyClick(combo, Qt.Key_Down)
        elif isinstance(editor, MultiChoiceEditor):
            for cb in editor.boxes:
                if cb.text() in v and not cb.isChecked():
                    cb.setFocus()
                    qtbot.keyClick(cb, Qt.Key_Space)
        elif isinstance(editor, PersonEditor):
            type_text(qtbot, editor.name, v["name"])
            type_text(qtbot, editor.id_number, v["id_number"])
            editor.relation.setCurrentIndex(editor.relation.findData(v["relation"]))
        elif isinstance(editor, GroupEditor):
            for row in v:
                qtbot.mouseClick(editor.add_button, Qt.LeftButton)
                r = editor.table.rowCount() - 1
                for c, f in enumerate(editor.subfields):
                    cell = row.get(f.key)
                    if isinstance(cell, bool):
                        cell = "是" if cell else "否"
                    editor.table.item(r, c).setText("" if cell is None else str(cell))


def walk_steps(qtbot, wiz, fields: dict) -> None:
    for page in wiz.steps:
        assert wiz.current_page() is page, _debug_state(wiz)
        fill_step(qtbot, page, fields)
        # a field shown only after an answer (visible_if) gets its value on a second pass
        wiz._refresh_checks(page)
        fill_step(qtbot, page, {k: v for k, v in fields.items() if not page.editors.get(k) or page.editors[k].value() in (None, [], "")})
        press_next(qtbot, wiz)
        assert wiz.current_page() is not page, wiz.message.text() + str(page.values())


def tick_materials(qtbot, wiz, skip=()) -> None:
    for name, cb in wiz.materials.boxes.items():
        if name not in skip:
            cb.setFocus()
            qtbot.keyClick(cb, Qt.Key_Space)


def applicant_dict(services, resident_id):
    return services.intake.applicant(resident_id)


def run_item(qtbot, win, query, code, resident_query, resident_name, outcome="forward"):
    wiz = open_item(qtbot, win, query, code)
    pick_applicant(qtbot, wiz, resident_query, resident_name)
    shot(wiz, f"wizard-{code}-1-applicant")
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.eligibility, wiz.message.text()
    shot(wiz, f"wizard-{code}-2-eligibility")
    press_next(qtbot, wiz)
    submission = sample_submission(wiz.item, applicant_dict(win.services, wiz.applicant.resident.id))
    walk_steps(qtbot, wiz, submission["fields"])
    tick_materials(qtbot, wiz)
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.review
    shot(wiz, f"wizard-{code}-3-review")
    case_id = wiz.case_id
    if outcome == "forward":
        qtbot.mouseClick(wiz.forward_button, Qt.LeftButton)
    else:
        type_text(qtbot, wiz.review.note, "已当场办理完毕")
        qtbot.mouseClick(wiz.resolve_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not wiz.isVisible(), timeout=8000)
    return case_id


@pytest.mark.parametrize("query,code,rq,rname,outcome", [
    ("zunlaojin", "MZ-01", "张桂兰", "张桂兰", "forward"),
    ("dibao", "MZ-02", "王淑珍", "王淑珍", "forward"),       # repeat group: household members and incomes
    ("jiatingyisheng", "WJ-09", "陈志强", "陈志强", "resolve"),
    ("tuixiurenzheng", "RS-03", "李秀英", "李秀英", "resolve"),
])
def test_items_end_to_end_by_keyboard(window, qtbot, query, code, rq, rname, outcome):
    case_id = run_item(qtbot, window, query, code, rq, rname, outcome)
    detail = window.services.cases.get(case_id)
    assert detail.summary.state == ("forwarded" if outcome == "forward" else "resolved")
    assert detail.summary.item_code == code and detail.catalog_version.startswith("2026.")
    if code == "MZ-02":
        assert detail.data["household"] and "monthly_income" in detail.data["household"][0]
    if outcome == "forward":
        assert detail.summary.due_at is not None
    qtbot.waitUntil(lambda: any(isinstance(w, PrintPreviewDialog) and w.isVisible() for w in QApplication.topLevelWidgets()))
    preview = next(w for w in QApplication.topLevelWidgets() if isinstance(w, PrintPreviewDialog) and w.isVisible())
    shot(preview, f"preview-{code}")
    assert preview.document.doc_type == ("receipt" if outcome == "forward" else "completion")


def test_eligibility_fails_for_62_year_old_and_refusal_is_recorded(window, qtbot):
    wiz = open_item(qtbot, window, "gljt", "MZ-01")
    # register the applicant from inside the wizard
    from ui.residents.resident_dialog import ResidentDialog

    def fill_dialog():
        dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ResidentDialog) and w.isVisible())
        type_text(qtbot, dlg.name, "钱志明")
        qtbot.keyClicks(dlg.id_number, make_id_number(62, "男"))
        qtbot.keyClicks(dlg.phone, "13912340000")
        qtbot.keyClick(dlg.phone, Qt.Key_Return)
    from PySide6.QtCore import QTimer
    QTimer.singleShot(100, fill_dialog)
    qtbot.mouseClick(wiz.applicant.new_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: wiz.applicant.resident is not None)
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.eligibility
    shot(wiz, "wizard-MZ-01-ineligible")
    assert "未满 80 周岁" in wiz.eligibility.failures.text()
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.eligibility and "不予受理" in wiz.message.text()
    from ui.cases.action_dialogs import ReasonDialog

    def confirm():
        dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ReasonDialog) and w.isVisible())
        assert "未满 80 周岁" in dlg.reason.toPlainText()
        qtbot.mouseClick(dlg.buttons.buttons()[0], Qt.LeftButton)
    QTimer.singleShot(100, confirm)
    case_id = wiz.case_id
    qtbot.mouseClick(wiz.refuse_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not wiz.isVisible(), timeout=8000)
    assert window.services.cases.get(case_id).summary.state == "refused"


def test_missing_material_saves_pending_and_offers_notice(window, qtbot):
    wiz = open_item(qtbot, window, "yanglaojin", "RS-02")
    pick_applicant(qtbot, wiz, "张桂兰", "张桂兰")
    press_next(qtbot, wiz)
    press_next(qtbot, wiz)
    submission = sample_submission(wiz.item, applicant_dict(window.services, wiz.applicant.resident.id))
    walk_steps(qtbot, wiz, submission["fields"])
    required = [m.name for m in wiz.item.materials if m.required is True]
    tick_materials(qtbot, wiz, skip=required[:1])
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.review and required[0] in wiz.review.missing.text()
    assert wiz.notice_button.isVisible() and not wiz.forward_button.isVisible()
    case_id = wiz.case_id
    qtbot.mouseClick(wiz.notice_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not wiz.isVisible(), timeout=8000)
    detail = window.services.cases.get(case_id)
    assert detail.summary.state == "pending_materials"
    assert detail.materials[required[0]]["received"] is False
    qtbot.waitUntil(lambda: any(isinstance(w, PrintPreviewDialog) and w.isVisible() and w.document.doc_type == "notice"
                                for w in QApplication.topLevelWidgets()))


def test_draft_is_saved_each_step_and_resumes_from_worklist(window, qtbot):
    wiz = open_item(qtbot, window, "dibao", "MZ-02")
    pick_applicant(qtbot, wiz, "王淑珍", "王淑珍")
    press_next(qtbot, wiz)
    press_next(qtbot, wiz)
    page = wiz.steps[0]
    fill_step(qtbot, page, sample_submission(wiz.item, applicant_dict(window.services, wiz.applicant.resident.id))["fields"])
    press_next(qtbot, wiz)
    case_id = wiz.case_id
    assert window.services.cases.get(case_id).draft_step == 3
    answer_next_message_box("&Yes")
    qtbot.keyClick(wiz, Qt.Key_Escape)  # Esc asks; the draft stays
    qtbot.waitUntil(lambda: not wiz.isVisible())
    # 待办 › 草稿 → open → 继续办理
    window.show_page("worklist")
    wl = window.pages["worklist"]
    wl.tabs.setCurrentIndex([k for k, _ in __import__("app.worklist", fromlist=["TABS"]).TABS].index("drafts"))
    qtbot.waitUntil(lambda: any(wl.models["drafts"].row_at(i).id == case_id for i in range(wl.models["drafts"].rowCount())))
    shot(window, "worklist-drafts")
    dlg = wl.open_case(case_id)
    qtbot.waitUntil(lambda: "resume" in dlg.buttons)
    qtbot.mouseClick(dlg.buttons["resume"], Qt.LeftButton)
    qtbot.waitUntil(lambda: _wizard(window) is not None)
    resumed = _wizard(window)
    assert resumed.case_id == case_id and resumed.stack.currentIndex() == 3
    assert resumed.steps[0].editors["household"].table.rowCount() >= 1
    assert resumed.applicant.resident.name == "王淑珍"
    resumed.done(0)


def test_search_finds_by_pinyin_initials_and_department_filter(window, qtbot):
    win = window
    win.show_page("desk")
    page = win.pages["desk"]
    type_text(qtbot, page.search, "gljt")
    assert page.model.hit_at(0).code == "MZ-01"
    page.search.clear()
    page.department.setCurrentIndex(page.department.findData("残联"))
    assert {page.model.hit_at(i).code[:2] for i in range(page.model.rowCount())} == {"CL"}


def _debug_state(wiz) -> str:
    return f"page={wiz.current_page().title} msg={wiz.message.text()} fail={getattr(wiz.result, 'eligibility_failures', None)}"


def test_every_control_reachable_by_tab(window, qtbot):
    wiz = open_item(qtbot, window, "zunlaojin", "MZ-01")
    pick_applicant(qtbot, wiz, "张桂兰", "张桂兰")
    press_next(qtbot, wiz)
    press_next(qtbot, wiz)
    page = wiz.steps[0]
    assert wiz.current_page() is page
    wanted = {id(e.focus_widget()) for e in page.editors.values() if e.isVisibleTo(page)}
    wanted.add(id(wiz.next_button))
    seen = set()
    start = QApplication.focusWidget() or wiz.focusWidget()
    widget = start
    for _ in range(60):
        seen.add(id(widget))
        qtbot.keyClick(widget, Qt.Key_Tab)
        widget = wiz.focusWidget()
        if wanted <= seen:
            break
    assert wanted <= seen
