"""Rows from the district server that this desk cannot apply: what is wrong with one, and the list of those set
aside, for the 同步 page, ``sync --status`` and the log.

A downloaded row is checked before it is written (:func:`row_problem`); one that fails the check, or fails
while being written, is set aside: the pull cursor moves past it and the rest of the page applies. The list
lives in a small JSON file in the data folder (written atomically), not in the database, so recording a bad
row never needs a schema change and survives the rollback of the transaction it was found in. A later good
row for the same entity clears its entry.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.core.limits import is_sha256
from app.core.vocabulary import RATING_LABELS
from app.core.workdays import CalendarError, parse_calendar_year
from app.desk.catalog.store import payload_problem

log = logging.getLogger(__name__)

BAD_ROWS_FILE = "sync-set-aside-rows.json"
MAX_KEPT = 200  # the newest entries; older ones stay in the log only
ENTITY_LABELS = {"committee": "居委会", "worker": "工作人员账号", "resident": "居民", "case": "案件",
                 "calendar": "节假日安排", "catalog": "事项目录", "attachment": "附件"}


@dataclass(frozen=True)
class SetAsideRow:
    """A downloaded row this desk could not apply."""

    entity: str
    entity_label: str  # Chinese: 案件, 节假日安排 ...
    id: str
    reason: str  # Chinese
    seq: int | None  # its place in the server's change log (None: from a snapshot)
    at: str  # when it was set aside (ISO, UTC)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _calendar_problem(row: dict) -> str | None:
    if not _whole(row.get("year")) or not _whole(row.get("version")):
        return f"年份或版本号不是整数（年份：{str(row.get('year'))[:20]}）"
    if not isinstance(row.get("content"), str):
        return "内容不是文字"
    try:
        doc = parse_calendar_year(json.loads(row["content"]))
    except (ValueError, CalendarError) as e:  # json's JSONDecodeError is a ValueError
        return f"内容无效：{e}" if isinstance(e, CalendarError) else "内容不是有效的 JSON"
    if (doc.year, doc.version) != (row["year"], row["version"]):
        return "内容中的年份或版本号与下发记录不一致"
    return None


_REQUIRED: dict[str, tuple[str, ...]] = {  # identifying string columns without which a row means nothing
    "committee": ("code",), "worker": ("login",), "resident": ("id_number",), "case": ("case_number", "state"),
    "attachment": ("sha256", "mime"),
}


def _attachment_problem(row: dict) -> str | None:
    """An attachment's metadata (issue 15): the file's sha256 (its name in the blob store) and size, its owner."""
    if not is_sha256(row["sha256"]):
        return "文件摘要（sha256）格式不正确"
    if not _whole(row.get("size")) or row["size"] < 0:
        return "文件大小不是整数"
    owners = [row.get(key) for key in ("case_id", "resident_id")]
    if all(owner is None for owner in owners) or not all(owner is None or _is_uuid(owner) for owner in owners):
        return "缺少所属案件或居民"
    return None


def _rating_problem(row: dict) -> str | None:
    """A case's rating (issue 16): a known level or none ("未评价"), the reasons a list of texts. Screens and
    figures read these as they are, so a row that holds anything else is not written."""
    for key in ("rating", "second_rating"):
        if row.get(key) is not None and row[key] not in RATING_LABELS:
            return f"评价等级无法识别（{str(row[key])[:20]}）"
    reasons = row.get("rating_reasons", [])
    if reasons is not None and (not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons)):
        return "评价原因格式不正确"
    return None


def row_problem(entity: str, row: Any) -> str | None:
    """What makes ``row`` unusable on this desk, in Chinese, or None. Checks the shape; a row that passes can
    still fail while being written (a value of the wrong type for its column), and is then set aside too."""
    if not isinstance(row, dict):
        return "数据格式有误（不是一条记录）"
    if not _is_uuid(row.get("id")):
        return "缺少编号或编号格式不正确"
    if entity == "calendar":
        return _calendar_problem(row)
    if entity == "catalog":
        return payload_problem(row)
    for key in _REQUIRED.get(entity, ()):
        if not isinstance(row.get(key), str) or not row[key]:
            return f"缺少必要内容（{key}）"
    if entity != "committee" and not _is_uuid(row.get("committee_id")):
        return "缺少所属居委会"
    if entity == "worker" and not all(isinstance(row.get(k, []), list) for k in ("roles", "lines")):
        return "角色或条线格式不正确"
    if entity == "case":
        events = row.get("events", [])
        if not isinstance(events, list) or not all(
                isinstance(e, dict) and _is_uuid(e.get("id")) and _whole(e.get("seq")) for e in events):
            return "办理记录格式不正确"
        return _rating_problem(row)
    if entity == "attachment":
        return _attachment_problem(row)
    return None


def row_id(row: Any) -> str:
    return str(row.get("id", ""))[:64] if isinstance(row, dict) else ""


# ----- the list of set-aside rows ---------------------------------------------------------------------------
def _path(data_dir: Path) -> Path:
    return Path(data_dir) / BAD_ROWS_FILE


def set_aside_rows(data_dir: Path) -> list[SetAsideRow]:
    """Rows set aside so far, newest first. An unreadable file reads as empty (it is only a list to show)."""
    try:
        raw = json.loads(_path(data_dir).read_text(encoding="utf-8"))
        rows = [SetAsideRow(**entry) for entry in raw]
    except (OSError, ValueError, TypeError):
        return []
    return rows[::-1]


def _write(data_dir: Path, rows: list[SetAsideRow]) -> None:
    path = _path(data_dir)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".set-aside-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump([asdict(r) for r in rows[-MAX_KEPT:]], fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


class BadRowLog:
    """The set-aside list of one data folder, read once per applier and written when it changes."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self._rows: list[SetAsideRow] | None = None

    def _load(self) -> list[SetAsideRow]:
        if self._rows is None:
            self._rows = set_aside_rows(self.data_dir)[::-1]  # oldest first, as stored
        return self._rows

    def add(self, entity: str, row: Any, reason: str, seq: int | None) -> SetAsideRow:
        rid = row_id(row)
        log.warning("row from the server set aside: %s %s (seq %s): %s", entity, rid, seq, reason)
        entry = SetAsideRow(entity, ENTITY_LABELS.get(entity, entity), rid, reason, seq,
                            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        rows = [r for r in self._load() if not (r.entity == entity and r.id == rid and r.seq == seq)]
        self._rows = [*rows, entry]
        _write(self.data_dir, self._rows)
        return entry

    def resolve(self, entity: str, ids: set[str]) -> None:
        """Rows of these entities applied after all: their earlier entries no longer need the worker."""
        if not ids or not _path(self.data_dir).exists():
            return
        rows = self._load()
        kept = [r for r in rows if not (r.entity == entity and r.id in ids)]
        if len(kept) != len(rows):
            self._rows = kept
            _write(self.data_dir, kept)
