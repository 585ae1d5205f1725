"""One set of limits on what a worker types, shared by the desk's input checks, the command arguments
(:mod:`app.core.commands`) and the district server.

Lengths come from the ORM columns the values end up in (SQLite ignores ``VARCHAR(n)``, PostgreSQL refuses a
longer value), so a value the desk accepts is one the server can store. Free text stored in ``TEXT`` columns
(notes, reasons, replies) has a declared limit, :data:`MAX_TEXT`.

Characters: NUL and the other control characters except tab and line breaks, and unpaired surrogates (which
no database can store as UTF-8), are refused — the same characters the form language's ``clean_text``
refuses. The rule is applied three ways: refused at desk input (the worker can fix it), refused by the server
for a command (set aside with a reason naming the field), and cleaned (:func:`clean_text`) where text must be
kept whatever it holds, such as the worker's text kept as a note when their command was set aside.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

from models import Attachment, Case, Resident

MAX_TEXT = 4000  # a note, reason, reply or result a worker writes (TEXT columns: the limit is ours)
MAX_SHORT = 200  # a short free-text value without a column of its own (a missing material's name)
MAX_JSON_DEPTH = 32  # nesting of a JSON value (case data, materials, agent)
# Size of one JSON value, as JSON text (case data, materials, agent, a reply's attachments): a form's answers with
# a full repeat group (forms/values.py MAX_ROWS) fit; a command stays far below the server's body limit.
MAX_JSON_CHARS = 100_000
MAX_LIST = 50  # entries of a list a worker fills (the materials still missing, a reply's attachments)


def column_length(attr: InstrumentedAttribute[Any]) -> int:
    """The ``String(n)`` length of an ORM column."""
    col_type = attr.property.columns[0].type
    if not isinstance(col_type, String) or col_type.length is None:
        raise TypeError(f"{attr} has no length")
    return col_type.length


# The resident register, as the desk's form and the server's check both read it.
RESIDENT_NAME = 30  # a rule, below the column's 64
RESIDENT_PHONE = column_length(Resident.phone)
RESIDENT_ADDRESS = column_length(Resident.address)
RESIDENT_HOUSEHOLD_NO = column_length(Resident.household_no)
RESIDENT_NOTES = column_length(Resident.notes)
RESIDENT_PINYIN = column_length(Resident.name_pinyin)
RESIDENT_HUKOU_PROVINCE = column_length(Resident.hukou_province)
RESIDENT_HUKOU_CITY = column_length(Resident.hukou_city)
RESIDENT_HUKOU_COUNTY = column_length(Resident.hukou_county)
RESIDENT_HUKOU_STREET = column_length(Resident.hukou_street)
RESIDENT_HUKOU_NATURE = column_length(Resident.hukou_nature)
RESIDENT_PERMIT_NO = column_length(Resident.residence_permit_no)

# Case columns a command writes.
CASE_NUMBER = column_length(Case.case_number)
CASE_ITEM_CODE = column_length(Case.item_code)
CASE_ITEM_NAME = column_length(Case.item_name)
CASE_CATALOG_VERSION = column_length(Case.catalog_version)
CASE_DEPARTMENT = column_length(Case.department)
CASE_MODE = column_length(Case.mode)
CASE_QUEUE = column_length(Case.assignee_queue)
CASE_REDIRECT_TO = column_length(Case.redirect_to)
CASE_REPLY_RESULT = column_length(Case.reply_result)
CASE_INFORM_METHOD = column_length(Case.inform_method)
CASE_DEVICE_CODE = column_length(Case.origin_device_code)
CASE_VERIFICATION_CODE = column_length(Case.verification_code)
CASE_REQUEST_CATEGORY = column_length(Case.request_category)  # 诉求 (issue 20)
CASE_URGENCY = column_length(Case.urgency)
CASE_BLOCK_CODE = column_length(Case.block_code)
CASE_FEEDBACK_CHANNEL = column_length(Case.feedback_channel)
# The failed warn/info rules a case keeps (``Case.rule_warnings``, a JSON list, so no column length bounds it):
# an item has a handful of rules (six at most today) with messages of a sentence or two.
CASE_RULE_WARNINGS = 30  # entries
CASE_RULE_WARNING_MESSAGE = 300  # characters of one message
CASE_MAKEUP_MATERIALS = 20  # materials a 容缺受理 case may still owe (Case.makeup_materials, a JSON list)

# Attachments (issue 15): one file of a case or a resident. A page from the document camera is normalised to
# about 500 KB (app/desk/attachments/images.py); a merged material of many pages or a PDF from disk may be more.
ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
ATTACHMENT_MAX_PAGES = 60
ATTACHMENT_MIME_TYPES = ("image/jpeg", "image/png", "application/pdf")
ATTACHMENT_SOURCES = ("camera", "scanner", "file", "idcard", "")
ATTACHMENT_MATERIAL = column_length(Attachment.material)
ATTACHMENT_FILENAME = column_length(Attachment.filename)
ATTACHMENT_CHUNK_BYTES = 256 * 1024  # one upload/download chunk: small enough to resume soon after a drop
SHA256_PATTERN = r"^[0-9a-f]{64}$"  # a file's name in every store: 64 lower-case hex digits, nothing around them
_SHA256 = re.compile("[0-9a-f]{64}")


def is_sha256(text: object) -> bool:
    """The one test of a file's sha256 (desk store, pulled rows, the server's file routes, command args)."""
    return isinstance(text, str) and _SHA256.fullmatch(text) is not None


def one_of(allowed: tuple[str, ...]):
    """Pydantic validator: the value is one of ``allowed`` (the tuples above, so a list is written once)."""
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError("不是可接受的值")
        return value
    return check


# What the worker calls each field (the labels of the desk's forms), for the messages below.
LABELS = {
    "name": "姓名", "id_number": "身份证号码", "phone": "联系电话", "address": "住址", "household_no": "户号",
    "notes": "备注", "note": "备注", "text": "答复内容", "reason": "原因", "result_text": "办理结果",
    "redirect_to": "建议前往", "queue": "接收部门", "result": "答复结果", "inform_method": "告知方式",
    "case_id": "案件编号", "id": "编号", "assignee_id": "接收人", "case_number": "案件编号", "item_code": "事项",
    "item_name": "事项名称", "data": "填写内容", "materials": "材料", "agent": "代办人", "missing": "缺少的材料",
    "attachments": "附件", "catalog_version": "目录版本", "department": "部门",
    "hukou_province": "户籍地（省）", "hukou_city": "户籍地（市）", "hukou_county": "户籍地（区县）",
    "hukou_street": "户籍地（街道、乡镇）", "hukou_nature": "户口性质", "residence_permit_no": "居住证号码",
    "residence_permit_expiry": "居住证有效期",
    "rule_warnings": "受理提示", "warning_note": "居民坚持申请的说明",
    "acceptance_mode": "受理方式", "makeup_materials": "容缺材料", "makeup_due": "补交期限", "pledge_text": "承诺内容",
    "resident_id": "居民", "material": "所证明的材料", "sha256": "文件校验值", "size": "文件大小", "mime": "文件类型",
    "filename": "文件名", "pages": "页数", "source": "来源", "attachment_id": "附件",
    # 诉求 (issue 20)
    "category": "诉求类别", "urgency": "紧急程度", "place": "地点", "block_code": "块区", "description": "诉求内容",
    "contact_name": "联系人", "contact_phone": "联系电话", "anonymous": "匿名", "handler_name": "处理单位或处理人",
    "handler_phone": "处理人电话", "promised_at": "承诺时间", "channel": "反馈方式", "blocks": "块区",
    "kind": "案件类型",
}

# C0/C1 control characters except tab, line feed and carriage return; lone surrogates.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
UNSTORABLE = "含有无法保存的特殊字符（如空字符）"


class Unstorable(ValueError):
    """A value holding characters no database can store; ``str(e)`` is the Chinese problem without the label."""

    def __init__(self) -> None:
        super().__init__(UNSTORABLE)


class TooLarge(ValueError):
    """A JSON value beyond :data:`MAX_JSON_CHARS` or :data:`MAX_JSON_DEPTH`; ``str(e)`` is the Chinese problem."""

    def __init__(self) -> None:
        super().__init__(f"过多（最多 {MAX_JSON_CHARS} 个字，{MAX_JSON_DEPTH} 层）")


def label(key: str) -> str:
    return LABELS.get(key, key)


def too_long(label_text: str, limit: int) -> str:
    return f"{label_text}过长（最多 {limit} 个字）"


def unstorable(label_text: str) -> str:
    return f"{label_text}{UNSTORABLE}"


def has_unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def text_problem(label_text: str, text: str, limit: int) -> str | None:
    """Why ``text`` cannot be kept in a field of ``limit`` characters, in Chinese; None when it can."""
    if len(text) > limit:
        return too_long(label_text, limit)
    if has_unstorable(text):
        return unstorable(label_text)
    return None


def storable(value: str) -> str:
    """Pydantic validator: refuse a string with characters that cannot be stored."""
    if has_unstorable(value):
        raise Unstorable()
    return value


def storable_json(value: Any) -> Any:
    """Pydantic validator: every string in a JSON value (keys too, at any depth) must be storable, and the value
    within :data:`MAX_JSON_DEPTH` and :data:`MAX_JSON_CHARS`."""
    _check_json(value, 0)
    if len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)) > MAX_JSON_CHARS:
        raise TooLarge()
    return value


def _check_json(value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise TooLarge()
    if isinstance(value, str):
        storable(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            storable(str(k))
            _check_json(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_json(v, depth + 1)


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` without the characters that cannot be stored, cut to ``limit`` characters (marked with …).
    For text that must be kept whatever it holds; input is refused instead (:func:`text_problem`)."""
    text = _UNSTORABLE.sub("", text)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"
