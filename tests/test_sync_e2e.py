"""End to end with a real server process (uvicorn on a free loopback port) and two desk data folders:
desk A forwards, desk B's line colleague replies, desk A sees the reply and closes. Also over TLS with the
district's own CA, which the desk must present (certificate checks are never turned off)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli.main import main
from app.desk.auth import worker_info
from app.desk.cases import CaseService
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.sync.client import sync_status
from app.desk.sync.enroll import EnrollFailed, enroll_desk, tls_verify
from app.server import admin
from models import Worker
from tests.sync_helpers import COMMITTEE, ITEM, free_port, server_counts, start_server, stop_server, wait_ready

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _desk_folder(tmp_path: Path, template_db: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copyfile(template_db, folder / DB_FILENAME)
    return folder


def _worker(ctx: AppContext, login: str):
    with ctx.sessions() as s:
        return worker_info(s.scalars(select(Worker).where(Worker.login == login)).one())


def _sync(folder: Path) -> None:
    assert main(["--data-dir", str(folder), "sync", "--once"]) == 0


def test_forward_reply_close_across_two_desks_and_a_real_server(tmp_path, template_db, seeded, pg_url, capsys):
    proc, port = start_server(tmp_path, pg_url)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        folders = {}
        for name in ("A", "B"):
            folders[name] = _desk_folder(tmp_path, template_db, name)
            code, _ = admin.create_enroll_code(seeded, COMMITTEE)
            assert main(["--data-dir", str(folders[name]), "enroll", "--server", url, "--code", code,
                         "--allow-insecure-http"]) == 0  # plain http: the lab opt-in (tests/test_tls.py)
        assert "登记成功" in capsys.readouterr().out
        a, b = AppContext.open(folders["A"]), AppContext.open(folders["B"])
        cases_a, cases_b = CaseService(a), CaseService(b)
        desk, mz = _worker(a, "desk"), _worker(b, "mz")
        cid = cases_a.create_draft(desk, ITEM, None)
        cases_a.submit(desk, cid, {"x": 1}, {"身份证": True})
        cases_a.forward(desk, cid, assignee_id=mz.id, queue="民政", note="请审核")
        _sync(folders["A"])
        _sync(folders["B"])
        assert cases_b.get(cid).summary.state == "forwarded"
        cases_b.acknowledge(mz, cid)
        cases_b.reply(mz, cid, "approved", "符合条件，已发放")
        _sync(folders["B"])
        _sync(folders["A"])
        seen = cases_a.get(cid)
        assert seen.summary.state == "replied" and seen.reply_text == "符合条件，已发放"
        cases_a.close(desk, cid, "phone")
        _sync(folders["A"])
        _sync(folders["B"])
        final_b = cases_b.get(cid)
        assert final_b.summary.state == "closed"
        assert [e.action_label for e in final_b.events] == [e.action_label for e in cases_a.get(cid).events]
        assert sync_status(a).pending == sync_status(b).pending == 0
        a.close()
        b.close()
    finally:
        stop_server(proc)


def _make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A district CA and a server certificate for 127.0.0.1 signed by it (openssl command line)."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=OneDesk District Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                    "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make test certificates")
def test_tls_with_the_districts_own_ca(tmp_path, template_db, seeded, pg_url):
    certs = tmp_path / "certs"
    certs.mkdir()
    ca, cert, key = _make_certificates(certs)
    proc, port = start_server(tmp_path, pg_url, "--cert", str(cert), "--key", str(key))
    url = f"https://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, verify=tls_verify(ca))
        stranger = AppContext.open(_desk_folder(tmp_path, template_db, "stranger"))
        code, _ = admin.create_enroll_code(seeded, COMMITTEE)
        with pytest.raises(EnrollFailed, match="--ca-file"):
            enroll_desk(stranger, url, code)  # without the district CA to pin, https is not even tried
        stranger.close()
        folder = _desk_folder(tmp_path, template_db, "A")
        assert main(["--data-dir", str(folder), "enroll", "--server", url, "--code", code, "--ca-file", str(ca)]) == 0
        _sync(folder)
        ctx = AppContext.open(folder)
        assert sync_status(ctx).online and _worker(ctx, "mz").lines == ("民政",)
        ctx.close()
    finally:
        stop_server(proc)


class _KillingProxy:
    """Loopback TCP proxy in front of the server process. Once armed, the moment the server starts to answer a
    push (so it has committed) the proxy SIGKILLs the server and drops the desk's connection: the desk never
    hears the answer to work the server did."""

    def __init__(self, target_port: int):
        self.target_port, self.proc, self.armed, self.killed = target_port, None, False, threading.Event()
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
            state = {"push": False}
            threading.Thread(target=self._pump, args=(client, upstream, state, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, state, False), daemon=True).start()

    def _pump(self, src, dst, state, to_server: bool) -> None:
        try:
            while data := src.recv(65536):
                if to_server and b"POST /v1/push" in data:
                    state["push"] = True
                if not to_server and state["push"] and self.armed and not self.killed.is_set():
                    os.kill(self.proc.pid, signal.SIGKILL)  # committed, not yet answered
                    self.proc.wait()
                    self.killed.set()
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):  # shut down first: a bare close leaves the other pump's idle keep-alive hanging
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


def test_server_process_killed_after_commit_before_answering(tmp_path, template_db, seeded, pg_url):
    from app.desk.sync.client import SyncClient
    server_port = free_port()
    proc, _ = start_server(tmp_path, pg_url, port=server_port)
    proxy = _KillingProxy(server_port)
    proxy.proc = proc
    url = f"http://127.0.0.1:{proxy.port}"
    try:
        wait_ready(url, proc)
        folder = _desk_folder(tmp_path, template_db, "A")
        code, _ = admin.create_enroll_code(seeded, COMMITTEE)
        assert main(["--data-dir", str(folder), "enroll", "--server", url, "--code", code,
                     "--allow-insecure-http"]) == 0  # the proxy reads the requests: plain http, the lab opt-in
        ctx = AppContext.open(folder)
        cases, desk = CaseService(ctx), _worker(ctx, "desk")
        cid = cases.create_draft(desk, ITEM, None)
        cases.submit(desk, cid, {"x": 1}, {"身份证": True})
        before = server_counts(seeded)
        proxy.armed = True
        client = SyncClient(ctx)
        first = client.sync_once()
        assert proxy.killed.is_set() and proc.poll() is not None  # the server process is gone
        assert not first.ok and first.pending == 2  # the desk keeps both commands: it never heard back
        after_kill = server_counts(seeded)
        assert after_kill["case"] == before["case"] + 1  # ...but the server had committed them
        assert after_kill["server_mutation"] == before["server_mutation"] + 2
        proc, _ = start_server(tmp_path, pg_url, port=server_port)  # the administrator restarts it
        proxy.proc = proc
        wait_ready(f"http://127.0.0.1:{server_port}", proc)
        retry = client.sync_once()
        assert retry.ok and retry.pending == 0, retry.error
        final = server_counts(seeded)
        assert final["case"] == after_kill["case"] and final["case_event"] == after_kill["case_event"]
        assert final["server_mutation"] == after_kill["server_mutation"]  # exactly one effect
        assert cases.get(cid).summary.state == "accepted"
        client.close()
        ctx.close()
    finally:
        proxy.close()
        stop_server(proc)
