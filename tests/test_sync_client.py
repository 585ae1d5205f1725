"""The desk's sync client on its own (no server needed): backoff, not enrolled, offline, status for the UI."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from app.desk.auth import AuthService
from app.desk.cases import CaseService
from app.desk.sync.client import NOT_ENROLLED, SyncClient, backoff_delay, mutation_label, sync_status
from models import Device, SyncState
from tests.sync_helpers import ITEM


def test_backoff_is_exponential_capped_and_jittered():
    assert backoff_delay(0) == 0.0
    top = [backoff_delay(n, rng=lambda: 1.0) for n in range(1, 12)]
    assert top[:5] == [2.0, 4.0, 8.0, 16.0, 32.0] and max(top) == 300.0
    assert backoff_delay(3, rng=lambda: 0.5) == 4.0  # full jitter: a uniform share of the bound
    assert backoff_delay(3, rng=lambda: 0.0) == 0.5  # but never a busy loop
    assert backoff_delay(10_000, rng=lambda: 1.0) == 300.0


def test_not_enrolled_desk_reports_it(desk_ctx):
    result = SyncClient(desk_ctx).sync_once()
    assert not result.ok and not result.online and result.error == NOT_ENROLLED
    status = sync_status(desk_ctx)
    assert not status.enrolled and status.pending == 2  # the two residents the fixture registered


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_offline_keeps_everything_and_backs_off(desk_ctx):
    with desk_ctx.sessions.begin() as s:
        dev = s.scalars(select(Device)).one()
        dev.server_url, dev.server_device_id, dev.token = f"https://127.0.0.1:{_closed_port()}", "x", "x.y"
    actor = AuthService(desk_ctx).login("desk", "deskpass")
    CaseService(desk_ctx).create_draft(actor, ITEM, None)
    client = SyncClient(desk_ctx, rng=lambda: 1.0, timeout_s=2)
    first, second = client.sync_once(), client.sync_once()
    assert not first.online and "离线" in first.error and first.pending == 3
    assert (first.next_sync_in_s, second.next_sync_in_s) == (2.0, 4.0)
    status = client.status()
    assert status.enrolled and not status.online and status.pending == 3 and status.last_success_at is None
    assert status.oldest_pending_age_s is not None and status.oldest_pending_age_s >= 0
    with desk_ctx.sessions() as s:
        assert s.get(SyncState, 1).failures == 2
    client.close()


@pytest.mark.parametrize("name, label", [("case.forward.v1", "转办"), ("case.reply.v1", "答复"),
                                         ("case.create.v1", "新建案件"), ("resident.upsert.v1", "登记/修改居民信息"),
                                         ("odd", "odd")])
def test_mutation_labels_are_chinese(name, label):
    assert mutation_label(name) == label
