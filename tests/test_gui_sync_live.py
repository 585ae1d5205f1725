"""The desk app against a real district server process over HTTPS (the district's own CA from ``server tls init``):
enrol from 设置 → 同步 with the CA file, watch the status bar go online, lose the server (offline, the change waits
in the outbox), get it back (pushed, online again)."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select
from stdnum.cn import ric

from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.residents import ResidentInput
from app.desk.setup import FirstRunInput, initialise_desk
from app.desk.sync.enroll import tls_verify
from app.server import admin
from app.server.tls import init_tls
from models import Worker
from tests.gui_helpers import answer_next_message_box, save_shot
from tests.sync_helpers import COMMITTEE, server_counts, start_server, stop_server, wait_ready

pytest_plugins = ("tests.server_fixtures",)

pytestmark = [pytest.mark.gui, pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def live_desk(tmp_path, template_db):
    folder = tmp_path / "desk"
    folder.mkdir()
    shutil.copyfile(template_db, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    initialise_desk(ctx, FirstRunInput(committee_name="幸福里社区居民委员会", committee_code=COMMITTEE,
                                       admin_login="admin", admin_name="管理员", admin_password="secret123"))
    yield ctx
    ctx.close()


def test_enrol_from_the_sync_page_then_offline_and_back(styled_app, qtbot, live_desk, seeded, pg_url, tmp_path):
    from ui.main_window import MainWindow
    from ui.services import Services

    tls = init_tls(tmp_path / "tls", "localhost", ["127.0.0.1"])
    https = ("--cert", str(tls.server_cert), "--key", str(tls.server_key))
    proc, port = start_server(tmp_path, pg_url, *https)
    url = f"https://127.0.0.1:{port}"
    services = Services(live_desk)
    services.current_worker = services.auth.login("admin", "secret123")
    win = MainWindow(services)  # with the real background sync thread
    qtbot.addWidget(win)
    win.show()
    try:
        wait_ready(url, proc, verify=tls_verify(tls.ca_cert))
        assert win.server_label.text() == "未配置区服务器"
        win.show_page("sync")
        page = win.pages["sync"]
        qtbot.waitUntil(page.enroll_box.isVisible)
        code, _ = admin.create_enroll_code(seeded, COMMITTEE)
        qtbot.keyClicks(page.server_url, url)
        qtbot.keyClicks(page.code, code)
        qtbot.keyClicks(page.ca_file, str(tls.ca_cert))
        seen = answer_next_message_box()
        qtbot.mouseClick(page.enroll_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: bool(seen), timeout=20000)
        assert "已登记" in seen[0]

        # The first round brings the district's accounts down; the status bar says online.
        qtbot.waitUntil(lambda: win.server_label.text().startswith("区服务器：在线"), timeout=30000)
        assert "待上传 0" in win.server_label.text()
        with live_desk.sessions() as s:
            assert set(s.scalars(select(Worker.login))) >= {"desk", "mz", "boss"}
        qtbot.waitUntil(lambda: not page.enroll_box.isVisible(), timeout=10000)
        assert page.sync_button.isEnabled() and page.server.text() == url

        # The local first-run admin is not a district account: its change is set aside with the reason shown.
        qian_id = "32030219400312123" + ric.calc_check_digit("320302194003121230")
        qian = ResidentInput(name="钱芳", id_number=qian_id, phone="13912345678", address="和平路5号")
        services.residents.create(services.current_worker, qian)
        qtbot.mouseClick(page.sync_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: "搁置 1" in win.server_label.text(), timeout=30000)
        qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10000)
        assert "未在区服务器登记" in page.table.item(0, 4).text()
        save_shot(win, "sync-set-aside.png")

        # A district account (its password hash came down) logs in on this desk.
        services.current_worker = services.auth.login("desk", "deskpass")

        # The server goes away: the desk keeps working, the change waits, the bar says offline.
        stop_server(proc)
        services.residents.create(services.current_worker,
                                  ResidentInput(name="赵丽华", id_number="11010519491231002X", phone="13800138000",
                                                address="幸福里一区3号楼"))
        qtbot.mouseClick(page.sync_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: "离线" in win.server_label.text(), timeout=30000)
        assert "待上传 1" in win.server_label.text()
        save_shot(win, "sync-offline.png")
        qtbot.waitUntil(lambda: "离线" in page.summary.text(), timeout=10000)
        assert page.last_error.text()  # the reason, in Chinese
        assert "赵丽华" not in win.server_label.text() + page.summary.text()

        # The server is back on the same address: one click pushes the change.
        proc, _ = start_server(tmp_path, pg_url, *https, port=port)
        wait_ready(url, proc, verify=tls_verify(tls.ca_cert))
        qtbot.mouseClick(page.sync_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: win.server_label.text().startswith("区服务器：在线")
                        and "待上传 0" in win.server_label.text(), timeout=30000)
        assert server_counts(seeded)["resident"] == 1  # 赵丽华; the set-aside change had no effect there
    finally:
        win.close()
        stop_server(proc)
