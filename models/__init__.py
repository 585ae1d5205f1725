"""ORM models, one module per aggregate; importing this package registers every table on Base.metadata."""

from models.attachment import Attachment, AttachmentBlob
from models.base import Base, SyncedMixin, UTCDateTime, new_id, utcnow
from models.case import Case, CaseCounter, CaseEvent, CaseReplySeen
from models.committee import Committee, Device
from models.outbox import AuditEntry, OutboxEntry
from models.printing import PRINT_FAILED, PRINT_OK, PRINT_PENDING, PrintJob
from models.resident import Resident
from models.sync import KnownRelease, SyncState
from models.worker import Worker

__all__ = [
    "PRINT_FAILED",
    "PRINT_OK",
    "PRINT_PENDING",
    "Attachment",
    "AttachmentBlob",
    "AuditEntry",
    "Base",
    "Case",
    "CaseCounter",
    "CaseEvent",
    "CaseReplySeen",
    "Committee",
    "Device",
    "KnownRelease",
    "OutboxEntry",
    "PrintJob",
    "Resident",
    "SyncState",
    "SyncedMixin",
    "UTCDateTime",
    "Worker",
    "new_id",
    "utcnow",
]
