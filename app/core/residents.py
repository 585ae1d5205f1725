"""The rules of the resident register, shared by the desk and the district server: what a valid entry is,
and how a validated entry is written onto a resident row (derived sex, birth date and the pinyin search key)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from app.core import limits
from app.core.errors import UserError
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
    local_hukou: bool = True
    notes: str = ""


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
                    household_no=data.household_no.strip(), notes=data.notes.strip())
    return clean, warning


def apply_resident(r: Resident, clean: ResidentInput, *, at: dt.datetime, today: dt.date | None = None) -> None:
    """Write a validated entry onto ``r`` and count the change (the caller checks duplicates and owns the
    transaction)."""
    info = validate_id(clean.id_number, today)
    r.name, r.name_pinyin, r.id_number = clean.name, pinyin_key(clean.name), clean.id_number
    r.sex, r.birth_date, r.phone, r.address = info.sex, info.birth_date, clean.phone, clean.address
    r.household_no, r.local_hukou, r.notes = clean.household_no, clean.local_hukou, clean.notes
    r.version, r.updated_at = (r.version or 0) + 1, at
