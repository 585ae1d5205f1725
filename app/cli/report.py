"""``report month YYYY-MM --xlsx FILE [--pdf FILE] [--breakdown ...]``: the committee's 台账 and monthly report.

There is no login on the command line: like ``backup``, the command is the desk PC's administrator's tool and
reads the committee's data as an administrator would (it records nothing, so no worker is named). The files
are those the 统计 page exports (app/desk/report_files.py).
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

from app.cli.main import CliError
from app.core.stats import BREAKDOWN_LABELS, Breakdown, Period
from app.core.vocabulary import Role

CLI_ACTOR_NAME = "命令行（本机管理员）"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="统计报表：导出本居委会的台账（Excel）和办件与评价月报（PDF）")
    r_sub = p.add_subparsers(dest="report_command", required=True, metavar="{month}")
    m = r_sub.add_parser("month", help="导出某月的台账和月报",
                         description="导出某月的台账（Excel，含汇总、分项、每日和逐件台账）和月报（PDF）。"
                                     "以本机管理员身份读取本居委会的数据，不记录操作人。")
    m.add_argument("month", metavar="YYYY-MM", help="月份，例如 2026-11")
    m.add_argument("--xlsx", type=Path, default=None, metavar="FILE.xlsx", help="台账 Excel 文件")
    m.add_argument("--pdf", type=Path, default=None, metavar="FILE.pdf", help="月报 PDF 文件")
    m.add_argument("--breakdown", choices=[b.value for b in Breakdown if b != Breakdown.COMMITTEE],
                   default=Breakdown.ITEM.value,
                   help="分项方式：item 按事项（默认）、line 按条线、worker 按受理人、day 按日")
    m.set_defaults(func=_cmd_month)


def _cmd_month(args) -> int:
    period = Period.parse_month(args.month)  # a StatsError (Chinese) before anything is opened or written
    if args.xlsx is None and args.pdf is None:
        raise CliError("请用 --xlsx 文件 或 --pdf 文件 指定要导出的文件")
    for path, suffix in ((args.xlsx, ".xlsx"), (args.pdf, ".pdf")):
        if path is not None and path.suffix.lower() != suffix:
            raise CliError(f"文件名应以 {suffix} 结尾：{path}")
    breakdown = Breakdown(args.breakdown)
    ctx = _open(args)
    try:
        from app.desk.auth import WorkerInfo
        from app.desk.report_files import write_desk_pdf, write_desk_workbook
        from app.desk.stats import StatsService
        actor = WorkerInfo(uuid.UUID(int=0), "cli", CLI_ACTOR_NAME, "", (Role.ADMIN.value,), ())
        service = StatsService(ctx)
        report = service.report(actor, period, breakdown)
        t = report.total
        rate = "—" if t.on_time_rate is None else f"{t.on_time_rate * 100:.1f}%"
        satisfied = "—" if t.satisfaction_rate is None else f"{t.satisfaction_rate * 100:.1f}%"
        print(f"{report.scope} {period.label}：办件 {t.cases} 件（即办 {t.on_spot}，转办 {t.forwarded}），"
              f"按时答复率 {rate}，已评价 {t.rated} 件，满意率 {satisfied}，当前超期 {report.overdue_now} 件")
        if report.requests is not None:  # issue 20: the 诉求 of the month
            from app.core.request_stats import summary_text
            print(summary_text(report.requests))
        if args.xlsx is not None:
            out = write_desk_workbook(service, actor, period, args.xlsx, breakdown=breakdown)
            print(f"台账（{BREAKDOWN_LABELS[breakdown]}）已写入：{out}")
        if args.pdf is not None:
            out = write_desk_pdf(service, actor, period, args.pdf, breakdown=breakdown)
            print(f"月报已写入：{out}")
    finally:
        ctx.close()
    return 0


def _open(args):
    """The desk's data; with --demo a fresh folder is seeded with the demo data first."""
    from app.demo.open import open_desk
    from app.desk.db import DB_FILENAME
    if not (args.data_dir / DB_FILENAME).exists() and not args.demo:
        raise CliError(f"数据文件夹中没有数据库：{args.data_dir}。请先打开程序完成设置，或加 --demo 使用演示数据。")
    ctx, seeded = open_desk(args.data_dir, args.demo)
    if seeded:
        print(f"已在 {args.data_dir} 建立演示数据。")
    elif not ctx.is_initialised():
        ctx.close()
        raise CliError(f"数据文件夹尚未完成首次设置：{args.data_dir}。请先打开程序完成设置，或加 --demo 使用演示数据。")
    return ctx
