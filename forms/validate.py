"""Validate a submission against a service item, and generate valid sample submissions.

A submission is a plain dict::

    {"applicant": {"name", "id_number", "phone", "local_hukou"},
     "agent": {"name", "id_number", "relation", "phone"} | None,
     "fields": {key: value},               # group: list of row dicts; person: dict
     "materials": {material name: received (bool)}}

Nothing here raises on bad input: wrong types, garbage strings, huge numbers and malformed ID
numbers all become Chinese error messages. Error keys are the field key, ``key.part`` for a part
of a person (``spouse.id_number``), ``key[i].sub`` for a cell of a repeat group (row ``i`` from 0)
and ``applicant.x`` / ``agent.x`` for the people.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from stdnum.cn import ric

from forms.expr import Evaluator, Record, names_used
from forms.identity import IdentityError, validate_id, validate_phone
from forms.schema import Field, Material, ServiceItem, Tier

MAX_NUMBER = Decimal("1e12")
MAX_MONEY = Decimal("1e10")  # 百亿元: nothing a resident declares at a front desk is larger
MAX_ROWS = 100
_LENGTHS = {"text": (1, 100), "longtext": (1, 2000), "address": (4, 200)}
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_PICK_TYPES = {"choice", "multichoice", "yesno", "date"}
_PLAIN = Field.model_construct(key="value", label="值", type="text")  # for applicant/agent parts
_PERSON_KEYS = ("name", "id_number", "age", "sex", "birth_date", "phone", "local_hukou", "relation")


@dataclass
class ValidationResult:
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    computed: dict[str, Any] = field(default_factory=dict)
    eligibility_failures: list[str] = field(default_factory=list)
    eligibility_unknown: list[str] = field(default_factory=list)
    missing_materials: list[Material] = field(default_factory=list)
    tier: Tier | None = None
    values: dict[str, Any] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        """No input errors (eligibility and materials are reported separately)."""
        return not self.errors

    @property
    def eligible(self) -> bool:
        return not self.eligibility_failures

    @property
    def complete(self) -> bool:
        return self.ok and not self.missing_materials

    def errors_for(self, key: str) -> list[str]:
        return [msg for k, msg in self.errors if k == key or k.startswith((key + ".", key + "["))]


class _Invalid(Exception):
    pass


# ---------------------------------------------------------------------------
# Scalar coercion: raw value -> normalised value, or _Invalid with a Chinese message

def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict, set)):
        return len(value) == 0 or (isinstance(value, dict) and all(is_empty(v) for v in value.values()))
    return False


def _clean_text(raw: Any, multiline: bool = False) -> str:
    if not isinstance(raw, str):
        raise _Invalid("应为文字")
    if len(raw) > 5000:  # longer than any field allows; do not scan megabytes of pasted text
        raise _Invalid("内容过长")
    text = raw.strip()
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cs" or (cat == "Cc" and not (multiline and ch in "\n\t")):
            raise _Invalid("包含无法识别的控制字符")
    return unicodedata.normalize("NFC", text)


def _text(fld: Field, raw: Any, today: dt.date) -> str:
    text = _clean_text(raw, multiline=fld.type == "longtext")
    low, high = _LENGTHS.get(fld.type, (1, 100))
    low = int(fld.min) if fld.min is not None else low
    high = int(fld.max) if fld.max is not None else high
    if len(text) < low:
        raise _Invalid("过短，请填写完整" if fld.type != "address" else "过短，请填写到门牌号")
    if len(text) > high:
        raise _Invalid(f"不能超过 {high} 个字")
    return text


def _id_number(fld: Field, raw: Any, today: dt.date) -> str:
    if not isinstance(raw, str) or len(raw) > 40:
        raise _Invalid("身份证号码格式不正确")
    try:
        return validate_id(raw, today).number
    except IdentityError as exc:
        raise _Invalid(str(exc)) from None


def _phone(fld: Field, raw: Any, today: dt.date) -> tuple[str, str | None]:
    if not isinstance(raw, str) or len(raw) > 40:
        raise _Invalid("电话号码格式不正确")
    try:
        return validate_phone(raw)
    except IdentityError as exc:
        raise _Invalid(str(exc)) from None


def _date(fld: Field, raw: Any, today: dt.date) -> dt.date:
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if isinstance(raw, dt.date):
        day = raw
    elif isinstance(raw, str) and (m := _DATE_RE.match(raw.strip()[:20])):
        try:
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise _Invalid("不是有效日期") from None
    else:
        raise _Invalid("日期格式不正确，应为 年-月-日")
    if not 1900 <= day.year <= 2100:
        raise _Invalid("日期年份不合理")
    return day


def _decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool) or raw is None:
        raise _Invalid("应为数字")
    if isinstance(raw, str):
        raw = raw.strip().replace(",", "").replace("，", "")
        if len(raw) > 30:
            raise _Invalid("数字过长")
    try:
        number = Decimal(raw) if isinstance(raw, (str, int, Decimal)) else Decimal(str(raw))
    except (InvalidOperation, ValueError, TypeError):
        raise _Invalid("应为数字") from None
    if not number.is_finite():
        raise _Invalid("应为有限的数字")
    return number


def _number(fld: Field, raw: Any, today: dt.date) -> int | float:
    money = fld.type == "money"
    number = _decimal(raw)
    limit = MAX_MONEY if money else MAX_NUMBER
    if abs(number) > limit:
        raise _Invalid("数值过大，请核对")
    low = Decimal(str(fld.min)) if fld.min is not None else (Decimal(0) if money else None)
    if low is not None and number < low:
        raise _Invalid(f"不能小于 {_show(low)}")
    if fld.max is not None and number > Decimal(str(fld.max)):
        raise _Invalid(f"不能大于 {_show(Decimal(str(fld.max)))}")
    if money and number != number.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"):
        raise _Invalid("金额最多保留两位小数")
    if number == number.to_integral_value():
        return int(number)
    if fld.integer:
        raise _Invalid("应为整数")
    return float(number)


def _show(number: Decimal) -> str:
    return str(int(number)) if number == number.to_integral_value() else str(number)


def _choice(fld: Field, raw: Any, today: dt.date) -> str:
    if not isinstance(raw, str) or raw.strip() not in fld.options:
        raise _Invalid("不是可选的选项")
    return raw.strip()


def _multichoice(fld: Field, raw: Any, today: dt.date) -> list[str]:
    if not isinstance(raw, (list, tuple)) or len(raw) > len(fld.options):
        raise _Invalid("选项格式不正确")
    picked = [_choice(fld, v, today) for v in raw]
    picked = list(dict.fromkeys(picked))
    if fld.min is not None and len(picked) < fld.min:
        raise _Invalid(f"至少选择 {int(fld.min)} 项")
    if fld.max is not None and len(picked) > fld.max:
        raise _Invalid(f"最多选择 {int(fld.max)} 项")
    return picked


def _yesno(fld: Field, raw: Any, today: dt.date) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip() in ("是", "否"):
        return raw.strip() == "是"
    raise _Invalid("请选择「是」或「否」")


_SCALARS = {
    "text": _text, "longtext": _text, "address": _text, "id_number": _id_number, "phone": _phone,
    "date": _date, "number": _number, "money": _number, "choice": _choice,
    "multichoice": _multichoice, "yesno": _yesno,
}


def _person_name(raw: Any) -> str:
    name = _clean_text(raw)
    if not 1 <= len(name) <= 50:
        raise _Invalid("姓名长度不正确" if name else "请填写姓名")
    if not any(ch.isalpha() for ch in name):
        raise _Invalid("姓名不能只包含数字或符号")
    return name


def _person_attrs(number: str | None, today: dt.date) -> dict[str, Any]:
    if not number:
        return {"age": None, "sex": None, "birth_date": None}
    info = validate_id(number, today)
    return {"age": info.age_on(today), "sex": info.sex, "birth_date": info.birth_date}


# ---------------------------------------------------------------------------
# One validation run

class _Run:
    def __init__(self, item: ServiceItem, submission: Any, today: dt.date | None) -> None:
        self.item = item
        self.today = today or dt.date.today()
        self.res = ValidationResult()
        self.ev = Evaluator({"policy": Record(item.policy)}, self.today)
        self.parsed: dict[str, Any] = {}   # key -> (value, scope value) of inputs
        self.pending: dict[str, list[tuple[str, str]]] = {}  # type errors, shown if visible
        self.sub = submission if isinstance(submission, dict) else {}
        if not isinstance(submission, dict):
            self.res.errors.append(("", "提交的数据格式不正确"))

    def run(self) -> ValidationResult:
        self._people()
        self._parse_inputs(self._dict(self.sub.get("fields")))
        for _ in range(2):  # visibility may depend on computed values and vice versa
            self._visibility()
            self._compute()
        self._check_inputs()
        self._eligibility()
        self._materials(self._dict(self.sub.get("materials")))
        return self.res

    @staticmethod
    def _dict(value: Any) -> dict:
        return value if isinstance(value, dict) else {}

    # -- applicant and agent -------------------------------------------------
    def _people(self) -> None:
        applicant = self.sub.get("applicant")
        if isinstance(applicant, dict) and not is_empty(applicant):
            self.ev.names["applicant"] = self._person("applicant", applicant)
        else:
            self.res.errors.append(("applicant", "请填写申请人信息"))
            self.ev.names["applicant"] = Record(dict.fromkeys(_PERSON_KEYS))
        agent = self.sub.get("agent")
        has_agent = isinstance(agent, dict) and not is_empty(agent)
        self.ev.names["agent"] = self._person("agent", agent) if has_agent else None

    def _person(self, prefix: str, data: dict) -> Record:
        out: dict[str, Any] = {}
        out["name"] = self._part(prefix, "name", lambda: _person_name(data.get("name")))
        number = data.get("id_number")
        out["id_number"] = self._part(prefix, "id_number",
                                      lambda: _id_number(_PLAIN, number, self.today))
        out.update(_person_attrs(out["id_number"], self.today))
        phone = data.get("phone")
        out["phone"] = None if is_empty(phone) else self._part(
            prefix, "phone", lambda: self._phone_with_warning(f"{prefix}.phone", phone))
        out["local_hukou"] = data.get("local_hukou") if isinstance(data.get("local_hukou"), bool) else None
        relation = data.get("relation")
        out["relation"] = relation.strip()[:20] if isinstance(relation, str) and relation.strip() else None
        self.res.values[prefix] = dict(out)
        return Record(out)

    def _part(self, prefix: str, part: str, fn) -> Any:
        try:
            return fn()
        except _Invalid as exc:
            label = {"name": "姓名", "id_number": "身份证号码", "phone": "联系电话"}[part]
            who = "申请人" if prefix == "applicant" else "代办人"
            self.res.errors.append((f"{prefix}.{part}", f"{who}{label}：{exc}"))
            return None

    def _phone_with_warning(self, key: str, raw: Any) -> str:
        number, warning = _phone(_PLAIN, raw, self.today)
        if warning:
            self.res.warnings.append((key, warning))
        return number

    # -- inputs ---------------------------------------------------------------
    def _parse_inputs(self, raw_fields: dict) -> None:
        for _, fld in self.item.iter_fields():
            if fld.is_computed:
                continue
            errors: list[tuple[str, str]] = []
            value, scope = self._coerce(fld, raw_fields.get(fld.key), fld.key, errors)
            self.parsed[fld.key] = (value, scope)
            self.pending[fld.key] = errors

    def _coerce(self, fld: Field, raw: Any, key: str, errors: list) -> tuple[Any, Any]:
        if is_empty(raw):
            return None, None
        if fld.type == "person":
            return self._coerce_person(fld, raw, key, errors)
        if fld.type == "group":
            return self._coerce_group(fld, raw, key, errors)
        try:
            value = _SCALARS[fld.type](fld, raw, self.today)
        except _Invalid as exc:
            errors.append((key, f"{_row_prefix(key)}「{fld.label}」{exc}"))
            return None, None
        if fld.type == "phone":
            value, warning = value
            if warning:
                self.res.warnings.append((key, warning))
        return value, value

    def _coerce_person(self, fld: Field, raw: Any, key: str, errors: list) -> tuple[Any, Any]:
        if not isinstance(raw, dict):
            errors.append((key, f"「{fld.label}」格式不正确"))
            return None, None
        out: dict[str, Any] = {}
        for part, fn in (("name", _person_name), ("id_number", lambda v: _id_number(fld, v, self.today))):
            try:
                out[part] = fn(raw.get(part))
            except _Invalid as exc:
                out[part] = None
                errors.append((f"{key}.{part}", f"{_row_prefix(key)}「{fld.label}」{exc}"))
        relation = raw.get("relation")
        if fld.options and (not isinstance(relation, str) or relation.strip() not in fld.options):
            errors.append((f"{key}.relation", f"「{fld.label}」请选择与申请人的关系"))
            relation = None
        out["relation"] = relation.strip()[:20] if isinstance(relation, str) else None
        scope = {**out, **_person_attrs(out["id_number"], self.today)}
        return out, Record(scope)

    def _coerce_group(self, fld: Field, raw: Any, key: str, errors: list) -> tuple[Any, Any]:
        if not isinstance(raw, (list, tuple)) or len(raw) > MAX_ROWS:
            errors.append((key, f"「{fld.label}」格式不正确"))
            return None, None
        rows, scopes = [], []
        # A blank row (the UI's empty trailing row) is not data: drop it rather than report it.
        for i, row in enumerate(r for r in raw if not is_empty(r)):
            row = row if isinstance(row, dict) else {}
            values, scope = {}, {}
            for sub in fld.fields:
                if sub.is_computed:
                    continue
                values[sub.key], scope[sub.key] = self._coerce(sub, row.get(sub.key), f"{key}[{i}].{sub.key}", errors)
            rows.append(values)
            scopes.append(scope)
        return (rows, scopes) if rows else (None, None)

    # -- visibility and computed values ----------------------------------------
    def _visibility(self) -> None:
        visible = self._visible_keys()
        for _ in range(len(self.parsed) + 1):
            self._publish(visible)
            again = self._visible_keys()
            if again == visible:
                break
            visible = again
        all_keys = {f.key for _, f in self.item.iter_fields()}
        self.res.hidden = all_keys - visible

    def _visible_keys(self) -> set[str]:
        keys = set()
        for step, fld in self.item.iter_fields():
            if self._shown(step.visible_if) and self._shown(fld.visible_if):
                keys.add(fld.key)
        return keys

    def _shown(self, expr: str | None, extra: dict | None = None) -> bool:
        # Undetermined visibility hides: the controlling field reports its own error.
        return expr is None or self.ev.truth(expr, extra) is True

    def _publish(self, visible: set[str]) -> None:
        for key, (value, scope) in self.parsed.items():
            shown = key in visible
            self.ev.names[key] = (self._group_scope(key, scope) if shown else None)
            if shown and value is not None:
                self.res.values[key] = value
            else:
                self.res.values.pop(key, None)

    def _group_scope(self, key: str, scope: Any) -> Any:
        fld = self.item.field(key)
        if fld is None or fld.type != "group" or scope is None:
            return scope
        return [Record(self._row_with_computed(fld, row)) for row in scope]

    def _row_with_computed(self, fld: Field, row: dict) -> dict:
        row = dict(row)
        for sub in fld.fields:
            if sub.is_computed:
                row[sub.key] = self._value_of(sub.compute, row)
        return row

    def _value_of(self, expr: str, extra: dict | None = None) -> Any:
        try:
            value = self.ev.evaluate(expr, extra)
        except Exception:  # noqa: BLE001 - EvalError, or a value that cannot be published
            return None
        if isinstance(value, float):
            return round(value, 2) if math.isfinite(value) else None
        return value

    def _compute(self) -> None:
        for _ in range(2):  # a computed value may use a later one
            for _, fld in self.item.iter_fields():
                if fld.is_computed:
                    shown = fld.key not in self.res.hidden
                    value = self._value_of(fld.compute) if shown else None
                    self.ev.names[fld.key] = value
                    self.res.computed[fld.key] = value
            for comp in self.item.computed:
                value = self._value_of(comp.expr)
                self.ev.names[comp.key] = value
                self.res.computed[comp.key] = value

    # -- required values and constraints ----------------------------------------
    def _check_inputs(self) -> None:
        for _, fld in self.item.iter_fields():
            if fld.is_computed or fld.key in self.res.hidden:
                continue
            hidden_cells = self._hidden_cells(fld)
            self.res.errors.extend(e for e in self.pending.get(fld.key, []) if e[0] not in hidden_cells)
            value, scope = self.parsed[fld.key]
            self._check_value(fld, fld.key, value, self.ev.names.get(fld.key), None)
            if fld.type == "group" and scope:
                self._check_rows(fld, scope)

    def _check_value(self, fld: Field, key: str, value: Any, scope: Any, row: dict | None) -> None:
        required = fld.required if isinstance(fld.required, bool) else self.ev.truth(fld.required, row)
        prefix = _row_prefix(key)
        if value is None:
            if required and not self._has_pending(key):
                self.res.errors.append((key, prefix + _required_message(fld)))
            return
        if fld.type == "group" and fld.min is not None and len(value) < fld.min:
            self.res.errors.append((key, f"「{fld.label}」至少需要填写 {int(fld.min)} 行"))
        if fld.type == "group" and fld.max is not None and len(value) > fld.max:
            self.res.errors.append((key, f"「{fld.label}」最多 {int(fld.max)} 行"))
        for rule in fld.constraints:
            if self.ev.truth(rule.rule, {**(row or {}), "value": scope}) is False:
                self.res.errors.append((key, prefix + rule.message))

    def _has_pending(self, key: str) -> bool:
        """A type error was already reported for this value, so "please fill in" would be noise."""
        top = re.split(r"[.\[]", key, maxsplit=1)[0]
        return any(k == key or k.startswith((key + ".", key + "[")) for k, _ in self.pending.get(top, []))

    def _hidden_cells(self, fld: Field) -> set[str]:
        scopes = self.parsed[fld.key][1] if fld.type == "group" else None
        if not scopes or not any(s.visible_if for s in fld.fields):
            return set()
        return {f"{fld.key}[{i}].{sub.key}" for i, row in enumerate(scopes) for sub in fld.fields
                if not self._shown(sub.visible_if, self._row_with_computed(fld, row))}

    def _check_rows(self, fld: Field, scopes: list[dict]) -> None:
        values = self.parsed[fld.key][0]
        for i, (row_values, row_scope) in enumerate(zip(values, scopes)):
            row = self._row_with_computed(fld, row_scope)
            for sub in fld.fields:
                if sub.is_computed or not self._shown(sub.visible_if, row):
                    continue
                self._check_value(sub, f"{fld.key}[{i}].{sub.key}", row_values.get(sub.key), row.get(sub.key), row)

    # -- eligibility, tiers, materials ------------------------------------------
    def _unanswered(self, expr: str) -> bool:
        """A rule about a question not answered yet is undecided, not failed (the wizard asks it later).

        Only visible inputs count: a hidden field does not apply, and a computed value follows its inputs.
        """
        for name in names_used(expr):
            fld = self.item.field(name)
            if fld is not None and not fld.is_computed and name not in self.res.hidden \
                    and self.parsed.get(name, (None, None))[0] is None:
                return True
        return False

    def _eligibility(self) -> None:
        for rule in self.item.eligibility:
            verdict = self.ev.truth(rule.rule)
            if verdict is False and self._unanswered(rule.rule):
                verdict = None
            if verdict is False:
                self.res.eligibility_failures.append(rule.message)
            elif verdict is None:
                self.res.eligibility_unknown.append(rule.message)
        self.res.tier = next((t for t in self.item.tiers if self.ev.truth(t.when) is True), None)

    def _materials(self, received: dict) -> None:
        for mat in self.item.materials:
            # An undetermined condition lists the material: a one-time notice must not miss one.
            needed = mat.required if isinstance(mat.required, bool) else self.ev.truth(mat.required) is not False
            if needed and received.get(mat.name) is not True:
                self.res.missing_materials.append(mat)


def _row_prefix(key: str) -> str:
    m = re.search(r"\[(\d+)\]", key)
    return f"第 {int(m[1]) + 1} 行：" if m else ""


def _required_message(fld: Field) -> str:
    if fld.type == "group":
        return f"「{fld.label}」至少需要填写 {int(fld.min or 1)} 行"
    if fld.type == "person":
        return f"请填写「{fld.label}」的姓名和身份证号码"
    verb = "选择" if fld.type in _PICK_TYPES else "填写"
    return f"请{verb}「{fld.label}」"


def validate_submission(item: ServiceItem, submission: Any, today: dt.date | None = None) -> ValidationResult:
    """Check ``submission`` against ``item``; never raises on bad input."""
    return _Run(item, submission, today).run()


# ---------------------------------------------------------------------------
# Sample submissions (tests, demo seeding)

def make_id_number(age: int, sex: str = "男", today: dt.date | None = None,
                   region: str = "320302", seed: int = 0) -> str:
    """A valid resident ID for someone ``age`` full years old today (徐州市鼓楼区 by default)."""
    today = today or dt.date.today()
    year = today.year - age
    birth = today.replace(year=year, day=min(today.day, 28)) - dt.timedelta(days=30 + seed % 200)
    seq = 100 + seed % 800
    seq = seq if (seq % 2 == 1) == (sex == "男") else seq + 1
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def sample_applicant(item: ServiceItem | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """An applicant the item's ``sample_applicant`` hint makes eligible."""
    hint = item.sample_applicant if item else None
    age, sex = (hint.age, hint.sex) if hint else (45, "男")
    local = hint.local_hukou if hint else True
    name = "王秀英" if sex == "女" else "张建国"
    return {"name": name, "id_number": make_id_number(age, sex, today), "phone": "13852001234",
            "local_hukou": local}


def sample_submission(item: ServiceItem, applicant: dict | None = None,
                      today: dt.date | None = None) -> dict[str, Any]:
    """A submission that passes :func:`validate_submission` for ``item`` (all materials received)."""
    today = today or dt.date.today()
    fields = {f.key: _sample_value(f, today) for _, f in item.iter_fields() if not f.is_computed}
    return {
        "applicant": applicant or sample_applicant(item, today),
        "agent": None,
        "fields": fields,
        "materials": {m.name: True for m in item.materials},
    }


_RELATIVE_DAY = re.compile(r"^today(?:\s*([+-])\s*(\d{1,5}))?$")


def _from_sample(fld: Field, sample: Any, today: dt.date, seed: int) -> Any:
    """Authors' samples may be relative so they stay valid: dates ``today-400``, people ``{age: 5}``."""
    if fld.type == "date" and isinstance(sample, str) and (m := _RELATIVE_DAY.match(sample.strip())):
        days = int(m[2] or 0) * (1 if m[1] == "+" else -1)
        return today + dt.timedelta(days=days)
    if fld.type == "person" and isinstance(sample, dict) and "age" in sample and "id_number" not in sample:
        sex = sample.get("sex", "男")
        relation = sample.get("relation") or (fld.options[0] if fld.options else "亲属")
        return {"name": sample.get("name", "李小明"), "relation": relation,
                "id_number": make_id_number(int(sample["age"]), sex, today, seed=seed)}
    return sample


def _sample_value(fld: Field, today: dt.date) -> Any:
    seed = zlib.crc32(fld.key.encode())
    if fld.sample is not None:
        return _from_sample(fld, fld.sample, today, seed)
    if fld.type == "group":
        rows = max(int(fld.min or 1), 1)
        return [{s.key: _sample_value(s, today) for s in fld.fields if not s.is_computed} for _ in range(rows)]
    if fld.type == "person":
        relation = fld.options[0] if fld.options else "亲属"
        return {"name": "李桂兰", "id_number": make_id_number(40, "女", today, seed=seed), "relation": relation}
    return _SAMPLE_SCALARS[fld.type](fld, today, seed)


def _sample_number(fld: Field, today: dt.date, seed: int) -> int:
    low = int(math.ceil(fld.min)) if fld.min is not None else 0
    value = max(low, 1 if fld.type == "number" else 500)
    return min(value, int(fld.max)) if fld.max is not None else value


def _sample_text(fld: Field, today: dt.date, seed: int) -> str:
    text = {"address": "江苏省徐州市鼓楼区丰财街道示例社区1号楼2单元301室",
            "longtext": "家中情况属实，申请人自述如上，特此说明。"}.get(fld.type, "示例内容")
    low = int(fld.min) if fld.min is not None else 0
    text = text if len(text) >= low else text + "示" * (low - len(text))
    return text[: int(fld.max)] if fld.max is not None else text


_SAMPLE_SCALARS = {
    "text": _sample_text, "longtext": _sample_text, "address": _sample_text,
    "id_number": lambda f, t, s: make_id_number(35, "男", t, seed=s),
    "phone": lambda f, t, s: "13952005678",
    "date": lambda f, t, s: t - dt.timedelta(days=30),
    "number": _sample_number, "money": _sample_number,
    "choice": lambda f, t, s: f.options[0],
    "multichoice": lambda f, t, s: f.options[: max(int(f.min or 1), 1)],
    "yesno": lambda f, t, s: False,
}
