"""`catalog` subcommands of main.py (list, show, search, validate); the benchmark is app/bench/catalog.py.

``register(sub)`` adds them to an argparse subparsers object; every handler takes the parsed
arguments and returns the process exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.core.paths import FORMS_ITEMS_DIR
from app.desk.catalog.search import CatalogService
from forms.loader import CATALOG_FILE, load_catalog
from forms.schema import Field, ServiceItem, Step


def register(sub) -> None:
    """Add ``catalog`` with its sub-subcommands to ``sub`` (an argparse subparsers object)."""
    parser = sub.add_parser("catalog", help="服务事项目录：列出、查看、搜索、校验")
    parser.add_argument("--items-dir", type=Path, default=None, help="事项文件目录（默认 forms/items）")
    parser.set_defaults(func=_usage(parser))
    cmds = parser.add_subparsers(dest="catalog_command")

    p = cmds.add_parser("list", help="列出全部事项")
    p.add_argument("--json", action="store_true", help="以 JSON 数组输出")
    p.set_defaults(func=cmd_list)

    p = cmds.add_parser("show", help="显示一个事项的完整定义")
    p.add_argument("code")
    p.set_defaults(func=cmd_show)

    p = cmds.add_parser("search", help="按名称、别名、拼音或首字母搜索")
    p.add_argument("text")
    p.add_argument("--department", default=None)
    p.set_defaults(func=cmd_search)

    p = cmds.add_parser("validate", help="校验事项文件，列出全部编写错误")
    p.add_argument("dir", nargs="?", type=Path, default=None)
    p.set_defaults(func=cmd_validate)


def _usage(parser: argparse.ArgumentParser):
    def handler(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2
    return handler


def _items_dir(args: argparse.Namespace) -> Path:
    return getattr(args, "items_dir", None) or FORMS_ITEMS_DIR


def _service(args: argparse.Namespace) -> CatalogService:
    service = CatalogService(_items_dir(args))
    service.load()
    return service


def cmd_list(args: argparse.Namespace) -> int:
    catalog = _service(args).catalog
    rows = [{"code": i.code, "name": i.name, "department": i.department, "mode": i.mode,
             "fields": i.field_count, "materials": len(i.materials)} for i in catalog]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        print(f"{r['code']}  {r['name']}  [{r['department']}·{r['mode']}]  字段 {r['fields']}  材料 {r['materials']}")
    print(f"共 {len(rows)} 项，目录版本 {catalog.version_label}")
    for key, broken in catalog.broken.items():
        print(f"不可用 {key}: {_technical_reason(catalog, broken.file)}")
    return 0


def _technical_reason(catalog, file: str) -> str:
    """What is wrong with a file, for the administrator (the worker sees ``Catalog.unavailable``)."""
    errors = [e for e in catalog.errors if e.file == file]
    if not errors:
        return "无法加载"
    more = f"（另有 {len(errors) - 1} 处，见 catalog validate）" if len(errors) > 1 else ""
    return errors[0].message + more


def cmd_show(args: argparse.Namespace) -> int:
    catalog = _service(args).catalog
    item = catalog.get(args.code.upper())
    if item is None:
        broken = catalog.broken.get(args.code.upper()) or catalog.broken.get(args.code)
        reason = _technical_reason(catalog, broken.file) if broken else ""
        print(f"{args.code}: " + (f"不可用（{reason}）" if broken else "没有这个事项"))
        return 1
    print("\n".join(describe(item)))
    return 0


def describe(item: ServiceItem) -> list[str]:
    """Readable Chinese description of an item (CLI `show`, and handy in bug reports)."""
    lines = [f"{item.code} {item.name}（{item.department}·{item.mode}）"]
    if item.aliases:
        lines.append("别名：" + "、".join(item.aliases))
    lines.append("依据：" + "；".join(item.legal_basis))
    lines += ["申请条件："] + [f"  · {c}" for c in item.conditions]
    lines += [f"办理时限：{item.time_limit}", f"收费：{item.fees}", f"转办至：{item.forward_target}"]
    lines.append("材料：")
    for m in item.materials:
        cond = "" if m.required is True else (" （可选）" if m.required is False else f" （当 {m.required}）")
        lines.append(f"  · {m.name}  {m.form} {m.count} 份{cond}：{m.standard}")
    for n, step in enumerate(item.steps, 1):
        lines.append(f"第 {n} 步 {step.title}")
        if step.visible_if:
            lines.append(f"  （本步显示条件：{step.visible_if}）")
        for f in step.fields:
            extra = f" = {f.compute}" if f.compute else ""
            shown = f"  显示条件：{f.visible_if}" if f.visible_if else ""
            lines.append(f"  - {f.key}  {f.label}  [{f.type}] {required_text(f, step)}{extra}{shown}".rstrip())
            lines += [f"      · {s.key}  {s.label}  [{s.type}] {required_text(s, f, step)}".rstrip() for s in f.fields]
    lines += [f"计算：{c.label} = {c.expr}" for c in item.computed]
    lines += [f"资格：{r.rule}  → 不符合时提示「{r.message}」" for r in item.eligibility]
    lines += [f"{item.tier_title}：{t.label}（{t.when}）" for t in item.tiers]
    lines += ["办理提示："] + [f"  · {h}" for h in item.hints]
    return lines


def required_text(f: Field, *within: Step | Field) -> str:
    """必填 / 必填（显示时） / 条件必填：… — a field asked only when visible (its own ``visible_if`` or that of
    the step or group it is in) is not always required."""
    if f.required is False:
        return ""
    conditional = any(x.visible_if for x in (f, *within))
    if f.required is True:
        return "必填（显示时）" if conditional else "必填"
    return f"条件必填：{f.required}" + ("（显示时）" if conditional else "")


def cmd_search(args: argparse.Namespace) -> int:
    hits = _service(args).search(args.text, department=args.department)
    for h in hits:
        if h.available:
            print(f"{h.code}  {h.name}  [{h.department}·{h.mode}]  {h.score:g}  {h.matched}")
        else:
            print(f"{h.code}  {h.name}  [不可用]  {h.score:g}  {h.reason}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    directory = Path(args.dir or _items_dir(args))
    if not directory.is_dir():
        print(f"错误：找不到事项文件目录 {directory}（不存在或不是文件夹）", file=sys.stderr)
        return 2
    if not any(p.name != CATALOG_FILE for p in directory.glob("*.yaml")):
        print(f"错误：目录 {directory} 中没有事项文件（*.yaml），请检查路径", file=sys.stderr)
        return 2
    catalog = load_catalog(directory)
    for err in catalog.errors:
        print(err)
    if catalog.errors:
        print(f"发现 {len(catalog.errors)} 处错误，{len(catalog.unavailable)} 个文件不可用")
        return 1
    print(f"OK {len(catalog)} 项，目录版本 {catalog.version_label}")
    return 0
