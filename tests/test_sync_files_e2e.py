"""Attachments end to end with a real server process on loopback (PostgreSQL) and two desk data folders:
the front desk captures two pages into a forwarded case, the line colleague's desk receives the case, the
attachment and the very same bytes; an upload cut off by the server dying mid-file resumes after the restart;
a file gone from the adding desk never stops its commands and shows as 附件上传中/缺失 at the other desk."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import signal
import socket
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from app.cli.main import main
from app.desk.attachments import MISSING, ON_DEMAND, SYNCED, UPLOADING
from app.desk.attachments.service import AttachmentService
from app.desk.auth import AuthService, worker_info
from app.desk.cases import CaseService
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.packet import PacketService
from app.desk.sync.client import SyncClient, sync_status
from app.desk.sync.files import fetch_case
from app.server import admin
from models import AttachmentBlob, OutboxEntry, Worker
from tests.sync_helpers import COMMITTEE, ITEM, PASSWORDS, free_port, start_server, stop_server, wait_ready

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _page(seed: int, size=(1600, 1200), noise: bool = False) -> bytes:
    """A photographed page: lines of 'text' on a grey page; ``noise`` makes it compress badly (a big file)."""
    rnd = random.Random(seed)
    if noise:
        img = Image.frombytes("L", size, os.urandom(size[0] * size[1])).convert("RGB")
    else:
        img = Image.new("RGB", size, (228, 226, 220))
    draw = ImageDraw.Draw(img)
    for y in range(80, size[1] - 80, 60):
        x = 90
        while x < size[0] - 200:
            w = rnd.randint(30, 160)
            draw.rectangle((x, y, x + w, y + 24), fill=(30, 30, 30))
            x += w + rnd.randint(20, 40)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def _enrolled(tmp_path: Path, template_db: Path, seeded, url: str, name: str) -> AppContext:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copyfile(template_db, folder / DB_FILENAME)
    code, _ = admin.create_enroll_code(seeded, COMMITTEE)
    assert main(["--data-dir", str(folder), "enroll", "--server", url, "--code", code,
                 "--allow-insecure-http", "--no-sync"]) == 0  # loopback plain http: the lab opt-in
    return AppContext.open(folder)


def _worker(ctx: AppContext, login: str):
    with ctx.sessions() as s:
        return worker_info(s.scalars(select(Worker).where(Worker.login == login)).one())


def _sync(client: SyncClient):
    result = client.sync_once()
    assert result.ok, result.error
    return result


def _forwarded_case_with_pages(ctx: AppContext, pages: list[bytes], material: str = "身份证"):
    cases, desk = CaseService(ctx), _worker(ctx, "desk")
    cid = cases.create_draft(desk, ITEM, None)
    cases.submit(desk, cid, {"x": 1}, {material: True})
    info = AttachmentService(ctx).add_images(desk, cid, material, pages, source="camera")
    cases.forward(desk, cid, assignee_id=_worker(ctx, "mz").id, queue="民政", note="请审核")
    return cid, info


def _pending_commands(ctx: AppContext) -> int:
    with ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.status == "pending")) or 0


def test_two_captured_pages_reach_the_colleagues_desk_with_the_same_bytes(tmp_path, template_db, seeded, pg_url):
    proc, port = start_server(tmp_path, pg_url)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        a, b = (_enrolled(tmp_path, template_db, seeded, url, n) for n in ("A", "B"))
        sync_a, sync_b = SyncClient(a), SyncClient(b)
        _sync(sync_a)
        _sync(sync_b)  # accounts arrive at both desks
        AuthService(b).login("mz", PASSWORDS["mz"])  # the colleague works at desk B: its files come by themselves
        cid, info = _forwarded_case_with_pages(a, [_page(1), _page(2)])
        assert info.pages == 2 and info.mime == "application/pdf"  # two pages merged into one PDF
        sent = _sync(sync_a)
        assert sent.pending == 0 and sent.files.uploaded == 1 and not sent.files.error
        assert AttachmentService(a).for_case(cid)[0].status == SYNCED
        got = _sync(sync_b)
        assert CaseService(b).get(cid).summary.state == "forwarded"
        seen = AttachmentService(b).for_case(cid)
        assert [(x.sha256, x.material, x.pages) for x in seen] == [(info.sha256, "身份证", 2)]
        assert got.files.downloaded == 1 and seen[0].present and seen[0].status == SYNCED
        data = AttachmentService(b).read(seen[0].id)
        assert hashlib.sha256(data).hexdigest() == info.sha256 and data[:5] == b"%PDF-"
        assert AttachmentService(b).for_case(cid)[0].present
        assert sync_status(b).files.to_download == 0 and sync_status(a).files.to_upload == 0
        for client, ctx in ((sync_a, a), (sync_b, b)):
            client.close()
            ctx.close()
    finally:
        stop_server(proc)


class _KillMidUpload:
    """Loopback TCP proxy in front of the server process. Once armed, after ``after_bytes`` of file uploads
    (PUT /v1/files) have passed towards the server, it SIGKILLs the server and drops the connection: the
    upload dies half-way through a file, as when the server's machine loses power."""

    def __init__(self, target_port: int, after_bytes: int):
        self.target_port, self.after_bytes, self.proc = target_port, after_bytes, None
        self.armed, self.killed, self.passed = False, threading.Event(), 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            state = {"put": False}
            threading.Thread(target=self._pump, args=(client, upstream, state, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, state, False), daemon=True).start()

    def _pump(self, src, dst, state, to_server: bool) -> None:
        try:
            while data := src.recv(65536):
                if to_server and b"PUT /v1/files/" in data:
                    state["put"] = True
                if to_server and state["put"] and self.armed and not self.killed.is_set():
                    self.passed += len(data)
                    if self.passed > self.after_bytes:
                        os.kill(self.proc.pid, signal.SIGKILL)  # mid-file, mid-chunk
                        self.proc.wait()
                        self.killed.set()
                        break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):  # shutdown first: it wakes the other direction's recv and tells the peer
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.listener.close()


def test_upload_cut_off_by_the_server_dying_resumes_after_restart(tmp_path, template_db, seeded, pg_url):
    server_port = free_port()
    proc, _ = start_server(tmp_path, pg_url, port=server_port)
    proxy = _KillMidUpload(server_port, after_bytes=700 * 1024)
    proxy.proc = proc
    url = f"http://127.0.0.1:{proxy.port}"
    try:
        wait_ready(url, proc)
        a, b = (_enrolled(tmp_path, template_db, seeded, url, n) for n in ("A", "B"))
        sync_a, sync_b = SyncClient(a), SyncClient(b)
        _sync(sync_a)
        _sync(sync_b)
        pages = [_page(10 + i, size=(1400, 1050), noise=True) for i in range(4)]
        cid, info = _forwarded_case_with_pages(a, pages, material="户口簿")
        assert info.size > 1024 * 1024  # several chunks
        proxy.armed = True
        first = sync_a.sync_once()
        assert proxy.killed.is_set() and proc.poll() is not None  # the server process is gone mid-file
        assert first.ok and first.pending == 0  # the commands had gone first
        assert first.files.uploaded == 0 and first.files.error
        with a.sessions() as s:
            blob = s.get(AttachmentBlob, info.sha256)
            assert blob is not None and not blob.uploaded
            acknowledged = blob.uploaded_bytes
        assert 0 < acknowledged < info.size
        proc, _ = start_server(tmp_path, pg_url, port=server_port)  # the administrator restarts it
        proxy.proc = proc
        wait_ready(f"http://127.0.0.1:{server_port}", proc)
        second = _sync(sync_a)
        assert second.files.uploaded == 1
        assert second.files.bytes_sent <= info.size - acknowledged < info.size  # resumed, not started again
        _sync(sync_b)  # nobody from 民政 has logged in at B: the file waits on the server until asked for
        seen = AttachmentService(b).for_case(cid)
        assert not seen[0].present and seen[0].status == ON_DEMAND
        fetched = fetch_case(b, cid)  # the case window's 下载附件
        assert fetched.downloaded == 1 and fetched.bytes_received == info.size, fetched.error
        assert hashlib.sha256(AttachmentService(b).read(seen[0].id)).hexdigest() == info.sha256
        for client, ctx in ((sync_a, a), (sync_b, b)):
            client.close()
            ctx.close()
    finally:
        proxy.close()
        stop_server(proc)


def test_a_file_gone_before_upload_never_stops_the_case(tmp_path, template_db, seeded, pg_url):
    proc, port = start_server(tmp_path, pg_url)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        a, b = (_enrolled(tmp_path, template_db, seeded, url, n) for n in ("A", "B"))
        sync_a, sync_b = SyncClient(a), SyncClient(b)
        _sync(sync_a)
        _sync(sync_b)
        AuthService(b).login("mz", PASSWORDS["mz"])
        cid, info = _forwarded_case_with_pages(a, [_page(3)])
        a.blobs.delete(info.sha256)  # lost from the desk's disk before it was sent
        sent = _sync(sync_a)
        assert sent.pending == 0 and _pending_commands(a) == 0  # every command went, the case with them
        assert sent.files.uploaded == 0 and sent.files.failed == 1
        assert AttachmentService(a).for_case(cid)[0].status == MISSING
        assert sync_status(a).files.missing == 1
        _sync(sync_b)
        case_b = CaseService(b).get(cid)
        assert case_b.summary.state == "forwarded"
        seen = AttachmentService(b).for_case(cid)
        assert len(seen) == 1 and not seen[0].present and seen[0].status == UPLOADING  # 附件上传中
        assert fetch_case(b, cid).downloaded == 0  # asking again changes nothing: no bytes yet
        assert AttachmentService(b).for_case(cid)[0].status == UPLOADING
        packet = PacketService(b).build(cid, _worker(b, "mz"))  # what the colleague's case window lays out
        assert [(x.sha256, x.status) for x in packet.attachments] == [(info.sha256, UPLOADING)]
        assert sync_status(b).files.to_download == 1
        again = _sync(sync_a)  # and the next rounds go on as before
        assert again.ok and again.pending == 0
        for client, ctx in ((sync_a, a), (sync_b, b)):
            client.close()
            ctx.close()
    finally:
        stop_server(proc)


def test_bench_attachments_quick_prints_one_json_object(capsys):
    """The bench runs end to end (its own server process and desks) and reports every figure it promises."""
    assert main(["bench", "attachments", "--quick", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("capture_to_attached_ms", "upload_mb_s", "download_mb_s", "loopback_copy_mb_s",
                "plain_get_mb_s", "plain_chunked_put_mb_s", "upload_vs_loopback", "download_vs_loopback"):
        assert figures[key] > 0, key
    assert figures["files"] == 3 and figures["pages"] == 3 and figures["chunk_kb"] == 256
