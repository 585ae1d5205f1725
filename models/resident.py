"""Residents served at the desk. ID number and phone are personal data: never log them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, SyncedMixin


class Resident(SyncedMixin, Base):
    __tablename__ = "resident"
    __table_args__ = (
        UniqueConstraint("committee_id", "id_number", name="uq_resident_committee_id_number"),
        Index("ix_resident_name", "name"),
        Index("ix_resident_phone", "phone"),
    )

    committee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("committee.id"))
    name: Mapped[str] = mapped_column(String(64))
    name_pinyin: Mapped[str] = mapped_column(String(200), default="")
    id_number: Mapped[str] = mapped_column(String(18))
    sex: Mapped[str] = mapped_column(String(2), default="")
    birth_date: Mapped[dt.date | None]
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    household_no: Mapped[str] = mapped_column(String(40), default="")
    local_hukou: Mapped[bool] = mapped_column(default=True)
    # Residence model (rules.md §6): 户籍地址 in four parts, 户口性质, and a 居住证; the current address is
    # ``address``. 人户分离 is derived (app/core/residence.py), never stored.
    hukou_province: Mapped[str] = mapped_column(String(40), default="")
    hukou_city: Mapped[str] = mapped_column(String(40), default="")
    hukou_county: Mapped[str] = mapped_column(String(40), default="")
    hukou_street: Mapped[str] = mapped_column(String(60), default="")
    hukou_nature: Mapped[str] = mapped_column(String(16), default="")
    residence_permit_no: Mapped[str] = mapped_column(String(40), default="")
    residence_permit_expiry: Mapped[dt.date | None]
    notes: Mapped[str] = mapped_column(String(500), default="")
