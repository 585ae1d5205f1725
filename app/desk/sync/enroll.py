"""Enrolling this desk with the district server: one-time code in, device id and token out.

A desk set up on its own (first-run dialog) adopts the server's committee record: its local committee id is
replaced by the server's everywhere it is referenced. A desk that was never set up is initialised from the
server's answer; its worker accounts then arrive with the first sync.
"""

from __future__ import annotations

import shutil
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from app.core.errors import UserError
from app.core.wire import Endpoint, EnrollRequest, EnrollResponse, ErrorBody
from app.desk.context import AppContext
from app.desk.sync.apply import DeskApplier
from models import Device, SyncState
from models.sync import SYNC_STATE_ID

CA_FILENAME = "district-ca.pem"
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
                ca: Path | None = None, device_name: str = "") -> EnrollInfo:
    """Enrol this desk; ``http`` is injectable for tests (its base URL is used as is)."""
    if not server_url.startswith(("http://", "https://")):
        raise EnrollFailed("服务器地址应以 https:// 开头，例如 https://onedesk.district.gov.cn:8443")
    if ca is not None and not Path(ca).is_file():
        raise EnrollFailed(f"找不到证书文件：{ca}")
    ident = ctx.identity() if ctx.is_initialised() else None
    body = EnrollRequest(code=code, committee_code=ident.committee_code if ident else "",
                         device_code=ident.device_code if ident else "",
                         device_name=device_name or (ident.device_name if ident else ""))
    try:
        verify = tls_verify(Path(ca) if ca else ca_file(ctx.data_dir))
    except ssl.SSLError as e:
        raise EnrollFailed(f"证书文件无法使用：{e}") from None
    answer = _request(server_url, body, http, verify)
    if ca is not None:
        shutil.copyfile(ca, Path(ctx.data_dir) / CA_FILENAME)
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
        dev.server_url, dev.server_device_id, dev.token = server_url, answer.device_id, answer.token
        dev.enrolled_at = now
        state = s.get(SyncState, SYNC_STATE_ID) or SyncState(id=SYNC_STATE_ID)
        state.cursor, state.needs_snapshot, state.failures, state.last_error = "0", True, 0, ""
        state.clock_offset_s = offset_s = (answer.server_time - now).total_seconds()
        s.add(state)
    ctx.clock.learned(offset_s)

