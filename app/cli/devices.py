"""``devices list`` and ``devices test [NAME]``: the desk's ID card reader, document camera, scanner and code
scanner from the command line (issue 15), as the 设备 page in 设置 shows them.

Only devices.json and devices-state.json in the data folder are read (no database), so both work while the desk
app runs. ``--simulate`` uses the simulated devices. The camera's drivers need Qt: ``main.py`` registers them for
``devices`` commands (app/ never imports Qt).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.desk.devices.base import KIND_LABELS, DeviceKind


def register(sub) -> None:
    parser = sub.add_parser("devices", help="本机设备：身份证阅读器、高拍仪、扫描仪、扫码枪（列出、测试）")
    parser.set_defaults(func=_usage(parser))
    cmds = parser.add_subparsers(dest="devices_command", metavar="COMMAND")
    p = cmds.add_parser("list", help="列出每类设备已选的驱动、可用的驱动和上次错误")
    p.add_argument("--simulate", action="store_true", help="使用模拟设备")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=cmd_list)
    p = cmds.add_parser("test", help="测试一台设备（读卡、拍照、扫码）；不写名称时测试全部已配置的设备")
    p.add_argument("name", nargs="?", default=None, metavar="NAME", help="驱动名称（见 devices list），例如 idcard-sim")
    p.add_argument("--simulate", action="store_true", help="使用模拟设备（不写名称时测试全部模拟设备）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=cmd_test)


def _usage(parser: argparse.ArgumentParser):
    def handler(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2
    return handler


def _registry(args: argparse.Namespace):
    from app.desk.devices.registry import DeviceRegistry
    return DeviceRegistry(args.data_dir, simulate=args.simulate)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=1))


def cmd_list(args: argparse.Namespace) -> int:
    registry = _registry(args)
    kinds = []
    for kind in DeviceKind:
        configured = registry.configured(kind)
        kinds.append({"kind": kind.value, "label": KIND_LABELS[kind],
                      "configured": registry.configured_name(kind),
                      "configured_present": configured is not None,
                      "drivers": [i.as_json() for i in registry.infos(kind)]})
    if args.json:
        _print_json({"simulate": registry.simulate, "config_problem": registry.config_problem,
                     "kinds": kinds, "skipped_modules": registry.skipped_modules})
        return 0
    if registry.config_problem:
        print(f"提示：{registry.config_problem}")
    if registry.simulate:
        print("模拟模式：每类设备使用模拟驱动")
    for k in kinds:
        chosen = k["configured"]
        if not chosen:
            head = "未配置"
        else:
            label = next((d["label"] for d in k["drivers"] if d["name"] == chosen), "")
            head = f"{label}（{chosen}）" if label else f"{chosen}（本机没有这个驱动）"
        print(f"{k['label']}：{head}")
        if not k["drivers"]:
            print("  没有可用的驱动")
        for d in k["drivers"]:
            state = "可用" if d["available"] else f"不可用：{d['reason']}"
            sim = "〔模拟〕" if d["simulated"] and "模拟" not in d["label"] else ""
            mark = "* " if d["name"] == chosen else "  "
            print(f"  {mark}{d['name']}  {d['label']}{sim}  {state}")
            if d["last_error"]:
                print(f"      上次错误：{d['last_error']}")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from app.desk.devices.registry import needs_program
    registry = _registry(args)
    if args.name:
        names = [args.name]
    elif registry.simulate:
        names = [d.name for d in registry.all_drivers() if registry.is_simulated(d.name)]
    else:
        names = [n for kind in DeviceKind if (n := registry.configured_name(kind))]  # a missing one fails
    results = []
    for name in names:
        driver = registry.driver(name)
        result = registry.test(name)
        later = needs_program(result)  # the keyboard-wedge scanner: testable only inside the app, not a failure
        results.append({"name": name, "kind": driver.kind.value if driver else "",
                        "label": str(driver.label) if driver else "", "ok": result.ok, "needs_ui": later,
                        "status": "ok" if result.ok else "needs_ui" if later else "failed",
                        "message": result.message, "detail": result.detail})
    failed = sum(r["status"] == "failed" for r in results)
    pending = sum(r["status"] == "needs_ui" for r in results)
    all_ok = bool(results) and not failed
    if args.json:
        _print_json({"simulate": registry.simulate, "ok": all_ok, "results": results,
                     "config_problem": registry.config_problem})
        return 0 if all_ok else 1
    if registry.config_problem:
        print(f"提示：{registry.config_problem}")
    if not results:
        print("没有可测试的设备：本机还没有配置设备。用 devices list 查看可用驱动，在 设置 → 设备 中选择，"
              "或用 --simulate 测试模拟设备")
        return 1
    for r in results:
        kind = KIND_LABELS[DeviceKind(r["kind"])] if r["kind"] else "设备"
        who = f"{kind} {r['label']}（{r['name']}）" if r["label"] else r["name"]
        outcome = {"ok": "成功", "needs_ui": "需在程序中测试", "failed": "失败"}[r["status"]]
        print(f"{who}：{outcome} — {r['message']}")
    parts = ([f"{failed} 台失败"] if failed else []) + ([f"{pending} 台需在程序中测试"] if pending else [])
    if pending and not failed and pending < len(results):
        parts.append("其余成功")
    print(f"共测试 {len(results)} 台设备，{'，'.join(parts) or '全部成功'}")
    return 0 if all_ok else 1
