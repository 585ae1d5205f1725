"""Issue 14, finding 1 ("Plain HTTP is accepted silently"): HTTPS by default.

``server tls init`` makes the district's own CA and a server certificate; the desk pins that CA at enrolment
(``--ca-file``, optionally confirmed by ``--ca-fingerprint``) and refuses a plain ``http://`` server unless the
lab opt-in ``--allow-insecure-http`` was given, which then shows in the status bar and on the 同步 page.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID
from PySide6.QtCore import Qt

from app.cli.main import main
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.sync.client import sync_status
from app.desk.sync.enroll import CA_FILENAME, INSECURE_HTTP_FILENAME, EnrollFailed, enroll_desk, tls_verify
from app.server import admin
from tests.gui_helpers import answer_next_message_box
from tests.sync_helpers import COMMITTEE, start_server, stop_server, wait_ready

pytest_plugins = ("tests.server_fixtures",)


def _tls_init(tmp_path: Path, out: Path, *extra: str) -> int:
    return main(["--data-dir", str(tmp_path / "srv"), "server", "tls", "init", "--out", str(out), *extra])


def _fingerprint_line(out: str) -> str:
    line = next(ln for ln in out.splitlines() if "SHA-256" in ln)
    return line.split("SHA-256", 1)[1].strip(" ：:")


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _colon_hex(cert: x509.Certificate) -> str:
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _desk(tmp_path: Path, template_db: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copyfile(template_db, folder / DB_FILENAME)
    return folder


def _nothing_stored(folder: Path) -> None:
    ctx = AppContext.open(folder)
    try:
        st = sync_status(ctx)
        assert not st.enrolled and st.server_url == ""
    finally:
        ctx.close()
    assert not (folder / CA_FILENAME).exists() and not (folder / INSECURE_HTTP_FILENAME).exists()


# ----- server tls init -----------------------------------------------------------------------------------------
def test_tls_init_makes_the_district_ca_and_a_server_certificate(tmp_path, capsys):
    """Finding 1: the server makes its own CA and a certificate for its LAN name and address; keys 0600."""
    out = tmp_path / "tls"
    assert _tls_init(tmp_path, out, "--name", "onedesk.jd.local", "--ip", "192.168.10.5", "--ip", "10.0.0.7") == 0
    printed = capsys.readouterr().out
    ca, server = _cert(out / "district-ca.pem"), _cert(out / "server.pem")
    assert _fingerprint_line(printed) == _colon_hex(ca)
    assert str(out / "server.pem") in printed and str(out / "server.key") in printed

    # The CA: self-signed, a CA, long-lived.
    assert ca.issuer == ca.subject
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > dt.timedelta(days=3650)
    ca.verify_directly_issued_by(ca)
    # The server certificate: signed by it, for exactly the given name and addresses, for serving TLS.
    server.verify_directly_issued_by(ca)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["onedesk.jd.local"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address("192.168.10.5"),
                                                            ipaddress.ip_address("10.0.0.7")}
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ExtendedKeyUsageOID.SERVER_AUTH in server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert server.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
    if sys.platform != "win32":
        for key in ("district-ca.key", "server.key"):
            assert stat.S_IMODE(os.stat(out / key).st_mode) == 0o600, key

    # Again with another address: the same CA (enrolled desks keep trusting it), a new server certificate.
    assert _tls_init(tmp_path, out, "--name", "onedesk.jd.local", "--ip", "192.168.10.6") == 0
    again = capsys.readouterr().out
    assert _fingerprint_line(again) == _colon_hex(ca) and "沿用" in again
    renewed = _cert(out / "server.pem")
    renewed.verify_directly_issued_by(ca)
    assert renewed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.IPAddress) == [ipaddress.ip_address("192.168.10.6")]


@pytest.mark.parametrize("args, words", [
    (["--name", "bad name!"], "名称"),
    (["--name", "onedesk.local", "--ip", "192.168.1.300"], "IP"),
])
def test_tls_init_refuses_bad_input_and_writes_nothing(tmp_path, capsys, args, words):
    """Finding 1: a bad name or address is a Chinese message, nothing written."""
    out = tmp_path / "tls"
    assert _tls_init(tmp_path, out, *args) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


# ----- the desk against a real server process ----------------------------------------------------------------
@pytest.mark.server
@pytest.mark.slow
def test_desk_enrols_with_the_district_ca_and_syncs_over_https(tmp_path, template_db, seeded, pg_url, capsys):
    """Finding 1: a real server with the generated certificate; the desk pins the CA, a wrong CA is refused."""
    tls, other = tmp_path / "tls", tmp_path / "other-tls"
    assert _tls_init(tmp_path, tls, "--name", "localhost", "--ip", "127.0.0.1") == 0
    fingerprint = _fingerprint_line(capsys.readouterr().out)
    assert _tls_init(tmp_path, other, "--name", "localhost", "--ip", "127.0.0.1") == 0
    wrong_fingerprint = _fingerprint_line(capsys.readouterr().out)
    proc, port = start_server(tmp_path, pg_url, "--cert", str(tls / "server.pem"), "--key", str(tls / "server.key"))
    url = f"https://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, verify=tls_verify(tls / "district-ca.pem"))
        code, _ = admin.create_enroll_code(seeded, COMMITTEE)

        # Another district's CA: the server is not trusted, a Chinese reason, nothing stored on the desk.
        stranger = _desk(tmp_path, template_db, "stranger")
        ctx = AppContext.open(stranger)
        with pytest.raises(EnrollFailed, match="证书") as refused:
            enroll_desk(ctx, url, code, ca=other / "district-ca.pem")
        assert "CERTIFICATE_VERIFY_FAILED" not in str(refused.value)
        # https without any CA to pin is refused before connecting.
        with pytest.raises(EnrollFailed, match="--ca-file"):
            enroll_desk(ctx, url, code)
        ctx.close()
        # The right file but the administrator's fingerprint does not match it: refused, nothing stored.
        assert main(["--data-dir", str(stranger), "enroll", "--server", url, "--code", code,
                     "--ca-file", str(tls / "district-ca.pem"), "--ca-fingerprint", wrong_fingerprint]) == 2
        assert "指纹" in capsys.readouterr().err
        _nothing_stored(stranger)

        # The district's CA, confirmed by its fingerprint: enrolled, synced over https.
        folder = _desk(tmp_path, template_db, "A")
        assert main(["--data-dir", str(folder), "enroll", "--server", url, "--code", code,
                     "--ca-file", str(tls / "district-ca.pem"), "--ca-fingerprint", fingerprint.lower()]) == 0
        assert "登记成功" in capsys.readouterr().out
        assert (folder / CA_FILENAME).read_bytes() == (tls / "district-ca.pem").read_bytes()
        assert not (folder / INSECURE_HTTP_FILENAME).exists()
        assert main(["--data-dir", str(folder), "sync", "--once"]) == 0
        ctx = AppContext.open(folder)
        st = sync_status(ctx)
        assert st.online and st.server_url == url and not st.insecure_http and st.last_error == ""
        ctx.close()
    finally:
        stop_server(proc)


@pytest.mark.server
def test_plain_http_is_refused_without_the_lab_opt_in(tmp_path, template_db, seeded, capsys):
    """Finding 1: ``enroll --server http://…`` used to work silently; now it is refused with a Chinese reason."""
    code, _ = admin.create_enroll_code(seeded, COMMITTEE)
    folder = _desk(tmp_path, template_db, "A")
    assert main(["--data-dir", str(folder), "enroll", "--server", "http://127.0.0.1:9", "--code", code]) == 2
    err = capsys.readouterr().err
    assert "http://" in err and "明文" in err and "--allow-insecure-http" in err and "Traceback" not in err
    ctx = AppContext.open(folder)
    with pytest.raises(EnrollFailed, match="明文"):
        enroll_desk(ctx, "http://127.0.0.1:9", code)
    ctx.close()
    _nothing_stored(folder)


@pytest.mark.server
def test_a_desk_enrolled_over_http_before_stops_syncing_without_the_opt_in(make_desk):
    """Finding 1: a desk whose stored server is plain http, without the lab opt-in on record, sends nothing."""
    desk = make_desk("A")
    desk.new_case()
    (desk.ctx.data_dir / INSECURE_HTTP_FILENAME).unlink()  # as a desk enrolled by the old code has it
    desk.transport.seen.clear()
    result = desk.sync.sync_once()
    assert not result.ok and "明文" in result.error and "--allow-insecure-http" in result.error
    assert desk.transport.seen == []  # not one byte went out in clear
    st = sync_status(desk.ctx)
    assert st.pending >= 1 and "明文" in st.last_error


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.gui
def test_the_lab_opt_in_works_and_is_shown_while_in_use(styled_app, qtbot, tmp_path, template_db, seeded, pg_url,
                                                        capsys):
    """Finding 1: with ``--allow-insecure-http`` plain http works against a real server, loudly: the enrolment
    warns, ``sync --status`` says so, the status bar and the 同步 page show it."""
    from ui.main_window import MainWindow
    from ui.services import Services

    proc, port = start_server(tmp_path, pg_url)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        folder = _desk(tmp_path, template_db, "A")
        code, _ = admin.create_enroll_code(seeded, COMMITTEE)
        assert main(["--data-dir", str(folder), "enroll", "--server", url, "--code", code,
                     "--allow-insecure-http"]) == 0
        out = capsys.readouterr().out
        assert "登记成功" in out and "明文" in out and "仅限实验室" in out
        assert "错误" not in out  # the first round went through
        assert main(["--data-dir", str(folder), "sync", "--status"]) == 0
        assert "明文" in capsys.readouterr().out

        ctx = AppContext.open(folder)
        try:
            assert sync_status(ctx).insecure_http
            services = Services(ctx)
            services.current_worker = services.auth.login("desk", "deskpass")
            win = MainWindow(services)
            qtbot.addWidget(win)
            win.show()
            qtbot.waitUntil(lambda: win.server_label.text().startswith("⚠ 明文 HTTP"), timeout=30000)
            qtbot.waitUntil(lambda: "在线" in win.server_label.text(), timeout=30000)
            win.show_page("sync")
            page = win.pages["sync"]
            qtbot.waitUntil(page.insecure_warning.isVisible, timeout=10000)
            assert "明文" in page.insecure_warning.text() and "仅限实验室" in page.insecure_warning.text()
            assert page.summary.text().startswith("⚠ 明文 HTTP")
            win.close()
        finally:
            ctx.close()
    finally:
        stop_server(proc)


@pytest.mark.gui
def test_the_sync_page_refuses_http_and_asks_for_the_ca_file(styled_app, qtbot, tmp_path, template_db):
    """Finding 1: enrolling from the 同步 page: plain http is refused (the lab opt-in exists only on the command
    line); https needs the district CA file, chosen on the page."""
    from ui.services import Services
    from ui.sync.sync_health_page import SyncHealthPage

    ctx = AppContext.open(_desk(tmp_path, template_db, "A"))
    try:
        page = SyncHealthPage(Services(ctx), lambda: None)
        qtbot.addWidget(page)
        page.show()
        qtbot.waitUntil(page.enroll_box.isVisible)
        assert page.ca_file.isVisible()
        qtbot.keyClicks(page.server_url, "http://192.168.1.5:8000")
        qtbot.keyClicks(page.code, "ABCD-1234")
        seen = answer_next_message_box()
        qtbot.mouseClick(page.enroll_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: bool(seen), timeout=10000)
        assert "明文" in seen[0]
        page.server_url.setText("https://192.168.1.5:8443")
        seen = answer_next_message_box()
        qtbot.mouseClick(page.enroll_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: bool(seen), timeout=10000)
        assert "CA" in seen[0]
        assert not sync_status(ctx).enrolled
    finally:
        ctx.close()


def test_no_certificate_check_is_ever_turned_off():
    """Finding 1: no ``verify=False`` (or an unverified SSL context) anywhere in the product code."""
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for folder in ("app", "ui", "models", "forms"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for bad in ("verify=False", "CERT_NONE", "_create_unverified_context", "check_hostname = False",
                        "check_hostname=False"):
                if bad in text:
                    offenders.append(f"{path.relative_to(root)}: {bad}")
    assert offenders == []
