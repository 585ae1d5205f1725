"""办结单: a case resolved on the spot at the window."""

from __future__ import annotations

from app.core.vocabulary import DocKind
from app.desk.printing.kinds.decision import DecisionKind


class CompletionKind(DecisionKind):
    kind = DocKind.COMPLETION
    number_prefix = "BJ"
    verb = "办理"
    conclusions = ("予以办理", "不予办理")

    def delivery_wording(self, inform_method: str | None) -> str:
        return "已当场办结，本办结单当面交申请人留存；如需证明材料，可携本人居民身份证到社区服务站领取。"

    def result_text(self, *, resolution: str, reply: str) -> str:
        return resolution  # the worker's own 办理结果; no department replied

    def approval(self, reply_approved: bool | None) -> bool | None:
        return True  # a 办结单 always reads 予以办理
