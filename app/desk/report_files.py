"""The desk's 台账 workbook and monthly report PDF as files (issue 16), for the 统计 page and ``report month``.

The figures come from :class:`app.desk.stats.StatsService` (who may export is checked there); the file is written
next to its final name and moved into place, so a failed or interrupted export never leaves half a workbook under
the name the worker chose. A folder that cannot be written or a full disk is a Chinese :class:`ReportFileError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.core.stats import Breakdown, Period
from app.core.workbook import ReportFileError, write_atomically, write_workbook

if TYPE_CHECKING:
    from app.desk.auth import WorkerInfo
    from app.desk.stats import StatsService


__all__ = ["ReportFileError", "write_desk_pdf", "write_desk_workbook"]


def write_desk_workbook(service: StatsService, actor: WorkerInfo | None, period: Period, path: Path, *,
                        breakdown: Breakdown = Breakdown.ITEM) -> Path:
    """The committee's 台账 workbook of ``period`` (分项 by ``breakdown``) at ``path``; returns the path."""
    with service.ledger_and_report(actor, period, breakdown) as (rows, report):
        return write_atomically(path, lambda tmp: write_workbook(tmp, report, rows, definitions=service.definitions,
                                                                 district=False))


def write_desk_pdf(service: StatsService, actor: WorkerInfo | None, period: Period, path: Path, *,
                   breakdown: Breakdown = Breakdown.ITEM) -> Path:
    """The committee's monthly report PDF of ``period`` at ``path``; returns the path."""
    from app.desk.printing.report_pdf import render_report_pdf
    report = service.report(actor, period, breakdown)
    pdf = render_report_pdf(report, definitions=service.definitions)
    return write_atomically(path, lambda tmp: tmp.write_bytes(pdf))
