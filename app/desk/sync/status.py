"""What the status bar and the sync-health page show of a desk's sync (the database only, no network), and the
sync state row both they and the client read. The client (app/desk/sync/client.py) re-exports these."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.commands import written_text
from app.core.vocabulary import Mutation
from app.desk import keystore
from app.desk.context import AppContext
from app.desk.sync.bad_rows import SetAsideRow, set_aside_rows
from app.desk.sync.enroll import uses_insecure_http
from app.desk.sync.files import FileBacklog, file_backlog
from models import Device, OutboxEntry, SyncState, Worker
from models.outbox import OUTBOX_HELD, OUTBOX_PENDING, OUTBOX_SET_ASIDE
from models.sync import SYNC_STATE_ID


@dataclass(frozen=True, kw_only=True)
class SetAsideMutation:
    mid: int
    mutation_id: str
    name: str
    label: str  # Chinese: 转办, 答复, 登记居民 ...
    case_number: str
    reason: str  # the server's Chinese reason
    client_time: dt.datetime
    worker_name: str
    text: str = ""  # what the worker wrote (a reply's text, a note, a reason)
    case_id: str = ""
    held: bool = False  # not set aside: the server waits for an earlier command (restored from a backup)


@dataclass(frozen=True, kw_only=True)
class SyncStatus:
    enrolled: bool
    server_url: str
    online: bool
    last_attempt_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_error: str
    pending: int
    set_aside: int
    oldest_pending_at: dt.datetime | None
    oldest_pending_age_s: float | None
    clock_offset_s: float | None
    set_aside_items: list[SetAsideMutation]  # held ones first (``held``), then those set aside, newest first
    held: int = 0  # commands the server holds until earlier ones from other desks arrive again
    # rows downloaded from the server that this desk could not apply, newest first (app/desk/sync/bad_rows.py)
    set_aside_rows: list[SetAsideRow] = field(default_factory=list)
    # plain http by the administrator's lab opt-in (enroll --allow-insecure-http): shown while in use
    insecure_http: bool = False
    files: FileBacklog = field(default_factory=FileBacklog)  # attachments still to upload / download, missing


def mutation_label(name: str) -> str:
    try:
        return Mutation(name).label
    except ValueError:  # a command of a newer version
        return name


def _state(s: Session) -> SyncState:
    state = s.get(SyncState, SYNC_STATE_ID)
    if state is None:
        state = SyncState(id=SYNC_STATE_ID, cursor="0", needs_snapshot=True, last_error="", online=False, failures=0)
        s.add(state)
        s.flush()
    return state


def _local_device(s: Session) -> Device | None:
    return s.scalars(select(Device).where(Device.is_local.is_(True))).first()


def sync_status(ctx: AppContext, now: dt.datetime | None = None, max_items: int = 200) -> SyncStatus:
    """What the status bar and the sync-health page show. Reads the desk database only."""
    now = now or ctx.clock.desk_time()  # outbox ages: client_time is the desk's own clock
    with ctx.sessions() as s:
        dev = _local_device(s)
        state = s.get(SyncState, SYNC_STATE_ID)
        counts = dict(s.execute(select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status)).tuples().all())
        oldest = s.scalar(select(func.min(OutboxEntry.client_time)).where(OutboxEntry.status == OUTBOX_PENDING))
        rows = s.execute(select(OutboxEntry, Worker.display_name)
                         .outerjoin(Worker, Worker.id == OutboxEntry.acting_worker_id)
                         .where(OutboxEntry.status.in_((OUTBOX_HELD, OUTBOX_SET_ASIDE)))
                         .order_by(OutboxEntry.status, OutboxEntry.mid.desc()).limit(max_items))
        items = [SetAsideMutation(mid=o.mid, mutation_id=str(o.mutation_id), name=o.name, label=mutation_label(o.name),
                                  case_number=str((o.args or {}).get("case_number") or ""), reason=o.reason,
                                  client_time=o.client_time, worker_name=name or "", text=written_text(o.args),
                                  case_id=str((o.args or {}).get("case_id") or ""), held=o.status == OUTBOX_HELD)
                 for o, name in rows]
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return SyncStatus(
        enrolled=bool(dev and keystore.device_token(dev)), server_url=(dev.server_url or "") if dev else "",
        online=bool(state and state.online), last_attempt_at=state.last_attempt_at if state else None,
        last_success_at=state.last_success_at if state else None, last_error=state.last_error if state else "",
        pending=counts.get(OUTBOX_PENDING, 0), set_aside=counts.get(OUTBOX_SET_ASIDE, 0), oldest_pending_at=oldest,
        oldest_pending_age_s=(now - oldest).total_seconds() if oldest else None,
        clock_offset_s=state.clock_offset_s if state else None, set_aside_items=items, files=file_backlog(ctx),
        held=counts.get(OUTBOX_HELD, 0), set_aside_rows=set_aside_rows(ctx.data_dir)[:max_items],
        insecure_http=bool(dev and dev.server_url and uses_insecure_http(ctx.data_dir, dev.server_url)))
