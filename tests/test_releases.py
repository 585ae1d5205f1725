"""Updates from the district (issue 17): ``server release publish`` keeps a package with its sha256, every pull
names the newest one per platform, an administrator's desk downloads it with its device token and keeps it only
once its size and sha256 match; a tampered package is deleted and leaves nothing in ``updates/``."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from app.cli.main import main
from app.core import releases as rules
from app.core.releases import Platform, ReleaseError
from app.core.wire import ReleaseInfo
from app.desk.auth import PermissionDenied
from app.desk.updates import UPDATES_DIRNAME, UpdateError, UpdateService, known_releases, remember_releases
from app.server import admin
from app.server.releases import RELEASES_DIRNAME, list_releases, publish_release, release_path
from app.version import VERSION
from models import KnownRelease, utcnow
from models.server import ServerRelease
from tests.live_world import LiveDesk, LiveServer
from tests.sync_helpers import COMMITTEE

pytest_plugins = ("tests.server_fixtures",)

DEB = "cn.onedesk.desk_0.18.0.0_amd64.deb"
PAYLOAD = b"!<arch>\n" + bytes(range(256)) * 400  # ~100 KB standing in for a frozen app


@pytest.fixture
def no_releases(server_db):
    """server_release is not among the tables every server test empties: empty it before and after."""
    def empty():
        with server_db.engine.begin() as conn:
            conn.execute(text("TRUNCATE server_release"))
    empty()
    yield server_db
    empty()


def _package(folder: Path, name: str = DEB, content: bytes = PAYLOAD) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


def _cli(pg_url, tmp_path, *argv) -> int:
    return main(["--data-dir", str(tmp_path / "srv"), "server", *argv, "--db", pg_url])


def _stored_files(root: Path) -> list[Path]:
    folder = root / RELEASES_DIRNAME
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _next_version(bump: int = 1) -> str:
    major, *_ = (int(p) for p in VERSION.split("."))
    return f"{major + bump}.0.0.0"


# ----- the rules ------------------------------------------------------------------------------------------------
def test_rules_of_a_package():
    assert rules.platform_of_file("a_1.0.0.0.DEB") is Platform.LINUX_DEB
    assert rules.platform_of_file("OneDesk-1.0.0.0.msi") is Platform.WINDOWS_MSI
    for name in ("onedesk.zip", "setup.exe", "deb", "x.deb.txt"):
        with pytest.raises(ReleaseError, match=r"安装包应为 \.deb"):
            rules.platform_of_file(name)
    assert rules.desk_platform("win32") is Platform.WINDOWS_MSI
    assert rules.desk_platform("linux") is Platform.LINUX_DEB
    assert rules.desk_platform("darwin") is None
    assert rules.normal_version("0.18") == "0.18.0.0" and rules.normal_version("00.18.0.01") == "0.18.0.1"
    for bad in ("", "1.2.x", "1.2.3.4.5", "-1.0", "v1.0", "1..2"):
        with pytest.raises(ReleaseError, match="四段数字"):
            rules.normal_version(bad)
    assert rules.version_in_file_name(DEB) == "0.18.0.0"
    for name in ("onedesk_amd64.deb", "onedesk_0.18.0.0_to_0.19.0.0.deb", "onedesk_0.18.deb"):
        with pytest.raises(ReleaseError, match="--version"):
            rules.version_in_file_name(name)
    assert rules.is_newer("0.18.0.0", "0.17.9.9") and rules.is_newer("0.10.0.0", "0.9.0.0")
    assert not rules.is_newer("0.17.0.0", "0.17.0.0") and not rules.is_newer("bad", "0.1")
    assert rules.sort_key("0.10.0.0") > rules.sort_key("0.9.0.0")
    for name in ("my package_1.0.0.0.deb", ".hidden_1.0.0.0.deb", "a/b_1.0.0.0.deb", "x" * 200 + ".deb"):
        with pytest.raises(ReleaseError, match="文件名只能包含"):
            rules.check_file_name(name, Platform.LINUX_DEB)
    with pytest.raises(ReleaseError):
        rules.check_file_name("setup_1.0.0.0.msi", Platform.LINUX_DEB)  # a name of the other platform


def _info(platform="linux-deb", version="0.18.0.0", **kw) -> ReleaseInfo:
    values = {"sha256": "a" * 64, "size": 10, "file_name": f"p_{version}.deb" if platform == "linux-deb"
              else f"p_{version}.msi", "published_at": utcnow(), **kw}
    return ReleaseInfo(platform=platform, version=version, **values)


def test_which_update_a_desk_is_offered():
    known = [_info(version="0.18.0.0"), _info(version="0.19.0.0"), _info("windows-msi", "0.20.0.0")]
    assert rules.update_for(known, Platform.LINUX_DEB, "0.17.0.0").version == "0.19.0.0"
    assert rules.update_for(known, Platform.WINDOWS_MSI, "0.17.0.0").version == "0.20.0.0"
    assert rules.update_for(known, Platform.LINUX_DEB, "0.19.0.0") is None  # not newer than what runs
    assert rules.update_for(known, None, "0.1.0.0") is None  # a platform without packages
    assert rules.release_problem(known[0]) is None
    for bad in (_info(platform="macos-dmg"), _info(version="0.18"), _info(sha256="x"), _info(size=0),
                _info(file_name="../../evil_0.18.0.0.deb"), _info(file_name="p_0.18.0.0.msi")):
        assert rules.release_problem(bad), bad


def test_the_desk_keeps_what_the_pull_names(ctx):
    good = _info(version="0.19.0.0").wire()
    with ctx.sessions.begin() as s:
        remember_releases(s, [good, _info(version="0.18.0.0").wire(), {"platform": "linux-deb"},
                              _info(file_name="../x_0.20.0.0.deb", version="0.20.0.0").wire()])
    with ctx.sessions() as s:
        assert [(r.platform, r.version) for r in known_releases(s)] == [("linux-deb", "0.19.0.0")]
    with ctx.sessions.begin() as s:
        remember_releases(s, None)  # a server that predates releases: what is known stays
    with ctx.sessions() as s:
        assert len(known_releases(s)) == 1
    with ctx.sessions.begin() as s:
        remember_releases(s, [])  # none published any more
    with ctx.sessions() as s:
        assert s.scalars(select(KnownRelease)).all() == []


# ----- publish ----------------------------------------------------------------------------------------------------
@pytest.mark.server
def test_publish_stores_the_package_with_its_hash(no_releases, pg_url, tmp_path, capsys):
    deb = _package(tmp_path / "in")
    msi = _package(tmp_path / "in", "OneDesk-setup.msi", PAYLOAD[::-1])
    assert _cli(pg_url, tmp_path, "release", "publish", str(deb)) == 0
    assert "已发布 linux-deb 安装包 0.18.0.0" in capsys.readouterr().out
    assert _cli(pg_url, tmp_path, "release", "publish", str(msi), "--version", "0.18") == 0
    assert _cli(pg_url, tmp_path, "release", "list") == 0
    assert "共 2 个安装包" in capsys.readouterr().out
    rows = {r.platform: r for r in list_releases(no_releases)}
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    r = rows["linux-deb"]
    assert (r.version, r.sha256, r.size, r.file_name) == ("0.18.0.0", sha, len(PAYLOAD), DEB)
    assert r.published_at is not None and rows["windows-msi"].version == "0.18.0.0"
    root = tmp_path / "srv" / "server-attachments"  # the attachments' folder, as `server` uses it
    stored = root / RELEASES_DIRNAME / sha[:2] / sha
    assert stored.read_bytes() == PAYLOAD
    assert len(_stored_files(root)) == 2  # no temporary copy left behind


@pytest.mark.server
def test_the_same_package_again_is_a_no_op_and_other_bytes_are_refused(no_releases, pg_url, tmp_path, capsys):
    """Idempotent when the bytes are identical; refused (exit 2, nothing stored) when a published version's
    file would change under the desks that learned its hash."""
    deb = _package(tmp_path / "in")
    assert _cli(pg_url, tmp_path, "release", "publish", str(deb)) == 0
    root = tmp_path / "srv" / "server-attachments"
    before = _stored_files(root)
    assert _cli(pg_url, tmp_path, "release", "publish", str(deb)) == 0
    assert "内容相同，未重复保存" in capsys.readouterr().out
    other = _package(tmp_path / "other", DEB, PAYLOAD + b"changed")
    assert _cli(pg_url, tmp_path, "release", "publish", str(other)) == 2
    err = capsys.readouterr().err
    assert "已发布且内容不同" in err and "Traceback" not in err
    assert len(list_releases(no_releases)) == 1 and _stored_files(root) == before
    assert before[0].read_bytes() == PAYLOAD
    before[0].unlink()  # lost from the folder: publishing the same file again puts it back
    assert _cli(pg_url, tmp_path, "release", "publish", str(deb)) == 0
    assert before[0].read_bytes() == PAYLOAD


@pytest.mark.server
@pytest.mark.parametrize(("name", "content", "extra", "message"), [
    ("missing", None, [], "找不到安装包文件"),
    ("cn.onedesk.desk_0.18.0.0_amd64.deb", b"", [], "安装包文件是空的"),
    ("onedesk_0.18.0.0.zip", PAYLOAD, [], "安装包应为 .deb 文件"),
    ("onedesk_0.18.0.0.exe", PAYLOAD, [], "安装包应为 .deb 文件"),
    ("onedesk.deb", PAYLOAD, ["--version", "0.18.x"], "版本号应为四段数字"),
    ("onedesk.deb", PAYLOAD, ["--version", "1.2.3.4.5"], "版本号应为四段数字"),
    ("onedesk.deb", PAYLOAD, [], "请用 --version 指定"),
    ("my onedesk_0.18.0.0.deb", PAYLOAD, [], "文件名只能包含"),
    ("folder.deb", "dir", [], "找不到安装包文件"),
])
def test_a_bad_package_is_refused_and_nothing_is_stored(no_releases, pg_url, tmp_path, capsys, name, content,
                                                         extra, message):
    path = tmp_path / "in" / name
    path.parent.mkdir()
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    assert _cli(pg_url, tmp_path, "release", "publish", str(path), *extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert list_releases(no_releases) == []
    assert _stored_files(tmp_path / "srv" / "server-attachments") == []


# ----- a desk learns, downloads, verifies ---------------------------------------------------------------------
@pytest.fixture
def desk_with_admin(seeded, password_hashes, make_desk, no_releases):
    """A synced desk with the district's accounts plus an administrator (password bosspass)."""
    admin.add_worker(seeded, COMMITTEE, "root", "管理员甲", roles=["admin"], password_hash=password_hashes["boss"])
    return make_desk("A")


def _service(desk, **kw) -> UpdateService:
    http = httpx.Client(transport=desk.transport, base_url="http://testserver")  # the desk's own link to the app
    return UpdateService(desk.ctx, platform=Platform.LINUX_DEB, current="0.17.0.0", http=http, **kw)


@pytest.mark.server
def test_a_desk_learns_the_newest_version_on_sync_and_downloads_it_verified(desk_with_admin, server_app, tmp_path):
    desk, store = desk_with_admin, server_app.state.files
    publish_release(server_app.state.db, store, _package(tmp_path / "in"))
    newer = _package(tmp_path / "in", "cn.onedesk.desk_0.19.0.0_amd64.deb", PAYLOAD + b"19")
    publish_release(server_app.state.db, store, newer)
    publish_release(server_app.state.db, store, _package(tmp_path / "in", "OneDesk_0.30.0.0.msi"))
    assert desk.sync.sync_once().ok
    with desk.ctx.sessions() as s:
        assert {r.platform: r.version for r in known_releases(s)} == {"linux-deb": "0.19.0.0",
                                                                      "windows-msi": "0.30.0.0"}
    service, root = _service(desk), desk.worker("root")
    update = service.available(root)
    assert update is not None and (update.version, update.current, update.downloaded) == ("0.19.0.0", "0.17.0.0",
                                                                                         None)
    assert service.available(desk.worker("desk")) is None  # front desk: nothing to see
    assert service.available(desk.worker("boss")) is None  # a supervisor neither: installing is the admin's
    with pytest.raises(PermissionDenied):
        service.download(desk.worker("desk"))
    got = service.download(root)
    assert got.path == desk.ctx.data_dir / UPDATES_DIRNAME / newer.name and got.version == "0.19.0.0"
    assert got.path.read_bytes() == newer.read_bytes()
    assert [p.name for p in got.path.parent.iterdir()] == [newer.name]  # no partial download left
    assert service.available(root).downloaded == got.path
    assert service.download(root).path == got.path  # already there and verified: not fetched again
    assert UpdateService(desk.ctx, platform=Platform.LINUX_DEB, current="0.19.0.0").available(root) is None


@pytest.mark.server
@pytest.mark.parametrize("tamper", ["same_size", "longer", "shorter"])
def test_a_tampered_package_is_refused_and_nothing_is_kept(desk_with_admin, server_app, tmp_path, tamper):
    desk = desk_with_admin
    published = publish_release(server_app.state.db, server_app.state.files, _package(tmp_path / "in"))
    assert desk.sync.sync_once().ok
    stored = release_path(server_app.state.files, published.release.sha256)
    bad = {"same_size": b"X" + PAYLOAD[1:], "longer": PAYLOAD + b"evil", "shorter": PAYLOAD[:-1]}[tamper]
    stored.write_bytes(bad)
    with pytest.raises(UpdateError, match="下载的安装包校验失败"):
        _service(desk).download(desk.worker("root"))
    folder = desk.ctx.data_dir / UPDATES_DIRNAME
    assert not folder.exists() or list(folder.iterdir()) == []


@pytest.mark.server
def test_a_package_gone_from_the_server_is_a_clear_refusal(desk_with_admin, server_app, tmp_path):
    desk = desk_with_admin
    published = publish_release(server_app.state.db, server_app.state.files, _package(tmp_path / "in"))
    assert desk.sync.sync_once().ok
    release_path(server_app.state.files, published.release.sha256).unlink()
    with pytest.raises(UpdateError, match="安装包文件已丢失"):
        _service(desk).download(desk.worker("root"))
    with server_app.state.db.sessions.begin() as s:
        s.execute(text("DELETE FROM server_release"))
    with pytest.raises(UpdateError, match="没有该安装包"):
        _service(desk).download(desk.worker("root"))
    assert desk.sync.sync_once().ok  # the next pull forgets it
    assert _service(desk).available(desk.worker("root")) is None


@pytest.mark.server
def test_the_download_needs_a_device_token(api, no_releases, server_app, tmp_path):
    published = publish_release(server_app.state.db, server_app.state.files, _package(tmp_path / "in"))
    answer = api.get(f"/v1/releases/{published.release.sha256}")
    assert answer.status_code == 401 and "登记" in answer.json()["detail"]["message"]
    assert api.get("/v1/releases/not-a-hash", headers={"Authorization": "Bearer x.y"}).status_code == 422


@pytest.mark.server
@pytest.mark.slow
def test_publish_with_the_cli_and_download_from_a_real_server_process(pg_url, tmp_path, template_db,
                                                                      password_hashes):
    """The whole path: the CLI stores the package where the running `server` process serves it from, a desk
    enrolled over HTTP learns it on sync and downloads it through its own client (lab plain-http opt-in)."""
    server = LiveServer(pg_url, tmp_path)
    desk = None
    try:
        server.create(password_hashes)
        db = server.open_db()
        admin.add_worker(db, COMMITTEE, "root", "管理员甲", roles=["admin"], password_hash=password_hashes["boss"])
        db.close()
        server.start()
        deb = _package(tmp_path / "in", f"cn.onedesk.desk_{_next_version()}_amd64.deb")
        assert main(["--data-dir", str(tmp_path / "srv"), "server", "release", "publish", str(deb),
                     "--db", server.db_url(server.database)]) == 0
        desk = LiveDesk.new("A", tmp_path / "desk-A", template_db, server)
        root = desk.worker("root")
        service = UpdateService(desk.ctx, platform=Platform.LINUX_DEB)
        assert service.available(root).version == _next_version()
        got = service.download(root)
        assert got.path.read_bytes() == PAYLOAD
        shutil.rmtree(got.path.parent)
    finally:
        if desk is not None:
            desk.close()
        server.drop_all()


@pytest.mark.server
def test_pull_pages_name_the_newest_release(api, seeded, no_releases, server_app, tmp_path):
    from tests.sync_helpers import enroll_raw
    _, headers = enroll_raw(api, seeded)
    assert api.get("/v1/pull", headers=headers).json()["releases"] == []
    publish_release(seeded, server_app.state.files, _package(tmp_path / "in"))
    rows = api.get("/v1/pull", headers=headers).json()["releases"]
    assert [(r["platform"], r["version"], r["file_name"]) for r in rows] == [("linux-deb", "0.18.0.0", DEB)]
    with seeded.sessions() as s:
        assert s.scalars(select(ServerRelease.sha256)).one() == rows[0]["sha256"]


@pytest.mark.server
def test_attachments_gc_leaves_the_packages_alone(no_releases, tmp_path):
    from app.server.files import FileStore, collect_garbage
    store = FileStore(tmp_path / "files")
    published = publish_release(no_releases, store, _package(tmp_path / "in"))
    report = collect_garbage(no_releases, store, utcnow())
    assert report.files == 0 and release_path(store, published.release.sha256).read_bytes() == PAYLOAD
