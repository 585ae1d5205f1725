"""The wizard's applicant page, driven by keyboard: the agent's phone captured and checked once, the agent's
materials asked for on the materials page, and the duplicate-application notice that links to the earlier case."""

from __future__ import annotations

import pytest
from shiboken6 import isValid

from app.desk.catalog.refs import item_ref
from forms.validate import make_id_number
from tests.gui_helpers import type_text
from tests.test_gui_wizard import (
    fill_agent,
    open_item,
    pick_applicant,
    press_button,
    press_next,
    sample_fields,
    tick_materials,
    walk_steps,
)
from ui.operations import pending_operations

pytestmark = pytest.mark.gui
AGENT = {"name": "周建军", "id_number": make_id_number(52, "男", seed=5), "relation": "邻居或朋友",
         "phone": "12345"}


def test_agent_phone_is_captured_checked_and_stored(window, qtbot):
    wiz = open_item(qtbot, window, "zunlaojin", "MZ-01")
    pick_applicant(qtbot, wiz, "李秀英", "李秀英")
    fill_agent(qtbot, wiz, AGENT)
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.applicant and wiz.message.text().startswith("代办人联系电话：")
    wiz.applicant.agent_phone.selectAll()
    type_text(qtbot, wiz.applicant.agent_phone, "139 5200 5555")
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.eligibility, wiz.message.text()
    qtbot.waitUntil(lambda: wiz.case_id is not None and not wiz.busy)
    stored = window.services.cases.get(wiz.case_id).agent
    assert stored == {"name": "周建军", "id_number": AGENT["id_number"], "relation": "邻居或朋友",
                      "phone": "13952005555"}
    # the agent's ID and 委托书 are asked for although MZ-01 does not list them (a neighbour: no exemption)
    press_next(qtbot, wiz)
    walk_steps(qtbot, wiz, sample_fields(wiz, window.services))
    boxes = wiz.materials.boxes
    assert boxes["代办人居民身份证"].isVisibleTo(wiz.materials) and boxes["授权委托书"].isVisibleTo(wiz.materials)
    tick_materials(qtbot, wiz, skip={"代办人居民身份证", "授权委托书"})
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.review
    assert "代办人居民身份证" in wiz.review.missing.text() and "授权委托书" in wiz.review.missing.text()


def test_a_close_relative_sees_no_authorisation_and_no_agent_no_agent_materials(window, qtbot):
    wiz = open_item(qtbot, window, "zunlaojin", "MZ-01")
    pick_applicant(qtbot, wiz, "李秀英", "李秀英")
    fill_agent(qtbot, wiz, {**AGENT, "relation": "子女", "phone": "13952005555"})
    press_next(qtbot, wiz)
    press_next(qtbot, wiz)
    walk_steps(qtbot, wiz, sample_fields(wiz, window.services))
    boxes, page = wiz.materials.boxes, wiz.materials
    assert boxes["代办人居民身份证"].isVisibleTo(page) and not boxes["授权委托书"].isVisibleTo(page)


def _closed_zunlaojin(services, name: str):
    """A 尊老金 case of ``name`` taken through to 办结 just now (forwarded, answered, resident informed)."""
    desk, mz = services.current_worker, services.auth.login("minzheng", "demo1234")
    resident = next(r for r in services.residents.search(name) if r.name == name)
    cases = services.cases
    cid = cases.create_draft(desk, item_ref("MZ-01"), resident.id)
    cases.submit(desk, cid, {}, {"申请人居民身份证": True})
    cases.forward(desk, cid, assignee_id=mz.id, queue="民政")
    cases.reply(mz, cid, "approved", "审核通过，自次月起发放")
    cases.close(desk, cid, "phone")
    return cid, cases.get(cid).summary.case_number


def test_starting_zunlaojin_again_warns_and_links_to_the_closed_case(window, qtbot):
    services = window.services
    cid, number = _closed_zunlaojin(services, "李秀英")
    wiz = open_item(qtbot, window, "zunlaojin", "MZ-01")
    pick_applicant(qtbot, wiz, "李秀英", "李秀英")
    notice = wiz.applicant.duplicates
    qtbot.waitUntil(lambda: notice.isVisible())
    text = notice.label.text()
    assert text.startswith("重复申请提醒：") and number in text and "已办结" in text and "可以继续办理" in text
    (button,) = [b for b in notice.buttons if number in b.text()]
    press_button(qtbot, wiz, button)
    qtbot.waitUntil(lambda: services.case_windows.window_for(cid) is not None
                    and services.case_windows.window_for(cid).isVisible())
    case_window = services.case_windows.window_for(cid)
    case_window.close()
    qtbot.waitUntil(lambda: not isValid(case_window) or not case_window.isVisible())
    # the worker may go on: the notice warns, it does not stop
    wiz.activateWindow()
    qtbot.waitUntil(lambda: wiz.isActiveWindow())
    wiz.applicant.search.setFocus()
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.eligibility, wiz.message.text()


def test_no_notice_for_a_resident_without_earlier_cases(window, qtbot):
    wiz = open_item(qtbot, window, "zunlaojin", "MZ-01")
    pick_applicant(qtbot, wiz, "李秀英", "李秀英")
    qtbot.waitUntil(lambda: pending_operations() == 0)  # the look-up has answered: nothing to show
    assert not wiz.applicant.duplicates.isVisible() and wiz.applicant.duplicates.buttons == []
