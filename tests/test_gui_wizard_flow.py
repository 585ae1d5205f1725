"""Issue 19, points 2–5, through the real wizard: messages after a field is left (never when a step opens), fields
that stay where they are, rules judged on the step of their answer, live material status, the resident's address
and the typed ID carried forward, and a last page that fits the outcome (即办: no 转给/办理期限; Ctrl+Enter; Tab
from 说明 to the highlighted button; 打印 the default of the preview).

With ONEDESK_SHOTS=DIR the pages are saved there as PNGs, composed on a 1024×768 desk screen.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QScrollArea

from forms.identity import make_id_number
from tests.gui_helpers import choose_by_arrows, focus_in, press, tab_to, type_text
from tests.test_gui_wizard import (
    SHOTS,
    activate,
    open_item,
    pick_applicant,
    press_button,
    press_next,
    preview_of,
    sample_fields,
    settle,
    tick_materials,
    walk_steps,
)
from ui.desk.service_wizard import ADDRESS_NOTE
from ui.desk.step_page import INSIST_LATER
from ui.residents.resident_dialog import ResidentDialog

pytestmark = pytest.mark.gui

DESK = QSize(1024, 768)
NEWCOMER = make_id_number(83, "女", seed=41)


def desk_shot(window, wiz, name: str) -> None:
    """The wizard over the main window on a 1024×768 screen (the taskbar's 30 px at the bottom), as a PNG."""
    if not SHOTS:
        return
    QApplication.processEvents()
    window.resize(QSize(DESK.width(), DESK.height() - 30))
    wiz.resize(900, 680)  # its size on that screen (the offscreen test screen is 800 px wide)
    canvas = QPixmap(DESK)
    canvas.fill(QColor("#30343a"))
    painter = QPainter(canvas)
    painter.drawPixmap(0, 0, window.grab())
    at = QPoint((DESK.width() - wiz.width()) // 2, max(0, (DESK.height() - 30 - wiz.height()) // 2))
    painter.fillRect(QRect(at + QPoint(0, -26), QSize(wiz.width(), 26)), QColor("#dde3ea"))  # a title bar
    painter.setPen(QColor("#1f2937"))
    painter.drawText(at + QPoint(10, -8), wiz.windowTitle())
    painter.drawPixmap(at, wiz.grab())
    painter.end()
    SHOTS.mkdir(parents=True, exist_ok=True)
    canvas.save(str(SHOTS / f"{name}.png"))


def to_step(qtbot, window, query: str, code: str, who: str, step: int = 0):
    wiz = open_item(qtbot, window, query, code)
    pick_applicant(qtbot, wiz, who, who)
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.eligibility, wiz.message.text()
    press_next(qtbot, wiz)
    for page in wiz.steps[:step]:
        walk_steps_one(qtbot, wiz, page)
    assert wiz.current_page() is wiz.steps[step], wiz.message.text()
    return wiz


def walk_steps_one(qtbot, wiz, page) -> None:
    from tests.test_gui_wizard import fill_step
    fill_step(qtbot, wiz, page, sample_fields(wiz, wiz.services))
    press_next(qtbot, wiz)
    assert wiz.current_page() is not page, wiz.message.text()


def positions(page) -> dict[str, QPoint]:
    """Where each field's editor is in the step's form (what the worker aims the mouse at)."""
    form = page.findChild(QScrollArea).widget()
    return {k: e.mapTo(form, QPoint(0, 0)) for k, e in page.editors.items() if e.isVisibleTo(page)}


def red(page) -> dict[str, str]:
    return {k: line.message() for k, line in page.lines.items() if line.is_error()}


def resident_address(services, name: str) -> str:
    row = next(r for r in services.residents.search(name) if r.name == name)
    return row.address


# ----- point 2: messages after leaving, nothing moves, rules on the step of their answer -----------------------

def test_a_step_opens_quiet_messages_follow_leaving_and_no_field_moves(window, qtbot):
    wiz = to_step(qtbot, window, "zunlaojin", "MZ-01", "张桂兰")
    page = wiz.steps[0]
    assert red(page) == {} and wiz.message.text() == "", "a step shouted before the worker typed"
    assert not page.block.isVisible() and not page.warn.isVisible()
    phone, contact = page.editors["emergency_phone"], page.editors["emergency_contact"]
    assert phone.isVisibleTo(page) and not phone.isEnabledTo(page), "the conditional question is not kept in place"
    before = positions(page)
    # Tab past 居住情况 without choosing: its message appears once it is left, and only its own
    assert focus_in(wiz) is page.editors["living_status"].combo
    press(qtbot, wiz, Qt.Key_Tab)
    assert list(red(page)) == ["living_status"] and "居住情况" in red(page)["living_status"]
    assert positions(page) == before
    # half an ID typed in 紧急联系人: nothing while typing, nor on the way to 关系 (the same field) …
    tab_to(qtbot, wiz, contact.name)
    type_text(qtbot, contact.name, "张建华")
    press(qtbot, wiz, Qt.Key_Tab)
    qtbot.keyClicks(contact.id_number, "320302")
    settle(qtbot, wiz)
    assert "emergency_contact" not in red(page)
    press(qtbot, wiz, Qt.Key_Tab)
    assert focus_in(wiz) is contact.relation and "emergency_contact" not in red(page)
    # … the phone question, now asked, is enabled where it was: nothing below moved
    assert phone.isEnabledTo(page) and positions(page) == before
    press(qtbot, wiz, Qt.Key_Tab)  # leaves 紧急联系人 for 紧急联系人电话
    assert focus_in(wiz) is phone.edit
    assert "身份证" in red(page)["emergency_contact"] and "emergency_phone" not in red(page)
    assert positions(page) == before
    desk_shot(window, wiz, "wizard-step-validation-1024x768")
    # 下一步 shows every message of the step and stays
    press(qtbot, wiz, Qt.Key_Return)
    assert wiz.current_page() is page and wiz.message.text() == "请先改正标红的内容"
    assert {"living_status", "emergency_contact", "emergency_phone"} <= set(red(page))
    assert positions(page) == before
    # a corrected answer loses its message at once, while typing (what is still wrong stays)
    contact.id_number.selectAll()
    qtbot.keyClicks(contact.id_number, make_id_number(55, "男", seed=3))
    settle(qtbot, wiz)
    assert red(page)["emergency_contact"] == "「紧急联系人」请选择与申请人的关系"
    tab_to(qtbot, wiz, contact.relation)
    choose_by_arrows(qtbot, contact.relation, contact.relation.findData("子女"))
    settle(qtbot, wiz)
    assert "emergency_contact" not in red(page) and positions(page) == before


def test_a_rule_is_judged_on_the_step_of_its_answer_before_the_materials(window, qtbot):
    wiz = to_step(qtbot, window, "zunlaojin", "MZ-01", "张桂兰", step=1)
    page = wiz.steps[1]
    assert page.title == "发放账户" and not page.warn.isVisible()
    combo = page.editors["receiving_elsewhere"].combo
    tab_to(qtbot, wiz, combo)
    choose_by_arrows(qtbot, combo, combo.findData(True))  # 已在其他地区领取 = 是
    assert page.warn.isVisible() and "已在其他地区领取高龄津贴" in page.warn.text()
    assert page.warn.text().startswith("⚠ ") and page.warn.text().endswith(INSIST_LATER)
    assert wiz.current_page() is page  # judged here, not on the last page
    choose_by_arrows(qtbot, combo, combo.findData(False))
    assert not page.warn.isVisible()


def test_a_block_rule_on_a_step_stops_there_with_refusal_and_conditional_fields_stay_in_place(window, qtbot):
    wiz = to_step(qtbot, window, "jmyb", "YB-01", "陈志强")
    page = wiz.steps[0]
    newborn = [page.editors[k] for k in ("newborn_name", "newborn_birth_date", "birth_cert_no")]
    assert all(e.isVisibleTo(page) and not e.isEnabledTo(page) for e in newborn)
    before = positions(page)
    kind = page.editors["insured_type"].combo
    choose_by_arrows(qtbot, kind, kind.findData("新生儿"))
    assert all(e.isEnabledTo(page) for e in newborn) and positions(page) == before
    choose_by_arrows(qtbot, kind, kind.findData("城乡居民"))
    scheme = page.editors["in_employee_scheme"].combo
    tab_to(qtbot, wiz, scheme)
    assert red(page) == {}  # insured_type was answered; the greyed questions are skipped by Tab
    choose_by_arrows(qtbot, scheme, scheme.findData(True))
    assert page.block.isVisible() and "不能重复参加居民医保" in page.block.text()
    assert wiz.refuse_button.isVisible()
    press(qtbot, wiz, Qt.Key_Return)
    assert wiz.current_page() is page and "不予受理" in wiz.message.text()
    choose_by_arrows(qtbot, scheme, scheme.findData(False))
    assert not page.block.isVisible() and not wiz.refuse_button.isVisible()


# ----- point 3: the material status follows every tick ---------------------------------------------------------

def test_missing_materials_follow_each_tick_and_say_when_all_are_in(window, qtbot):
    wiz = to_step(qtbot, window, "zunlaojin", "MZ-01", "张桂兰")
    walk_steps(qtbot, wiz, sample_fields(wiz, window.services))
    page = wiz.materials
    required = [m.name for m in wiz.result.required_materials]
    assert len(required) >= 2 and all(n in page.missing.text() for n in required)
    for i, name in enumerate(required):
        box = page.boxes[name]
        tab_to(qtbot, wiz, box)
        qtbot.keyClick(box, Qt.Key_Space)
        still = required[i + 1:]
        if still:
            assert name not in page.missing.text() and all(n in page.missing.text() for n in still)
    assert page.missing.text() == "✓ 必交材料已收齐。" and page.missing.objectName() == "hint"
    qtbot.keyClick(page.boxes[required[0]], Qt.Key_Space)  # unticked again: missing again, at once
    assert page.missing.text().startswith("缺少必交材料：" + required[0])


# ----- point 4: what the desk knows is not typed again ---------------------------------------------------------

def test_the_residents_address_fills_the_current_address_until_the_worker_changes_it(window, qtbot):
    wiz = to_step(qtbot, window, "zunlaojin", "MZ-01", "张桂兰")
    page, services = wiz.steps[0], window.services
    editor = page.editors["current_address"]
    assert editor.edit.text() == resident_address(services, "张桂兰") != ""
    assert page.lines["current_address"].message() == ADDRESS_NOTE
    # another applicant chosen: the address follows, as long as the worker has not typed one
    press_button(qtbot, wiz, wiz.back_button)
    press_button(qtbot, wiz, wiz.back_button)
    assert wiz.current_page() is wiz.applicant
    wiz.applicant.search.selectAll()
    pick_applicant(qtbot, wiz, "王淑珍", "王淑珍")
    press_next(qtbot, wiz)
    press_next(qtbot, wiz)
    assert wiz.current_page() is page and editor.edit.text() == resident_address(services, "王淑珍")
    tab_to(qtbot, wiz, editor.edit)
    editor.edit.selectAll()
    type_text(qtbot, editor.edit, "和平路8号2单元301室")
    settle(qtbot, wiz)
    assert page.lines["current_address"].message() == ""  # typed over: no longer the record's
    press_button(qtbot, wiz, wiz.back_button)
    press_button(qtbot, wiz, wiz.back_button)
    wiz.applicant.search.selectAll()
    pick_applicant(qtbot, wiz, "张桂兰", "张桂兰")
    assert editor.edit.text() == "和平路8号2单元301室"  # what the worker typed is kept


def test_a_new_residents_typed_id_goes_into_registration_and_the_address_into_the_form(window, qtbot):
    wiz = open_item(qtbot, window, "zunlaojin", "MZ-01")
    a = wiz.applicant
    type_text(qtbot, a.search, NEWCOMER)
    qtbot.waitUntil(lambda: not a.searching and "没有找到" in a.chosen.text())
    seen: dict = {}

    def register():
        dlg = next((w for w in QApplication.topLevelWidgets() if isinstance(w, ResidentDialog) and w.isVisible()),
                   None)
        if dlg is None:
            QTimer.singleShot(30, register)
            return
        seen["id"] = dlg.id_number.text()
        assert focus_in(dlg) is dlg.name  # the first empty one
        type_text(qtbot, dlg.name, "孙玉珍")
        tab_to(qtbot, dlg, dlg.phone)
        qtbot.keyClicks(dlg.phone, "13952066666")
        tab_to(qtbot, dlg, dlg.address)
        type_text(qtbot, dlg.address, "丰财街道和平路12号3单元201室")
        qtbot.keyClick(dlg.address, Qt.Key_Return)
    QTimer.singleShot(30, register)
    press_button(qtbot, wiz, a.new_button)
    qtbot.waitUntil(lambda: a.resident is not None and a.resident.name == "孙玉珍", timeout=5000)
    assert seen["id"] == NEWCOMER
    activate(qtbot, wiz)
    press_next(qtbot, wiz)
    press_next(qtbot, wiz)
    assert wiz.steps[0].editors["current_address"].edit.text() == "丰财街道和平路12号3单元201室"


# ----- point 5: the last page fits the outcome -----------------------------------------------------------------

def to_review(qtbot, window, query: str, code: str, who: str):
    wiz = to_step(qtbot, window, query, code, who)
    walk_steps(qtbot, wiz, sample_fields(wiz, window.services))
    tick_materials(qtbot, wiz)
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.review, wiz.message.text()
    return wiz


def test_an_on_the_spot_item_has_no_forward_target_and_ctrl_enter_resolves(window, qtbot):
    wiz = to_review(qtbot, window, "jiatingyisheng", "WJ-09", "陈志强")
    review = wiz.review
    assert wiz.item.mode == "即办"
    assert not review.target.isVisibleTo(review) and not review.deadline.isVisibleTo(review)
    assert review.note_label.text() == "办理结果" and review.form.labelForField(review.target).isHidden()
    assert wiz.resolve_button.isDefault() and not wiz.back_button.isDefault()
    assert wiz.forward_button.text() == "改为转办…"
    assert focus_in(wiz) is review.note
    type_text(qtbot, review.note, "已签约家庭医生团队，当场办结")
    press(qtbot, wiz, Qt.Key_Tab)
    assert focus_in(wiz) is wiz.resolve_button, focus_in(wiz)  # Tab from 说明: the highlighted 当场办结
    press(qtbot, wiz, Qt.Key_Tab)
    press(qtbot, wiz, Qt.Key_Tab)
    assert focus_in(wiz) is wiz.back_button and not wiz.back_button.isDefault()  # 上一步 focused, not highlighted
    assert wiz.resolve_button.isDefault()
    desk_shot(window, wiz, "wizard-last-page-instant-1024x768")
    case_id = wiz.case_id
    press(qtbot, wiz, Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: not wiz.isVisible(), timeout=8000)
    detail = window.services.cases.get(case_id)
    assert detail.summary.state == "resolved" and detail.summary.due_at is None


def test_an_on_the_spot_item_can_still_be_forwarded_and_shows_then_where_to(window, qtbot):
    wiz = to_review(qtbot, window, "jiatingyisheng", "WJ-09", "陈志强")
    review = wiz.review
    press_button(qtbot, wiz, wiz.forward_button)  # 改为转办…
    assert review.target.isVisibleTo(review) and review.deadline.isVisibleTo(review) and "前答复" in \
        review.deadline.text()
    assert wiz.forward_button.text() == "转办" and wiz.forward_button.isDefault()
    assert not wiz.resolve_button.isDefault() and focus_in(wiz) is review.target
    tab_to(qtbot, wiz, review.note)
    press(qtbot, wiz, Qt.Key_Tab)
    assert focus_in(wiz) is wiz.forward_button


def test_a_forwarded_item_tabs_from_the_note_to_forward_and_ctrl_enter_forwards_then_print_is_default(window, qtbot):
    wiz = to_review(qtbot, window, "zunlaojin", "MZ-01", "张桂兰")
    review = wiz.review
    assert review.target.isVisibleTo(review) and review.deadline.isVisibleTo(review)
    assert wiz.forward_button.isDefault() and wiz.forward_button.text() == "转办"
    tab_to(qtbot, wiz, review.note)
    press(qtbot, wiz, Qt.Key_Tab)
    assert focus_in(wiz) is wiz.forward_button
    tab_to(qtbot, wiz, review.note)
    desk_shot(window, wiz, "wizard-last-page-forward-1024x768")
    case_id = wiz.case_id
    press(qtbot, wiz, Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: not wiz.isVisible(), timeout=8000)
    assert window.services.cases.get(case_id).summary.state == "forwarded"
    qtbot.waitUntil(lambda: preview_of("receipt") is not None)
    dlg = preview_of("receipt")
    assert dlg.print_button.isDefault() and not dlg.later_button.isDefault()
    least = dlg.minimumSizeHint().expandedTo(dlg.minimumSize())
    assert least.width() <= 1000 and least.height() <= 700, least
    assert dlg.screen().availableGeometry().contains(QRect(QPoint(0, 0), dlg.size())), dlg.size()
    activate(qtbot, dlg)
    tab_to(qtbot, dlg, dlg.later_button)
    assert dlg.print_button.isDefault() and not dlg.later_button.isDefault()  # a focused 稍后打印 is not Enter


def test_the_wizard_fits_a_small_screen(window, qtbot):
    wiz = open_item(qtbot, window, "zunlaojin", "MZ-01")
    hint = wiz.minimumSizeHint().expandedTo(wiz.minimumSize())
    assert hint.width() <= 1000 and hint.height() <= 700, hint
    assert wiz.width() <= 1000 and wiz.height() <= 700
