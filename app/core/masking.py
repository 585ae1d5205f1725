"""ID numbers and phone numbers inside free text, however a worker wrote them — found once, here.

Free text (a reply, a note, a result, what a resident said) may hold an ID number or a phone written with spaces,
dashes, ``+86`` or full-width digits: ``110105 19491231 002X``, ``+86 139 5200 0000``, ``0516-83001234``. The
screen shows such text masked to a role without full-ID rights (:func:`mask_free_text`, applied by the desk's
service layer) and the log redactor replaces them whole (``app/core/logs.py``), both through :func:`replace_numbers`.

A case number (``310101002-D01-20261202-0009``), a date or an amount is not taken for a number: an ID starts with
1–9 and is grouped 6-8-4 or not at all; a landline needs its area code (a bare 8-digit number could be a date).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Literal

Kind = Literal["id", "phone"]

# Full-width digits and signs as ASCII, one character for one, so a match's span is the same in the original text.
_ASCII = str.maketrans("０１２３４５６７８９＋－（）Ｘｘ\u2010\u2011\u2012\u2013\u2014\u2212",
                       "0123456789+-()Xx------")
_B = r"(?<![0-9A-Za-z])"  # not inside a longer word or number
_E = r"(?![0-9A-Za-z])"
_S = r"[ \-]?"  # one optional space or dash between groups
_ID = rf"[1-9][0-9]{{5}}{_S}[0-9]{{8}}{_S}[0-9]{{3}}[0-9Xx]|[1-9][0-9]{{14}}"  # 18 (grouped 6-8-4 or not), old 15
_CC = r"(?:\+|00)?86"  # country code
_MOBILE = rf"(?:{_CC}{_S})?1[3-9][0-9](?:{_S}[0-9]){{8}}"
_LOCAL = rf"[2-9][0-9]{{2,3}}{_S}[0-9]{{4}}"  # 7–8 digits, never starting with 0 or 1
_LANDLINE = rf"\(?0[1-9][0-9]{{1,2}}\)?{_S}{_LOCAL}"  # with its area code: 0516-83001234, (0516)83001234
_ABROAD = rf"{_CC}{_S}\(?[1-9][0-9]{{1,2}}\)?{_S}{_LOCAL}"  # +86-516-83001234
_NUMBER = re.compile(
    rf"{_B}(?:(?P<id>{_ID})|(?P<mobile>{_MOBILE})|(?P<landline>{_LANDLINE})|(?P<abroad>{_ABROAD})){_E}")


def replace_numbers(text: str, replace: Callable[[Kind, str], str | None]) -> str:
    """``text`` with every ID number and phone in it replaced by ``replace(kind, digits)``; ``digits`` is the
    number as stored (ASCII, no separators, an ID's X upper case, a phone without its country code). A None
    from ``replace`` keeps the number as written."""
    if not text:
        return text or ""
    plain = text.translate(_ASCII)
    out, last = [], 0
    for m in _NUMBER.finditer(plain):
        digits = re.sub(r"[^0-9X]", "", m.group().upper())
        if m.group("id"):
            kind: Kind = "id"
        else:
            kind = "phone"
            if m.group("abroad"):
                digits = "0" + re.sub(r"^(?:00)?86", "", digits)  # +86 516 … → 0516 …
            elif m.group("mobile") and len(digits) > 11:
                digits = digits[-11:]
        new = replace(kind, digits)
        out += [text[last:m.start()], text[m.start():m.end()] if new is None else new]
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def mask_free_text(text: str, keep: Iterable[str] = ()) -> str:
    """Free text as a role without full-ID rights reads it: every ID number as ``320302********1234`` and every
    phone as ``139****0000`` / ``0516****1234`` (the masks of lists and paper, rules.md §5)."""
    # imported here: forms.identity needs app.core.errors, which redacts tracebacks with this module
    from forms.identity import mask_id, mask_phone
    public = {re.sub(r"[^0-9X]", "", k.upper()) for k in keep if k}  # e.g. the committee's own phone
    return replace_numbers(text, lambda kind, digits: None if digits in public
                           else mask_id(digits) if kind == "id" else mask_phone(digits))
