"""Print jobs: every print and reprint of a case document, and what still waits to be printed."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, new_id, utcnow

PRINT_PENDING = "pending"  # generated and archived, not yet on paper (printer missing or failed)
PRINT_OK = "printed"
PRINT_FAILED = "failed"


class PrintJob(Base):
    __tablename__ = "print_job"
    __table_args__ = (Index("ix_print_job_case", "case_id"), Index("ix_print_job_status", "status"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case.id"))
    doc_type: Mapped[str] = mapped_column(String(16))
    layout: Mapped[str] = mapped_column(String(16))
    doc_number: Mapped[str] = mapped_column(String(64))
    reprint_count: Mapped[int] = mapped_column(default=0)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    printer: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=PRINT_PENDING)
    reason: Mapped[str] = mapped_column(Text, default="")
    file: Mapped[str] = mapped_column(String(300), default="")
