"""A worker's own case work that the district server did not take (issue 12, finding 9).

Two colleagues answer one queue case offline: the server applies the reply that arrives first and keeps the
other as a note on the case. The 同步 page lists such commands for whoever looks after the desk; the worker who
wrote the losing reply must hear it in their own worklist (未生效): the case, what they wrote, why it did not
take effect. Read from this desk's outbox (status ``set_aside``, acting worker = the logged-in worker), so it
shows on the desk where the work was done, newest first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.commands import written_text
from app.core.masking import mask_free_text
from app.core.vocabulary import Mutation
from app.desk.auth import WorkerInfo
from models import Case, OutboxEntry
from models.outbox import OUTBOX_SET_ASIDE

MAX_ITEMS = 200


@dataclass(frozen=True, kw_only=True)
class UnappliedWork:
    id: uuid.UUID  # the case: double-click opens it
    case_number: str
    item_name: str
    label: str  # e.g. 答复未生效
    text: str  # what the worker wrote
    reason: str  # the server's Chinese reason
    at: dt.datetime  # when the worker did it (the desk's clock)


def _case_id(name: str, args: dict) -> uuid.UUID | None:
    key = "id" if name in (Mutation.CASE_CREATE, Mutation.CASE_SAVE_DRAFT) else "case_id"
    try:
        return uuid.UUID(str(args[key])) if args.get(key) else None
    except ValueError:
        return None


def _label(name: str) -> str:
    try:
        return f"{Mutation(name).label}未生效"
    except ValueError:  # a command of a newer version
        return "操作未生效"


def unapplied_work(s: Session, worker: WorkerInfo, text: str = "") -> list[UnappliedWork]:
    """``worker``'s set-aside case commands on this desk, newest first; ``text`` filters by case number, item
    or what was written."""
    entries = list(s.scalars(select(OutboxEntry).where(OutboxEntry.status == OUTBOX_SET_ASIDE,
                                                       OutboxEntry.acting_worker_id == worker.id)
                             .order_by(OutboxEntry.mid.desc()).limit(MAX_ITEMS)))
    ids = {e.mid: _case_id(e.name, e.args or {}) for e in entries}
    wanted = {cid for cid in ids.values() if cid is not None}
    cases = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_(wanted)))} if wanted else {}
    rows = []
    for e in entries:
        cid = ids[e.mid]
        case = cases.get(cid) if cid else None
        if case is None:  # not a case command, or a case this desk no longer has
            continue
        written = written_text(e.args)  # masked before the filter reads it: a filter must not probe hidden digits
        row = UnappliedWork(id=case.id, case_number=case.case_number, item_name=case.item_name, label=_label(e.name),
                            text=written if worker.can_see_full_id else mask_free_text(written), reason=e.reason,
                            at=e.client_time)
        if not text.strip() or any(text.strip() in v for v in (row.case_number, row.item_name, row.text)):
            rows.append(row)
    return rows
