"""Push: one batch of desk commands, applied in one transaction that holds its committee's stream lock.

Per device, ``mid`` is gap-free: ``mid <= last_mid`` is a duplicate and gets the stored result back without
effect; a batch that does not continue at ``last_mid + 1`` is refused whole (409). Each new command runs in
a savepoint, so a rejected or poisonous one is stored as set aside and the queue moves on. A database
failure rolls everything back (503) and the desk retries with backoff.

A command made after one this server has not seen (it was restored from an older backup, and the desk that
sent that one has not sent it again yet) is held instead, and runs once that one has: app/server/held.py.
Every answer carries the server's state of each case and resident the batch's commands named, whatever
became of them, so a desk never keeps a state the server did not accept.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import event, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.core import limits
from app.core.offsets import plausible_offset
from app.core.payloads import case_payload, resident_payload
from app.core.wire import (
    ErrorCode,
    MutationIn,
    MutationResult,
    PushRequest,
    PushResponse,
    ResultStatus,
)
from app.core.workdays import WorkCalendar
from app.server import batch, held
from app.server.admin import server_calendar
from app.server.changes import ChangeWriter, scope_of
from app.server.db import ServerDB, among, bulk_insert, take_lock
from app.server.devices import AuthFailed, authenticate
from app.server.mutations import (
    REPLAY_REASON,
    ApplyContext,
    Rejected,
    acting_worker,
    apply_mutation,
    given_up,
    keep_text_as_note,
    named_entities,
)
from models import Attachment
from models.server import Case, Committee, HeldCommand, MutationRecord, Resident, ServerDevice, Worker

log = logging.getLogger(__name__)
APPLIED, SET_ASIDE, HELD = ResultStatus.APPLIED, ResultStatus.SET_ASIDE, ResultStatus.HELD


class PushConflict(Exception):
    """409: a gap in the mids, or a mid the server already holds with another mutation id."""

    def __init__(self, error: ErrorCode, last_mid: int, message: str):
        super().__init__(message)
        self.error, self.last_mid, self.message = error, last_mid, message


class TemporaryFailure(Exception):
    """503: the database failed; nothing was applied."""


class BadBatch(ValueError):
    """400: the request itself is malformed (the Chinese message comes from app/core/wire.py)."""


def push(db: ServerDB, token: str | None, request: PushRequest, now: dt.datetime) -> PushResponse:
    """Apply one pushed batch for the device behind ``token``; the answer holds one result per command."""
    problem = request.batch_problem()
    if problem:
        raise BadBatch(problem)
    ordered = sorted(request.mutations, key=lambda m: m.mid)
    try:
        return _run_batch(db, token, request.device_id, ordered, request.client_now, now)
    except DBAPIError as e:
        log.warning("push rolled back: %s", e)
        raise TemporaryFailure(str(e)) from e


@dataclass(frozen=True)
class Dating:
    """When a command counts as done on the server's clock, and which desk clock offset said so."""

    at: dt.datetime
    offset_s: float  # the offset applied to the desk's client_time
    offset_from: str  # "desk": recorded with the command when it was made; "batch": measured at this push


def command_dating(client_time: dt.datetime, desk_offset_s: float | None, batch_offset: dt.timedelta,
                   received_at: dt.datetime) -> Dating:
    """The desk's clock corrected by the offset it knew when the action was taken, or, when it knew none (an
    older desk, or one that never reached the server), by the offset measured at this push, which assumes its
    clock has not been put right since. Never after the server received the command."""
    known = plausible_offset(desk_offset_s)
    offset, source = (dt.timedelta(seconds=known), "desk") if known is not None else (batch_offset, "batch")
    try:
        at = min(client_time + offset, received_at)
    except OverflowError:  # a desk clock at the edge of the calendar
        at = received_at
    return Dating(at, offset.total_seconds(), source)


def give_up_held(db: ServerDB, now: dt.datetime, *, everything: bool = False) -> int:
    """Set aside the held commands whose wait is over — or, for the administrator, all of them
    (``python main.py server held --give-up``) — with the worker's text kept as a note; what waited for them runs.
    One transaction per committee, under that committee's stream lock. Pushes do this for their committee as
    well: a desk asking about its held commands hears the outcome."""
    if everything:
        with db.sessions.begin() as s:
            s.execute(update(HeldCommand).values(expires_at=now))
    with db.read_sessions() as s:
        committees = sorted(set(s.scalars(select(HeldCommand.committee_id).where(HeldCommand.expires_at <= now))))
    done = 0
    for committee_id in committees:
        with db.sessions.begin() as s:
            take_lock(s, scope_of(committee_id))
            run = _BatchRun(s, now, None)
            rows = run.holds.expired(committee_id, now)
            for row in rows:
                run._run_held(row, give_up=held.LOST_REASON)
            s.flush()
            run.write_changes()
            done += len(rows)
    return done


class _Careful(Exception):
    """The optimistic run met a command that fails: redo the batch with a savepoint per command."""


def _run_batch(db: ServerDB, token: str | None, device_id: str, ordered: list[MutationIn],
               client_now: dt.datetime | None, now: dt.datetime) -> PushResponse:
    """Almost every command applies cleanly, so a batch first runs without savepoints (two round trips fewer
    per command). If any command fails, that run is rolled back whole and the batch runs again carefully,
    each command in its own savepoint, so the failing one is set aside and the others still apply."""
    for careful in (False, True):
        try:
            with db.sessions.begin() as s:
                body = _BatchRun(s, now, client_now, careful).run(token, device_id, ordered)
                s.flush()  # constraint errors surface here, while the optimistic run can still be redone
            return body
        except (_Careful, IntegrityError, DataError) as e:
            if careful:
                raise
            log.debug("push batch redone with savepoints (%s)", type(e).__name__ if not isinstance(e, DBAPIError)
                      else type(e.orig).__name__)
    raise AssertionError("unreachable")


def _result(rec: dict, duplicate: bool) -> MutationResult:
    """The wire result of a stored (or about to be stored) mutation record."""
    return MutationResult(mid=rec["mid"], mutation_id=rec["mutation_id"], status=rec["status"], reason=rec["reason"],
                          result=rec["result"] or {}, duplicate=duplicate)


def _dated(status: str, result: dict, dating: Dating) -> dict:
    """An applied command's result says when it counted: a desk sends that back if it must send the command
    again after a server restore (app/server/held.py)."""
    return {**result, "at": dating.at.isoformat()} if status == APPLIED else result


def _as_dict(rec: MutationRecord) -> dict:
    return {c.key: getattr(rec, c.key) for c in MutationRecord.__table__.columns}


class _BatchRun:
    def __init__(self, s: Session, now: dt.datetime, client_now: dt.datetime | None, careful: bool = True):
        self.s, self.now, self.careful = s, now, careful
        # Server receive time minus the desk's clock at sending: the desk's clock offset now (latency is noise).
        # Only for commands that carry no offset of their own (command_dating).
        self.offset = (now - client_now) if client_now else dt.timedelta(0)
        self.touched_cases: dict[uuid.UUID, Case] = {}
        self.touched_residents: dict[uuid.UUID, Resident] = {}
        self.touched_attachments: dict[uuid.UUID, Attachment] = {}
        self.refresh_cases: set[uuid.UUID] = set()
        self.refresh_residents: set[uuid.UUID] = set()
        self.holds = held.Holds(s)
        self.records: list[dict] = []  # new mutation records, inserted in one statement at the end
        self.earlier: dict[uuid.UUID, dict] = {}
        self._kept: list = []
        self._calendar: WorkCalendar | None = None
        self.known: batch.Known | None = None  # the optimistic run's view of what the batch names
        self.case_payloads: dict[uuid.UUID, dict] = {}

    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = server_calendar(self.s)
        return self._calendar

    def run(self, token: str | None, device_id: str, mutations: list[MutationIn]) -> PushResponse:
        device = authenticate(self.s, token, for_update=True, now=self.now)
        if device_id and device_id != str(device.id):
            raise AuthFailed("token does not belong to device_id")
        # Before anything is read: two desks of the committee are served one after the other, other committees
        # in parallel (issue 18).
        take_lock(self.s, scope_of(device.committee_id))
        self.device = device
        self.committee = self.s.get_one(Committee, device.committee_id)
        for row in self.holds.expired(self.committee.id, self.now):  # first: a desk asking again hears it now
            self._run_held(row, give_up=held.LOST_REASON)
        old, new = self._split(mutations)
        results = [self._duplicate(rec) for rec in old]
        self._load_earlier(new)
        self._preload(new)
        self.holds.preload(new)
        known = self.known
        if known is not None:  # the cases the batch creates are written in bulk, before the session flushes
            event.listen(self.s, "before_flush", self._write_new_cases)
        for m in new:
            results.append(self._apply(m))
        if new:  # once, not per command: every change to the row would be flushed before the next query
            device.last_mid = new[-1].mid
        if self.records:
            bulk_insert(self.s, MutationRecord.__table__, self.records)
        self.holds.write()
        device.last_seen_at, device.clock_offset_s = self.now, self.offset.total_seconds()
        if known is not None:  # explicitly: a flush with nothing else to write would not call the hook
            known.final = True
            batch.write_new_cases(self.s, known)
        self.s.flush()  # column defaults (event ids) are filled in by the flush; payloads need them
        if known is not None:
            event.remove(self.s, "before_flush", self._write_new_cases)
        self.write_changes()
        return PushResponse(last_mid=device.last_mid, results=results, server_time=self.now,
                            cases=self._case_snapshots(),
                            residents=self._resident_snapshots())

    def _write_new_cases(self, session: Session, _flush_context: object, _instances: object) -> None:
        assert self.known is not None
        batch.write_new_cases(session, self.known)

    def write_changes(self) -> None:
        """The change rows of everything the batch touched, in one multi-row INSERT."""
        changes = ChangeWriter(self.s, self.now)
        for r in self.touched_residents.values():
            changes.resident(r, bulk=True)
        for c in self.touched_cases.values():  # the answer carries the same payloads (_case_snapshots)
            self.case_payloads[c.id] = payload = case_payload(c)
            changes.queue(scope_of(c.committee_id), "case", c.id, payload)
        for a in self.touched_attachments.values():  # after their cases: a desk pulls the case first
            changes.attachment(a, bulk=True)
        changes.write()

    def _split(self, mutations: list[MutationIn]) -> tuple[list[dict], list[MutationIn]]:
        """Check the whole batch before touching anything: duplicates must match, new mids must be contiguous."""
        last = self.device.last_mid
        old_mids = [m.mid for m in mutations if m.mid <= last]
        stored = {r.mid: _as_dict(r) for r in self.s.scalars(select(MutationRecord).where(
            MutationRecord.device_id == self.device.id,
            among(self.s, MutationRecord.mid, old_mids)))} if old_mids else {}
        old: list[dict] = []
        new: list[MutationIn] = []
        for m in mutations:
            if m.mid <= last:
                rec = stored.get(m.mid)
                if rec is None or rec["mutation_id"] != m.mutation_id:
                    raise PushConflict(ErrorCode.MID_CONFLICT, last,
                                       f"序号 {m.mid} 在服务器上已对应另一条操作（本机数据可能从旧备份恢复）")
                old.append(rec)
            elif m.mid != last + len(new) + 1:
                raise PushConflict(ErrorCode.GAP, last,
                                   f"服务器已收到到第 {last} 条，本批从第 {m.mid} 条开始，中间有缺漏")
            else:
                new.append(m)
        return old, new

    def _load_earlier(self, new: list[MutationIn]) -> None:
        """Commands pushed before (under another mid, or another device id) have no second effect. A mutation id
        belongs to the device that pushed it (issue 14, finding 3): only this device, or the desk's own former
        registration — a device of the same committee, since revoked, the desk was enrolled again after — gets
        the stored outcome back; from any other device the command is refused and hears nothing of that outcome."""
        if new:
            rows = self.s.execute(select(MutationRecord, ServerDevice.committee_id, ServerDevice.revoked_at)
                                  .join(ServerDevice, ServerDevice.id == MutationRecord.device_id)
                                  .where(among(self.s, MutationRecord.mutation_id, [m.mutation_id for m in new]),
                                         MutationRecord.reason != REPLAY_REASON))
            for rec, committee_id, revoked_at in rows:
                own = rec.device_id == self.device.id or (
                    committee_id == self.device.committee_id and revoked_at is not None)
                if own or rec.mutation_id not in self.earlier:
                    self.earlier[rec.mutation_id] = {**_as_dict(rec), "own": own}

    def _preload(self, new: list[MutationIn]) -> None:
        """Load the batch's workers, cases (with history) and residents in one query per table, and keep them
        referenced: the session's identity map is weak, so without this every command would fetch them again.
        The optimistic run keeps them in ``known`` (app/server/batch.py), which also learns what the batch
        creates, so no command asks the database about what an earlier one made."""
        worker_ids = {m.acting_worker for m in new if m.acting_worker}
        if not self.careful:
            self._kept = self._workers(worker_ids)
            self.known = batch.load(self.s, self.committee.id, new)
            return
        case_ids = set()
        for m in new:
            value = m.args.get("case_id") if isinstance(m.args, dict) else None
            try:
                case_ids.add(uuid.UUID(str(value))) if value else None
            except ValueError:
                pass  # the handler sets it aside with a proper reason
        self._kept = self._workers(worker_ids)
        if case_ids:
            cases = select(Case).where(among(self.s, Case.id, case_ids)).options(selectinload(Case.events))
            self._kept += list(self.s.scalars(cases))

    def _workers(self, ids: set[uuid.UUID]) -> list:
        return list(self.s.scalars(select(Worker).where(among(self.s, Worker.id, ids)))) if ids else []

    def _duplicate(self, rec: dict) -> MutationResult:
        self._refresh_from_result(rec["result"])
        return _result(rec, duplicate=True)

    def _refresh_from_result(self, result: dict | None) -> None:
        for key, ids in (("case_id", self.refresh_cases), ("resident_id", self.refresh_residents)):
            value = (result or {}).get(key)
            if value:
                ids.add(uuid.UUID(value))

    def _apply(self, m: MutationIn) -> MutationResult:
        earlier = self.earlier.get(m.mutation_id)
        if earlier is not None and not earlier.get("own", True):
            log.warning("mutation %s was pushed before by another device; refused", m.mutation_id)
            return _result(self._store(m, SET_ASIDE, REPLAY_REASON, named_entities(m.name, m.args), None), False)
        if earlier is not None:
            return self._duplicate(self._store(m, earlier["status"], earlier["reason"], earlier["result"],
                                               earlier["effective_at"]))
        dating = command_dating(m.client_time, m.clock_offset_s, self.offset, self.now)
        acknowledged = held.acknowledged_at(m.args, self.now)
        if acknowledged is not None:  # sent again after a restore: it counts when it counted the first time
            dating = replace(dating, at=acknowledged)
        waits_for = self.holds.waits_for(m)
        if waits_for is not None:
            rec = self._store(m, HELD, held.HELD_REASON, named_entities(m.name, m.args), dating.at)
            self.holds.hold(self.device, m, waits_for, dating, rec["result"].get("case_id"), self.now)
        else:
            status, reason, result = self._run_handler(m, dating)
            self._refresh_from_result(result)
            rec = self._store(m, status, reason, _dated(status, result, dating), dating.at)
        self.earlier[m.mutation_id] = rec  # the same id twice in one batch: the second is a duplicate
        if waits_for is None:
            self._release(m.mutation_id, rec["status"])
        return _result(rec, duplicate=False)

    def _release(self, mutation_id: uuid.UUID, status: str) -> None:
        """Run the held commands that waited for this one (and, through them, those waiting for them)."""
        self.holds.processed(mutation_id, status)
        for row in self.holds.waiting_for(mutation_id):
            self._run_held(row)

    def _run_held(self, row: HeldCommand, give_up: str = "") -> None:
        """A held command runs (or, with ``give_up``, is set aside for that reason) as its own device, at its time."""
        if self.known is not None:  # it reads its case from the database, which must hold the batch's new ones
            batch.write_new_cases(self.s, self.known)
        rec = self.s.get_one(MutationRecord, (row.device_id, row.mid))
        m = held.held_command(row, rec)
        at = rec.effective_at or row.held_at
        try:
            dating = Dating(at=at, **row.dating)
        except TypeError:  # held by an older version of this server
            dating = replace(command_dating(m.client_time, None, dt.timedelta(0), at), at=at)
        status, reason, result = self._run_handler(m, dating, self.s.get_one(ServerDevice, row.device_id), give_up)
        rec.status, rec.reason, rec.result = status, limits.clean_text(reason), _dated(status, result, dating)
        log.info("held mutation %s (%s) ran: %s", m.mutation_id, m.name, status)
        self.s.delete(row)
        self._release(m.mutation_id, status)

    def _run_handler(self, m: MutationIn, dating: Dating, device: ServerDevice | None = None,
                     give_up: str = "") -> tuple[str, str, dict]:
        device = device or self.device
        committee = self.s.get_one(Committee, device.committee_id)  # loaded already: no query
        named = named_entities(m.name, m.args)  # a set-aside answer still carries their state
        try:
            worker = acting_worker(self.s, device, m.acting_worker)
        except Rejected as r:
            return SET_ASIDE, r.reason, named
        ctx = ApplyContext(s=self.s, device=device, committee=committee, worker=worker, at=dating.at,
                           client_time=m.client_time, received_at=self.now, calendar=self.calendar,
                           clock_offset_s=dating.offset_s, clock_offset_from=dating.offset_from,
                           batch_records=self.records, mutation_id=m.mutation_id,
                           known=self.known if device is getattr(self, "device", None) else None)
        if not self.careful:
            if give_up:
                raise _Careful()  # setting aside keeps the worker's text: a savepoint's work
            return self._run_optimistic(ctx, m)
        try:
            with self.s.begin_nested():
                if give_up:
                    raise given_up(m.name, m.args, give_up)
                result = apply_mutation(ctx, m.name, m.args)
        except Rejected as r:
            return SET_ASIDE, self._keep_text(ctx, r), {**named, **r.result()}
        except DataError as e:  # a value the database cannot hold (app/core/limits.py should have caught it)
            log.warning("mutation %s (%s) holds a value the database refuses: %s", m.mutation_id, m.name,
                        type(e.orig).__name__)
            return SET_ASIDE, "该操作的内容无法保存到区服务器（过长或含有无法保存的字符），已跳过", named
        except IntegrityError as e:
            # Only the error class: the database's message can quote an ID number.
            log.warning("mutation %s (%s) conflicts with stored data: %s", m.mutation_id, m.name, type(e.orig).__name__)
            return SET_ASIDE, "该操作与区服务器上的数据冲突，无法处理，已跳过", named
        except DBAPIError:
            raise  # the database itself failed: roll the batch back (503) and let the desk retry
        except Exception:  # a poison command must never block the queue behind it
            log.exception("mutation %s (%s) failed; set aside", m.mutation_id, m.name)
            return SET_ASIDE, "区服务器处理该操作时出错，已跳过", named
        self.touched_cases.update(ctx.touched_cases)
        self.touched_residents.update(ctx.touched_residents)
        self.touched_attachments.update(ctx.touched_attachments)
        return APPLIED, "", result

    def _run_optimistic(self, ctx: ApplyContext, m: MutationIn) -> tuple[str, str, dict]:
        try:
            result = apply_mutation(ctx, m.name, m.args)
        except (IntegrityError, DataError) as e:
            log.debug("optimistic run stopped at %s: %s", m.name, type(e.orig).__name__)
            raise _Careful() from None
        except DBAPIError:
            raise
        except Exception as e:  # Rejected, or a poison command: only a savepoint can isolate it
            log.debug("optimistic run stopped at %s: %s", m.name, type(e).__name__)
            raise _Careful() from None
        self.touched_cases.update(ctx.touched_cases)
        self.touched_residents.update(ctx.touched_residents)
        self.touched_attachments.update(ctx.touched_attachments)
        return APPLIED, "", result

    def _keep_text(self, ctx: ApplyContext, r: Rejected) -> str:
        ctx.touched_cases.clear()
        try:
            with self.s.begin_nested():
                kept = keep_text_as_note(ctx, r)  # cleans the text; should it still fail, the reason stands alone
        except (IntegrityError, DataError) as e:
            log.warning("text of set-aside mutation not kept: %s", type(e.orig).__name__)
            ctx.touched_cases.clear()
            kept = False
        self.touched_cases.update(ctx.touched_cases)
        return r.reason + ("。填写的内容已作为备注记入案件历史" if kept else "")

    def _store(self, m: MutationIn, status: str, reason: str, result: dict | None,
               effective: dt.datetime | None) -> dict:
        # Cleaned: an unknown command's name comes from the desk as it is, and the reason may echo it.
        rec = {"device_id": self.device.id, "mid": m.mid, "mutation_id": m.mutation_id,
               "name": limits.clean_text(m.name, 48), "acting_worker_id": m.acting_worker,
               "client_time": m.client_time, "received_at": self.now, "effective_at": effective, "status": status,
               "reason": limits.clean_text(reason), "result": result or {}}
        self.records.append(rec)
        return rec

    def _resident_snapshots(self) -> list[dict]:
        """Every resident the batch touched, and the server's state of those its set-aside commands named."""
        rows = [resident_payload(r) for r in self.touched_residents.values()]
        ids = self.refresh_residents - set(self.touched_residents)
        if ids:
            rows += [resident_payload(r) for r in self.s.scalars(select(Resident).where(
                among(self.s, Resident.id, ids), Resident.committee_id == self.device.committee_id))]
        return rows

    def _case_snapshots(self) -> list[dict]:
        """Current state of every case the batch touched or mentioned, so the desk can adopt it at once."""
        mine = [self.case_payloads.get(c.id) or case_payload(c) for c in self.touched_cases.values()
                if c.committee_id == self.device.committee_id]
        ids = self.refresh_cases - set(self.touched_cases)
        if ids:
            self.s.flush()
            mine += [case_payload(c) for c in self.s.scalars(select(Case).where(
                among(self.s, Case.id, ids), Case.committee_id == self.device.committee_id)
                .options(selectinload(Case.events)))]
        return mine
