"""受理回执: the case was accepted (and usually forwarded); what was handed in and when to expect an answer."""

from __future__ import annotations

from app.core.vocabulary import RATING_TITLE, DocKind
from app.desk.printing import blocks
from app.desk.printing.data import DocumentData
from app.desk.printing.flowables import Field
from app.desk.printing.kinds.base import DocumentKind
from app.desk.printing.wording import deadline_text, fmt_datetime, scrub

# The receipt prints no tick boxes: the rating is given at the desk's rating window or on the progress page.
RECEIPT_RATING = "欢迎扫描本回执二维码，查询进度并对本次服务作出评价（自愿参加，评价人信息依法予以保护）。"


class ReceiptKind(DocumentKind):
    kind = DocKind.RECEIPT
    number_prefix = "SL"

    def delivery_wording(self, inform_method: str | None) -> str:
        return "办理结果由社区电话或短信通知，请凭本回执到社区服务站领取。"

    def case_fields(self, data: DocumentData) -> list[Field]:
        return [
            ("受理时间", fmt_datetime(data.received_at), False),
            blocks.department_field(data),
            ("承诺答复时间", deadline_text(data), True),
        ]

    def outcome_fields(self, data: DocumentData) -> list[Field]:
        rows: list[Field] = []
        if data.progress_query:
            rows.append(("进度查询", scrub(data.progress_query, data), True))
        if data.verify_url:  # the progress page takes the resident's rating (issue 16, app/server/verify.py)
            rows.append((RATING_TITLE, RECEIPT_RATING, True))
        rows.append(("结果送达", scrub(data.delivery, data) or "—", True))
        if data.intake_remark:  # what the department is to check: the desk accepted, it did not decide
            rows.append(("备注", scrub(data.intake_remark, data), True))
        return rows

    def statement(self, data: DocumentData) -> str:
        item = data.item_name
        if data.mode == "即办":
            return f"说明：您申请的“{item}”已由本社区受理并当场办理。请妥善保管本回执。"
        # A residents' committee is no administrative body: the receipt proves the hand-over, not a decision.
        return (
            f"说明：本社区已收到您申请“{item}”的材料，并转交{data.department or '承办部门'}办理。"
            "社区居民委员会不是行政机关，本回执仅证明材料已收取和转交，办理结果以承办部门的决定为准。请妥善保管本回执。"
        )
