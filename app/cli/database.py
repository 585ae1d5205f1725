"""Subcommands for the desk database: ``db upgrade``, ``db check``, ``backup``, ``restore``.

``db upgrade`` and ``restore`` need the data folder to themselves (app/desk/folder_lock.py); ``db check`` and
``backup`` only read, so they also work while the app runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.desk import backup as backup_mod
from app.desk.db import (
    DB_FILENAME,
    check_writable,
    current_revision,
    encrypt_plain,
    integrity_check,
    make_engine,
    secure_folder,
    upgrade,
)
from app.desk.folder_lock import hold


def register(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="数据库维护")
    db_sub = db.add_subparsers(dest="db_command", metavar="{upgrade,check}", required=True)
    db_sub.add_parser("upgrade", help="把数据库结构升级到最新版本").set_defaults(func=_cmd_upgrade)
    db_sub.add_parser("check", help="完整性检查，输出 OK 或发现的问题").set_defaults(func=_cmd_check)
    b = sub.add_parser("backup", help="在线备份（程序运行时也安全）")
    b.add_argument("--out", type=Path, required=True, metavar="FILE")
    b.set_defaults(func=_cmd_backup)
    r = sub.add_parser("restore", help="从备份恢复；当前数据库会先另存")
    r.add_argument("file", type=Path, metavar="FILE")
    r.set_defaults(func=_cmd_restore)


def _cmd_upgrade(args) -> int:
    check_writable(args.data_dir)
    with hold(args.data_dir, sole=True):
        secure_folder(args.data_dir)
        encrypt_plain(args.data_dir / DB_FILENAME)  # a database from before encryption, once
        engine = make_engine(args.data_dir / DB_FILENAME)
        try:
            before = current_revision(engine)
            upgrade(engine)
            print(f"数据库已升级：{before or '（空）'} → {current_revision(engine)}")
        finally:
            engine.dispose()
    return 0


def _cmd_check(args) -> int:
    path = args.data_dir / DB_FILENAME
    if not path.exists():
        print(f"数据库不存在：{path}")
        return 1
    engine = make_engine(path)
    problems = integrity_check(engine)
    engine.dispose()
    if problems:
        for p in problems:
            print(p)
        return 1
    print("OK")
    return 0


def _cmd_backup(args) -> int:
    out = backup_mod.backup(args.data_dir, args.out)
    print(f"备份完成：{out}")
    return 0


def _cmd_restore(args) -> int:
    kept = backup_mod.restore(args.data_dir, args.file)
    if kept:
        print(f"原数据库已另存为：{kept}")
    print("恢复完成。")
    return 0
