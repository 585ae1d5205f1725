"""Nothing unsynced is ever deleted: the outbox survives a worker switch, closing the app, a restart and a schema
upgrade, and its per-device counter stays gap-free across all of them (issue 6, point 9)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from app.cli.main import main
from app.desk.auth import AuthService
from app.desk.cases import CaseService
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, downgrade, make_engine
from models import OutboxEntry
from tests.sync_helpers import ITEM


def _outbox(ctx: AppContext) -> list[tuple[int, str, str, str]]:
    with ctx.sessions() as s:
        return [(e.mid, str(e.mutation_id), e.name, e.status)
                for e in s.scalars(select(OutboxEntry).order_by(OutboxEntry.mid))]


@pytest.mark.gui
def test_outbox_survives_worker_switch_close_and_restart(styled_app, qtbot, desk_ctx):
    from ui.main_window import MainWindow
    from ui.services import Services

    services = Services(desk_ctx)
    services.current_worker = services.auth.login("desk", "deskpass")
    services.cases.create_draft(services.current_worker, ITEM, None)
    before = _outbox(desk_ctx)
    assert [m for m, *_ in before] == [1, 2, 3] and all(st == "pending" for *_, st in before)

    win = MainWindow(services, start_sync=False)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    qtbot.keyClick(win.nav, Qt.Key_L, Qt.ControlModifier)  # lock, and another worker takes over
    qtbot.waitUntil(lambda: win.lock_dialog is not None)
    dlg = win.lock_dialog
    dlg.login.clear()
    qtbot.keyClicks(dlg.login, "boss")
    qtbot.keyClicks(dlg.password, "bosspass")
    with qtbot.waitSignal(win.worker_changed, timeout=5000):
        qtbot.keyClick(dlg.password, Qt.Key_Return)
    assert _outbox(desk_ctx) == before
    win.close()
    assert _outbox(desk_ctx) == before

    folder = desk_ctx.data_dir
    desk_ctx.close()  # the app is gone; a new process opens the same folder
    again = AppContext.open(folder)
    try:
        assert _outbox(again) == before
        boss = AuthService(again).login("boss", "bosspass")
        CaseService(again).create_draft(boss, ITEM, None)
        after = _outbox(again)
        assert after[:3] == before and after[3][0] == 4  # the counter carries on without a gap
    finally:
        again.close()


def test_outbox_survives_a_schema_upgrade(desk_ctx):
    actor = AuthService(desk_ctx).login("desk", "deskpass")
    CaseService(desk_ctx).create_draft(actor, ITEM, None)
    before = _outbox(desk_ctx)
    folder = desk_ctx.data_dir
    desk_ctx.close()
    engine = make_engine(folder / DB_FILENAME)
    downgrade(engine, "0002")  # a desk still on the previous release
    engine.dispose()
    assert main(["--data-dir", str(folder), "db", "upgrade"]) == 0
    again = AppContext.open(folder)
    try:
        assert _outbox(again) == before
    finally:
        again.close()
