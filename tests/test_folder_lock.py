"""The data folder belongs to one program at a time (issue 12, finding 1).

A running desk (app, ``sync``, a script through AppContext) holds an OS lock on its data folder; ``restore``,
``db upgrade`` and every writing command started by another process refuse with a Chinese message naming the
holder. Read-only commands still work. Inside one process the lock is re-entrant, except for ``restore`` and
``db upgrade``, which need the folder to themselves.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from app.cli.main import main
from app.core.paths import PROJECT_DIR
from app.desk import folder_lock
from app.desk.backup import backup
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, connect
from app.desk.folder_lock import HOLDER_FILENAME, FolderInUse, hold
from app.desk.setup import FirstRunInput, initialise_desk

_WRITER = """
import sys
from pathlib import Path
from sqlalchemy import select
from app.desk.auth import worker_info
from app.desk.cases import CaseService, ItemRef
from app.desk.context import AppContext
from models import Worker
ctx = AppContext.open(Path(sys.argv[1]))
with ctx.sessions() as s:
    w = worker_info(s.scalars(select(Worker)).first())
cases = CaseService(ctx)
item = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "t")
while True:
    cid = cases.create_draft(w, item, None)
    print(cid, flush=True)  # printed only after the commit: an acknowledged change
"""

_HOLDER = """
import sys
from pathlib import Path
from app.desk.context import AppContext
ctx = AppContext.open(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.read()  # hold the folder until the test closes our stdin
ctx.close()
"""


def _desk_folder(tmp_path: Path, template_db: Path) -> Path:
    folder = tmp_path / "desk"
    folder.mkdir()
    shutil.copyfile(template_db, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    initialise_desk(ctx, FirstRunInput(committee_name="测试居委会", committee_code="T001", admin_login="admin",
                                       admin_name="管理员", admin_password="secret123"))
    ctx.close()
    return folder


def _child(script: str, folder: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_DIR))
    return subprocess.Popen([sys.executable, "-c", script, str(folder)], cwd=PROJECT_DIR, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _cli(folder: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", "--data-dir", str(folder), *argv], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120)


_WHOLE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _read_ids(child: subprocess.Popen, n: int) -> list[str]:
    ids = []
    while len(ids) < n:
        line = child.stdout.readline()
        assert line, child.stderr.read()
        ids.append(line.strip())
    return ids


def _case_ids(db: Path) -> set[str]:
    with closing(connect(db)) as con:
        return {str(uuid.UUID(r[0])) for r in con.execute('SELECT id FROM "case"')}


@pytest.fixture
def holder(tmp_path, template_db):
    folder = _desk_folder(tmp_path, template_db)
    child = _child(_HOLDER, folder)
    assert child.stdout.readline().strip() == "ready", child.stderr.read()
    yield folder, child
    child.stdin.close()
    child.wait(timeout=30)


@pytest.mark.slow
def test_restore_refused_while_another_process_writes_and_nothing_is_lost(tmp_path, template_db):
    """The issue's scenario: a desk process keeps committing while ``restore`` is run from a second one."""
    folder = _desk_folder(tmp_path, template_db)
    good = backup(folder, tmp_path / "good.sqlite3")
    writer = _child(_WRITER, folder)
    try:
        acked = _read_ids(writer, 20)
        refused = _cli(folder, "restore", str(good))
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "正在被" in refused.stderr and f"进程 {writer.pid}" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        acked += _read_ids(writer, 20)  # the writer carries on, into the one and only database
    finally:
        writer.kill()  # a crash: its description of itself stays behind, its OS lock goes with it
        rest, _ = writer.communicate(timeout=30)
    # communicate() reads the pipe past what readline() had buffered, so the first piece may be the tail of a line,
    # and the kill may cut the last one short: only whole case ids count as acknowledged
    acked += [line.strip() for line in rest.split("\n")[:-1] if _WHOLE_ID.fullmatch(line.strip())]
    assert not list(folder.glob("onedesk-before-restore-*"))
    assert set(acked) <= _case_ids(folder / DB_FILENAME)
    assert (folder / HOLDER_FILENAME).exists()  # stale: it must not block the next program

    done = _cli(folder, "restore", str(good))
    assert done.returncode == 0, done.stderr
    kept = list(folder.glob("onedesk-before-restore-*.sqlite3"))
    assert len(kept) == 1 and set(acked) <= _case_ids(kept[0])
    assert _case_ids(folder / DB_FILENAME) == set()


WRITING_COMMANDS = {
    "db upgrade": ["db", "upgrade"],
    "restore": ["restore", "{backup}"],
    "print": ["print", "T001-X", "--out", "{tmp}/x.pdf"],
    "calendar import": ["calendar", "import", str(PROJECT_DIR / "resources" / "calendar" / "cn-2026.json")],
    "sync": ["sync", "--once"],
    "enroll": ["enroll", "--server", "http://127.0.0.1:9", "--code", "ABCD-1234", "--no-sync"],
    "demo": ["--demo", "print", "X", "--out", "{tmp}/y.pdf"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(WRITING_COMMANDS))
def test_writing_commands_refuse_while_another_process_holds_the_folder(holder, tmp_path, capsys, name):
    folder, child = holder
    spare = tmp_path / "spare.sqlite3"
    shutil.copyfile(folder / DB_FILENAME, spare)
    argv = [a.format(backup=spare, tmp=tmp_path) for a in WRITING_COMMANDS[name]]
    before = (folder / DB_FILENAME).read_bytes()
    calendar_before = sorted((folder / "calendar").glob("*")) if (folder / "calendar").exists() else []
    assert main(["--data-dir", str(folder), *argv]) == 2
    err = capsys.readouterr().err
    assert "数据文件夹正在被另一个程序使用" in err and f"进程 {child.pid}" in err, err
    assert (folder / DB_FILENAME).read_bytes() == before
    assert (sorted((folder / "calendar").glob("*")) if (folder / "calendar").exists() else []) == calendar_before


@pytest.mark.slow
def test_read_only_commands_work_while_another_process_holds_the_folder(holder, tmp_path, capsys):
    folder, _child_proc = holder
    assert main(["--data-dir", str(folder), "db", "check"]) == 0
    assert main(["--data-dir", str(folder), "sync", "--status"]) == 0
    assert main(["--data-dir", str(folder), "deadline", "2026-02-13T10:00"]) == 0
    assert main(["--data-dir", str(folder), "calendar", "show", "2026"]) == 0
    assert main(["--data-dir", str(folder), "backup", "--out", str(tmp_path / "b.sqlite3")]) == 0
    assert "错误" not in capsys.readouterr().err


def test_reentrant_in_one_process_but_restore_and_upgrade_need_the_folder_alone(tmp_path, template_db, capsys):
    folder = _desk_folder(tmp_path, template_db)
    spare = backup(folder, tmp_path / "spare.sqlite3")
    first = AppContext.open(folder)
    second = AppContext.open(folder)  # e.g. tests, or the sync thread's own context: same process, allowed
    second.close()
    assert main(["--data-dir", str(folder), "restore", str(spare)]) == 2
    assert main(["--data-dir", str(folder), "db", "upgrade"]) == 2
    assert "正在被" in capsys.readouterr().err
    first.close()
    assert main(["--data-dir", str(folder), "db", "upgrade"]) == 0
    assert main(["--data-dir", str(folder), "restore", str(spare)]) == 0


def test_a_stale_description_never_blocks_and_is_replaced(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / HOLDER_FILENAME).write_text(json.dumps({"program": "旧程序", "pid": 999999, "host": "x",
                                                      "started_at": "2020-01-01T00:00:00"}), encoding="utf-8")
    with hold(folder, program="测试程序"):
        described = json.loads((folder / HOLDER_FILENAME).read_text(encoding="utf-8"))
        assert described["pid"] == os.getpid() and described["program"] == "测试程序"
    assert not (folder / HOLDER_FILENAME).exists()


def test_refusal_names_the_holder_or_says_it_is_unknown(holder):
    folder, child = holder
    with pytest.raises(FolderInUse) as refused:
        hold(folder)
    assert f"进程 {child.pid}" in str(refused.value) and str(folder) in str(refused.value)
    (folder / HOLDER_FILENAME).write_text("{garbled", encoding="utf-8")
    with pytest.raises(FolderInUse) as refused:
        hold(folder)
    assert "数据文件夹正在被另一个程序使用" in str(refused.value)


def _wait_for_holder(folder: Path, proc: subprocess.Popen, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            described = json.loads((folder / HOLDER_FILENAME).read_text(encoding="utf-8"))
            if described.get("pid") == proc.pid:
                return described
        except (OSError, ValueError):
            pass
        time.sleep(0.1)  # polling another process's file: there is no signal to wait for
    raise AssertionError("the app never took the data folder")


@pytest.mark.gui
@pytest.mark.slow
def test_running_app_holds_the_folder_and_a_second_instance_says_so(qapp, tmp_path, demo_template, monkeypatch):
    import argparse

    from ui import application
    folder = tmp_path / "demo"
    folder.mkdir()
    shutil.copyfile(demo_template, folder / DB_FILENAME)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    app = subprocess.Popen([sys.executable, "main.py", "--data-dir", str(folder)], cwd=PROJECT_DIR, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        described = _wait_for_holder(folder, app)
        assert described["program"] == "OneDesk 桌面程序"
        refused = _cli(folder, "restore", str(demo_template))
        assert refused.returncode == 2 and "OneDesk 桌面程序" in refused.stderr, refused.stderr
        shown = []
        monkeypatch.setattr(application.QMessageBox, "critical", lambda *a: shown.append(a))
        monkeypatch.setattr(folder_lock, "_program", None)  # run_gui names this process; undone after the test
        args = argparse.Namespace(data_dir=folder, demo=False)
        assert application.run_gui(args) == 2
        assert len(shown) == 1 and "OneDesk 桌面程序" in shown[0][2] and f"进程 {app.pid}" in shown[0][2]
    finally:
        app.kill()
        app.communicate(timeout=30)
