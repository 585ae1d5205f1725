"""不予受理告知单: why the committee cannot take the application, and where to apply instead."""

from __future__ import annotations

from app.core.vocabulary import DocKind
from app.desk.printing.data import DocumentData
from app.desk.printing.flowables import Field
from app.desk.printing.kinds.base import DocumentKind
from app.desk.printing.wording import fmt_datetime, scrub


class RefusalKind(DocumentKind):
    kind = DocKind.REFUSAL
    number_prefix = "BY"

    def case_fields(self, data: DocumentData) -> list[Field]:
        rows: list[Field] = [
            ("申请时间", fmt_datetime(data.received_at), True),
            ("不予受理理由", scrub(data.refusal_reason, data), True),
            ("建议办理渠道", scrub(data.redirect_to, data) or "—", True),
        ]
        if data.appeal_route:
            rows.append(("异议途径", scrub(data.appeal_route, data), True))
        return rows

    def statement(self, data: DocumentData) -> str:
        return f"经审查，您申请的“{data.item_name}”本社区不予受理，理由及建议办理渠道见上表。"
