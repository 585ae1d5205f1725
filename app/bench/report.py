"""``bench report``: the 统计 figures, the 台账 and the workbook of a committee's year of 150,000 cases.

A generator writes one committee's year (2025, ≈12,500 cases a month) with the events the real actions record
(create, accept, resolve on the spot, or forward → acknowledge → reply → close, some re-forwarded, withdrawn,
refused, still open and overdue; 容缺/告知承诺; ratings with their follow-ups; 催办) into a desk database with
SQLAlchemy Core ``insert()`` executemany in large batches, and caches it under the temp folder keyed by size,
generator version and schema head, so a second run measures at once. Then it times, with repeats, medians:
``stats.compute`` of a month (each breakdown) and of the year, ``stats.ledger`` of the year, and the year's
workbook (one reading of the year gives its rows and its figures, then the file), against floors measured in the
same run (the month's cases and events read with bare SQL from the tables, and from the covering indexes the
statistics read). Figures are printed, never asserted; ``--json FILE`` writes them.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from stdnum.cn import ric

from app.core.ratings import FollowupDays
from app.core.vocabulary import CHINA_TZ, RATING_REASONS, AcceptanceMode, Action, RatingLevel, State
from app.core.workdays import DEFAULT_CLOSE_OF_BUSINESS, CalendarStore, WorkCalendar, compute_deadline
from app.desk.auth import hash_password
from app.desk.context import AppContext
from app.desk.setup import FirstRunInput, initialise_desk
from models import Case, CaseEvent, Resident, Worker

GENERATOR_VERSION = 1  # bump when the generated data changes: the cached databases are then made again
FULL_CASES = 150_000
QUICK_CASES = 15_000
YEAR = 2025
MONTH = 11  # the month timed (2025-11: a whole month with no holiday but the weekends)
# The bench's "now": a working morning after the generated year, so the last weeks still hold open, overdue cases.
NOW = dt.datetime(2026, 1, 6, 10, 0, tzinfo=CHINA_TZ)
BATCH = 20_000
PASSWORD = "benchpass"
COMMITTEE = FirstRunInput(committee_name="基准测试居委会", committee_code="320302099", admin_login="admin",
                          admin_name="管理员", admin_password=PASSWORD)

# code, name, department, mode: a mix of the catalog's busy items (即办 and 转办)
ITEMS: tuple[tuple[str, str, str, str], ...] = (
    ("MZ-01", "高龄老人尊老金申领", "民政", "转办"), ("MZ-02", "最低生活保障申请", "民政", "转办"),
    ("MZ-03", "低保/特困年度复核、变更申报", "民政", "转办"), ("MZ-05", "临时救助申请", "民政", "转办"),
    ("MZ-09", "经济困难老年人养老服务补贴申请", "民政", "转办"), ("MZ-12", "老年人优待证申领", "民政", "即办"),
    ("MZ-15", "居委会出具证明（限保留证明事项清单）", "居委会", "即办"), ("CL-01", "残疾人证新办", "残联", "转办"),
    ("CL-04", "重度残疾人护理补贴申请", "民政", "转办"), ("RS-02", "城乡居民基本养老保险待遇领取申请", "人社", "转办"),
    ("RS-03", "养老保险待遇领取资格认证", "人社", "即办"), ("RS-07", "失业登记", "人社", "即办"),
    ("RS-11", "社会保障卡申领、补领、换领", "人社", "转办"),
    ("YB-01", "城乡居民基本医疗保险参保登记（含新生儿）", "医保", "即办"),
    ("YB-03", "医疗救助申请", "医保", "转办"), ("WJ-06", "育儿补贴申领", "卫健", "转办"),
    ("WJ-09", "家庭医生签约", "卫健", "即办"), ("GA-01", "居住登记", "公安", "即办"),
    ("GA-02", "居住证申领", "公安", "转办"), ("FG-02", "公共租赁住房申请", "住建", "转办"),
)
ON_SPOT = tuple(i for i in ITEMS if i[3] == "即办")
TO_FORWARD = tuple(i for i in ITEMS if i[3] == "转办")
# login, name, roles, lines
WORKERS: tuple[tuple[str, str, list[str], list[str]], ...] = (
    ("desk1", "前台一", ["front_desk"], []), ("desk2", "前台二", ["front_desk"], []),
    ("desk3", "前台三", ["front_desk"], []), ("desk4", "前台四", ["front_desk"], []),
    ("mz1", "民政一", ["line"], ["民政", "居委会"]), ("mz2", "民政二", ["line"], ["民政"]),
    ("rs1", "人社一", ["line"], ["人社", "医保"]), ("cl1", "残联一", ["line"], ["残联", "卫健"]),
    ("fg1", "住建一", ["line"], ["住建", "公安"]), ("boss", "站长", ["supervisor", "front_desk"], []),
)
# first-rating level mix (GB/T 39734 five levels); reasons are ticked for 基本满意 and below
LEVELS = ([RatingLevel.VERY_SATISFIED] * 62 + [RatingLevel.SATISFIED] * 25 + [RatingLevel.BASIC] * 9
          + [RatingLevel.DISSATISFIED] * 3 + [RatingLevel.VERY_DISSATISFIED] * 1)
MIN, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)


# ----- the generator -------------------------------------------------------------------------------------------
@dataclass
class _Staff:
    desk: list[uuid.UUID]
    by_line: dict[str, list[uuid.UUID]]
    boss: uuid.UUID


class _CaseBuilder:
    """One case's row and events. The lifecycle is built forward in time; ratings, follow-ups and reminders are
    dated on their own, so :meth:`finish` puts the history in time order and gives each event its states."""

    def __init__(self, gen: _Generator, row: dict[str, Any]) -> None:
        self.gen, self.row = gen, row
        self.events: list[dict[str, Any]] = []
        self.state: str | None = None

    def event(self, action: Action, at: dt.datetime, worker: uuid.UUID | None, to: str | None = None,
              note: str = "", **detail: Any) -> None:
        """``to``: the state the action moves the case to; None for one that leaves it (rate, remind, …)."""
        detail["mutation_id"] = str(self.gen.uid())
        self.events.append({"id": self.gen.uid(), "case_id": self.row["id"], "seq": 0, "at": at,
                            "worker_id": worker, "action": str(action), "from_state": None, "to_state": to,
                            "note": note, "detail": detail})
        if to is not None:
            self.state = to

    def finish(self) -> None:
        state: str | None = None
        self.events.sort(key=lambda e: e["at"])  # stable: same-instant events keep the order they were made in
        for seq, e in enumerate(self.events, 1):
            e["seq"], e["from_state"] = seq, state
            if e["to_state"] is None:
                e["to_state"] = state or ""
            state = e["to_state"]
        self.row.update(state=state or "", updated_at=self.events[-1]["at"], version=len(self.events))


class _Generator:
    def __init__(self, calendar: WorkCalendar, committee_id: uuid.UUID, staff: _Staff, residents: list[uuid.UUID],
                 seed: int = 16) -> None:
        self.cal, self.committee_id, self.staff, self.residents = calendar, committee_id, staff, residents
        self.rng = random.Random(seed)
        self._due: dict[tuple[dt.date, int], dt.datetime] = {}
        self.days = FollowupDays()

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def due(self, at: dt.datetime, days: int = 2) -> dt.datetime:
        """The real deadline (app.core.workdays.compute_deadline), memoised by the local day it depends on."""
        key = (at.astimezone(CHINA_TZ).date(), days)
        if key not in self._due:
            self._due[key] = compute_deadline(at, self.cal, days=days, close_of_business=DEFAULT_CLOSE_OF_BUSINESS).due
        return self._due[key]

    def days_of_year(self, n_cases: int) -> list[tuple[dt.date, int]]:
        """Cases per working day of the year (a few on Saturdays: 周六值班), summing to ``n_cases``."""
        day, weights = dt.date(YEAR, 1, 1), []
        while day.year == YEAR:
            w = self.rng.uniform(0.7, 1.3) if self.cal.is_working_day(day) else (0.15 if day.weekday() == 5 else 0)
            weights.append((day, w))
            day += DAY
        total = sum(w for _d, w in weights)
        counts = [(d, int(n_cases * w / total)) for d, w in weights]
        short = n_cases - sum(c for _d, c in counts)
        working = [i for i, (_d, c) in enumerate(counts) if c > 0] or [0]
        for k in range(short):
            i = working[k % len(working)]
            counts[i] = (counts[i][0], counts[i][1] + 1)
        return counts

    def office_time(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(8, 30), tzinfo=CHINA_TZ) + self.rng.uniform(0, 500) * MIN

    def case(self, day: dt.date, seq: int) -> _CaseBuilder:
        rng = self.rng
        code, name, dept, mode = rng.choice(ON_SPOT if rng.random() < 0.45 else TO_FORWARD)
        created = self.office_time(day)
        row: dict[str, Any] = {
            "id": self.uid(), "committee_id": self.committee_id,
            "case_number": f"{COMMITTEE.committee_code}-D01-{day:%Y%m%d}-{seq:04d}", "item_code": code,
            "item_name": name, "catalog_version": "bench", "department": dept, "mode": mode, "state": "",
            "applicant_id": rng.choice(self.residents), "data": {}, "materials": {}, "draft_step": 0,
            "created_by_id": rng.choice(self.staff.desk), "origin_device_code": "D01", "verification_code": "BENCH",
            "created_at": created, "updated_at": created, "version": 0, "acceptance_mode": "",
            "makeup_materials": [], "rating_reasons": [], "rating_channel": "", "remind_count": 0,
            "kind": "service", "block_code": ""}
        b = _CaseBuilder(self, row)
        desk = row["created_by_id"]
        b.event(Action.CREATE_DRAFT, created, desk, State.DRAFT)
        r = rng.random()
        if r < 0.02:  # refused at the window: never accepted, no case of any period
            b.event(Action.REFUSE, created + 8 * MIN, desk, State.REFUSED, reason="不符合申请条件")
            row["refusal_reason"], row["closed_at"] = "不符合申请条件", created + 8 * MIN
            return b
        if r < 0.03:  # 一次性告知: waiting for materials
            b.event(Action.AWAIT_MATERIALS, created + 10 * MIN, desk, State.PENDING_MATERIALS, missing=["户口簿"])
            return b
        accepted = created + rng.uniform(3, 20) * MIN
        flex = rng.random()
        detail: dict[str, Any] = {}
        if flex < 0.03:
            row.update(acceptance_mode=str(AcceptanceMode.DEFERRED), makeup_materials=["户口簿复印件"],
                       makeup_due=(accepted + 7 * DAY).astimezone(CHINA_TZ).date())
            detail = {"acceptance_mode": str(AcceptanceMode.DEFERRED), "makeup_materials": ["户口簿复印件"]}
        elif flex < 0.05:
            row.update(acceptance_mode=str(AcceptanceMode.PLEDGE), pledge_text="本人承诺所填信息真实")
            detail = {"acceptance_mode": str(AcceptanceMode.PLEDGE)}
        row["accepted_at"] = accepted
        b.event(Action.ACCEPT, accepted, desk, State.ACCEPTED, **detail)
        r = rng.random()
        if r < 0.02:
            b.event(Action.WITHDRAW, accepted + 15 * MIN, desk, State.WITHDRAWN, note="居民决定暂不申请")
            row["closed_at"] = accepted + 15 * MIN
        elif r < 0.03:
            b.event(Action.REFUSE, accepted + 20 * MIN, desk, State.REFUSED, reason="材料不符合要求")
            row["refusal_reason"], row["closed_at"] = "材料不符合要求", accepted + 20 * MIN
        elif r < 0.035:
            pass  # 在办: accepted, no outcome chosen yet (waiting for a colleague's advice)
        elif mode == "即办":
            done = accepted + rng.uniform(4, 30) * MIN
            b.event(Action.RESOLVE, done, desk, State.RESOLVED, result_text="已办结")
            row["result_text"], row["closed_at"] = "已办结", done
            self.rate(b, done, desk)
        else:
            self.forwarded(b, accepted + rng.uniform(2, 12) * MIN, desk, dept)
        return b

    def forwarded(self, b: _CaseBuilder, at: dt.datetime, desk: uuid.UUID, dept: str) -> None:
        rng, row = self.rng, b.row
        rated = False
        for round_ in range(3):
            line = rng.choice(self.staff.by_line[dept])
            due = self.due(at)
            queue_only = rng.random() < 0.2
            assignee = None if queue_only else line
            row.update(assignee_id=assignee, assignee_queue=dept, forwarded_by_id=desk, forwarded_at=at, due_at=due,
                       deadline_provisional=False, acknowledged_at=None, forward_note="请审核")
            b.event(Action.FORWARD, at, desk, State.FORWARDED, assignee_id=str(assignee) if assignee else None,
                    queue=dept, due_at=due.isoformat(), provisional=False, forwarded_at=at.isoformat())
            if round_ == 0 and rng.random() < 0.55:  # rated at the desk with the receipt (转办 accepted)
                rated = True
                self.rate(b, at + 2 * MIN, desk)
            if rng.random() < 0.01 and at + 30 * DAY < NOW:  # withdrawn while the department works on it
                end = at + rng.uniform(1, 5) * DAY
                b.event(Action.WITHDRAW, end, desk, State.WITHDRAWN, note="居民撤回申请")
                row["closed_at"] = end
                return
            ack = at + rng.uniform(0.5, 20) * HOUR
            if ack > NOW:
                return
            row.update(assignee_id=line, acknowledged_at=ack)
            b.event(Action.ACKNOWLEDGE, ack, line, assignee_id=str(line))
            r = rng.random()
            if r < 0.85:  # on time: before the deadline
                replied = ack + (due - ack) * rng.uniform(0.05, 0.98) if due > ack else ack + 10 * MIN
            elif r < 0.88:  # on the due day, after close of business: late
                replied = due + rng.uniform(5, 120) * MIN
            elif r < 0.995:
                replied = due + rng.uniform(0.1, 4) * DAY
            else:  # forgotten: still open long after its deadline
                replied = NOW + DAY
            if replied > NOW:
                self.remind(b, due, desk)
                return
            again = round_ < 2 and rng.random() < 0.05
            result = "need_more" if again else rng.choice(("approved",) * 9 + ("refused",))
            row.update(replied_at=replied, reply_result=result, reply_text="经审核，已办理")
            b.event(Action.REPLY, replied, line, State.REPLIED, result=result, text="经审核，已办理", attachments=[])
            if again:
                at = replied + rng.uniform(0.5, 24) * HOUR
                if at > NOW:
                    return
                continue
            closed = replied + rng.uniform(0.5, 48) * HOUR
            if closed > NOW:
                return
            row.update(inform_method="phone", closed_at=closed)
            b.event(Action.CLOSE, closed, desk, State.CLOSED, inform_method="phone")
            if not rated:
                self.rate(b, closed, desk)
            return

    def remind(self, b: _CaseBuilder, due: dt.datetime, desk: uuid.UUID) -> None:
        """Open past its deadline: the supervisor or the desk sends a 催办 on some (once or twice)."""
        if due >= NOW or self.rng.random() < 0.5:
            return
        for k in range(self.rng.choice((1, 1, 2))):
            at = due + (k + 1) * self.rng.uniform(0.5, 1.5) * DAY
            if at >= NOW:
                return
            b.row["reminded_at"], b.row["remind_count"] = at, b.row["remind_count"] + 1
            b.event(Action.REMIND, at, self.staff.boss, note="请尽快答复", remind_count=b.row["remind_count"])

    def rate(self, b: _CaseBuilder, at: dt.datetime, desk: uuid.UUID) -> None:
        """一次一评 on ~70 % of the cases finished at the desk; a bad one gets its follow-up."""
        rng, row = self.rng, b.row
        if rng.random() >= 0.7 or at > NOW:
            return
        level = rng.choice(LEVELS)
        channel = "qr" if rng.random() < 0.1 else "desk"
        at = at + (rng.uniform(1, 72) * HOUR if channel == "qr" else MIN)
        if at > NOW:
            return
        reasons = rng.sample(RATING_REASONS[:-1], rng.choice((1, 1, 2))) if level != RatingLevel.VERY_SATISFIED \
            and level != RatingLevel.SATISFIED else []
        row.update(rating=str(level), rated_at=at, rating_channel=channel, rating_reasons=reasons, rating_note="")
        detail: dict[str, Any] = {"level": str(level), "round": 1, "channel": channel, "reasons": reasons,
                                  "comment": ""}
        if not level.bad:
            b.event(Action.RATE, at, None if channel == "qr" else desk, **detail)
            return
        callback_due, fix_due = self.due(at, self.days.callback_days), self.due(at, self.days.fix_days)
        row.update(followup_callback_due=callback_due, followup_fix_due=fix_due)
        b.event(Action.RATE, at, None if channel == "qr" else desk, followup_callback_due=callback_due.isoformat(),
                followup_fix_due=fix_due.isoformat(), **detail)
        boss = self.staff.boss
        early = rng.random() < 0.9
        called = callback_due - rng.uniform(1, 20) * HOUR if early else callback_due + rng.uniform(1, 3) * DAY
        called = max(called, at + 30 * MIN)
        if called > NOW:
            return
        row.update(followup_called_at=called, followup_call_note="已电话回访", followup_by_id=boss)
        b.event(Action.FOLLOWUP_CALLBACK, called, boss, note="已电话回访", called_at=called.isoformat())
        fixed = called + rng.uniform(1, 12) * DAY
        if fixed > NOW or rng.random() < 0.05:
            return
        row.update(followup_fixed_at=fixed, followup_fix_note="已整改")
        b.event(Action.FOLLOWUP_FIX, fixed, boss, note="已整改", fixed_at=fixed.isoformat())
        if rng.random() < 0.6:
            second = fixed + rng.uniform(1, 48) * HOUR
            if second <= NOW:
                level2 = rng.choice((RatingLevel.SATISFIED, RatingLevel.BASIC, RatingLevel.VERY_SATISFIED))
                row.update(second_rating=str(level2), second_rated_at=second)
                b.event(Action.RATE, second, boss, level=str(level2), round=2, channel="phone")


def _staff(ctx: AppContext, committee_id: uuid.UUID) -> _Staff:
    pw, now = hash_password(PASSWORD), NOW
    rows = [{"id": uuid.uuid4(), "committee_id": committee_id, "login": login, "display_name": name,
             "password_hash": pw, "roles": roles, "lines": lines, "phone": "", "active": True, "failed_attempts": 0,
             "created_at": now, "updated_at": now, "version": 1} for login, name, roles, lines in WORKERS]
    with ctx.engine.begin() as conn:
        conn.execute(insert(Worker), rows)
    by_login: dict[Any, Any] = {r["login"]: r["id"] for r in rows}
    by_line: dict[str, list[uuid.UUID]] = {}
    for login, _n, _r, lines in WORKERS:
        for line in lines:
            by_line.setdefault(line, []).append(by_login[login])
    return _Staff(desk=[by_login[f"desk{i}"] for i in range(1, 5)] + [by_login["boss"]], by_line=by_line,
                  boss=by_login["boss"])


def _residents(ctx: AppContext, committee_id: uuid.UUID, n: int) -> list[uuid.UUID]:
    now, rows = NOW, []
    for i in range(n):
        body = f"3203{i // 21000:02d}{1930 + i % 80}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        rows.append({"id": uuid.uuid4(), "committee_id": committee_id, "name": f"居民{i}", "name_pinyin": f"jumin{i}",
                     "id_number": body + ric.calc_check_digit(body + "0"), "sex": "男", "phone": f"139{i:08d}",
                     "address": "", "household_no": "", "local_hukou": True, "notes": "", "created_at": now,
                     "updated_at": now, "version": 1})
    with ctx.engine.begin() as conn:
        for k in range(0, n, BATCH):
            conn.execute(insert(Resident), rows[k:k + BATCH])
    return [r["id"] for r in rows]  # type: ignore[misc]


_CASE_KEYS = [c.key for c in Case.__table__.columns]


def generate(ctx: AppContext, n_cases: int) -> dict[str, int]:
    """Write the year into the (initialised) desk of ``ctx``; returns how many cases and events it wrote."""
    committee_id = ctx.identity().committee_id
    staff = _staff(ctx, committee_id)
    residents = _residents(ctx, committee_id, max(500, n_cases // 8))
    gen = _Generator(CalendarStore(ctx.data_dir).calendar, committee_id, staff, residents)
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    n_events = 0

    def flush() -> None:
        with ctx.engine.begin() as conn:
            conn.execute(insert(Case), [{k: row.get(k) for k in _CASE_KEYS} | _defaults(row) for row in cases])
            conn.execute(insert(CaseEvent), events)
        cases.clear()
        events.clear()

    for day, count in gen.days_of_year(n_cases):
        for seq in range(1, count + 1):
            b = gen.case(day, seq)
            b.finish()
            cases.append(b.row)
            events.extend(b.events)
            n_events += len(b.events)
        if len(cases) >= BATCH:
            flush()
    if cases:
        flush()
    return {"cases": n_cases, "events": n_events}


_TEXT_DEFAULTS = ("forward_note", "reply_text", "result_text", "refusal_reason", "redirect_to", "warning_note",
                  "pledge_text", "rating_note", "followup_call_note", "followup_fix_note")


def _defaults(row: dict[str, Any]) -> dict[str, Any]:
    """The NOT NULL columns every row needs the same way (executemany takes one set of keys)."""
    out: dict[str, Any] = {k: row.get(k) or "" for k in _TEXT_DEFAULTS}
    out["rule_warnings"] = row.get("rule_warnings") or []
    out["deadline_provisional"] = bool(row.get("deadline_provisional"))
    return out


def cache_root() -> Path:
    return Path(tempfile.gettempdir()) / "onedesk-bench"


def bench_desk(n_cases: int, root: Path | None = None) -> tuple[Path, float | None]:
    """The folder of a desk holding the generated year of ``n_cases`` (made once and cached); and the seconds
    generating took (None: taken from the cache)."""
    from app.desk.db import head_revision
    folder = (root or cache_root()) / f"report-g{GENERATOR_VERSION}-{head_revision()}-{n_cases}"
    marker = folder / "bench-complete.json"
    if marker.exists():
        return folder, None
    if folder.exists():
        shutil.rmtree(folder)  # a run interrupted while generating
    folder.mkdir(parents=True)
    t = time.perf_counter()
    ctx = AppContext.open(folder)
    try:
        initialise_desk(ctx, COMMITTEE)
        written = generate(ctx, n_cases)
        with ctx.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        ctx.close()
    took = time.perf_counter() - t
    marker.write_text(json.dumps({**written, "generator": GENERATOR_VERSION, "seconds": round(took, 1)}),
                      encoding="utf-8")
    return folder, took


# ----- the measurements ----------------------------------------------------------------------------------------
def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(folder: Path, *, repeat: int = 5, out_dir: Path | None = None) -> dict[str, Any]:
    """Medians (ms) of the report's parts on the desk in ``folder``, and the floor of the same run."""
    from app.core import stats
    from app.core.workbook import write_workbook
    ctx = AppContext.open(folder)
    figures: dict[str, Any] = {}
    try:
        ident = ctx.identity()
        cal = CalendarStore(ctx.data_dir).calendar
        cids = [ident.committee_id]
        month, year = stats.Period.month(YEAR, MONTH), stats.Period.year(YEAR)

        def compute(period: stats.Period, breakdown: stats.Breakdown) -> stats.Report:
            with ctx.sessions() as s:
                return stats.compute(s, period=period, breakdown=breakdown, now=NOW, calendar=cal, committee_ids=cids,
                                     scope=ident.committee_name)

        def ledger_rows(period: stats.Period) -> int:
            with ctx.sessions() as s:
                return sum(1 for _ in stats.ledger(s, period=period, now=NOW, committee_ids=cids))

        start, end = month.bounds()
        floor = _floor(ctx, ident.committee_id, start, end)
        figures["floor: count month (ms)"] = median_ms(floor[0], repeat)
        figures["floor: read month rows (ms)"] = median_ms(floor[1], repeat)
        figures["floor: read month from indexes (ms)"] = median_ms(floor[2], repeat)
        with ctx.sessions() as s:
            figures["cases of the month"] = s.scalar(select(text("count(*)")).select_from(Case).where(
                Case.committee_id == ident.committee_id, Case.accepted_at >= start, Case.accepted_at < end))
        for bd in (stats.Breakdown.ITEM, stats.Breakdown.LINE, stats.Breakdown.WORKER, stats.Breakdown.DAY):
            figures[f"compute month by {bd.value} (ms)"] = median_ms(lambda bd=bd: compute(month, bd), repeat)  # type: ignore[misc]
        def year_by_item() -> object:
            return compute(year, stats.Breakdown.ITEM)
        figures["compute year by item (ms)"] = median_ms(year_by_item, max(1, repeat // 2))
        figures["ledger rows of the year"] = ledger_rows(year)
        figures["ledger year (ms)"] = median_ms(lambda: ledger_rows(year), max(1, repeat // 2))
        out = (out_dir or folder.parent) / "bench-report-year.xlsx"

        def workbook() -> int:  # as the desk writes it: one reading of the year gives the rows and the figures
            with ctx.sessions() as s:
                rows, report = stats.ledger_with_report(s, period=year, breakdown=stats.Breakdown.ITEM, now=NOW,
                                                        calendar=cal, committee_ids=cids, scope=ident.committee_name)
                return write_workbook(out, report, rows, district=False)
        figures["workbook year (ms)"] = median_ms(workbook, max(1, repeat // 2))
        figures["workbook size (bytes)"] = out.stat().st_size
        out.unlink(missing_ok=True)
    finally:
        ctx.close()
    base = figures["floor: read month rows (ms)"] or 1e-9
    figures["ratio month by item / floor read"] = figures["compute month by item (ms)"] / base
    figures["ratio month by item / floor indexes"] = (figures["compute month by item (ms)"]
                                                      / (figures["floor: read month from indexes (ms)"] or 1e-9))
    return figures


def _floor(ctx: AppContext, committee_id: uuid.UUID, start: dt.datetime, end: dt.datetime
           ) -> tuple[Callable[[], object], Callable[[], object], Callable[[], object]]:
    """A bare count of the month's cases, and reading the month's case and event rows with the DB-API cursor
    (no ORM, no type conversion): what any computation of the month has to pay at least."""
    s_text = start.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    e_text = end.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    cid = committee_id.hex

    def count() -> object:
        with ctx.engine.connect() as conn:
            return conn.execute(text('SELECT count(*) FROM "case" WHERE committee_id = :c AND accepted_at >= :s '
                                     "AND accepted_at < :e"), {"c": cid, "s": s_text, "e": e_text}).scalar()

    def read() -> object:
        raw = ctx.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute('SELECT id, item_code, department, created_by_id, state, accepted_at, rating, '
                        'acceptance_mode FROM "case" WHERE committee_id = ? AND accepted_at >= ? AND accepted_at < ?',
                        (cid, s_text, e_text))
            n = len(cur.fetchall())
            cur.execute('SELECT e.case_id, e.action, e.at, e.detail FROM case_event e '
                        'JOIN "case" c ON c.id = e.case_id '
                        'WHERE c.committee_id = ? AND c.accepted_at >= ? AND c.accepted_at < ?', (cid, s_text, e_text))
            n += len(cur.fetchall())
            cur.close()
            return n
        finally:
            raw.close()
    def read_indexes() -> object:
        """The same columns as the statistics read, from the covering indexes of migration 0009 (the month's
        cases, and the events from the month's start on), bare."""
        raw = ctx.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute('SELECT id, committee_id, accepted_at, state, item_code, item_name, department, '
                        'forwarded_at IS NOT NULL, acceptance_mode, rating, followup_fixed_at IS NOT NULL '
                        'FROM "case" WHERE committee_id = ? AND accepted_at >= ? AND accepted_at < ?',
                        (cid, s_text, e_text))
            n = len(cur.fetchall())
            cur.execute("SELECT case_id, seq, action, at, json_extract(detail, '$.due_at'), worker_id "
                        "FROM case_event WHERE action IN ('forward', 'reply', 'withdraw') AND at >= ?", (s_text,))
            n += len(cur.fetchall())
            cur.close()
            return n
        finally:
            raw.close()
    return count, read, read_indexes


TARGETS = {"compute month by item (ms)": 200.0, "workbook year (ms)": 5000.0}


def run(n_cases: int, *, repeat: int, root: Path | None = None) -> dict[str, Any]:
    folder, took = bench_desk(n_cases, root)
    marker = json.loads((folder / "bench-complete.json").read_text(encoding="utf-8"))
    result: dict[str, Any] = {"cases": n_cases, "events": marker["events"], "generated_seconds": took,
                              "cached": took is None, "repeat": repeat}
    result.update(measure(folder, repeat=repeat))
    return result


def _print(result: dict[str, Any]) -> None:
    gen = "cached" if result["cached"] else f"generated in {result['generated_seconds']:.1f} s"
    print(f"{result['cases']:,} cases, {result['events']:,} events ({gen}); medians of {result['repeat']} runs "
          f"(year: of {max(1, result['repeat'] // 2)})")
    print(f"{'figure':<40}{'value':>12}{'target':>10}")
    for key, value in result.items():
        if key in ("cases", "events", "generated_seconds", "cached", "repeat"):
            continue
        target = TARGETS.get(key)
        shown = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
        print(f"{key:<40}{shown:>12}{'' if target is None else f'< {target:,.0f}':>10}")


def bench_report(args) -> int:
    n_cases = getattr(args, "cases", None) or (QUICK_CASES if getattr(args, "quick", False) else FULL_CASES)
    repeat = 3 if getattr(args, "quick", False) else 7
    root = Path(args.cache_dir) if getattr(args, "cache_dir", None) else None
    result = run(n_cases, repeat=repeat, root=root)
    _print(result)
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0
