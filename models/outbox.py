"""Outbox of sync commands (written in the same transaction as the change) and the audit log."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, new_id, utcnow

OUTBOX_PENDING = "pending"
OUTBOX_APPLIED = "applied"
OUTBOX_SET_ASIDE = "set_aside"
OUTBOX_HELD = "held"  # the server waits for a command this one was made after (restored from a backup)


class OutboxEntry(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_mid", "status", "mid"),)

    # Gap-free per-device counter; the server detects gaps and duplicates by it.
    mid: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    mutation_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=new_id)
    name: Mapped[str] = mapped_column(String(48))
    args: Mapped[dict] = mapped_column(JSON, default=dict)
    acting_worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    # The desk's own clock when the action was taken, and its offset (server minus desk, seconds) as the desk knew
    # it then; NULL when it had never been measured. The server dates the command client_time + clock_offset_s.
    client_time: Mapped[dt.datetime] = mapped_column(default=utcnow)
    clock_offset_s: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(16), default=OUTBOX_PENDING)
    result: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[dt.datetime | None]


class AuditEntry(Base):
    """Who did what to personal data (e.g. every view of a full ID number). Holds no personal values."""

    __tablename__ = "audit_log"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    action: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(80), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
