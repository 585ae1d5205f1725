"""The papers of flexible acceptance (rules.md §8): the 容缺受理告知书, made in two copies on one PDF (the
applicant keeps one, the window files the other), and the 告知承诺书 the applicant signs instead of proofs."""

from __future__ import annotations

import datetime as dt

from reportlab.platypus import Flowable, PageBreak, Spacer, Table

from app.core.vocabulary import DocKind
from app.desk.printing import blocks
from app.desk.printing.data import DocumentData, MissingMaterial
from app.desk.printing.flowables import Field, Sheet, section_table
from app.desk.printing.kinds.base import DocumentKind
from app.desk.printing.layout import GREY
from app.desk.printing.wording import fmt_datetime, scrub

COPIES = ("申请人留存联", "窗口留存联")
WORKER_SIGNATURE = "经办人（签字）：________________"


def due_text(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日前（含当日）" if day else "—"


def materials_with_standard(heading: str, lines: tuple[MissingMaterial, ...], data: DocumentData,
                            sheet: Sheet) -> Table:
    """Numbered materials, each with the standard it must meet, under ``heading`` with their count."""
    g = sheet.g
    seq_w = g.size * 2.4 + 2 * g.pad
    rest = g.content_width - seq_w
    name_w = rest * (0.36 if g.columns == 4 else 0.4)
    body = [[str(i), scrub(m.name, data), scrub(m.standard, data)] for i, m in enumerate(lines, 1)]
    if not body:
        body = [["—", "（无）", "—"]]
    return section_table(["序号", f"{heading}（共{len(lines)}项）", "要求及标准"], body,
                         [seq_w, name_w, rest - name_w], {1, 2}, sheet)


class MakeupNoticeKind(DocumentKind):
    """容缺受理告知书: accepted with a minor material missing, on the applicant's written pledge to bring it."""

    kind = DocKind.MAKEUP_NOTICE
    number_prefix = "RQ"
    lists_materials = False  # the receipt lists what was handed in; each copy of this notice fits one A5 page

    def case_fields(self, data: DocumentData) -> list[Field]:
        return [("受理时间", fmt_datetime(data.received_at), False), blocks.department_field(data),
                ("补交期限", due_text(data.makeup_due), True)]

    def pledge(self, data: DocumentData) -> str:
        return (f"申请人承诺：本人已知晓上列容缺材料及其要求，承诺于{due_text(data.makeup_due)}将其补齐并提交到"
                "社区服务窗口；所提交的其他材料真实有效。逾期未补交的，同意承办部门按申请材料不全处理，"
                "由此产生的后果由本人承担。")

    def lead_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        intro = (f"您申请的“{data.item_name}”主要材料齐全，尚缺下列次要材料。根据容缺受理规定，本社区先予受理"
                 f"并转交{data.department or '承办部门'}，请您按要求在期限内补交。")
        return [blocks.note(intro, sheet), Spacer(1, sheet.g.size * 0.5),
                materials_with_standard("容缺材料", data.makeup, data, sheet), Spacer(1, sheet.g.size * 0.5)]

    def closing_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        return [Spacer(1, sheet.g.size * 0.5), blocks.note(self.pledge(data), sheet),
                Spacer(1, sheet.g.size * 0.8), sheet.para(WORKER_SIGNATURE, sheet.st.body)]

    def story(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        """Both copies, each marked; a page each on A4/A5, one after the other with a tear line on the roll."""
        story: list[Flowable] = []
        for i, copy in enumerate(COPIES):
            if i:
                story += ([Spacer(1, sheet.g.size), sheet.fit("- - - - - - 沿此线撕开 - - - - - -", sheet.g.size,
                                                                color=GREY), Spacer(1, sheet.g.size)]
                          if sheet.g.is_roll else [PageBreak()])
            story.append(sheet.fit(f"第{i + 1}联　{copy}", sheet.g.size, align="right"))
            story += super().story(data, sheet)
        return story


class PledgeKind(DocumentKind):
    """告知承诺书 (国办发〔2020〕42号): the item's standard pledge, signed instead of the proofs it replaces."""

    kind = DocKind.PLEDGE
    number_prefix = "CN"
    signer = "承诺人（签字）："
    lists_materials = False  # it speaks of the proofs it replaces, listed in its own table

    def case_fields(self, data: DocumentData) -> list[Field]:
        return [("承诺时间", fmt_datetime(data.received_at), True)]

    def lead_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        replaced = materials_with_standard("以承诺代替的证明材料", data.pledged, data, sheet)
        text = blocks.note(scrub(data.pledge_text, data) or "—", sheet)
        return [Spacer(1, sheet.g.size * 0.3), replaced, Spacer(1, sheet.g.size * 0.6), text]

    def statement(self, data: DocumentData) -> str:
        return (f"说明：申请人自愿采用告知承诺制办理“{data.item_name}”。承办部门将对承诺内容进行核查，"
                "本承诺书由社区留存一份，随案件转交承办部门。")
