"""The scanner as a keyboard wedge in the real main window (demo data): a fast burst ending in Enter is taken out
of the keyboard stream anywhere; a receipt's link opens its case, an ID number fills the applicant search; a
person typing is not affected. Key times come from a clock injected into the filter, never from real timing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QMessageBox
from sqlalchemy import select

from app.core.verify import verification_url
from app.demo.seed import demo_id_number
from app.desk.devices import codes
from forms.identity import mask_id
from models import Case
from tests.gui_helpers import save_shot
from ui.cases.case_dialog import CaseDialog
from ui.desk.service_wizard import ServiceWizard

pytestmark = pytest.mark.gui

ID = demo_id_number(0)  # 张桂兰 of the demo data


class KeyClock:
    """The time of each key event the filter sees: ``step`` seconds apart."""

    def __init__(self, step: float):
        self.now, self.step = 1000.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def boxes(qtbot):
    """Answers (and lists) every modal message box, so a wrong path fails instead of hanging."""
    seen: list[str] = []
    timer = QTimer(interval=30)

    def close():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QMessageBox) and w.isVisible() and w.isModal():
                seen.append(w.text())
                w.accept()
    timer.timeout.connect(close)
    timer.start()
    yield seen
    timer.stop()


def scan(qtbot, widget, text: str, win, step: float = 0.004) -> None:
    """What a wedge scanner does: the text, then Enter, ``step`` seconds a key."""
    win.code_wedge.clock = KeyClock(step)
    widget.setFocus()
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key_Return)


def a_case(ctx, state: str = "forwarded") -> Case:
    with ctx.sessions() as s:
        return s.scalars(select(Case).where(Case.state == state, Case.verification_code != "", Case.kind == "service")
                         .order_by(Case.case_number)).first()


def case_windows() -> list[CaseDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, CaseDialog) and w.isVisible()]


def test_receipt_link_scanned_into_a_field_opens_the_case_and_types_nothing(window, qtbot, boxes):
    case = a_case(window.services.ctx)
    search = window.pages["desk"].search
    returned: list[bool] = []
    search.returnPressed.connect(lambda: returned.append(True))
    got: list[tuple[str, str]] = []
    window.code_wedge.scanned.connect(lambda kind, value: got.append((kind, value)))
    scan(qtbot, search, verification_url("https://onedesk.example.gov.cn", case.case_number,
                                         case.verification_code), window)
    assert got == [("receipt", case.case_number)]
    qtbot.waitUntil(lambda: window.services.case_windows.window_for(case.id) is not None)
    dlg = window.services.case_windows.window_for(case.id)
    qtbot.waitUntil(lambda: any(case.case_number in label.text() for label in dlg.findChildren(QLabel)))
    assert search.text() == "" and returned == []  # neither the characters nor the Enter reached the field
    assert not window.code_wedge.holding and boxes == []
    save_shot(dlg, "wedge-case-opened.png")
    dlg.reject()


def test_the_desk_payload_of_an_unenrolled_receipt_opens_the_case_too(window, qtbot, boxes):
    case = a_case(window.services.ctx, "replied")
    field = QLineEdit(window)  # any text field of any window
    field.show()
    scan(qtbot, field, f"ONEDESK|{case.case_number}|{case.verification_code}", window)
    qtbot.waitUntil(lambda: window.services.case_windows.window_for(case.id) is not None)
    assert field.text() == ""
    window.services.case_windows.window_for(case.id).reject()


def test_a_receipt_whose_code_does_not_match_opens_nothing(window, qtbot, boxes):
    case = a_case(window.services.ctx)
    scan(qtbot, window.pages["desk"].search, f"https://x.example/v/{case.case_number}?c=WRONG000", window)
    qtbot.waitUntil(lambda: len(boxes) == 1)
    assert "验证码" in boxes[0] and window.services.case_windows.window_for(case.id) is None
    scan(qtbot, window.pages["desk"].search, "https://x.example/v/999999999-D09-20990101-0001?c=ABCD1234", window)
    qtbot.waitUntil(lambda: len(boxes) == 2)
    assert "本机没有办件编号为 999999999-D09-20990101-0001" in boxes[1]
    assert window.pages["desk"].search.text() == ""


def test_a_person_typing_goes_into_the_field(window, qtbot, boxes):
    search = window.pages["desk"].search
    window.code_wedge.clock = KeyClock(0.18)  # a fast typist: 180 ms a key
    search.setFocus()
    qtbot.keyClicks(search, "zunlaojin")
    qtbot.waitUntil(lambda: search.text() == "zunlaojin")  # the last key once the 50 ms hold ran out
    assert not window.code_wedge.holding
    # Fast pairs (rolled keys) and Enter after too few characters are typing as well.
    field = QLineEdit(window)
    field.show()
    field.setFocus()
    got: list[str] = []
    window.code_wedge.scanned.connect(lambda kind, value: got.append(kind))
    window.code_wedge.clock = KeyClock(0.01)
    qtbot.keyClicks(field, "abc")
    qtbot.keyClick(field, Qt.Key_Return)
    assert field.text() == "abc" and got == []


def test_editing_keys_keep_their_order_with_held_ones(window, qtbot, boxes):
    field = QLineEdit(window)
    field.show()
    field.setFocus()
    window.code_wedge.clock = KeyClock(0.01)
    qtbot.keyClicks(field, "abcd")
    qtbot.keyClick(field, Qt.Key_Backspace)  # the held "abcd" first, then the Backspace
    qtbot.keyClicks(field, "x")
    qtbot.waitUntil(lambda: field.text() == "abcx")


def test_an_unknown_code_is_typed_into_the_field_as_any_wedge_would(window, qtbot, boxes):
    field = QLineEdit(window)
    field.show()
    returned: list[str] = []
    field.returnPressed.connect(lambda: returned.append(field.text()))
    scan(qtbot, field, "6901234567892", window)
    assert field.text() == "6901234567892" and returned == ["6901234567892"]
    assert "不是受理回执或身份证号" in window.statusBar().currentMessage()


def test_an_id_scanned_in_the_wizard_fills_the_applicant_search(window, qtbot, boxes):
    wizard = window.pages["desk"].open_item("MZ-01")
    assert isinstance(wizard, ServiceWizard)
    qtbot.waitUntil(wizard.isVisible)
    other = wizard.applicant.agent_name  # the focus somewhere else on the page: the ID still goes to the search
    wizard.applicant.agent_box.setChecked(True)
    scan(qtbot, other, ID, window)
    assert wizard.applicant.search.text() == ID and other.text() == ""
    qtbot.waitUntil(lambda: wizard.applicant.resident is not None)  # the search found the demo's 张桂兰
    assert wizard.applicant.resident.name == "张桂兰"
    save_shot(wizard, "wedge-wizard-id.png")
    # The focus in the agent's ID field: the scanned ID is the agent's.
    agent_id = demo_id_number(1)
    scan(qtbot, wizard.applicant.agent_id, agent_id, window)
    assert wizard.applicant.agent_id.text() == agent_id and wizard.applicant.search.text() == ID
    wizard.close_for_other_worker()


def test_an_id_scanned_on_the_desk_page_finds_the_resident(window, qtbot, boxes):
    search = window.pages["desk"].search
    scan(qtbot, search, ID, window)
    assert search.text() == ""
    residents = window.pages["residents"]
    qtbot.waitUntil(residents.isVisible)
    assert residents.search.text() == ID


def test_an_id_scanned_into_an_id_field_of_another_window_lands_there(window, qtbot, boxes):
    field = QLineEdit(window)
    field.show()
    scan(qtbot, field, ID, window)
    assert field.text() == ID


def test_scans_are_swallowed_while_the_screen_is_locked(window, qtbot, boxes):
    case = a_case(window.services.ctx)
    window.lock_screen()
    dlg = window.lock_dialog
    password = next(w for w in dlg.findChildren(QLineEdit) if w.echoMode() == QLineEdit.Password)
    scan(qtbot, password, verification_url("https://x.example", case.case_number, case.verification_code), window)
    assert password.text() == "" and window.services.case_windows.window_for(case.id) is None


def test_the_device_test_takes_the_next_scan(window, qtbot, boxes):
    """The 设备 page's 测试 for the scanner waits (off the UI thread) for the next scan; the desk does nothing else
    with that scan."""
    import threading
    assert codes.WAITER.attached
    results = []
    t = threading.Thread(target=lambda: results.append(codes.WedgeDriver(wait_s=30).test()))
    t.start()
    qtbot.waitUntil(lambda: codes.WAITER.waiting)
    scan(qtbot, window.pages["desk"].search, ID, window)
    t.join(30)
    (result,) = results
    assert result.ok and f"身份证号 {mask_id(ID)}" in result.message and ID not in result.message
    assert window.pages["desk"].search.text() == "" and not window.pages["residents"].isVisible()
