"""Rotating log files in the data folder. Code never logs names, IDs or phones; a filter masks any that slip in."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

from app.core.masking import replace_numbers

_ID_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# Where a database or validation error echoes the values it was given (names, addresses, free text): dropped whole.
# SQLAlchemy's parameter dump (one line: a repr), PostgreSQL's DETAIL (``Key (name)=(…)``, ``Failing row
# contains (…)``) and its quoted bad input, pydantic's ``input_value=…``.
_ECHOES = (
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: redacted]"),
    (re.compile(r"DETAIL:[^\n]*"), "DETAIL: [redacted]"),
    (re.compile(r'(invalid input (?:syntax|value) for [^:\n]*:) "[^\n]*'), r'\1 "[redacted]"'),
    (re.compile(r"input_value=[^\n]*?(, input_type=|\]|$)", re.MULTILINE), r"input_value=[redacted]\1"),
)


def redact(text: str) -> str:
    """``text`` without personal data: parameter dumps and echoed values dropped, and every ID number or phone
    (with spaces, dashes, ``+86`` or full-width digits: app/core/masking.py) replaced by ``[id]`` / ``[phone]``."""
    for pattern, repl in _ECHOES:
        text = pattern.sub(repl, text)
    text = replace_numbers(text, lambda kind, _digits: f"[{kind}]")
    return _PHONE_RE.sub("[phone]", _ID_RE.sub("[id]", text))  # also a number glued to letters (x13800138000)


class RedactingFilter(logging.Filter):
    """Second line of defence: replace anything shaped like an ID number or mobile number."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


class RedactingFormatter(logging.Formatter):
    """Also masks what the message filter cannot see: a traceback's exception text."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(data_dir: Path, level: int = logging.INFO) -> Path:
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "onedesk.log"
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_onedesk", False):
            root.removeHandler(h)
            h.close()
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    handler._onedesk = True  # type: ignore[attr-defined]
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    return path
