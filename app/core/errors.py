"""Errors meant for people: their message is Chinese and is shown as it is (at the desk, on the command line,
in a sync rejection). Anything else that escapes is a bug: logged with a redacted traceback and shown as a
generic Chinese message.

As Anki's ``LocalizedError``: the desk's ``run_op`` and the command line recognise :class:`UserError` by its
class, so no hand-kept list of exception types exists anywhere.
"""

from __future__ import annotations

import errno
import traceback

from app.core.logs import redact

# What the worker reads when an operation failed for a reason nobody foresaw (a bug, a broken disk).
UNEXPECTED_MESSAGE = "操作没有完成：程序遇到意外问题，已记录日志。数据未被修改，请重试或联系管理员。"


class UserError(Exception):
    """An operation refused for a reason the worker can act on; ``str(e)`` is the Chinese message."""


DISK_FULL_MESSAGE = "磁盘空间不足，本次操作未保存。请清理磁盘后重试。"


class DiskFullError(UserError):
    """The disk (or the database's quota of it) is full; the operation was rolled back, nothing half-written."""

    def __init__(self, message: str = DISK_FULL_MESSAGE):
        super().__init__(message)


# SQLITE_FULL (13), also as the low byte of an extended result code; ENOSPC and EDQUOT (a user's quota) from the OS.
_SQLITE_FULL = 13
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_disk_full(exc: BaseException | None) -> bool:
    """True if ``exc`` (or the DB-API error a SQLAlchemy error wraps) says the disk is full."""
    exc = getattr(exc, "orig", None) or exc  # sqlalchemy.exc.DBAPIError keeps the driver's error in .orig
    if isinstance(exc, OSError):
        return exc.errno in _NO_SPACE
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == _SQLITE_FULL
    return "database or disk is full" in str(exc)


def redacted_traceback(exc: BaseException) -> str:
    """The full traceback of ``exc`` with anything shaped like an ID number or mobile number masked.

    Redacted here rather than by the log handler's formatter, so every handler (the file, the console, a
    test's capture) receives the same masked text.
    """
    return redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
