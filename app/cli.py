"""The one command line: ``python main.py [--demo] [--data-dir DIR] [SUBCOMMAND ...]``.

Each feature module contributes its subcommands through a ``register(sub)`` function; handlers
return an exit code. Known errors become a Chinese message on stderr and exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from app.paths import default_data_dir

log = logging.getLogger(__name__)
EXIT_BAD_INPUT = 2

# Feature modules that add subcommands; each has register(sub).
COMMAND_MODULES = (
    "app.cli_db",
    "app.calendar_cli",
    "app.catalog_cli",
    "app.cli_bench",
    "app.cli_print",
    "app.server.cli",
    "app.sync_cli",
)


class CliError(Exception):
    """A user-facing error (Chinese message) raised by a command handler."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="OneDesk 全科前台。不带子命令时打开桌面程序。",
    )
    parser.add_argument("--demo", action="store_true", help="演示模式：自动建立演示居委会、账号、居民和案件")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="数据文件夹（默认：环境变量 ONEDESK_DATA_DIR，或系统的用户数据文件夹）")
    sub = parser.add_subparsers(title="子命令", dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as e:  # a feature module missing must not take the whole CLI down
            log.error("command module %s unavailable: %s", name, e)
            continue
        module.register(sub)
    return parser


def resolve_data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir is None:
        args.data_dir = default_data_dir()
    return args.data_dir


def main(argv: list[str] | None = None, gui: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Run a subcommand, or hand over to ``gui`` (main.py passes the Qt launcher; app/ never imports ui/)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_data_dir(args)
    if getattr(args, "func", None) is None:
        if gui is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        return gui(args)
    return run_handler(args)


def run_handler(args: argparse.Namespace) -> int:
    from app.backup import BackupError
    from app.db import StorageError
    try:
        return int(args.func(args) or 0)
    except (CliError, BackupError, StorageError) as e:
        print(f"错误：{e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
