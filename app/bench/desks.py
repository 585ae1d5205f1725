"""A district's desks syncing at once, simulated (issue 18): ``bench sync``'s 500 desks (250 committees × 2) in
one asyncio process, each speaking the real wire protocol to the real server process over loopback.

A simulated desk is really enrolled (a one-time code from app/server/admin.py, then the enrol endpoint with the
request app/desk/sync/enroll.py sends), holds its token and device id, and does on the network what
``SyncClient.sync_once`` does: push its pending commands (5 new cases, case.create + case.accept each, built by the
core actions as a desk's CaseService builds them, mids contiguous per device), then pull pages until ``has_more``
is false, advancing its cursor. It keeps no database: applying pulled rows is the desk's work, not the server's,
and 500 SQLite files on one box would measure its disk. Every request body is built before the clock starts.

Each desk connects from its own loopback address (127.100.x.y), as 500 PCs would, so the server's per-address rate
limits see one desk per address. What those limits do to a district whose desks all reach the server through one
address (a NAT) is probed apart (``shared_address``), without touching the limiter.

Modes, one after the other: **steady** — every desk syncs on its own schedule, ``DEFAULT_INTERVAL_S`` after its
previous round ended (as ui/sync/sync_runner.py waits), the first at a random phase; the interval is compressed
when ``steady_s`` is shorter than the rounds would take. **burst** — every desk starts a round at the same instant,
each on a new connection (the morning after an outage). Then, untimed: catch-up rounds, every desk's last batch
pushed again (its answer lost on the way: the server must answer "duplicate" with no second effect), and the
server's database counted (every command applied exactly once; every desk has pulled its partner desk's cases).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import random
import secrets
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from app.core import actions, commands
from app.core.accounts import hash_password
from app.core.machine import Worker as Acting
from app.core.vocabulary import CHINA_TZ, Action, Mutation
from app.core.wire import (
    DEFAULT_PULL_PAGE,
    Endpoint,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    MutationIn,
    PullPage,
    PullQuery,
    PushResponse,
    ResultStatus,
    SnapshotStart,
    TokenRenewal,
)
from app.desk.cases import ItemRef
from app.desk.sync.client import DEFAULT_INTERVAL_S
from app.server import admin
from app.server.db import ServerDB
from models import Case, CaseEvent, Committee, Worker, new_id, utcnow
from models.server import MutationRecord, ServerDevice

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "bench")
SHARED_ADDRESS = "127.100.255.254"  # the one address of the NAT probe; never a simulated desk's own
SETUP_CONCURRENCY = 16  # enrolments in flight: setting up is not what is measured
Answer = TypeVar("Answer", bound=BaseModel)


# ----- the commands of a case, as a desk builds them -------------------------------------------------------------
@dataclass(frozen=True)
class BuiltCase:
    """A case created and accepted by the core actions, and its commands in order: (name, args, mutation id)."""

    case: Case
    commands: list[tuple[Mutation, dict[str, Any], uuid.UUID]]


def build_case(case_number: str, *, committee_id: uuid.UUID, device_code: str, actor: Acting,
               at: dt.datetime) -> BuiltCase:
    """What CaseService.create_draft + run(accept) enqueue: each event names its command, and the accept carries
    the command it was made after (issue 12)."""
    env = actions.SimpleEnv()
    create_id = new_id()
    env.audit = {commands.MUTATION_ID: str(create_id)}
    cmd = commands.CreateCaseArgs(
        id=new_id(), case_number=case_number, item_code=ITEM.code, item_name=ITEM.name,
        catalog_version=ITEM.catalog_version, department=ITEM.department, mode=ITEM.mode, data={"x": 1},
        origin_device_code=device_code, verification_code=secrets.token_hex(4).upper())
    case = actions.create_case(cmd, committee_id=committee_id, actor=actor, at=at, env=env)
    accept_id, after = new_id(), actions.last_mutation(case)
    env.audit = {commands.MUTATION_ID: str(accept_id)}
    accept = commands.SubmitArgs(case_id=case.id, case_number=case.case_number, data=case.data, materials={},
                                 missing=[])
    done = actions.perform(case, Action.ACCEPT, accept, actor=actor, at=at, env=env)
    return BuiltCase(case, [(Mutation.CASE_CREATE, cmd.wire(), create_id),
                            (Mutation.CASE_ACCEPT, {**done.command_args(case), commands.AFTER: after}, accept_id)])


def case_number(committee: str, device: str, at: dt.datetime, seq: int) -> str:
    """app/desk/cases.py next_case_number's form: ``<committee>-<device>-<yyyymmdd>-<seq>``."""
    return f"{committee}-{device}-{at.astimezone(CHINA_TZ).strftime('%Y%m%d')}-{seq:04d}"


# ----- one simulated desk ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DistrictShape:
    desks: int = 500  # two per committee
    cases_per_round: int = 5  # 10 commands
    steady_rounds: int = 2  # per desk
    steady_s: float = 60.0  # the steady run's length: the interval is compressed below DEFAULT_INTERVAL_S to fit
    pull_limit: int = DEFAULT_PULL_PAGE  # SyncClient's default page
    timeout_s: float = 30.0  # SyncClient's
    seed: int = 18
    prefix: str = "S"  # committee codes <prefix>0000…

    @property
    def interval_s(self) -> float:
        return min(DEFAULT_INTERVAL_S, self.steady_s / max(1, self.steady_rounds))


@dataclass
class SimDesk:
    index: int
    committee: str
    committee_id: uuid.UUID
    worker_id: uuid.UUID
    address: str
    http: httpx.AsyncClient
    device_id: str = ""
    device_code: str = ""
    token: str = ""
    cursor: str = "0"
    batches: list[str] = field(default_factory=list)  # each round's commands, JSON array items as sent
    batch_cases: list[list[str]] = field(default_factory=list)
    batch_last_mid: list[int] = field(default_factory=list)
    sent: int = 0  # batches the server has answered for
    pulled_cases: set[str] = field(default_factory=set)

    def headers(self, json_body: bool = False) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"}
        if json_body:
            h["Content-Type"] = "application/json"
        return h


@dataclass(frozen=True)
class RoundTime:
    desk: int
    start: float
    end: float
    requests: int
    ok: bool


class Failed(Exception):
    """A request the server did not answer as a desk expects; ``kind`` is what the error counts group by."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def desk_address(i: int) -> str:
    return f"127.100.{i // 200}.{i % 200 + 1}"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]  # nearest rank


def process_cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc), None where it cannot be read."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DistrictSimulator:
    """``shape.desks`` simulated desks against the server at ``server_url`` whose database is ``db``."""

    def __init__(self, db: ServerDB, server_url: str, shape: DistrictShape, *, server_pid: int | None = None):
        if shape.desks < 2 or shape.desks % 2:
            raise ValueError("desks come in pairs (two per committee)")
        self.db, self.url, self.shape, self.server_pid = db, server_url, shape, server_pid
        self.rng = random.Random(shape.seed)
        self.desks: list[SimDesk] = []
        self.errors: dict[str, Counter[str]] = {m: Counter() for m in ("setup", "steady", "burst", "catch_up")}
        self.events_per_case = 0

    # ----- setting up (untimed) -----------------------------------------------------------------------------------
    def add_committees(self) -> None:
        """The committees and one front-desk worker each, as ``server committee add`` / ``worker add`` make them."""
        password = hash_password("benchpass")
        for c in range(self.shape.desks // 2):
            code = f"{self.shape.prefix}{c:04d}"
            admin.add_committee(self.db, code, f"模拟居委会{c}")
            admin.add_worker(self.db, code, "desk", "前台", roles=["front_desk"], password_hash=password)
        codes = [f"{self.shape.prefix}{c:04d}" for c in range(self.shape.desks // 2)]
        with self.db.read_sessions() as s:
            rows = s.execute(select(Committee.code, Committee.id, Worker.id).join(Worker, Worker.committee_id ==
                                                                                  Committee.id)
                             .where(Committee.code.in_(codes), Worker.login == "desk")).all()
        ids = {code: (committee_id, worker_id) for code, committee_id, worker_id in rows}
        for i in range(self.shape.desks):
            code = codes[i // 2]
            self.desks.append(SimDesk(i, code, ids[code][0], ids[code][1], desk_address(i),
                                      self._client(desk_address(i))))

    async def enrol(self, desk: SimDesk, code: str) -> None:
        """Enrolment as app/desk/sync/enroll.py asks for it, then what the desk's first round does before its data:
        the snapshot's start (its cursor; the sim keeps no rows, so the pages are not read) and the token check."""
        body = EnrollRequest(code=code, committee_code=desk.committee, device_name=f"模拟前台{desk.index}")
        answer = await self._call(desk, "POST", Endpoint.ENROLL, EnrollResponse, auth=False, json=body.wire())
        desk.device_id, desk.device_code, desk.token = answer.device_id, answer.device_code, answer.token
        start = await self._call(desk, "GET", Endpoint.SNAPSHOT_START, SnapshotStart)
        desk.cursor = start.cursor
        renewal = await self._call(desk, "POST", Endpoint.TOKEN_RENEW, TokenRenewal)
        desk.token = renewal.token or desk.token

    def build_batches(self, rounds: int) -> None:
        """Every round's push body part of every desk, before any timing."""
        for desk in self.desks:
            actor = actions.Actor(id=desk.worker_id, roles=("front_desk",))
            mid = 0
            for _ in range(rounds):
                items: list[str] = []
                case_ids: list[str] = []
                for _ in range(self.shape.cases_per_round):
                    at = utcnow()
                    built = build_case(case_number(desk.committee, desk.device_code, at, len(case_ids) + 1 +
                                                   len(desk.batch_cases) * self.shape.cases_per_round),
                                       committee_id=desk.committee_id, device_code=desk.device_code,
                                       actor=actor, at=at)
                    self.events_per_case = len(built.case.events)
                    case_ids.append(str(built.case.id))
                    for name, args, mutation_id in built.commands:
                        mid += 1
                        m = MutationIn(mid=mid, mutation_id=mutation_id, name=name, args=args,
                                       acting_worker=desk.worker_id, client_time=at, clock_offset_s=0.0)
                        items.append(json.dumps(m.wire(), ensure_ascii=True, separators=(",", ":")))
                desk.batches.append(",".join(items))
                desk.batch_cases.append(case_ids)
                desk.batch_last_mid.append(mid)

    # ----- the network -------------------------------------------------------------------------------------------
    async def _call(self, desk: SimDesk, method: str, path: str, model: type[Answer], *, auth: bool = True,
                    **kw: Any) -> Answer:
        headers = desk.headers("content" in kw) if auth else {}
        try:
            resp = await desk.http.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as e:
            raise Failed(f"{path} {type(e).__name__}") from None
        if resp.status_code != 200:
            try:
                code = ErrorBody.model_validate_json(resp.content).detail.error
            except ValidationError:
                code = ""
            raise Failed(f"{path} {resp.status_code} {code}".rstrip())
        try:
            return model.model_validate_json(resp.content)
        except ValidationError:
            raise Failed(f"{path} answer does not fit {model.__name__}") from None

    def _push_body(self, desk: SimDesk, upto: int) -> str:
        now = utcnow().isoformat()
        items = ",".join(desk.batches[desk.sent:upto])
        return f'{{"device_id":{json.dumps(desk.device_id)},"client_now":"{now}","mutations":[{items}]}}'

    async def _push(self, desk: SimDesk, upto: int) -> None:
        answer = await self._call(desk, "POST", Endpoint.PUSH, PushResponse, content=self._push_body(desk, upto))
        desk.sent, expected_mid = upto, desk.batch_last_mid[upto - 1]
        not_applied = [r for r in answer.results if r.status != ResultStatus.APPLIED]
        if not_applied:
            raise Failed(f"push: {len(not_applied)} {not_applied[0].status}: {not_applied[0].reason[:60]}")
        if answer.last_mid != expected_mid:
            raise Failed(f"push: last_mid {answer.last_mid}, expected {expected_mid}")

    async def _pull(self, desk: SimDesk) -> int:
        pages = 0
        while True:
            query = PullQuery(cursor=desk.cursor, limit=self.shape.pull_limit)
            page = await self._call(desk, "GET", Endpoint.PULL, PullPage, params=query.wire())
            pages += 1
            desk.cursor = page.next_cursor
            desk.pulled_cases.update(c.id for c in page.changes if c.entity == "case")
            if not page.has_more:
                return pages

    async def round(self, desk: SimDesk, upto: int, mode: str) -> RoundTime:
        """One sync round: push the batches up to ``upto`` not yet answered (nothing when none), then pull."""
        start, requests, ok = time.perf_counter(), 0, True
        try:
            if desk.sent < upto:
                requests += 1
                await self._push(desk, upto)
            requests += await self._pull(desk)
        except Failed as e:
            self.errors[mode][e.kind] += 1
            ok = False
        return RoundTime(desk.index, start, time.perf_counter(), requests, ok)

    # ----- the modes ---------------------------------------------------------------------------------------------
    async def steady(self) -> dict[str, Any]:
        interval, rounds = self.shape.interval_s, self.shape.steady_rounds
        times: list[RoundTime] = []

        async def desk_day(desk: SimDesk, phase: float) -> None:
            await asyncio.sleep(phase)
            for r in range(rounds):
                times.append(await self.round(desk, r + 1, "steady"))
                if r + 1 < rounds:
                    await asyncio.sleep(interval)  # the runner's timer starts once the round has ended

        phases = [self.rng.uniform(0, interval) for _ in self.desks]
        figures, took = await self._measured(lambda: asyncio.gather(*(desk_day(d, p) for d, p in
                                                                      zip(self.desks, phases, strict=True))))
        requests = sum(t.requests for t in times)
        return {**_round_figures(times), **figures, "interval_s": round(interval, 2),
                "compression": round(DEFAULT_INTERVAL_S / interval, 2), "rounds_per_desk": rounds,
                "duration_s": round(took, 1), "requests": requests, "requests_per_s": round(requests / took, 1),
                "rounds_per_s": round(len(times) / took, 1),
                # what the same load would be with every desk at its real interval
                "equivalent_desks_at_real_interval": round(len(self.desks) * DEFAULT_INTERVAL_S / interval),
                "errors": sum(self.errors["steady"].values()), "error_kinds": dict(self.errors["steady"])}

    async def burst(self) -> dict[str, Any]:
        upto = self.shape.steady_rounds + 1
        times: list[RoundTime] = []
        await self._new_connections()
        start = time.perf_counter()

        async def all_at_once() -> None:
            times.extend(await asyncio.gather(*(self.round(d, upto, "burst") for d in self.desks)))

        figures, _ = await self._measured(all_at_once)
        requests = sum(t.requests for t in times)
        last = max(t.end for t in times) - start
        return {**_round_figures(times), **figures, "last_done_s": round(last, 2), "requests": requests,
                "requests_per_s": round(requests / last, 1), "errors": sum(self.errors["burst"].values()),
                "error_kinds": dict(self.errors["burst"])}

    async def _new_connections(self) -> None:
        """After an outage no desk holds a live connection: every one connects afresh. (A connection kept from an
        earlier part, idle for about the server's keep-alive timeout of 5 s — httpx keeps one as long —, can be
        closed by the server just as the desk sends on it: ReadError / RemoteProtocolError, seen in the first full
        run. A real desk, 30 s between rounds, starts each round on a new connection.)"""
        for desk in self.desks:
            await desk.http.aclose()
            desk.http = self._client(desk.address)

    def _client(self, address: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, transport=httpx.AsyncHTTPTransport(local_address=address),
                                 timeout=httpx.Timeout(self.shape.timeout_s, connect=10.0))

    async def _measured(self, run: Callable[[], Awaitable[Any]]) -> tuple[dict[str, Any], float]:
        """Wall time of ``run`` and the CPU seconds this process and the server process used meanwhile: on a small
        box the simulator's own work competes with the server's."""
        load = os.getloadavg()[0]  # others' work on this box shows here
        cpu0, srv0, t0 = time.process_time(), process_cpu_s(self.server_pid), time.perf_counter()
        await run()
        took = time.perf_counter() - t0
        srv1 = process_cpu_s(self.server_pid)
        server = round(srv1 - srv0, 1) if srv0 is not None and srv1 is not None else None
        return {"sim_cpu_s": round(time.process_time() - cpu0, 1), "server_cpu_s": server,
                "load_avg_before": round(load, 2), "load_avg_after": round(os.getloadavg()[0], 2)}, took

    async def catch_up(self) -> None:
        """Untimed: everything still unsent is pushed (a failed round left some behind), then, once every desk has
        pushed, everything new is pulled."""
        total = len(self.desks[0].batches)
        for _ in range(2):
            await self._new_connections()  # the untimed parts must not meet an expiring keep-alive either
            await asyncio.gather(*(self.round(d, total, "catch_up") for d in self.desks))

    async def resend_last(self) -> dict[str, int]:
        """Every desk pushes its last batch again, as after an answer lost on the way: all must come back
        ``duplicate`` and nothing may run twice (counted by :meth:`verify`)."""
        limit, counts = asyncio.Semaphore(50), Counter[str]()
        await self._new_connections()

        async def again(desk: SimDesk) -> None:
            async with limit:
                desk.sent -= 1
                try:
                    answer = await self._call(desk, "POST", Endpoint.PUSH, PushResponse,
                                              content=self._push_body(desk, desk.sent + 1))
                except Failed as e:
                    counts[e.kind] += 1
                    return
                finally:
                    desk.sent += 1
                counts["duplicate"] += sum(1 for r in answer.results if r.duplicate)
                counts["not_duplicate"] += sum(1 for r in answer.results if not r.duplicate)

        await asyncio.gather(*(again(d) for d in self.desks))
        return {"commands": len(self.desks) * 2 * self.shape.cases_per_round, **counts}

    async def shared_address(self) -> dict[str, Any]:
        """Every desk's token check (POST token/renew, which a desk's first round makes) from one address at once,
        as if the district's desks reached the server through one NAT: how many the server refuses with 429."""
        transport = httpx.AsyncHTTPTransport(local_address=SHARED_ADDRESS)
        async with httpx.AsyncClient(base_url=self.url, transport=transport, timeout=self.shape.timeout_s,
                                     limits=httpx.Limits(max_connections=50)) as http:
            async def renew(desk: SimDesk) -> int:
                try:
                    resp = await http.post(Endpoint.TOKEN_RENEW, headers=desk.headers())
                except httpx.HTTPError:
                    return 0
                return resp.status_code

            statuses = Counter(await asyncio.gather(*(renew(d) for d in self.desks)))
        return {"renewals": len(self.desks), "ok": statuses.get(200, 0), "refused_429": statuses.get(429, 0),
                "other": sum(n for s, n in statuses.items() if s not in (200, 429))}

    # ----- checks ------------------------------------------------------------------------------------------------
    def partner_check(self) -> dict[str, int]:
        """Each desk's pulled changes hold every case its partner desk (same committee) and it itself pushed."""
        missing = 0
        for desk in self.desks:
            partner = self.desks[desk.index ^ 1]
            wanted = {c for batch in partner.batch_cases + desk.batch_cases for c in batch}
            missing += bool(wanted - desk.pulled_cases)
        return {"desks_checked": len(self.desks), "desks_missing_cases": missing}

    def verify(self) -> dict[str, Any]:
        """The server's database counted: every pushed case there once with the events of one create and one
        accept, every command recorded applied once, nothing else in the simulated committees."""
        return verify_applied(self.db, self.desks, self.events_per_case)

    # ----- the whole run -----------------------------------------------------------------------------------------
    async def _run_async(self, codes: list[str]) -> dict[str, Any]:
        limit = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def setup(desk: SimDesk, code: str) -> None:
            async with limit:
                try:
                    await self.enrol(desk, code)
                except Failed as e:
                    self.errors["setup"][e.kind] += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(setup(d, c) for d, c in zip(self.desks, codes, strict=True)))
        if self.errors["setup"]:
            raise RuntimeError(f"simulated desks could not enrol: {dict(self.errors['setup'])}")
        setup_s = time.perf_counter() - t0
        self.build_batches(self.shape.steady_rounds + 1)
        steady = await self.steady()
        burst = await self.burst()
        await self.catch_up()
        resend = await self.resend_last()
        shared = await self.shared_address()
        for desk in self.desks:
            await desk.http.aclose()
        return {"setup_s": round(setup_s, 1), "steady": steady, "burst": burst, "resend": resend,
                "shared_address": shared}

    def run(self) -> dict[str, Any]:
        """Set up, run both modes, check; the figures as plain JSON values."""
        self.add_committees()
        codes = [admin.create_enroll_code(self.db, d.committee)[0] for d in self.desks]
        out = asyncio.run(self._run_async(codes))
        exactly_once, partners = self.verify(), self.partner_check()
        # A command pushed again that the server does not answer as a duplicate is an error like any refusal.
        resent_wrong = sum(n for kind, n in out["resend"].items() if kind not in ("commands", "duplicate"))
        errors = sum(sum(c.values()) for c in self.errors.values()) + resent_wrong
        return {"desks": len(self.desks), "committees": len(self.desks) // 2,
                "commands_per_round": 2 * self.shape.cases_per_round,
                "round_median_ms": out["steady"]["round_median_ms"], "round_p95_ms": out["steady"]["round_p95_ms"],
                "errors": errors, "catch_up_errors": dict(self.errors["catch_up"]), **out,
                "exactly_once": exactly_once, "partner_cases": partners}


def _round_figures(times: list[RoundTime]) -> dict[str, Any]:
    done = [t.end - t.start for t in times if t.ok]
    if not done:
        return {"rounds": len(times), "rounds_failed": len(times)}
    return {"rounds": len(times), "rounds_failed": len(times) - len(done),
            "round_median_ms": _ms(statistics.median(done)), "round_p95_ms": _ms(_p95(done)),
            "round_max_ms": _ms(max(done))}


def verify_applied(db: ServerDB, desks: Sequence[SimDesk], events_per_case: int) -> dict[str, Any]:
    """Count on the server what ``desks`` pushed: each case once, ``events_per_case`` events each, each command
    recorded applied once under its device; ``ok`` only when every count is what was pushed."""
    committees = sorted({d.committee_id for d in desks})
    devices = [uuid.UUID(d.device_id) for d in desks]
    pushed = {c for d in desks for batch in d.batch_cases[:d.sent] for c in batch}
    commands_pushed = sum(d.batch_last_mid[d.sent - 1] for d in desks if d.sent)
    with db.read_sessions() as s:
        on_server = {str(i) for i in s.scalars(select(Case.id).where(Case.committee_id.in_(committees)))}
        per_case = (select(CaseEvent.case_id, func.count().label("n")).join(Case, Case.id == CaseEvent.case_id)
                    .where(Case.committee_id.in_(committees)).group_by(CaseEvent.case_id).subquery())
        events = s.scalar(select(func.coalesce(func.sum(per_case.c.n), 0))) or 0
        odd = s.scalar(select(func.count()).select_from(per_case).where(per_case.c.n != events_per_case)) or 0
        records = dict(s.execute(select(MutationRecord.status, func.count()).where(
            MutationRecord.device_id.in_(devices)).group_by(MutationRecord.status)).tuples().all())
        last_mids = s.scalar(select(func.sum(ServerDevice.last_mid)).where(ServerDevice.id.in_(devices))) or 0
    applied = records.get(ResultStatus.APPLIED.value, 0)
    result = {"cases_pushed": len(pushed), "cases_on_server": len(on_server),
              "cases_missing": len(pushed - on_server), "cases_unexpected": len(on_server - pushed),
              "events": int(events), "events_expected": len(pushed) * events_per_case,
              "cases_with_wrong_events": int(odd), "commands_pushed": commands_pushed, "commands_applied": applied,
              "commands_not_applied": sum(n for st, n in records.items() if st != ResultStatus.APPLIED.value),
              "server_last_mids": int(last_mids)}
    result["ok"] = (result["cases_missing"] == result["cases_unexpected"] == result["cases_with_wrong_events"] ==
                    result["commands_not_applied"] == 0 and len(pushed) == len(on_server) and
                    result["events"] == result["events_expected"] and applied == commands_pushed == last_mids)
    return result


def run_desks(db: ServerDB, server_url: str, shape: DistrictShape, *, server_pid: int | None = None) -> dict:
    """The simulated district against a running server; see the module's docstring."""
    return DistrictSimulator(db, server_url, shape, server_pid=server_pid).run()


# ----- printing ----------------------------------------------------------------------------------------------------
def print_desks(backend: str, r: dict[str, Any]) -> None:
    """The simulated district's figures in Chinese, one line per part."""
    st, bu, once, nat, pc = r["steady"], r["burst"], r["exactly_once"], r["shared_address"], r["partner_cases"]
    tag = f"[{backend}]"
    compressed = (f"（压缩 {st['compression']} 倍，相当于 {st['equivalent_desks_at_real_interval']} 台按实际间隔）"
                  if st["compression"] > 1 else "")
    print(f"{tag} {r['desks']} 台模拟前台（{r['committees']} 个居委会 × 2）平稳同步：每台每 {st['interval_s']} 秒一轮"
          f"{compressed}，{st['duration_s']} 秒内 {st['rounds']} 轮、{st['requests']} 次请求"
          f"（{st['requests_per_s']} 次/秒）；每轮（上传 {r['commands_per_round']} 条操作并拉取）中位数 "
          f"{st.get('round_median_ms')} ms，p95 {st.get('round_p95_ms')} ms，最长 {st.get('round_max_ms')} ms；"
          f"错误 {st['errors']}（目标：中位数 < 300 ms，p95 < 1000 ms，无错误）")
    print(f"{tag} 同一时刻全部开始（停机后的早晨）：每轮中位数 {bu.get('round_median_ms')} ms，"
          f"p95 {bu.get('round_p95_ms')} ms，最长 {bu.get('round_max_ms')} ms，最后一台 {bu['last_done_s']} 秒完成；"
          f"错误 {bu['errors']}")
    for mode, label in (("steady", "平稳"), ("burst", "同时")):
        if r[mode]["errors"]:
            print(f"{tag}   {label}同步的错误：{r[mode]['error_kinds']}")
    resent, once_ok = ("否" if r["resend"].get("not_duplicate") else "是"), ("是" if once["ok"] else "否")
    print(f"{tag} 核对：服务器上 {once['cases_on_server']} 件案件（上传 {once['cases_pushed']} 件），"
          f"{once['commands_applied']} 条操作已执行（上传 {once['commands_pushed']} 条），"
          f"重发的 {r['resend']['commands']} 条全部按重复处理：{resent}；每条恰好执行一次：{once_ok}；"
          f"{pc['desks_checked'] - pc['desks_missing_cases']}/{pc['desks_checked']} 台前台拉取到同伴前台的全部案件")
    print(f"{tag} 模拟器本进程 CPU 平稳 {st['sim_cpu_s']} 秒 / 同时 {bu['sim_cpu_s']} 秒，服务器进程 CPU "
          f"{st['server_cpu_s']} / {bu['server_cpu_s']} 秒（与服务器、数据库共用本机 {os.cpu_count()} 核；"
          f"开始时系统负载 {st['load_avg_before']} / {bu['load_avg_before']}）")
    if nat["refused_429"]:
        print(f"{tag} 注意：若全部前台经同一地址（NAT）访问，{nat['renewals']} 次令牌续期中 "
              f"{nat['refused_429']} 次被限流（429，app/server/ratelimit.py TOKEN_RENEW_PER_IP）")
