"""Load a directory of item files into a :class:`~forms.schema.Catalog`.

Layout of the directory:

* ``catalog.yaml`` – catalog-wide data: ``version`` (the administrator's label, e.g.
  ``"2026.11.1"``), ``departments`` (allowed department names, in display order), ``policy``
  (local figures such as the 低保 line, used in rules as ``policy.dibao_line``), and shared
  ``materials`` / ``fields`` that items pull in with ``- use: <name>`` plus overrides.
* ``<CODE>.yaml`` – one service item each.

The loader never raises on bad data: every authoring error becomes a :class:`LoadError` with file,
item and field, and a broken item is listed in ``Catalog.unavailable`` while the others load.

All errors of a file come out of one run: when the schema refuses an item, a second, lenient pass
(Chinese-text rule off, refused parts set aside) still runs the expression and reference checks on
the rest, so an author never fixes labels only to meet a new round of expression errors.
"""

from __future__ import annotations

import copy
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from forms import expr as ex
from forms import household
from forms.agent_materials import AgentMaterial, add_agent_materials, read_agent_materials
from forms.dependencies import DependencyCycle, evaluation_order
from forms.policy import Policy, parse_policy
from forms.request_categories import read_request_categories
from forms.safe_yaml import read_yaml as _read_yaml  # regular files, size and alias limits
from forms.schema import (
    LENIENT,
    RULE_LEVEL_LABELS,
    Catalog,
    Computed,
    EligibilityRule,
    Field,
    LoadError,
    Material,
    Rule,
    SampleApplicant,
    ServiceItem,
    Step,
    Tier,
    UnavailableItem,
)
from forms.scopes import scope_problems

CATALOG_FILE = "catalog.yaml"
_CODE_RE = re.compile(r"^code:\s*['\"]?([A-Z]{2}-\d{2})", re.MULTILINE)
# Top-level (unindented) name/department of a file whose YAML does not parse, so the desk can still show it.
_TOP_TEXT_RE = {k: re.compile(rf"^{k}:[ \t]*['\"]?([^'\"#\n]*[^'\"#\s])", re.MULTILINE)
                for k in ("name", "department")}


@dataclass
class CatalogMeta:
    version: str = ""
    departments: list[str] = field(default_factory=list)
    policy: Policy = field(default_factory=Policy)
    materials: dict[str, dict] = field(default_factory=dict)
    fields: dict[str, dict] = field(default_factory=dict)
    agent_materials: list[AgentMaterial] = field(default_factory=list)  # catalog.yaml ``agent_materials``
    request_categories: list[tuple[str, str]] = field(default_factory=list)  # issue 20: 诉求 categories


@dataclass
class _FileResult:
    file: str
    code: str | None
    item: ServiceItem | None
    errors: list[LoadError]
    name: str = ""
    department: str = ""


def load_catalog(directory: Path | str) -> Catalog:
    """Load every item file of ``directory``; see the module docstring for the layout."""
    directory = Path(directory)
    errors: list[LoadError] = []
    digest = hashlib.sha256()
    meta = _load_meta(directory / CATALOG_FILE, errors, digest)
    results = [_load_file(path, meta, digest) for path in _item_files(directory)]
    items, broken = _collect(results, errors)
    content_hash = digest.hexdigest()
    return Catalog(
        version=meta.version or f"0+{content_hash[:12]}",
        content_hash=content_hash,
        items=dict(sorted(items.items())),
        unavailable={key: b.reason for key, b in broken.items()},
        broken=broken,
        errors=errors,
        departments=meta.departments or sorted({i.department for i in items.values()}),
        policy=meta.policy,
        request_categories=meta.request_categories,
        source_dir=directory,
    )


def _item_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.yaml") if p.name != CATALOG_FILE)


def _collect(results: list[_FileResult], errors: list[LoadError]) -> tuple[dict, dict[str, UnavailableItem]]:
    """Valid items by code; unavailable ones by code, or by file name when the code is unknown or taken."""
    items: dict[str, ServiceItem] = {}
    first_file: dict[str, str] = {}
    failed: list[_FileResult] = []
    for res in results:
        errors.extend(res.errors)
        item = res.item
        if item is not None and item.code in first_file:
            msg = f"事项编码 {item.code} 与 {first_file[item.code]} 重复"
            errors.append(LoadError(res.file, item.code, None, msg))
            failed.append(_FileResult(res.file, None, None, [], item.name, item.department))
        elif item is not None:
            items[item.code] = item
            first_file[item.code] = res.file
        else:
            failed.append(res)
    broken: dict[str, UnavailableItem] = {}
    for res in failed:
        code = res.code
        key = code if code and code not in items and code not in broken else res.file
        broken[key] = UnavailableItem(key, res.file, code, res.name, res.department)
    return items, broken


# ---------------------------------------------------------------------------
# catalog.yaml

def _load_meta(path: Path, errors: list[LoadError], digest: Any) -> CatalogMeta:
    if not path.exists():
        return CatalogMeta()
    data, _, problem = _read_yaml(path, digest)
    if problem or not isinstance(data, dict):
        errors.append(LoadError(path.name, None, None, problem or "catalog.yaml 顶层应为键值对"))
        return CatalogMeta()
    meta = CatalogMeta(version=str(data.get("version") or ""))
    meta.policy, problems = parse_policy(data.get("policy"))
    errors.extend(LoadError(path.name, None, where, message) for where, message in problems)
    for name, kind in (("departments", list), ("materials", dict), ("fields", dict)):
        value = data.get(name, kind())
        if isinstance(value, kind):
            setattr(meta, name, value)
        else:
            errors.append(LoadError(path.name, None, name, f"{name} 的格式不正确"))
    meta.agent_materials, problems = read_agent_materials(data.get("agent_materials"), _translate)
    errors.extend(LoadError(path.name, None, where, message) for where, message in problems)
    meta.request_categories, problems = read_request_categories(data.get("request_categories"))
    errors.extend(LoadError(path.name, None, where, message) for where, message in problems)
    unknown = set(data) - {"version", "departments", "policy", "materials", "fields", "agent_materials",
                           "request_categories"}
    for name in sorted(unknown):
        errors.append(LoadError(path.name, None, name, f"未知的目录级属性：{name}"))
    return meta


# ---------------------------------------------------------------------------
# One item file

def _load_file(path: Path, meta: CatalogMeta, digest: Any) -> _FileResult:
    data, text, problem = _read_yaml(path, digest)
    match = _CODE_RE.search(text)
    code: str | None = _top_text(data, text, "code") or (match.group(1) if match else None)
    name, department = _top_text(data, text, "name"), _top_text(data, text, "department")
    if problem:
        return _FileResult(path.name, code, None, [LoadError(path.name, code, None, problem)], name, department)
    if not isinstance(data, dict):
        return _FileResult(path.name, code, None, [LoadError(path.name, code, None, "文件顶层应为键值对")])
    try:
        item, errs = _build_item(path.name, code, data, meta)
    except Exception as exc:
        item, errs = None, [LoadError(path.name, code, None, f"内部错误：{type(exc).__name__}: {exc}")]
    return _FileResult(path.name, code, item, errs, name, department)


def _top_text(data: Any, text: str, key: str) -> str:
    """A top-level text attribute of an item file, from the parsed data or, failing that, the raw text."""
    if isinstance(data, dict):
        value = data.get(key)
        return value.strip()[:60] if isinstance(value, str) else ""
    regex = _TOP_TEXT_RE.get(key)
    match = regex.search(text) if regex else None
    return match.group(1).strip()[:60] if match else ""


def _build_item(file: str, code: str | None, data: dict, meta: CatalogMeta):
    errors: list[LoadError] = []
    data = _resolve_uses(file, code, data, meta, errors)
    try:
        item = ServiceItem.model_validate(data)
    except ValidationError as exc:
        errors.extend(_pydantic_errors(file, code, data, exc))
        errors.extend(e for e in _lenient_checks(file, code, data, meta) if e not in errors)
        return None, errors
    item._policy = meta.policy
    item._source = file
    for where, message in add_agent_materials(item, meta.agent_materials) + _check_item(item, meta):
        errors.append(LoadError(file, item.code, where, message))
    return (None if errors else item), errors


# ---------------------------------------------------------------------------
# Lenient second pass: semantic checks on the parts of a refused item that the schema accepts

# Which model the elements of a list attribute are, to know which attributes have defaults.
_CHILD_MODELS: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
    (ServiceItem, "steps"): Step, (ServiceItem, "materials"): Material, (ServiceItem, "eligibility"): EligibilityRule,
    (ServiceItem, "computed"): Computed, (ServiceItem, "tiers"): Tier, (Step, "fields"): Field,
    (Field, "fields"): Field, (Field, "constraints"): Rule,
}
_PLACEHOLDER = "占位"
# Stand-ins for required top-level attributes the schema refused; checks about them are not reported twice.
_TOP_PLACEHOLDERS: dict[str, Any] = {
    "code": "ZZ-00", "mode": "即办", "legal_basis": [_PLACEHOLDER], "conditions": [_PLACEHOLDER],
    "steps": [{"title": _PLACEHOLDER, "fields": [{"key": "zz_placeholder", "label": _PLACEHOLDER, "type": "text",
                                                  "required": True}]}],
    **{k: _PLACEHOLDER for k in ("name", "department", "category", "time_limit", "forward_target")},
}


def _lenient_checks(file: str, code: str | None, data: dict, meta: CatalogMeta) -> list[LoadError]:
    """Expression/reference errors of an item the schema refused (a loader bug here only loses these)."""
    try:
        item, lost, patched = _lenient_item(data)
        if item is None:
            return []
        item._policy = meta.policy
        extra = {key: ex.NameSpec() for key in lost}
        problems = _check_item(item, meta, extra_names=extra, partial=bool(lost or patched))
        return [LoadError(file, code, where, message) for where, message in problems if where not in patched]
    except Exception:
        return []


def _lenient_item(data: dict) -> tuple[ServiceItem | None, set[str], set[str]]:
    """Validate a copy of ``data`` without the Chinese-text rule, setting aside what the schema refuses.

    Returns the item (or None when nothing useful is left), the keys of fields set aside (expressions may
    still name them) and the top-level attributes replaced by placeholders.
    """
    data = copy.deepcopy(data)
    lost: set[str] = set()
    patched: set[str] = set()
    for _ in range(8):
        try:
            return ServiceItem.model_validate(data, context=LENIENT), lost, patched
        except ValidationError as exc:
            drop_attrs: dict[int, tuple[dict, set[str]]] = {}
            drop_rows: dict[int, tuple[list, set[int]]] = {}
            for err in exc.errors(include_url=False):
                loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and _UNION_BRANCH.match(p)))
                if not _plan_patch(data, loc, err["type"], drop_attrs, drop_rows, patched):
                    return None, lost, patched
            for node, attrs in drop_attrs.values():
                for attr in attrs:
                    node.pop(attr, None)
            for rows, indexes in drop_rows.values():
                for i in sorted(indexes, reverse=True):
                    lost.update(_keys_in(rows[i]))
                    del rows[i]
    return None, lost, patched


def _plan_patch(data: dict, loc: tuple, etype: str, drop_attrs: dict, drop_rows: dict, patched: set) -> bool:
    """Decide how to get past one schema error: drop an optional attribute, drop the list element it is in,
    or (top level) put a placeholder in. False when there is no sensible way."""
    model: type[BaseModel] | None = ServiceItem
    node: Any = data
    row: tuple[list, int] | None = None
    for i, part in enumerate(loc[:-1]):
        nxt = loc[i + 1]
        if isinstance(node, dict) and part in node:
            if isinstance(nxt, int):
                model = _CHILD_MODELS.get((model, part)) if model else None
            elif part == "sample_applicant":
                model = SampleApplicant
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            row = (node, part)
            node = node[part]
        else:
            return False
    last = loc[-1] if loc else None
    if isinstance(node, list) and isinstance(last, int):
        drop_rows.setdefault(id(node), (node, set()))[1].add(last)  # a bad element of a list
        return True
    if not isinstance(node, dict) or not isinstance(last, str):
        return False
    spec = model.model_fields.get(last) if model else None
    if etype == "extra_forbidden" or (spec is not None and not spec.is_required() and last in node):
        drop_attrs.setdefault(id(node), (node, set()))[1].add(last)
        return True
    if row is not None:
        drop_rows.setdefault(id(row[0]), (row[0], set()))[1].add(row[1])
        return True
    if node is data and last in _TOP_PLACEHOLDERS and last not in patched:
        data[last] = copy.deepcopy(_TOP_PLACEHOLDERS[last])
        patched.add(last)
        return True
    return False


def _keys_in(node: Any) -> set[str]:
    """Field keys inside a part set aside, so a reference to them is not reported as unknown."""
    if isinstance(node, list):
        return set().union(*(_keys_in(x) for x in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    keys = {node["key"]} if isinstance(node.get("key"), str) else set()
    for child in ("fields", "steps"):
        keys |= _keys_in(node.get(child))
    return keys


def _resolve_uses(file: str, code: str | None, data: dict, meta: CatalogMeta, errors: list) -> dict:
    """Replace ``{use: name, ...overrides}`` entries with the shared definition from catalog.yaml."""
    data = dict(data)
    if isinstance(data.get("materials"), list):
        data["materials"] = [_use(file, code, m, meta.materials, "材料", errors) for m in data["materials"]]
    if isinstance(data.get("steps"), list):
        data["steps"] = [_resolve_step(file, code, s, meta, errors) for s in data["steps"]]
    return data


def _resolve_step(file, code, step, meta, errors):
    if not isinstance(step, dict) or not isinstance(step.get("fields"), list):
        return step
    step = dict(step)
    step["fields"] = [_resolve_field(file, code, f, meta, errors) for f in step["fields"]]
    return step


def _resolve_field(file, code, fld, meta, errors):
    fld = _use(file, code, fld, meta.fields, "字段", errors)
    if isinstance(fld, dict) and isinstance(fld.get("fields"), list):
        fld = dict(fld)
        fld["fields"] = [_use(file, code, f, meta.fields, "字段", errors) for f in fld["fields"]]
    return fld


def _use(file, code, entry, library: dict, kind: str, errors: list):
    if not isinstance(entry, dict) or "use" not in entry:
        return entry
    name = entry["use"]
    base = library.get(name) if isinstance(name, str) else None
    if not isinstance(base, dict):
        errors.append(LoadError(file, code, str(name), f"catalog.yaml 中没有共享{kind}：{name}"))
        return {k: v for k, v in entry.items() if k != "use"}
    merged = copy.deepcopy(base)
    merged.update({k: v for k, v in entry.items() if k != "use"})
    return merged


_MESSAGES = {
    "missing": "缺少必填属性",
    "extra_forbidden": "未知属性（拼写错误？）",
    "string_type": "应为文字",
    "list_type": "应为列表",
    "bool_type": "应为 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "string_pattern_mismatch": "格式不正确",
    "too_short": "不能为空",
    "string_too_short": "不能为空",
    "string_too_long": "过长",
    "model_type": "应为键值对",
    "dict_type": "应为键值对",
}


def _pydantic_errors(file: str, code: str | None, data: dict, exc: ValidationError) -> list[LoadError]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and _UNION_BRANCH.match(p)))
        where, attr = _locate(data, loc)
        message = _UNION_MESSAGE if len(loc) < len(err["loc"]) else _translate(err, attr)
        if len(loc) == 3 and loc[0] == "eligibility" and loc[2] == "level" and isinstance(loc[1], int):
            message = _level_message(err, data, loc[1])
        out.append(LoadError(file, code, where, f"{attr}：{message}" if attr else message))
    # A union (true/false or an expression) reports one error per branch; keep one per place.
    return list(dict.fromkeys(out))


def _level_message(err: ErrorDetails, data: dict, index: int) -> str:
    """A rule whose level is missing or unknown: which rule (counted from 1, with its expression), and the choices."""
    rules = data.get("eligibility")
    rule = rules[index].get("rule") if isinstance(rules, list) and isinstance(rules[index], dict) else None
    which = f"第 {index + 1} 条资格规则" + (f"（{rule}）" if isinstance(rule, str) and rule.strip() else "")
    choices = "、".join(f"{level}（{label}）" for level, label in RULE_LEVEL_LABELS.items())
    if err["type"] == "missing":
        return f"{which}缺少级别 level，每条资格规则都须写明：{choices}"
    return f"{which}的级别「{err.get('input')}」无效，应为 {choices}之一"


# pydantic names the union branch in the location ("bool", "constrained-str"); it means nothing to authors.
_UNION_BRANCH = re.compile(r"^(bool|str|int|float|constrained-str|function-.*)$")
_UNION_MESSAGE = "应为 true、false 或条件表达式"
_PATTERN_HINTS = {
    "key": "格式不正确：只能用小写字母、数字和下划线，以字母开头，最长 40 个字符",
    "code": "格式不正确：应为两位大写字母、短横线加两位数字，如 MZ-01",
}


def _translate(err: ErrorDetails, attr: str) -> str:
    etype, ctx = err["type"], err.get("ctx", {})
    if etype == "literal_error":
        return f"取值「{err.get('input')}」无效，应为 {str(ctx.get('expected', '')).replace(' or ', ' 或 ')}"
    if etype == "string_pattern_mismatch" and attr in _PATTERN_HINTS:
        return _PATTERN_HINTS[attr]
    if etype == "value_error" and attr.startswith("options["):
        return f"选项「{err.get('input')}」" + str(err["msg"]).removeprefix("Value error, ")
    if etype == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if etype in ("greater_than_equal", "less_than_equal"):
        bound = ctx.get("ge", ctx.get("le"))
        return f"不能{'小' if etype == 'greater_than_equal' else '大'}于 {bound}"
    return _MESSAGES.get(etype, err["msg"])


def _locate(data: Any, loc: tuple) -> tuple[str | None, str]:
    """Turn a pydantic location into (field path by keys, attribute name) for the author."""
    node, keys, path, previous = data, [], [], None
    for part in loc:
        path.append(f"[{part}]" if isinstance(part, int) else f".{part}")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if previous == "fields" and isinstance(node, dict):
                keys.append(str(node.get("key") or f"#{part + 1}"))
        else:
            node = None
        previous = part
    attr = str(loc[-1]) if loc and not isinstance(loc[-1], int) else ""
    if len(loc) >= 2 and isinstance(loc[-1], int) and isinstance(loc[-2], str):
        attr = f"{loc[-2]}[{loc[-1]}]"  # one element of a list attribute: options[2]
    if keys:
        return ".".join(keys), attr
    # Outside a field the path already ends with the attribute (materials[0].form), so no prefix.
    return ("".join(path).lstrip(".") or None), ""


# ---------------------------------------------------------------------------
# Semantic checks after the schema passed

def field_spec(fld: Field) -> ex.NameSpec:
    """What the expression checker knows about a field's name (its kind says)."""
    return fld.kind.spec(fld)


def item_names(item: ServiceItem, policy: Mapping[str, Any]) -> dict[str, ex.NameSpec]:
    """Every name an expression of ``item`` may use, with what the checker knows about it."""
    names: dict[str, ex.NameSpec] = {
        "applicant": ex.NameSpec("record", ex.APPLICANT_ATTRS),
        "agent": ex.NameSpec("record", ex.AGENT_ATTRS),
        "policy": ex.NameSpec("record", frozenset(policy)),
    }
    for _, fld in item.iter_fields():
        names[fld.key] = field_spec(fld)
    for comp in item.computed:
        names[comp.key] = ex.NameSpec()
    return names


def _check_item(item: ServiceItem, meta: CatalogMeta, extra_names: dict[str, ex.NameSpec] | None = None,
                partial: bool = False) -> list[tuple[str | None, str]]:
    """Semantic checks; ``partial`` (lenient pass, parts set aside) skips checks about the item as a whole."""
    problems: list[tuple[str | None, str]] = []
    names = {**(extra_names or {}), **item_names(item, meta.policy)}
    problems += _check_keys(item, whole=not partial)
    if meta.departments and item.department not in meta.departments:
        problems.append(("department", f"部门「{item.department}」不在 catalog.yaml 的部门列表中"))
    for step in item.steps:
        problems += _check_exprs(step.title, names, [("visible_if", step.visible_if)])
        for fld in step.fields:
            problems += _check_field(fld, names, fld.key)
    problems += _check_item_exprs(item, names)
    problems += _derive_order(item)
    return problems


def _derive_order(item: ServiceItem) -> list[tuple[str | None, str]]:
    """Work out once in which order the item's values are resolved, kept on the item; a cycle is an error."""
    try:
        item._order = evaluation_order(item)
    except DependencyCycle as exc:
        return [(exc.field, str(exc))]
    return []


def _check_keys(item: ServiceItem, whole: bool = True) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    seen: set[str] = set()
    keys = [f.key for _, f in item.iter_fields()] + [c.key for c in item.computed]
    for key in keys:
        if key in seen:
            problems.append((key, f"字段键 {key} 重复"))
        if key in ex.RESERVED_NAMES:
            problems.append((key, f"字段键 {key} 是保留名，请换一个"))
        seen.add(key)
    materials = [m.name for m in item.materials]
    for name in {m for m in materials if materials.count(m) > 1}:
        problems.append((f"材料:{name}", f"材料名称「{name}」重复"))
    if whole and not any(f.required is not False for _, f in item.iter_fields()):
        problems.append((None, "至少需要一个必填字段"))
    return problems


def _check_field(fld: Field, names: dict[str, ex.NameSpec], where: str, in_group: bool = False):
    problems = _field_shape(fld, where, in_group)
    scope = names
    if fld.kind.rows:
        subs = [f.key for f in fld.fields]
        problems += [(where, f"子字段键 {k} 重复") for k in sorted({k for k in subs if subs.count(k) > 1})]
        scope = {**names, **{f.key: field_spec(f) for f in fld.fields}}
        for sub in fld.fields:
            problems += _check_field(sub, scope, f"{where}.{sub.key}", in_group=True)
    own_scope = {**(scope if in_group else names), "value": field_spec(fld)}
    exprs = [("required", fld.required if isinstance(fld.required, str) else None),
             ("visible_if", fld.visible_if), ("compute", fld.compute)]
    exprs += [(f"constraints[{i}]", c.rule) for i, c in enumerate(fld.constraints)]
    return problems + _check_exprs(where, own_scope, exprs)


def _field_shape(fld: Field, where: str, in_group: bool) -> list[tuple[str, str]]:
    problems = [(where, message) for message in fld.kind.shape_problems(fld)]
    if fld.household:
        problems += [(where, message) for message in household.shape_problems(fld)]
    if in_group and fld.kind.rows:
        problems.append((where, "重复组中不能再嵌套重复组"))
    if fld.compute and fld.required is not False:
        problems.append((where, "计算字段不能设为必填"))
    return problems


def _check_item_exprs(item: ServiceItem, names: dict[str, ex.NameSpec]):
    problems = []
    for i, rule in enumerate(item.eligibility):
        problems += _check_exprs(f"eligibility[{i}]", names, [("rule", rule.rule)])
        problems += [(f"eligibility[{i}]", message) for message in scope_problems(rule)]
    for comp in item.computed:
        problems += _check_exprs(comp.key, names, [("expr", comp.expr)])
    for i, tier in enumerate(item.tiers):
        problems += _check_exprs(f"tiers[{i}]", names, [("when", tier.when)])
    for mat in item.materials:
        if isinstance(mat.required, str):
            problems += _check_exprs(f"材料:{mat.name}", names, [("required", mat.required)])
        group = item.field(mat.per) if mat.per else None
        if mat.per and (group is None or not group.kind.rows):
            problems.append((f"材料:{mat.name}", f"per：「{mat.per}」不是本事项的重复组字段，份数无法按行计算"))
    return problems


def _check_exprs(where: str, names: dict[str, ex.NameSpec], exprs: list[tuple[str, str | None]]):
    problems = []
    for attr, source in exprs:
        if source is None:
            continue
        for message in ex.check(source, names):
            problems.append((where, f"{attr}：{message}"))
    return problems


def timed_load(directory: Path | str) -> tuple[Catalog, float]:
    """Load and return the elapsed milliseconds (for the benchmark and the status bar)."""
    start = time.perf_counter()
    catalog = load_catalog(directory)
    return catalog, (time.perf_counter() - start) * 1000
