"""The district's own certificate authority and the server's certificate (``python main.py server tls init``).

The CA (``district-ca.pem`` + ``district-ca.key``) is made once and lives long: every desk pins it at enrolment.
The server certificate (``server.pem`` + ``server.key``) names the server's LAN name and addresses; running the
command again with another name or address reuses the CA, so enrolled desks keep trusting the server. Private
keys are written 0600 (on Linux; Windows keeps the folder's permissions). ECDSA P-256: quick to make, accepted by
every TLS stack the desk and the server use.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.core.certs import colon_hex
from app.core.errors import UserError

CA_CERT, CA_KEY = "district-ca.pem", "district-ca.key"
SERVER_CERT, SERVER_KEY = "server.pem", "server.key"
CA_DAYS = 20 * 365 + 5  # the district's trust anchor: outlives the desks
SERVER_DAYS = 5 * 365 + 1
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


class TlsError(UserError):
    """A bad name, address or folder for ``server tls init``; Chinese message, nothing written."""


@dataclass(frozen=True)
class TlsFiles:
    folder: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    ca_fingerprint: str  # SHA-256 of the CA certificate, colon hex
    reused_ca: bool


def _check_name(name: str) -> str:
    name = name.strip().rstrip(".")
    if len(name) > 253 or not name or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        raise TlsError(f"服务器名称不合规：{name!r}（只能用字母、数字、连字符和点，例如 onedesk.jd.local）")
    return name.lower()


def _check_ips(ips: Sequence[str]) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    out = []
    for text in ips:
        try:
            out.append(ipaddress.ip_address(text.strip()))
        except ValueError:
            raise TlsError(f"IP 地址不合规：{text!r}（例如 192.168.1.10）") from None
    return list(dict.fromkeys(out))


def _write_private(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only (created 0600, never briefly wider)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    cert_path, key_path = folder / CA_CERT, folder / CA_KEY
    if not cert_path.exists() and not key_path.exists():
        return None
    if not (cert_path.is_file() and key_path.is_file()):
        raise TlsError(f"{folder} 里只有 {CA_CERT} 和 {CA_KEY} 中的一个：请找回另一个，或换一个空文件夹重新生成"
                       "（重新生成 CA 后所有前台都要重新登记）")
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise TlsError(f"{folder} 里的区 CA 文件无法读取（已损坏，或不是本程序生成的）") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise TlsError(f"{folder} 里的 {CA_KEY} 与 {CA_CERT} 不配套")
    return cert, key


def _new_ca(now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OneDesk"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"OneDesk District CA {now:%Y-%m-%d}")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _server_cert(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, name: str,
                 ips: list, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(name)]
    sans += [x509.IPAddress(ip) for ip in ips]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def init_tls(folder: Path, name: str, ips: Sequence[str] = (), *, now: dt.datetime | None = None) -> TlsFiles:
    """Make (or reuse) the district CA in ``folder`` and issue a server certificate for ``name`` and ``ips``.

    A ``name`` that is an IP address is also written as an address. Everything is checked before anything is
    written; a refusal leaves the folder as it was.
    """
    folder = Path(folder)
    try:
        ip_name = ipaddress.ip_address(name.strip())
    except ValueError:
        host = _check_name(name)
        addresses = _check_ips(ips)
    else:
        host = str(ip_name)
        addresses = _check_ips([host, *ips])
    if folder.exists() and not folder.is_dir():
        raise TlsError(f"{folder} 不是文件夹")
    existing = _load_ca(folder) if folder.is_dir() else None
    now = now or dt.datetime.now(dt.UTC)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if existing is None:
        ca, ca_key = _new_ca(now)
        _write_private(folder / CA_KEY, _key_pem(ca_key))
        _write_public(folder / CA_CERT, ca.public_bytes(serialization.Encoding.PEM))
    else:
        ca, ca_key = existing
    cert, key = _server_cert(ca, ca_key, host, addresses, now)
    _write_private(folder / SERVER_KEY, _key_pem(key))
    # The chain the server presents: its certificate, then the CA's.
    _write_public(folder / SERVER_CERT, cert.public_bytes(serialization.Encoding.PEM)
                  + ca.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(folder, folder / CA_CERT, folder / CA_KEY, folder / SERVER_CERT, folder / SERVER_KEY,
                    colon_hex(ca.fingerprint(hashes.SHA256())), reused_ca=existing is not None)
