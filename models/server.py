"""District-server-only tables, on their own MetaData so the desk's Alembic autogenerate never sees them.

The server also stores committee, worker, resident, case and case_event through the desk's ORM classes
(``models.Base``); :func:`server_target_metadata` is the union the server's migrations are compared with.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models.base import NAMING_CONVENTION, Base, UTCDateTime, new_id, utcnow
from models.case import Case, CaseEvent
from models.committee import Committee
from models.resident import Resident
from models.worker import Worker

# Desk tables the server keeps too (the desk-only ones — outbox, device, print_job ... — stay on the desk).
SHARED_TABLES = ("committee", "worker", "resident", "case", "case_event", "attachment")
GLOBAL_SCOPE = "*"  # change-log scope seen by every desk (catalog, calendar)


class ServerBase(DeclarativeBase):
    __table__: ClassVar[Table]  # as on models.Base: every model declares its columns
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), uuid.UUID: Uuid()}


class SyncLock(ServerBase):
    """On SQLite, the counter change-log seqs are allocated from (writers are serialised by BEGIN IMMEDIATE).
    On PostgreSQL seqs come from the sequence ``server_change_seq`` and this row is no longer written."""

    __tablename__ = "server_sync_lock"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class ChangeStream(ServerBase):
    """One change-log stream: a committee's (scope = its id) or the district's reference data (GLOBAL_SCOPE).

    Every writer of a stream holds its row (FOR UPDATE) until commit, so within a stream seq order is commit
    order while different committees write in parallel (issue 18). ``last_seq`` is the stream's newest seq."""

    __tablename__ = "server_change_stream"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class ServerDevice(ServerBase):
    __tablename__ = "server_device"
    __table_args__ = (UniqueConstraint("committee_id", "code", name="uq_server_device_committee_code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    committee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Committee.id))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the random secret; the secret is never stored
    last_mid: Mapped[int] = mapped_column(BigInteger, default=0)
    enrolled_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime | None]
    clock_offset_s: Mapped[float | None]  # last measured: server receive time minus the desk's clock
    revoked_at: Mapped[dt.datetime | None]
    # The token stops working at this time unless renewed (app/server/devices.py); the one it replaced may
    # still renew once, in case the renewal's answer was lost on the way.
    token_expires_at: Mapped[dt.datetime | None]
    previous_token_hash: Mapped[str | None] = mapped_column(String(64))


class EnrollCode(ServerBase):
    __tablename__ = "server_enroll_code"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    committee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Committee.id))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(ServerDevice.id))


class MutationRecord(ServerBase):
    """The stored outcome of every pushed mutation; a duplicate gets this back without any effect."""

    __tablename__ = "server_mutation"
    __table_args__ = (Index("ix_server_mutation_mutation_id", "mutation_id"),)

    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(ServerDevice.id), primary_key=True)
    mid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    mutation_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(48))
    acting_worker_id: Mapped[uuid.UUID | None]
    client_time: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    effective_at: Mapped[dt.datetime | None]  # client time corrected by the measured clock offset
    status: Mapped[str] = mapped_column(String(16))  # applied | set_aside
    reason: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict] = mapped_column(JSON, default=dict)


class HeldCommand(ServerBase):
    """A pushed command waiting for the command it was made after (issue 12; app/server/held.py).

    Its outcome row in ``server_mutation`` says ``held`` until it runs; this row keeps what running it needs
    (the mutation record has the name, worker and times) and is deleted when it has run or been given up."""

    __tablename__ = "server_held_command"
    __table_args__ = (Index("ix_server_held_command_waits_for", "waits_for"),
                      Index("ix_server_held_command_committee_expires", "committee_id", "expires_at"))

    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(ServerDevice.id), primary_key=True)
    mid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    committee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Committee.id))
    mutation_id: Mapped[uuid.UUID]
    waits_for: Mapped[uuid.UUID]  # the mutation id the command was made after
    case_id: Mapped[uuid.UUID | None]
    args: Mapped[dict] = mapped_column(JSON)
    dating: Mapped[dict] = mapped_column(JSON, default=dict)  # how its time was worked out, besides the time itself
    held_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]  # given up (set aside) at the first push of the committee after this


class ChangeRow(ServerBase):
    """Change log read by pulls. ``seq`` is allocated under the lock row; ``tag`` lets a cursor prove it is ours."""

    __tablename__ = "server_change"
    __table_args__ = (Index("ix_server_change_scope_seq", "scope", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tag: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(40))  # committee id, or GLOBAL_SCOPE
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    committed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CalendarVersion(ServerBase):
    __tablename__ = "server_calendar"
    __table_args__ = (UniqueConstraint("year", "version", name="uq_server_calendar_year_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CatalogVersion(ServerBase):
    __tablename__ = "server_catalog"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict] = mapped_column(JSON)  # file name -> text
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ResidentAlias(ServerBase):
    """Two desks registered the same person offline: the later id points at the kept record."""

    __tablename__ = "server_resident_alias"

    alias_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Resident.id))


class ServerBlob(ServerBase):
    """An attachment's bytes on the server (issue 15), kept per committee: stored under the attachments folder by
    committee and sha256, so knowing a file's hash never reaches another committee's copy; the ``attachment`` rows
    (shared table) say which of the committee's cases refer to it. ``received`` grows as chunks arrive; the file
    counts only once ``complete`` (size reached and sha256 checked)."""

    __tablename__ = "server_blob"

    committee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Committee.id), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(64))
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    complete: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
    uploaded_by_device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(ServerDevice.id))


class ServerRelease(ServerBase):
    """A package of the desk program the district published (issue 17, ``server release publish``): its bytes
    are kept by sha256 under the attachments folder's ``releases/`` (app/server/releases.py); every pull names
    the newest one per platform. One per version and platform."""

    __tablename__ = "server_release"
    __table_args__ = (UniqueConstraint("platform", "version", name="uq_server_release_platform_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    platform: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))  # four numeric parts
    sort_key: Mapped[str] = mapped_column(String(32))  # the parts zero-padded: newest first by ORDER BY
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    file_name: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# ----- the report's rollup (issue 18, app/server/rollup.py) ------------------------------------------------------
# Counters of the cases accepted on one China day in one committee, per item and for the day ("*"), as
# app/core/stats.py counts them; kept only for the months a report asked for (server_report_month) and
# brought up to date from the change streams (server_report_stream) before each report.
ROLLUP_TOTAL = "*"  # item_code of a committee-day's total row
ROLLUP_COUNTS = ("cases", "on_spot", "forwarded", "in_progress", "withdrawn", "deferred", "pledge", "forwardings",
                 "replied_on_time", "replied_late", "ratable", "rated", "satisfied", "bad", "bad_fixed",
                 "level_very_satisfied", "level_satisfied", "level_basic", "level_dissatisfied",
                 "level_very_dissatisfied", "replied")


class ReportCell(ServerBase):
    """The frozen cases of one committee, China day of acceptance and item (or the day's total): a case with a
    forwarding still open is left out (its figures depend on the moment; server_report_live)."""

    __tablename__ = "server_report_cell"
    __table_args__ = (Index("ix_srv_report_cell_item_day", "item_code", "day"),)  # the district's day totals

    committee_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    item_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    item_name: Mapped[str] = mapped_column(String(200), default="")
    cases: Mapped[int] = mapped_column(Integer, default=0)
    on_spot: Mapped[int] = mapped_column(Integer, default=0)
    forwarded: Mapped[int] = mapped_column(Integer, default=0)
    in_progress: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    deferred: Mapped[int] = mapped_column(Integer, default=0)
    pledge: Mapped[int] = mapped_column(Integer, default=0)
    forwardings: Mapped[int] = mapped_column(Integer, default=0)
    replied_on_time: Mapped[int] = mapped_column(Integer, default=0)
    replied_late: Mapped[int] = mapped_column(Integer, default=0)
    ratable: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    bad: Mapped[int] = mapped_column(Integer, default=0)
    bad_fixed: Mapped[int] = mapped_column(Integer, default=0)
    level_very_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    level_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    level_basic: Mapped[int] = mapped_column(Integer, default=0)
    level_dissatisfied: Mapped[int] = mapped_column(Integer, default=0)
    level_very_dissatisfied: Mapped[int] = mapped_column(Integer, default=0)
    replied: Mapped[int] = mapped_column(Integer, default=0)
    reply_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class ReportDue(ServerBase):
    """The judged forwardings of a committee-day's frozen cases by the China day of their deadline (the
    chart's on-time rate per day)."""

    __tablename__ = "server_report_due"
    __table_args__ = (Index("ix_srv_report_due_day", "day"),)

    committee_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    due_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    judged: Mapped[int] = mapped_column(Integer, default=0)


class ReportLive(ServerBase):
    """A case of a rolled-up day counted at each report instead (a forwarding still open)."""

    __tablename__ = "server_report_live"
    __table_args__ = (Index("ix_srv_report_live_day", "day", "committee_id"),)

    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    committee_id: Mapped[uuid.UUID] = mapped_column()
    day: Mapped[dt.date] = mapped_column(Date)


class ReportMonth(ServerBase):
    """A month whose cells are kept; ``fingerprint``: the calendar and closes of business they were counted
    with (working hours), a change of either counts the months again."""

    __tablename__ = "server_report_month"

    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # its first day
    fingerprint: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReportStream(ServerBase):
    """How far the rollup has read each change stream: the cells of cases changed after are counted again."""

    __tablename__ = "server_report_stream"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


def include_server_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic filter: server-only indexes on the shared desk tables (prefix ix_srv_) live only in migrations."""
    return not (type_ == "index" and reflected and compare_to is None and (name or "").startswith("ix_srv_"))


def server_target_metadata() -> list[MetaData]:
    """What the server's migrations describe: the shared desk tables plus the server-only ones."""
    shared = MetaData(naming_convention=NAMING_CONVENTION)
    for name in SHARED_TABLES:
        Base.metadata.tables[name].to_metadata(shared)
    return [shared, ServerBase.metadata]


__all__ = [
    "GLOBAL_SCOPE",
    "ROLLUP_COUNTS",
    "ROLLUP_TOTAL",
    "SHARED_TABLES",
    "CalendarVersion",
    "Case",
    "CaseEvent",
    "CatalogVersion",
    "ChangeRow",
    "ChangeStream",
    "Committee",
    "EnrollCode",
    "HeldCommand",
    "MutationRecord",
    "ReportCell",
    "ReportDue",
    "ReportLive",
    "ReportMonth",
    "ReportStream",
    "Resident",
    "ResidentAlias",
    "ServerBase",
    "ServerBlob",
    "ServerDevice",
    "ServerRelease",
    "SyncLock",
    "Worker",
    "include_server_object",
    "server_target_metadata",
]
