"""申请表: the item's application form prefilled from the answers, for the applicant to check and sign.

The answers print as their field kinds write them with identifiers masked, as on all paper (rules.md §5): the
applicant checks their own name and answers; the full numbers are on the ID card and the copies handed in.
"""

from __future__ import annotations

import datetime as dt

from reportlab.platypus import Flowable, Spacer

from app.core.vocabulary import DocKind
from app.desk.printing import blocks
from app.desk.printing.data import AnswerTable, DocumentData
from app.desk.printing.flowables import Field, Sheet, section_table
from app.desk.printing.kinds.base import DocumentKind
from app.desk.printing.wording import fmt_datetime, scrub


class ApplicationKind(DocumentKind):
    kind = DocKind.APPLICATION
    number_prefix = "SQ"
    signer = "申请人（签字或按手印）："

    def document_date(self, data: DocumentData) -> dt.datetime:
        return data.printed_at

    def case_fields(self, data: DocumentData) -> list[Field]:
        return [("申请时间", fmt_datetime(data.received_at), True)]

    def lead_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        out: list[Flowable] = [blocks.pairs_table("申请内容", "填写内容", data.answers, data, sheet)]
        for table in data.tables:
            out += group_blocks(table, data, sheet)
        return out + [Spacer(1, sheet.g.size * 0.4)]

    def closing_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        if not data.missing:
            return []
        return [Spacer(1, sheet.g.size * 0.5), blocks.missing_table(data, sheet)]

    def statement(self, data: DocumentData) -> str:
        return ("申请人承诺：以上填写内容及所提交的材料真实、完整、有效，如有隐瞒或虚假，愿承担相应责任。"
                "请逐项核对，无误后签字；有误的请告知工作人员更正后重新打印。")


def group_blocks(table: AnswerTable, data: DocumentData, sheet: Sheet) -> list[Flowable]:
    """A repeat group (the household): one column per sub-field where they fit the page, else one line per entry."""
    g = sheet.g
    seq_w = g.size * 2.4 + 2 * g.pad
    heading = f"{table.title}（共{len(table.rows)}条）" if table.rows else table.title
    cells = [[scrub(c, data) for c in row] for row in table.rows]
    natural = [max([sheet.width(h) for h in (table.columns[i],)] + [sheet.width(r[i]) for r in cells]) + 2 * g.pad + 2
               for i in range(len(table.columns))]
    room = g.content_width - seq_w
    if g.columns == 4 and table.columns and sum(natural) <= room:
        widths = [w * room / sum(natural) for w in natural]
        body = [[str(i), *row] for i, row in enumerate(cells, 1)] or [["—", *("—" for _ in table.columns)]]
        grid = section_table(["序号", *table.columns], body, [seq_w, *widths], set(range(1, len(widths) + 1)), sheet)
        return [blocks.note(heading, sheet), Spacer(1, g.size * 0.3), grid]
    # One line per answer, so an ID number never breaks across lines of a narrow cell.
    lines = ["\n".join(f"{c}：{v}" for c, v in zip(table.columns, row, strict=True) if v) for row in cells]
    body = [[str(i), line] for i, line in enumerate(lines, 1)] or [["—", "（无）"]]
    return [section_table(["序号", heading], body, [seq_w, room], {1}, sheet)]
