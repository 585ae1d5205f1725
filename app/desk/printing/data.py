"""What one printed document shows, as plain data (no reportlab).

ID and phone are FULL here: :func:`app.desk.printing.render.render` masks them itself (rules.md §5), so
callers cannot forget to. The QR code carries only the case number and a verification code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.core.verify import desk_payload
from app.core.vocabulary import DocKind


@dataclass(frozen=True)
class MaterialLine:
    name: str
    form: str  # "原件" / "复印件" / "原件及复印件"
    count: int


@dataclass(frozen=True)
class MissingMaterial:
    name: str
    standard: str


@dataclass(frozen=True)
class AnswerTable:
    """A repeat group's answers (the household) as a table: one column per sub-field, one row per entry."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class AnswerSection:
    """One wizard step's answers (the 申请材料清单 and the case packet): (label, text) rows and repeat groups."""

    title: str
    rows: tuple[tuple[str, str], ...]
    tables: tuple[AnswerTable, ...] = ()


@dataclass(frozen=True)
class ChecklistLine:
    """One material of the 申请材料清单 as received: its status (已收 / 缺 / 容缺待补 …), a note (the 容缺 due
    date) and how many files of it the case holds."""

    name: str
    form: str
    count: int
    status: str
    note: str = ""
    attachments: int = 0


@dataclass(frozen=True, kw_only=True)
class RequestFacts:
    """What the 诉求受理单 prints of a 诉求 (issue 20). The contact's phone and the place are FULL here: the
    kind (``kinds/request_slip.py``) masks them, as ``render`` masks the applicant's."""

    category: str  # the category's label (物业维修 …)
    urgency: str  # 一般 / 紧急
    place: str  # the address or 块区 as registered
    block: str  # the 块区's name ("" when the place is in none)
    leader: str  # the 块长 responsible (the case's assignee)
    description: str
    feedback_due: dt.datetime | None  # intake + 24 h
    contact_name: str = ""
    contact_phone: str = ""
    anonymous: bool = False
    handler_name: str = ""  # the external handler the request was passed to (物业…): a company's, printed as is
    handler_phone: str = ""
    promised_at: dt.datetime | None = None  # when the handler promised to have it done


@dataclass(frozen=True, kw_only=True)
class DocumentData:
    """Everything one printed document shows. ID and phone are FULL here; ``render`` masks them."""

    doc_type: DocKind
    committee_name: str
    committee_phone: str
    committee_address: str
    doc_number: str
    case_number: str
    item_code: str
    item_name: str
    mode: str  # "即办" / "转办"
    department: str
    applicant_name: str
    applicant_id_number: str
    applicant_phone: str
    agent_name: str | None
    received_at: dt.datetime
    materials: list[MaterialLine]
    missing: list[MissingMaterial]
    deadline: dt.datetime | None
    deadline_provisional: bool
    deadline_note: str
    worker_name: str
    worker_phone: str
    result: str
    result_approved: bool | None
    refusal_reason: str
    redirect_to: str
    delivery: str
    progress_query: str
    appeal_route: str
    verification_code: str
    reprint_count: int
    printed_at: dt.datetime
    # Date of the department's decision (completion/reply); printed_at stands in when unknown.
    decided_at: dt.datetime | None = None
    # 受理回执 备注: the warnings the case was accepted over and that the resident insisted (app/core/rule_notes.py).
    intake_remark: str = ""
    # The agent (代办人) beside agent_name: FULL here like the applicant's, masked by the blocks (rules.md §6).
    agent_id_number: str = ""
    agent_phone: str = ""
    agent_relation: str = ""
    # 申请表: every answered field (label, text as its kind writes it, identifiers masked) and the repeat groups.
    answers: tuple[tuple[str, str], ...] = ()
    tables: tuple[AnswerTable, ...] = ()
    # 证明: the certifying text filled from the answers, and the rows it rests on (retained-list entry, records).
    certificate_text: str = ""
    basis: tuple[tuple[str, str], ...] = ()
    # Flexible acceptance (rules.md §8): the materials a 容缺受理 applicant pledged to bring (with their standard)
    # and by when; the 告知承诺制 pledge the applicant signed and the proofs it replaces.
    makeup: tuple[MissingMaterial, ...] = ()
    makeup_due: dt.date | None = None
    pledge_text: str = ""
    pledged: tuple[MissingMaterial, ...] = ()
    # The resident's progress page (app/core/verify.py: case number and verification code only); "" when the
    # desk knows no base address (never enrolled, none configured): the QR code then holds the desk payload.
    verify_url: str = ""
    # 申请材料清单 (issue 15): the answers by wizard step (the computed figures last), the materials as received,
    # and the rule warnings as the case window words them (app/core/rule_notes.py).
    sections: tuple[AnswerSection, ...] = ()
    checklist: tuple[ChecklistLine, ...] = ()
    warning_lines: tuple[str, ...] = ()
    # 诉求受理单 (issue 20): the request's category, place, urgency, 块长 and 24-hour feedback time.
    request: RequestFacts | None = None


def qr_payload(data: DocumentData) -> str:
    """What the QR code holds: case number and verification code only, never personal data — as the progress
    page's link when the desk knows the district's address (``verify_url``), else the desk-only payload."""
    return data.verify_url or desk_payload(data.case_number, data.verification_code)


def reprint_label(count: int) -> str:
    return f"补打（第{count}次）" if count > 0 else ""
