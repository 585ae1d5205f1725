"""``python main.py bench NAME``: benchmark scripts that print figures (medians and ratios, never assertions)."""

from __future__ import annotations

import argparse
import importlib

# name → (module, function, help). Each function takes the parsed args and prints its figures.
BENCHES: dict[str, tuple[str, str, str]] = {
    "catalog": ("app.bench.catalog", "bench_catalog_cmd", "事项目录加载时间与每次按键搜索耗时"),
    "worklist": ("app.bench.worklist", "bench_worklist", "15 万件案件时打开各待办页签与翻页的耗时"),
    "documents": ("app.bench.documents", "bench_documents_cmd", "生成回执的耗时（含首次加载字体）"),
    "sync": ("app.bench.sync", "bench_sync", "同步推送/拉取吞吐量、500 台模拟前台并发同步与居委会查询的耗时"),
    "encryption": ("app.bench.encryption", "bench_encryption", "数据库加密的代价（加密与明文同一次运行）"),
    "attachments": ("app.bench.attachments", "bench_attachments", "拍摄到附加的耗时与附件上传/下载吞吐量（本机回环）"),
    "report": ("app.bench.report", "bench_report", "15 万件案件时统计一个月、一年与写出一年台账工作簿的耗时"),
    "district": ("app.bench.district", "bench_district", "全区 500 万件案件时拉取、快照与全区月报的耗时（PostgreSQL）"),
    "startup": ("app.bench.startup", "bench_startup", "启动到登录窗口的耗时与峰值内存，对比同一程序的空白 Qt 对话框"),
}


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="性能基准测试（打印测得的数字）")
    bench_sub = bench.add_subparsers(dest="bench_name", metavar="NAME", required=True)
    for name, (_mod, _fn, help_text) in BENCHES.items():
        p = bench_sub.add_parser(name, help=help_text)
        p.add_argument("--quick", action="store_true", help="小规模快速运行（用于冒烟测试）")
        if name == "attachments":
            p.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")
        if name == "report":
            p.add_argument("--json", metavar="FILE", help="把测得的数字写入 JSON 文件")
            p.add_argument("--cases", type=int, metavar="N", help="生成的案件数（默认 15 万，--quick 为 1.5 万）")
            p.add_argument("--cache-dir", metavar="DIR", help="缓存生成数据库的文件夹（默认系统临时文件夹）")
        if name == "sync":
            _sync_options(p)
        if name == "district":
            _district_options(p)
        if name == "startup":
            p.add_argument("--json", metavar="FILE", help="把测得的数字写入 JSON 文件")
            p.add_argument("--runs", type=int, metavar="N", help="每项启动次数（默认 9，--quick 为 3）")
            p.add_argument("--program", nargs="+", metavar="CMD",
                           help="要测量的程序（默认本程序），例如已安装的 /opt/apps/cn.onedesk.desk/files/onedesk")
            p.add_argument("--floor-program", nargs="+", metavar="CMD", help="测量空白 Qt 对话框所用的程序（默认同上）")
        p.set_defaults(func=_runner(name))


def _sync_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", help="把测得的数字写入 JSON 文件")
    p.add_argument("--district-cases", type=int, metavar="N",
                   help="居委会查询计时所用的全区案件数（默认 500 万，--quick 为 2 万；0 表示跳过）")
    p.add_argument("--cases", type=int, metavar="N", help="吞吐量部分上传的案件数（默认 1 万，--quick 为 500）")
    p.add_argument("--desks", type=int, metavar="N",
                   help="模拟前台台数，每居委会 2 台（默认 500，--quick 为 20；0 表示跳过）")
    p.add_argument("--steady-seconds", type=float, metavar="S",
                   help="平稳同步部分的时长（默认 60 秒，--quick 为 6 秒；短于实际同步间隔时按比例压缩间隔）")
    p.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both",
                   help="测哪种数据库（默认两种都测）")
    p.add_argument("--only", choices=("push",), help="只测上传（push）吞吐量，跳过拉取、快照、模拟前台和居委会查询")
    p.add_argument("--runs", type=int, metavar="N",
                   help="与 --only push 同用：测 N 次（每次新的服务器数据库），取中位数")


def _district_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", help="把测得的数字写入 JSON 文件")
    p.add_argument("--cases", type=int, metavar="N", help="生成的案件数（默认 500 万，--quick 为 10 万）")
    p.add_argument("--committees", type=int, metavar="N", help="居委会数（默认 300，--quick 为 30）")
    p.add_argument("--pg-url", metavar="URL",
                   help="PostgreSQL 地址（默认取环境变量 ONEDESK_BENCH_PG_URL），在同一服务器上建临时数据库")
    p.add_argument("--keep", action="store_true", help="测完保留生成的数据库（默认删除）")
    p.add_argument("--reuse", metavar="URL",
                   help="不生成，沿用 --keep 保留的数据库再测一次（先升级到服务器最新结构）")


def _runner(name: str):
    def run(args) -> int:
        module_name, fn_name, _ = BENCHES[name]
        fn = getattr(importlib.import_module(module_name), fn_name)
        return int(fn(args) or 0)
    return run
