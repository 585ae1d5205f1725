"""Catalog versions received from the district server, kept under ``<data_dir>/catalog/``.

No Qt, no database: plain files written atomically, so a crash never leaves a half-written catalog current.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

CATALOG_DIRNAME = "catalog"
CURRENT_CATALOG_FILE = "current.json"


def _safe_name(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]", "_", Path(name).name)


def write_catalog(data_dir: Path, payload: dict) -> Path:
    """Store a published catalog under ``<data_dir>/catalog/<version>/`` and mark it current.

    The files are written to a temporary folder first and renamed into place, so a crash never leaves a
    half-written catalog marked current.
    """
    root = Path(data_dir) / CATALOG_DIRNAME
    root.mkdir(parents=True, exist_ok=True)
    target = root / _safe_name(f"{payload['version']}-{payload['content_hash'][:8]}")
    if not target.is_dir():
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=".incoming-"))
        for name, text in payload["files"].items():
            (tmp / _safe_name(name)).write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    marker = {"version": payload["version"], "content_hash": payload["content_hash"], "dir": target.name}
    fd, tmp_marker = tempfile.mkstemp(dir=root, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(marker, fh, ensure_ascii=False)
    os.replace(tmp_marker, root / CURRENT_CATALOG_FILE)
    return target


def current_catalog_dir(data_dir: Path) -> Path | None:
    """The folder of the catalog last received from the server, or None (use the bundled forms/items)."""
    marker = Path(data_dir) / CATALOG_DIRNAME / CURRENT_CATALOG_FILE
    try:
        folder = marker.parent / json.loads(marker.read_text(encoding="utf-8"))["dir"]
    except (OSError, ValueError, KeyError):
        return None
    return folder if folder.is_dir() else None
