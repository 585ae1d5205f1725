"""Held commands (app/server/held.py) in detail, with in-process desks: a command made after one the server has
never seen waits — the desk shows it waiting, not failed, and keeps its own view — and is given up with its
text kept as a note once the wait is over; a command made after one that was set aside is not held at all.
The reconnect orders after a real restore are in tests/test_sync_restore_order.py."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.cli.main import main
from app.core.commands import AFTER, MUTATION_ID
from app.server import admin, held
from models import Case, CaseEvent, OutboxEntry
from models.server import HeldCommand, MutationRecord
from tests.sync_helpers import COMMITTEE

pytest_plugins = ("tests.server_fixtures",)

pytestmark = pytest.mark.server


def _forwarded_case(desk):
    cid = desk.new_case()
    desk.cases.forward(desk.worker("desk"), cid, assignee_id=desk.worker("mz").id, queue="民政", note="请审核")
    return cid


def _lose_predecessor(desk) -> uuid.UUID:
    """As after a restore: the desk's last command names, as the one it came after, a command the server lacks."""
    lost = uuid.uuid4()
    with desk.ctx.sessions.begin() as s:
        entry = s.scalars(select(OutboxEntry).order_by(OutboxEntry.mid.desc()).limit(1)).one()
        entry.args = {**entry.args, AFTER: str(lost)}
    return lost


def _server_state(db, cid) -> tuple[str, list[str]]:
    with db.sessions() as s:
        case = s.get(Case, cid)
        return case.state, [e.note for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid)
                                                     .order_by(CaseEvent.seq))]


def test_every_event_names_its_command_and_every_command_what_it_came_after(make_desk, seeded):
    a = make_desk("A")
    cid = _forwarded_case(a)
    a.sync.sync_once()
    with a.ctx.sessions() as s:
        sent = list(s.scalars(select(OutboxEntry).order_by(OutboxEntry.mid)))
        events = list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid).order_by(CaseEvent.seq)))
    assert [e.detail[MUTATION_ID] for e in events] == [str(o.mutation_id) for o in sent]  # the server's events
    assert [o.args.get(AFTER) for o in sent] == [None] + [str(o.mutation_id) for o in sent[:-1]]
    assert all("at" in o.result for o in sent)  # every acknowledgement says when the command counted


def test_a_command_after_an_unknown_one_waits_then_is_given_up_with_its_text_kept(make_desk, seeded, server_clock):
    a, b = make_desk("A"), make_desk("B")
    cid = _forwarded_case(a)
    a.sync.sync_once()
    b.sync.sync_once()
    b.cases.reply(b.worker("mz"), cid, "approved", "同意发放")
    _lose_predecessor(b)
    result = b.sync.sync_once()
    assert result.ok and result.pending == 0 and result.set_aside == 0
    status = b.sync.status()
    assert status.held == 1 and status.set_aside == 0
    item = status.set_aside_items[0]
    assert item.held and item.label == "答复" and "等待" in item.reason and item.text == "同意发放"
    assert b.cases.get(cid).summary.state == "replied"  # the desk keeps its own view while it waits
    assert _server_state(seeded, cid)[0] == "forwarded"
    assert b.sync.sync_once().ok and b.sync.status().held == 1  # asked again: still waiting

    server_clock.advance(days=3, minutes=1)  # the command it came after never arrives
    result = b.sync.sync_once()
    assert result.ok and result.set_aside == 1
    status = b.sync.status()
    assert status.held == 0 and status.set_aside == 1
    assert held.LOST_REASON in status.set_aside_items[0].reason and "备注" in status.set_aside_items[0].reason
    state, notes = _server_state(seeded, cid)
    assert state == "forwarded" and "同意发放" in notes[-1]  # what the colleague wrote is on the case
    assert b.cases.get(cid).summary.state == "forwarded"  # and the desk now shows the server's state
    with seeded.sessions() as s:
        assert s.scalars(select(HeldCommand)).all() == []


def test_the_administrator_can_stop_the_wait(make_desk, seeded, pg_url, tmp_path, capsys):
    a, b = make_desk("A"), make_desk("B")
    cid = _forwarded_case(a)
    a.sync.sync_once()
    b.sync.sync_once()
    b.cases.acknowledge(b.worker("mz"), cid)
    _lose_predecessor(b)
    b.sync.sync_once()
    assert [h.case_id for h in held.list_held(seeded)] == [cid]
    server = ["--data-dir", str(tmp_path / "srv"), "server", "--db", pg_url, "held"]
    capsys.readouterr()
    assert main(server) == 0
    assert "共 1 条操作在等待前序操作" in capsys.readouterr().out
    assert main([*server, "--give-up"]) == 0
    assert "1 条操作作搁置处理" in capsys.readouterr().out
    with seeded.sessions() as s:
        assert s.scalars(select(MutationRecord.status).where(MutationRecord.name == "case.acknowledge.v1")).one() \
            == "set_aside"
    assert b.sync.sync_once().ok and b.sync.status().held == 0
    assert b.cases.get(cid).summary.state == "forwarded" and b.sync.status().set_aside == 1


def test_a_command_after_a_set_aside_one_is_not_held(make_desk, seeded):
    a, b = make_desk("A"), make_desk("B")
    cid = _forwarded_case(a)
    a.sync.sync_once()
    b.sync.sync_once()
    b.cases.acknowledge(b.worker("mz"), cid)  # the reply comes after the acknowledgement
    b.cases.reply(b.worker("mz"), cid, "approved", "同意")
    admin.set_worker_active(seeded, COMMITTEE, "mz", False)
    result = b.sync.sync_once()
    assert result.ok and result.set_aside == 2 and b.sync.status().held == 0
    assert b.cases.get(cid).summary.state == "forwarded"


def test_every_held_command_is_asked_about_in_one_round(make_desk, seeded, server_clock):
    a, b = make_desk("A"), make_desk("B")
    cids = [_forwarded_case(a) for _ in range(3)]
    a.sync.sync_once()
    b.sync.sync_once()
    for cid in cids:
        b.cases.reply(b.worker("mz"), cid, "approved", "同意")
        _lose_predecessor(b)
    b.sync.batch_size = 1
    assert b.sync.sync_once().ok and b.sync.status().held == 3
    server_clock.advance(days=4)
    result = b.sync.sync_once()
    assert result.ok and result.set_aside == 3 and b.sync.status().held == 0
    assert {b.cases.get(cid).summary.state for cid in cids} == {"forwarded"}
