"""`catalog` subcommands of main.py (list, show, search, validate, check); the benchmark is app/bench/catalog.py.

``register(sub)`` adds them to an argparse subparsers object; every handler takes the parsed
arguments and returns the process exit code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any

from app.core.errors import UserError
from app.core.paths import FORMS_ITEMS_DIR
from app.core.vocabulary import CHINA_TZ
from app.desk.catalog.search import CatalogService
from forms.loader import CATALOG_FILE, load_catalog
from forms.report import check_report
from forms.safe_yaml import CatalogFileError, read_catalog_file
from forms.schema import RULE_LEVEL_LABELS, Field, ServiceItem, Step


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
    p.add_argument("--json", action="store_true", help="以 JSON 输出事项定义（含每条资格规则的级别 level）")
    p.set_defaults(func=cmd_show)

    p = cmds.add_parser("search", help="按名称、别名、拼音或首字母搜索")
    p.add_argument("text")
    p.add_argument("--department", default=None)
    p.set_defaults(func=cmd_search)

    p = cmds.add_parser("validate", help="校验事项文件，列出全部编写错误")
    p.add_argument("dir", nargs="?", type=Path, default=None)
    p.set_defaults(func=cmd_validate)

    p = cmds.add_parser("check", help="按一组答案检查事项的资格规则、计算值和所需材料（JSON 输出）")
    p.add_argument("code")
    p.add_argument("--answers", type=Path, required=True, metavar="FILE.json",
                   help="答案文件：与办事向导提交的数据同格式的 JSON 对象（见 forms/validate.py 开头）")
    p.add_argument("--today", default=None, metavar="YYYY-MM-DD", help="按哪一天计算年龄、期限（默认今天）")
    p.set_defaults(func=cmd_check)


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
        print(f"{args.code}: {_not_found(catalog, args.code)}", file=sys.stderr if args.json else sys.stdout)
        return 1
    if args.json:
        print(json.dumps(item_json(item), ensure_ascii=False, indent=1))
        return 0
    print("\n".join(describe(item)))
    return 0


def _not_found(catalog, code: str) -> str:
    broken = catalog.broken.get(code.upper()) or catalog.broken.get(code)
    return f"不可用（{_technical_reason(catalog, broken.file)}）" if broken else "没有这个事项"


def item_json(item: ServiceItem) -> dict[str, Any]:
    """The item as its file defines it (every eligibility rule with its ``level``), plus the policy figures."""
    data = item.model_dump(mode="json")
    data["policy"] = item.policy.on(_china_today())
    data["policy_history"] = {key: [{"value": e.value, "from": e.effective.isoformat() if e.effective else None,
                                     "source": e.source} for e in item.policy.history(key)]
                              for key in item.policy}
    data["source_file"] = item.source_file
    return data


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
        group = item.field(m.per) if m.per else None
        copies = f"「{group.label}」每行 {m.count} 份" if group else f"{m.count} 份"
        lines.append(f"  · {m.name}  {m.form} {copies}{cond}：{m.standard}")
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
    lines += [f"资格（{RULE_LEVEL_LABELS[r.level]} {r.level}{f' · 范围 {r.scope}' if r.scope else ''}）：{r.rule}"
              f"  → 不符合时提示「{r.message}」"
              for r in item.eligibility]
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


def cmd_check(args: argparse.Namespace) -> int:
    """Print, as JSON, what the item's rules make of the answers in ``--answers`` (forms/report.py)."""
    today = _today(args.today)
    submission = _read_answers(args.answers)
    catalog = _service(args).catalog
    item = catalog.get(args.code.upper())
    if item is None:
        raise UserError(f"{args.code}：{_not_found(catalog, args.code)}，请用 catalog list 查看事项编号")
    print(json.dumps(check_report(item, submission, today), ensure_ascii=False, indent=1))
    return 0


def _china_today() -> dt.date:
    return dt.datetime.now(CHINA_TZ).date()  # the desk's day is China's, whatever the machine's zone


def _today(text: str | None) -> dt.date:
    if text is None:
        return _china_today()
    try:
        # fromisoformat also takes 20261120 and 2026-W47; the administrator was told YYYY-MM-DD.
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise UserError(f"日期「{text}」不正确，应为 YYYY-MM-DD 格式的真实日期，如 2026-11-20")


def _read_answers(path: Path) -> dict[str, Any]:
    """The answers file as a submission dict; anything else is a Chinese message, never a traceback."""
    if not path.is_file():
        raise UserError(f"找不到答案文件 {path}（不存在或不是文件）")
    try:
        text = read_catalog_file(path).decode("utf-8-sig")  # a regular file of bounded size, as catalog files
    except CatalogFileError as exc:
        raise UserError(f"答案文件 {path}：{exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"答案文件 {path} 不是 UTF-8 编码的文本，请另存为 UTF-8 后重试") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"答案文件 {path} 不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）") from None
    if not isinstance(data, dict):
        raise UserError(f"答案文件 {path} 应为一个 JSON 对象（含 applicant、agent、fields、materials），"
                        "格式见 forms/validate.py 开头")
    return data
