"""``python main.py bench attachments [--quick] [--json]``: how long a captured page takes to be attached, and
how fast attachment bytes move between a desk and a real server process on loopback.

1. Capture to attached: a camera-size page (8 MP JPEG, as a 高拍仪 delivers it) goes through
   ``AttachmentService.add_images`` into a case (normalise, store encrypted, metadata + outbox row in one
   transaction): median of N pages.
2. Upload and download: files of a few MB (incompressible) added to a case, their commands pushed, then each
   file sent by ``FileTransfer`` (256 KiB chunks, each acknowledged, the desk's store encrypted) and fetched by
   a second desk (chunks with ``Range``, appended to the partial copy, sha256 checked): MB/s, median of several
   files. Floors measured in the same run on the same machine: the same bytes through a plain loopback TCP
   socket (what the wire itself allows); a bare httpx client PUTting the same chunks of another file, one file
   after each timed upload (the server's own per-chunk cost, without the desk's store and bookkeeping); the same
   Range GETs and one GET of the whole file (the server's download speed, chunked and not). The ratios say what
   the desk's resumable transfer costs over the server it talks to, and what chunking costs over the wire.

The server runs as its own process (``python main.py server``) on SQLite in a scratch folder, or on PostgreSQL
when ``ONEDESK_BENCH_PG_URL`` (or ``ONEDESK_TEST_PG_URL``) names a server, in a scratch database dropped after.
"""

from __future__ import annotations

import io
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import Engine, make_url

from app.bench.sync import BenchServer, desk_template
from app.core.commands import AttachmentArgs
from app.core.limits import ATTACHMENT_CHUNK_BYTES
from app.core.vocabulary import Mutation
from app.core.wire import Endpoint
from app.desk import keystore
from app.desk.auth import hash_password, worker_info
from app.desk.cases import CaseService, ItemRef
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.outbox import enqueue
from app.desk.sync.client import SyncClient
from app.desk.sync.enroll import enroll_desk
from app.desk.sync.files import FileTransfer
from app.server import admin
from app.server.db import ServerDB, normalise_url, open_server_db
from models import Attachment, AttachmentBlob, Device, Worker

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "bench")
COMMITTEE = "B0001"
MB = 1024 * 1024


# ----- the server process and desks -----------------------------------------------------------------------------
def _seed(url: str) -> ServerDB:
    db = open_server_db(url)
    admin.add_committee(db, COMMITTEE, "基准测试居委会")
    pw = hash_password("benchpass")
    admin.add_worker(db, COMMITTEE, "desk", "前台", roles=["front_desk"], password_hash=pw)
    admin.add_worker(db, COMMITTEE, "mz", "民政", roles=["line"], lines=["民政"], password_hash=pw)
    return db


def _desk(workdir: Path, template: Path, name: str, db: ServerDB, server: BenchServer) -> AppContext:
    folder = workdir / name
    folder.mkdir()
    shutil.copyfile(template, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    code, _ = admin.create_enroll_code(db, COMMITTEE)
    enroll_desk(ctx, server.url, code, allow_insecure_http=True)  # loopback: the lab opt-in
    return ctx


def _sync(ctx: AppContext, files: FileTransfer | None = None) -> None:
    client = SyncClient(ctx, files=files)
    try:
        result = client.sync_once()
        if not result.ok:
            raise RuntimeError(result.error)
    finally:
        client.close()


def _worker(ctx: AppContext, login: str):
    with ctx.sessions() as s:
        return worker_info(s.scalars(select(Worker).where(Worker.login == login)).one())


# ----- 1. capture to attached -----------------------------------------------------------------------------------
def camera_page(seed: int, size: tuple[int, int] = (3264, 2448)) -> bytes:
    """A document as a document camera photographs it: an 8 MP JPEG of a slightly grey page with lines of
    'text', a darker border of desk around it; each seed a different page."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    img = Image.new("RGB", size, (70, 62, 55))
    draw = ImageDraw.Draw(img)
    w, h = size
    page = (int(w * 0.08), int(h * 0.05), int(w * 0.92), int(h * 0.95))
    draw.rectangle(page, fill=(232, 230, 224))
    y = page[1] + 120
    while y < page[3] - 120:
        x = page[0] + 150
        while x < page[2] - 150:
            word = rnd.randint(40, 220)
            draw.rectangle((x, y, min(x + word, page[2] - 150), y + 38), fill=(rnd.randint(20, 60),) * 3)
            x += word + rnd.randint(25, 60)
        y += rnd.randint(70, 110)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92)
    return out.getvalue()


def _capture(ctx: AppContext, case_id: uuid.UUID, actor, pages: int) -> dict:
    from app.desk.attachments.service import AttachmentService

    service = AttachmentService(ctx)
    images = [camera_page(i) for i in range(pages + 1)]
    service.add_images(actor, case_id, "身份证", [images[-1]])  # warm up: imports, the store's key, SQL
    times, sizes = [], []
    for image in images[:-1]:
        t0 = time.perf_counter()
        info = service.add_images(actor, case_id, "身份证", [image])
        times.append(time.perf_counter() - t0)
        sizes.append(info.size)
    return {"pages": pages, "camera_jpeg_kb": round(statistics.median(len(i) for i in images) / 1024),
            "capture_to_attached_ms": round(statistics.median(times) * 1000, 1),
            "capture_to_attached_max_ms": round(max(times) * 1000, 1),
            "attached_page_kb": round(statistics.median(sizes) / 1024)}


# ----- 2. upload and download -----------------------------------------------------------------------------------
def _add_file(ctx: AppContext, case_id: uuid.UUID, actor, data: bytes, n: int) -> str:
    """An attachment as AttachmentService.add_file writes it (store, metadata, outbox row), for bytes that are
    not a real document: the bench measures the transfer, not the normalising."""
    sha = ctx.blobs.put(data)
    args = AttachmentArgs(id=uuid.uuid4(), case_id=case_id, material="其他材料", sha256=sha, size=len(data),
                          mime="application/pdf", filename=f"bench-{n}.pdf", pages=1, source="file")
    with ctx.sessions.begin() as s:
        s.add(Attachment(id=args.id, committee_id=ctx.identity().committee_id, case_id=case_id, material="其他材料",
                         sha256=sha, size=len(data), mime=args.mime, filename=args.filename, pages=1, source="file",
                         added_by_id=actor.id))
        s.add(AttachmentBlob(sha256=sha, size=len(data), mime=args.mime, present=True))
        enqueue(s, Mutation.ATTACHMENT_ADD, args.wire(), actor.id)
    return sha


def _mb_s(nbytes: int, seconds: float) -> float:
    return nbytes / MB / seconds if seconds > 0 else float("inf")


def _sink(listener: socket.socket, got: bytearray) -> None:
    conn, _ = listener.accept()
    with conn:
        while chunk := conn.recv(1 << 20):
            got.extend(chunk)


def _loopback_copy_mb_s(data: bytes, repeat: int) -> float:
    """The same bytes through a plain loopback TCP connection: what the wire allows on this machine."""
    rates = []
    for _ in range(repeat):
        listener = socket.create_server(("127.0.0.1", 0))
        got = bytearray()
        reader = threading.Thread(target=_sink, args=(listener, got))
        reader.start()
        t0 = time.perf_counter()
        with socket.create_connection(listener.getsockname()) as out:
            out.sendall(data)
        reader.join()
        rates.append(_mb_s(len(got), time.perf_counter() - t0))
        listener.close()
    return statistics.median(rates)


def _transfer(ctx_a: AppContext, ctx_b: AppContext, server: BenchServer, case_id: uuid.UUID, actor, files: int,
              size: int) -> dict:
    blobs = [os.urandom(size) for _ in range(files)]
    no_files = FileTransfer(ctx_a, max_bytes=0)  # the commands' push alone: each file is timed on its own below
    up_rates, put_rates, shas = [], [], []
    plain = _PlainPut(ctx_a, server, case_id, actor, files, size, no_files)
    sender = FileTransfer(ctx_a, max_bytes=2 * size + MB, max_s=600)
    try:
        for n, data in enumerate(blobs):
            sha = _add_file(ctx_a, case_id, actor, data, n)
            _sync(ctx_a, no_files)
            t0 = time.perf_counter()
            counts = sender.run()
            elapsed = time.perf_counter() - t0
            if counts.uploaded != 1:
                raise RuntimeError(counts.error or "upload did not complete")
            up_rates.append(_mb_s(size, elapsed))
            shas.append(sha)
            put_rates.append(plain.next())  # interleaved: both see the same load of this machine
    finally:
        sender.close()
        plain.close()
    _sync(ctx_b, FileTransfer(ctx_b, max_bytes=0))  # the case and its attachment rows arrive, no bytes yet
    down_rates = []
    receiver = FileTransfer(ctx_b, max_bytes=2 * size + MB, max_s=600)
    try:
        with ctx_b.sessions.begin() as s:  # only the timed one is wanted at a time
            s.execute(update(AttachmentBlob).values(wanted=False))
        for sha in shas:
            with ctx_b.sessions.begin() as s:
                blob = s.get(AttachmentBlob, sha)
                if blob is None:
                    s.add(AttachmentBlob(sha256=sha, size=size, mime="application/pdf", present=False,
                                         uploaded=True, wanted=True))
                else:
                    blob.wanted = True
            t0 = time.perf_counter()
            counts = receiver.run()
            elapsed = time.perf_counter() - t0
            if counts.downloaded != 1:
                raise RuntimeError(counts.error or "download did not complete")
            down_rates.append(_mb_s(size, elapsed))
    finally:
        receiver.close()
    if ctx_b.blobs.get(shas[0]) != blobs[0]:
        raise RuntimeError("downloaded bytes differ")
    raw_rates, ranged_rates = [], []
    auth = {"Authorization": f"Bearer {_token(ctx_b)}"}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for sha in shas:
            path = Endpoint.FILE_CONTENT.format(sha256=sha)
            t0 = time.perf_counter()
            resp = http.get(path, headers=auth)
            elapsed = time.perf_counter() - t0
            if resp.status_code not in (200, 206) or len(resp.content) != size:
                raise RuntimeError(f"plain GET answered {resp.status_code}")
            raw_rates.append(_mb_s(size, elapsed))
            t0, got = time.perf_counter(), 0
            for start in range(0, size, ATTACHMENT_CHUNK_BYTES):  # the same ranges, nothing done with them
                end = min(size, start + ATTACHMENT_CHUNK_BYTES) - 1
                got += len(http.get(path, headers={**auth, "Range": f"bytes={start}-{end}"}).content)
            ranged_rates.append(_mb_s(got, time.perf_counter() - t0))
    floor = _loopback_copy_mb_s(blobs[0], max(3, files))
    up, down, raw = statistics.median(up_rates), statistics.median(down_rates), statistics.median(raw_rates)
    ranged, put = statistics.median(ranged_rates), statistics.median(put_rates)
    return {"files": files, "file_mb": round(size / MB, 2), "chunk_kb": ATTACHMENT_CHUNK_BYTES // 1024,
            "upload_mb_s": round(up, 1), "download_mb_s": round(down, 1), "plain_get_mb_s": round(raw, 1),
            "plain_ranged_get_mb_s": round(ranged, 1), "plain_chunked_put_mb_s": round(put, 1),
            "loopback_copy_mb_s": round(floor, 1), "upload_vs_loopback": round(up / floor, 4),
            "upload_vs_plain_put": round(up / put, 3), "download_vs_loopback": round(down / floor, 4),
            "download_vs_plain_get": round(down / raw, 3),
            "download_vs_plain_ranged_get": round(down / ranged, 3)}


class _PlainPut:
    """Other files of the same size, their commands pushed, their chunks PUT one file per :meth:`next` by a bare
    httpx client: the server's own upload speed, without the desk's store, bookkeeping and status requests."""

    def __init__(self, ctx: AppContext, server: BenchServer, case_id: uuid.UUID, actor, files: int, size: int,
                 no_files: FileTransfer):
        self.files = [os.urandom(size) for _ in range(files)]
        self.shas = [_add_file(ctx, case_id, actor, data, 1000 + n) for n, data in enumerate(self.files)]
        with ctx.sessions.begin() as s:  # not the desk's to send: these go up by hand below
            s.execute(update(AttachmentBlob).where(AttachmentBlob.sha256.in_(self.shas)).values(uploaded=True))
        _sync(ctx, no_files)
        self.headers = {"Authorization": f"Bearer {_token(ctx)}", "Content-Type": "application/octet-stream"}
        self.http = httpx.Client(base_url=server.url, timeout=60)

    def next(self) -> float:
        sha, data = self.shas.pop(0), self.files.pop(0)
        t0 = time.perf_counter()
        for start in range(0, len(data), ATTACHMENT_CHUNK_BYTES):
            resp = self.http.put(Endpoint.FILE.format(sha256=sha), params={"offset": start}, headers=self.headers,
                                 content=data[start:start + ATTACHMENT_CHUNK_BYTES])
            if resp.status_code != 200:
                raise RuntimeError(f"plain PUT answered {resp.status_code}")
        return _mb_s(len(data), time.perf_counter() - t0)

    def close(self) -> None:
        self.http.close()


def _token(ctx: AppContext) -> str:
    with ctx.sessions() as s:
        dev = s.scalars(select(Device).where(Device.is_local.is_(True))).one()
        return keystore.device_token(dev) or ""


def _forget_token(ctx: AppContext) -> None:
    """The scratch desks' tokens do not outlive the run in this user's key store."""
    with ctx.sessions() as s:
        dev = s.scalars(select(Device).where(Device.is_local.is_(True))).first()
    if dev is not None:
        keystore.delete_secret(keystore.device_token_name(dev.id))


# ----- the run --------------------------------------------------------------------------------------------------
def _pg_database() -> tuple[str, Engine, str] | None:
    base = os.environ.get("ONEDESK_BENCH_PG_URL") or os.environ.get("ONEDESK_TEST_PG_URL")
    if not base:
        return None
    engine = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT", hide_parameters=True)
    name = f"onedesk_bench_att_{secrets.token_hex(4)}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False), engine, name


def run_attachments_bench(*, quick: bool = False) -> dict[str, Any]:
    pages, files, size = (3, 3, 2 * MB) if quick else (9, 7, 8 * MB)
    pg = _pg_database()
    with tempfile.TemporaryDirectory(prefix="onedesk-bench-att-") as tmp:
        workdir = Path(tmp)
        url = pg[0] if pg else f"sqlite:///{workdir / 'server.sqlite3'}"
        template = desk_template(workdir)
        db = _seed(url)
        server = BenchServer(url, workdir)
        try:
            a, b = _desk(workdir, template, "A", db, server), _desk(workdir, template, "B", db, server)
            try:
                _sync(a)
                _sync(b)
                actor = _worker(a, "desk")
                cases = CaseService(a)
                cid = cases.create_draft(actor, ITEM, None)
                cases.submit(actor, cid, {"x": 1}, {"身份证": True})
                result: dict[str, Any] = {"backend": "PostgreSQL" if pg else "SQLite", "quick": quick}
                result.update(_capture(a, cid, actor, pages))
                _sync(a)  # the captured pages go up before the timed files, so each run below sends one file
                result.update(_transfer(a, b, server, cid, actor, files, size))
            finally:
                for ctx in (a, b):
                    _forget_token(ctx)
                    ctx.close()
        finally:
            server.stop()
            db.close()
            if pg:
                with pg[1].connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{pg[2]}" WITH (FORCE)'))
                pg[1].dispose()
    return result


def _print(r: dict[str, Any]) -> None:
    print(f"拍摄到附加：一页 {r['camera_jpeg_kb']} KB 的 800 万像素照片经规范化存入案件，中位数 "
          f"{r['capture_to_attached_ms']} ms（{r['pages']} 页，最慢 {r['capture_to_attached_max_ms']} ms），"
          f"存下的页面 {r['attached_page_kb']} KB")
    print(f"上传（{r['backend']} 服务器进程，本机回环，{r['files']} 个 {r['file_mb']} MB 文件，"
          f"每块 {r['chunk_kb']} KB）：中位数 {r['upload_mb_s']} MB/s；"
          f"同样分块直接 PUT {r['plain_chunked_put_mb_s']} MB/s（上传为其 {r['upload_vs_plain_put']:.0%}）")
    print(f"下载：中位数 {r['download_mb_s']} MB/s；同一服务器整文件直接 GET {r['plain_get_mb_s']} MB/s"
          f"（下载为其 {r['download_vs_plain_get']:.0%}），按同样分块直接 GET {r['plain_ranged_get_mb_s']} MB/s"
          f"（下载为其 {r['download_vs_plain_ranged_get']:.0%}）")
    print(f"基线：同样字节经本机回环 TCP 直接复制 {r['loopback_copy_mb_s']} MB/s；"
          f"上传为其 {r['upload_vs_loopback']:.2%}，下载为其 {r['download_vs_loopback']:.2%}")


def bench_attachments(args=None) -> int:
    """Entry point of ``python main.py bench attachments [--quick] [--json]`` (app/cli/bench.py)."""
    result = run_attachments_bench(quick=bool(getattr(args, "quick", False)))
    if getattr(args, "json", False):
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print(result)
    return 0
