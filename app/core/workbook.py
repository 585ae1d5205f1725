"""The 台账 workbook (issue 16): one Excel file for the desk (one committee) and the district (one row per committee).

Written with XlsxWriter in ``constant_memory`` mode: the 台账 sheet streams its rows (a year of 150,000 cases
never sits in memory), every other sheet is small. Four sheets: 汇总 (the period's figures, the rating levels,
the definitions), 分项 (the breakdown, one column per figure), 每日 (cases per day and the on-time rate, with
native Excel charts), 诉求 (issue 20, when the report carries the requests: by category and by 块区) and 台账 (one
row per case, the applicant masked; the service cases only). Dates are real Excel datetimes in China
time; nothing is a formula (a text starting with "=" stays text), so WPS and Excel open it without a repair.
The figure labels (:data:`FIGURE_COLUMNS`) are shared with the monthly report PDF.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from app.core.errors import UserError, is_disk_full
from app.core.request_stats import REQUEST_COLUMNS, RequestReport, RequestRow
from app.core.stats import BREAKDOWN_LABELS, DEFINITIONS, Breakdown, DayPoint, Figures, LedgerRow, Report
from app.core.vocabulary import CHINA_TZ, UNRATED_LABEL, RatingLevel

FONT_NAME = "宋体"  # present on every Chinese Windows and in WPS; Excel substitutes elsewhere
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_TEXT = 32_767

COUNT, RATE, HOURS = "count", "rate", "hours"
# (Figures attribute, Chinese label, kind): the order of the 汇总 lines, the 分项 columns and the PDF's table.
FIGURE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("cases", "办件量", COUNT),
    ("on_spot", "即办", COUNT),
    ("forwarded", "转办", COUNT),
    ("in_progress", "在办", COUNT),
    ("withdrawn", "撤回", COUNT),
    ("deferred", "容缺受理", COUNT),
    ("pledge", "告知承诺制", COUNT),
    ("forwardings", "转办次数", COUNT),
    ("replied_on_time", "按时答复", COUNT),
    ("replied_late", "超期答复", COUNT),
    ("open_forwardings", "未答复", COUNT),
    ("open_overdue", "其中超期未答复", COUNT),
    ("on_time_rate", "按时答复率", RATE),
    ("avg_reply_hours", "平均答复用时（工作小时）", HOURS),
    ("ratable", "应评价件数（即办＋转办）", COUNT),
    ("rated", "已评价", COUNT),
    ("rating_rate", "主动评价率", RATE),
    ("satisfied", "满意件数（含基本满意）", COUNT),
    ("satisfaction_rate", "满意率", RATE),
    ("bad", "差评", COUNT),
    ("bad_fixed", "差评已整改", COUNT),
    ("followup_rate", "差评整改率", RATE),
)
KEY_HEADERS: dict[Breakdown, str] = {
    Breakdown.ITEM: "事项", Breakdown.LINE: "条线（部门）", Breakdown.WORKER: "受理人", Breakdown.DAY: "日期",
    Breakdown.COMMITTEE: "居委会",
}
LEDGER_HEADERS: tuple[tuple[str, float], ...] = (  # (header, column width)
    ("办件编号", 20), ("事项", 30), ("申请人", 9), ("受理时间", 17), ("办理方式", 9), ("受理方式", 11),
    ("承办", 16), ("期限", 17), ("答复时间", 17), ("是否超期", 9), ("评价", 11),
)
SHEET_SUMMARY, SHEET_ROWS, SHEET_DAYS, SHEET_LEDGER = "汇总", "分项", "每日", "台账"
SHEET_REQUESTS = "诉求"  # issue 20: the period's 诉求 by category and 块区 (written when the report carries them)
NO_BASE = "—"  # a rate with nothing to divide by

# Characters XML 1.0 cannot carry (an .xlsx holding one needs a repair in Excel).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class WorkbookError(UserError):
    """The 台账 does not fit a workbook; Chinese message."""


class ReportFileError(UserError):
    """A workbook or report file could not be written; Chinese message, nothing left behind."""


def clean_text(value: str | None) -> str:
    """Text a worksheet cell can hold: no XML-invalid characters, at most Excel's 32,767 characters."""
    text = _INVALID_XML.sub("", value or "")
    return text[:EXCEL_MAX_TEXT]


def china_naive(at: dt.datetime) -> dt.datetime:
    """An instant as the wall-clock time in China, without tzinfo (what an Excel datetime is)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(CHINA_TZ).replace(tzinfo=None)


def figure_value(figures: Figures, attr: str) -> Any:
    return getattr(figures, attr)


def level_counts(figures: Figures) -> list[tuple[str, int]]:
    """The five levels in order, then 未评价 (cases that could be rated and were not)."""
    rows = [(level.label, int(figures.levels.get(level.value, 0))) for level in RatingLevel]
    rows.append((UNRATED_LABEL, max(figures.ratable - figures.rated, 0)))
    return rows


def report_title(report: Report) -> str:
    return f"{report.scope} {report.period.label} 办件与评价台账"


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": FONT_NAME, "font_size": 11, "valign": "vcenter"}

        def fmt(**extra: Any):
            return wb.add_format({**base, **extra})

        self.title = fmt(bold=True, font_size=16)
        self.label = fmt(bold=True)
        self.text = fmt()
        self.wrap = fmt(text_wrap=True, valign="top")
        self.header = fmt(bold=True, bg_color="#DCE6F1", border=1, text_wrap=True, align="center")
        self.count = fmt(num_format="0", border=1)
        self.rate = fmt(num_format="0.0%", border=1)
        self.hours = fmt(num_format="0.0", border=1)
        self.cell = fmt(border=1)
        self.total = fmt(bold=True, border=1, bg_color="#F2F2F2")
        self.total_count = fmt(bold=True, num_format="0", border=1, bg_color="#F2F2F2")
        self.total_rate = fmt(bold=True, num_format="0.0%", border=1, bg_color="#F2F2F2")
        self.total_hours = fmt(bold=True, num_format="0.0", border=1, bg_color="#F2F2F2")
        self.date = fmt(num_format="yyyy-mm-dd", border=1)
        self.datetime = wb.add_format({**base, "num_format": "yyyy-mm-dd hh:mm"})
        self.plain = wb.add_format({**base})

    def for_kind(self, kind: str, total: bool = False):
        if total:
            return {COUNT: self.total_count, RATE: self.total_rate, HOURS: self.total_hours}[kind]
        return {COUNT: self.count, RATE: self.rate, HOURS: self.hours}[kind]


def write_workbook(path: Path | str, report: Report | Callable[[], Report], ledger_rows: Iterable[LedgerRow], *,
                   definitions: Sequence[tuple[str, str]] = DEFINITIONS, district: bool | None = None) -> int:
    """Write the workbook of ``report`` and its 台账 rows to ``path``; returns the number of 台账 rows written.

    ``report`` may be a callable giving the report once the rows have been read (the figures counted from the
    same reading: :func:`app.core.stats.ledger_with_report`); ``district`` then says whether it is the
    district's workbook, else it follows ``report.breakdown == Breakdown.COMMITTEE`` (a 居委会 column first).
    XlsxWriter writes the workbook (formats, charts, the small sheets and the 台账's header, freeze panes and
    filter); the 台账's rows, a year of them 1.6 million cells, are serialised here straight into the sheet's XML
    (XlsxWriter's per-cell path takes about 10 µs a cell, three times the 5 s a year's workbook may take).
    """
    if district is None:
        if callable(report):
            raise TypeError("district must be given with a deferred report")
        district = report.breakdown == Breakdown.COMMITTEE
    with tempfile.TemporaryDirectory(prefix="onedesk-workbook-") as work:
        base, rows_xml = Path(work) / "base.xlsx", Path(work) / "rows.xml"
        wb = xlsxwriter.Workbook(str(base), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "default_format_properties": {"font_name": FONT_NAME, "font_size": 11},
        })
        try:
            f = _Formats(wb)
            # The 台账's rows are written first (the figures may be counted while they are read), so the datetime
            # format takes its styles.xml index now rather than when a small sheet first uses it.
            date_xf = f.datetime._get_xf_index()
            written = _stream_ledger_rows(rows_xml, ledger_rows, district, date_xf)
            final = report() if callable(report) else report
            wb.set_properties({"title": clean_text(report_title(final)), "author": clean_text(final.scope),
                               "company": clean_text(final.scope), "comments": "OneDesk 全科前台"})
            summary = wb.add_worksheet(SHEET_SUMMARY)
            level_range = _write_summary(summary, f, final, definitions)
            _write_rows(wb.add_worksheet(SHEET_ROWS), f, final)
            _write_days(wb, wb.add_worksheet(SHEET_DAYS), f, final.per_day, level_range)
            if final.requests is not None:
                _write_requests(wb.add_worksheet(SHEET_REQUESTS), f, final.requests, final.scope)
            if f.datetime.xf_index != date_xf:
                raise RuntimeError("XlsxWriter changed the datetime format's index")
            _write_ledger_header(wb.add_worksheet(SHEET_LEDGER), f, district, written)
            sheet_member = f"xl/worksheets/sheet{len(wb.worksheets())}.xml"
        finally:
            wb.close()
        _splice_rows(base, sheet_member, rows_xml, written, _LETTERS[_ledger_width(district) - 1], Path(path))
    return written


def _write_summary(ws: Worksheet, f: _Formats, report: Report,
                   definitions: Sequence[tuple[str, str]]) -> tuple[int, int]:
    """The 汇总 sheet; returns the (first, last) rows of the rating levels table (for the chart)."""
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 12)
    ws.set_column(3, 3, 70)
    ws.write_string(0, 0, clean_text(report_title(report)), f.title)
    ws.set_row(0, 26)
    row = 2
    for label, value in (
        ("统计范围", report.scope),
        ("统计期间", f"{report.period.label}（{report.period.first:%Y-%m-%d} 至 {report.period.last:%Y-%m-%d}）"),
        ("分项方式", BREAKDOWN_LABELS[report.breakdown]),
    ):
        ws.write_string(row, 0, label, f.label)
        ws.write_string(row, 1, clean_text(value), f.text)
        row += 1
    ws.write_string(row, 0, "生成时间", f.label)
    ws.write_datetime(row, 1, china_naive(report.computed_at), f.datetime)
    row += 1
    ws.write_string(row, 0, "当前超期未答复（生成时）", f.label)
    ws.write_number(row, 1, report.overdue_now, f.plain)
    row += 2
    ws.write_string(row, 0, "指标", f.header)
    ws.write_string(row, 1, "本期", f.header)
    row += 1
    for attr, label, kind in FIGURE_COLUMNS:
        ws.write_string(row, 0, label, f.cell)
        _write_figure(ws, row, 1, figure_value(report.total, attr), f.for_kind(kind), f.cell)
        row += 1
    row += 1
    ws.write_string(row, 0, "评价等级（首次评价）", f.header)
    ws.write_string(row, 1, "件数", f.header)
    ws.write_string(row, 2, "占已评价", f.header)
    row += 1
    first = row
    rated = report.total.rated
    for label, count in level_counts(report.total):
        ws.write_string(row, 0, label, f.cell)
        ws.write_number(row, 1, count, f.count)
        if label != UNRATED_LABEL and rated:
            ws.write_number(row, 2, count / rated, f.rate)
        else:
            ws.write_string(row, 2, NO_BASE, f.cell)
        row += 1
    last = row - 1
    if definitions:
        row += 1
        ws.write_string(row, 0, "口径说明", f.header)
        ws.merge_range(row, 1, row, 3, "定义", f.header)
        row += 1
        for term, text in definitions:
            ws.write_string(row, 0, clean_text(term), f.wrap)
            ws.merge_range(row, 1, row, 3, clean_text(text), f.wrap)
            ws.set_row(row, 15 * max(1, -(-len(text) // 45)))  # wrapped text: about 45 characters a line
            row += 1
    return first, last


def _write_figure(ws: Worksheet, row: int, col: int, value: Any, number_format, empty_format) -> None:
    if value is None:
        ws.write_string(row, col, NO_BASE, empty_format)
    else:
        ws.write_number(row, col, float(value) if isinstance(value, float) else int(value), number_format)


def _write_rows(ws: Worksheet, f: _Formats, report: Report) -> None:
    key_header = KEY_HEADERS[report.breakdown]
    ws.set_column(0, 0, 30 if report.breakdown in (Breakdown.ITEM, Breakdown.COMMITTEE) else 16)
    ws.set_column(1, len(FIGURE_COLUMNS), 10)
    ws.set_row(0, 45)
    ws.write_string(0, 0, key_header, f.header)
    for col, (_attr, label, _kind) in enumerate(FIGURE_COLUMNS, start=1):
        ws.write_string(0, col, label, f.header)
    row = 1
    for r in report.rows:
        ws.write_string(row, 0, clean_text(r.label or r.key), f.cell)
        for col, (attr, _label, kind) in enumerate(FIGURE_COLUMNS, start=1):
            _write_figure(ws, row, col, figure_value(r.figures, attr), f.for_kind(kind), f.cell)
        row += 1
    if report.rows:
        ws.autofilter(0, 0, row - 1, len(FIGURE_COLUMNS))
    ws.write_string(row, 0, "合计", f.total)
    for col, (attr, _label, kind) in enumerate(FIGURE_COLUMNS, start=1):
        _write_figure(ws, row, col, figure_value(report.total, attr), f.for_kind(kind, total=True), f.total)
    ws.freeze_panes(1, 1)


def _write_days(wb: xlsxwriter.Workbook, ws: Worksheet, f: _Formats, per_day: Sequence[DayPoint],
                level_range: tuple[int, int]) -> None:
    ws.set_column(0, 0, 12)
    ws.set_column(1, 3, 9)
    ws.set_column(4, 4, 12)
    for col, label in enumerate(("日期", "办件量", "即办", "转办", "按时答复率")):
        ws.write_string(0, col, label, f.header)
    for row, p in enumerate(per_day, start=1):
        ws.write_datetime(row, 0, dt.datetime.combine(p.day, dt.time()), f.date)
        ws.write_number(row, 1, p.cases, f.count)
        ws.write_number(row, 2, p.on_spot, f.count)
        ws.write_number(row, 3, p.forwarded, f.count)
        if p.on_time_rate is None:
            ws.write_blank(row, 4, None, f.rate)  # no forwarding due that day: a gap in the line
        else:
            ws.write_number(row, 4, p.on_time_rate, f.rate)
    ws.freeze_panes(1, 0)
    n = len(per_day)
    if n:
        ws.insert_chart(1, 6, _day_chart(wb, n), {"x_scale": 1.6, "y_scale": 1.3})
    ws.insert_chart(22, 6, _level_chart(wb, level_range), {"x_scale": 1.2, "y_scale": 1.1})


def _write_requests(ws: Worksheet, f: _Formats, report: RequestReport, scope: str) -> None:
    """The 诉求 sheet: the period's figures, then one table by category and one by 块区 (the district's: by
    居委会), a 合计 line each."""
    ws.set_column(0, 0, 24)
    ws.set_column(1, len(REQUEST_COLUMNS), 11)
    ws.write_string(0, 0, clean_text(f"{scope} {report.period.label} 诉求统计"), f.title)
    ws.set_row(0, 26)
    row = 2
    for label, value in (("当前未办结（生成时）", report.open_now), ("当前超时（生成时）", report.overdue_now)):
        ws.write_string(row, 0, label, f.label)
        ws.write_number(row, 1, value, f.plain)
        row += 1
    for key_header, rows in (("诉求类别", report.by_category), (report.block_header, report.by_block)):
        row = _write_request_table(ws, f, row + 1, key_header, rows, report) + 1


def _write_request_table(ws: Worksheet, f: _Formats, row: int, key_header: str, rows: Sequence[RequestRow],
                         report: RequestReport) -> int:
    """One breakdown of the 诉求 sheet from ``row``; returns the row after its 合计 line."""
    ws.set_row(row, 30)
    ws.write_string(row, 0, key_header, f.header)
    for col, (_attr, label, _kind) in enumerate(REQUEST_COLUMNS, start=1):
        ws.write_string(row, col, label, f.header)
    row += 1
    for r in rows:
        ws.write_string(row, 0, clean_text(r.label or r.key), f.cell)
        for col, (attr, _label, kind) in enumerate(REQUEST_COLUMNS, start=1):
            _write_figure(ws, row, col, getattr(r.figures, attr), f.for_kind(kind), f.cell)
        row += 1
    ws.write_string(row, 0, "合计", f.total)
    for col, (attr, _label, kind) in enumerate(REQUEST_COLUMNS, start=1):
        _write_figure(ws, row, col, getattr(report.total, attr), f.for_kind(kind, total=True), f.total)
    return row + 1


def _day_chart(wb: xlsxwriter.Workbook, n: int):
    font = {"name": FONT_NAME}
    columns = wb.add_chart({"type": "column"})
    assert columns is not None
    columns.add_series({"name": [SHEET_DAYS, 0, 1], "categories": [SHEET_DAYS, 1, 0, n, 0],
                        "values": [SHEET_DAYS, 1, 1, n, 1], "fill": {"color": "#4F81BD"}, "gap": 60})
    line = wb.add_chart({"type": "line"})
    assert line is not None
    line.add_series({"name": [SHEET_DAYS, 0, 4], "categories": [SHEET_DAYS, 1, 0, n, 0],
                     "values": [SHEET_DAYS, 1, 4, n, 4], "y2_axis": True,
                     "line": {"color": "#C0504D", "width": 2.0}, "marker": {"type": "circle", "size": 5}})
    columns.combine(line)
    columns.set_title({"name": "每日办件量与按时答复率", "name_font": {**font, "size": 12}})
    columns.set_x_axis({"date_axis": True, "num_format": "m/d", "num_font": font, "major_unit": max(1, n // 15),
                        "major_unit_type": "days"})
    columns.set_y_axis({"name": "办件量", "name_font": font, "num_font": font, "min": 0, "major_gridlines":
                        {"visible": True, "line": {"color": "#D9D9D9"}}})
    line.set_y2_axis({"name": "按时答复率", "name_font": font, "num_font": font, "min": 0, "max": 1,
                      "num_format": "0%"})
    columns.set_legend({"position": "bottom", "font": font})
    columns.show_blanks_as("gap")
    return columns


def _level_chart(wb: xlsxwriter.Workbook, level_range: tuple[int, int]):
    font = {"name": FONT_NAME}
    first, last = level_range
    chart = wb.add_chart({"type": "bar"})
    assert chart is not None
    chart.add_series({"name": "件数", "categories": [SHEET_SUMMARY, first, 0, last, 0],
                      "values": [SHEET_SUMMARY, first, 1, last, 1], "fill": {"color": "#9BBB59"},
                      "data_labels": {"value": True, "font": font}, "gap": 50})
    chart.set_title({"name": "评价等级分布", "name_font": {**font, "size": 12}})
    chart.set_x_axis({"num_font": font, "min": 0, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_y_axis({"num_font": font, "reverse": True})  # 非常满意 on top, as the table reads
    chart.set_legend({"none": True})
    return chart


def _ledger_width(district: bool) -> int:
    return len(LEDGER_HEADERS) + (1 if district else 0)


def _write_ledger_header(ws: Worksheet, f: _Formats, district: bool, rows: int) -> None:
    headers = ((("居委会", 22),) if district else ()) + LEDGER_HEADERS
    for col, (label, width) in enumerate(headers):
        ws.set_column(col, col, width)
        ws.write_string(0, col, label, f.header)
    ws.freeze_panes(1, 2 if district else 1)
    ws.autofilter(0, 0, max(rows, 1), len(headers) - 1)


_LETTERS = [xl_col_to_name(i) for i in range(16)]
_DIMENSION = re.compile(r'<dimension ref="[^"]*"/>')


def _inline(text: str) -> str:
    """A cell's inline string: cleaned, XML-escaped, leading/trailing spaces kept."""
    t = clean_text(text)
    esc = t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    keep = ' xml:space="preserve"' if t[:1].isspace() or t[-1:].isspace() else ""
    return f' t="inlineStr"><is><t{keep}>{esc}</t></is></c>'


# Excel's serial of 1970-01-01 00:00, and China's offset (UTC+8 all year since 1992): an instant's serial is then
# arithmetic on its timestamp, with no time-zone conversion per cell.
_UNIX_EPOCH_SERIAL = 25569
_CHINA_SECONDS = 8 * 3600


def _serial(at: dt.datetime) -> str:
    """An instant (aware; naive is UTC) as an Excel date serial of its China wall-clock time."""
    ts = at.timestamp() if at.tzinfo is not None else at.replace(tzinfo=dt.UTC).timestamp()
    return repr(_UNIX_EPOCH_SERIAL + (ts + _CHINA_SECONDS) / 86400)


def _stream_ledger_rows(target: Path, rows: Iterable[LedgerRow], district: bool, date_xf: int) -> int:
    """The 台账's ``<row>`` elements from row 2 on, written to ``target``; returns how many."""
    letters = _LETTERS[:_ledger_width(district)]
    date_attr = f' s="{date_xf}"><v>'
    cache: dict[str, str] = {}  # item names, handling, ratings … repeat on every row
    last_row = EXCEL_MAX_ROWS - 1
    written = 0
    cells: list[str] = []
    with open(target, "w", encoding="utf-8") as fh:
        for r in rows:
            if written >= last_row:
                raise WorkbookError(f"台账超过 Excel 一张表的行数上限（{last_row} 行），请缩短统计期间")
            written += 1
            n = str(written + 1)
            values = (r.case_number, r.item_name, r.applicant, r.accepted_at, r.handling, r.acceptance_mode,
                      r.handler, r.due_at, r.replied_at, r.overdue, r.rating)
            if district:
                values = (r.committee, *values)  # type: ignore[assignment]
            cells.append(f'<row r="{n}">')
            for letter, value in zip(letters, values, strict=True):
                if not value:
                    continue  # None or "": an empty cell, not a cell holding ""
                if value.__class__ is str:
                    xml = cache.get(value)
                    if xml is None and value.isascii() and value.replace("-", "").isalnum():
                        # A case number (unique, so never cached): nothing in it to clean or escape.
                        cells.append(f'<c r="{letter}{n}" t="inlineStr"><is><t>{value}</t></is></c>')
                        continue
                    if xml is None:
                        xml = _inline(value)
                        if len(cache) < 20_000:
                            cache[value] = xml
                    cells.append(f'<c r="{letter}{n}"{xml}')
                else:
                    cells.append(f'<c r="{letter}{n}"{date_attr}{_serial(value)}</v></c>')  # type: ignore[arg-type]
            cells.append("</row>")
            if len(cells) > 20_000:
                fh.write("".join(cells))
                cells.clear()
        fh.write("".join(cells))
    return written


def _splice_rows(base: Path, member: str, rows_xml: Path, rows: int, last_letter: str, out: Path) -> None:
    """Copy the workbook ``base`` to ``out`` with the rows of ``rows_xml`` added to the sheet ``member``."""
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                     compresslevel=1) as dst:
        for info in src.infolist():
            if info.filename != member:
                dst.writestr(info, src.read(info.filename))
                continue
            head, end, tail = src.read(member).decode("utf-8").partition("</sheetData>")
            if not end:
                raise RuntimeError(f"{member} has no sheetData")
            head = _DIMENSION.sub(f'<dimension ref="A1:{last_letter}{rows + 1}"/>', head, count=1)
            target = zipfile.ZipInfo(member, date_time=info.date_time)
            target.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(target, "w") as fh, open(rows_xml, "rb") as body:
                fh.write(head.encode("utf-8"))
                shutil.copyfileobj(body, fh, 1 << 20)
                fh.write((end + tail).encode("utf-8"))


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` through ``write(temporary path)`` beside it, then move it into place: a failed write
    leaves nothing under the name asked for (an older file there stays as it was)."""
    path = Path(path).expanduser().absolute()
    if path.is_dir():
        raise ReportFileError(f"“{path}”是一个文件夹，请给出文件名")
    with _temp_beside(path) as tmp:
        try:
            write(tmp)
            os.replace(tmp, path)
        except OSError as e:
            raise _write_error(e, path) from None
    return path


@contextlib.contextmanager
def _temp_beside(path: Path) -> Iterator[Path]:
    """A temporary file in the target's folder (so the final move is a rename), removed unless moved."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem[:40]}-", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _write_error(e, path) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _write_error(e: OSError, path: Path) -> ReportFileError:
    if is_disk_full(e):
        return ReportFileError(f"磁盘空间不足，文件未写入：{path}。请清理磁盘后重试")
    return ReportFileError(f"无法写入文件：{path}（{e.strerror or '没有写入权限'}）。请换一个文件夹，"
                           "或检查该文件是否正在被 Excel/WPS 打开")
