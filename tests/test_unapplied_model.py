"""The 未生效 list without a server: which outbox rows it shows (the worker's own set-aside case work, on this desk),
and its Qt model under qtmodeltester. The whole path against a real server is in tests/test_gui_sync_set_aside.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.desk.auth import AuthService
from app.desk.worklist import WorklistService
from models import Case, OutboxEntry, Worker

pytestmark = pytest.mark.gui


def _set_aside(ctx, name: str, reason: str) -> None:
    with ctx.sessions.begin() as s:
        entry = s.scalars(select(OutboxEntry).where(OutboxEntry.name == name)
                          .order_by(OutboxEntry.mid.desc()).limit(1)).one()
        entry.status, entry.reason = "set_aside", reason


def test_only_the_workers_own_set_aside_case_work_is_listed(qtmodeltester, qtbot, demo_ctx):
    from ui.worklist.unapplied_model import UnappliedTableModel
    auth, wl = AuthService(demo_ctx), WorklistService(demo_ctx)
    with demo_ctx.sessions() as s:
        case = s.scalars(select(Case).where(Case.state == "forwarded", Case.assignee_id.is_not(None))).first()
        login = s.get(Worker, case.assignee_id).login
        number, item = case.case_number, case.item_name
    line = auth.login(login, "demo1234")
    from app.desk.cases import CaseService
    CaseService(demo_ctx).reply(line, case.id, "approved", "已核实，同意")
    _set_aside(demo_ctx, "case.reply.v1", "该案件已由其他工作人员答复")
    rows = wl.unapplied(line)
    assert [(r.id, r.case_number, r.item_name, r.label, r.text) for r in rows] == \
        [(case.id, number, item, "答复未生效", "已核实，同意")]
    assert rows[0].reason == "该案件已由其他工作人员答复"
    assert wl.unapplied(line, "不相干") == [] and wl.unapplied(line, "同意") == rows
    assert wl.unapplied(auth.login("qiantai", "demo1234")) == []  # someone else's work is not theirs

    model = UnappliedTableModel(lambda text: wl.unapplied(line, text))
    with qtbot.waitSignal(model.loaded):
        model.reload("")  # off the UI thread
    assert model.total == 1 and model.index(0, 1).data() == "答复未生效"
    model.sort(2)
    qtmodeltester.check(model, force_py=True)
