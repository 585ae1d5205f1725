"""Issue 12, finding 4, on every set-aside path of app/server/push.py: whatever the reason — a rule, an unknown
command, a server bug — the answer carries the server's state of the case the command named, and the desk
takes it, though it differs from what the desk shows. (The deactivated colleague, against a real server process
and through the 同步 page, is in tests/test_gui_sync_set_aside.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.desk.outbox import enqueue
from app.server import push
from models import Case, OutboxEntry

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server


def _synced_case(desk):
    cid = desk.new_case()
    desk.cases.forward(desk.worker("desk"), cid, assignee_id=desk.worker("mz").id, queue="民政", note="请审核")
    assert desk.sync.sync_once().ok
    return cid


def _diverge(desk, cid, name: str) -> None:
    """The desk shows the case closed and queues a command about it that the server will not take."""
    with desk.ctx.sessions.begin() as s:
        s.get(Case, cid).state = "closed"
        enqueue(s, name, {"case_id": str(cid), "case_number": "X", "note": "已电话告知"}, desk.worker("desk").id)


def test_an_unknown_command_brings_the_servers_case_back(make_desk, seeded):
    a = make_desk("A")
    cid = _synced_case(a)
    _diverge(a, cid, "case.teleport.v1")
    result = a.sync.sync_once()
    assert result.ok and result.set_aside == 1
    assert a.cases.get(cid).summary.state == "forwarded"
    item = a.sync.status().set_aside_items[0]
    assert "不认识" in item.reason and item.case_id == str(cid) and item.text == "已电话告知"


def test_a_command_the_server_fails_on_brings_the_servers_case_back(make_desk, seeded, monkeypatch):
    a = make_desk("A")
    cid = _synced_case(a)
    _diverge(a, cid, "case.close.v1")
    real = push.apply_mutation

    def failing(ctx, name, args):
        if name == "case.close.v1":
            raise RuntimeError("a bug on the server")
        return real(ctx, name, args)
    monkeypatch.setattr(push, "apply_mutation", failing)
    result = a.sync.sync_once()
    assert result.ok and result.set_aside == 1
    assert a.cases.get(cid).summary.state == "forwarded"
    with a.ctx.sessions() as s:
        entry = s.scalars(select(OutboxEntry).where(OutboxEntry.name == "case.close.v1")).one()
        assert entry.status == "set_aside" and entry.result == {"case_id": str(cid)}
