"""Enrolling this desk with the district server: one-time code in, device id and token out.

A desk set up on its own (first-run dialog) adopts the server's committee record: its local committee id is
replaced by the server's everywhere it is referenced. A desk that was never set up is initialised from the
server's answer; its worker accounts then arrive with the first sync.

HTTPS by default: an ``https://`` server is trusted only through the district's own CA, given at enrolment
(``--ca-file``, optionally confirmed by ``--ca-fingerprint``) and kept in the data folder as ``district-ca.pem``;
certificate checks are never turned off. A plain ``http://`` server is refused unless the administrator gave
the lab opt-in (``--allow-insecure-http``), recorded for that one address in ``INSECURE_HTTP_FILENAME`` and shown
in the status bar and on the 同步 page while in use.
"""

from __future__ import annotations

import shutil
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from app.core.certs import normalise_fingerprint, pem_fingerprint
from app.core.errors import UserError
from app.core.wire import Endpoint, EnrollRequest, EnrollResponse, ErrorBody
from app.desk import keystore
from app.desk.context import AppContext
from app.desk.sync.apply import DeskApplier
from models import Device, SyncState
from models.sync import SYNC_STATE_ID

CA_FILENAME = "district-ca.pem"
INSECURE_HTTP_FILENAME = "INSECURE-HTTP-LAB-ONLY.txt"
INSECURE_HTTP_OPTION = "--allow-insecure-http"
INSECURE_HTTP_NOTICE = "⚠ 明文 HTTP（仅限实验室）：令牌和居民信息未加密传输"
BAD_ANSWER = "区服务器的答复无法识别（双方程序版本可能不一致），本机未登记，请联系区管理员"


class EnrollFailed(UserError):
    """Enrolment refused or impossible; Chinese message."""


@dataclass(frozen=True)
class EnrollInfo:
    device_id: str
    device_code: str
    committee_code: str
    committee_name: str
    server_url: str


def ca_file(data_dir: Path) -> Path | None:
    """The district's own CA certificate, if one was given at enrolment (TLS checks are never turned off)."""
    path = Path(data_dir) / CA_FILENAME
    return path if path.is_file() else None


def plain_http_refused(server_url: str) -> str:
    return (f"区服务器地址 {server_url} 是明文 http://：令牌、居民身份证号和电话会不加密地在网络上传输，"
            f"为安全起见已拒绝。请区管理员启用 HTTPS（python main.py server tls init），再用 https:// 地址和区 CA "
            f"证书（--ca-file）登记本机；仅在实验室测试时可在登记命令后加 {INSECURE_HTTP_OPTION}")


def insecure_http_allowed(data_dir: Path, server_url: str) -> bool:
    """Whether the lab opt-in was given at enrolment for exactly this plain-http address."""
    path = Path(data_dir) / INSECURE_HTTP_FILENAME
    try:
        first = path.read_text(encoding="utf-8").splitlines()[:1]
    except (OSError, UnicodeDecodeError):
        return False
    return bool(first) and first[0].strip() == server_url.rstrip("/")


def uses_insecure_http(data_dir: Path, server_url: str) -> bool:
    return server_url.startswith("http://") and insecure_http_allowed(data_dir, server_url)


def _record_insecure_http(data_dir: Path, server_url: str | None) -> None:
    path = Path(data_dir) / INSECURE_HTTP_FILENAME
    if server_url is None:
        path.unlink(missing_ok=True)
        return
    path.write_text(f"{server_url}\n本机按管理员的 {INSECURE_HTTP_OPTION} 以明文 HTTP 连接上面的区服务器，"
                    "仅限实验室测试。改用 HTTPS：用 https:// 地址和 --ca-file 重新登记本机。\n", encoding="utf-8")


def _pinned_ca(ctx: AppContext, ca: Path | None, fingerprint: str | None) -> Path:
    """The CA file to trust for an https server: the one given, else the one kept from an earlier enrolment."""
    path = Path(ca) if ca is not None else ca_file(ctx.data_dir)
    if path is None:
        raise EnrollFailed("使用 https:// 登记需要区里自建 CA 的证书文件（--ca-file，由区管理员运行 "
                           "python main.py server tls init 生成的 district-ca.pem），以便只信任区服务器")
    if not path.is_file():
        raise EnrollFailed(f"找不到证书文件：{path}")
    try:
        actual = pem_fingerprint(path.read_text(encoding="ascii", errors="replace"))
    except OSError as e:
        raise EnrollFailed(f"证书文件无法读取：{path}（{e.strerror or e}）") from None
    if actual is None:
        raise EnrollFailed(f"{path} 不是 PEM 格式的 CA 证书文件")
    if fingerprint is not None:
        wanted = normalise_fingerprint(fingerprint)
        if wanted is None:
            raise EnrollFailed("CA 指纹应是 64 位十六进制数（可用冒号分隔），即 server tls init 打印的 SHA-256 指纹")
        if wanted != actual:
            raise EnrollFailed(f"CA 证书文件的指纹与区管理员给出的不一致（文件的指纹是 {actual}），"
                               "可能拿错了文件或文件被替换，本机未登记")
    return path


def tls_verify(ca: Path | None) -> ssl.SSLContext:
    """Trust only the district's own CA when one was given, else the system's store. Checks are never skipped."""
    return ssl.create_default_context(cafile=str(ca)) if ca else ssl.create_default_context()


def _request(server_url: str, body: EnrollRequest, http: httpx.Client | None,
             verify: ssl.SSLContext) -> EnrollResponse:
    client = http or httpx.Client(base_url=server_url.rstrip("/"), timeout=httpx.Timeout(30.0, connect=10.0),
                                  verify=verify)
    try:
        resp = client.post(Endpoint.ENROLL, json=body.wire())
    except httpx.HTTPError as e:
        text = str(e)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            raise EnrollFailed(f"区服务器 {server_url} 的证书无法用给出的区 CA 证书验证（CA 文件不对，或服务器证书"
                               "不是这个 CA 签发的、已过期、不含这个地址），为安全起见未连接，本机未登记") from None
        raise EnrollFailed(f"无法连接区服务器 {server_url}：{e}") from None
    finally:
        if http is None:
            client.close()
    if resp.status_code != 200:
        try:
            message = ErrorBody.model_validate(resp.json()).detail.message
        except ValueError:  # not JSON, or not the protocol's error body (pydantic's ValidationError is a ValueError)
            message = ""
        raise EnrollFailed(message or f"区服务器返回错误 {resp.status_code}")
    try:
        return EnrollResponse.model_validate(resp.json())
    except ValueError:  # cut off on the way, or of another shape: nothing has been stored yet
        raise EnrollFailed(BAD_ANSWER) from None


def enroll_desk(ctx: AppContext, server_url: str, code: str, *, http: httpx.Client | None = None,
                ca: Path | None = None, ca_fingerprint: str | None = None, allow_insecure_http: bool = False,
                device_name: str = "") -> EnrollInfo:
    """Enrol this desk; ``http`` is injectable for tests (its base URL is used as is, its TLS settings too).

    ``https://`` needs the district CA (``ca``, or the one kept from an earlier enrolment), checked against
    ``ca_fingerprint`` when given; ``http://`` needs ``allow_insecure_http`` (lab only). Refused → nothing stored.
    """
    server_url = server_url.strip()
    if not server_url.startswith(("http://", "https://")):
        raise EnrollFailed("服务器地址应以 https:// 开头，例如 https://onedesk.district.gov.cn:8443")
    plain = server_url.startswith("http://")
    if plain and not allow_insecure_http:
        raise EnrollFailed(plain_http_refused(server_url))
    pinned = None if plain else _pinned_ca(ctx, ca, ca_fingerprint)
    ident = ctx.identity() if ctx.is_initialised() else None
    body = EnrollRequest(code=code, committee_code=ident.committee_code if ident else "",
                         device_code=ident.device_code if ident else "",
                         device_name=(device_name or (ident.device_name if ident else ""))[:100])
    try:
        verify = tls_verify(pinned)
    except ssl.SSLError as e:
        raise EnrollFailed(f"证书文件无法使用：{e}") from None
    answer = _request(server_url, body, http, verify)
    if pinned is not None and pinned.resolve() != (Path(ctx.data_dir) / CA_FILENAME).resolve():
        shutil.copyfile(pinned, Path(ctx.data_dir) / CA_FILENAME)
    _record_insecure_http(ctx.data_dir, server_url.rstrip("/") if plain else None)
    _store(ctx, server_url.rstrip("/"), answer)
    ctx.forget_identity()
    com = answer.committee
    return EnrollInfo(answer.device_id, answer.device_code, com.code, com.name, server_url)


def _store(ctx: AppContext, server_url: str, answer: EnrollResponse) -> None:
    """Committee, device link and a fresh sync state, in one transaction; the clock offset is known from here on."""
    now = ctx.clock.desk_time()
    with ctx.sessions.begin() as s:
        DeskApplier(s, ctx.data_dir, pending=set()).committees([answer.committee.row()])
        committee_id = answer.committee.id
        dev = s.scalars(select(Device).where(Device.is_local.is_(True))).first()
        if dev is None:
            dev = Device(committee_id=committee_id, code=answer.device_code, name="", is_local=True)
            s.add(dev)
        dev.committee_id, dev.code = committee_id, answer.device_code
        dev.server_url, dev.server_device_id = server_url, answer.device_id
        s.flush()  # a new row gets its id, which names its token in the key store
        keystore.store_device_token(dev, answer.token)  # in the OS key store, not the database
        dev.enrolled_at = now
        state = s.get(SyncState, SYNC_STATE_ID) or SyncState(id=SYNC_STATE_ID)
        state.cursor, state.needs_snapshot, state.failures, state.last_error = "0", True, 0, ""
        state.clock_offset_s = offset_s = (answer.server_time - now).total_seconds()
        s.add(state)
    ctx.clock.learned(offset_s)

