"""Desk-side sync bookkeeping: one row holding the pull cursor, the last outcome and the clock offset; the
packages of the program the district published, as the last pull named them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String, Text
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


class KnownRelease(Base):
    """The newest package of the desk program per platform, as the district server's last pull answer named it
    (issue 17): written in the pull's transaction, read by app/desk/updates.py. Nothing here is ever executed."""

    __tablename__ = "known_release"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    file_name: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[dt.datetime]
    learned_at: Mapped[dt.datetime]
