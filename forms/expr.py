"""Safe expressions for service-item rules, visibility, constraints and computed values.

Authors write Python-like expressions in the item files, e.g. ``applicant.age >= 80``,
``household_income / household_size`` or ``local_hukou == true``. They are parsed once with
:mod:`ast` (mode ``eval``, so no statements), statically checked against the names an item
declares, and evaluated by a restricted :mod:`simpleeval` evaluator: no Python ``eval``, no
attribute calls, no comprehensions, no lambdas, only the functions listed in :data:`FUNCTIONS`.

Evaluation never raises anything but :class:`EvalError`, so a rule fed with garbage or missing
values is "undetermined" rather than a crash. Every operation's cost is bounded (number size, text and
list length, steps: :mod:`forms.expr_bounds`), and :func:`check` refuses constant parts beyond the bounds.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.errors import UserError
from forms import retirement as _retirement
from forms.expr_bounds import MAX_STEPS, BoundedEval, bound_problems
from forms.identity import IdentityError, validate_id

MAX_EXPR_LENGTH = 2000

# Lower-case spellings are what authors naturally write in YAML (`== true`); both work.
CONSTANTS: dict[str, Any] = {
    "true": True, "false": False, "null": None, "True": True, "False": False, "None": None,
}

# The residence model (rules.md §6, app/core/residence.py): 户籍 in the committee's city / county / street
# (bool, None when unknown), 人户分离, a valid 居住证, 户口性质; ``local_hukou`` (= the city match) is kept for
# old rules — a catalog rule reads the explicit attribute and states its ``scope``.
RESIDENCE_ATTRS = frozenset({"hukou_city_local", "hukou_county_local", "hukou_street_local", "separated",
                             "residence_permit_valid", "hukou_nature"})
APPLICANT_ATTRS = frozenset({"name", "id_number", "age", "sex", "phone", "local_hukou", "birth_date"}) | RESIDENCE_ATTRS
AGENT_ATTRS = frozenset({"name", "id_number", "relation", "phone", "age", "sex", "birth_date", "close_relative"})
PERSON_ATTRS = frozenset({"name", "id_number", "relation", "age", "sex", "birth_date"})


class ExprError(UserError, ValueError):
    """An expression that cannot be used; ``str(err)`` is a Chinese message for the author."""


class EvalError(Exception):
    """Evaluation failed (missing value, wrong type, division by zero…): the result is undetermined."""


@dataclass(frozen=True)
class NameSpec:
    """What the static checker knows about a name.

    ``kind`` is ``value`` (scalar), ``record`` (attributes in ``attrs``) or ``group`` (rows whose
    sub-field keys are in ``attrs``). ``options`` lists the allowed strings of a choice field so a
    comparison against a misspelt option is caught at load time.
    """

    kind: str = "value"
    attrs: frozenset[str] = frozenset()
    options: frozenset[str] | None = None


class Record:
    """Read-only attribute view over a dict (applicant, agent, person, group row).

    It deliberately has no public methods: a dict would expose ``.clear()`` or ``.items()`` to
    expressions. Names starting with ``_`` are refused by simpleeval, so ``_data`` is unreachable.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_data", dict(data or {}))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Record is read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and other._data == self._data

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"Record({self._data!r})"

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)


# ---------------------------------------------------------------------------
# Functions available to expressions

def _field_of(row: Any, name: str) -> Any:
    if isinstance(row, Record):
        return getattr(row, name, None)
    if isinstance(row, Mapping):
        return row.get(name)
    return None


def _rows(group: Any) -> list[Any]:
    return list(group) if isinstance(group, (list, tuple)) else []


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def age_from_id(value: Any, on: dt.date | None = None) -> int | None:
    """Full years of age on ``on`` (default today) from a resident ID; None if the ID is invalid."""
    if not isinstance(value, str):
        return None
    day = on or dt.date.today()
    try:
        return validate_id(value, day).age_on(day)
    except IdentityError:
        return None


def sex_from_id(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return validate_id(value).sex
    except IdentityError:
        return None


def sum_of(group: Any, name: str) -> float:
    """Sum of one sub-field over a repeat group; empty or non-numeric cells count as 0."""
    total = sum(v for v in (_field_of(r, name) for r in _rows(group)) if _is_number(v))
    return round(total, 2) if isinstance(total, float) else total


def count(group: Any) -> int:
    return len(_rows(group))


def count_where(group: Any, name: str, value: Any) -> int:
    """Rows whose sub-field equals ``value`` (or, for a multiple choice, contains it)."""
    n = 0
    for row in _rows(group):
        cell = _field_of(row, name)
        n += cell == value or (isinstance(cell, (list, tuple)) and value in cell)
    return n


def max_of(group: Any, name: str) -> Any:
    values = [v for v in (_field_of(r, name) for r in _rows(group)) if _is_number(v)]
    return max(values) if values else None


def min_of(group: Any, name: str) -> Any:
    values = [v for v in (_field_of(r, name) for r in _rows(group)) if _is_number(v)]
    return min(values) if values else None


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip()[:10])
    raise TypeError("not a date")


def years_between(start: Any, end: Any) -> int:
    a, b = _as_date(start), _as_date(end)
    return b.year - a.year - ((b.month, b.day) < (a.month, a.day))


def days_between(start: Any, end: Any) -> int:
    return (_as_date(end) - _as_date(start)).days


def year_of(value: Any) -> int:
    return _as_date(value).year


def retirement_date(birth_date: Any, sex: Any, category: Any = None) -> dt.date:
    """Statutory retirement date under the 2025 reform (:mod:`forms.retirement`); women need ``"工人"``/``"干部"``."""
    return _retirement.retirement_date(_as_date(birth_date), sex, category)


def retirement_age_months(birth_date: Any, sex: Any, category: Any = None) -> int:
    """Statutory retirement age in months (a man born 1965-12 → 723 = 60 years 3 months)."""
    return _retirement.retirement_age_months(_as_date(birth_date), sex, category)


def is_digits(value: Any) -> bool:
    """True for a non-empty string of ASCII digits (bank and card numbers)."""
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _safe_len(value: Any) -> int:
    if isinstance(value, (str, list, tuple)):
        return len(value)
    return 0 if value is None else len(value)


def _safe_round(value: Any, digits: int = 0) -> Any:
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 6:
        raise ValueError("digits out of range")
    return round(value, digits)


class _Clock:
    """Functions that depend on 'today', bound per evaluator so tests can fix the date."""

    def __init__(self, today: dt.date | None) -> None:
        self.today = today or dt.date.today()

    def functions(self) -> dict[str, Any]:
        return {
            "today": lambda: self.today,
            "this_year": lambda: self.today.year,
            "years_since": lambda d: years_between(d, self.today),
            "days_since": lambda d: days_between(d, self.today),
            "age_from_id": lambda v: age_from_id(v, self.today),
            "retired": lambda b, s, c=None: _retirement.is_retired(_as_date(b), s, c, self.today),
            "months_to_retirement":
                lambda b, s, c=None: _retirement.months_to_retirement(_as_date(b), s, c, self.today),
        }


_PURE_FUNCTIONS: dict[str, Any] = {
    "sex_from_id": sex_from_id, "sum_of": sum_of, "count": count, "count_where": count_where,
    "max_of": max_of, "min_of": min_of, "years_between": years_between,
    "days_between": days_between, "year_of": year_of, "date": _as_date, "len": _safe_len,
    "is_digits": is_digits, "retirement_date": retirement_date, "retirement_age_months": retirement_age_months,
    "min": min, "max": max, "abs": abs, "round": _safe_round, "int": int, "float": float, "str": str,
}

# name -> (min args, max args); the checker uses it, the evaluator binds the implementations.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "age_from_id": (1, 1), "sex_from_id": (1, 1), "sum_of": (2, 2), "count": (1, 1),
    "count_where": (3, 3), "max_of": (2, 2), "min_of": (2, 2), "years_between": (2, 2),
    "days_between": (2, 2), "year_of": (1, 1), "date": (1, 1), "len": (1, 1), "is_digits": (1, 1),
    "min": (1, 8),
    "max": (1, 8), "abs": (1, 1), "round": (1, 2), "int": (1, 1), "float": (1, 1), "str": (1, 1),
    "today": (0, 0), "this_year": (0, 0), "years_since": (1, 1), "days_since": (1, 1),
    "retirement_date": (2, 3), "retirement_age_months": (2, 3), "retired": (2, 3), "months_to_retirement": (2, 3),
}
GROUP_FUNCTIONS = frozenset({"sum_of", "count_where", "max_of", "min_of"})
RETIREMENT_FUNCTIONS = frozenset({"retirement_date", "retirement_age_months", "retired", "months_to_retirement"})
RESERVED_NAMES = frozenset(CONSTANTS) | frozenset(FUNCTIONS) | {"applicant", "agent", "policy", "value"}


# ---------------------------------------------------------------------------
# Parsing and static checking

@functools.lru_cache(maxsize=8192)
def compile_expr(source: str) -> ast.expr:
    """Parse once (cached by source text); raise :class:`ExprError` on a syntax error."""
    if not isinstance(source, str) or not source.strip():
        raise ExprError("表达式为空")
    if len(source) > MAX_EXPR_LENGTH:
        raise ExprError(f"表达式过长（超过 {MAX_EXPR_LENGTH} 个字符）")
    try:
        return ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        col = f"第 {exc.offset} 个字符附近" if exc.offset else ""
        raise ExprError(f"表达式语法错误{col}：{source.strip()}") from None
    except (ValueError, MemoryError, RecursionError):
        raise ExprError(f"表达式无法解析：{source.strip()[:80]}") from None


_ALLOWED_NODES = (
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call, ast.Name, ast.Attribute,
    ast.Constant, ast.List, ast.Tuple, ast.Load, ast.boolop, ast.operator, ast.unaryop, ast.cmpop,
)


def _as_specs(known: Iterable[str] | Mapping[str, NameSpec | None]) -> dict[str, NameSpec]:
    if isinstance(known, Mapping):
        return {k: v or NameSpec() for k, v in known.items()}
    return {k: NameSpec() for k in known}


class _Checker:
    def __init__(self, specs: dict[str, NameSpec]) -> None:
        self.specs = specs
        self.problems: list[str] = []
        self.call_targets: set[int] = set()

    def run(self, tree: ast.expr) -> list[str]:
        self.call_targets = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED_NODES):
                self.problems.append(f"不支持的写法：{type(node).__name__}")
            elif isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.Attribute):
                self._attribute(node)
            elif isinstance(node, ast.Compare):
                self._compare(node)
            elif isinstance(node, ast.Name) and id(node) not in self.call_targets:
                self._name(node)
        self.problems += bound_problems(tree)  # constants and power exponents beyond the cost bounds
        return list(dict.fromkeys(self.problems))

    def _name(self, node: ast.Name) -> None:
        if node.id in CONSTANTS or node.id in self.specs:
            return
        if node.id in FUNCTIONS:
            self.problems.append(f"函数 {node.id} 需要加括号调用")
        else:
            self.problems.append(f"引用了不存在的字段：{node.id}")

    def _call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):
            self.problems.append("只能调用内置函数，不能调用方法")
            return
        name = node.func.id
        if name not in FUNCTIONS:
            self.problems.append(f"未知函数：{name}")
            return
        low, high = FUNCTIONS[name]
        if node.keywords or not low <= len(node.args) <= high:
            self.problems.append(f"函数 {name} 的参数个数不对（应为 {low}–{high} 个）")
        elif name in GROUP_FUNCTIONS or name == "count":
            self._group_call(name, node.args)
        elif name in RETIREMENT_FUNCTIONS and len(node.args) == 3:
            self._retirement_category(name, node.args[2])

    def _retirement_category(self, name: str, arg: ast.expr) -> None:
        """The women's category of a retirement function: a literal or a choice field, of the known names."""
        known = _retirement.WOMEN_CATEGORIES
        spec = self.specs.get(arg.id) if isinstance(arg, ast.Name) else None
        texts = _string_literals(arg)
        if spec is not None and spec.options is not None:
            texts += sorted(spec.options)
        bad = [t for t in texts if t not in known]
        if bad:
            self.problems.append(f"{name} 的第三个参数（女性原退休年龄类别）只能是 {'、'.join(known)}，"
                                 f"不能是「{'」「'.join(bad)}」")

    def _group_call(self, name: str, args: list[ast.expr]) -> None:
        group = args[0]
        group_name = group.id if isinstance(group, ast.Name) else None
        spec = self.specs.get(group_name) if group_name else None
        if spec is None or spec.kind != "group":
            self.problems.append(f"{name} 的第一个参数应为重复组字段，{group_name or ast.unparse(group)} 不是")
            return
        if name == "count":
            return
        sub = args[1]
        if not (isinstance(sub, ast.Constant) and isinstance(sub.value, str)):
            self.problems.append(f"{name} 的第二个参数应为带引号的子字段名")
        elif sub.value not in spec.attrs:
            self.problems.append(f"重复组 {group_name} 中没有子字段：{sub.value}")

    def _attribute(self, node: ast.Attribute) -> None:
        if not isinstance(node.value, ast.Name):
            self.problems.append(f"只能访问一层属性：{ast.unparse(node)}")
            return
        spec = self.specs.get(node.value.id)
        if spec is None:
            return  # the Name visit reports the unknown name
        if spec.kind != "record":
            self.problems.append(f"{node.value.id} 没有属性，不能写 {ast.unparse(node)}")
        elif node.attr not in spec.attrs:
            self.problems.append(f"{node.value.id} 没有属性 {node.attr}")

    def _compare(self, node: ast.Compare) -> None:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
                self._literal_options(left, right)
                self._literal_options(right, left)
            left = right

    def _literal_options(self, name_node: ast.expr, literal: ast.expr) -> None:
        if not isinstance(name_node, ast.Name):
            return
        spec = self.specs.get(name_node.id)
        if spec is None or spec.options is None:
            return
        for text in _string_literals(literal):
            if text not in spec.options:
                self.problems.append(f"字段 {name_node.id} 没有选项「{text}」")


def _string_literals(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def check(expr: str, known_names: Iterable[str] | Mapping[str, NameSpec | None]) -> list[str]:
    """Static check: syntax, unknown fields/attributes/functions, misspelt choice options.

    Returns a list of Chinese problem descriptions (empty when the expression is fine).
    """
    try:
        tree = compile_expr(expr)
    except ExprError as exc:
        return [str(exc)]
    return _Checker(_as_specs(known_names)).run(tree)


def names_used(expr: str) -> set[str]:
    """Top-level names an expression reads (for dependency display and tests)."""
    try:
        tree = compile_expr(expr)
    except ExprError:
        return set()
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in calls} - set(CONSTANTS)


def attrs_used(expr: str, name: str) -> set[str]:
    """Attributes an expression reads of the record ``name`` (``applicant.hukou_city_local`` → its name)."""
    try:
        tree = compile_expr(expr)
    except ExprError:
        return set()
    return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id == name}


# ---------------------------------------------------------------------------
# Evaluation

class _Restricted(BoundedEval):
    """simpleeval with lists/tuples for `in [...]`, but no dicts, sets, comprehensions or f-strings; every
    operation's cost bounded (:mod:`forms.expr_bounds`)."""

    def __init__(self, functions: dict[str, Any]) -> None:
        super().__init__(functions)
        self.functions = functions  # the parent adds list/dict/set constructors; we do not want them
        for node_type in (ast.Dict, ast.Set, ast.ListComp, ast.GeneratorExp, ast.DictComp,
                          ast.JoinedStr, ast.FormattedValue, ast.Subscript, ast.Slice):
            self.nodes.pop(node_type, None)


class Evaluator:
    """Evaluates checked expressions against a scope of names; one instance per submission."""

    def __init__(self, names: Mapping[str, Any] | None = None, today: dt.date | None = None) -> None:
        self.today = today or dt.date.today()
        self._engine = _Restricted({**_PURE_FUNCTIONS, **_Clock(self.today).functions()})
        self.names: dict[str, Any] = {**CONSTANTS, **(names or {})}
        self.max_steps = MAX_STEPS

    def evaluate(self, expr: str, extra: Mapping[str, Any] | None = None) -> Any:
        """Value of ``expr``; raise :class:`EvalError` when it cannot be determined."""
        try:
            tree = compile_expr(expr)
        except ExprError as exc:
            raise EvalError(str(exc)) from None
        self._engine.names = {**self.names, **extra} if extra else self.names
        self._engine.max_steps = self.max_steps
        try:
            result = self._engine.eval(expr, previously_parsed=tree)
        except Exception as exc:
            raise EvalError(f"{type(exc).__name__}: {exc}"[:200]) from None
        if isinstance(result, float) and not math.isfinite(result):
            raise EvalError("结果不是有限数值")
        return result

    def truth(self, expr: str, extra: Mapping[str, Any] | None = None) -> bool | None:
        """True/False, or None when undetermined."""
        try:
            return bool(self.evaluate(expr, extra))
        except EvalError:
            return None


def evaluate(expr: str, names: Mapping[str, Any] | None = None, today: dt.date | None = None) -> Any:
    """One-off evaluation (tests, CLI); services should reuse an :class:`Evaluator`."""
    return Evaluator(names, today).evaluate(expr)
