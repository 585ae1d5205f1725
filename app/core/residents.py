"""The rules of the resident register, shared by the desk and the district server: what a valid entry is,
and how a validated entry is written onto a resident row (derived sex, birth date and the pinyin search key)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from app.core import limits
from app.core.errors import UserError
from app.core.residence import HUKOU_NATURES, Region, derived_local_hukou
from forms.identity import IdentityError, validate_id, validate_phone
from models import Resident


class ResidentError(UserError, ValueError):
    """Invalid resident data; Chinese message, nothing was changed."""


# One person, one record: refused on the desk and on the server when an edit would give an ID to a second record.
ID_NUMBER_TAKEN = "该身份证号码已属于另一位居民"


@dataclass(frozen=True, kw_only=True)
class ResidentInput:
    name: str
    id_number: str
    phone: str = ""
    address: str = ""
    household_no: str = ""
    local_hukou: bool = True  # kept in step with the 户籍 city when both places are known (apply_resident)
    notes: str = ""
    # 户籍地址 (rules.md §6), 户口性质 and 居住证; the expiry may come as typed text, validate_input makes a date
    hukou_province: str = ""
    hukou_city: str = ""
    hukou_county: str = ""
    hukou_street: str = ""
    hukou_nature: str = ""
    residence_permit_no: str = ""
    residence_permit_expiry: dt.date | str | None = None

    @property
    def hukou(self) -> Region:
        return Region(self.hukou_province, self.hukou_city, self.hukou_county, self.hukou_street)


def pinyin_key(name: str) -> str:
    """Full pinyin and initials, so 张桂兰 is found by ``zhangguilan`` and ``zgl``."""
    from pypinyin import Style, lazy_pinyin  # its phrase dictionary costs ~0.2 s; load on first use
    full = "".join(lazy_pinyin(name))
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))
    return f"{full} {initials}".lower()[: limits.RESIDENT_PINYIN]  # a search key: cut, never refused


def validate_input(data: ResidentInput, today: dt.date | None = None) -> tuple[ResidentInput, str | None]:
    """Return the normalised input and an optional warning, or raise :class:`ResidentError`."""
    name = data.name.strip()
    if not name:
        raise ResidentError("请填写姓名")
    texts = ((name, "name", limits.RESIDENT_NAME), (data.address.strip(), "address", limits.RESIDENT_ADDRESS),
             (data.household_no.strip(), "household_no", limits.RESIDENT_HOUSEHOLD_NO),
             (data.notes.strip(), "notes", limits.RESIDENT_NOTES))
    for text, key, limit in texts:  # the limits of app/core/limits.py, as the server's ResidentArgs has them
        problem = limits.text_problem(limits.label(key), text, limit)
        if problem:
            raise ResidentError(problem)
    try:
        info = validate_id(data.id_number, today)
        phone, warning = validate_phone(data.phone) if data.phone.strip() else ("", None)
    except IdentityError as e:
        raise ResidentError(str(e)) from None
    clean = replace(data, name=name, id_number=info.number, phone=phone, address=data.address.strip(),
                    household_no=data.household_no.strip(), notes=data.notes.strip(), **_residence(data, today))
    return clean, warning


_HUKOU_PARTS = (("hukou_province", limits.RESIDENT_HUKOU_PROVINCE), ("hukou_city", limits.RESIDENT_HUKOU_CITY),
                ("hukou_county", limits.RESIDENT_HUKOU_COUNTY), ("hukou_street", limits.RESIDENT_HUKOU_STREET))
PERMIT_NO = re.compile(r"[0-9A-Z]{6,30}")
PERMIT_NO_PROBLEM = "居住证号码应为 6–30 位数字或字母"
NATURE_PROBLEM = f"户口性质应为{'、'.join(HUKOU_NATURES)}之一，或不填"
EXPIRY_PROBLEM = "居住证有效期应为日期，如 2027-06-30"
PERMIT_FIRST = "填写了居住证有效期，请同时填写居住证号码"
PERMITS_SINCE = dt.date(2016, 1, 1)  # 居住证暂行条例 in force: no 居住证 expired before it


def _residence(data: ResidentInput, today: dt.date | None) -> dict:
    """The 户籍地址, 户口性质 and 居住证 of ``data``, cleaned, or :class:`ResidentError` (never logs a value)."""
    out: dict = {}
    for key, limit in _HUKOU_PARTS:
        text = re.sub(r"\s+", "", getattr(data, key) or "")
        problem = limits.text_problem(limits.label(key), text, limit)
        if problem:
            raise ResidentError(problem)
        out[key] = text
    if out["hukou_county"] and not out["hukou_city"]:
        raise ResidentError("填写了户籍地区县，请同时填写所在的市")
    if out["hukou_street"] and not out["hukou_county"]:
        raise ResidentError("填写了户籍地街道（乡镇），请同时填写所在的区县")
    nature = (data.hukou_nature or "").strip()
    if nature and nature not in HUKOU_NATURES:
        raise ResidentError(NATURE_PROBLEM)
    number = re.sub(r"[\s-]+", "", data.residence_permit_no or "").upper()
    if number and not PERMIT_NO.fullmatch(number):
        raise ResidentError(PERMIT_NO_PROBLEM)
    expiry = _expiry(data.residence_permit_expiry, today or dt.date.today())
    if expiry is not None and not number:
        raise ResidentError(PERMIT_FIRST)
    return {**out, "hukou_nature": nature, "residence_permit_no": number, "residence_permit_expiry": expiry}


def _expiry(value: dt.date | str | None, today: dt.date) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        text = value.strip().replace("/", "-").replace(".", "-")
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})|(\d{4})年(\d{1,2})月(\d{1,2})日?|(\d{4})(\d{2})(\d{2})", text)
        if not m:
            raise ResidentError(EXPIRY_PROBLEM)
        y, mo, d = (int(g) for g in m.groups() if g is not None)
        try:
            value = dt.date(y, mo, d)
        except ValueError:
            raise ResidentError(EXPIRY_PROBLEM) from None
    if not isinstance(value, dt.date):
        raise ResidentError(EXPIRY_PROBLEM)
    if not PERMITS_SINCE <= value <= today.replace(year=today.year + 50, day=min(today.day, 28)):
        raise ResidentError("居住证有效期不在合理范围内（2016 年以后、50 年以内），请核对")
    return value


def apply_resident(r: Resident, clean: ResidentInput, *, at: dt.datetime, today: dt.date | None = None,
                   home: Region | None = None) -> None:
    """Write a validated entry onto ``r`` and count the change (the caller checks duplicates and owns the
    transaction). ``home`` is the committee's place: ``local_hukou`` follows the 户籍 city against it."""
    info = validate_id(clean.id_number, today)
    r.name, r.name_pinyin, r.id_number = clean.name, pinyin_key(clean.name), clean.id_number
    r.sex, r.birth_date, r.phone, r.address = info.sex, info.birth_date, clean.phone, clean.address
    r.household_no, r.notes = clean.household_no, clean.notes
    r.hukou_province, r.hukou_city, r.hukou_county, r.hukou_street = (
        clean.hukou_province, clean.hukou_city, clean.hukou_county, clean.hukou_street)
    r.hukou_nature, r.residence_permit_no = clean.hukou_nature, clean.residence_permit_no
    r.residence_permit_expiry = clean.residence_permit_expiry if isinstance(clean.residence_permit_expiry,
                                                                             dt.date) else None
    r.local_hukou = derived_local_hukou(clean.hukou, home or Region(), clean.local_hukou)
    r.version, r.updated_at = (r.version or 0) + 1, at
