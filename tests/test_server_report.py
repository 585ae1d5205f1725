"""The district's report (app/server/report.py, ``server report month``) on PostgreSQL: the hand-counted month of
tests/test_stats.py copied into the server next to a second committee, one 分项 row per committee."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from app.cli.main import main
from app.core.workbook import SHEET_LEDGER, SHEET_ROWS, SHEET_SUMMARY
from app.server.admin import server_calendar
from app.server.report import committee_closes, district_ledger, district_report, write_district_workbook
from models import Committee
from tests.test_stats import NOV, NOW, TOTAL, _copy_rows, _seed

pytest_plugins = ("tests.server_fixtures",)


@pytest.fixture
def district(desk_ctx, server_db):
    seed = _seed(desk_ctx)
    with seed.ctx.sessions() as desk_s, server_db.sessions.begin() as server_s:
        _copy_rows(desk_s, server_s)
        server_s.add(Committee(code="320302002", name="和平里社区居民委员会", close_of_business="17:00"))
    return server_db


def test_district_report_has_one_row_per_committee(district):
    with district.sessions() as s:
        closes = committee_closes(s)
        report = district_report(s, NOV, NOW, server_calendar(s), scope="和平区")
        rows = list(district_ledger(s, NOV, NOW))
    assert sorted(closes.values()) == [dt.time(17, 0), dt.time(17, 30)]
    assert report.scope == "和平区" and report.total.cases == TOTAL["cases"]
    assert report.total.on_time_rate == TOTAL["on_time_rate"] and report.total.rated == TOTAL["rated"]
    assert [(r.label, r.figures.cases) for r in report.rows] == [
        ("幸福里社区居民委员会", 12), ("和平里社区居民委员会", 0)]
    assert report.overdue_now == 3
    assert len(rows) == 13 and {r.committee for r in rows} == {"幸福里社区居民委员会"}


def test_district_workbook(district, tmp_path):
    _report, written, out = write_district_workbook(district, NOV, tmp_path / "区" / "2026-11.xlsx", NOW)
    assert written == 13 and out.is_file() and [p.name for p in out.parent.iterdir()] == ["2026-11.xlsx"]
    wb = openpyxl.load_workbook(out)
    assert wb[SHEET_SUMMARY]["A1"].value == "全区各居委会 2026年11月 办件与评价台账"
    assert [r[0].value for r in wb[SHEET_ROWS].iter_rows(max_col=1)] == [
        "居委会", "幸福里社区居民委员会", "和平里社区居民委员会", "合计"]
    assert wb[SHEET_ROWS]["B4"].value == 12  # 合计
    ledger = wb[SHEET_LEDGER]
    assert [c.value for c in ledger[1]][:3] == ["居委会", "办件编号", "事项"]
    assert ledger.max_row == 14 and ledger["A2"].value == "幸福里社区居民委员会"


def test_server_report_month_command(district, pg_url, tmp_path, capsys):
    path = tmp_path / "district.xlsx"
    assert main(["server", "report", "month", "2026-11", "--xlsx", str(path), "--db", pg_url,
                 "--scope", "和平区"]) == 0
    out = capsys.readouterr().out
    assert "和平区 2026年11月：2 个居委会，办件 12 件" in out and f"台账（13 件）已写入：{path}" in out
    assert openpyxl.load_workbook(path)[SHEET_LEDGER].max_row == 14
    assert main(["server", "report", "month", "2026-13", "--xlsx", str(tmp_path / "bad.xlsx"),
                 "--db", pg_url]) == 2
    assert "月份应在 1 到 12 之间" in capsys.readouterr().err and not (tmp_path / "bad.xlsx").exists()


@pytest.fixture
def district_requests(desk_ctx, server_db):
    from tests.request_world import make_requests
    make_requests(desk_ctx)  # November's known 诉求 (tests/request_world.py)
    with desk_ctx.sessions() as desk_s, server_db.sessions.begin() as server_s:
        _copy_rows(desk_s, server_s)
        server_s.add(Committee(code="320302002", name="和平里社区居民委员会", close_of_business="17:00"))
    return server_db


def test_the_district_workbook_counts_the_committees_requests(district_requests, tmp_path, pg_url, capsys):
    """诉求 (issue 20) in the district's workbook: by category, and by committee (a 块区 code is each committee's
    own, so the district does not add 块区 of different committees up); the service figures leave them out."""
    from app.core.workbook import SHEET_REQUESTS
    report, written, out = write_district_workbook(district_requests, NOV, tmp_path / "2026-11.xlsx", NOW)
    assert report.total.cases == 0 and written == 0  # no service case: the requests are not 办件
    r = report.requests
    assert (r.total.requests, r.total.withdrawn, r.total.closed, r.total.feedback_rate) == (4, 1, 2, 0.5)
    assert (r.open_now, r.overdue_now, r.block_header) == (3, 1, "居委会")
    with district_requests.sessions() as s:
        mine = s.query(Committee).filter(Committee.code != "320302002").one().name
    assert [(row.label, row.figures.requests) for row in r.by_block] == [(mine, 4), ("和平里社区居民委员会", 0)]
    sheet = openpyxl.load_workbook(out)[SHEET_REQUESTS]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    first = [row[0] for row in cells]
    assert "居委会" in first and mine in first and "块区" not in first
    assert cells[first.index(mine)][1] == 4  # 诉求量
    assert main(["server", "report", "month", "2026-11", "--xlsx", str(tmp_path / "cli.xlsx"), "--db", pg_url]) == 0
    assert "诉求 4 件（已办结 2），24小时反馈率 50.0%，当前未办结" in capsys.readouterr().out
