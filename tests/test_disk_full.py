"""A full disk is named in Chinese and nothing is half-written (issue 12, finding 13).

The database is made really full with SQLite's ``max_page_count`` (a new page cannot be allocated: SQLITE_FULL,
exactly what a full disk gives); a file write meets a real ENOSPC from the kernel by pointing the file being
written at ``/dev/full`` (Linux).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import event

from app.cli.main import main
from app.core.errors import DISK_FULL_MESSAGE, DiskFullError
from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.desk.db import integrity_check
from app.desk.printing.service import PrintService
from app.desk.residents import ResidentService

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")
BIG = {"情况说明": "老人独居，行动不便，需要上门核实。" * 120}
DEV_FULL = Path("/dev/full")


def _cap_at_current_size(ctx) -> None:
    """From now on the database cannot grow by a single page: as if the disk had just filled up."""
    ctx.engine.dispose()

    def cap(dbapi_conn, _record):
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

    event.listen(ctx.engine, "connect", cap)
    ctx._disk_cap = cap


def _uncap(ctx) -> None:
    event.remove(ctx.engine, "connect", ctx._disk_cap)
    ctx.engine.dispose()


def _counts(ctx) -> tuple[int, int, int]:
    with ctx.engine.connect() as conn:
        return tuple(conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar()
                     for t in ("case", "case_event", "outbox"))


def _state(ctx, cid) -> tuple[str, int]:
    with ctx.engine.connect() as conn:
        return tuple(conn.exec_driver_sql('SELECT state, version FROM "case" WHERE id = ?',
                                          (cid.hex,)).one())


def test_a_full_database_is_named_in_chinese_and_nothing_is_half_written(desk_ctx):
    actor = AuthService(desk_ctx).login("desk", "deskpass")
    cases = CaseService(desk_ctx)
    _cap_at_current_size(desk_ctx)
    failed_at = None
    for _ in range(400):
        before, cid, state = _counts(desk_ctx), None, None
        try:
            cid = cases.create_draft(actor, ITEM, None, data=BIG)
            before, state = _counts(desk_ctx), _state(desk_ctx, cid)
            cases.submit(actor, cid, BIG, {"居民身份证": {"received": True, "form": "原件", "count": 1}})
        except DiskFullError as e:
            assert str(e) == DISK_FULL_MESSAGE
            failed_at = "submit" if cid else "create"
            break
    assert failed_at, "the capped database never filled up"
    assert _counts(desk_ctx) == before  # neither the case, nor its event, nor its outbox row
    if cid is not None:
        assert _state(desk_ctx, cid) == state  # the draft as it was
    _uncap(desk_ctx)  # space freed: the desk carries on where it stopped
    assert integrity_check(desk_ctx.engine) == []
    cases.create_draft(actor, ITEM, None)


@pytest.mark.gui
def test_run_op_shows_the_disk_full_message(qtbot, desk_ctx):
    from PySide6.QtWidgets import QWidget

    from ui.operations import pending_operations, run_op
    actor = AuthService(desk_ctx).login("desk", "deskpass")
    cases = CaseService(desk_ctx)
    _cap_at_current_size(desk_ctx)
    before = _counts(desk_ctx)
    seen: list[str] = []

    def fill_up():
        for _ in range(400):
            cases.create_draft(actor, ITEM, None, data=BIG)

    widget = QWidget()
    qtbot.addWidget(widget)
    run_op(widget, fill_up, lambda _v: seen.append("done"), seen.append)
    qtbot.waitUntil(lambda: bool(seen), timeout=60000)
    qtbot.waitUntil(lambda: pending_operations() == 0)
    assert seen == [DISK_FULL_MESSAGE]
    assert _counts(desk_ctx)[0] == before[0] + _counts(desk_ctx)[2] - before[2]  # each case with its outbox row
    _uncap(desk_ctx)
    assert integrity_check(desk_ctx.engine) == []


@pytest.fixture
def forwarded(desk_ctx):
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    cases = CaseService(desk_ctx)
    cid = cases.create_draft(desk, ITEM, resident.id)
    cases.submit(desk, cid, {}, {"居民身份证": {"received": True, "form": "原件", "count": 1}})
    cases.forward(desk, cid, assignee_id=None, queue="民政",
                  at=dt.datetime(2026, 2, 13, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    return desk_ctx, desk, cid


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs Linux /dev/full")
def test_a_pdf_archive_on_a_full_disk_is_named_and_not_recorded(forwarded):
    ctx, desk, cid = forwarded
    number = CaseService(ctx).get(cid).summary.case_number
    folder = ctx.data_dir / "documents" / number
    folder.mkdir(parents=True)
    (folder / "receipt-a4-0.part").symlink_to(DEV_FULL)  # the archive's file lands on a full device
    svc = PrintService(ctx)
    with pytest.raises(DiskFullError) as refused:
        svc.produce(desk, cid, "receipt", "a4")
    assert str(refused.value) == DISK_FULL_MESSAGE
    assert svc.jobs(cid) == []  # no print job for a document that was never archived
    assert list(folder.iterdir()) == []  # no half-written file left behind
    assert svc.produce(desk, cid, "receipt", "a4").path.exists()  # space back: it works


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs Linux /dev/full")
def test_print_command_to_a_full_disk_says_so(forwarded, capsys):
    ctx, _desk, cid = forwarded
    number = CaseService(ctx).get(cid).summary.case_number
    assert main(["--data-dir", str(ctx.data_dir), "print", number, "--out", str(DEV_FULL)]) == 2
    err = capsys.readouterr().err
    assert "磁盘空间不足" in err and "Traceback" not in err, err
