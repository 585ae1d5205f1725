"""The wizard hands over what happened (issue 13 §7): 打印申请表 on the review page prints the form from the answers
as they stand, and MZ-15 当场办结 shows the 证明 — driven by keyboard, the PDFs read back."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt

from tests.gui_helpers import press
from tests.test_gui_wizard import (
    fill_step,
    finish,
    household,
    open_item,
    pick_applicant,
    press_button,
    press_next,
    preview_of,
    sample_fields,
    tick_materials,
)

pytestmark = pytest.mark.gui


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def _to_review(qtbot, window, query: str, code: str, resident: str, **extra):
    wiz = open_item(qtbot, window, query, code)
    pick_applicant(qtbot, wiz, resident, resident)
    press_next(qtbot, wiz)
    press_next(qtbot, wiz)
    fields = sample_fields(wiz, window.services, **extra)
    for page in wiz.steps:  # Ctrl+Enter: a step may end on multi-line text, where Enter starts a new line
        fill_step(qtbot, wiz, page, fields)
        press(qtbot, wiz, Qt.Key_Return, Qt.ControlModifier)
        qtbot.waitUntil(lambda page=page: wiz.current_page() is not page or wiz.message.text() != "")
        assert wiz.current_page() is not page, wiz.message.text()
    tick_materials(qtbot, wiz)
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.review, wiz.message.text()
    return wiz


def test_review_page_prints_the_prefilled_application_form_and_stays_open(window, qtbot):
    wiz = _to_review(qtbot, window, "dibao", "MZ-02", "王淑珍")
    rid = wiz.applicant.resident.id
    members = household(window.services, rid)
    assert wiz.application_button.isVisible() and wiz.application_button.text() == "打印申请表"
    press_button(qtbot, wiz, wiz.application_button)
    qtbot.waitUntil(lambda: preview_of("application") is not None, timeout=8000)
    text = _text(preview_of("application").document.pdf)
    for expected in ("申请表", "最低生活保障申请", "王淑珍", "共同生活的家庭成员", "申请人（签字或按手印）"):
        assert expected in text, expected
    assert members[0]["id_number"] not in text
    assert wiz.isVisible() and window.services.cases.get(wiz.case_id).summary.state == "draft"
    preview_of("application").close()
    finish(qtbot, wiz, "forward")  # the form printed, the case goes on as before
    qtbot.waitUntil(lambda: preview_of("receipt") is not None)
    assert "街道民政办（社会救助窗口）" in _text(preview_of("receipt").document.pdf)


def test_review_page_of_an_item_without_an_application_form_has_no_such_button(window, qtbot):
    wiz = _to_review(qtbot, window, "zunlaojin", "MZ-01", "张桂兰")
    assert not wiz.application_button.isVisible()


def test_mz15_resolved_in_the_wizard_shows_the_certificate(window, qtbot):
    wiz = _to_review(qtbot, window, "kaizhengming", "MZ-15", "张桂兰", facts="自2019年3月起居住在本社区",
                     purpose="提交银行办理开户")
    finish(qtbot, wiz, "resolve")
    qtbot.waitUntil(lambda: preview_of("certificate") is not None, timeout=8000)
    text = _text(preview_of("certificate").document.pdf)
    assert "兹证明张桂兰" in text and "自2019年3月起居住在本社区" in text and "本证明用于提交银行办理开户" in text
