"""The 台账 workbook (app/core/workbook.py), read back with openpyxl and as the zip Excel opens."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile

import openpyxl
import pytest

from app.core.stats import Breakdown
from app.core.workbook import (
    FIGURE_COLUMNS,
    FONT_NAME,
    LEDGER_HEADERS,
    SHEET_DAYS,
    SHEET_LEDGER,
    SHEET_ROWS,
    SHEET_SUMMARY,
    write_workbook,
)
from tests.report_samples import ledger_rows, report

DEFINITIONS = (("本期办件", "受理时间在统计期间内的案件（撤回的另计）。"),
               ("按时答复", "在转办时记录的期限之前（含期限当时）答复。"))


def _summary_values(ws) -> dict[str, object]:
    values: dict[str, object] = {}
    for label, value in ws.iter_rows(max_col=2, values_only=True):
        values.setdefault(label, value)  # the figures come before the definitions (which name them too)
    return values


def test_desk_workbook_sheets_figures_and_ledger(tmp_path):
    path = tmp_path / "台账.xlsx"
    written = write_workbook(path, report(), ledger_rows(25), definitions=DEFINITIONS)
    assert written == 25
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [SHEET_SUMMARY, SHEET_ROWS, SHEET_DAYS, SHEET_LEDGER]

    summary = wb[SHEET_SUMMARY]
    assert summary["A1"].value == "幸福里社区居民委员会 2026年11月 办件与评价台账"
    values = _summary_values(summary)
    assert values["统计范围"] == "幸福里社区居民委员会"
    assert values["生成时间"] == dt.datetime(2026, 12, 1, 9, 15)  # China wall-clock time, a real datetime
    assert values["办件量"] == 40 and values["即办"] == 25 and values["转办"] == 12 and values["撤回"] == 2
    assert values["按时答复率"] == pytest.approx(0.75)
    assert values["非常满意"] == 18 and values["未评价"] == 7  # 37 ratable, 30 rated
    assert values["当前超期未答复（生成时）"] == 5
    rate_cell = next(r[1] for r in summary.iter_rows(max_col=2) if r[0].value == "满意率")
    assert rate_cell.number_format == "0.0%"
    assert rate_cell.font.name == FONT_NAME
    terms = [r[0].value for r in summary.iter_rows(max_col=2)]
    assert "口径说明" in terms and "按时答复" in terms

    rows = wb[SHEET_ROWS]
    header = [c.value for c in rows[1]]
    assert header == ["事项"] + [label for _a, label, _k in FIGURE_COLUMNS]
    assert rows["A2"].value == "城乡居民基本养老保险参保登记1"
    assert rows["B2"].value == 10
    assert rows["A6"].value == "合计" and rows["B6"].value == 40
    no_rating = [c.value for c in rows[5]]
    assert no_rating[0] == "没有评价的事项"
    assert no_rating[1 + [a for a, _l, _k in FIGURE_COLUMNS].index("satisfaction_rate")] == "—"
    assert rows.freeze_panes == "B2"
    assert rows.auto_filter.ref == "A1:W5"

    days = wb[SHEET_DAYS]
    assert [c.value for c in days[1]] == ["日期", "办件量", "即办", "转办", "按时答复率"]
    assert days.max_row == 31  # 30 days of November
    assert days["A2"].value == dt.datetime(2026, 11, 1)
    assert days["E5"].value is None  # 4 November: no forwarding due, a gap in the line

    ledger = wb[SHEET_LEDGER]
    assert [c.value for c in ledger[1]] == [h for h, _w in LEDGER_HEADERS]
    assert ledger.max_row == 26
    first = [c.value for c in ledger[2]]
    assert first[0] == "XFL-A1-20261102-0001" and first[2] == "欧阳**"
    assert first[3] == dt.datetime(2026, 11, 2, 9, 0) and ledger["D2"].number_format == "yyyy-mm-dd hh:mm"
    assert first[7] == dt.datetime(2026, 11, 4, 9, 0) and first[8] == dt.datetime(2026, 11, 3, 9, 0)
    assert ledger.freeze_panes == "B2"
    assert ledger.auto_filter.ref == "A1:K26"

    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        assert len(charts) == 2
        xml = "".join(z.read(n).decode() for n in charts)
        assert "<c:barChart>" in xml and "<c:lineChart>" in xml  # columns + the on-time line
        assert "每日!$E$2:$E$31" in xml and "汇总!" in xml
        assert "<c:valAx>" in xml and xml.count("<c:valAx>") >= 3  # a secondary axis for the rate
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_district_workbook_has_the_committee_column(tmp_path):
    path = tmp_path / "district.xlsx"
    rep = report(Breakdown.COMMITTEE, scope="和平区")
    written = write_workbook(path, rep, ledger_rows(4, committee="幸福里社区居民委员会"))
    assert written == 4
    wb = openpyxl.load_workbook(path)
    assert wb[SHEET_ROWS]["A1"].value == "居委会"
    ledger = wb[SHEET_LEDGER]
    assert [c.value for c in ledger[1]][:2] == ["居委会", "办件编号"]
    assert ledger["A2"].value == "幸福里社区居民委员会"
    assert ledger.freeze_panes == "C2"
    assert wb[SHEET_SUMMARY]["A1"].value == "和平区 2026年11月 办件与评价台账"


def test_text_is_never_a_formula_and_bad_characters_are_dropped(tmp_path):
    path = tmp_path / "odd.xlsx"
    rows = list(ledger_rows(1))
    rows[0].item_name = "=HYPERLINK(\"http://x\")\x07事项"
    rows[0].applicant = "李*\x00"
    write_workbook(path, report(rows=0), rows)
    ledger = openpyxl.load_workbook(path)[SHEET_LEDGER]
    assert ledger["B2"].value == "=HYPERLINK(\"http://x\")事项"
    assert ledger["B2"].data_type == "s"  # text, not a formula
    assert ledger["C2"].value == "李*"


def test_empty_period_still_opens(tmp_path):
    path = tmp_path / "empty.xlsx"
    rep = report(rows=0)
    rep.rows = []
    rep.per_day = []
    assert write_workbook(path, rep, iter(())) == 0
    wb = openpyxl.load_workbook(path)
    assert wb[SHEET_LEDGER].max_row == 1
    assert wb[SHEET_ROWS]["A2"].value == "合计"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_workbook(tmp_path):
    path = tmp_path / "lo.xlsx"
    write_workbook(path, report(), ledger_rows(50), definitions=DEFINITIONS)
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   check=True, timeout=180, capture_output=True)
    assert (tmp_path / "lo.pdf").stat().st_size > 1000
