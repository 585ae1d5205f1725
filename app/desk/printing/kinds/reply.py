"""答复告知: the department's answer to a forwarded case, and how the applicant was told of it."""

from __future__ import annotations

from app.core.vocabulary import DocKind, InformMethod
from app.desk.printing.kinds.decision import DecisionKind

INFORMED: dict[str, str] = {
    InformMethod.PHONE: "已电话告知本人", InformMethod.SMS: "已短信告知本人", InformMethod.VISIT: "已上门告知本人",
    InformMethod.IN_PERSON: "已在窗口当面告知本人",
}


class ReplyKind(DecisionKind):
    kind = DocKind.REPLY
    number_prefix = "DF"
    verb = "答复"
    conclusions = ("同意", "不同意")

    def delivery_wording(self, inform_method: str | None) -> str:
        told = INFORMED.get(inform_method or "", "答复结果由社区电话或短信通知本人")
        return f"{told}；纸质答复可携本人居民身份证于工作日到社区服务站领取。"

    def approval(self, reply_approved: bool | None) -> bool | None:
        return reply_approved
