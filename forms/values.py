"""Raw values as they come from a widget or from JSON: the checks every field kind and the validator share.

Each ``parse_*`` returns the normalised value or raises :class:`InvalidValue` with a Chinese message (the caller
puts the field's label in front). Applicant and agent are checked with the same functions as a person field.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from forms.identity import IdentityError, validate_id, validate_phone

MAX_NUMBER = Decimal("1e12")
MAX_MONEY = Decimal("1e10")  # 百亿元: nothing a resident declares at a front desk is larger
MAX_ROWS = 100


class InvalidValue(ValueError):
    """A raw value a kind cannot accept; ``str(err)`` is a Chinese message (the caller adds the field's label)."""


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict, set)):
        return len(value) == 0 or (isinstance(value, dict) and all(is_empty(v) for v in value.values()))
    return False


def row_prefix(key: str) -> str:
    """``第 2 行：`` for the key of a repeat-group cell (``household[1].name``), else nothing."""
    m = re.search(r"\[(\d+)\]", key)
    return f"第 {int(m[1]) + 1} 行：" if m else ""


def format_value(value: Any, unit: str = "") -> str:
    """A figure as the worker reads it: 1200 元, 3 人, 566.67 元, 是."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (float, Decimal)) and value == int(value):
        value = int(value)
    return f"{value} {unit}".strip() if unit else str(value)


def clean_text(raw: Any, multiline: bool = False) -> str:
    if not isinstance(raw, str):
        raise InvalidValue("应为文字")
    if len(raw) > 5000:  # longer than any field allows; do not scan megabytes of pasted text
        raise InvalidValue("内容过长")
    text = raw.strip()
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cs" or (cat == "Cc" and not (multiline and ch in "\n\t")):
            raise InvalidValue("包含无法识别的控制字符")
    return unicodedata.normalize("NFC", text)


def parse_person_name(raw: Any) -> str:
    name = clean_text(raw)
    if not 1 <= len(name) <= 50:
        raise InvalidValue("姓名长度不正确" if name else "请填写姓名")
    if not any(ch.isalpha() for ch in name):
        raise InvalidValue("姓名不能只包含数字或符号")
    return name


def parse_id_number(raw: Any, today: dt.date) -> str:
    if not isinstance(raw, str) or len(raw) > 40:
        raise InvalidValue("身份证号码格式不正确")
    try:
        return validate_id(raw, today).number
    except IdentityError as exc:
        raise InvalidValue(str(exc)) from None


def parse_phone(raw: Any) -> tuple[str, str | None]:
    """(normalised number, warning for an unusual mobile prefix)."""
    if not isinstance(raw, str) or len(raw) > 40:
        raise InvalidValue("电话号码格式不正确")
    try:
        return validate_phone(raw)
    except IdentityError as exc:
        raise InvalidValue(str(exc)) from None


def person_attrs(number: str | None, today: dt.date) -> dict[str, Any]:
    """Age, sex and birth date read from a valid ID number (all None without one)."""
    if not number:
        return {"age": None, "sex": None, "birth_date": None}
    info = validate_id(number, today)
    return {"age": info.age_on(today), "sex": info.sex, "birth_date": info.birth_date}


def parse_decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool) or raw is None:
        raise InvalidValue("应为数字")
    if isinstance(raw, str):
        raw = raw.strip().replace(",", "").replace("，", "")
        if len(raw) > 30:
            raise InvalidValue("数字过长")
    try:
        number = Decimal(raw) if isinstance(raw, (str, int, Decimal)) else Decimal(str(raw))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidValue("应为数字") from None
    if not number.is_finite():
        raise InvalidValue("应为有限的数字")
    return number


def show_decimal(number: Decimal) -> str:
    return str(int(number)) if number == number.to_integral_value() else str(number)
