"""``print`` and ``demo-documents``: documents without the GUI."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import select

from app.cli import CliError
from app.context import AppContext
from app.documents import DOC_TITLES, LAYOUTS, render, sample_document


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("print", help="生成某案件的文书 PDF（不打开界面）")
    p.add_argument("case_number", metavar="CASE_NUMBER")
    p.add_argument("--doc", choices=sorted(DOC_TITLES), default=None, help="文书类型，默认按案件状态")
    p.add_argument("--layout", choices=LAYOUTS, default="a5")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.pdf")
    p.add_argument("--reason", default="", help="补打原因（已打印过时必填）")
    p.set_defaults(func=_cmd_print)
    d = sub.add_parser("demo-documents", help="为演示案件生成每种文书、每种版式的 PDF")
    d.add_argument("--out", type=Path, required=True, metavar="DIR")
    d.set_defaults(func=_cmd_demo_documents)


def _cmd_print(args) -> int:
    from app.auth import worker_info
    from app.cases import CaseService
    from app.printing import PrintError, PrintService
    from models import Worker
    if not (args.data_dir / "onedesk.sqlite3").exists():
        raise CliError(f"数据文件夹中没有数据库：{args.data_dir}")
    ctx = AppContext.open(args.data_dir)
    try:
        case = CaseService(ctx).find_by_number(args.case_number)
        if case is None:
            raise CliError(f"找不到案件：{args.case_number}")
        with ctx.sessions() as s:
            workers = s.scalars(select(Worker).order_by(Worker.login)).all()
            actor = worker_info(next((w for w in workers if w.has_role("admin")), workers[0]))
        try:
            doc = PrintService(ctx).produce(actor, case.summary.id, args.doc, args.layout, args.reason or "")
        except PrintError as e:
            raise CliError(str(e)) from None
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(doc.pdf)
        print(f"{DOC_TITLES[doc.doc_type]}（{doc.layout}）已写入：{args.out}")
    finally:
        ctx.close()
    return 0


def _cmd_demo_documents(args) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    count = 0
    for doc_type in DOC_TITLES:
        data = sample_document(doc_type)
        for layout in LAYOUTS:
            (args.out / f"{doc_type}-{layout}.pdf").write_bytes(render(data, layout))
            count += 1
    print(f"已生成 {count} 份文书：{args.out}")
    return 0
