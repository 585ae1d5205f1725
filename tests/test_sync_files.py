"""The desk's file transfer (app/desk/sync/files.py): uploads and downloads resume after a broken connection,
a bad hash is noted and retried next round, a file waits for its command, and files never hold up commands.

Desks are enrolled against the real server app (in-process); the bytes go to the real /v1/files endpoints
(app/server/files.py) through a transport that can cut the connection after a given number of file requests."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid

import httpx
import pytest
from sqlalchemy import func, select, text, update

from app.cli.main import main
from app.core.commands import AttachmentArgs
from app.core.limits import ATTACHMENT_CHUNK_BYTES
from app.core.vocabulary import Mutation
from app.core.wire import Endpoint
from app.desk.attachments import MISSING, ON_DEMAND, UPLOADING
from app.desk.attachments.service import DAMAGED, NO_FILE, AttachmentService
from app.desk.outbox import enqueue
from app.desk.sync import files as files_module
from app.desk.sync.client import sync_status
from app.desk.sync.files import (
    BAD_HASH_DOWNLOAD,
    BAD_HASH_UPLOAD,
    OFFLINE,
    FileTransfer,
    file_backlog,
)
from models import Attachment, AttachmentBlob, OutboxEntry, SyncState, utcnow
from models.outbox import OUTBOX_APPLIED, OUTBOX_PENDING, OUTBOX_SET_ASIDE
from models.sync import SYNC_STATE_ID
from ui.sync.sync_status_text import status_text

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = pytest.mark.server

CHUNK = ATTACHMENT_CHUNK_BYTES


class CutAfter(httpx.BaseTransport):
    """In front of a desk's transport: counts the requests to /v1/files and, once armed, raises a connection
    error on the request after ``allow`` more of them (the line drops mid-file). ``sent`` adds up the upload
    bodies that reached the server; ``corrupt`` flips a byte of the next last chunk on the way."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.allow: int | None = None
        self.file_requests: list[tuple[str, str]] = []
        self.sent = 0
        self.received = 0
        self.corrupt_next_last_chunk = False
        self.corrupt_next_download = False
        self.statuses: list[int] = []  # of the file requests' answers, as the desk saw them

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1/files/"):
            if self.allow is not None:
                if self.allow <= 0:
                    raise httpx.ConnectError("simulated: the line dropped", request=request)
                self.allow -= 1
            self.file_requests.append((request.method, request.url.path))
            if request.method == "PUT":
                body = request.read()
                if self.corrupt_next_last_chunk and len(body) < CHUNK:
                    self.corrupt_next_last_chunk = False
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                    request = httpx.Request(request.method, request.url, headers=request.headers, content=body)
                self.sent += len(body)
        response = self.inner.handle_request(request)
        if request.url.path.startswith("/v1/files/"):
            self.statuses.append(response.status_code)
        if request.url.path.endswith("/content"):
            body = response.read()
            self.received += len(body)
            if self.corrupt_next_download:  # a bit flipped on the way down
                self.corrupt_next_download = False
                headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
                return httpx.Response(response.status_code, headers=headers, content=bytes([body[0] ^ 1]) + body[1:],
                                      request=request)
        return response


def _wire(desk) -> CutAfter:
    """Put a CutAfter in front of the desk's transport (its sync client and file transfer share it)."""
    cut = CutAfter(desk.transport)
    desk.sync._http._transport = cut  # the client made in tests/sync_helpers.new_desk
    return cut


def _forwarded_case(desk):
    cid = desk.new_case()
    desk.cases.forward(desk.worker("desk"), cid, assignee_id=desk.worker("mz").id, queue="民政", note="请审核")
    return cid


def _attach(desk, cid, data: bytes, material: str = "身份证") -> str:
    """What AttachmentService.add_file does: the bytes in the store, the metadata and its command in one go."""
    sha = desk.ctx.blobs.put(data)
    w = desk.worker("desk")
    args = AttachmentArgs(id=uuid.uuid4(), case_id=cid, material=material, sha256=sha, size=len(data),
                          mime="application/pdf", filename="材料.pdf", pages=1, source="file")
    with desk.ctx.sessions.begin() as s:
        s.add(Attachment(id=args.id, committee_id=desk.ctx.identity().committee_id, case_id=cid, material=material,
                         sha256=sha, size=len(data), mime=args.mime, filename=args.filename, pages=1,
                         source="file", added_by_id=w.id))
        if s.get(AttachmentBlob, sha) is None:
            s.add(AttachmentBlob(sha256=sha, size=len(data), mime=args.mime, present=True))
        enqueue(s, Mutation.ATTACHMENT_ADD, args.wire(), w.id)
    return sha


def _blob(desk, sha) -> AttachmentBlob:
    with desk.ctx.sessions() as s:
        blob = s.get(AttachmentBlob, sha)
        assert blob is not None
        return blob


def _outbox(desk) -> dict[str, int]:
    with desk.ctx.sessions() as s:
        return dict(s.execute(select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status)).tuples().all())


def _server_file(api, desk, sha) -> dict:
    token = desk.sync._link().token
    return api.get(Endpoint.FILE.format(sha256=sha), headers={"Authorization": f"Bearer {token}"}).json()


def _server_bytes(api, desk, sha) -> bytes:
    token = desk.sync._link().token
    return api.get(Endpoint.FILE_CONTENT.format(sha256=sha), headers={"Authorization": f"Bearer {token}"}).content


def _pdf_like(n: int) -> bytes:
    return b"%PDF-1.4\n" + os.urandom(n - 9)


def test_upload_resumes_from_the_servers_offset_after_the_line_drops(make_desk, api):
    a = make_desk("A")
    cut = _wire(a)
    cid = _forwarded_case(a)
    data = _pdf_like(5 * CHUNK + 1000)  # six chunks
    sha = _attach(a, cid, data)
    cut.allow = 1 + 3  # the status, three chunks, then the line drops
    first = a.sync.sync_once()
    assert first.ok and first.pending == 0  # the commands went through whatever the file does
    assert first.files.error == OFFLINE and first.files.uploaded == 0
    blob = _blob(a, sha)
    assert not blob.uploaded and blob.uploaded_bytes == 3 * CHUNK  # what the server acknowledged
    assert _server_file(api, a, sha)["received"] == 3 * CHUNK
    cut.allow, cut.sent = None, 0
    second = a.sync.sync_once()
    assert second.ok and second.files.uploaded == 1 and not second.files.error
    assert cut.sent == len(data) - 3 * CHUNK < len(data)  # resumed: only what the server lacked went again
    blob = _blob(a, sha)
    assert blob.uploaded and blob.uploaded_bytes == len(data) and blob.last_error == ""
    assert _server_file(api, a, sha)["complete"] is True
    assert hashlib.sha256(_server_bytes(api, a, sha)).hexdigest() == sha
    assert file_backlog(a.ctx).to_upload == 0


def test_a_file_waits_until_its_command_is_acknowledged(make_desk, capsys):
    a = make_desk("A")
    cut = _wire(a)
    cid = _forwarded_case(a)
    sha = _attach(a, cid, _pdf_like(2000))
    early = FileTransfer(a.ctx, http=a.sync._http).run()  # before the push: the server would not know the case
    assert early.uploaded == 0 and cut.file_requests == []
    backlog = sync_status(a.ctx).files
    assert backlog.to_upload == 1 and backlog.waiting_for_commands == 1
    assert "附件：待上传 1 个" in status_text(sync_status(a.ctx))  # the status bar and the 同步 page
    assert main(["--data-dir", str(a.ctx.data_dir), "sync", "--status"]) == 0
    assert "附件：待上传 1 个（其中 1 个等操作先上传）；待下载 0 个；缺失 0 个" in capsys.readouterr().out
    result = a.sync.sync_once()
    assert result.ok and result.files.uploaded == 1
    assert _outbox(a) == {OUTBOX_APPLIED: 4}  # create, accept, forward, attachment.add
    assert sync_status(a.ctx).files.empty
    assert "附件" not in status_text(sync_status(a.ctx))
    assert _blob(a, sha).uploaded


def test_bad_hash_is_noted_and_sent_again_next_round(make_desk, api):
    a = make_desk("A")
    cut = _wire(a)
    cid = _forwarded_case(a)
    data = _pdf_like(2 * CHUNK + 500)
    sha = _attach(a, cid, data)
    cut.corrupt_next_last_chunk = True  # a bit flipped on the way: the server's hash check catches it
    first = a.sync.sync_once()
    assert first.ok and first.pending == 0
    assert first.files.uploaded == 0 and first.files.failed == 1
    puts = [r for r in cut.file_requests if r[0] == "PUT"]
    assert len(puts) == 3  # one try this round, no loop
    blob = _blob(a, sha)
    assert not blob.uploaded and blob.attempts == 1 and blob.last_error == BAD_HASH_UPLOAD
    assert _server_file(api, a, sha)["received"] == 0  # the server dropped its partial copy
    second = a.sync.sync_once()
    assert second.files.uploaded == 1
    blob = _blob(a, sha)
    assert blob.uploaded and blob.last_error == ""
    assert hashlib.sha256(_server_bytes(api, a, sha)).hexdigest() == sha


def test_file_endpoints_failing_never_fail_the_commands(make_desk, seeded):
    a = make_desk("A")
    cut = _wire(a)
    cid = _forwarded_case(a)
    _attach(a, cid, _pdf_like(3000))
    cut.allow = 0  # every file request fails
    result = a.sync.sync_once()
    assert result.ok and not result.error and result.pushed == 4 and result.pending == 0
    assert _outbox(a) == {OUTBOX_APPLIED: 4}
    assert result.files.error == OFFLINE
    with seeded.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM attachment")).scalar_one() == 1
    assert sync_status(a.ctx).files.to_upload == 1


def test_a_file_gone_from_this_desk_is_noted_and_the_case_goes_on(make_desk):
    a = make_desk("A")
    _wire(a)
    cid = _forwarded_case(a)
    sha = _attach(a, cid, _pdf_like(3000))
    a.ctx.blobs.delete(sha)
    result = a.sync.sync_once()
    assert result.ok and result.pending == 0 and result.files.failed == 1
    blob = _blob(a, sha)
    assert not blob.present and not blob.uploaded and blob.last_error == DAMAGED
    assert sync_status(a.ctx).files.missing == 1
    assert AttachmentService(a.ctx).for_case(cid)[0].status == MISSING  # what the case window shows
    assert status_text(sync_status(a.ctx)).endswith("附件：缺失 1 个")
    again = a.sync.sync_once()  # not tried again and again: it is no longer here to send
    assert again.ok and again.files.failed == 0


def _wanted_on(desk, sha: str, size: int) -> None:
    with desk.ctx.sessions.begin() as s:
        blob = s.get(AttachmentBlob, sha)
        if blob is None:
            s.add(AttachmentBlob(sha256=sha, size=size, mime="application/pdf", present=False, uploaded=True,
                                 wanted=True))
        else:
            assert not blob.present
            blob.wanted = True


def test_download_resumes_from_the_partial_copy(make_desk):
    a, b = make_desk("A"), make_desk("B")
    _wire(a)
    cut = _wire(b)
    cid = _forwarded_case(a)
    data = _pdf_like(4 * CHUNK + 77)
    sha = _attach(a, cid, data)
    assert a.sync.sync_once().files.uploaded == 1
    cut.allow = 0
    assert b.sync.sync_once().ok  # the case and its attachment row arrive; the file cannot come yet
    _wanted_on(b, sha, len(data))
    cut.allow = 1 + 2  # the status, two chunks, then the line drops
    first = b.sync.sync_once()
    assert first.ok and first.files.error == OFFLINE and first.files.downloaded == 0
    assert b.ctx.blobs.open_partial(sha).offset == 2 * CHUNK and not b.ctx.blobs.has(sha)
    assert file_backlog(b.ctx).to_download == 1
    cut.allow, cut.received = None, 0
    second = b.sync.sync_once()
    assert second.files.downloaded == 1 and second.files.bytes_received == len(data) - 2 * CHUNK
    assert cut.received == len(data) - 2 * CHUNK < len(data)
    got = b.ctx.blobs.get(sha)
    assert got == data and hashlib.sha256(got).hexdigest() == sha
    blob = _blob(b, sha)
    assert blob.present and blob.last_error == ""
    assert file_backlog(b.ctx).to_download == 0


def test_a_download_that_does_not_match_its_hash_is_dropped_and_fetched_again(make_desk):
    a, b = make_desk("A"), make_desk("B")
    _wire(a)
    cut = _wire(b)
    cid = _forwarded_case(a)
    data = _pdf_like(CHUNK + 999)
    sha = _attach(a, cid, data)
    assert a.sync.sync_once().files.uploaded == 1
    _wanted_on(b, sha, len(data))
    cut.corrupt_next_download = True
    first = b.sync.sync_once()
    assert first.ok and first.files.downloaded == 0 and first.files.failed == 1
    blob = _blob(b, sha)
    assert not blob.present and blob.attempts == 1 and blob.last_error == BAD_HASH_DOWNLOAD
    assert not b.ctx.blobs.has(sha) and b.ctx.blobs.open_partial(sha).offset == 0  # nothing damaged kept
    second = b.sync.sync_once()
    assert second.files.downloaded == 1 and b.ctx.blobs.get(sha) == data
    assert _blob(b, sha).last_error == ""


def test_download_of_a_file_the_server_lacks_is_noted_missing(make_desk):
    b = make_desk("B")
    cut = _wire(b)
    sha = hashlib.sha256(b"never sent").hexdigest()
    _wanted_on(b, sha, 10)
    result = b.sync.sync_once()
    assert result.ok and result.files.downloaded == 0
    blob = _blob(b, sha)
    assert not blob.present and blob.last_error == NO_FILE
    assert sync_status(b.ctx).files.missing == 1
    assert status_text(sync_status(b.ctx)).endswith("附件：缺失 1 个")
    cut.file_requests.clear()
    assert b.sync.sync_once().ok and cut.file_requests == []  # not asked about again every round...
    with b.ctx.sessions.begin() as s:
        s.execute(update(AttachmentBlob).values(updated_at=utcnow() - dt.timedelta(minutes=20)))
    assert b.sync.sync_once().ok and cut.file_requests == [("GET", f"/v1/files/{sha}")]  # ...but now and then
    assert _blob(b, sha).attempts == 2


def test_round_budget_stops_early_and_continues_next_round(make_desk):
    a = make_desk("A")
    cut = _wire(a)
    cid = _forwarded_case(a)
    shas = [_attach(a, cid, _pdf_like(CHUNK + i + 1), material=f"材料{i}") for i in range(3)]
    cut.allow = 0  # the commands only
    assert a.sync.sync_once().pending == 0
    cut.allow = None
    files = FileTransfer(a.ctx, http=a.sync._http, max_bytes=CHUNK)  # one chunk's worth per round
    rounds = []
    while len(rounds) < 10:
        counts = files.run()
        rounds.append(counts)
        if not counts.more:
            break
    assert len(rounds) > 2 and rounds[0].more  # several short rounds, not one long one
    assert all(_blob(a, sha).uploaded for sha in shas)
    assert _outbox(a).get(OUTBOX_PENDING, 0) == 0


@pytest.mark.gui
def test_sync_page_and_status_bar_show_the_files_still_to_move(window, qtbot):
    import dataclasses

    from app.desk.sync.files import FileBacklog
    win = window
    win.show_page("sync")
    page = win.pages["sync"]
    st = dataclasses.replace(win.services.sync_status(), enrolled=True, online=True, server_url="https://区服务器:8443",
                             files=FileBacklog(to_upload=2, waiting_for_commands=1, to_download=1, missing=1))
    win._on_sync_status(st)  # what the sync thread's status signal does after a round
    expected = "附件：待上传 2 个，待下载 1 个，缺失 1 个"
    assert page.summary.text().endswith(expected) and win.server_label.text().endswith(expected)
    win.resize(1280, 800)
    qtbot.wait(50)
    os.makedirs("/tmp/work/shots", exist_ok=True)
    win.grab().save("/tmp/work/shots/sync_page_files.png")
    win._on_sync_status(dataclasses.replace(st, files=FileBacklog()))
    assert "附件" not in page.summary.text() and "附件" not in win.server_label.text()


def test_a_chunk_that_arrived_twice_is_answered_409_and_the_upload_goes_on(make_desk, api):
    """A proxy sent the second chunk twice: the server took the first copy and answers the second with 409
    OFFSET and where its copy ends; the desk goes on from there, and the file comes out whole."""
    a = make_desk("A")
    cut = _wire(a)
    cid = _forwarded_case(a)
    data = _pdf_like(3 * CHUNK + 10)
    sha = _attach(a, cid, data)
    cut.allow = 0  # the commands only
    assert a.sync.sync_once().pending == 0
    cut.allow = None
    a.transport.plan = [None, None, "duplicate"]  # status, chunk 1, chunk 2 (twice)
    counts = FileTransfer(a.ctx, http=a.sync._http).run()
    assert counts.uploaded == 1 and counts.failed == 0
    puts = [path for method, path in cut.file_requests if method == "PUT"]
    assert cut.statuses == [200, 200, 409, 200, 200]  # the copy that came second was refused: OFFSET
    assert len(puts) == 4  # each chunk once from the desk: after the 409 it went on from the server's offset
    assert hashlib.sha256(_server_bytes(api, a, sha)).hexdigest() == sha
    assert _blob(a, sha).uploaded


def test_a_file_taken_off_before_it_was_sent_is_not_sent(make_desk):
    a = make_desk("A")
    cut = _wire(a)
    cid = _forwarded_case(a)
    sha = _attach(a, cid, _pdf_like(5000))
    service = AttachmentService(a.ctx)
    service.remove(a.worker("desk"), service.for_case(cid)[0].id, "拍错了")
    result = a.sync.sync_once()
    assert result.ok and result.pending == 0 and _outbox(a) == {OUTBOX_APPLIED: 5}  # add and remove both went
    assert result.files.uploaded == 0 and cut.file_requests == []  # nothing holds the file: nothing to send
    assert not _blob(a, sha).uploaded and sync_status(a.ctx).files.empty


def _server_loses(seeded, *shas: str) -> None:
    """The server restored from a backup taken before these files arrived: it has no copy any more."""
    with seeded.engine.begin() as conn:
        for sha in shas:
            conn.execute(text("DELETE FROM server_blob WHERE sha256 = :sha"), {"sha": sha})


def test_a_file_the_restored_server_lost_is_sent_again_after_the_snapshot(make_desk, api, seeded):
    a = make_desk("A")
    cut = _wire(a)
    cid = _forwarded_case(a)
    lost, kept = _pdf_like(2 * CHUNK + 10), _pdf_like(3000)
    lost_sha, kept_sha = _attach(a, cid, lost), _attach(a, cid, kept, material="户口簿")
    assert a.sync.sync_once().files.uploaded == 2
    _server_loses(seeded, lost_sha)
    assert _server_file(api, a, lost_sha)["complete"] is False
    with a.ctx.sessions.begin() as s:  # what a 410 on pull leads to (app/desk/sync/client.py)
        s.get_one(SyncState, SYNC_STATE_ID).needs_snapshot = True
    cut.file_requests.clear()
    result = a.sync.sync_once()
    assert result.ok and result.snapshot
    assert result.files.uploaded == 2 and result.files.failed == 0  # the kept one: one status request, no bytes
    puts = {path for method, path in cut.file_requests if method == "PUT"}
    assert puts == {Endpoint.FILE.format(sha256=lost_sha)}
    assert ("GET", Endpoint.FILE.format(sha256=kept_sha)) in cut.file_requests
    assert _server_file(api, a, lost_sha)["complete"] is True
    assert hashlib.sha256(_server_bytes(api, a, lost_sha)).hexdigest() == lost_sha
    assert _blob(a, lost_sha).uploaded and _blob(a, kept_sha).uploaded


def test_uploads_go_on_past_files_that_can_never_go(make_desk, monkeypatch):
    """Files taken off before they were sent, or whose add the server refused, never fill a round's candidates."""
    monkeypatch.setattr(files_module, "MAX_FILES_PER_ROUND", 2)
    a = make_desk("A")
    cut = _wire(a)
    cid = _forwarded_case(a)
    gone = _attach(a, cid, _pdf_like(3000))
    service = AttachmentService(a.ctx)
    service.remove(a.worker("desk"), next(i.id for i in service.for_case(cid) if i.sha256 == gone), "拍错了")
    refused = _attach(a, cid, _pdf_like(3100), material="户口簿")
    cut.allow = 0  # the commands only
    assert a.sync.sync_once().pending == 0
    sha_of = OutboxEntry.args["sha256"].as_string()
    with a.ctx.sessions.begin() as s:  # as the server answers a command it refuses: set aside, never applied
        s.execute(update(OutboxEntry).where(sha_of == refused).values(status=OUTBOX_SET_ASIDE))
    ready = _attach(a, cid, _pdf_like(3200), material="其他材料")
    with a.ctx.sessions.begin() as s:  # the stuck ones first in the candidates' order
        s.execute(update(AttachmentBlob).where(AttachmentBlob.sha256.in_((gone, refused)))
                  .values(updated_at=utcnow() - dt.timedelta(hours=1)))
    cut.allow, cut.file_requests = None, []
    result = a.sync.sync_once()
    assert result.ok and result.files.uploaded == 1
    assert {path for _, path in cut.file_requests} == {Endpoint.FILE.format(sha256=ready)}
    assert _blob(a, ready).uploaded and not _blob(a, gone).uploaded and not _blob(a, refused).uploaded
    backlog = file_backlog(a.ctx)
    assert backlog.to_upload == 1 and backlog.waiting_for_commands == 1  # the refused one; the removed one not


def test_a_file_not_here_is_downloadable_only_once_the_server_holds_it_whole(make_desk, monkeypatch, api):
    """Desk B (nobody there decides the case): 附件上传中 until the server said it holds the file whole, then
    可下载 — found by a status request of B's own round, which tells the case windows (``files.moved``)."""
    monkeypatch.setattr(files_module, "RECHECK_AFTER", dt.timedelta(0), raising=False)  # asked every round
    a, b = make_desk("A"), make_desk("B")
    cut_a, cut_b = _wire(a), _wire(b)
    cid = _forwarded_case(a)
    sha = _attach(a, cid, _pdf_like(2 * CHUNK + 1))
    cut_a.allow = 0  # the commands go, the file does not
    assert a.sync.sync_once().pending == 0
    first = b.sync.sync_once()
    assert first.ok and [i.status for i in AttachmentService(b.ctx).for_case(cid)] == [UPLOADING]
    assert ("GET", Endpoint.FILE.format(sha256=sha)) in cut_b.file_requests  # asked, not complete yet
    assert first.files.confirmed == 0
    assert not _blob(b, sha).uploaded and not _blob(b, sha).wanted
    cut_a.allow = None
    assert a.sync.sync_once().files.uploaded == 1
    second = b.sync.sync_once()
    assert second.files.confirmed == 1 and second.files.moved and second.files.downloaded == 0
    assert [i.status for i in AttachmentService(b.ctx).for_case(cid)] == [ON_DEMAND]
    blob = _blob(b, sha)
    assert blob.uploaded and not blob.present and blob.uploaded_bytes == 2 * CHUNK + 1
    cut_b.file_requests.clear()
    assert b.sync.sync_once().files.confirmed == 0 and cut_b.file_requests == []  # known now: not asked again


def test_a_file_put_back_here_is_offered_to_the_server_again(make_desk, api, seeded):
    """Bytes this desk had not (a wanted file found in the store after all: put back from a backup) count as
    on the server only once it says so; a server that lost them gets them from here."""
    a, b = make_desk("A"), make_desk("B")
    _wire(a)
    cut = _wire(b)
    cid = _forwarded_case(a)
    data = _pdf_like(3000)
    sha = _attach(a, cid, data)
    assert a.sync.sync_once().files.uploaded == 1
    assert b.sync.sync_once().ok
    b.ctx.blobs.put(data)  # the bytes are here, the row does not know it yet
    _wanted_on(b, sha, len(data))
    with b.ctx.sessions.begin() as s:
        s.get_one(AttachmentBlob, sha).uploaded = True
    _server_loses(seeded, sha)
    first = b.sync.sync_once()
    assert first.ok and _blob(b, sha).present and not _blob(b, sha).uploaded  # found here: the server asked next
    second = b.sync.sync_once()
    assert second.files.uploaded == 1 and any(m == "PUT" for m, _ in cut.file_requests)
    assert _blob(b, sha).uploaded and _server_file(api, b, sha)["complete"] is True
