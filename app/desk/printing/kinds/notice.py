"""一次性告知单: everything still missing, told at once, so the applicant comes back only once."""

from __future__ import annotations

from reportlab.platypus import Flowable, Spacer

from app.core.vocabulary import DocKind
from app.desk.printing import blocks
from app.desk.printing.data import DocumentData
from app.desk.printing.flowables import Field, Sheet
from app.desk.printing.kinds.base import DocumentKind
from app.desk.printing.wording import fmt_datetime


class NoticeKind(DocumentKind):
    kind = DocKind.NOTICE
    number_prefix = "GZ"

    def case_fields(self, data: DocumentData) -> list[Field]:
        return [("接件时间", fmt_datetime(data.received_at), True)]

    def statement(self, data: DocumentData) -> str:
        return (
            f"您申请的“{data.item_name}”尚缺下列材料或材料不符合要求，现一次性告知如下。"
            "请按要求补齐后，携本告知单到社区服务窗口提交，下表所列已收材料无需重复提交。"
        )

    def lead_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        # "现一次性告知如下": the list of missing materials follows the sentence, before what was received.
        return [blocks.note(self.statement(data), sheet), Spacer(1, sheet.g.size * 0.5),
                blocks.missing_table(data, sheet)]

    def statement_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        return []  # already printed above the lists
