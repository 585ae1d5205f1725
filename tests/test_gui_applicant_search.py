"""Issue 12, finding 11, typed into the real wizard's applicant page: the applicant shown is always the one that
matches what is typed; no match leaves no applicant and 登记新居民 starts from what was typed; residents with
the same name are listed side by side (age, masked ID) and none is chosen for the worker."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.core.residents import ResidentInput
from forms.identity import make_id_number, mask_id
from tests.gui_helpers import type_text
from tests.test_gui_wizard import activate, open_item, pick_applicant, press_button, shot
from ui.residents.resident_dialog import ResidentDialog

pytestmark = pytest.mark.gui

LIU = make_id_number(71, "男", seed=21)
ZHANG_2 = make_id_number(63, "女", seed=22)  # a second 张桂兰, 63 (the demo's one is 85)
NOBODY = make_id_number(45, "女", seed=99)


@pytest.fixture
def wiz(window, qtbot):
    services = window.services
    for name, number, phone in (("刘福生", LIU, "13952011111"), ("张桂兰", ZHANG_2, "13952022222")):
        data = ResidentInput(name=name, id_number=number, phone=phone, address="和平路8号")
        services.residents.create(services.current_worker, data)
    wiz = open_item(qtbot, window, "gljt", "MZ-01")
    qtbot.wait(200)  # the 待办 reminder pops up at login (offscreen, a shown window takes the activation)
    activate(qtbot, wiz)
    return wiz


def searched(qtbot, page) -> None:
    """The worker looks once the list has answered what is typed."""
    qtbot.waitUntil(lambda: not page._debounce.isActive() and not getattr(page, "searching", False))
    qtbot.wait(50)


def retype(qtbot, page, text: str) -> None:
    page.search.setFocus()
    page.search.selectAll()
    type_text(qtbot, page.search, text)


def registration_form(qtbot, wiz) -> dict:
    """Press 登记新居民…, read what the form starts with, cancel it."""
    seen: dict = {}

    def read():
        dlg = next((w for w in QApplication.topLevelWidgets() if isinstance(w, ResidentDialog) and w.isVisible()), None)
        if dlg is None:
            QTimer.singleShot(30, read)
            return
        seen.update(name=dlg.name.text(), id_number=dlg.id_number.text(), phone=dlg.phone.text())
        shot(dlg, "applicant-register-prefilled")
        dlg.reject()
    QTimer.singleShot(30, read)
    press_button(qtbot, wiz, wiz.applicant.new_button)
    qtbot.waitUntil(lambda: bool(seen))
    return seen


def test_an_id_that_matches_nobody_leaves_no_applicant_and_registration_starts_from_it(wiz, qtbot):
    page = wiz.applicant
    pick_applicant(qtbot, wiz, "刘福生", "刘福生")
    assert "刘福生" in page.chosen.text()
    retype(qtbot, page, NOBODY)
    qtbot.keyClick(page.search, Qt.Key_Return)  # Enter at once, before the list has even answered
    qtbot.waitUntil(lambda: not wiz.busy)  # (a draft save would be on its way now)
    qtbot.wait(50)
    assert wiz.current_page() is page, "Enter went on with the previous applicant"
    searched(qtbot, page)
    assert page.results.count() == 0
    assert page.resident is None and "刘福生" not in page.chosen.text()
    assert "没有找到" in page.chosen.text()
    shot(wiz, "applicant-no-match")
    qtbot.keyClick(page.search, Qt.Key_Return)
    assert wiz.current_page() is page and wiz.message.text()
    assert registration_form(qtbot, wiz)["id_number"] == NOBODY


@pytest.mark.parametrize(("typed", "field"), [("欧阳明", "name"), ("13952099999", "phone")])
def test_a_name_or_phone_that_matches_nobody_is_carried_into_registration(wiz, qtbot, typed, field):
    page = wiz.applicant
    retype(qtbot, page, typed)
    searched(qtbot, page)
    assert page.resident is None and page.results.count() == 0
    form = registration_form(qtbot, wiz)
    assert form[field] == typed and all(v == "" for k, v in form.items() if k != field)


def test_residents_with_the_same_name_are_shown_side_by_side_and_none_is_chosen(wiz, qtbot):
    page = wiz.applicant
    retype(qtbot, page, "张桂")
    searched(qtbot, page)
    rows = [page.results.item(i).text() for i in range(page.results.count())]
    assert len(rows) == 2 and all(r.startswith("张桂兰 ") for r in rows)
    assert any("63岁" in r and mask_id(ZHANG_2) in r for r in rows) and any("85岁" in r or "86岁" in r for r in rows)
    assert page.resident is None, "a namesake was chosen for the worker"
    assert "2 位" in page.chosen.text()
    shot(wiz, "applicant-namesakes")
    qtbot.keyClick(page.search, Qt.Key_Return)
    assert wiz.current_page() is page and "选择" in wiz.message.text()
    # the worker picks the 63-year-old with ↓ …
    for _ in range(2):
        if page.resident is not None and page.resident.age == 63:
            break
        qtbot.keyClick(page.search, Qt.Key_Down)
    chosen = page.resident
    assert chosen is not None and chosen.age == 63
    # … and finishing the name (or typing more of it) keeps her: no silent switch to the other 张桂兰
    type_text(qtbot, page.search, "兰")
    searched(qtbot, page)
    assert page.resident is not None and page.resident.id == chosen.id
    assert page.results.currentItem().data(256).id == chosen.id
    # an ID that only she has also keeps her; one that is nobody's leaves nobody
    retype(qtbot, page, ZHANG_2)
    searched(qtbot, page)
    assert page.resident is not None and page.resident.id == chosen.id
    page.search.clear()
    searched(qtbot, page)
    assert page.resident is None


def test_one_match_is_chosen_and_shown(wiz, qtbot):
    page = wiz.applicant
    retype(qtbot, page, LIU)
    searched(qtbot, page)
    assert page.resident is not None and page.resident.name == "刘福生"
    assert "刘福生" in page.chosen.text() and mask_id(LIU) in page.chosen.text()


def test_an_id_and_enter_at_once_goes_on_with_the_resident_it_finds(wiz, qtbot):
    page = wiz.applicant
    pick_applicant(qtbot, wiz, "张桂兰", "张桂兰")
    retype(qtbot, page, LIU)
    qtbot.keyClick(page.search, Qt.Key_Return)  # before the list has answered: not with 张桂兰, with 刘福生
    qtbot.waitUntil(lambda: wiz.current_page() is wiz.eligibility, timeout=5000)
    assert page.resident.name == "刘福生" and "刘福生" in wiz.eligibility.checks.text()
