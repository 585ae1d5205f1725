"""Services report what they changed; run_op and the sync runner broadcast it on one signal, and every visible page
that shows that data refreshes itself — no page is refreshed by name."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from app.core.changes import NO_CHANGES, Changes, changes_of
from app.desk.sync.client import SyncResult
from app.desk.worklist import TABS

# ----- the value ---------------------------------------------------------------------------------------------------

def test_changes_merge_and_truth():
    assert not Changes() and not NO_CHANGES
    both = Changes(cases=True) | Changes(residents=True)
    assert both == Changes(cases=True, residents=True) and both
    assert Changes(cases=True) | NO_CHANGES == Changes(cases=True)
    assert all(getattr(Changes.everything(), f.name) for f in dataclasses.fields(Changes))
    with pytest.raises(dataclasses.FrozenInstanceError):
        Changes().cases = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        Changes(True)  # type: ignore[misc]  # keyword only: a flag is never set by position


def test_queued_says_whether_the_outbox_may_have_grown():
    assert Changes(cases=True).queued and Changes(residents=True).queued and Changes(sync_status=True).queued
    assert not Changes(print_jobs=True, settings=True, workers=True, calendar=True, catalog=True).queued


def test_changes_of_reads_a_result_its_attribute_or_a_tuple_of_results():
    assert changes_of(Changes(cases=True)) == Changes(cases=True)
    assert changes_of(SimpleNamespace(changes=Changes(residents=True))) == Changes(residents=True)
    assert changes_of((SimpleNamespace(changes=Changes(print_jobs=True)), "printer")) == Changes(print_jobs=True)
    for plain in (None, [Changes(cases=True)], "text", 3, SimpleNamespace(changes="not changes")):
        assert changes_of(plain) == NO_CHANGES


def test_a_sync_round_reports_what_it_pulled_and_pushed():
    assert not SyncResult().changes  # nothing moved, or the server could not be reached
    assert not SyncResult(error="无法连接区服务器", pending=3).changes
    pulled = SyncResult(pulled=4, online=True).changes
    assert pulled.cases and pulled.residents and pulled.workers and pulled.calendar and pulled.catalog
    assert not pulled.print_jobs  # documents never come from the server
    pushed = SyncResult(pushed=2, online=True).changes
    assert pushed.cases and pushed.sync_status and not pushed.calendar
    assert SyncResult(set_aside=1, online=True).changes.sync_status
    assert SyncResult(snapshot=True, pulled=9).changes == Changes.everything()


# ----- the services ------------------------------------------------------------------------------------------------

def test_desk_services_return_what_they_changed(desk_ctx):
    from app.desk.auth import AuthService
    from app.desk.deadlines import DeadlineService
    from app.desk.printing.service import PrintService
    from app.desk.residents import ResidentInput, ResidentService
    from forms.validate import make_id_number
    auth = AuthService(desk_ctx)
    admin = auth.login("admin", "secret123")
    zhao = ResidentInput(name="赵国强", id_number=make_id_number(70, "男", seed=5), phone="13912340000")
    saved = ResidentService(desk_ctx).create(admin, zhao)
    row, warning = saved  # still unpacks as before
    assert row.name == "赵国强" and warning is None and saved.changes == Changes(residents=True)
    moved = ResidentInput(name="赵国强", id_number="", phone="", address="和平路7号")
    updated = ResidentService(desk_ctx).update(admin, row.id, moved)
    assert updated.changes.residents and updated.row.address == "和平路7号"
    boss = next(w for w, _locked in auth.list_workers() if w.login == "boss")
    assert auth.unlock(admin, boss.id) == Changes(workers=True)
    assert DeadlineService(desk_ctx).set_close_of_business(admin, "17:00") == Changes(settings=True)
    assert PrintService(desk_ctx).save_settings(admin, "a4", None) == Changes(settings=True)


def test_printing_reports_the_to_print_list(demo_ctx):
    from app.desk.auth import AuthService
    from app.desk.printing.service import PrintService
    from models import Case
    desk = AuthService(demo_ctx).login("qiantai", "demo1234")
    with demo_ctx.sessions() as s:
        case_id = s.query(Case.id).filter(Case.state == "pending_materials").first()[0]
    svc = PrintService(demo_ctx)
    doc = svc.produce(desk, case_id, layout="a5")
    assert not changes_of(doc)  # a preview is no print job: the to-print list did not change
    kept = svc.keep_for_later(doc)
    assert changes_of(kept) == Changes(print_jobs=True)
    assert changes_of(svc.record_print(kept, printer="P1", ok=True)) == Changes(print_jobs=True)
    assert svc.record_result(kept.job_id, printer="P1", ok=True) == Changes(print_jobs=True)


# ----- the signal --------------------------------------------------------------------------------------------------

class _Page(QWidget):
    """A widget working with some services, as every page does."""

    def __init__(self, services):
        super().__init__()
        self.services = services


@pytest.mark.gui
def test_run_op_broadcasts_a_results_changes_after_on_done_from_a_child_dialog(qtbot):
    from ui.operations import pending_operations, run_op
    from ui.services import ChangeBus
    bus = ChangeBus()
    page = _Page(SimpleNamespace(change_bus=bus))
    qtbot.addWidget(page)
    dialog = QDialog(page)  # no services of its own: it reaches the page's through its parent
    order: list = []
    bus.changed.connect(lambda ch: order.append(("broadcast", ch)))
    with qtbot.waitSignal(bus.changed, timeout=5000) as blocker:
        run_op(dialog, lambda: SimpleNamespace(changes=Changes(residents=True)), lambda _r: order.append("on_done"))
    assert blocker.args == [Changes(residents=True)]
    assert order == ["on_done", ("broadcast", Changes(residents=True))]
    # a read reports nothing, so nothing is broadcast
    done: list = []
    run_op(dialog, lambda: ["row"], done.append)
    qtbot.waitUntil(lambda: done == [["row"]] and pending_operations() == 0)
    assert len(order) == 2


@pytest.mark.gui
def test_registering_a_resident_in_the_wizard_refreshes_the_visible_residents_page(window, qtbot):
    """The 居民 page is shown; the worker registers someone new from a wizard: the page lists them by itself."""
    from forms.validate import make_id_number
    from tests.gui_helpers import type_text
    from ui.residents.resident_dialog import ResidentDialog
    win = window
    win.show_page("residents")
    residents = win.pages["residents"]
    qtbot.waitUntil(lambda: residents.model.rowCount() == 30)  # the demo's residents
    calls = []
    original = residents.refresh
    residents.refresh = lambda: (calls.append(1), original())[1]
    wiz = win.pages["desk"].open_item("MZ-01")

    def fill_dialog():
        dlg = next((w for w in QApplication.topLevelWidgets() if isinstance(w, ResidentDialog) and w.isVisible()), None)
        if dlg is None:
            QTimer.singleShot(30, fill_dialog)
            return
        type_text(qtbot, dlg.name, "钱志明")
        qtbot.keyClicks(dlg.id_number, make_id_number(82, "男", seed=11))
        qtbot.keyClicks(dlg.phone, "13912340000")
        qtbot.keyClick(dlg.phone, Qt.Key_Return)
    QTimer.singleShot(50, fill_dialog)
    qtbot.mouseClick(wiz.applicant.new_button, Qt.LeftButton)  # the dialog runs until saved
    qtbot.waitUntil(lambda: wiz.applicant.resident is not None)
    qtbot.waitUntil(lambda: any(residents.model.row_at(i).name == "钱志明" for i in range(residents.model.rowCount())))
    assert residents.model.rowCount() == 31 and calls == [1]  # refreshed once, by the change bus


@pytest.mark.gui
def test_a_hidden_page_waits_for_its_next_show(window, qtbot):
    win = window
    worklist = win.pages["worklist"]
    win.show_page("residents")
    calls = []
    original = worklist.refresh
    worklist.refresh = lambda: (calls.append(1), original())[1]
    win.services.change_bus.changed.emit(Changes(cases=True))
    assert calls == []  # not shown: nothing re-read for nobody
    win.show_page("worklist")
    assert calls == [1]  # the show re-reads
    win.services.change_bus.changed.emit(Changes(print_jobs=True))
    assert calls == [1]  # not data this page shows
    win.services.change_bus.changed.emit(Changes(cases=True))
    assert calls == [1, 1]


class _StubSyncClient:
    """Stands in for SyncClient on the sync thread: when armed, one round "pulls" a reply to an overdue case
    (the colleague answered on another desk) by writing it as the desk applier would."""

    def __init__(self, ctx, case_id):
        self.ctx, self.case_id, self.armed = ctx, case_id, False

    def sync_once(self) -> SyncResult:
        if not self.armed:
            return SyncResult(online=True, next_sync_in_s=3600)
        self.armed = False
        from models import Case
        with self.ctx.sessions.begin() as s:
            s.get(Case, self.case_id).state = "replied"
        return SyncResult(pulled=1, online=True, next_sync_in_s=3600)

    def status(self):
        from app.desk.sync.client import sync_status
        return sync_status(self.ctx)

    def close(self) -> None:
        pass


@pytest.mark.gui
def test_a_sync_rounds_changes_refresh_the_worklist_and_the_status_bar(styled_app, qtbot, demo_ctx):
    from ui.main_window import MainWindow
    from ui.services import Services
    from ui.worklist.worklist_page import WorklistPage
    services = Services(demo_ctx)
    services.current_worker = services.auth.login("qiantai", "demo1234")
    overdue = services.worklist.page("overdue", services.current_worker)
    # Two demo cases are overdue; after 17:30 China time the one due today is overdue too.
    n = len(overdue)
    assert n in (2, 3)
    client = _StubSyncClient(demo_ctx, overdue[0].id)
    services.make_sync_client = lambda: client
    win = MainWindow(services)  # with the real sync thread, talking to the stub
    qtbot.addWidget(win)
    win.show()
    try:
        win.show_page("worklist")
        page: WorklistPage = win.pages["worklist"]
        page.tabs.setCurrentIndex([key for key, _label in TABS].index("overdue"))
        model = page.models["overdue"]
        qtbot.waitUntil(lambda: model.rowCount() == n and f"已超期 {n} 件" in win.reminder_label.text())
        client.armed = True
        with qtbot.waitSignal(win.sync_runner.round_finished, timeout=10000):
            win.request_sync()
        qtbot.waitUntil(lambda: model.rowCount() == n - 1, timeout=5000)
        assert model.row_at(0).id == overdue[1].id
        assert page.summary.text() == f"共 {n - 1} 件"
        qtbot.waitUntil(lambda: f"已超期 {n - 1} 件" in win.reminder_label.text(), timeout=5000)
    finally:
        win.sync_runner.shutdown()


@pytest.mark.gui
def test_a_case_action_in_the_case_window_refreshes_the_worklist_and_the_status_bar(window, qtbot):
    """Withdrawing an overdue case from its window: the 待办 list behind it and the reminder counts follow."""
    from tests.gui_helpers import type_text
    from tests.test_gui_lifecycle import in_dialog, open_from_tab
    from ui.cases.action_dialogs import ReasonDialog
    win = window
    n = len(win.services.worklist.page("overdue", win.services.current_worker))  # 3 after 17:30 China time
    qtbot.waitUntil(lambda: f"已超期 {n} 件" in win.reminder_label.text())
    page = win.pages["worklist"]
    model = page.models["overdue"]
    first = win.services.worklist.page("overdue", win.services.current_worker)[0].id
    dlg = open_from_tab(qtbot, win, "overdue", first)
    qtbot.waitUntil(lambda: model.rowCount() == n)
    calls = []
    original = page.refresh
    page.refresh = lambda: (calls.append(1), original())[1]

    def withdraw(d):
        type_text(qtbot, d.reason, "居民主动撤回申请")
        qtbot.mouseClick(d.buttons.buttons()[0], Qt.LeftButton)
    in_dialog(ReasonDialog, withdraw)
    qtbot.mouseClick(dlg.buttons["withdraw"], Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.detail.summary.state == "withdrawn")
    qtbot.waitUntil(lambda: model.rowCount() == n - 1 and model.row_at(0).id != first)
    qtbot.waitUntil(lambda: f"已超期 {n - 1} 件" in win.reminder_label.text())
    assert calls == [1]  # once, by the change bus
