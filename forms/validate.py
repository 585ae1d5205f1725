"""Validate a submission against a service item, and generate valid sample submissions.

A submission is a plain dict::

    {"applicant": {"name", "id_number", "phone", "local_hukou"},
     "agent": {"name", "id_number", "relation", "phone"} | None,
     "fields": {key: value},               # group: list of row dicts; person: dict
     "materials": {material name: received (bool)},
     "pledge": bool}                       # optional: 告知承诺制 chosen (the item's pledge replaces proofs)

Nothing here raises on bad input: wrong types, garbage strings, huge numbers and malformed ID
numbers all become Chinese error messages. Error keys are the field key, ``key.part`` for a part
of a person (``spouse.id_number``), ``key[i].sub`` for a cell of a repeat group (row ``i`` from 0)
and ``applicant.x`` / ``agent.x`` for the people.

How each type of value is read and checked is the business of its kind (:mod:`forms.kinds`); in which
order visibility and computed values are worked out was derived by the loader (:mod:`forms.dependencies`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from forms import agents, household
from forms.expr import Evaluator, Record, names_used
from forms.identity import make_id_number
from forms.kinds import ParseContext, coerce, sample_value
from forms.schema import SCOPE_ATTRS, Field, Material, ServiceItem, Tier
from forms.values import (
    InvalidValue,
    is_empty,
    parse_id_number,
    parse_person_name,
    parse_phone,
    person_attrs,
    row_prefix,
)

_PERSON_KEYS = ("name", "id_number", "age", "sex", "birth_date", "phone", "local_hukou", "relation",
                "hukou_city_local", "hukou_county_local", "hukou_street_local", "separated",
                "residence_permit_valid", "hukou_nature")
_LEVELS = ("hukou_city_local", "hukou_county_local", "hukou_street_local")


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _residence(data: dict) -> dict[str, Any]:
    """The applicant's residence attributes (app/core/residence.py derives them for a registered resident), made
    consistent: outside the city is outside its counties and streets, inside a street is inside its county and
    city; an applicant given only the old ``local_hukou`` flag is in or out of the city by it."""
    flags = {k: _flag(data.get(k)) for k in _LEVELS}
    if flags["hukou_city_local"] is None:
        flags["hukou_city_local"] = _flag(data.get("local_hukou"))
    for i, key in enumerate(_LEVELS):
        if flags[key] is False:
            flags.update(dict.fromkeys(_LEVELS[i:], False))
            break
    for i in range(len(_LEVELS) - 1, 0, -1):
        if flags[_LEVELS[i]] is True:
            flags.update(dict.fromkeys(_LEVELS[:i], True))
    separated = _flag(data.get("separated"))
    if separated is None and flags["hukou_street_local"] is not None:
        separated = not flags["hukou_street_local"]
    nature = data.get("hukou_nature")
    return {**flags, "local_hukou": flags["hukou_city_local"] if _flag(data.get("local_hukou")) is None
            else data["local_hukou"], "separated": separated,
            "residence_permit_valid": _flag(data.get("residence_permit_valid")),
            "hukou_nature": nature.strip()[:20] if isinstance(nature, str) and nature.strip() else None}


@dataclass(frozen=True)
class Verdict:
    """What one eligibility rule makes of a submission: ``passed`` is None while the rule is undecided."""

    level: str
    message: str
    passed: bool | None
    rule: str


@dataclass
class ValidationResult:
    """What a submission holds and what the rules make of it.

    ``waiting``: computed values that read (directly or through another computed value) a visible input not
    answered yet; the wizard shows them as 尚未填写 rather than as a misleading 0.
    """

    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    computed: dict[str, Any] = field(default_factory=dict)
    eligibility_failures: list[str] = field(default_factory=list)   # failed ``block`` rules
    eligibility_warnings: list[str] = field(default_factory=list)   # failed ``warn`` rules
    eligibility_infos: list[str] = field(default_factory=list)      # failed ``info`` rules (guidance)
    eligibility_unknown: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    missing_materials: list[Material] = field(default_factory=list)
    required_materials: list[Material] = field(default_factory=list)  # needed for these answers, received or not
    material_counts: dict[str, int] = field(default_factory=dict)  # copies of each material for these answers
    pledged_materials: list[Material] = field(default_factory=list)  # replaced by the 告知承诺制 pledge
    tier: Tier | None = None
    values: dict[str, Any] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        """No input errors (eligibility and materials are reported separately)."""
        return not self.errors

    @property
    def eligible(self) -> bool:
        """No ``block`` rule failed: the desk may accept (warnings travel with the case)."""
        return not self.eligibility_failures

    @property
    def complete(self) -> bool:
        return self.ok and not self.missing_materials

    @property
    def only_deferrable_missing(self) -> bool:
        """Some materials are missing and every one may be deferred (容缺受理 is possible, rules.md §8)."""
        return bool(self.missing_materials) and all(m.deferrable for m in self.missing_materials)

    def errors_for(self, key: str) -> list[str]:
        return [msg for k, msg in self.errors if k == key or k.startswith((key + ".", key + "["))]


# ---------------------------------------------------------------------------
# One validation run

class _Run:
    def __init__(self, item: ServiceItem, submission: Any, today: dt.date | None) -> None:
        self.item = item
        self.today = today or dt.date.today()
        self.res = ValidationResult()
        self.ev = Evaluator({"policy": Record(item.policy.on(self.today))}, self.today)
        self.parsed: dict[str, Any] = {}   # key -> (value, scope value) of inputs
        self.pending: dict[str, list[tuple[str, str]]] = {}  # type errors, shown if visible
        self.sub = submission if isinstance(submission, dict) else {}
        if not isinstance(submission, dict):
            self.res.errors.append(("", "提交的数据格式不正确"))

    def run(self) -> ValidationResult:
        self._people()
        self._parse_inputs(self._dict(self.sub.get("fields")))
        self._resolve()
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
        agent = self._dict(self.sub.get("agent"))
        self.ev.names["agent"] = None if is_empty(agent) else self._person("agent", agent)

    def _person(self, prefix: str, data: dict) -> Record:
        out: dict[str, Any] = {}
        out["name"] = self._part(prefix, "name", lambda: parse_person_name(data.get("name")))
        number = data.get("id_number")
        out["id_number"] = self._part(prefix, "id_number", lambda: parse_id_number(number, self.today))
        out.update(person_attrs(out["id_number"], self.today))
        phone = data.get("phone")
        if is_empty(phone) and prefix == "agent":  # the agent's phone is always recorded (rules.md §6)
            out["phone"] = self._part(prefix, "phone", lambda: agents.parse_part("phone", phone, self.today))
        else:
            out["phone"] = None if is_empty(phone) else self._part(
                prefix, "phone", lambda: self._phone_with_warning(f"{prefix}.phone", phone))
        out["local_hukou"] = data.get("local_hukou") if isinstance(data.get("local_hukou"), bool) else None
        if prefix == "applicant":
            out.update(_residence(data))
        relation = data.get("relation")
        out["relation"] = relation.strip()[:20] if isinstance(relation, str) and relation.strip() else None
        if prefix == "agent":  # read by the 委托书 condition of items that exempt close relatives
            out["close_relative"] = agents.is_close_relative(out["relation"])
        self.res.values[prefix] = dict(out)
        return Record(out)

    def _part(self, prefix: str, part: str, fn) -> Any:
        try:
            return fn()
        except InvalidValue as exc:
            label = {"name": "姓名", "id_number": "身份证号码", "phone": "联系电话"}[part]
            who = "申请人" if prefix == "applicant" else "代办人"
            self.res.errors.append((f"{prefix}.{part}", f"{who}{label}：{exc}"))
            return None

    def _phone_with_warning(self, key: str, raw: Any) -> str:
        number, warning = parse_phone(raw)
        if warning:
            self.res.warnings.append((key, warning))
        return number

    # -- inputs ---------------------------------------------------------------
    def _parse_inputs(self, raw_fields: dict) -> None:
        for _, fld in self.item.iter_fields():
            if fld.is_computed:
                continue
            ctx = ParseContext(self.today, warnings=self.res.warnings)
            self.parsed[fld.key] = coerce(fld, raw_fields.get(fld.key), fld.key, ctx)
            self.pending[fld.key] = ctx.errors

    # -- visibility and computed values ----------------------------------------
    def _resolve(self) -> None:
        """Visibility, published inputs and computed values, each worked out once in the item's evaluation order.

        Everything a value reads comes before it in that order, so one pass settles a chain of any depth.
        """
        fields = {fld.key: (step, fld) for step, fld in self.item.iter_fields()}
        exprs = {comp.key: comp.expr for comp in self.item.computed}
        order = self.item.evaluation_order
        for key in order.keys:
            if key not in fields:
                self._set_computed(key, self._value_of(exprs[key]), order.reads[key])
                continue
            step, fld = fields[key]
            shown = self._shown(step.visible_if) and self._shown(fld.visible_if)
            if not shown:
                self.res.hidden.add(key)
            if fld.is_computed:
                self._set_computed(key, self._value_of(fld.compute) if shown else None, order.reads[key])
            else:
                self._publish(fld, shown)

    def _shown(self, expr: str | None, extra: dict | None = None) -> bool:
        # Undetermined visibility hides: the controlling field reports its own error.
        return expr is None or self.ev.truth(expr, extra) is True

    def _publish(self, fld: Field, shown: bool) -> None:
        """An input as the expressions after it see it: its value when shown, None when hidden."""
        value, scope = self.parsed[fld.key]
        self.ev.names[fld.key] = self._group_scope(fld, scope) if shown else None
        if shown and value is not None:
            self.res.values[fld.key] = value

    def _set_computed(self, key: str, value: Any, reads: frozenset[str]) -> None:
        self.ev.names[key] = value
        self.res.computed[key] = value
        if any(name in self.res.waiting or self._unanswered_input(name) for name in reads):
            self.res.waiting.add(key)

    def _unanswered_input(self, key: str) -> bool:
        """A visible input with no answer yet (a hidden one does not apply)."""
        return key in self.parsed and key not in self.res.hidden and is_empty(self.res.values.get(key))

    def _group_scope(self, fld: Field, scope: Any) -> Any:
        if not fld.kind.rows or scope is None:
            return scope
        return [Record(self._row_with_computed(fld, row)) for row in scope]

    def _row_with_computed(self, fld: Field, row: dict) -> dict:
        row = dict(row)
        subs = {sub.key: sub for sub in fld.fields}
        for key in self.item.evaluation_order.rows.get(fld.key, ()):
            row[key] = self._value_of(subs[key].compute, row)
        return row

    def _value_of(self, expr: str | None, extra: dict | None = None) -> Any:
        try:
            value = self.ev.evaluate(expr or "", extra)
        except Exception:
            return None
        if isinstance(value, float):
            return round(value, 2) if math.isfinite(value) else None
        return value

    # -- required values and constraints ----------------------------------------
    def _check_inputs(self) -> None:
        for _, fld in self.item.iter_fields():
            if fld.is_computed or fld.key in self.res.hidden:
                continue
            hidden_cells = self._hidden_cells(fld)
            self.res.errors.extend(e for e in self.pending.get(fld.key, []) if e[0] not in hidden_cells)
            value, scope = self.parsed[fld.key]
            self._check_value(fld, fld.key, value, self.ev.names.get(fld.key), None)
            if fld.kind.rows and scope:
                self._check_rows(fld, scope)
            if value and household.is_household(fld):
                applicant_id = self.res.values.get("applicant", {}).get("id_number")
                self.res.errors.extend(household.check_household(fld, value, applicant_id, self.today))

    def _check_value(self, fld: Field, key: str, value: Any, scope: Any, row: dict | None) -> None:
        required = fld.required if isinstance(fld.required, bool) else self.ev.truth(fld.required, row)
        prefix = row_prefix(key)
        if value is None:
            if required and not self._has_pending(key):
                self.res.errors.append((key, prefix + fld.kind.required_message(fld)))
            return
        self.res.errors.extend((key, message) for message in fld.kind.check(fld, value))
        for rule in fld.constraints:
            if self.ev.truth(rule.rule, {**(row or {}), "value": scope}) is False:
                self.res.errors.append((key, prefix + rule.message))

    def _has_pending(self, key: str) -> bool:
        """A type error was already reported for this value, so "please fill in" would be noise."""
        top = re.split(r"[.\[]", key, maxsplit=1)[0]
        return any(k == key or k.startswith((key + ".", key + "[")) for k, _ in self.pending.get(top, []))

    def _hidden_cells(self, fld: Field) -> set[str]:
        scopes = self.parsed[fld.key][1] if fld.kind.rows else None
        if not scopes or not any(s.visible_if for s in fld.fields):
            return set()
        return {f"{fld.key}[{i}].{sub.key}" for i, row in enumerate(scopes) for sub in fld.fields
                if not self._shown(sub.visible_if, self._row_with_computed(fld, row))}

    def _check_rows(self, fld: Field, scopes: list[dict]) -> None:
        values = self.parsed[fld.key][0]
        for i, (row_values, row_scope) in enumerate(zip(values, scopes, strict=True)):
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
        return any(self._unanswered_input(name) for name in names_used(expr))

    def _scope_unknown(self, scope: str | None) -> bool:
        """A rule about 户籍 or 居住证 is undecided while the applicant's place for its scope is not known (a
        resident registered without a 户籍地址, or a committee whose own place is not set)."""
        applicant = self.ev.names.get("applicant")
        return scope is not None and getattr(applicant, SCOPE_ATTRS[scope], None) is None

    def _eligibility(self) -> None:
        for rule in self.item.eligibility:
            verdict = self.ev.truth(rule.rule)
            if verdict is False and (self._unanswered(rule.rule) or self._scope_unknown(rule.scope)):
                verdict = None
            self.res.verdicts.append(Verdict(rule.level, rule.message, verdict, rule.rule))
            if verdict is False:
                {"block": self.res.eligibility_failures, "warn": self.res.eligibility_warnings,
                 "info": self.res.eligibility_infos}[rule.level].append(rule.message)
            elif verdict is None:
                self.res.eligibility_unknown.append(rule.message)
        self.res.tier = next((t for t in self.item.tiers if self.ev.truth(t.when) is True), None)

    def _materials(self, received: dict) -> None:
        # 告知承诺制: the applicant chose to sign the item's pledge instead of bringing the proofs it replaces.
        pledge = self.item.pledge
        pledged = set(pledge.replaces) if pledge is not None and self.sub.get("pledge") is True else set()
        for mat in self.item.materials:
            self.res.material_counts[mat.name] = self._copies(mat)
            # An undetermined condition lists the material: a one-time notice must not miss one.
            needed = mat.required if isinstance(mat.required, bool) else self.ev.truth(mat.required) is not False
            if needed:
                self.res.required_materials.append(mat)
            if needed and received.get(mat.name) is not True:
                (self.res.pledged_materials if mat.name in pledged else self.res.missing_materials).append(mat)


    def _copies(self, mat: Material) -> int:
        """``count``, or ``count`` for each row of the group it is counted per (one ID copy per member)."""
        if not mat.per:
            return mat.count
        rows = self.parsed.get(mat.per, (None, None))[0]
        return mat.count * max(len(rows) if isinstance(rows, list) else 0, 1)


def validate_submission(item: ServiceItem, submission: Any, today: dt.date | None = None) -> ValidationResult:
    """Check ``submission`` against ``item``; never raises on bad input."""
    return _Run(item, submission, today).run()


# ---------------------------------------------------------------------------
# Sample submissions (tests, demo seeding)

def sample_applicant(item: ServiceItem | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """An applicant the item's ``sample_applicant`` hint makes eligible."""
    hint = item.sample_applicant if item else None
    age, sex = (hint.age, hint.sex) if hint else (45, "男")
    local = hint.local_hukou if hint else True
    permit = hint.residence_permit if hint else False
    name = "王秀英" if sex == "女" else "张建国"
    # local: 户籍 in the committee's street; otherwise elsewhere (人户分离), with a 居住证 if the hint says so
    return {"name": name, "id_number": make_id_number(age, sex, today), "phone": "13852001234",
            "local_hukou": local, "hukou_city_local": local, "hukou_county_local": local,
            "hukou_street_local": local, "separated": not local, "residence_permit_valid": permit,
            "hukou_nature": "居民户口"}


def sample_submission(item: ServiceItem, applicant: dict | None = None,
                      today: dt.date | None = None) -> dict[str, Any]:
    """A submission that passes :func:`validate_submission` for ``item`` (all materials received)."""
    today = today or dt.date.today()
    applicant = applicant or sample_applicant(item, today)
    fields = {f.key: sample_value(f, today) for _, f in item.iter_fields() if not f.is_computed}
    for _, fld in item.iter_fields():  # the household's 本人 row is the applicant
        if household.is_household(fld):
            fields[fld.key] = household.fit_sample(fld, fields[fld.key], applicant)
    return {
        "applicant": applicant,
        "agent": None,
        "fields": fields,
        "materials": {m.name: True for m in item.materials},
    }
