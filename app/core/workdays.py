"""Working-day calendar (State Council holiday arrangements) and the two-working-day deadline.

A year's arrangement is data: bundled files under ``resources/calendar/`` plus files an administrator imports
into ``<data_dir>/calendar/``. For each year the highest version wins. Years without data fall back to
Monday–Friday and every result that depends on them is marked provisional (rules.md §1).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, date, datetime, time, timedelta, tzinfo
from itertools import accumulate
from pathlib import Path
from typing import Any

from app.core.errors import UserError
from app.core.paths import CALENDAR_DIR
from app.core.vocabulary import CHINA_TZ

__all__ = [
    "CHINA_TZ",
    "CalendarError",
    "CalendarStore",
    "CalendarYear",
    "Deadline",
    "WorkCalendar",
    "compute_deadline",
    "makeup_deadline",
    "parse_calendar_year",
    "parse_close_of_business",
    "working_hours_between",
]

# A calendar file is a few kilobytes; refuse anything far larger before reading it into memory.
_MAX_FILE_BYTES = 1_000_000
# date.fromisoformat() in 3.11 also accepts "20260101" and week dates; the files must use YYYY-MM-DD only.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")




class CalendarError(UserError, ValueError):
    """Bad calendar input or an uncomputable date; the message is Chinese and meant for the user."""


def provisional_reason(year: int) -> str:
    """Why a result touching ``year`` is only an estimate."""
    return f"{year} 年节假日安排尚未导入，按周一至周五推算，仅供参考"


@dataclass(frozen=True, kw_only=True)
class CalendarYear:
    """One year's official arrangement: days off and weekend days that are make-up working days (调休上班)."""

    year: int
    version: int
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    source: str = ""
    notice_date: date | None = None
    path: Path | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Deadline:
    """When a forwarded case is due, which working days were counted, and whether any year lacked data."""

    due: datetime
    counted_days: list[date]
    provisional: bool
    reasons: list[str]


# ---------------------------------------------------------------------------------------------------------------
# Validation of calendar documents


def _require_int(doc: dict[str, Any], key: str, lo: int, hi: int) -> int:
    value = doc.get(key)
    # bool is a subclass of int in Python; `"version": true` must not pass as 1.
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise CalendarError(f"字段 {key} 应为 {lo}–{hi} 之间的整数，实际为 {value!r}")
    return value


def _parse_date(text: object, key: str) -> date:
    if not isinstance(text, str) or not _ISO_DATE.fullmatch(text):
        raise CalendarError(f"字段 {key} 中的 {text!r} 不是 YYYY-MM-DD 格式的日期")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CalendarError(f"字段 {key} 中的 {text} 不是真实存在的日期") from None


def _date_list(doc: dict[str, Any], key: str, year: int) -> frozenset[date]:
    items = doc.get(key)
    if not isinstance(items, list):
        raise CalendarError(f"缺少字段 {key}，或它不是日期列表")
    days = frozenset(_parse_date(item, key) for item in items)
    outside = sorted(d for d in days if d.year != year)
    if outside:
        raise CalendarError(f"字段 {key} 中的 {outside[0]} 不在 {year} 年内")
    return days


def _check_consistency(holidays: frozenset[date], makeup: frozenset[date]) -> None:
    both = sorted(holidays & makeup)
    if both:
        raise CalendarError(f"{both[0]} 同时被列为放假日和调休上班日")
    # A make-up working day only makes sense on a weekend; a weekday is a working day anyway.
    weekdays = sorted(d for d in makeup if d.weekday() < 5)
    if weekdays:
        raise CalendarError(f"调休上班日 {weekdays[0]} 不是周六或周日")


def _optional_fields(doc: dict[str, Any]) -> tuple[str, date | None]:
    source = doc.get("source", "")
    if not isinstance(source, str):
        raise CalendarError("字段 source 应为文字（通知标题）")
    notice = doc.get("notice_date")
    return source, None if notice is None else _parse_date(notice, "notice_date")


def parse_calendar_year(doc: object, path: Path | None = None) -> CalendarYear:
    """Validate a decoded calendar document; raise CalendarError (Chinese) on the first problem."""
    if not isinstance(doc, dict):
        raise CalendarError("文件内容应为一个 JSON 对象")
    year = _require_int(doc, "year", MINYEAR, MAXYEAR - 1)
    version = _require_int(doc, "version", 1, 2**31 - 1)
    holidays = _date_list(doc, "holidays", year)
    makeup = _date_list(doc, "makeup_workdays", year)
    _check_consistency(holidays, makeup)
    source, notice = _optional_fields(doc)
    return CalendarYear(year=year, version=version, holidays=holidays, makeup_workdays=makeup, source=source,
                        notice_date=notice, path=path)


def _decode(raw: bytes, path: Path) -> CalendarYear:
    try:
        # utf-8-sig: Windows Notepad saves UTF-8 with a BOM.
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CalendarError(f"{path.name}：文件不是 UTF-8 编码") from None
    except json.JSONDecodeError as exc:
        raise CalendarError(f"{path.name}：不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）") from None
    try:
        return parse_calendar_year(doc, path)
    except CalendarError as exc:
        raise CalendarError(f"{path.name}：{exc}") from None


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise CalendarError(f"{path.name}：文件过大，不像节假日安排文件")
        return path.read_bytes()
    except OSError as exc:
        raise CalendarError(f"无法读取文件 {path}：{exc.strerror or exc}") from None


def load_calendar_file(path: Path) -> CalendarYear:
    """Read and validate one calendar file."""
    return _decode(_read(path), path)


# ---------------------------------------------------------------------------------------------------------------
# The calendar


class WorkCalendar:
    """Answers "is this a working day" from year documents; unknown years fall back to Monday–Friday."""

    def __init__(self, years: Iterable[CalendarYear] = ()) -> None:
        self._years: dict[int, CalendarYear] = {}
        for doc in years:
            current = self._years.get(doc.year)
            if current is None or doc.version >= current.version:
                self._years[doc.year] = doc
        # Where the documents depart from Monday–Friday, as sorted ordinals with their running total (-1 for a
        # weekday off, +1 for a weekend make-up day): counting working days is then arithmetic and one bisect.
        changes = sorted([(d.toordinal(), -1) for doc in self._years.values() for d in doc.holidays
                          if d.weekday() < 5 and d not in doc.makeup_workdays]
                         + [(d.toordinal(), 1) for doc in self._years.values() for d in doc.makeup_workdays
                            if d.weekday() >= 5])
        self._change_days = [o for o, _ in changes]
        self._change_totals = list(accumulate(c for _, c in changes))
        self._upto: dict[int, int] = {}

    def year_known(self, year: int) -> bool:
        return year in self._years

    def known_years(self) -> list[int]:
        return sorted(self._years)

    def documents(self) -> list[CalendarYear]:
        """The document in effect for each known year, by year."""
        return [self._years[y] for y in sorted(self._years)]

    def document(self, year: int) -> CalendarYear | None:
        return self._years.get(year)

    def is_working_day(self, day: date) -> bool:
        doc = self._years.get(day.year)
        if doc is not None:
            if day in doc.makeup_workdays:
                return True
            if day in doc.holidays:
                return False
        return day.weekday() < 5

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day strictly after ``start`` (``start`` itself never counts); n=0 gives ``start``."""
        days = self.working_days_after(start, n)
        return days[-1] if days else start

    def working_days_after(self, start: date, n: int) -> list[date]:
        """The first n working days strictly after ``start``."""
        if n < 0:
            raise CalendarError("工作日天数不能为负数")
        found: list[date] = []
        day = start
        try:
            while len(found) < n:
                day += timedelta(days=1)
                if self.is_working_day(day):
                    found.append(day)
        except OverflowError:
            raise CalendarError("日期超出可计算的范围") from None
        return found

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start.

        ``working_days_between(today, due)`` is the working days left; a negative value is the days overdue.
        Constant time whatever the span (an old follow-up or a case overdue for months costs the same).
        """
        return self.working_days_upto(end.toordinal()) - self.working_days_upto(start.toordinal())

    def working_days_upto(self, ordinal: int) -> int:
        """Working days among the day ordinals 1..``ordinal`` (date(1, 1, 1), ordinal 1, is a Monday): the
        difference of two is the working days between them, in constant time."""
        known = self._upto.get(ordinal)
        if known is not None:
            return known
        weeks, rest = divmod(ordinal, 7)
        i = bisect_right(self._change_days, ordinal)
        count = weeks * 5 + min(rest, 5) + (self._change_totals[i - 1] if i else 0)
        if len(self._upto) > 100_000:  # a statistics run asks about a few hundred days, many times each
            self._upto.clear()
        self._upto[ordinal] = count
        return count

    def unknown_years(self, first: date, last: date) -> list[int]:
        """Years between the two dates (inclusive) that have no data."""
        return [y for y in range(first.year, last.year + 1) if y not in self._years]

    def missing_next_year_warning(self, today: date) -> str | None:
        """Warning for administrators: the current year is missing, or it is November or later and next year is.

        The State Council usually publishes next year's arrangement between late October and mid-November.
        """
        if not self.year_known(today.year):
            return f"{today.year} 年节假日安排尚未导入，办理期限按周一至周五推算，仅供参考。请尽快导入。"
        nxt = today.year + 1
        if today.month >= 11 and not self.year_known(nxt):
            return (
                f"{nxt} 年节假日安排尚未导入。国务院办公厅通知发布后请及时导入，"
                f"否则跨入 {nxt} 年的办理期限将按周一至周五推算，仅供参考。"
            )
        return None


DEFAULT_CLOSE_OF_BUSINESS = time(17, 30)  # per committee in 设置; this is the default


def parse_close_of_business(text: str | None) -> time:
    """A committee's stored close of business (``HH:MM``) as a time; the default when empty or unreadable (the
    value is checked when it is set; a reading never fails a deadline or a statistic)."""
    try:
        hh, mm = (text or "").split(":")
        return time(int(hh), int(mm))
    except ValueError:
        return DEFAULT_CLOSE_OF_BUSINESS


def compute_deadline(
    forwarded_at: datetime,
    calendar: WorkCalendar,
    days: int = 2,
    close_of_business: time = DEFAULT_CLOSE_OF_BUSINESS,
    tz: tzinfo = CHINA_TZ,
) -> Deadline:
    """Due instant for a case forwarded at ``forwarded_at`` (aware, any time zone).

    Counting starts on the first working day after the local calendar day of forwarding, whatever the hour
    (rules.md §1), so forwarding at night, on a holiday or on a make-up working day all count the same way.
    """
    if forwarded_at.tzinfo is None or forwarded_at.utcoffset() is None:
        raise CalendarError("转办时间必须带时区")
    if days < 1:
        raise CalendarError("办理期限的工作日天数必须是正整数")
    try:
        local_day = forwarded_at.astimezone(tz).date()
    except OverflowError:
        raise CalendarError("日期超出可计算的范围") from None
    counted = calendar.working_days_after(local_day, days)
    due = datetime.combine(counted[-1], close_of_business, tzinfo=tz)
    missing = calendar.unknown_years(local_day + timedelta(days=1), counted[-1])
    return Deadline(due, counted, bool(missing), [provisional_reason(y) for y in missing])


DEFAULT_OFFICE_OPENS = time(8, 30)


def working_hours_between(start: datetime, end: datetime, calendar: WorkCalendar,
                          opens: time = DEFAULT_OFFICE_OPENS, closes: time = DEFAULT_CLOSE_OF_BUSINESS,
                          tz: tzinfo = CHINA_TZ) -> float:
    """Hours of [start, end) that fall inside office hours (``opens`` to ``closes``, local time) on working days:
    what 平均答复用时 counts. 0 when ``end`` is not after ``start``; both must be aware."""
    if start.tzinfo is None or end.tzinfo is None:
        raise CalendarError("计算工作时长的时间必须带时区")
    local_start = start.astimezone(tz).replace(tzinfo=None)
    local_end = end.astimezone(tz).replace(tzinfo=None)
    return office_seconds(local_start, local_end, calendar, opens, closes) / 3600


def office_seconds(local_start: datetime, local_end: datetime, calendar: WorkCalendar, opens: time,
                   closes: time) -> float:
    """Seconds of [local_start, local_end) (naive local times) inside office hours on working days; the loop
    behind :func:`working_hours_between`, for callers that already hold local times (the statistics)."""
    if local_end <= local_start:
        return 0.0
    o_s, o_e = local_start.toordinal(), local_end.toordinal()
    start_s, end_s = _seconds_of_day(local_start), _seconds_of_day(local_end)
    lo, hi = _seconds_of_day(opens), _seconds_of_day(closes)
    upto = calendar.working_days_upto
    before_start, at_start = upto(o_s - 1), upto(o_s)
    if o_s == o_e:
        return max(0.0, min(end_s, hi) - max(start_s, lo)) if at_start > before_start else 0.0
    before_end = upto(o_e - 1)
    first = max(0.0, hi - max(start_s, lo)) if at_start > before_start else 0.0
    last = max(0.0, min(end_s, hi) - lo) if upto(o_e) > before_end else 0.0
    # The whole working days strictly between the two ends count a full office day each.
    return first + last + (before_end - at_start) * max(0, hi - lo)


def _seconds_of_day(t: time | datetime) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


DEFAULT_MAKEUP_WORKING_DAYS = 5  # when the catalog's policy names no figure (policy.makeup_working_days)


def makeup_deadline(accepted_at: datetime, calendar: WorkCalendar, days: int = DEFAULT_MAKEUP_WORKING_DAYS,
                    tz: tzinfo = CHINA_TZ) -> tuple[date, bool]:
    """The day by which a 容缺受理 applicant brings the missing material, and whether it is provisional.

    Counted like the reply deadline (rules.md §1): from the first working day after the local day of
    acceptance; the applicant has the whole of the ``days``-th working day."""
    if accepted_at.tzinfo is None or accepted_at.utcoffset() is None:
        raise CalendarError("受理时间必须带时区")
    if days < 1:
        raise CalendarError("补交期限的工作日天数必须是正整数")
    local_day = accepted_at.astimezone(tz).date()
    counted = calendar.working_days_after(local_day, days)
    return counted[-1], bool(calendar.unknown_years(local_day + timedelta(days=1), counted[-1]))


# ---------------------------------------------------------------------------------------------------------------
# Where calendar files live


class CalendarStore:
    """Bundled calendar files plus those imported into ``data_dir/calendar``; highest version per year wins."""

    def __init__(self, data_dir: Path | None, bundled_dir: Path = CALENDAR_DIR) -> None:
        self.data_dir = data_dir
        self.bundled_dir = bundled_dir
        self.problems: list[str] = []  # unreadable files skipped at load time, for an admin screen/log
        self.calendar = WorkCalendar()
        self.reload()

    @property
    def import_dir(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "calendar"

    def reload(self) -> None:
        """Re-read all files. A broken imported file is skipped and reported, never fatal."""
        self.problems = []
        docs: list[CalendarYear] = []
        # Imported files come second so that, on an equal version, the administrator's file wins.
        for path in _json_files(self.bundled_dir) + _json_files(self.import_dir):
            try:
                docs.append(load_calendar_file(path))
            except CalendarError as exc:
                self.problems.append(str(exc))
        self.calendar = WorkCalendar(docs)

    def versions(self) -> dict[int, int]:
        """Year → version in effect."""
        return {doc.year: doc.version for doc in self.calendar.documents()}

    def import_file(self, path: Path) -> CalendarYear:
        """Validate ``path`` and copy it into the data folder; on any error raise CalendarError and change nothing."""
        target_dir = self.import_dir
        if target_dir is None:
            raise CalendarError("未设置数据目录，无法导入节假日安排")
        raw = _read(Path(path))
        doc = _decode(raw, Path(path))
        if not self._already_current(doc):
            # Write the bytes validated above, so nothing can change between the check and the copy.
            _atomic_write(target_dir / f"cn-{doc.year}-v{doc.version}.json", raw)
            self.reload()
        return self.calendar.document(doc.year) or doc

    def _already_current(self, doc: CalendarYear) -> bool:
        """True if ``doc`` is the version already in effect; raise if it would not take effect."""
        current = self.calendar.document(doc.year)
        if current is None or doc.version > current.version:
            return False
        if doc.version == current.version and doc == current:
            return True
        raise CalendarError(
            f"{doc.year} 年已有版本 {current.version} 的节假日安排，导入文件的版本为 {doc.version}，"
            "不会生效。如需更正，请使用更高的版本号。"
        )


def _json_files(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(folder.glob("*.json"))


def _atomic_write(dest: Path, raw: bytes) -> None:
    """Write via a temporary file and rename, so a crash never leaves a half-written calendar behind."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".import-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CalendarError(f"无法写入数据目录 {dest.parent}：{exc.strerror or exc}") from None
