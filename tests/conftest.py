"""Test set-up: offscreen Qt, data folders under tmp_path, one migrated template database per run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("ONEDESK_DATA_DIR", None)

import tempfile

import keyring
import pytest

from tests.keyring_backend import FILE_ENV, FileKeyring

# The OS key store of the test desks (the database key, device tokens): one file per run, set for this process
# and named for the desk processes tests start, so no test reads or writes the real key store.
os.environ[FILE_ENV] = os.path.join(tempfile.mkdtemp(prefix="onedesk-keyring-"), "keyring.json")
# Session fixtures run before the per-test home below: their fallback secrets must not reach the real folders.
os.environ["XDG_CONFIG_HOME"] = os.path.join(os.path.dirname(os.environ[FILE_ENV]), "config")
os.environ["XDG_DATA_HOME"] = os.path.join(os.path.dirname(os.environ[FILE_ENV]), "data")
os.environ["PYTHON_KEYRING_BACKEND"] = "tests.keyring_backend.FileKeyring"

from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, make_engine, upgrade

keyring.set_keyring(FileKeyring())


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test writes to the real user folders."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))


@pytest.fixture(autouse=True)
def _garbage_collection(request):
    """Once Qt threads exist, the app collects cycles from a UI-thread timer (ui/gc_guard.py). A test without
    an event loop never runs that timer, so it gets the automatic collector back while it runs."""
    import gc
    gui = bool({"qtbot", "qapp", "styled_app", "window"} & set(request.fixturenames))
    was_enabled = gc.isenabled()
    if not gui and not was_enabled:
        gc.enable()
    yield
    if not gui and not was_enabled:
        gc.disable()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """Migrate once per run; tests copy the file (Anki's shared test collection idea)."""
    d = tmp_path_factory.mktemp("template")
    engine = make_engine(d / DB_FILENAME)
    upgrade(engine)
    engine.dispose()
    return d / DB_FILENAME


@pytest.fixture
def data_dir(tmp_path, template_db) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    shutil.copyfile(template_db, d / DB_FILENAME)
    return d


@pytest.fixture
def ctx(data_dir):
    c = AppContext.open(data_dir)
    yield c
    c.close()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory, template_db) -> Path:
    """A demo-seeded database built once per run."""
    from app.demo.seed import seed_demo
    from app.desk.catalog.refs import item_ref
    d = tmp_path_factory.mktemp("demo")
    shutil.copyfile(template_db, d / DB_FILENAME)
    c = AppContext.open(d)
    seed_demo(c, item_ref)
    c.close()
    return d / DB_FILENAME


@pytest.fixture
def demo_ctx(tmp_path, demo_template):
    d = tmp_path / "demo-data"
    d.mkdir()
    shutil.copyfile(demo_template, d / DB_FILENAME)
    c = AppContext.open(d)
    yield c
    c.close()


@pytest.fixture
def styled_app(qapp):
    """The real QApplication with the bundled font and stylesheet installed."""
    from ui import resources
    resources.install(qapp)
    return qapp


@pytest.fixture
def desk_ctx(ctx):
    """An initialised desk with an admin, a front-desk worker, a supervisor and two residents."""
    from app.desk.auth import AuthService
    from app.desk.residents import ResidentInput, ResidentService
    from app.desk.setup import FirstRunInput, initialise_desk
    initialise_desk(ctx, FirstRunInput(committee_name="幸福里社区居民委员会", committee_code="320302001",
                                       admin_login="admin", admin_name="管理员", admin_password="secret123"))
    auth = AuthService(ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="desk", display_name="王晓燕", password="deskpass", roles=["front_desk"])
    auth.create_worker(admin, login="boss", display_name="周海燕", password="bosspass", roles=["supervisor"])
    rs = ResidentService(ctx)
    rs.create(admin, ResidentInput(name="张桂兰", id_number="11010519491231002X", phone="13800138000",
                                   address="幸福里一区3号楼"))
    rs.create(admin, ResidentInput(name="李秀英", id_number="320302194003121239"[:17] + _check("320302194003121230"),
                                   phone="13912345678", address="和平路5号"))
    return ctx


def _check(number: str) -> str:
    from stdnum.cn import ric
    return ric.calc_check_digit(number)


@pytest.fixture
def window(styled_app, qtbot, demo_ctx):
    """The main window on the demo data, logged in as the front-desk worker 王晓燕; no sync thread."""
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow
    from ui.printing.print_preview_dialog import PrintPreviewDialog
    from ui.services import Services
    services = Services(demo_ctx)
    services.current_worker = services.auth.login("qiantai", "demo1234")
    win = MainWindow(services, start_sync=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    for w in QApplication.topLevelWidgets():
        if isinstance(w, PrintPreviewDialog):
            w.close()
