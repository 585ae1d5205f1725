"""What a desk shows when the district server sets its work aside, against a real server process (issue 12):

- finding 4: a desk whose command was set aside takes the server's state of the case (it never keeps a state
  the server did not accept), while the 同步 page still lists what was set aside and why;
- finding 9: the colleague whose reply lost to a concurrent one reads it in their own worklist (未生效), with
  what they wrote, and opens the case from there.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.server import admin
from tests.live_world import LiveDesk, LiveServer, history
from tests.sync_helpers import COMMITTEE, ITEM, PASSWORDS

pytest_plugins = ("tests.server_fixtures",)

pytestmark = [pytest.mark.gui, pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def server(pg_url, tmp_path, password_hashes):
    live = LiveServer(pg_url, tmp_path)
    try:
        live.create(password_hashes)
        live.start()
        yield live
    finally:
        live.drop_all()


@pytest.fixture
def desks(server, tmp_path, template_db):
    made: dict[str, LiveDesk] = {}

    def make(name: str) -> LiveDesk:
        made[name] = LiveDesk.new(name, tmp_path / f"desk-{name}", template_db, server)
        return made[name]
    yield make
    for desk in made.values():
        desk.close()


def _forwarded(desk: LiveDesk, assignee: str | None = "mz"):
    w = desk.worker("desk")
    cid = desk.cases.create_draft(w, ITEM, None)
    desk.cases.submit(w, cid, {"x": 1}, {"身份证": True})
    desk.cases.forward(w, cid, assignee_id=desk.worker(assignee).id if assignee else None, queue="民政",
                       note="请审核")
    return cid


def _services(desk: LiveDesk, login: str):
    from ui.services import Services
    services = Services(desk.ctx)
    services.current_worker = services.auth.login(login, PASSWORDS[login])
    return services


def test_a_set_aside_reply_leaves_the_desk_with_the_servers_state(server, desks, qtbot, styled_app):
    from ui.sync.sync_health_page import SyncHealthPage
    a, b = desks("A"), desks("B")
    cid = _forwarded(a)
    a.sync()
    b.sync()
    b.cases.reply(b.worker("mz"), cid, "approved", "符合条件，同意发放")
    assert b.cases.get(cid).summary.state == "replied"
    db = server.open_db()
    try:
        admin.set_worker_active(db, COMMITTEE, "mz", False)  # the colleague left before desk B synced
    finally:
        db.close()
    result = b.sync()
    assert result.set_aside == 1
    db = server.open_db()
    try:
        on_server = history(db.sessions, [cid])
    finally:
        db.close()
    assert on_server[cid][0] == "forwarded" and len(on_server[cid][-1]) == 3
    for _ in range(3):
        assert history(b.ctx.sessions, [cid]) == on_server  # 已转办, the server's three events: at once and after
        b.sync()
    a.sync()
    assert history(a.ctx.sessions, [cid]) == on_server
    assert b.cases.get(cid).summary.state_label == "已转办"

    page = SyncHealthPage(_services(b, "desk"), request_sync=lambda: None)  # what was set aside, and why
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10000)
    assert page.table.item(0, 1).text() == "答复"
    assert "操作人账号已被停用" in page.table.item(0, 4).text()
    assert page.table.item(0, 5).text() == "符合条件，同意发放"


def test_the_author_of_a_losing_reply_sees_it_in_their_own_worklist(server, desks, qtbot, styled_app):
    from ui.cases.case_dialog import CaseDialog
    from ui.main_window import MainWindow
    a, b, c = desks("A"), desks("B"), desks("C")
    cid = _forwarded(a, assignee=None)  # to the 民政 queue: either colleague may answer
    for d in (a, b, c):
        d.sync()
    b.cases.reply(b.worker("mz"), cid, "approved", "同意，已核实")
    c.cases.reply(c.worker("mz2"), cid, "need_more", "请补充户口本复印件")  # 钱进, offline at the same time
    b.sync()
    assert c.sync().set_aside == 1  # the server had B's reply first; C's became a note on the case
    number = c.cases.get(cid).summary.case_number

    services = _services(c, "mz2")
    win = MainWindow(services, start_sync=False)
    qtbot.addWidget(win)
    win.show()
    win.show_page("worklist")
    page = win.pages["worklist"]
    page.tabs.setCurrentIndex([page.tabs.tabText(i) for i in range(page.tabs.count())].index("未生效"))
    assert page.current_key() == "unapplied"
    model, view = page.models["unapplied"], page.views["unapplied"]
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=10000)
    cells = [model.index(0, col).data() for col in range(model.columnCount())]
    assert cells[1:5] == ["答复未生效", number, ITEM.name, "请补充户口本复印件"]
    assert "已作为备注" in cells[5]
    pos = view.visualRect(model.index(0, 2)).center()
    qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=pos)  # a double click as the window system sends it
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=pos)
    qtbot.mouseDClick(view.viewport(), Qt.LeftButton, pos=pos)

    def opened():
        return [w for w in QApplication.topLevelWidgets() if isinstance(w, CaseDialog) and w.isVisible()]
    qtbot.waitUntil(lambda: bool(opened()) and opened()[0].detail is not None, timeout=10000)
    dialog = opened()[0]
    assert dialog.case_id == cid and dialog.detail.summary.state == "replied"
    assert any("请补充户口本复印件" in e.note for e in dialog.detail.events)  # the losing text, kept on the case
    dialog.close()
    qtbot.waitUntil(lambda: not opened())
    view.setFocus()
    view.setCurrentIndex(model.index(0, 0))
    qtbot.keyClick(view, Qt.Key_Return)  # from the keyboard as well
    qtbot.waitUntil(lambda: bool(opened()) and opened()[0].case_id == cid, timeout=10000)
    opened()[0].close()

    mz = _services(b, "mz")  # the colleague whose reply took effect has nothing there
    assert mz.worklist.unapplied(mz.current_worker) == []
    win.close()
