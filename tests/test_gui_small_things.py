"""Issue 19, point 9: the small things that looked unfinished, as the worker reads them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLabel

from tests.gui_helpers import save_shot

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


def _texts(widget) -> list[str]:
    return [w.text() for w in widget.findChildren(QLabel) if w.isVisible()]


def test_sync_page_names_no_command_beside_the_enrolment_form(window, qtbot):
    window.services.make_sync_client().sync_once()  # not enrolled: the round fails and says why
    window.show_page("sync")
    page = window.pages["sync"]
    qtbot.waitUntil(lambda: page.summary.text() != "")
    qtbot.wait(50)
    shown = "\n".join(_texts(page) + [window.server_label.toolTip()])
    assert "python" not in shown and "main.py" not in shown
    assert page.enroll_box.isVisible() and page.enroll_button.text() == "登记本机"
    assert "尚未登记到区服务器" in shown and "登记本机" in shown


def test_close_of_business_is_read_only_for_the_front_desk(window, qtbot):
    window.show_page("settings")
    page = window.pages["settings"]
    qtbot.waitUntil(lambda: page.close_time.text() != "")
    assert page.close_time.isReadOnly() and not page.save_close.isVisible()
    assert "由站长或管理员修改" in page.close_hint.text()
    # a supervisor changes it (the same rule the deadline service applies: manages_desk)
    window.switch_worker(window.services.auth.login("zhanzhang", "demo1234"))
    page.refresh()
    qtbot.waitUntil(lambda: page.save_close.isVisible())
    assert not page.close_time.isReadOnly() and "由站长" not in page.close_hint.text()


def test_window_titles_name_the_app_once(window, qtbot):
    from ui.first_run_dialog import FirstRunDialog
    from ui.login_dialog import LoginDialog
    app_name = QApplication.applicationDisplayName() or "OneDesk 全科前台"
    login = LoginDialog(lambda *_a: None, "幸福里社区居民委员会")
    lock = LoginDialog(lambda *_a: None, "幸福里社区居民委员会", locked_for=window.services.current_worker)
    first = FirstRunDialog(lambda _d: None)
    for w in (login, lock, first):
        qtbot.addWidget(w)
    titles = {"main": window.windowTitle(), "login": login.windowTitle(), "lock": lock.windowTitle(),
              "first": first.windowTitle()}
    assert titles["login"] == "登录" and titles["lock"] == "屏幕已锁定" and titles["first"] == "首次设置"
    assert "幸福里" in titles["main"]
    for key, title in titles.items():
        # the platform adds " — <display name>" to a title that does not end with it: once, never twice
        assert "OneDesk" not in title and "全科前台" not in title, key
    # no window of the desk sets a title with the app's name in it
    for path in (ROOT / "ui").rglob("*.py"):
        for m in re.finditer(r"setWindowTitle\((.*)\)", path.read_text(encoding="utf-8")):
            assert "OneDesk" not in m.group(1) and app_name not in m.group(1), (path, m.group(1))


@pytest.mark.qt_log_ignore("grabbing the keyboard", "support raise")  # offscreen has no keyboard grab
def test_an_open_drop_down_shows_every_item_and_highlights_the_current_one(window, qtbot):
    window.show_page("desk")
    combo = window.pages["desk"].department
    combo.setCurrentIndex(2)
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(lambda: view.isVisible())
    qtbot.wait(50)
    popup = view.window()
    save_shot(popup, "issue19-open-dropdown.png")
    image = view.viewport().grab().toImage()
    current = view.visualRect(combo.model().index(2, 0))
    other = view.visualRect(combo.model().index(1, 0))
    assert current.isValid() and other.isValid()

    def colours(rect):
        return {QColor(image.pixel(QPoint(x, rect.center().y()))).name() for x in range(rect.left(), rect.right())}
    # the current item: a dark highlight with light text on it; another item: dark text on white
    hi = colours(current)
    assert "#2d5286" in hi and len(hi) > 2, hi
    plain = colours(other)
    assert "#ffffff" in plain and len(plain) > 2, plain  # not a blank box: text is drawn on it
    assert view.model().index(2, 0).data() == combo.currentText()
    combo.hidePopup()


def test_demo_residents_sex_and_birth_follow_their_id_numbers(window, qtbot):
    from forms.identity import validate_id
    from models.resident import Resident
    window.show_page("residents")
    page = window.pages["residents"]
    qtbot.waitUntil(lambda: page.model.rowCount() >= 30)
    with window.services.ctx.sessions() as s:
        residents = s.query(Resident).all()
    assert len(residents) >= 30
    for r in residents:
        info = validate_id(r.id_number)
        assert (r.sex, r.birth_date) == (info.sex, info.birth_date), r.name
    women = {"王淑珍", "张桂兰", "李秀英", "周玉梅", "林小红", "萧子涵", "郭美玲"}
    men = {"刘德福", "陈志强", "赵国庆", "马永福"}
    sexes = {r.name: r.sex for r in residents}
    assert all(sexes[n] == "女" for n in women) and all(sexes[n] == "男" for n in men)
    # what the 居民 page shows: 王淑珍 is 女
    model = page.model
    rows = {model.index(i, 0).data(): model.index(i, 1).data() for i in range(model.rowCount())}
    assert rows["王淑珍"] == "女" and rows["刘德福"] == "男"
