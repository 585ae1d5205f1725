"""The one command line: ``python main.py [--demo] [--data-dir DIR] [SUBCOMMAND ...]``.

Each feature module contributes its subcommands through a ``register(sub)`` function; handlers
return an exit code. A :class:`~app.core.errors.UserError` becomes its Chinese message on stderr and exit
code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from app.core.errors import DISK_FULL_MESSAGE, UserError, is_disk_full, redacted_traceback
from app.core.paths import default_data_dir

log = logging.getLogger(__name__)
EXIT_BAD_INPUT = 2

# Feature modules that add subcommands (each has register(sub)) and the command names they add.
# Only the module a command needs is imported, so opening the app does not pay for reportlab,
# pypinyin or the server stack (about a second on a desk PC); --help imports them all.
COMMAND_MODULES = {
    "app.cli.database": ("db", "backup", "restore"),
    "app.cli.calendar_days": ("calendar", "deadline"),
    "app.cli.catalog": ("catalog",),
    "app.cli.bench": ("bench",),
    "app.cli.documents": ("print", "demo-documents"),
    "app.cli.server": ("server",),
    "app.cli.sync": ("enroll", "sync"),
    "app.cli.devices": ("devices",),
    "app.cli.report": ("report",),
}


class CliError(UserError):
    """A user-facing error (Chinese message) raised by a command handler."""


def _modules_for(argv: list[str] | None) -> list[str]:
    if argv is None:
        return list(COMMAND_MODULES)
    words = []
    skip = False
    for a in argv:
        if skip:  # the value of --data-dir is not a command
            skip = False
        elif a == "--data-dir":
            skip = True
        elif not a.startswith("-"):
            words.append(a)
    if not words:
        return list(COMMAND_MODULES) if ("-h" in argv or "--help" in argv) else []
    wanted = [m for m, names in COMMAND_MODULES.items() if words[0] in names]
    return wanted or list(COMMAND_MODULES)  # unknown word: load all so argparse lists the choices


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onedesk" if getattr(sys, "frozen", False) else "main.py",  # the installed program is `onedesk`
        description="OneDesk 全科前台。不带子命令时打开桌面程序。",
    )
    parser.add_argument("--demo", action="store_true", help="演示模式：自动建立演示居委会、账号、居民和案件")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="数据文件夹（默认：环境变量 ONEDESK_DATA_DIR，或系统的用户数据文件夹）")
    sub = parser.add_subparsers(title="子命令", dest="command", metavar="COMMAND")
    for name in _modules_for(argv):
        try:
            module = importlib.import_module(name)
        except ImportError as e:  # a feature module missing must not take the whole CLI down
            log.error("command module %s unavailable: %s", name, e)
            continue
        module.register(sub)
    _add_global_options(parser)
    return parser


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    """Let --data-dir and --demo also follow the subcommand (``print N --out F --data-dir D``).

    Every (sub-)subcommand parser gets the same options with a SUPPRESS default, so a value given before
    the subcommand is kept when none follows it, and one given after it wins.
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
            options = child._option_string_actions
            if "--data-dir" not in options:
                child.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help="数据文件夹（同全局选项）")
            if "--demo" not in options:
                child.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                                   help="演示模式（同全局选项）")
            _add_global_options(child)


def resolve_data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir is None:
        args.data_dir = default_data_dir()
    return args.data_dir


def main(argv: list[str] | None = None, gui: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Run a subcommand, or hand over to ``gui`` (main.py passes the Qt launcher; app/ never imports ui/)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    resolve_data_dir(args)
    if getattr(args, "func", None) is None:
        if gui is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        return gui(args)
    return run_handler(args)


def run_handler(args: argparse.Namespace) -> int:
    """Run the subcommand: a :class:`UserError` becomes its Chinese message and exit code 2, a bug a line
    pointing at the log (which holds the redacted traceback) and exit code 1."""
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler's care
        return code
    except UserError as e:
        print(f"错误：{e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `catalog list | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # a bug: the details go to the log in the data folder, not onto the screen
        if is_disk_full(e):  # not a bug: a full disk met where no service named it first
            print(f"错误：{DISK_FULL_MESSAGE}", file=sys.stderr)
            return EXIT_BAD_INPUT
        where = _log_internal_error(args, e)
        print(f"错误：程序内部出错（{type(e).__name__}），未完成的操作没有保存。详情见日志：{where}", file=sys.stderr)
        return 1


def _log_internal_error(args: argparse.Namespace, exc: BaseException) -> str:
    try:
        from app.core.logs import setup_logging
        path = setup_logging(args.data_dir)
    except Exception:
        return "（无法写入日志）"
    log.error("command %s failed:\n%s", getattr(args, "command", "?"), redacted_traceback(exc))
    return str(path)
