"""诉求受理单 (issue 20): the resident's slip for a 诉求 — what was registered, who answers for it, when the first
feedback is due (24 calendar hours after intake) and how to check on it.

A small slip like the 受理回执, in the same layouts and the bundled CJK font, with its own frame: a request has no
ID number, no materials and no 代办人. The contact's phone and the place are masked here (a room number is the
resident's; a lamp post is not), whatever the caller handed over.
"""

from __future__ import annotations

import re

from reportlab.platypus import Flowable, Spacer

from app.core.requests import FEEDBACK_DUE_LABEL
from app.core.vocabulary import DocKind
from app.desk.printing import blocks
from app.desk.printing.data import DocumentData, RequestFacts
from app.desk.printing.flowables import Field, Sheet, field_table
from app.desk.printing.kinds.base import DocumentKind
from app.desk.printing.wording import fmt_datetime, scrub
from forms.identity import mask_phone

ANONYMOUS = "匿名"
# A room (室/户) or a unit's door number is personal: "3号楼1单元302室" → "3号楼1单元***室".
_ROOM = re.compile(r"[0-9０-９A-Za-z\-－]+(?=\s*(?:室|户))")
NO_FACTS = RequestFacts(category="", urgency="", place="", block="", leader="", description="", feedback_due=None)


def mask_place(place: str) -> str:
    """The place as the slip prints it: a room or door number masked, a public place as it is."""
    return _ROOM.sub("***", (place or "").strip())


def _contact(data: DocumentData, r: RequestFacts) -> tuple[str, str]:
    if r.anonymous:
        return ANONYMOUS, mask_phone(r.contact_phone) or "—"
    name = r.contact_name.strip() or data.applicant_name.strip()
    return name or "—", mask_phone(r.contact_phone or data.applicant_phone) or "—"


def feedback_text(r: RequestFacts) -> str:
    """承诺反馈时间: intake + 24 hours (calendar hours, weekends and holidays included)."""
    if r.feedback_due is None:
        return "受理后 24 小时内"
    return f"{fmt_datetime(r.feedback_due)}前（24小时内）"


def how_to_check(data: DocumentData) -> str:
    """查询方式: the progress page (the QR code, and its address for typing) when the desk knows it, and the
    committee's phone — a request runs on calendar hours, so no office hours are promised here."""
    ask = f"致电 {data.committee_phone.strip()}" if data.committee_phone.strip() else "到社区服务站"
    if data.verify_url:
        return f"扫描二维码查看处理进度，也可{ask}查询（请告知办件编号）。查询网址：{data.verify_url}"
    return f"{ask}查询处理进度（请告知办件编号）。"


class RequestSlipKind(DocumentKind):
    kind = DocKind.REQUEST_SLIP
    number_prefix = "SQD"  # 诉求单 (SQ is the 申请表's)
    signer = "反映人（签字）："
    lists_materials = False

    def facts(self, data: DocumentData) -> RequestFacts:
        return data.request or NO_FACTS

    def case_fields(self, data: DocumentData) -> list[Field]:
        r = self.facts(data)
        name, phone = _contact(data, r)
        rows: list[Field] = [
            ("办件编号", data.case_number, True),
            ("诉求类别", r.category or "—", False),
            ("紧急程度", r.urgency or "—", False),
            ("反映人", name, False),
            ("联系电话", phone, False),
            ("诉求地点", scrub(mask_place(r.place), data) or "—", True),
            ("所属块区", r.block or "—", False),
            ("责任块长", r.leader or "—", False),
            ("受理时间", fmt_datetime(data.received_at), True),
            (FEEDBACK_DUE_LABEL, feedback_text(r), True),
            ("诉求内容", scrub(r.description, data) or "—", True),
        ]
        if r.handler_name.strip():  # a company's name and phone: public, not masked
            phone = f"（电话：{r.handler_phone.strip()}）" if r.handler_phone.strip() else ""
            promised = f"\n承诺{fmt_datetime(r.promised_at)}前处理" if r.promised_at else ""
            rows.append(("转交处理", f"{r.handler_name.strip()}{phone}{promised}", True))
        return rows

    def outcome_fields(self, data: DocumentData) -> list[Field]:
        rows: list[Field] = [("受理人", data.worker_name, False), ("社区电话", data.committee_phone or "—", False),
                             ("查询方式", how_to_check(data), True)]
        if data.committee_address.strip():
            rows.append(("社区地址", data.committee_address, True))
        return rows

    def statement(self, data: DocumentData) -> str:
        r = self.facts(data)
        who = f"责任块长{r.leader}" if r.leader else "社区工作人员"
        return (f"说明：本社区已受理您反映的诉求。{who}将在承诺反馈时间前向您反馈处理情况（已解决，或由谁处理、"
                "预计何时完成），办结后告知处理结果。请妥善保管本受理单。")

    def story(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        story = blocks.header(data, self.title, sheet)
        story.append(field_table(self.case_fields(data), sheet))
        story.append(Spacer(1, sheet.g.size * 0.5))
        story.append(field_table(self.outcome_fields(data), sheet))
        story += self.statement_blocks(data, sheet)
        story += blocks.footer_block(data, self.signer, self.document_date(data), sheet)
        if sheet.g.is_roll:  # paged layouts print this in the page footer
            story += [Spacer(1, sheet.g.size * 0.8), sheet.para(blocks.printed_text(data), sheet.st.small)]
        return story
