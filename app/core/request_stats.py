"""The 诉求 figures (issue 20): requests by category and by 块区, the 24-hour feedback rate, the time to close.

Computed once, here, for the desk's 统计 page, the 台账 workbook's 诉求 sheet and the monthly PDF, with the caller's
session, like :mod:`app.core.stats` (whose service figures leave requests out, ``stats_read.SERVICE_CASES``).
Nothing here writes; no Qt.

Definitions (:data:`REQUEST_DEFINITIONS` is the Chinese text):
- a request *of the period* was registered (``accepted_at``, China time) on one of the period's days; withdrawn
  ones are counted apart (撤回) and in nothing else;
- its first feedback is *in time* when it came at or before ``feedback_due_at`` (intake + 24 calendar hours);
  *late* after it; *missed* when there is none and the 24 hours have ended (at the moment of computing):
  :func:`app.core.requests.feedback_judged`;
- 24小时反馈率 = in time ÷ (requests that got feedback + requests whose 24 hours ended without any);
  a request still inside its 24 hours without feedback is not judged yet;
- 平均办结用时: calendar hours from intake to closing, over the period's closed requests;
- 当前未办结 / 当前超时 are of the moment of computing, whatever the period: open requests (待反馈 or 处理中), and
  of those the ones :func:`app.core.requests.request_clock` shows red (past the 24 hours without feedback, or past
  the promised time).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.blocks import committee_blocks
from app.core.requests import OPEN_REQUEST_STATES, feedback_judged, request_clock
from app.core.stats_read import _committee_filter, _period_filter, _ratio
from app.core.stats_types import Period, StatsError
from app.core.vocabulary import CaseKind, State
from models import Case, Committee

NO_BLOCK = "（未分块区）"
_REQUEST = str(CaseKind.REQUEST)
_CLOSED, _WITHDRAWN = str(State.CLOSED), str(State.WITHDRAWN)

# (term, definition): shown beside stats.DEFINITIONS on the page's help, the workbook and the PDF.
REQUEST_DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("本期诉求", "登记时间（北京时间）在统计期间内的诉求；撤回的另计为“撤回”，不计入其他各项。"),
    ("24小时内反馈", "首次反馈居民（已解决，或说明由谁处理、何时完成）的时间不晚于登记后 24 小时"
                   "（按自然小时计，含夜间、周末和节假日）。"),
    ("超时反馈", "首次反馈晚于登记后 24 小时。"),
    ("超时未反馈", "统计时刻已过 24 小时仍未反馈。"),
    ("24小时反馈率", "24小时内反馈 ÷（已反馈 + 超时未反馈）；登记未满 24 小时且尚未反馈的不计入。"),
    ("平均办结用时", "本期已办结诉求从登记到办结的自然小时数的平均值。"),
    ("当前未办结", "统计时刻待反馈或处理中的诉求，不论登记于哪个期间。"),
    ("当前超时", "当前未办结中已过 24 小时仍未反馈、或已过承诺处理时间的诉求。"),
)


@dataclass
class RequestFigures:
    """The figures of a set of requests (the period's, a category's or a 块区's). Rates are None with no base."""

    requests: int = 0  # 诉求量 (withdrawn excluded)
    withdrawn: int = 0
    waiting: int = 0  # 待反馈 (no feedback yet, open)
    in_progress: int = 0  # 处理中
    closed: int = 0  # 已办结
    urgent: int = 0
    feedback_in_time: int = 0
    feedback_late: int = 0
    feedback_missed: int = 0  # no feedback and the 24 hours have ended
    feedback_rate: float | None = None
    avg_close_hours: float | None = None  # calendar hours
    close_seconds: float = field(default=0.0, repr=False)

    def finish(self) -> RequestFigures:
        self.feedback_rate = _ratio(self.feedback_in_time,
                                    self.feedback_in_time + self.feedback_late + self.feedback_missed)
        self.avg_close_hours = None if not self.closed else round(self.close_seconds / 3600 / self.closed, 1)
        return self


@dataclass
class RequestRow:
    key: str  # the category code or the block code ("" outside every block)
    label: str
    figures: RequestFigures


@dataclass
class RequestReport:
    period: Period
    computed_at: dt.datetime
    total: RequestFigures
    by_category: list[RequestRow]
    by_block: list[RequestRow]
    open_now: int  # 待反馈 + 处理中 now, any period
    overdue_now: int  # of those, the clock's red ones
    block_header: str = "块区"  # what ``by_block`` is by: a committee's 块区, or the district's 居委会


# (attribute, label, kind) of the figures in the order the page, the workbook and the PDF show them.
REQUEST_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("requests", "诉求量", "count"),
    ("urgent", "其中紧急", "count"),
    ("waiting", "待反馈", "count"),
    ("in_progress", "处理中", "count"),
    ("closed", "已办结", "count"),
    ("withdrawn", "撤回", "count"),
    ("feedback_in_time", "24小时内反馈", "count"),
    ("feedback_late", "超时反馈", "count"),
    ("feedback_missed", "超时未反馈", "count"),
    ("feedback_rate", "24小时反馈率", "rate"),
    ("avg_close_hours", "平均办结用时（小时）", "hours"),
)


def _add(f: RequestFigures, row: Any, now: dt.datetime) -> None:
    """One request of the period; ``row`` has the Case columns :func:`feedback_judged` reads."""
    if row.state == _WITHDRAWN:
        f.withdrawn += 1
        return
    f.requests += 1
    f.urgent += row.urgency == "urgent"
    if row.state == _CLOSED:
        f.closed += 1
        if row.closed_at is not None:
            f.close_seconds += max(0.0, (row.closed_at - row.accepted_at).total_seconds())
    elif row.first_feedback_at is None:
        f.waiting += 1
    else:
        f.in_progress += 1
    judged = feedback_judged(row, now)
    if judged is True:
        f.feedback_in_time += 1
    elif judged is False:
        if row.first_feedback_at is not None:
            f.feedback_late += 1
        else:
            f.feedback_missed += 1


def compute_requests(s: Session, *, period: Period, now: dt.datetime,
                     committee_ids: Sequence[uuid.UUID] | None = None,
                     category_labels: Mapping[str, str] | None = None,
                     by_committee: bool = False) -> RequestReport:
    """The period's requests of the given committees (None: every committee the session holds) by category
    (``category_labels``: code → label, the district's list, in its order) and by 块区 (the committees' blocks, in
    their order) — or, ``by_committee`` (the district's report: 块区 codes are each committee's own), by
    committee — with the open and overdue requests as of ``now``."""
    if now.tzinfo is None:
        raise StatsError("统计时刻必须带时区")
    labels = dict(category_labels or {})
    q = select(Case.state, Case.request_category, Case.item_name, Case.block_code, Case.urgency, Case.accepted_at,
               Case.feedback_due_at, Case.first_feedback_at, Case.closed_at, Case.committee_id).where(
        Case.kind == _REQUEST, *_period_filter(period, committee_ids))
    total = RequestFigures()
    by_cat: dict[str, RequestFigures] = {code: RequestFigures() for code in labels}
    blocks = _committee_names(s, committee_ids) if by_committee else _block_names(s, committee_ids)
    by_block: dict[str, RequestFigures] = {code: RequestFigures() for code in blocks}
    for row in s.execute(q):
        category = row.request_category or ""
        if category not in labels:
            labels[category] = _label_from_item(row.item_name) or category or "其他"
        _add(total, row, now)
        _add(by_cat.setdefault(category, RequestFigures()), row, now)
        second = str(row.committee_id) if by_committee else row.block_code or ""
        _add(by_block.setdefault(second, RequestFigures()), row, now)
    open_now, overdue_now = _open_now(s, now, committee_ids)
    cat_rows = [RequestRow(k, labels.get(k, k), f.finish()) for k, f in by_cat.items()]
    block_rows = [RequestRow(k, blocks.get(k, k) if k else NO_BLOCK, f.finish()) for k, f in by_block.items()
                  if k or f.requests or f.withdrawn]
    return RequestReport(period=period, computed_at=now, total=total.finish(), by_category=cat_rows,
                         by_block=block_rows, open_now=open_now, overdue_now=overdue_now,
                         block_header="居委会" if by_committee else "块区")


def _label_from_item(item_name: str | None) -> str:
    """``诉求·物业维修`` → ``物业维修``: the label the request was registered under, when the list no longer has it."""
    name = item_name or ""
    return name.split("·", 1)[1] if "·" in name else ""


def _block_names(s: Session, committee_ids: Sequence[uuid.UUID] | None) -> dict[str, str]:
    """code → name of the committees' 块区 (``Committee.settings["blocks"]``), in their order."""
    q = select(Committee.settings).order_by(Committee.code)
    if committee_ids is not None:
        q = q.where(Committee.id.in_(list(committee_ids)))
    out: dict[str, str] = {}
    for (settings,) in s.execute(q):
        for b in committee_blocks(settings):
            out.setdefault(b.code, b.name or b.code)
    return out


def _committee_names(s: Session, committee_ids: Sequence[uuid.UUID] | None) -> dict[str, str]:
    """id → name of the committees, by code (the district report's rows)."""
    q = select(Committee.id, Committee.name).order_by(Committee.code)
    if committee_ids is not None:
        q = q.where(Committee.id.in_(list(committee_ids)))
    return {str(cid): name for cid, name in s.execute(q)}


def _open_now(s: Session, now: dt.datetime, committee_ids: Sequence[uuid.UUID] | None) -> tuple[int, int]:
    """Open requests now (any period) and how many of them the 24-hour clock shows overdue."""
    q = select(Case).where(Case.kind == _REQUEST, Case.state.in_(sorted(OPEN_REQUEST_STATES)),
                           *_committee_filter(committee_ids))
    open_now = overdue = 0
    for case in s.scalars(q):
        open_now += 1
        overdue += request_clock(case, now).level == "overdue"
    return open_now, overdue


def summary_text(report: RequestReport) -> str:
    """The month's 诉求 in one line (``report month`` at the desk, ``server report month`` for the district)."""
    t = report.total
    feedback = "—" if t.feedback_rate is None else f"{t.feedback_rate * 100:.1f}%"
    return (f"诉求 {t.requests} 件（已办结 {t.closed}），24小时反馈率 {feedback}，"
            f"当前未办结 {report.open_now} 件（超时 {report.overdue_now} 件）")


def figure_value(figures: RequestFigures, attr: str) -> Any:
    return getattr(figures, attr)


__all__ = ["NO_BLOCK", "REQUEST_COLUMNS", "REQUEST_DEFINITIONS", "Period", "RequestFigures", "RequestReport",
           "RequestRow", "compute_requests", "figure_value"]
