"""Push: one batch of desk commands, applied in one transaction that holds the lock row.

Per device, ``mid`` is gap-free: ``mid <= last_mid`` is a duplicate and gets the stored result back without
effect; a batch that does not continue at ``last_mid + 1`` is refused whole (409). Each new command runs in
a savepoint, so a rejected or poisonous one is stored as set aside and the queue moves on. A database
failure rolls everything back (503) and the desk retries with backoff.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import insert, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.core.payloads import case_payload, resident_payload
from app.core.wire import ErrorCode, MutationIn, MutationResult, PushRequest, PushResponse, ResultStatus
from app.server.admin import server_calendar
from app.server.changes import ChangeWriter
from app.server.db import ServerDB, take_lock
from app.server.devices import AuthFailed, authenticate
from app.server.mutations import ApplyContext, Rejected, acting_worker, apply_mutation, keep_text_as_note
from models.server import Case, Committee, MutationRecord, Resident, Worker

log = logging.getLogger(__name__)
APPLIED, SET_ASIDE = ResultStatus.APPLIED, ResultStatus.SET_ASIDE


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
        except (_Careful, IntegrityError, DataError):
            if careful:
                raise
            log.debug("push batch redone with savepoints")
    raise AssertionError("unreachable")


def _result(rec: dict, duplicate: bool) -> MutationResult:
    """The wire result of a stored (or about to be stored) mutation record."""
    return MutationResult(mid=rec["mid"], mutation_id=rec["mutation_id"], status=rec["status"], reason=rec["reason"],
                          result=rec["result"] or {}, duplicate=duplicate)


def _as_dict(rec: MutationRecord) -> dict:
    return {c.key: getattr(rec, c.key) for c in MutationRecord.__table__.columns}


class _BatchRun:
    def __init__(self, s: Session, now: dt.datetime, client_now: dt.datetime | None, careful: bool = True):
        self.s, self.now, self.careful = s, now, careful
        # Server receive time minus the desk's clock at sending: the desk's clock offset (latency is noise).
        self.offset = (now - client_now) if client_now else dt.timedelta(0)
        self.touched_cases: dict[uuid.UUID, Case] = {}
        self.touched_residents: dict[uuid.UUID, Resident] = {}
        self.refresh_cases: set[uuid.UUID] = set()
        self.records: list[dict] = []  # new mutation records, inserted in one statement at the end
        self.earlier: dict[uuid.UUID, dict] = {}
        self._kept: list = []
        self._calendar = None

    def calendar(self):
        if self._calendar is None:
            self._calendar = server_calendar(self.s)
        return self._calendar

    def run(self, token: str | None, device_id: str, mutations: list[MutationIn]) -> PushResponse:
        lock = take_lock(self.s)
        device = authenticate(self.s, token, for_update=True)
        if device_id and device_id != str(device.id):
            raise AuthFailed("token does not belong to device_id")
        self.device = device
        self.committee = self.s.get(Committee, device.committee_id)
        old, new = self._split(mutations)
        results = [self._duplicate(rec) for rec in old]
        self._load_earlier(new)
        self._preload(new)
        for m in new:
            results.append(self._apply(m))
        if new:  # once, not per command: every change to the row would be flushed before the next query
            device.last_mid = new[-1].mid
        if self.records:
            self.s.execute(insert(MutationRecord.__table__), self.records)
        device.last_seen_at, device.clock_offset_s = self.now, self.offset.total_seconds()
        self.s.flush()  # column defaults (event ids) are filled in by the flush; payloads need them
        changes = ChangeWriter(self.s, lock, self.now)
        for r in self.touched_residents.values():
            changes.resident(r)
        for c in self.touched_cases.values():
            changes.case(c)
        return PushResponse(last_mid=device.last_mid, results=results, server_time=self.now,
                            cases=self._case_snapshots(),
                            residents=[resident_payload(r) for r in self.touched_residents.values()])

    def _split(self, mutations: list[MutationIn]) -> tuple[list[dict], list[MutationIn]]:
        """Check the whole batch before touching anything: duplicates must match, new mids must be contiguous."""
        last = self.device.last_mid
        old_mids = [m.mid for m in mutations if m.mid <= last]
        stored = {r.mid: _as_dict(r) for r in self.s.scalars(select(MutationRecord).where(
            MutationRecord.device_id == self.device.id, MutationRecord.mid.in_(old_mids)))} if old_mids else {}
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
        """Commands pushed before under another device id (the desk was enrolled again) have no second effect."""
        if new:
            for rec in self.s.scalars(select(MutationRecord).where(
                    MutationRecord.mutation_id.in_([m.mutation_id for m in new]))):
                self.earlier.setdefault(rec.mutation_id, _as_dict(rec))

    def _preload(self, new: list[MutationIn]) -> None:
        """Load the batch's workers and cases (with history) in two queries, and keep them referenced: the
        session's identity map is weak, so without this every command would fetch them again."""
        worker_ids = {m.acting_worker for m in new if m.acting_worker}
        case_ids = set()
        for m in new:
            value = m.args.get("case_id") if isinstance(m.args, dict) else None
            try:
                case_ids.add(uuid.UUID(str(value))) if value else None
            except ValueError:
                pass  # the handler sets it aside with a proper reason
        self._kept = list(self.s.scalars(select(Worker).where(Worker.id.in_(worker_ids)))) if worker_ids else []
        if case_ids:
            self._kept += list(self.s.scalars(select(Case).where(Case.id.in_(case_ids)).options(selectinload(Case.events))))

    def _duplicate(self, rec: dict) -> MutationResult:
        self._refresh_from_result(rec["result"])
        return _result(rec, duplicate=True)

    def _refresh_from_result(self, result: dict | None) -> None:
        case_id = (result or {}).get("case_id")
        if case_id:
            self.refresh_cases.add(uuid.UUID(case_id))

    def _apply(self, m: MutationIn) -> MutationResult:
        earlier = self.earlier.get(m.mutation_id)
        if earlier is not None:
            return self._duplicate(self._store(m, earlier["status"], earlier["reason"], earlier["result"],
                                               earlier["effective_at"]))
        effective = min(m.client_time + self.offset, self.now)
        status, reason, result = self._run_handler(m, effective)
        self._refresh_from_result(result)
        rec = self._store(m, status, reason, result, effective)
        self.earlier[m.mutation_id] = rec  # the same id twice in one batch: the second is a duplicate
        return _result(rec, duplicate=False)

    def _run_handler(self, m: MutationIn, effective: dt.datetime) -> tuple[str, str, dict]:
        try:
            worker = acting_worker(self.s, self.device, m.acting_worker)
        except Rejected as r:
            return SET_ASIDE, r.reason, {}
        ctx = ApplyContext(self.s, self.device, self.committee, worker, effective, m.client_time, self.now, self.calendar)
        if not self.careful:
            return self._run_optimistic(ctx, m)
        try:
            with self.s.begin_nested():
                result = apply_mutation(ctx, m.name, m.args)
        except Rejected as r:
            return SET_ASIDE, self._keep_text(ctx, r), {"case_id": str(r.case_id)} if r.case_id else {}
        except (IntegrityError, DataError) as e:
            # Only the error class: the database's message can quote an ID number.
            log.warning("mutation %s (%s) conflicts with stored data: %s", m.mutation_id, m.name, type(e.orig).__name__)
            return SET_ASIDE, "该操作与区服务器上的数据冲突，无法处理，已跳过", {}
        except DBAPIError:
            raise  # the database itself failed: roll the batch back (503) and let the desk retry
        except Exception:  # a poison command must never block the queue behind it
            log.exception("mutation %s (%s) failed; set aside", m.mutation_id, m.name)
            return SET_ASIDE, "区服务器处理该操作时出错，已跳过", {}
        self.touched_cases.update(ctx.touched_cases)
        self.touched_residents.update(ctx.touched_residents)
        return APPLIED, "", result

    def _run_optimistic(self, ctx: ApplyContext, m: MutationIn) -> tuple[str, str, dict]:
        try:
            result = apply_mutation(ctx, m.name, m.args)
        except (IntegrityError, DataError):
            raise _Careful() from None
        except DBAPIError:
            raise
        except Exception:  # Rejected, or a poison command: only a savepoint can isolate it
            raise _Careful() from None
        self.touched_cases.update(ctx.touched_cases)
        self.touched_residents.update(ctx.touched_residents)
        return APPLIED, "", result

    def _keep_text(self, ctx: ApplyContext, r: Rejected) -> str:
        ctx.touched_cases.clear()
        with self.s.begin_nested():
            kept = keep_text_as_note(ctx, r)
        self.touched_cases.update(ctx.touched_cases)
        return r.reason + ("。填写的内容已作为备注记入案件历史" if kept else "")

    def _store(self, m: MutationIn, status: str, reason: str, result: dict | None,
               effective: dt.datetime | None) -> dict:
        rec = {"device_id": self.device.id, "mid": m.mid, "mutation_id": m.mutation_id, "name": m.name[:48],
               "acting_worker_id": m.acting_worker, "client_time": m.client_time, "received_at": self.now,
               "effective_at": effective, "status": status, "reason": reason, "result": result or {}}
        self.records.append(rec)
        return rec

    def _case_snapshots(self) -> list[dict]:
        """Current state of every case the batch touched or mentioned, so the desk can adopt it at once."""
        ids = set(self.touched_cases) | self.refresh_cases
        if not ids:
            return []
        self.s.flush()
        cases = self.s.scalars(select(Case).where(Case.id.in_(ids), Case.committee_id == self.device.committee_id)
                               .options(selectinload(Case.events)))
        return [case_payload(c) for c in cases]
