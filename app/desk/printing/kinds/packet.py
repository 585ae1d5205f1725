"""申请材料清单 (issue 15): what travels with a forwarded case to the department that decides — the answers by
wizard step, the warnings the case was accepted over, and each material as received (original/copy, count,
missing, 容缺 owed with its due date, replaced by the 告知承诺) with the number of files attached to it.

Built from the same packet the case window shows (:mod:`app.desk.packet`), masked as all paper is (rules.md §5).
"""

from __future__ import annotations

import datetime as dt

from reportlab.platypus import Flowable, KeepTogether, Spacer

from app.core.rule_notes import HEADING
from app.core.vocabulary import DocKind
from app.desk.printing import blocks
from app.desk.printing.data import DocumentData
from app.desk.printing.flowables import Field, Sheet, section_table
from app.desk.printing.kinds.application import group_blocks
from app.desk.printing.kinds.base import DocumentKind
from app.desk.printing.wording import deadline_text, fmt_datetime, scrub

_STATUS_WIDTH = "已收（容缺后补交）"


class PacketKind(DocumentKind):
    kind = DocKind.PACKET
    number_prefix = "QD"
    signer = "经办人（签字）："
    lists_materials = False  # its own materials table: every material with its status, not only those received

    def document_date(self, data: DocumentData) -> dt.datetime:
        return data.printed_at

    def case_fields(self, data: DocumentData) -> list[Field]:
        return [("受理时间", fmt_datetime(data.received_at), False), blocks.department_field(data),
                ("办理期限", deadline_text(data), True)]

    def lead_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        g = sheet.g
        out: list[Flowable] = []
        if data.warning_lines:
            text = HEADING + "：" + "；".join(line.strip() for line in data.warning_lines)
            out += [Spacer(1, g.size * 0.3), blocks.note(scrub(text, data), sheet)]
        if not data.sections:
            out.append(blocks.pairs_table("申请内容", "填写内容", (), data, sheet))
        for section in data.sections:
            out.append(Spacer(1, g.size * 0.3))
            if section.rows or not section.tables:
                out.append(blocks.pairs_table(section.title, "填写内容", section.rows, data, sheet))
            else:  # a step of repeat groups only (the household): its title over its tables
                out.append(sheet.fit(section.title, g.size, align="left", bold=True))
            for table in section.tables:
                out += [Spacer(1, g.size * 0.3), *group_blocks(table, data, sheet)]
        out.append(Spacer(1, g.size * 0.3))
        out.append(checklist_table(data, sheet))
        return out

    def statement(self, data: DocumentData) -> str:
        files = sum(line.attachments for line in data.checklist)
        attached = f"案件附材料扫描件 {files} 份，可在系统中查看" if files else "案件暂无材料扫描件"
        return f"说明：本清单列出申请人填写的内容和受理时收取的材料，随案件转交承办部门审核；{attached}。"

    def statement_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        return [blocks.note(self.statement(data), sheet)]


def checklist_table(data: DocumentData, sheet: Sheet) -> Flowable:
    """序号 | 材料（共n项） | 形式 | 份数 | 收取情况 | 附件: one row per material the case needs or holds (on the
    roll: 序号 | 材料 with its form and count | 收取情况 with the number of files)."""
    g, s = sheet.g, sheet.g.size
    seq_w = small_w = s * 2.4 + 2 * g.pad
    heading = f"材料清单（共{len(data.checklist)}项）"

    def status(line) -> str:
        return line.status + (f"\n{line.note}" if line.note and line.note not in ("必交", "视情况") else "")
    if g.columns == 4:
        form_w = sheet.width("原件及复印件") + 2 * g.pad + 1
        status_w = max(g.content_width * 0.26, sheet.width(_STATUS_WIDTH) * 0.62 + 2 * g.pad + 1)
        name_w = g.content_width - seq_w - form_w - 2 * small_w - status_w
        body = [[str(i), scrub(line.name, data), line.form, str(line.count) if line.count else "—", status(line),
                 str(line.attachments)] for i, line in enumerate(data.checklist, 1)]
        header = ["序号", heading, "形式", "份数", "收取情况", "附件"]
        widths, prose = [seq_w, name_w, form_w, small_w, status_w, small_w], {1, 4}
    else:
        status_w = (g.content_width - seq_w) * 0.4
        body = [[str(i), scrub(line.name, data) + (f"\n{line.form}，{line.count} 份" if line.count else ""),
                 status(line) + f"\n附件 {line.attachments} 份"] for i, line in enumerate(data.checklist, 1)]
        header = ["序号", heading, "收取情况"]
        widths, prose = [seq_w, g.content_width - seq_w - status_w, status_w], {1, 2}
    if not body:
        body = [["—", "（无）", *("—" for _ in header[2:])]]
    table = section_table(header, body, widths, prose, sheet)
    return KeepTogether([table]) if len(body) <= 8 and not g.is_roll else table
