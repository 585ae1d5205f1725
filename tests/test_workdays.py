"""Working-day calendar and the two-working-day deadline, checked against the official tables (rules.md §1)."""

from __future__ import annotations

import argparse
import json
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cli import calendar_days as calendar_cli
from app.core import vocabulary, workdays
from app.core.paths import CALENDAR_DIR
from app.core.workdays import (
    CHINA_TZ,
    CalendarError,
    CalendarStore,
    WorkCalendar,
    compute_deadline,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Copied verbatim from the table in rules.md §1 so the bundled JSON is checked against an independent source.
OFFICIAL = {
    2024: ("1/1; 2/10–2/17; 4/4–4/6; 5/1–5/5; 6/10; 9/15–9/17; 10/1–10/7",
           "2/4, 2/18, 4/7, 4/28, 5/11, 9/14, 9/29, 10/12", "2023-10-25"),
    2025: ("1/1; 1/28–2/4; 4/4–4/6; 5/1–5/5; 5/31–6/2; 10/1–10/8",
           "1/26, 2/8, 4/27, 9/28, 10/11", "2024-11-12"),
    2026: ("1/1–1/3; 2/15–2/23; 4/4–4/6; 5/1–5/5; 6/19–6/21; 9/25–9/27; 10/1–10/7",
           "1/4, 2/14, 2/28, 5/9, 9/20, 10/10", "2025-11-04"),
}  # fmt: skip


def _md(year: int, text: str) -> date:
    month, day = text.strip().split("/")
    return date(year, int(month), int(day))


def _official_days_off(year: int) -> set[date]:
    days: set[date] = set()
    for period in OFFICIAL[year][0].split(";"):
        first, _, last = period.partition("–")
        day, end = _md(year, first), _md(year, last or first)
        while day <= end:
            days.add(day)
            day += timedelta(days=1)
    return days


def _official_makeup(year: int) -> set[date]:
    return {_md(year, part) for part in OFFICIAL[year][1].split(",")}


def _dt(text: str, tz=SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return CalendarStore(None).calendar


def _year_doc(year: int = 2027, version: int = 1, **changes) -> dict:
    doc = {
        "year": year,
        "version": version,
        "source": f"国务院办公厅关于{year}年部分节假日安排的通知",
        "notice_date": f"{year - 1}-11-01",
        "holidays": [f"{year}-01-01"],
        "makeup_workdays": [],
    }
    doc.update(changes)
    return doc


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


# --- bundled data -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", sorted(OFFICIAL))
def test_bundled_file_matches_official_table(year: int) -> None:
    raw = json.loads((CALENDAR_DIR / f"cn-{year}.json").read_text(encoding="utf-8"))
    assert raw["year"] == year and raw["version"] == 1
    assert raw["notice_date"] == OFFICIAL[year][2]
    assert raw["source"] == f"国务院办公厅关于{year}年部分节假日安排的通知"
    assert {date.fromisoformat(d) for d in raw["holidays"]} == _official_days_off(year)
    assert {date.fromisoformat(d) for d in raw["makeup_workdays"]} == _official_makeup(year)


def test_bundled_files_load_without_problems() -> None:
    store = CalendarStore(None)
    assert store.problems == []
    assert store.versions() == {2024: 1, 2025: 1, 2026: 1}


@pytest.mark.parametrize("year", sorted(OFFICIAL))
def test_every_day_of_year_follows_official_table(cal: WorkCalendar, year: int) -> None:
    off, makeup = _official_days_off(year), _official_makeup(year)
    day = date(year, 1, 1)
    while day.year == year:
        expected = day in makeup or (day.weekday() < 5 and day not in off)
        assert cal.is_working_day(day) is expected, day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-01-26", True),  # Sunday, make-up for Spring Festival
        ("2025-02-08", True),  # Saturday, make-up
        ("2025-01-28", False),  # 除夕, a holiday from 2025
        ("2025-02-04", False),  # last day of Spring Festival
        ("2025-10-08", False),  # National Day + Mid-Autumn, a Wednesday
        ("2025-10-11", True),  # Saturday, make-up
        ("2026-02-14", True),  # Saturday before Spring Festival
        ("2026-02-23", False),  # Monday, last day of Spring Festival
        ("2026-02-28", True),
        ("2026-01-04", True),  # Sunday after New Year
        ("2026-10-07", False),
        ("2024-02-18", True),
        ("2024-06-10", False),  # Dragon Boat, Monday
        ("2027-01-01", True),  # no data: Monday–Friday fallback (a Friday)
        ("2027-01-02", False),
    ],
)
def test_known_days(cal: WorkCalendar, day: str, working: bool) -> None:
    assert cal.is_working_day(date.fromisoformat(day)) is working


# --- the deadline: worked examples and edge cases -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded", "due", "counted"),
    [
        ("2025-01-24T10:00", "2025-01-27", ["2025-01-26", "2025-01-27"]),  # make-up Sunday counts
        ("2025-09-30T10:00", "2025-10-10", ["2025-10-09", "2025-10-10"]),  # National Day
        ("2026-02-13T10:00", "2026-02-24", ["2026-02-14", "2026-02-24"]),  # Spring Festival
        ("2025-01-27T09:00", "2025-02-06", ["2025-02-05", "2025-02-06"]),  # Spring Festival 2025
        ("2026-02-14T10:00", "2026-02-25", ["2026-02-24", "2026-02-25"]),  # forwarded on a make-up Saturday
        ("2025-10-11T10:00", "2025-10-14", ["2025-10-13", "2025-10-14"]),  # make-up Saturday
        ("2025-03-01T10:00", "2025-03-04", ["2025-03-03", "2025-03-04"]),  # ordinary Saturday
        ("2025-10-03T10:00", "2025-10-10", ["2025-10-09", "2025-10-10"]),  # on a holiday
        ("2026-02-13T23:30", "2026-02-24", ["2026-02-14", "2026-02-24"]),  # after hours, same local day
        ("2026-02-13T00:00", "2026-02-24", ["2026-02-14", "2026-02-24"]),
        ("2025-12-31T16:00", "2026-01-05", ["2026-01-04", "2026-01-05"]),  # year end, next year known
        ("2024-12-31T16:00", "2025-01-03", ["2025-01-02", "2025-01-03"]),
    ],
)
def test_deadline_examples(cal: WorkCalendar, forwarded: str, due: str, counted: list[str]) -> None:
    deadline = compute_deadline(_dt(forwarded), cal)
    assert deadline.due == datetime.combine(date.fromisoformat(due), time(17, 30), tzinfo=SHANGHAI)
    assert deadline.due.isoformat() == f"{due}T17:30:00+08:00"
    assert deadline.counted_days == [date.fromisoformat(d) for d in counted]
    assert deadline.provisional is False and deadline.reasons == []


def test_utc_instant_that_is_next_day_in_shanghai(cal: WorkCalendar) -> None:
    # 2026-02-13T16:30Z is 2026-02-14 00:30 in Shanghai: a make-up Saturday, so counting starts 2/24.
    deadline = compute_deadline(datetime(2026, 2, 13, 16, 30, tzinfo=UTC), cal)
    assert deadline.due.isoformat() == "2026-02-25T17:30:00+08:00"
    # One minute earlier it is still Friday 2/13 in Shanghai.
    earlier = compute_deadline(datetime(2026, 2, 13, 15, 59, tzinfo=UTC), cal)
    assert earlier.due.isoformat() == "2026-02-24T17:30:00+08:00"


def test_due_is_in_shanghai_whatever_the_input_zone(cal: WorkCalendar) -> None:
    forwarded = datetime(2025, 1, 23, 20, 0, tzinfo=ZoneInfo("America/New_York"))  # 1/24 09:00 in Shanghai
    deadline = compute_deadline(forwarded, cal)
    assert deadline.due.isoformat() == "2025-01-27T17:30:00+08:00"
    assert deadline.due.utcoffset() == timedelta(hours=8)


def test_year_end_without_next_year_is_provisional(cal: WorkCalendar) -> None:
    deadline = compute_deadline(_dt("2026-12-30T10:00"), cal)
    assert deadline.counted_days == [date(2026, 12, 31), date(2027, 1, 1)]
    assert deadline.provisional is True
    assert deadline.reasons == ["2027 年节假日安排尚未导入，按周一至周五推算，仅供参考"]


def test_deadline_within_known_year_near_end_is_not_provisional(cal: WorkCalendar) -> None:
    deadline = compute_deadline(_dt("2026-12-28T10:00"), cal)
    assert deadline.counted_days == [date(2026, 12, 29), date(2026, 12, 30)]
    assert not deadline.provisional


@pytest.mark.parametrize("year", [1, 1990, 2023, 2027, 2100, 9998])
def test_unknown_years_never_crash(cal: WorkCalendar, year: int) -> None:
    deadline = compute_deadline(datetime(year, 6, 15, 12, tzinfo=UTC), cal)
    assert deadline.provisional and str(year) in deadline.reasons[0]
    assert deadline.due.weekday() < 5


def test_end_of_representable_range_is_a_calendar_error(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarError):
        compute_deadline(datetime(9999, 12, 30, tzinfo=UTC), cal)


def test_custom_days_and_close_of_business(cal: WorkCalendar) -> None:
    deadline = compute_deadline(_dt("2025-09-30T10:00"), cal, days=5, close_of_business=time(17, 0))
    # 10/9, 10/10, 10/11 (make-up Saturday), 10/13, 10/14
    assert deadline.due.isoformat() == "2025-10-14T17:00:00+08:00"
    assert len(deadline.counted_days) == 5


def test_naive_datetime_and_bad_days_are_rejected(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarError, match="时区"):
        compute_deadline(datetime(2025, 1, 1), cal)
    with pytest.raises(CalendarError):
        compute_deadline(_dt("2025-01-01T10:00"), cal, days=0)


def test_timezone_falls_back_to_fixed_utc8(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(key: str):
        raise zoneinfo.ZoneInfoNotFoundError(key)

    monkeypatch.setattr(vocabulary, "ZoneInfo", missing)
    tz = vocabulary._china_tz()
    assert tz.utcoffset(datetime(2025, 7, 1)) == timedelta(hours=8)
    deadline = compute_deadline(_dt("2026-02-13T10:00"), CalendarStore(None).calendar, tz=tz)
    assert deadline.due.isoformat() == "2026-02-24T17:30:00+08:00"


# --- countdowns and warnings ------------------------------------------------------------------------------------


def test_working_days_between(cal: WorkCalendar) -> None:
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert cal.working_days_between(date(2026, 2, 24), date(2026, 2, 13)) == -2  # overdue by two
    assert cal.working_days_between(date(2025, 10, 1), date(2025, 10, 1)) == 0
    assert cal.working_days_between(date(2025, 10, 1), date(2025, 10, 8)) == 0  # whole holiday
    assert cal.add_working_days(date(2025, 9, 30), 2) == date(2025, 10, 10)
    assert cal.add_working_days(date(2025, 9, 30), 0) == date(2025, 9, 30)


def _walked_days(cal: WorkCalendar, start: date, end: date) -> int:
    """The definition, counted one day at a time."""
    if end < start:
        return -_walked_days(cal, end, start)
    return sum(cal.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


def _walked_seconds(cal: WorkCalendar, a: datetime, b: datetime, opens: time, closes: time) -> float:
    total, day = 0.0, a.date()
    while day <= b.date():
        if cal.is_working_day(day):
            lo, hi = max(a, datetime.combine(day, opens)), min(b, datetime.combine(day, closes))
            total += max(0.0, (hi - lo).total_seconds())
        day += timedelta(days=1)
    return total


SPAN_DAYS = st.dates(date(2023, 6, 1), date(2028, 6, 30))  # known years and the Monday–Friday fallback around


@settings(max_examples=300, deadline=None)
@given(SPAN_DAYS, SPAN_DAYS)
def test_working_days_between_counts_what_walking_the_days_counts(cal: WorkCalendar, start: date, end: date) -> None:
    assert cal.working_days_between(start, end) == _walked_days(cal, start, end)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(datetime(2025, 9, 1), datetime(2026, 3, 1)), st.integers(0, 60 * 24 * 40),
       st.sampled_from([(time(8, 30), time(17, 30)), (time(9, 0), time(17, 0)), (time(8, 30), time(18, 0))]))
def test_office_seconds_count_what_walking_the_days_counts(cal: WorkCalendar, start: datetime, minutes: int,
                                                           hours: tuple[time, time]) -> None:
    end = start + timedelta(minutes=minutes)
    assert workdays.office_seconds(start, end, cal, *hours) == pytest.approx(_walked_seconds(cal, start, end, *hours))


def test_a_long_overdue_span_is_counted_at_once(cal: WorkCalendar) -> None:
    """Months or years apart (an old follow-up, a case overdue since last year) count like two days apart."""
    assert cal.working_days_between(date(2024, 1, 1), date(2026, 12, 31)) == _walked_days(
        cal, date(2024, 1, 1), date(2026, 12, 31))
    assert cal.working_days_between(date(1, 1, 1), date(9999, 12, 31)) > 2_600_000


def test_missing_next_year_warning(cal: WorkCalendar) -> None:
    assert cal.missing_next_year_warning(date(2026, 10, 31)) is None
    assert "2027" in cal.missing_next_year_warning(date(2026, 11, 1))
    assert "2027" in cal.missing_next_year_warning(date(2026, 12, 31))
    assert cal.missing_next_year_warning(date(2025, 11, 20)) is None  # 2026 is bundled
    assert "2027" in cal.missing_next_year_warning(date(2027, 3, 1))  # the current year itself is missing


# --- import -----------------------------------------------------------------------------------------------------


def test_import_good_file(tmp_path: Path) -> None:
    store = CalendarStore(tmp_path / "data")
    src = _write(tmp_path / "in.json", _year_doc(2027, holidays=["2027-01-01"], makeup_workdays=["2027-01-02"]))
    doc = store.import_file(src)
    assert doc.year == 2027 and doc.version == 1
    assert (tmp_path / "data" / "calendar" / "cn-2027-v1.json").read_bytes() == src.read_bytes()
    assert store.versions()[2027] == 1
    assert not store.calendar.is_working_day(date(2027, 1, 1))
    assert store.calendar.is_working_day(date(2027, 1, 2))
    # A new store over the same folder sees the import.
    again = CalendarStore(tmp_path / "data")
    assert again.calendar.year_known(2027) and again.problems == []
    assert not compute_deadline(_dt("2026-12-30T10:00"), again.calendar).provisional


def test_higher_version_wins_and_lower_is_refused(tmp_path: Path) -> None:
    store = CalendarStore(tmp_path)
    v2 = _year_doc(2026, version=2, holidays=["2026-01-01"], makeup_workdays=[])
    store.import_file(_write(tmp_path / "v2.json", v2))
    assert store.versions()[2026] == 2
    assert store.calendar.is_working_day(date(2026, 2, 16))  # the replacement file dropped Spring Festival
    before = sorted((tmp_path / "calendar").iterdir())
    with pytest.raises(CalendarError, match="版本"):
        store.import_file(_write(tmp_path / "v1.json", _year_doc(2026, version=1)))
    assert sorted((tmp_path / "calendar").iterdir()) == before
    assert store.import_file(tmp_path / "v2.json").version == 2  # re-importing the same file is harmless


def test_same_version_as_bundled_with_different_content_is_refused(tmp_path: Path) -> None:
    store = CalendarStore(tmp_path)
    with pytest.raises(CalendarError, match="更高的版本号"):
        store.import_file(_write(tmp_path / "x.json", _year_doc(2026, version=1)))
    assert not (tmp_path / "calendar").exists()


def test_reimporting_bundled_file_is_a_no_op(tmp_path: Path) -> None:
    store = CalendarStore(tmp_path)
    assert store.import_file(CALENDAR_DIR / "cn-2025.json").version == 1
    assert not (tmp_path / "calendar").exists()


BAD_DOCS = {
    "not an object": [],
    "year missing": {k: v for k, v in _year_doc().items() if k != "year"},
    "year as text": {**_year_doc(), "year": "2027"},
    "version as bool": _year_doc(version=True),
    "version as float": _year_doc(version=1.5),
    "version zero": _year_doc(version=0),
    "holidays missing": {k: v for k, v in _year_doc().items() if k != "holidays"},
    "holidays not a list": _year_doc(holidays="2027-01-01"),
    "impossible date": _year_doc(holidays=["2027-02-30"]),
    "compact date": _year_doc(holidays=["20270101"]),
    "date as number": _year_doc(holidays=[20270101]),
    "date in another year": _year_doc(holidays=["2026-12-31"]),
    "make-up outside year": _year_doc(makeup_workdays=["2028-01-01"]),
    "holiday and make-up": _year_doc(holidays=["2027-01-02"], makeup_workdays=["2027-01-02"]),
    "make-up on a weekday": _year_doc(makeup_workdays=["2027-01-04"]),
    "bad notice date": _year_doc(notice_date="2026/11/01"),
    "source not text": _year_doc(source=7),
}


@pytest.mark.parametrize("name", sorted(BAD_DOCS))
def test_bad_file_is_refused_and_changes_nothing(tmp_path: Path, name: str) -> None:
    store = CalendarStore(tmp_path)
    versions = store.versions()
    with pytest.raises(CalendarError) as err:
        store.import_file(_write(tmp_path / "bad.json", BAD_DOCS[name]))
    assert "bad.json" in str(err.value)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value))  # the message is Chinese
    assert not (tmp_path / "calendar").exists()
    assert store.versions() == versions


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00", b""])
def test_unreadable_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(CalendarError):
        CalendarStore(tmp_path).import_file(path)
    assert not (tmp_path / "calendar").exists()


def test_missing_file_and_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="无法读取"):
        CalendarStore(tmp_path).import_file(tmp_path / "nope.json")
    with pytest.raises(CalendarError, match="数据目录"):
        CalendarStore(None).import_file(CALENDAR_DIR / "cn-2025.json")


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_year_doc()).encode())
    assert CalendarStore(tmp_path).import_file(path).year == 2027


def test_corrupt_imported_file_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "cn-2027-v1.json").write_text("{oops", encoding="utf-8")
    store = CalendarStore(tmp_path)
    assert len(store.problems) == 1 and not store.calendar.year_known(2027)
    assert store.calendar.year_known(2026)


# --- CLI --------------------------------------------------------------------------------------------------------


def _run(argv: list[str], data_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="onedesk")
    parser.add_argument("--data-dir", type=Path, default=data_dir)
    calendar_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_deadline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["deadline", "2026-02-13T10:00"], tmp_path) == 0
    assert capsys.readouterr().out.splitlines() == ["2026-02-24T17:30:00+08:00", "2026-02-14", "2026-02-24"]


def test_cli_deadline_with_offset_and_days(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["deadline", "2026-02-13T16:30:00+00:00", "--days", "3"], tmp_path) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["2026-02-26T17:30:00+08:00", "2026-02-24", "2026-02-25", "2026-02-26"]


def test_cli_deadline_provisional(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["deadline", "2026-12-30T10:00"], tmp_path) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2027-01-01T17:30:00+08:00"
    assert out[3] == "provisional"
    assert "2027 年节假日安排尚未导入" in out[4]


def test_cli_deadline_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["deadline", "13/02/2026"], tmp_path) == 2
    captured = capsys.readouterr()
    assert "无法识别的时间" in captured.err and "Traceback" not in captured.err
    with pytest.raises(SystemExit) as exc:
        _run(["deadline", "2026-02-13", "--days", "x"], tmp_path)
    assert exc.value.code == 2
    assert "天数" in capsys.readouterr().err


def test_cli_import_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["calendar", "show", "2027"], tmp_path) == 0
    assert "尚未导入" in capsys.readouterr().out
    src = _write(tmp_path / "cn-2027.json", _year_doc(2027, makeup_workdays=["2027-01-02"]))
    assert _run(["calendar", "import", str(src)], tmp_path) == 0
    assert "2027" in capsys.readouterr().out
    assert _run(["calendar", "show", "2027"], tmp_path) == 0
    out = capsys.readouterr().out
    assert "版本 1" in out and "2026-11-01" in out
    assert "2027-01-01 周五" in out and "2027-01-02 周六" in out


def test_cli_show_bundled_year(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["calendar", "show", "2025"], tmp_path) == 0
    out = capsys.readouterr().out
    assert "2024-11-12" in out and "2025-01-26 周日" in out and "2025-10-08 周三" in out


def test_cli_import_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path / "bad.json", _year_doc(makeup_workdays=["2027-01-04"]))
    assert _run(["calendar", "import", str(bad)], tmp_path) == 2
    err = capsys.readouterr().err
    assert "不是周六或周日" in err and "Traceback" not in err
    assert not (tmp_path / "calendar").exists()
    assert _run(["calendar", "import", str(tmp_path / "missing.json")], tmp_path) == 2


def test_no_qt_imports() -> None:
    for module in (workdays, calendar_cli):
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert "PySide" not in source and "PyQt" not in source


# --- properties -------------------------------------------------------------------------------------------------

ZONES = st.sampled_from([UTC, SHANGHAI, ZoneInfo("America/Los_Angeles"), timezone(timedelta(hours=14))])
INSTANTS = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2028, 12, 31), timezones=ZONES)


@settings(max_examples=300, deadline=None)
@given(forwarded=INSTANTS, days=st.integers(min_value=1, max_value=10))
def test_property_due_day_is_nth_working_day(forwarded: datetime, days: int) -> None:
    cal = CalendarStore(None).calendar
    deadline = compute_deadline(forwarded, cal, days=days)
    local_day = forwarded.astimezone(SHANGHAI).date()
    due_day = deadline.due.date()
    assert deadline.due.tzinfo is CHINA_TZ and deadline.due.time() == time(17, 30)
    assert cal.is_working_day(due_day)
    span = [local_day + timedelta(days=i) for i in range(1, (due_day - local_day).days + 1)]
    assert [d for d in span if cal.is_working_day(d)] == deadline.counted_days
    assert len(deadline.counted_days) == days == cal.working_days_between(local_day, due_day)
    unknown = {d.year for d in span} - {2024, 2025, 2026}
    assert deadline.provisional == bool(unknown) == bool(deadline.reasons)


@settings(max_examples=300, deadline=None)
@given(a=INSTANTS, b=INSTANTS, days=st.integers(min_value=1, max_value=5))
def test_property_deadline_is_monotonic(a: datetime, b: datetime, days: int) -> None:
    cal = CalendarStore(None).calendar
    early, late = sorted([a, b])
    assert compute_deadline(early, cal, days=days).due <= compute_deadline(late, cal, days=days).due


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2023, 1, 1), max_value=date(2028, 12, 31)),
    end=st.dates(min_value=date(2023, 1, 1), max_value=date(2028, 12, 31)),
)
def test_property_working_days_between_is_antisymmetric(start: date, end: date) -> None:
    cal = CalendarStore(None).calendar
    assert cal.working_days_between(start, end) == -cal.working_days_between(end, start)


def test_cli_deadline_uses_the_committees_close_of_business(desk_ctx, capsys: pytest.CaptureFixture[str]) -> None:
    from app.desk.auth import AuthService
    from app.desk.deadlines import DeadlineService
    admin = AuthService(desk_ctx).login("admin", "secret123")
    DeadlineService(desk_ctx).set_close_of_business(admin, "17:00")
    assert _run(["deadline", "2026-02-13T10:00"], desk_ctx.data_dir) == 0
    assert capsys.readouterr().out.splitlines()[0] == "2026-02-24T17:00:00+08:00"
    assert _run(["deadline", "2026-02-13T10:00", "--close-of-business", "18:00"], desk_ctx.data_dir) == 0
    assert capsys.readouterr().out.splitlines()[0] == "2026-02-24T18:00:00+08:00"


@pytest.mark.parametrize("text, expected", [
    ("17:00", time(17, 0)), ("18:05", time(18, 5)), (None, time(17, 30)), ("", time(17, 30)),
    ("5点半", time(17, 30)), ("25:00", time(17, 30)), ("17:30:00", time(17, 30)),
])
def test_a_stored_close_of_business_is_read_once_for_desk_and_server(text, expected) -> None:
    assert workdays.parse_close_of_business(text) == expected
