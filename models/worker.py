"""Worker accounts: roles, line responsibilities, password hash and lockout state."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, SyncedMixin


class Worker(SyncedMixin, Base):
    __tablename__ = "worker"
    __table_args__ = (UniqueConstraint("committee_id", "login", name="uq_worker_committee_login"),)

    committee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("committee.id"))
    login: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(40), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Departments whose forwarded cases this worker answers (民政, 残联, ...).
    lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]

    def has_role(self, role: str) -> bool:
        return role in (self.roles or [])
