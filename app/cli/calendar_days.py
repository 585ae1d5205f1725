"""Command-line access to the working-day calendar: ``calendar import|show`` and ``deadline``."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
from datetime import date, datetime
from pathlib import Path

from app.core.paths import default_data_dir
from app.core.workdays import (
    CHINA_TZ,
    DEFAULT_CLOSE_OF_BUSINESS,
    CalendarError,
    CalendarStore,
    CalendarYear,
    compute_deadline,
)

_WEEKDAYS = "一二三四五六日"
_EXIT_BAD_INPUT = 2


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``calendar`` and ``deadline`` commands to ``sub`` (an argparse subparsers object)."""
    cal = sub.add_parser("calendar", help="节假日安排：导入或查看")
    cal.set_defaults(func=lambda args: _print_help(cal))
    cal_sub = cal.add_subparsers(title="子命令", metavar="{import,show}")
    imp = cal_sub.add_parser("import", help="导入一年的节假日安排文件（JSON）")
    imp.add_argument("file", metavar="FILE", type=Path)
    imp.set_defaults(func=_cmd_import)
    show = cal_sub.add_parser("show", help="查看某一年的节假日安排")
    show.add_argument("year", metavar="YEAR", type=_year_arg)
    show.set_defaults(func=_cmd_show)
    dl = sub.add_parser("deadline", help="计算转办后的办理期限")
    dl.add_argument("when", metavar="WHEN", help="转办时间，ISO 8601，例如 2026-02-13T10:00（不带时区按北京时间）")
    dl.add_argument("--days", type=_days_arg, default=2, metavar="N", help="工作日天数，默认 2")
    dl.add_argument("--close-of-business", type=_time_arg, default=None, metavar="HH:MM",
                    help="下班时间；默认取本机居委会的设置（数据文件夹中有本机数据库时），否则 17:30")
    dl.set_defaults(func=_cmd_deadline)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return _EXIT_BAD_INPUT


def _year_arg(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 9998:
        raise argparse.ArgumentTypeError(f"年份应为四位数字，例如 2026，而不是 {text!r}")
    return int(text)


def _time_arg(text: str) -> dt.time:
    try:
        hh, mm = text.split(":")
        return dt.time(int(hh), int(mm))
    except ValueError:
        raise argparse.ArgumentTypeError(f"下班时间应为 HH:MM，例如 17:30，而不是 {text!r}") from None


def _committee_close_of_business(args: argparse.Namespace) -> dt.time | None:
    """The committee's own close of business when the data folder holds an initialised desk; never creates one."""
    from app.desk.db import DB_FILENAME  # the desk's storage only when it is there to read
    data_dir = getattr(args, "data_dir", None)
    if data_dir is None or not (Path(data_dir) / DB_FILENAME).is_file():
        return None
    from app.desk.context import AppContext
    from app.desk.deadlines import DeadlineService
    ctx = AppContext.open_for_reading(Path(data_dir))  # also while the app runs: it only reads
    try:
        return DeadlineService(ctx).close_of_business() if ctx.is_initialised() else None
    finally:
        ctx.close()


def _days_arg(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"天数应为正整数，而不是 {text!r}")
    return int(text)


def _store(args: argparse.Namespace, *, need_data_dir: bool = False) -> CalendarStore:
    data_dir = getattr(args, "data_dir", None)
    if data_dir is None and need_data_dir:
        data_dir = default_data_dir()
    return CalendarStore(Path(data_dir) if data_dir is not None else None)


def _fail(message: str) -> int:
    print(f"错误：{message}", file=sys.stderr)
    return _EXIT_BAD_INPUT


def _cmd_import(args: argparse.Namespace) -> int:
    from app.desk.folder_lock import hold  # a writing command: not while another program uses the folder
    store = _store(args, need_data_dir=True)
    try:
        with hold(store.data_dir) if store.data_dir is not None else contextlib.nullcontext():
            doc = store.import_file(args.file)
    except CalendarError as exc:
        return _fail(str(exc))
    print(f"已导入 {doc.year} 年节假日安排（版本 {doc.version}）：{doc.source}")
    return 0


def _fmt_day(day: date) -> str:
    return f"{day.isoformat()} 周{_WEEKDAYS[day.weekday()]}"


def _show_lines(doc: CalendarYear) -> list[str]:
    notice = doc.notice_date.isoformat() if doc.notice_date else "未知"
    lines = [f"{doc.year} 年节假日安排  版本 {doc.version}  发布日期 {notice}", f"来源：{doc.source or '未注明'}"]
    lines.append(f"放假（{len(doc.holidays)} 天）：")
    lines += [f"  {_fmt_day(d)}" for d in sorted(doc.holidays)]
    lines.append(f"调休上班（{len(doc.makeup_workdays)} 天）：")
    lines += [f"  {_fmt_day(d)}" for d in sorted(doc.makeup_workdays)]
    return lines


def _cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    for problem in store.problems:
        print(f"警告：已跳过无法读取的文件：{problem}", file=sys.stderr)
    doc = store.calendar.document(args.year)
    if doc is None:
        # Not an error: the year simply has no data yet, and the product then counts Monday–Friday.
        print(f"{args.year} 年节假日安排尚未导入，期限按周一至周五推算，仅供参考。")
        return 0
    print("\n".join(_show_lines(doc)))
    return 0


def _parse_when(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise CalendarError(f"无法识别的时间 {text!r}，请使用 ISO 8601 格式，例如 2026-02-13T10:00") from None
    # A time without an offset is what the front desk sees on the wall clock: Beijing time.
    return when if when.tzinfo is not None else when.replace(tzinfo=CHINA_TZ)


def _cmd_deadline(args: argparse.Namespace) -> int:
    try:
        cob = args.close_of_business or _committee_close_of_business(args) or DEFAULT_CLOSE_OF_BUSINESS
        deadline = compute_deadline(_parse_when(args.when), _store(args).calendar, days=args.days,
                                    close_of_business=cob)
    except CalendarError as exc:
        return _fail(str(exc))
    print(deadline.due.isoformat())
    for day in deadline.counted_days:
        print(day.isoformat())
    if deadline.provisional:
        print("provisional")
        for reason in deadline.reasons:
            print(reason)
    return 0
