"""The monthly report PDF for the street office (issue 16): the figures of a :class:`~app.core.stats.Report`.

A4 portrait, set in the bundled fonts of the slips (:mod:`app.desk.printing.fonts`): the title, the figures,
two charts drawn with ``reportlab.graphics`` (cases per day with the on-time rate on a second axis; the rating
levels), the breakdown table (split over pages, header repeated), the overdue cases, the definitions, and
"第 i 页 / 共 n 页" with the generated time on every page. The same data gives the same bytes (``invariant``).
Figure labels and order are the workbook's (:data:`app.core.workbook.FIGURE_COLUMNS`).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, KeepTogether, PageTemplate, Table, TableStyle

from app.core.request_stats import REQUEST_COLUMNS, RequestReport, RequestRow
from app.core.stats import BREAKDOWN_LABELS, DEFINITIONS, DayPoint, Figures, Report
from app.core.vocabulary import CHINA_TZ
from app.core.workbook import FIGURE_COLUMNS, HOURS, KEY_HEADERS, RATE, level_counts
from app.desk.printing.flowables import Para
from app.desk.printing.fonts import FontSet, ensure_fonts

MARGIN_X, MARGIN_Y = 18 * mm, 16 * mm
CONTENT_WIDTH = A4[0] - 2 * MARGIN_X
BAR = colors.HexColor("#4F81BD")
RATE_LINE = colors.HexColor("#C0504D")
LEVEL_BAR = colors.HexColor("#9BBB59")
HEAD = colors.HexColor("#DCE6F1")
GRID = colors.HexColor("#888888")
GREY = colors.HexColor("#444444")
# The breakdown table's columns: A4 portrait holds the name and ten figures.
BREAKDOWN_COLUMNS = ("cases", "on_spot", "forwarded", "on_time_rate", "open_overdue", "avg_reply_hours",
                     "rating_rate", "satisfaction_rate", "bad", "followup_rate")
SHORT_LABELS = {"avg_reply_hours": "平均答复工时", "open_overdue": "超期未答复"}
NO_BASE = "—"


def report_title(report: Report) -> str:
    whole_month = (report.period.first.day == 1 and report.period.first.month == report.period.last.month
                   and (report.period.last + dt.timedelta(days=1)).day == 1)
    # Ideographic spaces: the paragraph drops an ASCII space next to Chinese text.
    return f"{report.scope}\u3000{report.period.label}\u3000办件与评价{'月报' if whole_month else '统计报告'}"


def format_figure(value: object, kind: str) -> str:
    if value is None:
        return NO_BASE
    if kind == RATE:
        return f"{float(value) * 100:.1f}%"  # type: ignore[arg-type]
    if kind == HOURS:
        return f"{float(value):.1f}"  # type: ignore[arg-type]
    return str(value)


def _china(at: dt.datetime) -> dt.datetime:
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(CHINA_TZ)


class _Styles:
    def __init__(self, fonts: FontSet):
        self.fonts = fonts
        self.title = ParagraphStyle("title", fontName=fonts.cjk, fontSize=16, leading=22, alignment=TA_CENTER,
                                    spaceAfter=2 * mm)
        self.sub = ParagraphStyle("sub", fontName=fonts.cjk, fontSize=9, leading=13, alignment=TA_CENTER,
                                  textColor=GREY, spaceAfter=4 * mm)
        self.h2 = ParagraphStyle("h2", fontName=fonts.cjk, fontSize=12, leading=17, spaceBefore=5 * mm,
                                 spaceAfter=2 * mm, keepWithNext=1)
        self.cell = ParagraphStyle("cell", fontName=fonts.cjk, fontSize=8.5, leading=11)
        self.num = ParagraphStyle("num", parent=self.cell, alignment=TA_RIGHT)
        self.head = ParagraphStyle("head", parent=self.cell, alignment=TA_CENTER)
        self.body = ParagraphStyle("body", fontName=fonts.cjk, fontSize=9, leading=13.5)

    def p(self, text: str, style: ParagraphStyle) -> Para:
        return Para(self.fonts.rich(text), style)


def render_report_pdf(report: Report, *, definitions: Sequence[tuple[str, str]] = DEFINITIONS) -> bytes:
    """The report as PDF bytes (A4)."""
    fonts = ensure_fonts()
    st = _Styles(fonts)
    title = report_title(report)
    generated = f"生成时间：{_china(report.computed_at):%Y-%m-%d %H:%M}"
    story: list[Flowable] = [
        st.p(title, st.title),
        st.p(f"统计范围：{report.scope}　统计期间：{report.period.first:%Y-%m-%d} 至 {report.period.last:%Y-%m-%d}"
             f"　{generated}", st.sub),
        st.p("一、主要指标", st.h2), _figures_table(st, report.total, report.overdue_now),
        st.p("二、每日办件量与按时答复率", st.h2), _day_chart(fonts, report.per_day),
        KeepTogether([st.p("三、评价等级（首次评价）", st.h2), _level_chart(fonts, report.total)]),
    ]
    if report.rows:
        story += [st.p(f"四、分项统计（{BREAKDOWN_LABELS[report.breakdown]}）", st.h2), _breakdown_table(st, report)]
    if report.overdue:
        story += [st.p(f"五、当前超期未答复（{report.overdue_now} 件）", st.h2), _overdue_table(st, report)]
    if report.requests is not None:
        story += _requests_section(st, report.requests)
    if definitions:
        story.append(st.p("统计口径", st.h2))
        story += [st.p(f"{term}：{text}", st.body) for term, text in definitions]
    buf = io.BytesIO()
    doc = BaseDocTemplate(buf, pagesize=A4, leftMargin=MARGIN_X, rightMargin=MARGIN_X, topMargin=MARGIN_Y,
                          bottomMargin=MARGIN_Y, invariant=1, title=title, author=report.scope, creator="OneDesk",
                          subject="办件与评价月报", initialFontName=fonts.cjk)
    frame = Frame(MARGIN_X, MARGIN_Y, CONTENT_WIDTH, A4[1] - 2 * MARGIN_Y, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    doc.build(story, canvasmaker=_numbered_canvas(fonts, f"{title}　{generated}"))
    return buf.getvalue()


def _table_style(header_rows: int = 1) -> TableStyle:
    return TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), HEAD),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ])


def _figures_table(st: _Styles, total: Figures, overdue_now: int) -> Table:
    """Every figure in two label/value column pairs."""
    cells = [(label, format_figure(getattr(total, attr), kind)) for attr, label, kind in FIGURE_COLUMNS]
    cells.append(("当前超期未答复（生成时）", str(overdue_now)))
    half = -(-len(cells) // 2)
    left, right = cells[:half], cells[half:] + [("", "")] * (2 * half - len(cells))
    data = [[st.p("指标", st.head), st.p("本期", st.head), st.p("指标", st.head), st.p("本期", st.head)]]
    for (l1, v1), (l2, v2) in zip(left, right, strict=True):
        data.append([st.p(l1, st.cell), st.p(v1, st.num), st.p(l2, st.cell), st.p(v2, st.num)])
    w = CONTENT_WIDTH
    return Table(data, colWidths=[w * 0.32, w * 0.18, w * 0.32, w * 0.18], repeatRows=1, style=_table_style())


def _breakdown_table(st: _Styles, report: Report) -> Table:
    return _keyed_table(st, KEY_HEADERS[report.breakdown], report.rows, report.total, FIGURE_COLUMNS,
                          BREAKDOWN_COLUMNS, SHORT_LABELS, name_share=0.25)


def _keyed_table(st: _Styles, key_header: str, rows: Sequence[Any], total: Any,
                 columns: Sequence[tuple[str, str, str]], shown: Sequence[str], short: dict[str, str], *,
                 name_share: float) -> Table:
    """A breakdown table: the key column, then ``shown`` of ``columns`` (attr, label, kind) under their short
    labels, one line per row (``label or key``, ``figures``) and a shaded 合计 line of ``total``."""
    kinds = {attr: (label, kind) for attr, label, kind in columns}
    data = [[st.p(key_header, st.head)] + [st.p(short.get(a, kinds[a][0]), st.head) for a in shown]]
    for row in [*rows, None]:
        label, figures = ("合计", total) if row is None else (row.label or row.key, row.figures)
        data.append([st.p(label, st.cell)]
                    + [st.p(format_figure(getattr(figures, a), kinds[a][1]), st.num) for a in shown])
    name_w = CONTENT_WIDTH * name_share
    col_w = (CONTENT_WIDTH - name_w) / len(shown)
    style = _table_style()
    style.add("BACKGROUND", (0, len(data) - 1), (-1, len(data) - 1), colors.HexColor("#F2F2F2"))
    return Table(data, colWidths=[name_w] + [col_w] * len(shown), repeatRows=1, style=style)


def _overdue_table(st: _Styles, report: Report) -> Table:
    data = [[st.p(h, st.head) for h in ("办件编号", "事项", "承办", "期限", "催办次数")]]
    for o in report.overdue:
        data.append([st.p(o.case_number, st.cell), st.p(o.item_name, st.cell),
                     st.p(" ".join(x for x in (o.department, o.assignee_name) if x), st.cell),
                     st.p(f"{_china(o.due_at):%Y-%m-%d %H:%M}", st.cell), st.p(str(o.remind_count), st.num)])
    w = CONTENT_WIDTH
    return Table(data, colWidths=[w * 0.26, w * 0.32, w * 0.18, w * 0.15, w * 0.09], repeatRows=1,
                 style=_table_style())


# The 诉求 tables' columns (issue 20): what a page's width holds beside the category or 块区.
REQUEST_TABLE_COLUMNS = ("requests", "closed", "waiting", "in_progress", "feedback_missed", "feedback_rate",
                         "avg_close_hours")
REQUEST_SHORT = {"avg_close_hours": "平均办结\n（小时）", "feedback_missed": "超时\n未反馈",
                 "feedback_rate": "24小时\n反馈率"}


def _requests_section(st: _Styles, req: RequestReport) -> list[Flowable]:
    """六、诉求: the period's 诉求 figures in one line of pairs, then by category and by 块区."""
    t = req.total
    cells = [(label, format_figure(getattr(t, attr), kind)) for attr, label, kind in REQUEST_COLUMNS]
    cells += [("当前未办结（生成时）", str(req.open_now)), ("当前超时（生成时）", str(req.overdue_now))]
    half = -(-len(cells) // 2)
    left, right = cells[:half], cells[half:] + [("", "")] * (2 * half - len(cells))
    data = [[st.p("指标", st.head), st.p("本期", st.head), st.p("指标", st.head), st.p("本期", st.head)]]
    for (l1, v1), (l2, v2) in zip(left, right, strict=True):
        data.append([st.p(l1, st.cell), st.p(v1, st.num), st.p(l2, st.cell), st.p(v2, st.num)])
    w = CONTENT_WIDTH
    figures = Table(data, colWidths=[w * 0.32, w * 0.18, w * 0.32, w * 0.18], style=_table_style())
    out: list[Flowable] = [st.p("六、诉求受理与24小时反馈", st.h2), figures]
    by = req.block_header
    for heading, key_header, rows in (("按诉求类别", "诉求类别", req.by_category), (f"按{by}", by, req.by_block)):
        if rows:  # a short table: kept on one page with its heading
            out.append(KeepTogether([st.p(heading, st.body), _request_table(st, key_header, rows, req)]))
    return out


def _request_table(st: _Styles, key_header: str, rows: Sequence[RequestRow], req: RequestReport) -> Table:
    table = _keyed_table(st, key_header, rows, req.total, REQUEST_COLUMNS, REQUEST_TABLE_COLUMNS, REQUEST_SHORT,
                         name_share=0.23)
    table.spaceBefore, table.spaceAfter = 1 * mm, 3 * mm
    return table


def _text(fonts: FontSet, x: float, y: float, text: str, size: float, anchor: str = "start",
          color=colors.black) -> list[String]:
    """Mixed Chinese/Latin text as one String per font run (the CJK font has no ASCII glyphs)."""
    runs = fonts.runs(text)
    width = fonts.text_width(text, size)
    x0 = x - (width if anchor == "end" else width / 2 if anchor == "middle" else 0)
    out = []
    for font, run in runs:
        out.append(String(x0, y, run, fontName=font, fontSize=size, fillColor=color))
        x0 += fonts.text_width(run, size)
    return out


def _day_chart(fonts: FontSet, per_day: Sequence[DayPoint]) -> Drawing:
    """Columns: cases accepted per day (left axis); line: on-time rate of the forwardings due that day (right)."""
    width, height = CONTENT_WIDTH, 62 * mm
    d = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 30, width - 70, height - 52
    n = max(len(per_day), 1)
    chart.data = [[p.cases for p in per_day] or [0]]
    chart.categoryAxis.categoryNames = [f"{p.day.day}" if (n <= 31 or i % max(1, n // 24) == 0) else ""
                                        for i, p in enumerate(per_day)] or [""]
    for labels in (chart.categoryAxis.labels, chart.valueAxis.labels):
        labels.fontName, labels.fontSize = fonts.latin, 7
    chart.valueAxis.valueMin = 0
    top = max([p.cases for p in per_day] or [0])
    chart.valueAxis.valueMax = max(5, top + (-top) % 5)
    chart.valueAxis.valueStep = max(1, chart.valueAxis.valueMax // 5)
    chart.bars[0].fillColor = BAR
    chart.bars[0].strokeColor = None
    chart.barSpacing, chart.groupSpacing = 0, 2 if n <= 62 else 0.5
    d.add(chart)
    # The on-time rate on a second axis (0-100 %) on the right, drawn over the same day slots.
    right = chart.x + chart.width
    d.add(Line(right, chart.y, right, chart.y + chart.height, strokeColor=RATE_LINE, strokeWidth=0.6))
    for pct in (0, 50, 100):
        y = chart.y + chart.height * pct / 100
        d.add(Line(right, y, right + 3, y, strokeColor=RATE_LINE, strokeWidth=0.6))
        for s in _text(fonts, right + 5, y - 2.5, f"{pct}%", 7, color=RATE_LINE):
            d.add(s)
    slot = chart.width / n
    segment: list[float] = []
    for i, p in enumerate(per_day):
        if p.on_time_rate is None:  # no forwarding due that day: a gap in the line
            if len(segment) > 2:
                d.add(PolyLine(segment, strokeColor=RATE_LINE, strokeWidth=1.2))
            segment = []
            continue
        x, y = chart.x + slot * (i + 0.5), chart.y + chart.height * p.on_time_rate
        segment += [x, y]
        d.add(Rect(x - 1.5, y - 1.5, 3, 3, fillColor=RATE_LINE, strokeColor=None))
    if len(segment) > 2:
        d.add(PolyLine(segment, strokeColor=RATE_LINE, strokeWidth=1.2))
    # Legend and axis names.
    for s in _text(fonts, chart.x, height - 10, "办件量（件，左轴）", 8, color=BAR):
        d.add(s)
    for s in _text(fonts, right, height - 10, "按时答复率（右轴）", 8, anchor="end", color=RATE_LINE):
        d.add(s)
    for s in _text(fonts, chart.x + chart.width / 2, 8, "日期（日）", 7.5, anchor="middle", color=GREY):
        d.add(s)
    return d


def _level_chart(fonts: FontSet, total: Figures) -> Drawing:
    rows = level_counts(total)
    width, height = CONTENT_WIDTH, 50 * mm
    d = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 60, 8, width - 110, height - 24
    chart.data = [[count for _label, count in reversed(rows)]]
    chart.categoryAxis.categoryNames = [label for label, _count in reversed(rows)]
    chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = fonts.cjk, 8.5
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = fonts.latin, 7
    chart.valueAxis.valueMin = 0
    top = max(count for _label, count in rows)
    chart.valueAxis.valueMax = max(5, top + (-top) % 5)
    chart.valueAxis.valueStep = max(1, chart.valueAxis.valueMax // 5)
    chart.bars[0].fillColor = LEVEL_BAR
    chart.bars[0].strokeColor = None
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName, chart.barLabels.fontSize = fonts.latin, 7.5
    chart.barLabels.boxAnchor, chart.barLabels.dx = "w", 3
    d.add(chart)
    rated = total.rated
    for s in _text(fonts, width, height - 9, f"已评价 {rated} 件，未评价 {rows[-1][1]} 件", 8, anchor="end",
                   color=GREY):
        d.add(s)
    return d


def _numbered_canvas(fonts: FontSet, left: str) -> type[Canvas]:
    """A canvas writing ``left`` and "第 i 页 / 共 n 页" at the foot of every page."""

    class _ReportCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))  # the total is known only once every page is laid out
            self._startPage()

        def save(self):
            total = len(self._pages)
            size, y = 7.5, MARGIN_Y * 0.45
            for number, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                right = f"第 {number} 页 / 共 {total} 页"
                self.setFillColor(GREY)
                fonts.draw(self, MARGIN_X, y, left, size)
                fonts.draw(self, A4[0] - MARGIN_X - fonts.text_width(right, size), y, right, size)
                super().showPage()
            super().save()

    return _ReportCanvas
