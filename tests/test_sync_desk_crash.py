"""A desk process killed in the middle of saving: every case change and its outbox row are both there or both
absent, and the outbox mids stay gap-free (desk-only; no server needed)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.paths import PROJECT_DIR
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, integrity_check
from app.desk.setup import FirstRunInput, initialise_desk
from models import Case, CaseEvent, OutboxEntry

_CHILD = """
import sys
from sqlalchemy import select
from app.desk.auth import worker_info
from app.desk.cases import CaseService, ItemRef
from app.desk.context import AppContext
from models import Worker
ctx = AppContext.open(__import__("pathlib").Path(sys.argv[1]))
with ctx.sessions() as s:
    w = worker_info(s.scalars(select(Worker)).first())
cases = CaseService(ctx)
item = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "t")
print("ready", flush=True)
while True:
    cid = cases.create_draft(w, item, None)
    cases.save_draft(w, cid, {"n": 1}, {}, 1)
    cases.submit(w, cid, {"n": 2}, {"身份证": True})
"""


def _run_and_kill(folder: Path, after_s: float) -> None:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_DIR))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder)], cwd=PROJECT_DIR, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(after_s)  # let it be somewhere in the middle of a save: that is the point of the test
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)


def _check_consistent(folder: Path) -> int:
    ctx = AppContext.open(folder)
    try:
        assert integrity_check(ctx.engine) == []
        with ctx.sessions() as s:
            entries = list(s.scalars(select(OutboxEntry).order_by(OutboxEntry.mid)))
            cases = {c.id: c for c in s.scalars(select(Case))}
            events = list(s.scalars(select(CaseEvent)))
        assert [e.mid for e in entries] == list(range(1, len(entries) + 1))
        created = {e.args["id"] for e in entries if e.name == "case.create.v1"}
        assert created == {str(cid) for cid in cases}
        per_case: dict[str, int] = {}
        for e in entries:
            if e.name != "case.save_draft.v1":  # an autosave writes no history event
                key = e.args.get("case_id") or e.args["id"]
                per_case[key] = per_case.get(key, 0) + 1
        for cid, case in cases.items():
            assert per_case[str(cid)] == sum(1 for ev in events if ev.case_id == cid), case.case_number
            assert case.state in ("draft", "accepted")
        return len(cases)
    finally:
        ctx.close()


@pytest.mark.slow
def test_desk_killed_during_saves_keeps_case_and_outbox_together(tmp_path, template_db):
    folder = tmp_path / "desk"
    folder.mkdir()
    shutil.copyfile(template_db, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    initialise_desk(ctx, FirstRunInput(committee_name="测试居委会", committee_code="T001",
                                       admin_login="admin", admin_name="管理员", admin_password="secret123"))
    ctx.close()
    total = 0
    for after in (0.35, 0.8, 0.55):
        _run_and_kill(folder, after)
        total = _check_consistent(folder)
    assert total > 0
