"""The main window's 发现新版本 (issue 17): an administrator sees the version the district published for this
desk's platform with a 下载 button that downloads off the UI thread and says where the verified file is; every
other role sees nothing."""

from __future__ import annotations

import httpx
import pytest
from PySide6.QtCore import Qt
from sqlalchemy import text

from app.core.releases import Platform
from app.core.wire import ReleaseInfo
from app.desk.updates import UPDATES_DIRNAME, UpdateService, remember_releases
from app.server import admin
from app.server.releases import publish_release, release_path
from app.version import VERSION
from models import utcnow
from tests.sync_helpers import COMMITTEE
from tests.test_releases import PAYLOAD, _package

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.gui


def _newer() -> str:
    major = int(VERSION.split(".")[0])
    return f"{major + 1}.0.0.0"


def _announce(ctx, version: str) -> None:
    """As a pull would have left it: a package for each platform, so the test holds on Windows desks too."""
    rows = [ReleaseInfo(platform=p, version=version, sha256="b" * 64, size=1234, published_at=utcnow(),
                        file_name=f"onedesk_{version}.{'deb' if p == Platform.LINUX_DEB else 'msi'}").wire()
            for p in Platform]
    with ctx.sessions.begin() as s:
        remember_releases(s, rows)


def _window(qtbot, services, login: str, password: str = "demo1234"):
    from ui.main_window import MainWindow
    services.current_worker = services.auth.login(login, password)
    win = MainWindow(services, start_sync=False)
    qtbot.addWidget(win)
    win.show()
    return win


def _settled(qtbot, win) -> None:
    """The notice has asked the service (once more, so the answer is in whatever the start-up timer did)."""
    from ui.operations import pending_operations
    win.update_notice.refresh()
    qtbot.waitUntil(lambda: pending_operations() == 0)


def test_an_administrator_sees_the_new_version(styled_app, qtbot, demo_ctx):
    from ui.services import Services
    _announce(demo_ctx, _newer())
    win = _window(qtbot, Services(demo_ctx), "admin")
    notice = win.update_notice
    qtbot.waitUntil(notice.isVisible)
    assert notice.label.text() == f"发现新版本 {_newer()}"
    assert notice.download_button.text() == "下载" and notice.download_button.isEnabled()
    assert VERSION in notice.label.toolTip()
    # another worker takes over the desk: the notice goes
    win.switch_worker(win.services.auth.login("qiantai", "demo1234"))
    qtbot.waitUntil(lambda: not notice.isVisible())


@pytest.mark.parametrize("login", ["qiantai", "zhanzhang", "minzheng"])
def test_other_roles_see_nothing(styled_app, qtbot, demo_ctx, login):
    from ui.services import Services
    _announce(demo_ctx, _newer())
    win = _window(qtbot, Services(demo_ctx), login)
    _settled(qtbot, win)
    assert not win.update_notice.isVisible()


def test_nothing_shows_when_the_desk_runs_the_newest(styled_app, qtbot, demo_ctx):
    from ui.services import Services
    _announce(demo_ctx, VERSION)
    win = _window(qtbot, Services(demo_ctx), "admin")
    _settled(qtbot, win)
    assert not win.update_notice.isVisible()


# ----- 下载 against the district server ----------------------------------------------------------------------------
@pytest.fixture
def admin_desk(seeded, password_hashes, make_desk, server_app, tmp_path):
    """A desk enrolled and synced after a package newer than this program was published, with an administrator."""
    with seeded.engine.begin() as conn:
        conn.execute(text("TRUNCATE server_release"))  # not among the tables every server test empties
    admin.add_worker(seeded, COMMITTEE, "root", "管理员甲", roles=["admin"], password_hash=password_hashes["boss"])
    published = publish_release(seeded, server_app.state.files,
                                _package(tmp_path / "in", f"cn.onedesk.desk_{_newer()}_amd64.deb"))
    desk = make_desk("A")
    yield desk, published.release
    with seeded.engine.begin() as conn:
        conn.execute(text("TRUNCATE server_release"))


def _desk_window(qtbot, desk):
    from ui.services import Services
    services = Services(desk.ctx)
    http = httpx.Client(transport=desk.transport, base_url="http://testserver")
    services.updates = UpdateService(desk.ctx, platform=Platform.LINUX_DEB, http=http)
    win = _window(qtbot, services, "root", "bosspass")
    qtbot.waitUntil(win.update_notice.isVisible)
    return win


@pytest.mark.server
def test_download_shows_where_the_verified_package_is(styled_app, qtbot, admin_desk):
    desk, release = admin_desk
    win = _desk_window(qtbot, desk)
    notice = win.update_notice
    with qtbot.waitSignal(notice.downloaded, timeout=20000) as got:
        qtbot.mouseClick(notice.download_button, Qt.LeftButton)
    path = got.args[0].path
    assert path == desk.ctx.data_dir / UPDATES_DIRNAME / release.file_name and path.read_bytes() == PAYLOAD
    assert str(path) in notice.message_box.text() and "不会自动安装" in notice.message_box.text()
    assert notice.label.text() == f"发现新版本 {_newer()}（已下载）" and notice.download_button.isEnabled()
    notice.message_box.close()


@pytest.mark.server
def test_a_tampered_download_is_refused_on_screen(styled_app, qtbot, admin_desk, server_app):
    desk, release = admin_desk
    release_path(server_app.state.files, release.sha256).write_bytes(b"X" + PAYLOAD[1:])
    win = _desk_window(qtbot, desk)
    notice = win.update_notice
    with qtbot.waitSignal(notice.download_failed, timeout=20000) as failed:
        qtbot.mouseClick(notice.download_button, Qt.LeftButton)
    assert failed.args[0].startswith("下载的安装包校验失败")
    assert notice.message_box.text() == failed.args[0] and notice.message_box.isVisible()
    folder = desk.ctx.data_dir / UPDATES_DIRNAME
    assert not folder.exists() or list(folder.iterdir()) == []
    notice.message_box.close()
