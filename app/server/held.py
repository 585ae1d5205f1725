"""Commands held until the command they were made after has arrived, so that a server restored from an older
backup ends with the acknowledged history whatever the order in which the desks reconnect (issue 12, finding 3).

**The problem.** After a restore the server has forgotten every command it acknowledged since the backup. Each
desk sends its own again (app/desk/sync/client.py: 410 → snapshot → re-push), in its own order and with no order
across desks. Desk A's close of a case can arrive before desk B's reply that A had seen when it closed; applied
against the restored state the close is refused, and the case ends replied instead of closed.

**The causal context a command carries.** Every case event names the command that made it
(``detail["mutation_id"]``, written alike by the desk's ``CaseService`` and by the server's handlers). When a desk
enqueues a case command it records ``args["after"]`` (app/core/actions.py ``last_mutation``): the command behind
the latest event of the case as the desk saw it — its own earlier command, or another desk's it pulled. When a
desk sends again a command the server had acknowledged, it adds ``args["ack"] = {"at": ...}``: the time the
server gave it then (every applied result carries ``at``).

**The rule**, per command of a batch, in mid order:

- ``after`` names a command this server has processed (applied or set aside), or there is none: apply now, as
  always. In normal operation that is every command: a desk can only have seen commands the server processed,
  or its own, sent earlier in the same queue.
- ``after`` names a command this server has never seen, or one it holds itself: **hold** it. The outcome stored
  for the mid is ``held`` (the desk shows it as waiting, not failed, and keeps its own view of the case), the
  device's queue moves on (``last_mid`` advances), and the command waits in ``server_held_command``.
- Right after a command is processed here, the held commands waiting for it run, in the order they were held,
  each as its own device and worker at its own time, through the same handler as any command; then those
  waiting for them. A held command whose predecessor was set aside runs too, and the rules decide against the
  server's state (its desk's view was built on work that never took effect).
- A desk asks again about its held mids every round (a duplicate push returns the stored outcome), so it learns
  the final outcome and adopts the server's state of the case then.
- Time: a command with ``ack`` counts at the acknowledged time (never later than now), so re-applied events keep
  the times they had and a forward keeps its deadline; it is trusted no more than ``client_time`` already is.

**Lost for good.** If the predecessor never comes (the desk that had it lost its data too), a held command is
given up after :data:`HOLD_LIMIT` — three days, so that desks switched off over a weekend are back first; until
then its own desk still shows the worker's view. At the first push of its committee after that it is set aside
with :data:`LOST_REASON`, what the worker wrote kept as a note on the case like any set-aside command, and the
commands waiting for it run. The district administrator can stop the wait earlier
(``python main.py server held --give-up``: app/server/push.py ``give_up_held``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.core.commands import ACK, AFTER
from app.core.wire import MutationIn, ResultStatus
from app.server.db import ServerDB, among
from app.server.mutations import REPLAY_REASON
from models.server import HeldCommand, MutationRecord, ServerDevice

HELD = ResultStatus.HELD
HOLD_LIMIT = dt.timedelta(days=3)
HELD_REASON = ("区服务器已从备份恢复，正在等待其他前台重新上传此前的操作；到齐后自动按原来的顺序生效，无需重新办理")
LOST_REASON = "区服务器从备份恢复后，该操作之前的操作一直没有前台重新上传（可能已丢失），该操作未生效"


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def after_of(args: Any) -> uuid.UUID | None:
    """The command a command was made after, from its raw args; None when it names none (or nonsense)."""
    return _uuid(args.get(AFTER)) if isinstance(args, dict) else None


def acknowledged_at(args: Any, now: dt.datetime) -> dt.datetime | None:
    """The time the server gave a command when it first acknowledged it, if the desk sent it along."""
    ack = args.get(ACK) if isinstance(args, dict) else None
    text = ack.get("at") if isinstance(ack, dict) else None
    try:
        at = dt.datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return at if at is not None and at.tzinfo is not None and at <= now else None


class Holds:
    """One batch's view of the held commands: what its commands wait for, and which held ones wait for them.

    Commands held in this batch are written after the batch's mutation records; none of them can be released
    in the same batch (what they wait for comes from another desk, and one batch comes from one desk)."""

    def __init__(self, s: Session):
        self.s = s
        self.status: dict[uuid.UUID, str] = {}  # mutation id -> outcome, for the afters of this batch
        self.new: list[dict] = []
        self.any = True  # whether any command is held at all (nearly always not: two queries saved per batch)
        self.batch: set[uuid.UUID] = set()
        self.awaited: set[uuid.UUID] = set()  # the batch's commands some held command waits for

    def preload(self, mutations: list[MutationIn]) -> None:
        self.batch = {m.mutation_id for m in mutations}
        if self.any and self.batch:
            self.awaited = set(self.s.scalars(select(HeldCommand.waits_for).where(
                among(self.s, HeldCommand.waits_for, self.batch))))
        afters = {a for m in mutations if (a := after_of(m.args)) is not None}
        if not afters:
            return
        for mutation_id, status in self.s.execute(select(MutationRecord.mutation_id, MutationRecord.status)
                                                  .where(among(self.s, MutationRecord.mutation_id, afters),
                                                         MutationRecord.reason != REPLAY_REASON)):
            if self.status.get(mutation_id) in (None, HELD):  # the same command under two device ids
                self.status[mutation_id] = status

    def processed(self, mutation_id: uuid.UUID, status: str) -> None:
        self.status[mutation_id] = status

    def waits_for(self, m: MutationIn) -> uuid.UUID | None:
        """The command ``m`` must wait for, or None when it may run now."""
        after = after_of(m.args)
        if after is None:
            return None
        status = self.status.get(after)
        return after if status is None or status == HELD else None

    def hold(self, device: ServerDevice, m: MutationIn, waits_for: uuid.UUID, dating: Any,
             case_id: str | None, now: dt.datetime) -> None:
        """``dating``: app/server/push.py's Dating; its time is in the mutation record, the rest is kept here."""
        extra = {k: v for k, v in dataclasses.asdict(dating).items() if k != "at"}
        self.status[m.mutation_id] = HELD
        self.new.append({"device_id": device.id, "mid": m.mid, "committee_id": device.committee_id,
                         "mutation_id": m.mutation_id, "waits_for": waits_for, "case_id": _uuid(case_id),
                         "args": m.args, "dating": extra, "held_at": now, "expires_at": now + HOLD_LIMIT})

    def write(self) -> None:
        if self.new:
            self.s.execute(insert(HeldCommand.__table__), self.new)

    def waiting_for(self, mutation_id: uuid.UUID) -> list[HeldCommand]:
        if not self.any or (mutation_id in self.batch and mutation_id not in self.awaited):
            return []
        return list(self.s.scalars(select(HeldCommand).where(HeldCommand.waits_for == mutation_id)
                                   .order_by(HeldCommand.held_at, HeldCommand.mid)))

    def expired(self, committee_id: uuid.UUID | None, now: dt.datetime) -> list[HeldCommand]:
        """Held commands whose wait is over, of one committee (None: of all). Asked first in a batch."""
        self.any = self.s.scalar(select(HeldCommand.mid).limit(1)) is not None
        if not self.any:
            return []
        stmt = select(HeldCommand).where(HeldCommand.expires_at <= now)
        if committee_id is not None:
            stmt = stmt.where(HeldCommand.committee_id == committee_id)
        return list(self.s.scalars(stmt.order_by(HeldCommand.held_at, HeldCommand.mid)))


def held_command(row: HeldCommand, rec: MutationRecord) -> MutationIn:
    """The held command as it was pushed."""
    return MutationIn(mid=row.mid, mutation_id=row.mutation_id, name=rec.name, args=row.args,
                      acting_worker=rec.acting_worker_id, client_time=rec.client_time or row.held_at)


# ----- for the district administrator ------------------------------------------------------------------------
def list_held(db: ServerDB) -> list[HeldCommand]:
    with db.sessions() as s:
        return list(s.scalars(select(HeldCommand).order_by(HeldCommand.held_at, HeldCommand.mid)))
