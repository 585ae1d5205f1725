"""Issue 15 part 5 at the desk: 读身份证 on the wizard's applicant step, with the simulated reader configured as
this desk's ID card reader (devices.json through the registry), driven as the worker does: click, place the
card, read what the page shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from shiboken6 import isValid

from app.desk.devices import idcard as idcard_devices
from app.desk.devices.base import DeviceKind
from app.desk.devices.idcard_sim import BUILT_IN_CARDS, SimulatedReader
from tests.test_gui_wizard import activate, open_item
from ui.desk.card_reader import PLACE_CARD, READ_OK
from ui.residents.resident_dialog import ResidentDialog

pytestmark = pytest.mark.gui

SHOTS = Path("/tmp/work/shots")
KNOWN, NEW, EXPIRED = 0, 1, 2  # BUILT_IN_CARDS: the demo's 张桂兰, 陈晓东 (not registered), 刘玉芬 (card ran out)


def shot(widget, name: str) -> None:
    if SHOTS.is_dir() or os.environ.get("ONEDESK_SHOTS"):
        QApplication.processEvents()
        folder = Path(os.environ.get("ONEDESK_SHOTS") or SHOTS)
        widget.grab().save(str(folder / f"{name}.png"))


@pytest.fixture
def reader(window, monkeypatch):
    """The desk's configured reader: the simulated one, with nothing on it until the test places a card."""
    sim = SimulatedReader(auto=False)
    monkeypatch.setattr(idcard_devices, "_SIMULATED", sim)
    window.services.devices.choose(DeviceKind.ID_READER, "idcard-sim")
    return sim


@pytest.fixture
def wiz(window, reader, qtbot):
    wiz = open_item(qtbot, window, "gljt", "MZ-01")
    qtbot.wait(200)  # the 待办 reminder pops up at login (offscreen, a shown window takes the activation)
    activate(qtbot, wiz)
    return wiz


def read_card(qtbot, page, reader, card: int) -> None:
    """Click 读身份证, wait for the prompt, then put the card on the reader."""
    panel = page.card_panel
    assert panel.isVisible() and panel.button.isEnabled() and panel.button.text() == "读身份证"
    qtbot.mouseClick(panel.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.status.text() == PLACE_CARD)
    assert panel.waiting and panel.button.text() == "停止读卡"
    reader.place(card)
    qtbot.waitUntil(lambda: not panel.waiting)


def open_dialog(qtbot) -> ResidentDialog:
    found: list = []

    def visible() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets() if isinstance(w, ResidentDialog) and w.isVisible()]
        return bool(found)
    qtbot.waitUntil(visible)
    return found[0]


def test_a_known_residents_card_selects_them(wiz, reader, qtbot):
    page = wiz.applicant
    read_card(qtbot, page, reader, KNOWN)
    qtbot.waitUntil(lambda: page.resident is not None)
    assert page.card_panel.status.text() == READ_OK
    assert page.resident.name == "张桂兰" and page.resident.id_masked == "320302********1003"
    assert "申请人：张桂兰" in page.chosen.text()
    assert page.search.text() == BUILT_IN_CARDS[KNOWN]["id_number"] and page.results.count() == 1
    assert not page.card_panel.warning.isVisible()
    assert page.problem() is None  # the worker can go on
    shot(wiz, "card_read")


def test_an_unknown_card_opens_the_new_resident_form_filled_from_it(wiz, reader, qtbot):
    page = wiz.applicant
    read_card(qtbot, page, reader, NEW)
    dlg = open_dialog(qtbot)
    card = BUILT_IN_CARDS[NEW]
    assert dlg.name.text() == "陈晓东" and dlg.id_number.text() == card["id_number"]
    parts = (dlg.hukou_province.text(), dlg.hukou_city.text(), dlg.hukou_county.text(), dlg.hukou_street.text())
    assert parts == ("江苏省", "徐州市", "鼓楼区", "丰财街道")
    note = dlg.prefill_note.text()
    assert dlg.prefill_note.isVisible() and "已从身份证读入" in note and "汉族" in note and "1988年05月16日" in note
    assert "和平路12号2单元301室" in note  # the rest of the card's address is named for the worker to check
    shot(dlg, "card_read_new_resident")
    assert page.resident is None and "身份证上的居民尚未登记" in page.chosen.text()
    assert page.problem() is not None  # nobody to go on with until the form is saved
    dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: page.resident is not None)
    assert page.resident.name == "陈晓东" and page.resident.sex == "男"
    found = wiz.services.residents.find_by_id_number(card["id_number"])
    assert found is not None and found.id == page.resident.id
    detail = wiz.services.residents.get(found.id)
    assert (detail.hukou.province, detail.hukou.street) == ("江苏省", "丰财街道") and detail.birth_date.year == 1988


def test_an_expired_card_warns_and_still_fills(wiz, reader, qtbot):
    page = wiz.applicant
    read_card(qtbot, page, reader, EXPIRED)
    dlg = open_dialog(qtbot)
    warning = page.card_panel.warning
    assert warning.isVisible() and warning.text().startswith("证件已过有效期（有效期至2025.06.30）")
    assert page.card_panel.status.text() == READ_OK
    assert dlg.name.text() == "刘玉芬" and dlg.id_number.text() == BUILT_IN_CARDS[EXPIRED]["id_number"]
    assert (dlg.hukou_province.text(), dlg.hukou_county.text()) == ("安徽省", "埇桥区")
    assert "证件已过有效期" in dlg.prefill_note.text()
    shot(wiz, "card_read_expired")
    dlg.reject()
    qtbot.waitUntil(lambda: not isValid(dlg) or not dlg.isVisible())
    assert page.resident is None
    # 登记新居民… starts from the card again (not from the bare number in the search box)
    page.new_button.click()
    again = open_dialog(qtbot)
    assert again.name.text() == "刘玉芬" and again.hukou_city.text() == "宿州市" and again.prefill_note.isVisible()
    again.reject()


def test_no_card_placed_the_worker_can_stop_reading(wiz, reader, qtbot):
    panel = wiz.applicant.card_panel
    qtbot.mouseClick(panel.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.status.text() == PLACE_CARD)
    qtbot.waitUntil(lambda: reader.blocks_read == 0 and panel._polls >= 2)  # polled, nothing on the reader
    qtbot.mouseClick(panel.button, Qt.LeftButton)  # 停止读卡
    assert not panel.waiting and panel.button.text() == "读身份证" and panel.status.text() == "已停止读卡"
    assert wiz.applicant.resident is None


def test_the_reader_is_closed_after_a_read_and_when_the_page_goes_away(wiz, reader, qtbot):
    page = wiz.applicant
    read_card(qtbot, page, reader, KNOWN)
    qtbot.waitUntil(lambda: not reader.is_open)  # not held while nobody reads
    reader.remove()
    qtbot.mouseClick(page.card_panel.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: reader.is_open and page.card_panel._polls >= 1)
    page.card_panel.deleteLater()  # the wizard closed while waiting for a card
    qtbot.waitUntil(lambda: not reader.is_open)


def test_a_bad_card_read_says_so_and_fills_nothing(wiz, reader, qtbot):
    page = wiz.applicant
    number = BUILT_IN_CARDS[KNOWN]["id_number"]
    broken = {**BUILT_IN_CARDS[KNOWN], "id_number": number[:-1] + ("1" if number[-1] != "1" else "2")}
    read_card(qtbot, page, reader, broken)  # type: ignore[arg-type]
    assert "证件号码读取有误" in page.card_panel.status.text() and page.card_panel.status.objectName() == "error"
    assert page.resident is None and page.search.text() == ""


def test_without_a_configured_reader_the_button_is_hidden(window, qtbot):
    wiz = open_item(qtbot, window, "gljt", "MZ-01")
    panel = wiz.applicant.card_panel
    assert panel.reader is None and not panel.isVisible() and panel.isHidden()


@pytest.mark.parametrize("keep", [False, True])
def test_the_card_photo_is_kept_with_the_resident_only_when_the_committee_says_so(window, reader, qtbot, keep):
    from app.desk.devices.registry import set_keep_card_photo
    services = window.services
    set_keep_card_photo(services.ctx, services.auth.login("zhanzhang", "demo1234"), keep)
    reader.photo = True  # this reader gives the card photo (a vendor's decoder is installed)
    wiz = open_item(qtbot, window, "gljt", "MZ-01")
    page = wiz.applicant
    read_card(qtbot, page, reader, KNOWN)
    qtbot.waitUntil(lambda: page.resident is not None)
    resident_id = page.resident.id
    if keep:
        qtbot.waitUntil(lambda: len(services.attachments.for_resident(resident_id)) == 1)
        info = services.attachments.for_resident(resident_id)[0]
        assert info.source == "idcard" and info.case_id is None and info.mime == "image/jpeg"
    else:
        qtbot.waitUntil(lambda: not page.card_panel.waiting)
        from ui.operations import pending_operations
        qtbot.waitUntil(lambda: pending_operations() == 0)
        assert services.attachments.for_resident(resident_id) == []
