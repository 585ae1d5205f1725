"""Pulled attachment rows on the desks (issue 15, app/desk/sync/apply.py): every desk of the committee gets the
metadata (changes and snapshot); a file's AttachmentBlob row says its bytes are not here, wanted only on the desk
where the colleague the case is forwarded to works (has logged in); a row this desk cannot use is set aside and
listed, never fatal. Desks enrolled through the API, server on PostgreSQL (tests/server_fixtures.py)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid

import pytest
from sqlalchemy import select

from app.cli.main import main
from app.core.commands import AttachmentArgs, AttachmentRemoveArgs
from app.core.vocabulary import Mutation
from app.core.wire import Change
from app.desk.auth import AuthService, WorkerInfo, worker_info
from app.desk.cases import CaseService
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.outbox import enqueue
from app.desk.sync.apply import DeskApplier, want_files
from app.desk.sync.bad_rows import set_aside_rows
from app.server import admin
from app.server.changes import ChangeWriter, scope_of
from models import Attachment, AttachmentBlob, Case, OutboxEntry, Worker, utcnow
from tests.sync_helpers import COMMITTEE, ITEM, PASSWORDS, Desk, start_server, stop_server, wait_ready

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = pytest.mark.server


def add_file(desk: Desk, case_id: uuid.UUID, content: bytes, login: str = "desk") -> tuple[uuid.UUID, str]:
    return add_file_at(desk.ctx, desk.worker(login), case_id, content)


def add_file_at(ctx: AppContext, w: WorkerInfo, case_id: uuid.UUID, content: bytes) -> tuple[uuid.UUID, str]:
    """What the desk's attachment service does (app/desk/attachments): the bytes in the blob store, the row, the
    blob row, and the command, in one transaction."""
    sha = ctx.blobs.put(content)
    aid = uuid.uuid4()
    at = ctx.now()  # read before the write transaction (it reads the clock offset in a session of its own)
    with ctx.sessions.begin() as s:
        case = s.get_one(Case, case_id)
        s.add(Attachment(id=aid, committee_id=case.committee_id, case_id=case_id, material="身份证", sha256=sha,
                         size=len(content), mime="image/jpeg", filename="身份证正面.jpg", pages=1, source="camera",
                         added_by_id=w.id, added_at=at))
        s.add(AttachmentBlob(sha256=sha, size=len(content), mime="image/jpeg", present=True))
        args = AttachmentArgs(id=aid, case_id=case_id, material="身份证", sha256=sha, size=len(content),
                              mime="image/jpeg", filename="身份证正面.jpg", pages=1, source="camera")
        enqueue(s, Mutation.ATTACHMENT_ADD, args.model_dump(mode="json"), w.id, at)
    return aid, sha


def remove_file(desk: Desk, aid: uuid.UUID, login: str = "desk") -> None:
    w = desk.worker(login)
    at = desk.ctx.now()
    with desk.ctx.sessions.begin() as s:
        a = s.get_one(Attachment, aid)
        a.removed_at, a.removed_by_id = at, w.id
        enqueue(s, Mutation.ATTACHMENT_REMOVE, AttachmentRemoveArgs(id=aid, reason="拍错了").model_dump(mode="json"),
                w.id, at)


def sync(desk: Desk) -> None:
    result = desk.sync.sync_once()
    assert result.ok, result.error


def row(desk: Desk, aid: uuid.UUID) -> Attachment | None:
    with desk.ctx.sessions() as s:
        return s.get(Attachment, aid)


def blob(desk: Desk, sha: str) -> AttachmentBlob | None:
    with desk.ctx.sessions() as s:
        return s.get(AttachmentBlob, sha)


def log_in(desk: Desk, login: str) -> None:
    AuthService(desk.ctx).login(login, PASSWORDS[login])


def forward(desk: Desk, cid: uuid.UUID, to: Desk, login: str = "mz") -> None:
    desk.cases.forward(desk.worker("desk"), cid, assignee_id=to.worker(login).id, queue="民政", note="请审核")


def test_attachment_rows_reach_every_desk_and_the_assignees_desk_wants_the_files(make_desk):
    a, b, c = make_desk("A"), make_desk("B"), make_desk("C")
    log_in(b, "mz")  # the line colleague works at desk B
    cid = a.new_case()
    forward(a, cid, b)
    content = os.urandom(40_000)
    aid, sha = add_file(a, cid, content)
    sync(a)
    for desk in (b, c):
        sync(desk)
        got = row(desk, aid)
        assert got is not None and (got.case_id, got.sha256, got.size, got.material) == (cid, sha, 40_000, "身份证")
        assert got.added_by_id == a.worker("desk").id and got.removed_at is None
    wanted_b, on_c = blob(b, sha), blob(c, sha)
    assert wanted_b is not None and wanted_b.wanted  # desk B fetches it (app/desk/sync/files.py)
    assert on_c is not None and not on_c.wanted and not on_c.present  # desk C: on demand only
    assert not set_aside_rows(b.ctx.data_dir) and not set_aside_rows(c.ctx.data_dir)
    mine = blob(a, sha)
    assert mine is not None and mine.present  # the adding desk's own file is left as it was


def test_the_assignees_desk_ends_with_the_bytes_hash_checked(make_desk):
    """Rows and transfer together: desk A's upload (3 chunks) and desk B's download (app/desk/sync/files.py)
    through the server's file endpoints, in the sync rounds themselves."""
    a, b = make_desk("A"), make_desk("B")
    log_in(b, "mz")
    cid = a.new_case()
    forward(a, cid, b)
    content = os.urandom(600_000)
    _, sha = add_file(a, cid, content)
    sync(a)
    assert blob(a, sha).uploaded
    sync(b)
    got = blob(b, sha)
    assert got.present and hashlib.sha256(b.ctx.blobs.get(sha)).hexdigest() == sha


def test_the_files_become_wanted_when_the_case_is_forwarded_later(make_desk):
    a, b = make_desk("A"), make_desk("B")
    log_in(b, "mz")
    cid = a.new_case()
    aid, sha = add_file(a, cid, os.urandom(5000))
    sync(a)
    sync(b)
    assert row(b, aid) is not None and not blob(b, sha).wanted  # accepted, not forwarded: nobody here decides it
    forward(a, cid, b)
    sync(a)
    sync(b)
    assert blob(b, sha).wanted


def test_a_case_forwarded_to_a_colleague_who_never_logged_in_here_is_not_fetched(make_desk):
    a, b = make_desk("A"), make_desk("B")
    log_in(b, "mz2")  # another line colleague of 民政 works here; the case goes to mz
    cid = a.new_case()
    forward(a, cid, b)
    aid, sha = add_file(a, cid, os.urandom(3000))
    sync(a)
    sync(b)
    assert row(b, aid) is not None and not blob(b, sha).wanted


def test_a_colleagues_first_login_here_marks_their_cases_files_wanted(make_desk):
    """The rows came before the colleague ever logged in here: their login itself (AuthService.login, what the
    desk's login screen calls) marks the files of their forwarded cases wanted, in the login's transaction."""
    a, b = make_desk("A"), make_desk("B")
    cid = a.new_case()
    forward(a, cid, b)
    _, sha = add_file(a, cid, os.urandom(3000))
    sync(a)
    sync(b)
    assert not blob(b, sha).wanted  # nobody who decides it has logged in here yet
    log_in(b, "mz2")  # another 民政 colleague: the case is mz's
    assert not blob(b, sha).wanted
    log_in(b, "mz")
    assert blob(b, sha).wanted and not blob(b, sha).present
    with b.ctx.sessions.begin() as s:
        assert want_files(s) == 0  # marked once: a pull re-reading the cases finds nothing more to mark
    sync(b)  # and the next round fetches it
    assert blob(b, sha).present and hashlib.sha256(b.ctx.blobs.get(sha)).hexdigest() == sha


def test_a_removal_reaches_the_other_desks_and_a_new_desk_gets_the_rows_by_snapshot(make_desk):
    a, b = make_desk("A"), make_desk("B")
    cid = a.new_case()
    kept, kept_sha = add_file(a, cid, os.urandom(2000))
    gone, _ = add_file(a, cid, os.urandom(2100))
    sync(a)
    sync(b)
    remove_file(a, gone)
    sync(a)
    sync(b)
    assert row(b, gone).removed_at is not None and row(b, gone).removed_by_id == a.worker("desk").id
    assert row(b, kept).removed_at is None
    late = make_desk("D")  # first sync: a snapshot
    assert row(late, kept) is not None and row(late, gone).removed_at is not None
    on_late = blob(late, kept_sha)
    assert on_late is not None and not on_late.present and not on_late.wanted


def test_a_colleagues_add_waits_for_the_case_command_it_was_made_after(make_desk, seeded):
    """The add names the command behind the case's last event (as case commands do), so after a restore the
    server holds it until that command is back (app/server/held.py), rather than refusing it for good."""
    import io

    from PIL import Image

    from app.core.commands import AFTER
    from app.desk.attachments.service import AttachmentService
    from models.outbox import OUTBOX_HELD
    from models.server import MutationRecord
    a, b = make_desk("A"), make_desk("B")
    cid = a.new_case()
    forward(a, cid, b)
    sync(a)
    sync(b)
    with a.ctx.sessions() as s:
        last_of_a = s.scalars(select(OutboxEntry.mutation_id).order_by(OutboxEntry.mid.desc())).first()
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(buf, "JPEG")
    info = AttachmentService(b.ctx).add_images(b.worker("mz"), cid, "", [buf.getvalue()])
    with b.ctx.sessions.begin() as s:
        entry = s.scalars(select(OutboxEntry).where(OutboxEntry.name == Mutation.ATTACHMENT_ADD)).one()
        assert entry.args[AFTER] == str(last_of_a)  # what desk B saw last on the case: desk A's forward
        entry.args = {**entry.args, AFTER: str(uuid.uuid4())}  # as after a restore: that command not back yet
        mutation_id = entry.mutation_id
    result = b.sync.sync_once()
    assert result.ok and result.set_aside == 0
    with b.ctx.sessions() as s:
        assert s.scalars(select(OutboxEntry.status).where(OutboxEntry.mutation_id == mutation_id)).one() == OUTBOX_HELD
    with seeded.sessions() as s:
        assert s.scalars(select(MutationRecord.status).where(MutationRecord.mutation_id == mutation_id)).one() == "held"
        assert s.get(Attachment, info.id) is None  # not refused: waiting
    assert result.files.uploaded == 0  # nor is its file sent while it waits


def _payload(case_id: uuid.UUID, committee_id: uuid.UUID, worker_id: uuid.UUID, /, **change) -> dict:
    now = utcnow().isoformat()
    data = {"id": str(uuid.uuid4()), "committee_id": str(committee_id), "case_id": str(case_id),
            "resident_id": None, "material": "户口簿", "sha256": hashlib.sha256(os.urandom(8)).hexdigest(),
            "size": 1234, "mime": "application/pdf", "filename": "户口簿.pdf", "pages": 2, "source": "scanner",
            "added_by_id": str(worker_id), "added_at": now, "removed_at": None, "removed_by_id": None,
            "created_at": now, "updated_at": now, "version": 1}
    data.update(change)
    return data


def test_bad_attachment_rows_are_set_aside_and_the_good_ones_apply(make_desk):
    desk = make_desk("A")
    cid = desk.new_case()
    with desk.ctx.sessions() as s:
        committee_id = s.get_one(Case, cid).committee_id
    worker = desk.worker("desk").id
    bad = {
        "sha": _payload(cid, committee_id, worker, sha256="../../etc/passwd"),
        "sha_newline": _payload(cid, committee_id, worker, sha256="ab" * 32 + "\n"),  # limits.is_sha256: fullmatch
        "size": _payload(cid, committee_id, worker, size="大"),
        "owner": _payload(cid, committee_id, worker, case_id=None),
        "case": _payload(uuid.uuid4(), committee_id, worker),
        "worker": _payload(cid, committee_id, worker, added_by_id=str(uuid.uuid4())),
        "date": _payload(cid, committee_id, worker, added_at="上周三"),
    }
    good = _payload(cid, committee_id, worker)
    rows = [*bad.values(), good]
    changes = [Change(seq=100 + i, entity="attachment", id=r["id"], data=r) for i, r in enumerate(rows)]
    with desk.ctx.sessions.begin() as s:
        applier = DeskApplier(s, desk.ctx.data_dir, pending=set())
        applier.apply_changes(changes)
    assert applier.applied == 1
    listed = {r.id: r for r in set_aside_rows(desk.ctx.data_dir)}
    assert set(listed) == {r["id"] for r in bad.values()}
    assert {r.entity_label for r in listed.values()} == {"附件"}
    reasons = {name: listed[r["id"]].reason for name, r in bad.items()}
    assert "摘要" in reasons["sha"] and "摘要" in reasons["sha_newline"]
    assert "大小" in reasons["size"] and "所属案件或居民" in reasons["owner"]
    assert "所属案件不在本机" in reasons["case"] and "工作人员账号不在本机" in reasons["worker"]
    assert "无法写入本机" in reasons["date"]
    with desk.ctx.sessions() as s:
        assert s.get(Attachment, uuid.UUID(good["id"])) is not None
        assert {r.sha256 for r in s.scalars(select(AttachmentBlob))} == {good["sha256"]}
        assert not s.get_one(AttachmentBlob, good["sha256"]).present  # never claims bytes it does not have


def test_a_bad_attachment_row_from_the_server_does_not_stop_the_pull(make_desk, seeded):
    desk = make_desk("A")
    cid = desk.new_case()
    sync(desk)
    with desk.ctx.sessions() as s:
        committee_id = s.get_one(Case, cid).committee_id
    worker = desk.worker("desk").id
    bad = _payload(cid, committee_id, worker, sha256="x" * 64)
    good = _payload(cid, committee_id, worker)
    with seeded.sessions.begin() as s:
        writer = ChangeWriter(s, utcnow())
        for data in (bad, good):
            writer.emit(scope_of(committee_id), "attachment", data["id"], data)
    sync(desk)
    (listed,) = set_aside_rows(desk.ctx.data_dir)
    assert listed.id == bad["id"] and listed.entity_label == "附件" and listed.seq is not None
    assert row(desk, uuid.UUID(good["id"])) is not None and row(desk, uuid.UUID(bad["id"])) is None
    assert desk.sync.sync_once().ok  # the cursor moved past it


@pytest.mark.slow
def test_files_travel_through_a_real_server_process(tmp_path, template_db, seeded, pg_url):
    """``python main.py server`` on loopback: its attachments folder is the configured one (owner-only); desk A
    uploads, desk B (where the colleague works) ends with the same bytes."""
    files_dir = tmp_path / "district-files"
    proc, port = start_server(tmp_path, pg_url, "--attachments-dir", str(files_dir))
    url = f"http://127.0.0.1:{port}"
    ctxs: list[AppContext] = []
    try:
        wait_ready(url, proc)
        for name in ("A", "B"):
            folder = tmp_path / name
            folder.mkdir()
            shutil.copyfile(template_db, folder / DB_FILENAME)
            code, _ = admin.create_enroll_code(seeded, COMMITTEE)
            assert main(["--data-dir", str(folder), "enroll", "--server", url, "--code", code,
                         "--allow-insecure-http"]) == 0
            assert main(["--data-dir", str(folder), "sync", "--once"]) == 0
            ctxs.append(AppContext.open(folder))
        a, b = ctxs
        AuthService(b).login("mz", PASSWORDS["mz"])
        with a.sessions() as s:
            desk, mz = (worker_info(s.scalars(select(Worker).where(Worker.login == login)).one())
                        for login in ("desk", "mz"))
        cases = CaseService(a)
        cid = cases.create_draft(desk, ITEM, None)
        cases.submit(desk, cid, {"x": 1}, {"身份证": True})
        cases.forward(desk, cid, assignee_id=mz.id, queue="民政", note="请审核")
        content = os.urandom(700_000)
        _, sha = add_file_at(a, desk, cid, content)
        assert main(["--data-dir", str(a.data_dir), "sync", "--once"]) == 0
        (stored,) = files_dir.rglob(sha)  # <root>/<committee>/ab/<sha>: each committee its own copy
        assert stored.read_bytes() == content
        if os.name == "posix":
            assert stat.S_IMODE(files_dir.stat().st_mode) == 0o700
        assert main(["--data-dir", str(b.data_dir), "sync", "--once"]) == 0
        with b.sessions() as s:
            got = s.get_one(AttachmentBlob, sha)
            assert got.present and got.wanted
        assert hashlib.sha256(b.blobs.get(sha)).hexdigest() == sha
    finally:
        for ctx in ctxs:
            ctx.close()
        stop_server(proc)
