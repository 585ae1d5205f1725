"""The monthly report PDF (app/desk/printing/report_pdf.py), read back with pypdf."""

from __future__ import annotations

import io
import re
import uuid

from pypdf import PdfReader

from app.core.stats import Breakdown, OverdueCase
from app.desk.printing.report_pdf import render_report_pdf
from tests.report_samples import COMPUTED_AT, report

DEFINITIONS = (("按时答复", "在转办时记录的期限之前（含期限当时）答复。"),)


def _text(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    return "".join(re.sub(r"\s+", "", page.extract_text() or "") for page in reader.pages), len(reader.pages)


def test_report_pdf_has_the_title_figures_and_charts():
    pdf = render_report_pdf(report(), definitions=DEFINITIONS)
    text, pages = _text(pdf)
    assert "幸福里社区居民委员会2026年11月办件与评价月报" in text
    assert "办件量" in text and "按时答复率" in text and "75.0%" in text and "90.0%" in text
    assert "9.5" in text  # average reply time, working hours
    assert "评价等级" in text and "非常满意" in text and "已评价30件，未评价7件" in text
    assert "按时答复率（右轴）" in text  # the chart's legend
    assert "分项统计（按事项）" in text and "城乡居民基本养老保险参保登记1" in text and "合计" in text
    assert "统计口径" in text and "含期限当时" in text
    assert "生成时间：2026-12-0109:15" in text and f"第1页/共{pages}页" in text
    assert 1 <= pages <= 4
    assert render_report_pdf(report(), definitions=DEFINITIONS) == pdf  # same data, same bytes


def test_long_breakdown_splits_over_pages_with_the_header_repeated():
    rep = report(Breakdown.COMMITTEE, scope="和平区", rows=90)
    rep.overdue = [OverdueCase(case_id=uuid.uuid4(), case_number=f"HP01-A1-20261102-{i:04d}",
                               item_name="最低生活保障申请", department="民政", assignee_name="民政科",
                               due_at=COMPUTED_AT, remind_count=i % 3, reminded_at=None,
                               committee_id=uuid.uuid4()) for i in range(3)]
    pdf = render_report_pdf(rep)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3
    with_header = [i for i, page in enumerate(reader.pages)
                   if "居委会" in (page.extract_text() or "") and "满意率" in (page.extract_text() or "")]
    assert len(with_header) >= 2  # the table's header on each page it spans
    text, _pages = _text(pdf)
    assert "居委会90" in text and "当前超期未答复（5件）" in text and "HP01-A1-20261102-0002" in text


def test_no_rating_and_no_cases_prints_dashes():
    rep = report(rows=0)
    rep.rows, rep.per_day = [], []
    rep.total.rated, rep.total.ratable, rep.total.levels = 0, 0, {}
    rep.total.satisfaction_rate = rep.total.on_time_rate = rep.total.avg_reply_hours = None
    text, pages = _text(render_report_pdf(rep, definitions=()))
    assert pages == 1
    assert "满意率—" in text and "已评价0件，未评价0件" in text
