"""How values read on paper: dates in China time, free text with the applicant's numbers masked, the deadline."""

from __future__ import annotations

import datetime as dt
import re

from app.core.masking import mask_free_text
from app.core.vocabulary import CHINA_TZ
from app.desk.printing.data import DocumentData
from forms.identity import mask_id, mask_phone, normalize_id, normalize_phone

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")


def local(value: dt.datetime) -> dt.datetime:
    # Naive values are taken as UTC, the storage convention of the models (rules.md §1).
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(CHINA_TZ)


def fmt_date(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    v = local(value)
    return f"{v.year}年{v.month}月{v.day}日"


def fmt_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return f"{fmt_date(value)}\u00a0{local(value):%H:%M}"  # no-break: survives FontSet.rich's space rule


def scrub(text: str, data: DocumentData) -> str:
    """Mask the applicant's and the agent's ID/phone (and any ID-like number) a worker typed into free text."""
    if not text:
        return ""
    for phone in (normalize_phone(data.applicant_phone), normalize_phone(data.agent_phone)):
        if len(phone) >= 7:
            text = text.replace(phone, mask_phone(phone))
    for ident in (normalize_id(data.applicant_id_number), normalize_id(data.agent_id_number)):
        if len(ident) >= 15:
            text = re.sub(re.escape(ident), mask_id(ident), text, flags=re.IGNORECASE)
    # spaced IDs and other phones too; the committee's and the worker's own phones are public on the paper
    text = _ID_LIKE.sub(lambda m: mask_id(m.group()), text)
    return mask_free_text(text, keep=(data.committee_phone, data.worker_phone))


def deadline_text(data: DocumentData) -> str:
    """承诺答复时间: the deadline, marked 暂定 with a note while the year's holidays are unknown."""
    if data.mode == "即办" or data.deadline is None:
        return "即办件，当场办结" if data.mode == "即办" else "以承办部门通知为准"
    text = f"{fmt_datetime(data.deadline)}前"
    if data.deadline_provisional:
        note = scrub(data.deadline_note, data) or "节假日安排尚未公布，暂按周一至周五计算，如有调整另行告知"
        text += f"（暂定）\n{note}"
    elif data.deadline_note:
        text += f"\n{scrub(data.deadline_note, data)}"
    return text
