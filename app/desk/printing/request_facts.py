"""What the 诉求受理单 prints of a request case (issue 20): its category, place, 块区 and 块长, the 24-hour time.

Read from the case's columns and ``Case.data`` (description, place, contact, anonymous) in the print service's
session; the kind (``kinds/request_slip.py``) masks the place and the phone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.core.blocks import block_by_code, committee_blocks
from app.core.requests import category_label
from app.core.vocabulary import URGENCY_LABELS
from app.desk.printing.data import RequestFacts
from models import Case, Committee, Worker


def request_facts(s: Session, case: Case, committee: Committee, catalog: Any | None) -> RequestFacts:
    data = dict(case.data or {})
    block = block_by_code(committee_blocks(committee.settings), case.block_code)
    leader = s.get(Worker, case.assignee_id) if case.assignee_id else None
    handler = case.external_handler if isinstance(case.external_handler, dict) else {}
    return RequestFacts(
        category=category_label(case.request_category, catalog), urgency=URGENCY_LABELS.get(case.urgency or "", ""),
        place=str(data.get("place") or ""), block=block.name if block else (case.block_code or ""),
        leader=leader.display_name if leader else "", description=str(data.get("description") or ""),
        feedback_due=case.feedback_due_at, contact_name=str(data.get("contact_name") or ""),
        contact_phone=str(data.get("contact_phone") or ""), anonymous=bool(data.get("anonymous")),
        handler_name=str(handler.get("name") or ""), handler_phone=str(handler.get("phone") or ""),
        promised_at=case.promised_at)
