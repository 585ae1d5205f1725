"""main.py subcommands: --help, db upgrade/check, backup while open, restore refusing foreign files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.main import main
from app.core.vocabulary import DOC_TITLES
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME, connect
from app.desk.printing.layout import LAYOUTS
from app.desk.setup import FirstRunInput, initialise_desk

ROOT = Path(__file__).resolve().parent.parent


def test_help_lists_subcommands():
    argv = [sys.executable, str(ROOT / "main.py"), "--help"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    for cmd in ("db", "backup", "restore", "calendar", "deadline", "catalog"):
        assert cmd in out


def test_db_upgrade_and_check(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "db", "upgrade"]) == 0
    assert main(["--data-dir", str(tmp_path), "db", "check"]) == 0
    assert capsys.readouterr().out.strip().endswith("OK")


def test_db_check_reports_corruption(tmp_path, capsys):
    main(["--data-dir", str(tmp_path), "db", "upgrade"])
    with connect(tmp_path / DB_FILENAME) as con:
        con.execute("PRAGMA foreign_keys=OFF")
        con.execute("INSERT INTO device (id, committee_id, code, name, is_local, paper_layout, created_at, updated_at,"
                    " version) VALUES (x'00', x'01', 'D9', '', 0, 'a5', '2026-01-01', '2026-01-01', 1)")
    assert main(["--data-dir", str(tmp_path), "db", "check"]) == 1
    assert "foreign key" in capsys.readouterr().out


def _desk(data_dir: Path) -> AppContext:
    ctx = AppContext.open(data_dir)
    initialise_desk(ctx, FirstRunInput(committee_name="测试居委会", committee_code="T001",
                                       admin_login="admin", admin_name="管理员", admin_password="secret123"))
    return ctx


def test_backup_while_open_and_restore(tmp_path, capsys):
    d = tmp_path / "data"
    ctx = _desk(d)  # the app keeps its engine open while the backup runs
    out = tmp_path / "backup.sqlite3"
    assert main(["--data-dir", str(d), "backup", "--out", str(out)]) == 0
    with ctx.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE committee SET name='改过的名字'")
    ctx.close()
    assert main(["--data-dir", str(d), "restore", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "另存" in printed
    kept = list(d.glob("onedesk-before-restore-*.sqlite3"))
    assert len(kept) == 1
    with connect(d / DB_FILENAME) as con:
        assert con.execute("SELECT name FROM committee").fetchone()[0] == "测试居委会"
    with connect(kept[0]) as con:
        assert con.execute("SELECT name FROM committee").fetchone()[0] == "改过的名字"


@pytest.mark.parametrize("kind", ["text", "foreign_sqlite", "truncated"])
def test_restore_refuses_non_onedesk_files_and_changes_nothing(tmp_path, capsys, kind):
    d = tmp_path / "data"
    _desk(d).close()
    before = (d / DB_FILENAME).read_bytes()
    bad = tmp_path / "bad.db"
    if kind == "text":
        bad.write_text("这不是数据库")
    elif kind == "foreign_sqlite":
        with sqlite3.connect(bad) as con:
            con.execute("CREATE TABLE t (x)")
    else:
        bad.write_bytes((d / DB_FILENAME).read_bytes()[:300])
    assert main(["--data-dir", str(d), "restore", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "错误" in err and "Traceback" not in err
    assert (d / DB_FILENAME).read_bytes() == before
    assert not list(d.glob("onedesk-before-restore-*"))


def test_unwritable_data_dir_gets_chinese_message(tmp_path, capsys):
    import os
    if os.geteuid() == 0:
        target = Path("/proc/onedesk-cannot-write")  # root ignores permissions; /proc refuses new files
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o500)
    assert main(["--data-dir", str(target), "db", "upgrade"]) == 2
    assert "无法写入" in capsys.readouterr().err


def test_output_cut_short_by_a_closed_pipe_is_not_a_traceback(tmp_path):
    """`python main.py … | head -1`: the reader leaves early; no BrokenPipeError on screen."""
    script = ("import argparse, sys; from app.cli import main as cli\n"
              "def long_listing(args):\n"
              "    for i in range(200000): print('MZ-01', i)\n"
              f"args = argparse.Namespace(func=long_listing, data_dir={str(tmp_path)!r}, command='x')\n"
              "sys.exit(cli.run_handler(args))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # like `head -1` exiting
    _, err = proc.communicate(timeout=60)
    assert first.startswith(b"MZ-01") and proc.returncode == 0, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def test_a_bug_in_a_command_is_a_chinese_message_and_a_logged_traceback(tmp_path, capsys):
    def broken(args):
        raise RuntimeError("boom 13800138000")
    parser_args = ["--data-dir", str(tmp_path), "db", "check"]
    from app.cli import main as cli
    args = cli.build_parser(parser_args).parse_args(parser_args)
    args.func = broken
    cli.resolve_data_dir(args)
    assert cli.run_handler(args) == 1
    err = capsys.readouterr().err
    assert "程序内部出错（RuntimeError）" in err and "Traceback" not in err and "boom" not in err
    import logging
    for h in list(logging.getLogger().handlers):
        if getattr(h, "_onedesk", False):
            h.flush()
            logging.getLogger().removeHandler(h)
            h.close()
    text = (tmp_path / "logs" / "onedesk.log").read_text(encoding="utf-8")
    assert "RuntimeError: boom [phone]" in text


def test_data_dir_may_follow_the_subcommand(tmp_path, capsys):
    """``main.py demo-documents --out X --data-dir D`` once stopped at "unrecognized arguments"."""
    after = tmp_path / "after"
    assert main(["db", "upgrade", "--data-dir", str(after)]) == 0
    assert (after / DB_FILENAME).exists()
    assert main(["demo-documents", "--out", str(tmp_path / "docs"), "--data-dir", str(tmp_path / "d")]) == 0
    assert len(list((tmp_path / "docs").glob("*.pdf"))) == len(DOC_TITLES) * len(LAYOUTS)  # every kind, every layout
    # before the subcommand still works; after it wins when both are given
    before, winner = tmp_path / "before", tmp_path / "winner"
    assert main(["--data-dir", str(before), "db", "upgrade"]) == 0
    assert main(["--data-dir", str(before), "db", "upgrade", "--data-dir", str(winner)]) == 0
    assert (before / DB_FILENAME).exists() and (winner / DB_FILENAME).exists()
    from app.cli import main as cli
    for argv in (["print", "N", "--out", "f.pdf", "--data-dir", "D"],
                 ["--data-dir", "D", "print", "N", "--out", "f.pdf"]):
        args = cli.build_parser(argv).parse_args(argv)
        assert str(args.data_dir) == "D" and args.command == "print"
    args = cli.build_parser(["print", "N", "--out", "f", "--demo"]).parse_args(["print", "N", "--out", "f", "--demo"])
    assert args.demo is True
