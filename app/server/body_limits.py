"""Bounded request bodies and refusals that never echo what was sent (issue 14, findings 6 and 7).

:class:`BodyLimits` is an ASGI wrapper around the whole application. It counts a body's bytes as they arrive —
a Content-Length can be left out (chunked) or lie — and answers 413 as soon as :data:`wire.MAX_BODY_BYTES` is
passed, without reading further. A body within the limit must be UTF-8 and nested at most
:data:`wire.MAX_BODY_DEPTH` deep (counted on the bytes, before any JSON parser recurses into it), else 422.
Only then is it handed to the application, which parses it against the :mod:`app.core.wire` models.

:func:`validation_refused` replaces FastAPI's validation answer, which echoes the input (a lone surrogate or an
infinite float in it cannot be encoded: a 500, and it would copy personal data back into proxies' logs): the
answer names where the problem is, in Chinese, and carries nothing that was sent.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import limits
from app.core.wire import MAX_BODY_BYTES, MAX_BODY_DEPTH, Endpoint, ErrorCode, ErrorDetail

BODY_TOO_LARGE = f"请求内容过大（最多 {MAX_BODY_BYTES // (1024 * 1024)} MB），请分批上传"
TOO_DEEP = f"请求内容嵌套层数过多（最多 {MAX_BODY_DEPTH} 层）"
NOT_UTF8 = "请求内容不是有效的 UTF-8 文本"
BAD_REQUEST = "请求内容不符合要求"

# An attachment's chunk (PUT /v1/files/{sha256}, issue 15) is raw bytes, not JSON: no UTF-8 or nesting check,
# and at most one chunk plus a margin (the route itself answers 413 for anything over one chunk).
FILE_BODY_BYTES = limits.ATTACHMENT_CHUNK_BYTES + 64 * 1024
FILE_TOO_LARGE = f"上传的附件分段过大（每段最多 {limits.ATTACHMENT_CHUNK_BYTES // 1024} KB）"
_FILE_PUT = re.compile("^" + re.escape(Endpoint.FILE.value).replace(re.escape("{sha256}"), "[^/]*") + "$")

_OPEN, _CLOSE = b"[{", b"]}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _OPEN + _CLOSE)


def refusal(status: int, error: ErrorCode, message: str) -> JSONResponse:
    """A refusal in the shape every route answers with (:class:`wire.ErrorBody`)."""
    detail = ErrorDetail(error=error, message=message)
    return JSONResponse({"detail": detail.model_dump(mode="json", exclude_none=True)}, status_code=status)


def nesting_depth(body: bytes, limit: int) -> int:
    """How deep ``body`` (JSON text) nests arrays and objects, counting no further than ``limit`` + 1.

    Brackets inside strings are not nesting: the escape pairs ``\\\\`` and then ``\\"`` are dropped (read left
    to right, as a JSON lexer pairs them), after which every quote left opens or closes a string, and the text
    between the quotes of a pair is dropped. Where the text is not valid JSON this may count differently, but
    only after the first place a parser stops at."""
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(body.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for b in brackets:
        if b in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def body_problem(body: bytes) -> tuple[int, str] | None:
    """(status, Chinese reason) for a body the application must not parse; None when it may."""
    if len(body) > MAX_BODY_BYTES:
        return 413, BODY_TOO_LARGE
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return 422, NOT_UTF8
    if nesting_depth(body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH:
        return 422, TOO_DEEP
    return None


class BodyLimits:
    """ASGI middleware: a body is read (bounded), checked by :func:`body_problem`, then replayed to ``app``."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("method") == "PUT" and bool(_FILE_PUT.match(scope.get("path") or ""))
        most, too_large = (FILE_BODY_BYTES, FILE_TOO_LARGE) if raw else (MAX_BODY_BYTES, BODY_TOO_LARGE)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > most):
            await self._refuse(scope, receive, send, 413, too_large)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > most:
                await self._refuse(scope, receive, send, 413, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = body_problem(body) if body and not raw else None
        if problem:
            await self._refuse(scope, receive, send, *problem)
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
        error = ErrorCode.TOO_LARGE if status == 413 else ErrorCode.BAD_REQUEST
        await refusal(status, error, message)(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replay


def _where(loc: Any) -> str:
    """The location of a validation problem as dotted text, with nothing in it that cannot be encoded."""
    parts = [limits.clean_text(str(p), 40) for p in loc if p != "body"] if isinstance(loc, (list, tuple)) else []
    return json.dumps(".".join(parts), ensure_ascii=True)[1:-1][:200]


async def validation_refused(request: Request, exc: Exception) -> JSONResponse:
    """422 for a body or query that does not fit the wire schema: where, in Chinese, never the input itself."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    where = _where(errors[0].get("loc")) if errors else ""
    message = f"{BAD_REQUEST}（{where}）" if where else BAD_REQUEST
    return refusal(422, ErrorCode.BAD_REQUEST, message)
