"""Where a resident's 户籍 is, against where the committee is (rules.md §6), shared by the desk and the server.

A resident has a 户籍地址 in four parts (province / city / county / street, from the 户口簿 or the ID card), a
户口性质 where the city still distinguishes it, a current address and possibly a 居住证. The committee's own place
is ``committee.settings["region"]``. From these the rules read, on ``applicant``:

- ``hukou_city_local`` / ``hukou_county_local`` / ``hukou_street_local``: the 户籍 is in the committee's city /
  county (区县) / street (街道); None when either side does not say.
- ``separated`` (人户分离): 户籍 and residence in different streets. A resident on the register lives in the
  committee's area, so the residence is the committee's street; derived, never stored.
- ``residence_permit_valid``: a 居住证 number is on record and its expiry is today or later; None when the
  number is there but the expiry is not.

Nothing here imports Qt or opens a database session; a "resident" is anything with the ORM's attribute names.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any, Protocol

REGION_KEY = "region"  # key in committee.settings
HUKOU_NATURES = ("非农业家庭户口", "农业家庭户口", "居民户口", "集体户口")
PARTS = ("province", "city", "county", "street")
PART_LABELS = {"province": "省（自治区、直辖市）", "city": "市", "county": "区县", "street": "街道（乡镇）"}

# A name written with or without its administrative suffix is the same place (徐州 / 徐州市, 鼓楼 / 鼓楼区).
_SUFFIXES = {
    "province": ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"),
    "city": ("自治州", "地区", "盟", "市"),
    "county": ("自治县", "区", "县", "市", "旗"),
    "street": ("街道办事处", "街道", "镇", "乡"),
}


class ResidentLike(Protocol):
    hukou_province: str
    hukou_city: str
    hukou_county: str
    hukou_street: str
    hukou_nature: str
    residence_permit_no: str
    residence_permit_expiry: dt.date | None
    local_hukou: bool


@dataclass(frozen=True)
class Region:
    """A place down to the street; any part may be empty (not known)."""

    province: str = ""
    city: str = ""
    county: str = ""
    street: str = ""

    @classmethod
    def of(cls, value: Any) -> Region:
        """From a settings value: a dict with the four keys, or text ``江苏省/徐州市/鼓楼区/丰财街道`` (what
        ``server committee set CODE region=…`` stores); anything else is an unknown place."""
        if isinstance(value, Region):
            return value
        if isinstance(value, str):
            parts = [p.strip() for p in re.split(r"[/,，、]", value)]
            return cls(*(parts + [""] * 4)[:4])
        if isinstance(value, dict):
            return cls(*(str(value.get(k) or "").strip() for k in PARTS))
        return cls()

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def empty(self) -> bool:
        return not any(self.as_dict().values())

    def label(self) -> str:
        """``江苏省徐州市鼓楼区丰财街道``; a 直辖市 named as province and city once."""
        parts = [p for p in self.as_dict().values() if p]
        return "".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])


def committee_region(settings: dict | None) -> Region:
    return Region.of((settings or {}).get(REGION_KEY))


def with_region(settings: dict | None, region: Region) -> dict:
    """A copy of the committee's settings holding ``region``."""
    return {**(settings or {}), REGION_KEY: region.as_dict()}


def region_from_division_code(code: str) -> Region:
    """Province, city and county named by the first six digits of an administrative division code (a committee
    code such as ``320302001`` begins with its county's code), from python-stdnum's table of codes; the street is
    not in that table. An unknown code gives an empty region."""
    code = (code or "").strip()
    if not re.fullmatch(r"\d{6}.*", code):
        return Region()
    from stdnum import numdb  # the table of county codes stdnum checks ID numbers with
    db = numdb.get("cn/loc")
    province, county = _division_names(db.info(code[:6]))
    city_province, city = _division_names(db.info(code[:4] + "00"))
    if not province or not county or code[4:6] == "00":
        return Region()
    if city in ("", "市辖区", "县", province) or city_province != province:
        city = province  # a 直辖市: the province is the city
    return Region(province=province, city=city, county=county)


def _division_names(info: list) -> tuple[str, str]:
    values = {k: v for _part, props in info for k, v in props.items()}
    county = ""
    for name in values.get("county", "").split(","):  # "[1983-1992]郊区,[1993-]泉山区": the current one
        if name.startswith("["):
            period, name = name[1:].split("]", 1)
            if not period.endswith("-"):
                continue
        county = name
    return values.get("province", ""), county


def hukou_region(r: ResidentLike) -> Region:
    return Region(r.hukou_province, r.hukou_city, r.hukou_county, r.hukou_street)


def _norm(part: str, name: str) -> str:
    name = re.sub(r"\s+", "", name)
    for suffix in _SUFFIXES[part]:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _same_part(part: str, a: str, b: str) -> bool | None:
    if not a.strip() or not b.strip():
        return None
    return _norm(part, a) == _norm(part, b)


def same_place(a: Region, b: Region, level: str) -> bool | None:
    """Whether ``a`` and ``b`` are in the same city / county / street (``level`` one of city, county, street);
    None when a part needed to tell is missing on either side. Each level includes the ones above it (there is a
    鼓楼区 in 徐州, 南京, 福州 and 开封); two different names are two different places at any level."""
    if _same_part("province", a.province, b.province) is False:
        return False
    result: bool | None = True
    for part in ("city", "county", "street"):
        here = _same_part(part, getattr(a, part), getattr(b, part))
        if here is False:
            return False
        if here is None:
            result = None
        if part == level:
            return result
    raise ValueError(level)


@dataclass(frozen=True)
class Residence:
    """What the rules read about a resident's 户籍 and residence (see the module docstring)."""

    hukou_city_local: bool | None
    hukou_county_local: bool | None
    hukou_street_local: bool | None
    separated: bool | None
    residence_permit_valid: bool | None
    hukou_nature: str | None

    def applicant_attrs(self, stored_local: bool) -> dict[str, Any]:
        """The keys ``applicant`` carries into forms.validate; ``local_hukou`` (for old code) is the city match, or
        the stored flag while the city match is unknown."""
        local = stored_local if self.hukou_city_local is None else self.hukou_city_local
        return {**asdict(self), "local_hukou": local}


def permit_valid(number: str, expiry: dt.date | None, today: dt.date) -> bool | None:
    if not number.strip():
        return False
    if expiry is None:
        return None
    return expiry >= today


def residence_of(r: ResidentLike, home: Region, today: dt.date) -> Residence:
    """The derived facts for one resident against the committee's place ``home``.

    A resident registered before the 户籍地址 existed has only the old 本地户籍 flag: not local then means not
    in the city (so not in the county or street either); local means the city, the finer levels unknown.
    """
    hukou = hukou_region(r)
    if hukou.empty:
        city: bool | None = bool(r.local_hukou)
        county: bool | None = None if city else False
        street: bool | None = county
    else:
        city, county, street = (same_place(hukou, home, level) for level in ("city", "county", "street"))
    return Residence(hukou_city_local=city, hukou_county_local=county, hukou_street_local=street,
                     separated=None if street is None else not street,
                     residence_permit_valid=permit_valid(r.residence_permit_no, r.residence_permit_expiry, today),
                     hukou_nature=r.hukou_nature or None)


def derived_local_hukou(hukou: Region, home: Region, entered: bool) -> bool:
    """The old ``local_hukou`` column, kept for code that still reads it: the 户籍 city against the committee's
    city when both are known, else what was entered."""
    city = same_place(hukou, home, "city") if not hukou.empty else None
    return entered if city is None else city
