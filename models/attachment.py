"""Attachments (issue 15): files a case or a resident holds — pages from the document camera, a scanner or a
file on disk, and PDFs.

``Attachment`` is the synced metadata (which case and material it proves, who added it, the file's sha256);
the bytes are stored once per sha256 (content-addressed) in the data folder and travel separately, after the
case's commands, in resumable chunks. ``AttachmentBlob`` is the desk's own record of a file's bytes: whether
they are here, whether the district server has all of them, and whether this desk wants them downloaded.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, SyncedMixin, utcnow

SHA256_HEX = 64


class Attachment(SyncedMixin, Base):
    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_case", "case_id"), Index("ix_attachment_resident", "resident_id"),
                      Index("ix_attachment_sha256", "sha256"))

    committee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("committee.id"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case.id"))
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resident.id"))
    # The material of the case's item it proves (``Material.name``); "" for 其他材料.
    material: Mapped[str] = mapped_column(String(100), default="")
    sha256: Mapped[str] = mapped_column(String(SHA256_HEX))
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(64))  # image/jpeg | image/png | application/pdf
    filename: Mapped[str] = mapped_column(String(200), default="")
    pages: Mapped[int] = mapped_column(default=1)
    source: Mapped[str] = mapped_column(String(16), default="")  # camera | scanner | file | idcard
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Taken off the case by mistake-correction (the file itself stays until nothing refers to it).
    removed_at: Mapped[dt.datetime | None]
    removed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))


class AttachmentBlob(Base):
    """Desk only: one stored file's bytes and their transfer state (never synced)."""

    __tablename__ = "attachment_blob"
    __table_args__ = (Index("ix_attachment_blob_pending", "uploaded", "present"),)

    sha256: Mapped[str] = mapped_column(String(SHA256_HEX), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(64))
    present: Mapped[bool] = mapped_column(default=False)  # the bytes are in this desk's store
    uploaded: Mapped[bool] = mapped_column(default=False)  # the district server holds all of them, hash checked
    uploaded_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # the server's last acknowledged offset
    wanted: Mapped[bool] = mapped_column(default=False)  # to be downloaded (an assigned case, or asked for)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
