"""Catalog versions received from the district server, kept under ``<data_dir>/catalog/``.

No Qt, no database: plain files written atomically, so a crash never leaves a half-written catalog current.
A payload is checked whole before anything is written (:func:`payload_problem`): every file name must be a
plain ``*.yaml`` name, so nothing from the server can be written outside the catalog folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from app.core.errors import UserError

CATALOG_DIRNAME = "catalog"
CURRENT_CATALOG_FILE = "current.json"
# A catalog file is a plain YAML file name: never a path, never hidden, never "." or "..".
CATALOG_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.yaml")
CATALOG_VERSION = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,31}")
CONTENT_HASH = re.compile(r"[0-9a-f]{8,128}")


class BadCatalog(UserError, ValueError):
    """A catalog payload that cannot be stored; ``str(e)`` is the Chinese reason."""


def payload_problem(payload: Any) -> str | None:
    """Why a catalog payload from the server cannot be stored, in Chinese; None when it can."""
    if not isinstance(payload, dict):
        return "数据格式有误（不是一条记录）"
    if not isinstance(payload.get("version"), str) or not CATALOG_VERSION.fullmatch(payload["version"]):
        return "版本号缺失或格式不正确"
    if not isinstance(payload.get("content_hash"), str) or not CONTENT_HASH.fullmatch(payload["content_hash"]):
        return "缺少校验值（content_hash）或格式不正确"
    files = payload.get("files")
    if not isinstance(files, dict) or not files:
        return "文件列表应为“文件名：内容”的对应表"
    for name, text in files.items():
        if not isinstance(name, str) or not CATALOG_FILE_NAME.fullmatch(name) or ".." in name:
            return f"文件名不合法：{str(name)[:40]!r}（只能是普通的 .yaml 文件名）"
        if not isinstance(text, str):
            return f"文件 {name} 的内容不是文字"
    return None


def _safe_name(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]", "_", Path(name).name)


def write_catalog(data_dir: Path, payload: dict) -> Path:
    """Store a published catalog under ``<data_dir>/catalog/<version>/`` and mark it current.

    The files are written to a temporary folder first and renamed into place, so a crash never leaves a
    half-written catalog marked current. Raises :class:`BadCatalog` (nothing written) for a payload that
    :func:`payload_problem` refuses.
    """
    problem = payload_problem(payload)
    if problem:
        raise BadCatalog(problem)
    root = Path(data_dir) / CATALOG_DIRNAME
    root.mkdir(parents=True, exist_ok=True)
    target = root / _safe_name(f"{payload['version']}-{payload['content_hash'][:8]}")
    if not target.is_dir():
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=".incoming-"))
        for name, text in payload["files"].items():
            path = tmp / name
            if path.parent != tmp:  # payload_problem admits plain file names only; never trust it blindly
                raise BadCatalog(f"文件名不合法：{name[:40]!r}")
            path.write_text(text, encoding="utf-8")
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
