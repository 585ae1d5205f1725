"""Resident ID numbers and phone numbers: validation, normalisation and masking.

Rules from GB 11643-1999 as summarised in shared/domain/rules.md §4 and §5. The check digit is
verified by python-stdnum (``stdnum.cn.ric``); we add what stdnum does not: the province prefix only
(abolished county codes stay valid for life), permits starting 81/82/83 and the 2023 foreign
permanent residence card starting with 9, a birth date that is not in the future, and Chinese messages.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from stdnum.cn import ric

from app.core.errors import UserError

# First two digits of mainland provinces (GB/T 2260) plus 81/82/83 (HK/MO/TW residence permits)
# and 9x (foreign permanent residence card, 2023 format).
_PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
}

_MOBILE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_MOBILE_ANY_RE = re.compile(r"^(?:\+?86)?(1\d{10})$")
_LANDLINE_RE = re.compile(r"^(0\d{2,3})-?(\d{7,8})(?:-\d{1,6})?$")


class IdentityError(UserError, ValueError):
    """A value that is not a valid ID number or phone; ``str(err)`` is a Chinese message for the user."""


@dataclass(frozen=True)
class IdInfo:
    number: str
    birth_date: dt.date
    sex: str  # "男" / "女"

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def normalize_id(value: str) -> str:
    return (value or "").strip().replace(" ", "").upper()


def validate_id(value: str, today: dt.date | None = None) -> IdInfo:
    """Return the parsed ID or raise :class:`IdentityError` with a Chinese message."""
    number = normalize_id(value)
    today = today or dt.date.today()
    if not number:
        raise IdentityError("请填写身份证号码")
    if len(number) != 18:
        raise IdentityError(f"身份证号码应为 18 位，当前为 {len(number)} 位")
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise IdentityError("身份证号码只能包含数字，最后一位可以是 X")
    if number[:2] not in _PROVINCES and not number.startswith("9"):
        raise IdentityError("身份证号码前两位不是有效的省份代码")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentityError("身份证号码中的出生日期不是有效日期") from None
    if birth > today:
        raise IdentityError("身份证号码中的出生日期晚于今天")
    if birth.year < 1880:
        raise IdentityError("身份证号码中的出生年份不合理")
    # Only the ISO 7064 check digit comes from stdnum: its full validate() also looks the county code
    # up and rejects (or, for some codes, crashes on) abolished counties, which stay valid for life.
    if ric.calc_check_digit(number) != number[-1]:
        raise IdentityError("身份证号码校验位不正确，请核对最后一位")
    sex = "男" if int(number[16]) % 2 == 1 else "女"
    return IdInfo(number=number, birth_date=birth, sex=sex)


def is_valid_id(value: str, today: dt.date | None = None) -> bool:
    try:
        validate_id(value, today)
    except IdentityError:
        return False
    return True


def make_id_number(age: int, sex: str = "男", today: dt.date | None = None,
                   region: str = "320302", seed: int = 0) -> str:
    """A valid resident ID for someone ``age`` full years old today (徐州市鼓楼区 by default), for samples and tests."""
    today = today or dt.date.today()
    year = today.year - age
    birth = today.replace(year=year, day=min(today.day, 28)) - dt.timedelta(days=30 + seed % 200)
    seq = 100 + seed % 800
    seq = seq if (seq % 2 == 1) == (sex == "男") else seq + 1
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def normalize_phone(value: str) -> str:
    return re.sub(r"[\s()（）]", "", value or "")


def validate_phone(value: str) -> tuple[str, str | None]:
    """Return ``(normalised, warning)``; raise :class:`IdentityError` if it is not a phone at all.

    Mobile numbers follow ``^(?:\\+?86)?1[3-9]\\d{9}$``; an unusual mobile prefix only warns,
    a landline (area code + 7–8 digits) is accepted.
    """
    phone = normalize_phone(value)
    if not phone:
        raise IdentityError("请填写联系电话")
    m = _MOBILE_RE.match(phone)
    if m:
        return m.group(1), None
    m = _MOBILE_ANY_RE.match(phone)
    if m:
        return m.group(1), "手机号码号段不常见，请与居民核对"
    m = _LANDLINE_RE.match(phone)
    if m:
        return phone, None
    raise IdentityError("电话号码格式不正确：手机号应为 11 位，固定电话应为区号加 7–8 位号码")


_ID_DIGITS_RE = re.compile(r"^\d{6,17}[\dX]?$")


def lookup_kind(value: str) -> str:
    """What a worker typed into a resident search box: ``"id_number"``, ``"phone"``, ``"name"``, or ``""`` when
    it is none of them clearly (a few digits, digits mixed with characters).

    A mobile (11 digits from 1) or landline is a phone; 6 to 18 digits (an 18th ``X``) are (part of) an ID
    number; text without digits is a name. Used to start a registration from what found nobody."""
    text = (value or "").strip()
    if not text:
        return ""
    phone = normalize_phone(text)
    if _MOBILE_ANY_RE.match(phone) or _LANDLINE_RE.match(phone):
        return "phone"
    if _ID_DIGITS_RE.match(normalize_id(text)):
        return "id_number"
    if not any(ch.isdigit() for ch in text):
        return "name"
    return ""


def mask_id(value: str | None) -> str:
    """First 6 + last 4 visible: ``320302********1234`` (GB/T 35273 de-identification)."""
    if not value:
        return ""
    v = normalize_id(value)
    if len(v) <= 10:
        return "*" * len(v)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def mask_phone(value: str | None) -> str:
    """``138****8000`` for mobiles; landlines keep area code and last 4."""
    if not value:
        return ""
    v = normalize_phone(value)
    if len(v) == 11 and v.startswith("1"):
        return v[:3] + "****" + v[-4:]
    if len(v) > 6:
        return v[:4] + "*" * (len(v) - 8 if len(v) > 8 else 2) + v[-4:]
    return "*" * len(v)


def mask_name(value: str | None) -> str:
    """张三 → 张*; 欧阳明明 → 欧**明 (used in logs-free views such as QR-free lists)."""
    if not value:
        return ""
    if len(value) <= 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
