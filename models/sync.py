"""Desk-side sync bookkeeping: one row holding the pull cursor, the last outcome and the clock offset."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

SYNC_STATE_ID = 1


class SyncState(Base):
    """Single row (id = 1). The cursor is written in the same transaction as the pulled rows it covers."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=SYNC_STATE_ID)
    cursor: Mapped[str] = mapped_column(String(80), default="0")
    # Set at enrolment and on 410 (server restored from an older backup): download a fresh snapshot first.
    needs_snapshot: Mapped[bool] = mapped_column(default=True)
    last_attempt_at: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    online: Mapped[bool] = mapped_column(default=False)
    failures: Mapped[int] = mapped_column(default=0)  # consecutive failed rounds, drives the backoff
    # server clock minus desk clock, seconds, estimated from the last response (midpoint of the round trip)
    clock_offset_s: Mapped[float | None]
