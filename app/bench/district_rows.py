"""The rows of a generated district for ``bench district`` (issue 18), as PostgreSQL COPY text lines.

Committees with their workers and one desk device each, residents, cases with the events the real actions
record, the district's calendar and catalog versions, and the change log, made in time order over two years
(2024-01-01 to 2025-12-31; "now" is a working morning of January 2026). Every value is what the server would
hold: ids are UUIDv7 of the moment they were made (as desks make them), instants are UTC ISO 8601 as
``app.core.payloads.to_json`` writes them, JSON columns are ``json.dumps`` text as SQLAlchemy writes it, and
each change row's ``data`` is the payload ``app.core.payloads`` makes of the row as finally stored (a case's with
its events), so a case read back through the ORM gives the same payload.

Lifecycles follow the mix of app/bench/report.py (即办; 转办 → acknowledge → reply → close, some re-forwarded;
withdrawn, refused, 一次性告知, still open and overdue; 容缺/告知承诺; ratings with their follow-ups; 催办), each
event carrying the audit the server adds (client and receive times, clock offset, device, mutation id) and the
accept event the answers and materials, as ``app.core.actions`` records them.

The change log holds one row per case (its final state, committed at its last event), per resident (when
registered), per worker and committee (before the period) and the reference rows (calendars, catalog
versions) under GLOBAL_SCOPE. A real log holds one row per synced change, ≈ 4–6 per case; a pull's cost is per
row read, so fewer rows per case change the table's size, not the work of a page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import json
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, Table
from stdnum.cn import ric

from app.bench.report import ITEMS, WORKERS
from app.core.payloads import WORKER_LOCAL_COLUMNS
from app.core.residence import region_from_division_code, with_region
from app.core.vocabulary import CHINA_TZ
from app.core.workdays import DEFAULT_CLOSE_OF_BUSINESS, WorkCalendar, compute_deadline
from models.server import (
    GLOBAL_SCOPE,
    CalendarVersion,
    Case,
    CaseEvent,
    CatalogVersion,
    ChangeRow,
    Committee,
    Resident,
    ServerDevice,
    Worker,
)

FIRST_DAY, LAST_DAY = dt.date(2024, 1, 1), dt.date(2025, 12, 31)
NOW = dt.datetime(2026, 1, 6, 10, 0, tzinfo=CHINA_TZ)
REPORT_MONTH = (2025, 11)  # a whole month with no holiday but the weekends
CATALOG_VERSION = "2025.1.0"
US = 1_000_000
MIN, HOUR, DAY = 60 * US, 3600 * US, 86400 * US
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_CN = 8 * HOUR
DEVICE_CODE = "D01"
TOKEN_LIFETIME = dt.timedelta(days=30)


def to_us(t: dt.datetime) -> int:
    return (t - _EPOCH) // dt.timedelta(microseconds=1)


NOW_US = to_us(NOW)
_DAY_TEXT: dict[int, str] = {}
_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


def iso(t: int) -> str:
    """An instant (µs since the epoch) as ``datetime.isoformat()`` writes an aware UTC datetime."""
    d, r = divmod(t, DAY)
    day = _DAY_TEXT.get(d)
    if day is None:
        day = _DAY_TEXT[d] = (dt.date(1970, 1, 1) + dt.timedelta(days=d)).isoformat()
    s, f = divmod(r, US)
    return f"{day}T{_HMS[s]}.{f:06d}+00:00" if f else f"{day}T{_HMS[s]}+00:00"


# ----- COPY text ------------------------------------------------------------------------------------------------
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_JSON, _BOOL, _TEXT, _NUMBER = range(4)


def _kind(column: Any) -> int:
    if isinstance(column.type, JSON):
        return _JSON
    if isinstance(column.type, Boolean):
        return _BOOL
    if isinstance(column.type, (Integer, BigInteger, Float)):
        return _NUMBER
    return _TEXT  # strings, and ids, instants and dates already as text


class Dumped(str):
    """A JSON value already dumped: written as it is."""


class Encoder:
    """One table's rows (dicts of JSON-ready values, keyed by column) as COPY text lines, columns in table order."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.columns = [c.key for c in table.columns]
        self._cols = [(c.key, _kind(c)) for c in table.columns]

    def copy_sql(self) -> str:
        return f'COPY "{self.table.name}" ({", ".join(self.columns)}) FROM STDIN'

    def line(self, row: dict[str, Any], *, plain: bool = False) -> str:
        """The row's line. ``plain``: the row's text values are this generator's own constants (no tab, newline,
        carriage return or backslash), written as they are; JSON values are always escaped."""
        out = []
        dumps = json.dumps  # what SQLAlchemy's JSON type writes
        for key, kind in self._cols:
            v = row[key]
            if v is None:
                out.append("\\N")
            elif kind == _JSON:
                if v.__class__ is list and not v:
                    out.append("[]")
                else:
                    out.append(copy_text(v if v.__class__ is Dumped else dumps(v)))
            elif kind == _BOOL:
                out.append("t" if v else "f")
            elif kind == _TEXT:
                out.append(v if plain else v.translate(_ESCAPES))
            else:
                out.append(str(v))
        return "\t".join(out)


def copy_text(json_text: str) -> str:
    """A JSON text as a COPY value: JSON escapes every control character, so only its backslashes need doubling."""
    return json_text.replace("\\", "\\\\")


ENCODERS = {t.name: Encoder(t) for t in (Committee.__table__, Worker.__table__, ServerDevice.__table__,
                                         CalendarVersion.__table__, CatalogVersion.__table__, Resident.__table__,
                                         Case.__table__, CaseEvent.__table__, ChangeRow.__table__)}


class Sink(Protocol):
    def add(self, table: str, line: str) -> None: ...


# ----- the people -----------------------------------------------------------------------------------------------
_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭")
_SURNAME_PY = ("wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu", "xu", "sun", "hu",
               "zhu", "gao", "lin", "he", "guo")
_GIVEN = ("伟", "芳", "娜", "敏", "静", "秀英", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
          "秀兰", "霞", "平", "刚", "桂英", "建华", "玉兰", "志强", "淑珍", "国庆")
_GIVEN_PY = ("wei", "fang", "na", "min", "jing", "xiuying", "li", "qiang", "lei", "jun", "yang", "yong", "yan",
             "jie", "juan", "tao", "ming", "chao", "xiulan", "xia", "ping", "gang", "guiying", "jianhua", "yulan",
             "zhiqiang", "shuzhen", "guoqing")
_ROADS = ("解放路", "中山北路", "淮海西路", "民主路", "彭城路", "建国路", "复兴南路", "和平大道")


@dataclass
class CommitteeState:
    index: int
    id: str
    code: str
    name: str
    region_code: str
    desk: list[str]  # front-desk worker ids (and the 站长)
    by_line: dict[str, list[str]]
    boss: str
    device_id: str = ""
    residents: list[str] = field(default_factory=list)
    cases: int = 0
    carry: float = 0.0  # the fraction of a case the days so far left over


@dataclass
class District:
    """What the generator made that the measurements need: committees (by index), the device tokens."""

    committees: list[CommitteeState]
    tokens: dict[str, str]  # committee id -> bearer token of its device
    counts: dict[str, int] = field(default_factory=dict)
    last_seq: int = 0

    def to_json(self) -> dict[str, Any]:
        """What measuring a kept database again needs (``bench district --keep``)."""
        return {"committees": [{"id": c.id, "code": c.code, "cases": c.cases} for c in self.committees],
                "tokens": self.tokens, "counts": self.counts, "last_seq": self.last_seq}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> District:
        committees = [CommitteeState(i, c["id"], c["code"], "", "", [], {}, "", cases=c["cases"])
                      for i, c in enumerate(data["committees"])]
        return cls(committees, dict(data["tokens"]), dict(data["counts"]), int(data["last_seq"]))


class _Ids:
    """UUIDv7 text for a given instant, random bits from the generator's seeded source."""

    def __init__(self, rng: random.Random) -> None:
        self.bits = rng.getrandbits

    def __call__(self, t: int) -> str:
        r = self.bits(74)
        h = f"{t // 1000:012x}7{r >> 62:03x}{(1 << 63) | (r & ((1 << 62) - 1)):016x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ----- the generator --------------------------------------------------------------------------------------------
class Generator:
    """Makes the district in time order into a :class:`Sink`: first the committees, workers, devices and the
    reference data, then day by day every committee's residents and cases (each case's whole lifecycle at
    once), and the change rows in commit order as their times pass."""

    def __init__(self, sink: Sink, *, cases: int, committees: int, calendar: WorkCalendar,
                 templates: dict[str, tuple[dict, dict]], catalog_files: dict[str, str],
                 calendar_files: dict[int, str], password_hash: str, seed: int = 18) -> None:
        self.sink, self.cal = sink, calendar
        self.n_cases, self.n_committees = cases, committees
        self.templates, self.catalog_files, self.calendar_files = templates, catalog_files, calendar_files
        self.password_hash = password_hash
        self.rng = random.Random(seed)
        self.uid = _Ids(self.rng)
        self._due: dict[tuple[int, int], int] = {}
        self._pending: list[tuple[int, int, str, str, str, str]] = []  # (at, n, scope, entity, id, data json)
        self._n = 0
        self.seq = 0
        self.counts: dict[str, int] = {}
        self.district = District([], {})

    # ----- output ---------------------------------------------------------------------------------------------
    def put(self, table: str, row: dict[str, Any], *, plain: bool = False) -> None:
        self.sink.add(table, ENCODERS[table].line(row, plain=plain))
        self.counts[table] = self.counts.get(table, 0) + 1

    def change(self, at: int, scope: str, entity: str, entity_id: str, payload: dict[str, Any] | str) -> None:
        """A change row committed at ``at`` (``payload``: the row's payload, or its JSON text): written once the
        generator's time has passed it (seq order is commit order)."""
        self._n += 1
        text = payload if isinstance(payload, str) else json.dumps(payload)
        heapq.heappush(self._pending, (at, self._n, scope, entity, entity_id, text))

    def flush_changes(self, before: int) -> None:
        pending, add = self._pending, self.sink.add
        n = 0
        while pending and pending[0][0] < before:
            at, _n, scope, entity, entity_id, data = heapq.heappop(pending)
            self.seq += 1
            n += 1
            add("server_change", f"{self.seq}\t{self.rng.getrandbits(32):08x}\t{scope}\t{entity}\t{entity_id}\t"
                                 f"{copy_text(data)}\t{iso(at)}")
        self.counts["server_change"] = self.counts.get("server_change", 0) + n

    # ----- calendar -------------------------------------------------------------------------------------------
    def due(self, at: int, days: int = 2) -> int:
        """The real deadline (app.core.workdays.compute_deadline), memoised by the China day it depends on."""
        key = ((at + _CN) // DAY, days)
        got = self._due.get(key)
        if got is None:
            when = (_EPOCH + dt.timedelta(microseconds=at)).astimezone(CHINA_TZ)
            got = self._due[key] = to_us(compute_deadline(when, self.cal, days=days,
                                                          close_of_business=DEFAULT_CLOSE_OF_BUSINESS).due)
        return got

    def run(self, progress: Callable[[str], None] | None = None) -> District:
        """Make the whole district; ``progress`` hears of every simulated quarter."""
        t0 = time.perf_counter()
        start = to_us(dt.datetime.combine(FIRST_DAY, dt.time(0, 0), tzinfo=CHINA_TZ))
        self._reference(start - 20 * DAY)
        for i in range(self.n_committees):
            self._committee(i, start - 10 * DAY + i * MIN)
        per_day = self._days()
        shares = self._committee_shares()
        for d, (day, weight) in enumerate(per_day):
            day_start = start + d * DAY
            self.flush_changes(day_start)
            self._day(day, day_start, weight, shares)
            if progress is not None and d % 91 == 90:
                progress(f"已生成至 {day}：{self.counts.get('case', 0):,} 件案件，{time.perf_counter() - t0:.0f} 秒")
        self.flush_changes(NOW_US + 365 * DAY)
        self.district.counts = dict(self.counts)
        self.district.last_seq = self.seq
        return self.district

    def _days(self) -> list[tuple[dt.date, float]]:
        out, day = [], FIRST_DAY
        while day <= LAST_DAY:
            w = self.rng.uniform(0.7, 1.3) if self.cal.is_working_day(day) else (0.15 if day.weekday() == 5 else 0.0)
            out.append((day, w))
            day += dt.timedelta(days=1)
        total = sum(w for _d, w in out)
        return [(d, w / total) for d, w in out]

    def _committee_shares(self) -> list[int]:
        """Cases per committee: busier and quieter ones (±30 %), summing to the total."""
        weights = [self.rng.uniform(0.7, 1.3) for _ in range(self.n_committees)]
        total = sum(weights)
        counts = [int(self.n_cases * w / total) for w in weights]
        for k in range(self.n_cases - sum(counts)):
            counts[k % self.n_committees] += 1
        return counts

    def _day(self, day: dt.date, day_start: int, weight: float, shares: list[int]) -> None:
        """Every committee's cases of ``day`` (the share of its total the day's weight gives, the fractions
        carried), written in creation order across committees as they reach the server."""
        from app.bench.district_cases import build_case  # the lifecycle, apart to keep each module short
        made: list[tuple[int, int, list[str], list[str]]] = []
        for com, share in zip(self.district.committees, shares, strict=True):
            want = share * weight + com.carry
            n = int(want)
            com.carry = want - n
            if day == LAST_DAY:
                n = share - com.cases  # whatever is left lands on the last day
            for k in range(1, n + 1):
                made.append(build_case(self, com, day, day_start, k))
            com.cases += n
        made.sort(key=lambda m: (m[0], m[1]))
        add = self.sink.add
        for _at, _k, case_lines, event_lines in made:
            for line in case_lines:
                add("case", line)
            for line in event_lines:
                add("case_event", line)
        self.counts["case"] = self.counts.get("case", 0) + len(made)

    # ----- reference data and the committees ---------------------------------------------------------------------
    def _reference(self, at: int) -> None:
        for k, (year, content) in enumerate(sorted(self.calendar_files.items())):
            row: dict[str, Any] = {"id": self.uid(at + k * MIN), "year": year, "version": 1, "content": content,
                   "imported_at": iso(at + k * MIN)}
            self.put("server_calendar", row)
            self.change(at + k * MIN, GLOBAL_SCOPE, "calendar", row["id"],
                        {"id": row["id"], "year": year, "version": 1, "content": content})
        # four catalog versions over the two years: a desk catching up from the middle downloads one or two
        for k, when in enumerate((at + HOUR, at + 150 * DAY, at + 380 * DAY, at + 600 * DAY)):
            version = f"{2024 + k // 2}.{1 + k % 2}.0"
            digest = hashlib.sha256(f"{version}-{len(self.catalog_files)}".encode()).hexdigest()
            cat: dict[str, Any] = {"id": self.uid(when), "version": version, "content_hash": digest,
                                   "files": self.catalog_files, "published_at": iso(when)}
            self.put("server_catalog", cat)
            self.change(when, GLOBAL_SCOPE, "catalog", cat["id"], dict(cat))

    def _committee(self, i: int, at: int) -> None:
        code = f"320302{i + 1:03d}"
        settings = with_region({}, region_from_division_code(code))
        cid = self.uid(at)
        row: dict[str, Any] = {
            "id": cid, "code": code, "name": f"示范街道第{i + 1:03d}社区居委会", "phone": f"0516-8{i:07d}",
            "address": f"徐州市鼓楼区{_ROADS[i % len(_ROADS)]}{i + 1}号", "close_of_business": "17:30",
            "settings": settings, "created_at": iso(at), "updated_at": iso(at), "version": 1}
        self.put("committee", row)
        self.change(at, cid, "committee", cid, row)
        ids: dict[str, str] = {}
        for k, (login, name, roles, lines) in enumerate(WORKERS):
            w_at = at + (k + 1) * US
            w: dict[str, Any] = {"id": self.uid(w_at), "committee_id": cid, "login": login, "display_name": name,
                 "phone": f"1380516{i:03d}{k}", "password_hash": self.password_hash, "roles": roles, "lines": lines,
                 "active": True, "failed_attempts": 0, "locked_until": None, "created_at": iso(w_at),
                 "updated_at": iso(w_at), "version": 1}
            self.put("worker", w)
            self.change(w_at, cid, "worker", w["id"], {k2: v for k2, v in w.items() if k2 not in WORKER_LOCAL_COLUMNS})
            ids[login] = w["id"]
        by_line: dict[str, list[str]] = {}
        for login, _n, _r, lines in WORKERS:
            for line in lines:
                by_line.setdefault(line, []).append(ids[login])
        com = CommitteeState(i, cid, code, row["name"], code[:6], [ids[f"desk{k}"] for k in range(1, 5)]
                             + [ids["boss"]], by_line, ids["boss"])
        self._device(com, at + MIN)
        self.district.committees.append(com)

    def _device(self, com: CommitteeState, at: int) -> None:
        secret = secrets.token_urlsafe(32)
        dev_id = self.uid(at)
        # app/server/devices.py keeps the sha256 of the secret; the token is "<device id>.<secret>"
        self.put("server_device", {
            "id": dev_id, "committee_id": com.id, "code": DEVICE_CODE, "name": "前台一号机",
            "token_hash": hashlib.sha256(secret.encode()).hexdigest(), "last_mid": 0, "enrolled_at": iso(at),
            "last_seen_at": iso(NOW_US - 2 * MIN), "clock_offset_s": 0.4, "revoked_at": None,
            "token_expires_at": iso(NOW_US + TOKEN_LIFETIME // dt.timedelta(microseconds=1)),
            "previous_token_hash": None})
        com.device_id = dev_id
        self.district.tokens[com.id] = f"{dev_id}.{secret}"

    def resident(self, com: CommitteeState, at: int) -> str:
        """A resident registered at the desk at ``at`` (an ID number unique within the committee)."""
        i, rng = len(com.residents), self.rng
        birth = dt.date(1935, 1, 1) + dt.timedelta(days=(i * 2654435761) % 25000)  # one birth day per i < 25000
        male = rng.random() < 0.48
        body = f"{com.region_code}{birth:%Y%m%d}{rng.randrange(500) * 2 + male:03d}"
        s1, g1 = rng.randrange(len(_SURNAMES)), rng.randrange(len(_GIVEN))
        local = rng.random() < 0.88
        road = _ROADS[rng.randrange(len(_ROADS))]
        rid = self.uid(at)
        row: dict[str, Any] = {"id": rid, "committee_id": com.id, "name": _SURNAMES[s1] + _GIVEN[g1],
               "name_pinyin": _SURNAME_PY[s1] + _GIVEN_PY[g1], "id_number": body + ric.calc_check_digit(body + "0"),
               "sex": "男" if male else "女", "birth_date": birth.isoformat(),
               "phone": f"1{rng.randrange(3, 9)}{rng.randrange(10 ** 9):09d}",
               "address": f"{road}{rng.randrange(1, 300)}号{rng.randrange(1, 30)}栋{rng.randrange(101, 2400)}室",
               "household_no": f"{com.code}{i:06d}", "local_hukou": local, "notes": "",
               "created_at": iso(at), "updated_at": iso(at), "version": 1}
        if local:
            row.update(hukou_province="江苏省", hukou_city="徐州市", hukou_county="鼓楼区", hukou_street="示范街道",
                       hukou_nature="城镇", residence_permit_no="", residence_permit_expiry=None)
        else:
            expiry = NOW.date() + dt.timedelta(days=rng.randrange(-60, 700))
            row.update(hukou_province="安徽省", hukou_city="宿州市", hukou_county="萧县", hukou_street="",
                       hukou_nature="农村", residence_permit_no=f"3203{rng.randrange(10 ** 10):010d}",
                       residence_permit_expiry=expiry.isoformat())
        self.put("resident", row, plain=True)
        self.change(at + rng.randrange(5, 90) * US, com.id, "resident", rid, row)
        com.residents.append(rid)
        return rid


def catalog_templates(version: str = CATALOG_VERSION) -> tuple[dict[str, tuple[dict, dict]], dict[str, str]]:
    """Per bench item, the answers (the item's sample answers) and the materials records a case of it stores,
    from the real catalog; and the catalog's files as ``server catalog publish`` stores them."""
    from app.core.paths import PROJECT_DIR
    from forms.loader import load_catalog
    from forms.validate import sample_submission
    folder = PROJECT_DIR / "forms" / "items"
    catalog = load_catalog(folder)
    out: dict[str, tuple[dict, dict]] = {}
    for code, _name, _dept, _mode in ITEMS:
        item = catalog.get(code)
        if item is None:
            out[code] = ({}, {})
            continue
        fields = json.loads(json.dumps(sample_submission(item, today=dt.date(2025, 6, 2))["fields"], default=str))
        materials = {m.name: {"received": True, "form": m.form, "count": m.count, "standard": m.standard,
                              "required": m.required is True} for m in item.materials}
        out[code] = (fields, materials)
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}
    return out, files


def calendar_texts() -> dict[int, str]:
    from app.core.paths import PROJECT_DIR
    return {int(p.stem.split("-")[1]): p.read_text(encoding="utf-8")
            for p in sorted((PROJECT_DIR / "resources" / "calendar").glob("cn-*.json"))}
