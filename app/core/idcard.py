"""The 二代身份证 (second-generation resident ID card) as a reader returns it, and the one reader interface
(issue 15).

Every certified reader (termb.dll / sdtapi.dll and their Linux ``.so``, the vendors' local services) hands over
the card's text as the same 256-byte block in UCS-2 little-endian (GA 467 "wz" block): name 30 bytes, sex 2,
ethnicity code 4, birth date 16, address 70, ID number 36, issuing authority 30, valid from 16, valid until 16
(or "长期"), 36 reserved; the photo is a separate 1024-byte ``wlt`` block that only the vendor's decoder (libwlt /
WltRS) can turn into a bitmap. :func:`parse_wz` reads the block; :func:`card_from_fields` checks text fields
from a reader that returns them already split (an HTTP service). A card whose ID number fails the ID rules
(``forms.identity``) or disagrees with the birth date and sex printed beside it is a read error: a garbled read
must never reach the register.

Nothing here logs card data; :meth:`IdCard.masked_label` is what a message may name.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from app.core.errors import UserError
from app.core.residence import Region
from forms.identity import IdentityError, mask_id, mask_name, validate_id

WZ_SIZE = 256
WLT_SIZE = 1024
# (field, byte length) in the order of the block
WZ_LAYOUT = (("name", 30), ("sex", 2), ("ethnicity", 4), ("birth", 16), ("address", 70), ("id_number", 36),
             ("authority", 30), ("valid_from", 16), ("valid_until", 16))
LONG_TERM = "长期"

# GB/T 3304 民族代码 (the card prints the name without 族)
ETHNICITIES = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝", "08": "壮",
    "09": "布依", "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白", "15": "土家", "16": "哈尼",
    "17": "哈萨克", "18": "傣", "19": "黎", "20": "傈僳", "21": "佤", "22": "畲", "23": "高山", "24": "拉祜",
    "25": "水", "26": "东乡", "27": "纳西", "28": "景颇", "29": "柯尔克孜", "30": "土", "31": "达斡尔",
    "32": "仫佬", "33": "羌", "34": "布朗", "35": "撒拉", "36": "毛南", "37": "仡佬", "38": "锡伯", "39": "阿昌",
    "40": "普米", "41": "塔吉克", "42": "怒", "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克", "46": "德昂",
    "47": "保安", "48": "裕固", "49": "京", "50": "塔塔尔", "51": "独龙", "52": "鄂伦春", "53": "赫哲",
    "54": "门巴", "55": "珞巴", "56": "基诺", "97": "其他", "98": "外国血统",
}
# GB/T 2261.1 人的性别代码
SEXES = {"1": "男", "2": "女", "0": "未知", "9": "未说明"}

REREAD = "请取下证件后重新放置"


class CardReaderError(UserError):
    """The reader, its driver or the card could not be read; the message is Chinese and says what to do."""


@dataclass(frozen=True, kw_only=True)
class IdCard:
    name: str
    sex: str  # 男 / 女 (未知 / 未说明 never pass the ID check on a resident card)
    ethnicity: str  # 汉, 蒙古, …
    birth_date: dt.date
    id_number: str
    address: str  # 住址 printed on the card: the 户籍地址
    authority: str  # 签发机关
    valid_from: dt.date
    valid_until: dt.date | None  # None = 长期
    photo: bytes | None = field(default=None, repr=False)  # JPEG/PNG when a decoder is there, else None

    def __repr__(self) -> str:  # never the card data, even in a traceback or a test failure
        return f"IdCard({self.masked_label()})"

    def expired(self, today: dt.date) -> bool:
        """Past its validity: the last valid day is ``valid_until`` itself; a 长期 card never expires."""
        return self.valid_until is not None and self.valid_until < today

    @property
    def validity_label(self) -> str:
        end = LONG_TERM if self.valid_until is None else f"{self.valid_until:%Y.%m.%d}"
        return f"{self.valid_from:%Y.%m.%d}–{end}"

    def masked_label(self) -> str:
        """``张*（320302********1003）``: what a message or a test result may show of the card."""
        return f"{mask_name(self.name)}（{mask_id(self.id_number)}）"

    def hukou(self) -> tuple[Region, str]:
        """The 户籍地址 split into province / city / county / street as far as the text says it, and the rest."""
        return split_address(self.address)


@runtime_checkable
class CardReader(Protocol):
    """One reader, whatever the driver. Calls block (run them off the UI thread); errors are CardReaderError."""

    def open(self) -> None:
        """Connect to the reader (a port, a service); raises CardReaderError with a Chinese reason."""
        ...

    def close(self) -> None:
        """Release the reader; never raises."""
        ...

    def read(self) -> IdCard | None:
        """One attempt: the card on the reader, or None when there is no card (the caller polls)."""
        ...


# ----- parsing ---------------------------------------------------------------------------------------------------

def _text(raw: bytes) -> str:
    return raw.decode("utf-16-le", errors="replace").replace("\x00", "").strip()


def parse_wz(raw: bytes, *, photo: bytes | None = None, today: dt.date | None = None) -> IdCard:
    """The card from the standard 256-byte UCS-2LE text block; CardReaderError when it is not a readable
    resident ID card (short block, a foreigner's permanent residence card, a bad ID number)."""
    if len(raw) < WZ_SIZE - 36:  # the reserved tail may be cut by some drivers; the fields may not
        raise CardReaderError(f"读卡数据不完整（{len(raw)} 字节，应为 {WZ_SIZE} 字节），{REREAD}")
    if len(raw) >= 250 and _text(raw[248:250]) == "I":  # card type "I": 外国人永久居留身份证, another layout
        raise CardReaderError("这是外国人永久居留身份证，暂不能读卡登记，请手工录入")
    values: dict[str, str] = {}
    at = 0
    for key, size in WZ_LAYOUT:
        values[key] = _text(raw[at:at + size])
        at += size
    return card_from_fields(photo=photo, today=today, **values)


def card_from_fields(*, name: str, sex: str, ethnicity: str, birth: str, address: str, id_number: str,
                     authority: str, valid_from: str, valid_until: str, photo: bytes | None = None,
                     today: dt.date | None = None) -> IdCard:
    """Check and type the card's fields (codes or labels for sex and ethnicity, dates as 20200101, 2020-01-01 or
    2020.01.01, 长期); CardReaderError when something is not what a readable card holds."""
    name = re.sub(r"\s+", "", name)
    if not name:
        raise CardReaderError(f"读卡数据中没有姓名，{REREAD}")
    try:
        info = validate_id(id_number, today)
    except IdentityError as e:
        raise CardReaderError(f"证件号码读取有误（{e}），{REREAD}") from None
    birth_date = _date(birth, "出生日期")
    sex_label = SEXES.get(sex.strip(), sex.strip())
    if birth_date != info.birth_date or sex_label != info.sex:
        raise CardReaderError(f"读卡数据不一致（出生日期或性别与证件号码不符），{REREAD}")
    eth = ethnicity.strip()
    if eth.isdigit():
        if eth.zfill(2) not in ETHNICITIES:
            raise CardReaderError(f"读卡数据中的民族代码无效，{REREAD}")
        eth = ETHNICITIES[eth.zfill(2)]
    elif len(eth) > 1:
        eth = eth.removesuffix("族")  # a service that returns the name as printed elsewhere: 汉族 → 汉
    until = valid_until.strip()
    return IdCard(name=name, sex=sex_label, ethnicity=eth, birth_date=birth_date, id_number=info.number,
                  address=re.sub(r"\s+", "", address), authority=authority.strip(),
                  valid_from=_date(valid_from, "有效期起始日期"),
                  valid_until=None if until.startswith(LONG_TERM) else _date(until, "有效期截止日期"), photo=photo)


def _date(text: str, what: str) -> dt.date:
    digits = re.sub(r"[-./年月日\s]", "", text or "")
    try:
        if len(digits) != 8 or not digits.isdigit():
            raise ValueError
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise CardReaderError(f"读卡数据中的{what}无效，{REREAD}") from None


# ----- the 户籍地址 in parts ---------------------------------------------------------------------------------------

_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
_PROVINCE = re.compile(r"(内蒙古自治区|广西壮族自治区|西藏自治区|宁夏回族自治区|新疆维吾尔自治区|香港特别行政区"
                       r"|澳门特别行政区|[^\d\s]{2,3}?省)")
_CITY = re.compile(r"([^\d\s]{1,12}?(?:自治州|地区|盟|市))")
_COUNTY = re.compile(r"([^\d\s]{1,10}?(?:自治县|自治旗|区|县|市|旗))")
_STREET = re.compile(r"([^\d\s]{1,10}?(?:街道办事处|街道|镇|乡))")


def split_address(address: str) -> tuple[Region, str]:
    """``江苏省徐州市鼓楼区丰财街道幸福里一区3号`` → Region(江苏省, 徐州市, 鼓楼区, 丰财街道) and ``幸福里一区3号``.

    Each part only when the ones above it were found (the register needs the city before the county, the
    county before the street); what is not recognised stays in the rest. The worker checks the result."""
    rest = re.sub(r"\s+", "", address or "")
    parts: list[str] = []
    muni = next((m for m in _MUNICIPALITIES if rest.startswith(m)), None)
    if muni:
        parts, rest = [muni, muni], rest[len(muni):]
    else:
        m = _PROVINCE.match(rest)
        if m:
            parts, rest = [m.group(1)], rest[m.end():]
            m = _CITY.match(rest)
            if m:
                parts, rest = parts + [m.group(1)], rest[m.end():]
    if len(parts) == 2:
        for pattern in (_COUNTY, _STREET):
            m = pattern.match(rest)
            if not m:
                break
            parts, rest = parts + [m.group(1)], rest[m.end():]
    return Region(*(parts + [""] * 4)[:4]), rest
