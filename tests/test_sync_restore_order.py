"""A district server restored from an older backup must end with the acknowledged history whatever the order in
which the desks reconnect (issue 12, finding 3).

Three desks and a real server process on PostgreSQL. Cases X, Y, Z are forwarded from desk A and synced
everywhere; the administrator takes a backup. Then, all acknowledged by the server:

- X: the line colleague replies on desk B, desk A closes it (a chain B → A);
- Y: B replies, A forwards it again (replied → forwarded);
- Z: B signs for it, the colleague replies on desk C, A closes it (a chain B → C → A);
- W: desk C registers a new case (unrelated to the others).

The server is restored from the backup, which knows none of this, and the desks reconnect in each of the six
orders. Afterwards the server and every desk must hold exactly the history the server had acknowledged:
the same events in the same order, with the same times.
"""

from __future__ import annotations

import itertools

import pytest

from tests.live_world import LiveDesk, LiveServer, history
from tests.sync_helpers import ITEM

pytest_plugins = ("tests.server_fixtures",)

pytestmark = [pytest.mark.server, pytest.mark.slow]

ORDERS = ["".join(p) for p in itertools.permutations("ABC")]


def _forward(desk: LiveDesk):
    w = desk.worker("desk")
    cid = desk.cases.create_draft(w, ITEM, None)
    desk.cases.submit(w, cid, {"x": 1}, {"身份证": True})
    desk.cases.forward(w, cid, assignee_id=desk.worker("mz").id, queue="民政", note="请审核")
    return cid


@pytest.fixture(scope="module")
def world(pg_url, tmp_path_factory, template_db, password_hashes):
    """Built once: the backup, the acknowledged history and the desks' folders as they were when the server
    went down. Each test restores its own copy of the backup and copies the folders."""
    work = tmp_path_factory.mktemp("restore-world")
    server = LiveServer(pg_url, work)
    desks: dict[str, LiveDesk] = {}
    try:
        server.create(password_hashes)
        server.start()
        for name in "ABC":
            desks[name] = LiveDesk.new(name, work / f"desk-{name}", template_db, server)
        a, b, c = desks["A"], desks["B"], desks["C"]
        x, y, z = _forward(a), _forward(a), _forward(a)
        for d in (a, b, c):
            d.sync()
        server.stop()
        backup = server.backup()  # last night's backup: X, Y, Z forwarded
        server.start()

        b.cases.reply(b.worker("mz"), x, "approved", "符合条件，已发放")
        b.cases.reply(b.worker("mz"), y, "approved", "同意")
        b.cases.acknowledge(b.worker("mz"), z)
        b.sync()
        c.sync()
        c.cases.reply(c.worker("mz"), z, "approved", "已核实，同意发放")
        clerk = c.worker("desk2")
        w = c.cases.create_draft(clerk, ITEM, None)
        c.cases.submit(clerk, w, {"x": 2}, {"身份证": True})
        c.sync()
        a.sync()
        a.cases.close(a.worker("desk"), x, "phone")
        a.cases.forward(a.worker("desk"), y, assignee_id=a.worker("mz").id, queue="民政", note="请再核实金额")
        a.cases.close(a.worker("desk"), z, "phone")
        a.sync()
        for d in (b, c):
            d.sync()
        db = server.open_db()
        acknowledged = history(db.sessions, (x, y, z, w))
        db.close()
        assert [acknowledged[k][0] for k in (x, y, z, w)] == ["closed", "forwarded", "closed", "accepted"]
        for d in desks.values():
            assert history(d.ctx.sessions, (x, y, z, w)) == acknowledged
            d.close()
        server.stop()
        yield {"server": server, "backup": backup, "desks": desks, "cases": (x, y, z, w),
               "acknowledged": acknowledged}
    finally:
        for d in desks.values():
            d.close()
        server.drop_all()


@pytest.mark.parametrize("order", ORDERS)
def test_restored_server_reproduces_the_acknowledged_history_in_any_reconnect_order(world, order, tmp_path):
    server: LiveServer = world["server"]
    cases, acknowledged = world["cases"], world["acknowledged"]
    desks = {name: d.copy_to(tmp_path / f"desk-{name}").open() for name, d in world["desks"].items()}
    server.restore(world["backup"])  # the server died; the administrator restores last night's backup
    server.start()
    try:
        for name in order:  # the desks come back one after the other
            desks[name].sync()
        for _ in range(2):  # and go on syncing every half minute
            for name in order:
                desks[name].sync()
        db = server.open_db()
        try:
            on_server = history(db.sessions, cases)
        finally:
            db.close()
        assert on_server == acknowledged
        for name, desk in desks.items():
            assert history(desk.ctx.sessions, cases) == acknowledged, f"desk {name}"
            status = desk.client.status()
            assert status.pending == 0 and status.set_aside == 0, (name, status.set_aside_items)
    finally:
        for desk in desks.values():
            desk.close()
        server.stop()
