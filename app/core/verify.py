"""The verification link a document's QR code carries, shared by the desk (printing it, reading a scan of it)
and the district server (the resident's progress page behind it).

The link holds the case number and the case's verification code, never personal data:
``{base}/v/{case_number}?c={code}`` (:data:`app.core.wire.Endpoint.VERIFY`). A desk without a base URL (never
enrolled, none configured) prints the older desk-only payload ``ONEDESK|{case_number}|{code}``; the parser reads
both, so a receipt printed either way opens its case when scanned at a desk.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, unquote, urlsplit

from app.core import limits
from app.core.wire import Endpoint

DESK_PREFIX = "ONEDESK"  # the desk-only payload: ONEDESK|case number|verification code
CODE_PARAM = "c"
CASE_NUMBER_LABEL = "办件编号"  # as the receipt calls it; the progress page says the same
MAX_URL_LENGTH = 300  # a link longer than this is not one of ours (and would not fit a small QR code)
BASE_LABEL = "进度查询网址"  # the committee setting verify_base_url, as the 设备 page and messages call it
BASE_URL_LIMIT = 300  # as Device.server_url

# What a case number and a verification code can be: case numbers are "<committee>-<device>-<yyyymmdd>-<seq>"
# (letters, digits, hyphens; at most the column's 48), codes are letters and digits (at most 16).
_CASE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,47}")
_CODE = re.compile(r"[A-Za-z0-9]{1,16}")
_VERIFY_PATH = re.compile(r"(?:.*/)?v/([^/]+)/?")


class VerifyBaseError(ValueError):
    """A base URL that cannot carry the link (not http(s), a query or fragment in it); ``str()``: the Chinese
    reason from :func:`url_problem`."""


def valid_case_number(text: str) -> bool:
    return bool(_CASE_NUMBER.fullmatch(text or ""))


def valid_code(text: str) -> bool:
    return bool(_CODE.fullmatch(text or ""))


def normalise_code(text: str) -> str:
    """Verification codes are printed in capitals; a scanner with Caps Lock on sends them in small letters."""
    return (text or "").strip().upper()


def url_problem(label: str, url: str) -> str | None:
    """Why ``url`` is not an http(s) address with a host (and no spaces, query or fragment), in Chinese; None when
    it is one. The one check of the progress-page base (the committee setting, the link printed) and of a
    device's local http address (app/desk/devices/settings.py)."""
    problem = limits.text_problem(label, url, BASE_URL_LIMIT)
    if problem:
        return problem
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return f"{label}不是有效的网址：{url}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{label}应以 http:// 或 https:// 开头，并写明主机，例如 https://onedesk.example.gov.cn"
    if parts.query or parts.fragment or any(c.isspace() for c in url):
        return f"{label}不能含空格、“?”或“#”：{url}"
    return None


def check_base(base: str) -> str:
    """``base`` without the trailing slash; raises :class:`VerifyBaseError` (its Chinese reason) when it is no
    http(s) address (:func:`url_problem`)."""
    base = (base or "").strip().rstrip("/")
    problem = url_problem(BASE_LABEL, base)
    if problem:
        raise VerifyBaseError(problem)
    return base


def verification_url(base: str, case_number: str, code: str) -> str:
    """The progress page of a case: ``https://district.example/v/110102003-D01-20250124-0007?c=7K3Q9D2M``."""
    path = Endpoint.VERIFY.format(case_number=quote(case_number.strip(), safe=""))
    return f"{check_base(base)}{path}?{CODE_PARAM}={quote(normalise_code(code), safe='')}"


def desk_payload(case_number: str, code: str) -> str:
    """The payload without a base URL: only a desk can read it (a phone shows it as text)."""
    return f"{DESK_PREFIX}|{case_number.strip()}|{code.strip()}"


def parse_verification(text: str) -> tuple[str, str] | None:
    """(case number, verification code) from a scanned link or desk payload, else None.

    Any host is accepted (receipts printed before the district moved its server still open their case at the
    desk); the path must end in ``/v/<case number>`` and the query carry ``c=<code>``."""
    text = (text or "").strip()
    if not text or len(text) > MAX_URL_LENGTH:
        return None
    if text.upper().startswith(DESK_PREFIX + "|"):
        fields = text.split("|")
        if len(fields) != 3:
            return None
        return _checked(fields[1], fields[2])
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    m = _VERIFY_PATH.fullmatch(parts.path)
    if m is None:
        return None
    codes = parse_qs(parts.query, keep_blank_values=True).get(CODE_PARAM, [])
    if len(codes) != 1:
        return None
    return _checked(unquote(m.group(1)), codes[0])


def _checked(case_number: str, code: str) -> tuple[str, str] | None:
    case_number, code = case_number.strip(), normalise_code(code)
    if not valid_case_number(case_number) or not valid_code(code):
        return None
    return case_number, code
