"""Committee (居委会) and the desk devices that belong to it."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, SyncedMixin


class Committee(SyncedMixin, Base):
    __tablename__ = "committee"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    close_of_business: Mapped[str] = mapped_column(String(5), default="17:30")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)

    devices: Mapped[list[Device]] = relationship(back_populates="committee")


class Device(SyncedMixin, Base):
    __tablename__ = "device"

    committee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("committee.id"))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    is_local: Mapped[bool] = mapped_column(default=False)
    server_url: Mapped[str | None] = mapped_column(String(300))
    server_device_id: Mapped[str | None] = mapped_column(String(64))
    token: Mapped[str | None] = mapped_column(String(200))
    enrolled_at: Mapped[dt.datetime | None]
    printer_name: Mapped[str | None] = mapped_column(String(200))
    paper_layout: Mapped[str] = mapped_column(String(16), default="a5")

    committee: Mapped[Committee] = relationship(back_populates="devices")
