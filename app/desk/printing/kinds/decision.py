"""What 办结单 and 答复告知 share: a decision with its date and reasons, collection, and the service evaluation."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from reportlab.platypus import Flowable, Spacer

from app.desk.printing import blocks
from app.desk.printing.data import DocumentData
from app.desk.printing.flowables import ChoiceRow, Field, Sheet
from app.desk.printing.kinds.base import DocumentKind
from app.desk.printing.wording import fmt_date, fmt_datetime, scrub

EVALUATION_LEVELS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
EVALUATION_INTRO = "服务评价：欢迎您对本次服务作出评价（自愿参加，评价人信息依法予以保护）。"
EVALUATION_INTRO_QR = "服务评价：欢迎您勾选或扫码查询进度并评价（自愿参加，评价人信息依法予以保护）。"


class DecisionKind(DocumentKind):
    """A document that hands over a decision; the applicant (or whoever collects it) signs for it."""

    verb: ClassVar[str]  # "办理" / "答复": 办理结论, 答复日期, ...
    conclusions: ClassVar[tuple[str, str]]  # the conclusion's wording when approved / when not
    signer = "领取人（签字）："

    def document_date(self, data: DocumentData) -> dt.datetime:
        return data.decided_at or data.printed_at

    def case_fields(self, data: DocumentData) -> list[Field]:
        return [("受理时间", fmt_datetime(data.received_at), False), blocks.department_field(data)]

    def outcome_fields(self, data: DocumentData) -> list[Field]:
        """The decision, its date and reasons, how to collect, and the appeal route if adverse."""
        rows: list[Field] = []
        if data.result_approved is not None:
            rows.append((f"{self.verb}结论", self.conclusions[0 if data.result_approved else 1], False))
        rows += [
            (f"{self.verb}日期", fmt_date(data.decided_at or data.printed_at), False),
            ("结果及理由", scrub(data.result, data), True),
            ("领取方式", scrub(data.delivery, data) or "—", True),
        ]
        if data.result_approved is False and data.appeal_route:
            rows.append(("救济途径", scrub(data.appeal_route, data), True))
        return rows

    def closing_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        # GB/T 39734-2020: evaluation is voluntary and never steered, so the options carry no hint.
        # With the district's address the code opens its progress page, which takes the rating (issue 16).
        intro = EVALUATION_INTRO_QR if data.verify_url else EVALUATION_INTRO
        return [blocks.note(intro, sheet), Spacer(1, sheet.g.size * 0.3),
                ChoiceRow(sheet.fonts, EVALUATION_LEVELS, sheet.g.size)]
