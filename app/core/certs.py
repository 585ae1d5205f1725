"""The district CA's fingerprint, written once for the server (``server tls init`` prints it) and the desk
(``enroll --ca-fingerprint`` confirms it). Standard library only: the desk needs no crypto package for this.
"""

from __future__ import annotations

import hashlib
import re
import ssl

_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")
_HEX64 = re.compile(r"[0-9A-F]{64}")


def pem_fingerprint(pem: str) -> str | None:
    """SHA-256 of the first certificate in ``pem``, as colon hex (``AB:CD:…``); None when there is none."""
    block = _PEM_BLOCK.search(pem)
    if block is None:
        return None
    try:
        der = ssl.PEM_cert_to_DER_cert(block.group(0))
    except ValueError:  # not base64 after all
        return None
    return colon_hex(hashlib.sha256(der).digest())


def colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)


def normalise_fingerprint(text: str) -> str | None:
    """A SHA-256 fingerprint as typed (colons, spaces or dashes, any case) in colon hex; None if it is not one."""
    digits = re.sub(r"[\s:\-]", "", text).upper()
    if not _HEX64.fullmatch(digits):
        return None
    return ":".join(digits[i:i + 2] for i in range(0, 64, 2))
