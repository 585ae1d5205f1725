"""A file's SHA-256, read in blocks (attachments on the server, published packages, a desk's downloaded update)."""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 256 * 1024


def sha256_file(path: Path, block: int = BLOCK) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()
