"""Case aggregate: the case row and its append-only event history."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, SyncedMixin, new_id, utcnow


class Case(SyncedMixin, Base):
    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_state_due", "state", "due_at"),
        Index("ix_case_assignee_state", "assignee_id", "state"),
        Index("ix_case_applicant", "applicant_id"),
        Index("ix_case_created_by", "created_by_id", "created_at"),
        # Per committee (issue 14, finding 2): numbers start with the committee's code, and one committee's
        # desk must not be able to block another's numbers.
        UniqueConstraint("committee_id", "case_number", name="uq_case_committee_number"),
        # Statistics (issue 16): a committee's cases of a period, by acceptance time; open follow-ups by due.
        Index("ix_case_committee_accepted", "committee_id", "accepted_at"),
        Index("ix_case_followup_due", "followup_callback_due", "followup_fix_due"),
        # 诉求 (issue 20): a committee's open requests by their feedback clock.
        Index("ix_case_kind_state", "kind", "state", "feedback_due_at"),
    )

    committee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("committee.id"))
    case_number: Mapped[str] = mapped_column(String(48))
    # Added later if the district issues one; never replaces the provisional case_number.
    official_number: Mapped[str | None] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(16))
    item_name: Mapped[str] = mapped_column(String(100))
    catalog_version: Mapped[str] = mapped_column(String(32))
    department: Mapped[str] = mapped_column(String(32), default="")
    mode: Mapped[str] = mapped_column(String(8), default="转办")
    state: Mapped[str] = mapped_column(String(24))
    applicant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resident.id"))
    agent: Mapped[dict | None] = mapped_column(JSON)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    materials: Mapped[dict] = mapped_column(JSON, default=dict)
    draft_step: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("worker.id"))
    origin_device_code: Mapped[str] = mapped_column(String(16), default="")
    accepted_at: Mapped[dt.datetime | None]
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    assignee_queue: Mapped[str | None] = mapped_column(String(32))
    forwarded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    forwarded_at: Mapped[dt.datetime | None]
    forward_note: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[dt.datetime | None]
    deadline_provisional: Mapped[bool] = mapped_column(default=False)
    acknowledged_at: Mapped[dt.datetime | None]
    replied_at: Mapped[dt.datetime | None]
    reply_result: Mapped[str | None] = mapped_column(String(16))
    reply_text: Mapped[str] = mapped_column(Text, default="")
    result_text: Mapped[str] = mapped_column(Text, default="")
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    redirect_to: Mapped[str] = mapped_column(String(200), default="")
    inform_method: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[dt.datetime | None]
    verification_code: Mapped[str] = mapped_column(String(16), default="")
    # What the rule check said at intake and the department must see (issue 13): a list of
    # {"level": "warn"|"info", "message": str}; ``warning_note`` is the worker's note when the resident
    # insisted on applying (居民坚持申请) despite a warning.
    rule_warnings: Mapped[list] = mapped_column(JSON, default=list)
    warning_note: Mapped[str] = mapped_column(Text, default="")
    # Flexible acceptance (rules.md §8): "" (ordinary), "容缺受理" or "告知承诺制"; the make-up deadline and
    # the materials still owed (容缺), and the pledge text the applicant signed.
    acceptance_mode: Mapped[str] = mapped_column(String(16), default="")
    makeup_due: Mapped[dt.date | None]
    makeup_materials: Mapped[list] = mapped_column(JSON, default=list)
    pledge_text: Mapped[str] = mapped_column(Text, default="")
    # 好差评 (issue 16, rules.md §3): the resident's rating (a RatingLevel value; None reads "未评价"), when,
    # where (RatingChannel), the reasons ticked for a low rating and the resident's own note. Given once.
    rating: Mapped[str | None] = mapped_column(String(20))
    rated_at: Mapped[dt.datetime | None]
    rating_channel: Mapped[str] = mapped_column(String(8), default="")
    rating_reasons: Mapped[list] = mapped_column(JSON, default=list)
    rating_note: Mapped[str] = mapped_column(Text, default="")
    # A bad rating's follow-up (assigned to the committee's 站长): call back by ``followup_callback_due``, fix by
    # ``followup_fix_due`` (working days from the district's settings); the call record, the fix, who handled
    # it, and the resident's second rating after the fix.
    followup_callback_due: Mapped[dt.datetime | None]
    followup_fix_due: Mapped[dt.datetime | None]
    followup_called_at: Mapped[dt.datetime | None]
    followup_call_note: Mapped[str] = mapped_column(Text, default="")
    followup_fixed_at: Mapped[dt.datetime | None]
    followup_fix_note: Mapped[str] = mapped_column(Text, default="")
    followup_by_id: Mapped[uuid.UUID | None]
    second_rating: Mapped[str | None] = mapped_column(String(20))
    second_rated_at: Mapped[dt.datetime | None]
    # 催办: the last reminder sent to the assignee of the forwarded case, and how many were sent.
    reminded_at: Mapped[dt.datetime | None]
    remind_count: Mapped[int] = mapped_column(default=0)
    # 诉求 (issue 20): a resident's request is a case of kind "request" (CaseKind); service items are "service".
    # Its category code (forms/items/catalog.yaml request_categories), 块区, urgency ("normal" | "urgent"), the
    # 24-hour clock (feedback due = intake + 24 h; first feedback; how the resident was told: "phone" |
    # "in_person" | "sms"), the handler's promised time and an external handler {"name", "phone"} it was
    # passed to (the 块长, the assignee, stays responsible). Free text lives in ``data``.
    kind: Mapped[str] = mapped_column(String(8), default="service")
    request_category: Mapped[str | None] = mapped_column(String(16))
    block_code: Mapped[str] = mapped_column(String(16), default="")
    urgency: Mapped[str | None] = mapped_column(String(8))
    feedback_due_at: Mapped[dt.datetime | None]
    first_feedback_at: Mapped[dt.datetime | None]
    feedback_channel: Mapped[str | None] = mapped_column(String(16))
    promised_at: Mapped[dt.datetime | None]
    external_handler: Mapped[dict | None] = mapped_column(JSON)

    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.seq", cascade="all, delete-orphan"
    )


class CaseEvent(Base):
    """One entry of a case's append-only history (who, when, what, from, to, note)."""

    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_event_case_seq"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case.id"))
    seq: Mapped[int]
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")


class CaseCounter(Base):
    """Per device and day sequence behind readable case numbers (no cross-desk coordination)."""

    __tablename__ = "case_counter"

    device_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)


class CaseReplySeen(Base):
    """Desk-only: the department's reply to a case the desk has read (issue 19). A reply is new on this desk
    until a worker who informs the resident opens the case; a later reply (after a new forwarding) is new
    again. Never synced: each desk learns of a reply on its own."""

    __tablename__ = "case_reply_seen"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case.id"), primary_key=True)
    replied_at: Mapped[dt.datetime]  # the reply read: the case's replied_at when it was opened
    seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
