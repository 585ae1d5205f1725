"""What one printed document shows, as plain data (no reportlab).

ID and phone are FULL here: :func:`app.desk.printing.render.render` masks them itself (rules.md §5), so
callers cannot forget to. The QR code carries only the case number and a verification code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.core.vocabulary import DocKind

QR_PREFIX = "ONEDESK"


@dataclass(frozen=True)
class MaterialLine:
    name: str
    form: str  # "原件" / "复印件" / "原件及复印件"
    count: int


@dataclass(frozen=True)
class MissingMaterial:
    name: str
    standard: str


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


def qr_payload(data: DocumentData) -> str:
    """What the QR code holds: case number and verification code only, never personal data."""
    return f"{QR_PREFIX}|{data.case_number.strip()}|{data.verification_code.strip()}"


def reprint_label(count: int) -> str:
    return f"补打（第{count}次）" if count > 0 else ""
