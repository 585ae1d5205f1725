"""Form field kinds: one class per ``type`` an item file may give a field.

As qutebrowser's ``configtypes`` do for settings, a kind owns everything the form language knows about its values:

* :meth:`FieldKind.coerce` / :meth:`~FieldKind.parse`: a raw value from a widget or from JSON → the Python value,
  or a Chinese message; :meth:`~FieldKind.check` for limits that need the whole value;
* :attr:`~FieldKind.bounds` and :attr:`~FieldKind.options`: what ``min``/``max`` and ``options`` mean for the kind
  (the loader refuses them where they mean nothing, see :meth:`~FieldKind.shape_problems`);
* :meth:`~FieldKind.format` / :meth:`~FieldKind.mask` / :meth:`~FieldKind.screen_text`: the value written for
  people, in full or with identifiers masked;
* :meth:`~FieldKind.sample` / :meth:`~FieldKind.from_sample`: a value that passes validation (tests, demo data);
* :meth:`~FieldKind.spec`: what the expression checker knows about the field's name;
* :attr:`~FieldKind.editor`: the name of its editor; ``ui/desk/field_widgets.py`` maps names to Qt widgets, so this
  module (like all of ``forms/``) never imports Qt.

Adding a kind means one class here, listed in :data:`KINDS`, and (unless an existing editor fits) one editor.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from forms.expr import PERSON_ATTRS, NameSpec, Record
from forms.identity import make_id_number, mask_id, mask_phone
from forms.values import (
    MAX_MONEY,
    MAX_NUMBER,
    MAX_ROWS,
    InvalidValue,
    clean_text,
    format_value,
    is_empty,
    parse_decimal,
    parse_id_number,
    parse_person_name,
    parse_phone,
    person_attrs,
    row_prefix,
    show_decimal,
)

if TYPE_CHECKING:
    from forms.schema import Field

_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_RELATIVE_DAY = re.compile(r"^today(?:\s*([+-])\s*(\d{1,5}))?$")
_YES_NO = {"是": True, "否": False}


@dataclass
class ParseContext:
    """Where the kinds report what they found while coercing one submitted value (and its parts)."""

    today: dt.date
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def refuse(self, key: str, fld: Field, message: str) -> None:
        self.errors.append((key, f"{row_prefix(key)}「{fld.label}」{message}"))


def coerce(fld: Field, raw: Any, key: str, ctx: ParseContext) -> tuple[Any, Any]:
    """(value, value as expressions see it) of one submitted value; an empty one is (None, None)."""
    if is_empty(raw):
        return None, None
    return fld.kind.coerce(fld, raw, key, ctx)


def sample_value(fld: Field, today: dt.date) -> Any:
    """A value of ``fld`` that passes validation: the author's ``sample`` if given, else the kind's own."""
    seed = zlib.crc32(fld.key.encode())
    if fld.sample is not None:
        return fld.kind.from_sample(fld, fld.sample, today, seed)
    return fld.kind.sample(fld, today, seed)


# ---------------------------------------------------------------------------
# The kinds

class FieldKind:
    """What one ``type`` of field means; subclasses override what differs. Instances hold no state."""

    name: ClassVar[str]
    title: ClassVar[str]                 # the kind in Chinese, for authors' messages
    editor: ClassVar[str] = "line"       # key of its editor in ui/desk/field_widgets.py
    placeholder: ClassVar[str] = ""      # grey hint in an empty editor
    bounds: ClassVar[str | None] = None  # what min/max limit; None: they are not allowed
    options: ClassVar[str | None] = None  # what ``options`` lists; None: not allowed
    min_options: ClassVar[int] = 0
    pick: ClassVar[bool] = False         # answered by choosing (请选择…) rather than by typing (请填写…)
    rows: ClassVar[bool] = False         # a repeat group: rows of sub-fields
    wide: ClassVar[bool] = False         # its text needs a wide column in a table

    def spec(self, fld: Field) -> NameSpec:
        """What the expression checker knows about the field's name."""
        return NameSpec()

    # -- reading values -------------------------------------------------------
    def coerce(self, fld: Field, raw: Any, key: str, ctx: ParseContext) -> tuple[Any, Any]:
        """(value, value as expressions see it) of a non-empty raw value; what is wrong goes to ``ctx``."""
        try:
            value = self.parse(fld, raw, ctx.today)
        except InvalidValue as exc:
            ctx.refuse(key, fld, str(exc))
            return None, None
        return value, value

    def parse(self, fld: Field, raw: Any, today: dt.date) -> Any:
        """The Python value of a non-empty raw value, within the field's bounds; else :class:`InvalidValue`."""
        raise NotImplementedError

    def check(self, fld: Field, value: Any) -> list[str]:
        """Messages about limits that need the whole parsed value (scalar bounds are checked while parsing)."""
        return []

    def required_message(self, fld: Field) -> str:
        return f"请{'选择' if self.pick else '填写'}「{fld.label}」"

    def shape_problems(self, fld: Field) -> list[str]:
        """Authoring errors of the field's attributes for this kind (the loader reports them)."""
        problems = []
        if len(fld.options) < self.min_options:
            problems.append(f"{self.title}字段至少需要两个选项（options）")
        if fld.options and self.options is None:
            problems.append(f"{fld.type} 类型的字段不能有 options")
        if len(set(fld.options)) != len(fld.options):
            problems.append("选项重复")
        if fld.fields and not self.rows:
            problems.append("只有重复组（group）可以有子字段 fields")
        if (fld.min is not None or fld.max is not None) and self.bounds is None:
            problems.append(f"{fld.type} 类型的字段不能设置 min/max")
        if fld.min is not None and fld.max is not None and fld.min > fld.max:
            problems.append("min 大于 max")
        return problems

    # -- writing values -------------------------------------------------------
    def format(self, fld: Field, value: Any) -> str:
        """The value in full as a person reads it (documents, exports); "" when there is none."""
        return "" if is_empty(value) else self._text(fld, value, masked=False)

    def mask(self, fld: Field, value: Any) -> str:
        """As :meth:`format`, with ID and phone numbers masked (GB/T 35273)."""
        return "" if is_empty(value) else self._text(fld, value, masked=True)

    def screen_text(self, fld: Field, value: Any) -> str:
        """What the wizard's review page shows: masked, as every screen is, unless a kind says why not."""
        return self.mask(fld, value)

    def _text(self, fld: Field, value: Any, masked: bool) -> str:
        return format_value(value, fld.unit)

    # -- a cell of a repeat group's table ---------------------------------------
    def cell_options(self, fld: Field) -> list[str] | None:
        """The choices of a table cell (a combo box), or None for a typed cell."""
        return None

    def cell_value(self, fld: Field, text: str) -> Any:
        return text or None

    def cell_text(self, fld: Field, value: Any) -> str:
        if isinstance(value, bool):
            return "是" if value else "否"
        return "" if value is None else str(value)

    # -- samples ----------------------------------------------------------------
    def sample(self, fld: Field, today: dt.date, seed: int) -> Any:
        """A valid value for a field without an author's ``sample``."""
        raise NotImplementedError

    def from_sample(self, fld: Field, sample: Any, today: dt.date, seed: int) -> Any:
        """The author's ``sample`` as a value (a kind may let it be relative to today so it stays valid)."""
        return sample


class TextKind(FieldKind):
    name, title, bounds, wide = "text", "单行文字", "字数", True
    length: ClassVar[tuple[int, int]] = (1, 100)
    multiline: ClassVar[bool] = False
    too_short: ClassVar[str] = "过短，请填写完整"
    example: ClassVar[str] = "示例内容"

    def parse(self, fld: Field, raw: Any, today: dt.date) -> str:
        text = clean_text(raw, multiline=self.multiline)
        low = int(fld.min) if fld.min is not None else self.length[0]
        high = int(fld.max) if fld.max is not None else self.length[1]
        if len(text) < low:
            raise InvalidValue(self.too_short)
        if len(text) > high:
            raise InvalidValue(f"不能超过 {high} 个字")
        return text

    def sample(self, fld: Field, today: dt.date, seed: int) -> str:
        low = int(fld.min) if fld.min is not None else 0
        text = self.example if len(self.example) >= low else self.example + "示" * (low - len(self.example))
        return text[: int(fld.max)] if fld.max is not None else text


class LongTextKind(TextKind):
    name, title, editor = "longtext", "多行文字", "longtext"
    length, multiline = (1, 2000), True
    example = "家中情况属实，申请人自述如上，特此说明。"


class AddressKind(TextKind):
    name, title, placeholder = "address", "地址", "详细地址"
    length, too_short = (4, 200), "过短，请填写到门牌号"
    example = "江苏省徐州市鼓楼区丰财街道示例社区1号楼2单元301室"


class IdNumberKind(FieldKind):
    name, title, placeholder, wide = "id_number", "身份证号码", "18 位身份证号码", True

    def parse(self, fld: Field, raw: Any, today: dt.date) -> str:
        return parse_id_number(raw, today)

    def _text(self, fld: Field, value: Any, masked: bool) -> str:
        return mask_id(str(value)) if masked else str(value)

    def sample(self, fld: Field, today: dt.date, seed: int) -> str:
        return make_id_number(35, "男", today, seed=seed)


class PhoneKind(FieldKind):
    name, title, placeholder = "phone", "电话", "手机或固定电话"

    def coerce(self, fld: Field, raw: Any, key: str, ctx: ParseContext) -> tuple[Any, Any]:
        try:
            number, warning = parse_phone(raw)
        except InvalidValue as exc:
            ctx.refuse(key, fld, str(exc))
            return None, None
        if warning:
            ctx.warnings.append((key, warning))
        return number, number

    def parse(self, fld: Field, raw: Any, today: dt.date) -> str:
        return parse_phone(raw)[0]

    def _text(self, fld: Field, value: Any, masked: bool) -> str:
        return mask_phone(str(value)) if masked else format_value(value, fld.unit)

    def screen_text(self, fld: Field, value: Any) -> str:
        # The worker reads a contact number back to the resident before submitting; the review shows it whole.
        return self.format(fld, value)

    def sample(self, fld: Field, today: dt.date, seed: int) -> str:
        return "13952005678"


class DateKind(FieldKind):
    name, title, placeholder, pick = "date", "日期", "例如 2026-11-22", True

    def parse(self, fld: Field, raw: Any, today: dt.date) -> dt.date:
        if isinstance(raw, dt.datetime):
            raw = raw.date()
        if isinstance(raw, dt.date):
            day = raw
        elif isinstance(raw, str) and (m := _DATE_RE.match(raw.strip()[:20])):
            try:
                day = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise InvalidValue("不是有效日期") from None
        else:
            raise InvalidValue("日期格式不正确，应为 年-月-日")
        if not 1900 <= day.year <= 2100:
            raise InvalidValue("日期年份不合理")
        return day

    def _text(self, fld: Field, value: Any, masked: bool) -> str:
        return value.strftime("%Y年%m月%d日") if isinstance(value, dt.date) else format_value(value, fld.unit)

    def sample(self, fld: Field, today: dt.date, seed: int) -> dt.date:
        return today - dt.timedelta(days=30)

    def from_sample(self, fld: Field, sample: Any, today: dt.date, seed: int) -> Any:
        """``today``, ``today-400``, ``today+30``: a sample date that stays valid as time passes."""
        if isinstance(sample, str) and (m := _RELATIVE_DAY.match(sample.strip())):
            days = int(m[2] or 0) * (1 if m[1] == "+" else -1)
            return today + dt.timedelta(days=days)
        return sample


class NumberKind(FieldKind):
    name, title, placeholder, bounds = "number", "数字", "数字", "数值"
    limit: ClassVar[Decimal] = MAX_NUMBER
    floor: ClassVar[Decimal | None] = None  # the lower bound when the author sets no ``min``
    cents: ClassVar[bool] = False
    sample_base: ClassVar[int] = 1

    def parse(self, fld: Field, raw: Any, today: dt.date) -> int | float:
        number = parse_decimal(raw)
        if abs(number) > self.limit:
            raise InvalidValue("数值过大，请核对")
        low = Decimal(str(fld.min)) if fld.min is not None else self.floor
        if low is not None and number < low:
            raise InvalidValue(f"不能小于 {show_decimal(low)}")
        if fld.max is not None and number > Decimal(str(fld.max)):
            raise InvalidValue(f"不能大于 {show_decimal(Decimal(str(fld.max)))}")
        if self.cents and number != number.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"):
            raise InvalidValue("金额最多保留两位小数")
        if number == number.to_integral_value():
            return int(number)
        if fld.integer:
            raise InvalidValue("应为整数")
        return float(number)

    def sample(self, fld: Field, today: dt.date, seed: int) -> int:
        low = math.ceil(fld.min) if fld.min is not None else 0
        value = max(low, self.sample_base)
        return min(value, int(fld.max)) if fld.max is not None else value


class MoneyKind(NumberKind):
    name, title, placeholder = "money", "金额", "金额（元）"
    limit, floor, cents, sample_base = MAX_MONEY, Decimal(0), True, 500


def _option(fld: Field, raw: Any) -> str:
    if not isinstance(raw, str) or raw.strip() not in fld.options:
        raise InvalidValue("不是可选的选项")
    return raw.strip()


class ChoiceKind(FieldKind):
    name, title, editor, pick = "choice", "单选", "choice", True
    options, min_options = "可选项", 2

    def spec(self, fld: Field) -> NameSpec:
        return NameSpec("value", options=frozenset(fld.options))

    def parse(self, fld: Field, raw: Any, today: dt.date) -> str:
        return _option(fld, raw)

    def cell_options(self, fld: Field) -> list[str] | None:
        return list(fld.options)

    def sample(self, fld: Field, today: dt.date, seed: int) -> str:
        return fld.options[0]


class MultiChoiceKind(FieldKind):
    name, title, editor, pick = "multichoice", "多选", "multichoice", True
    options, min_options, bounds = "可选项", 2, "选择项数"

    def spec(self, fld: Field) -> NameSpec:
        return NameSpec("value", options=frozenset(fld.options))

    def parse(self, fld: Field, raw: Any, today: dt.date) -> list[str]:
        if not isinstance(raw, (list, tuple)) or len(raw) > len(fld.options):
            raise InvalidValue("选项格式不正确")
        picked = list(dict.fromkeys(_option(fld, v) for v in raw))
        if fld.min is not None and len(picked) < fld.min:
            raise InvalidValue(f"至少选择 {int(fld.min)} 项")
        if fld.max is not None and len(picked) > fld.max:
            raise InvalidValue(f"最多选择 {int(fld.max)} 项")
        return picked

    def _text(self, fld: Field, value: Any, masked: bool) -> str:
        return "、".join(format_value(x) for x in value) if isinstance(value, list) else format_value(value)

    def sample(self, fld: Field, today: dt.date, seed: int) -> list[str]:
        return fld.options[: max(int(fld.min or 1), 1)]


class YesNoKind(FieldKind):
    name, title, editor, pick = "yesno", "是/否", "yesno", True

    def parse(self, fld: Field, raw: Any, today: dt.date) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip() in _YES_NO:
            return _YES_NO[raw.strip()]
        raise InvalidValue("请选择「是」或「否」")

    def cell_options(self, fld: Field) -> list[str] | None:
        return list(_YES_NO)

    def cell_value(self, fld: Field, text: str) -> Any:
        return _YES_NO.get(text, text or None)  # 否 is False, not "not filled in"

    def sample(self, fld: Field, today: dt.date, seed: int) -> bool:
        return False


class PersonKind(FieldKind):
    """Name, ID number and relation to the applicant (an agent 代办人, a guardian, a family member)."""

    name, title, editor, wide = "person", "人员", "person", True
    options = "与申请人的关系"
    default_relations: ClassVar[tuple[str, ...]] = ("本人", "配偶", "子女", "父母", "其他亲属", "其他")

    def spec(self, fld: Field) -> NameSpec:
        return NameSpec("record", PERSON_ATTRS)

    def relations(self, fld: Field) -> list[str]:
        """The relations an editor offers: the item's ``options``, or the usual family relations."""
        return list(fld.options or self.default_relations)

    def coerce(self, fld: Field, raw: Any, key: str, ctx: ParseContext) -> tuple[Any, Any]:
        if not isinstance(raw, dict):
            ctx.errors.append((key, f"「{fld.label}」格式不正确"))
            return None, None
        out: dict[str, Any] = {}
        for part, parse in (("name", parse_person_name), ("id_number", lambda v: parse_id_number(v, ctx.today))):
            try:
                out[part] = parse(raw.get(part))
            except InvalidValue as exc:
                out[part] = None
                ctx.refuse(f"{key}.{part}", fld, str(exc))
        relation = raw.get("relation")
        if fld.options and (not isinstance(relation, str) or relation.strip() not in fld.options):
            ctx.errors.append((f"{key}.relation", f"「{fld.label}」请选择与申请人的关系"))
            relation = None
        out["relation"] = relation.strip()[:20] if isinstance(relation, str) else None
        return out, Record({**out, **person_attrs(out["id_number"], ctx.today)})

    def required_message(self, fld: Field) -> str:
        return f"请填写「{fld.label}」的姓名和身份证号码"

    def _text(self, fld: Field, value: Any, masked: bool) -> str:
        if not isinstance(value, dict):
            return format_value(value)
        number = value.get("id_number")
        extra = "，".join(x for x in (value.get("relation"), mask_id(number) if masked else number) if x)
        return (value.get("name") or "") + (f"（{extra}）" if extra else "")

    def sample(self, fld: Field, today: dt.date, seed: int) -> dict[str, Any]:
        relation = fld.options[0] if fld.options else "亲属"
        return {"name": "李桂兰", "id_number": make_id_number(40, "女", today, seed=seed), "relation": relation}

    def from_sample(self, fld: Field, sample: Any, today: dt.date, seed: int) -> Any:
        """``{age: 5, sex: 女}``: a person of that age today, with a valid ID number made up for them."""
        if isinstance(sample, dict) and "age" in sample and "id_number" not in sample:
            relation = sample.get("relation") or (fld.options[0] if fld.options else "亲属")
            return {"name": sample.get("name", "李小明"), "relation": relation,
                    "id_number": make_id_number(int(sample["age"]), sample.get("sex", "男"), today, seed=seed)}
        return sample


class GroupKind(FieldKind):
    """A repeat group (household members with incomes): one row per entry, one column per sub-field."""

    name, title, editor, bounds, rows = "group", "重复组", "group", "行数", True

    def spec(self, fld: Field) -> NameSpec:
        return NameSpec("group", frozenset(f.key for f in fld.fields))

    def coerce(self, fld: Field, raw: Any, key: str, ctx: ParseContext) -> tuple[Any, Any]:
        if not isinstance(raw, (list, tuple)) or len(raw) > MAX_ROWS:
            ctx.errors.append((key, f"「{fld.label}」格式不正确"))
            return None, None
        rows, scopes = [], []
        # A blank row (the UI's empty trailing row) is not data: drop it rather than report it.
        for i, row in enumerate(r for r in raw if not is_empty(r)):
            row = row if isinstance(row, dict) else {}
            values, scope = {}, {}
            for sub in fld.fields:
                if not sub.is_computed:
                    values[sub.key], scope[sub.key] = coerce(sub, row.get(sub.key), f"{key}[{i}].{sub.key}", ctx)
            rows.append(values)
            scopes.append(scope)
        return (rows, scopes) if rows else (None, None)

    def check(self, fld: Field, value: Any) -> list[str]:
        problems = []
        if fld.min is not None and len(value) < fld.min:
            problems.append(f"「{fld.label}」至少需要填写 {int(fld.min)} 行")
        if fld.max is not None and len(value) > fld.max:
            problems.append(f"「{fld.label}」最多 {int(fld.max)} 行")
        return problems

    def required_message(self, fld: Field) -> str:
        return f"「{fld.label}」至少需要填写 {int(fld.min or 1)} 行"

    def shape_problems(self, fld: Field) -> list[str]:
        problems = super().shape_problems(fld)
        if not fld.fields:
            problems.append("重复组（group）需要子字段 fields")
        return problems

    def _text(self, fld: Field, value: Any, masked: bool) -> str:
        """One row after another: 姓名：张三，月收入：1200 元；姓名：李四 …"""
        if not isinstance(value, list):
            return format_value(value)
        rows = []
        for row in (r for r in value if isinstance(r, dict)):
            cells = [(s, row.get(s.key)) for s in fld.fields if not is_empty(row.get(s.key))]
            rows.append("，".join(f"{s.label}：{s.kind._text(s, v, masked)}" for s, v in cells))
        return "；".join(r for r in rows if r)

    def sample(self, fld: Field, today: dt.date, seed: int) -> list[dict[str, Any]]:
        rows = max(int(fld.min or 1), 1)
        return [{s.key: sample_value(s, today) for s in fld.fields if not s.is_computed} for _ in range(rows)]


KINDS: Mapping[str, FieldKind] = MappingProxyType({kind.name: kind() for kind in (
    TextKind, LongTextKind, IdNumberKind, PhoneKind, DateKind, NumberKind, MoneyKind, ChoiceKind,
    MultiChoiceKind, YesNoKind, AddressKind, PersonKind, GroupKind,
)})
"""Every field kind by the ``type`` an item file names it with; the one list of field types."""
