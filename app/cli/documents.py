"""``print`` and ``demo-documents``: documents without the GUI."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from sqlalchemy import select

from app.cli.main import CliError
from app.core.errors import is_disk_full
from app.core.vocabulary import DOC_TITLES
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.printing.layout import LAYOUTS

PASSWORD_ENV = "ONEDESK_WORKER_PASSWORD"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("print", help="把某案件的文书写成 PDF 文件（不打开界面）",
                       description="把案件的文书写成 PDF 文件。记录为“已导出为文件”，不进入待打印列表；"
                                   "文书已打印到纸上的，再次导出算作补打，须写明原因。")
    p.add_argument("case_number", metavar="CASE_NUMBER")
    p.add_argument("--doc", choices=sorted(DOC_TITLES), default=None, help="文书类型，默认按案件状态")
    p.add_argument("--layout", choices=LAYOUTS, default=None, help="纸张版式，默认用本机设置")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")
    p.add_argument("--reason", default="", help="补打原因（该文书已打印到纸上时必填）")
    p.add_argument("--worker", default=None, metavar="LOGIN",
                   help="记录为哪位工作人员导出（登录名），默认不记工作人员。须验证该工作人员的密码："
                        f"--password-file 或环境变量 {PASSWORD_ENV}（脚本用），否则在终端上询问")
    p.add_argument("--password-file", type=Path, default=None, metavar="FILE",
                   help="与 --worker 同用：从文件第一行读取该工作人员的密码（文件应仅本人可读）")
    p.set_defaults(func=_cmd_print)
    d = sub.add_parser("demo-documents", help="为演示案件生成每种文书、每种版式的 PDF")
    d.add_argument("--out", type=Path, required=True, metavar="DIR")
    d.set_defaults(func=_cmd_demo_documents)


def _open(args) -> AppContext:
    """The desk's data; with --demo a fresh folder is seeded with the demo data first."""
    if not (args.data_dir / DB_FILENAME).exists() and not args.demo:
        raise CliError(f"数据文件夹中没有数据库：{args.data_dir}。如需演示数据，请加 --demo"
                       f"（例如 python main.py --demo --data-dir {args.data_dir} print 案件编号 --out 文件.pdf），"
                       "或先用 python main.py --demo 打开程序。")
    from app.demo.open import open_desk
    ctx, seeded = open_desk(args.data_dir, args.demo)
    if seeded:
        print(f"已在 {args.data_dir} 建立演示数据。")
    elif not ctx.is_initialised():
        ctx.close()
        raise CliError(f"数据文件夹尚未完成首次设置：{args.data_dir}。请先打开程序完成设置，或加 --demo 使用演示数据。")
    return ctx


def _case_list(ctx: AppContext, limit: int = 12) -> str:
    from app.core.machine import STATE_LABELS
    from app.desk.printing.service import PrintService
    from models import Case
    with ctx.sessions() as s:
        rows = s.execute(select(Case.id, Case.case_number, Case.state)
                         .order_by(Case.created_at.desc()).limit(limit)).all()
    printing, lines = PrintService(ctx), []
    for case_id, number, state in rows:  # the documents the print service would produce (state, item, acceptance)
        docs = "、".join(DOC_TITLES[d] for d in printing.allowed(case_id)) or "无可打印文书"
        lines.append(f"  {number}  {STATE_LABELS.get(state, state)}  {docs}")
    return "\n".join(lines)


def _cmd_print(args) -> int:
    from app.desk.cases import CaseService
    from app.desk.printing.service import PrintError, PrintService
    ctx = _open(args)
    try:
        case = CaseService(ctx).find_by_number(args.case_number)
        if case is None:
            listing = _case_list(ctx)
            hint = f"。最近的案件：\n{listing}" if listing else "。本机还没有案件。"
            raise CliError(f"找不到案件：{args.case_number}{hint}")
        actor = _worker_with_password(ctx, args) if args.worker else None
        out = args.out.resolve()
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            raise CliError(f"无法写入文件：{out}") from None
        try:
            doc = PrintService(ctx).produce(actor, case.summary.id, args.doc, args.layout, args.reason or "",
                                            exported_to=str(out))
        except PrintError as e:
            raise CliError(str(e)) from None
        try:
            out.write_bytes(doc.pdf)
        except OSError as e:
            if not is_disk_full(e):
                raise CliError(f"无法写入文件：{out}（文书已存档于 {doc.path}）") from None
            if out.is_file():
                out.unlink()  # not half a PDF under the name asked for
            raise CliError(f"磁盘空间不足，文件未写入：{out}（文书已存档于 {doc.path}）。请清理磁盘后重试。") from None
        mark = f"，补打第 {doc.reprint_count} 次" if doc.reprint_count else ""
        print(f"{DOC_TITLES[doc.doc_type]}（{doc.layout}{mark}）已写入：{out}（记录为导出文件，不进入待打印）")
    finally:
        ctx.close()
    return 0


def worker_password(args) -> str:
    """The password of ``--worker``: ``--password-file``, else the environment, else asked on the terminal."""
    if args.password_file is not None:
        try:
            return (args.password_file.read_text(encoding="utf-8").splitlines() or [""])[0]
        except (OSError, UnicodeDecodeError):
            raise CliError(f"无法读取密码文件：{args.password_file}") from None
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        raise CliError(f"以工作人员 {args.worker} 的名义记录须验证其密码：请用 --password-file 文件 "
                       f"或环境变量 {PASSWORD_ENV}，或在终端上运行以输入密码")
    return getpass.getpass(f"工作人员 {args.worker} 的密码：")


def _worker_with_password(ctx: AppContext, args):
    """The worker ``--worker`` names, only with their password (checked like a login: wrong ones count towards
    the lock). A wrong password or an unknown login gets the login's one message; nothing is recorded."""
    from app.desk.auth import AuthError, AuthService
    password = worker_password(args)
    try:
        return AuthService(ctx).login(args.worker, password)
    except AuthError as e:
        raise CliError(str(e)) from None


def _cmd_demo_documents(args) -> int:
    from app.demo.samples import sample_document
    from app.desk.printing.render import render
    args.out.mkdir(parents=True, exist_ok=True)
    count = 0
    for doc_type in DOC_TITLES:
        data = sample_document(doc_type)
        for layout in LAYOUTS:
            (args.out / f"{doc_type}-{layout}.pdf").write_bytes(render(data, layout))
            count += 1
    print(f"已生成 {count} 份文书：{args.out}")
    return 0
