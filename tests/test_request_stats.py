"""The 诉求 figures (issue 20) counted from known requests made through RequestService (tests/request_world.py),
read back from the core, the 台账 workbook's 诉求 sheet, the monthly PDF and the 诉求受理单."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from pypdf import PdfReader

from app.core.request_stats import NO_BLOCK, compute_requests
from app.core.stats import Period
from app.core.workbook import SHEET_LEDGER, SHEET_REQUESTS
from app.desk.auth import AuthService
from app.desk.printing.service import PrintError, PrintService
from app.desk.requests import RequestService
from app.desk.stats import StatsService
from tests.request_world import NOW, make_requests

NOVEMBER = Period.month(2026, 11)


@pytest.fixture
def world(desk_ctx):
    return desk_ctx, make_requests(desk_ctx)


def _flat(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def _row(rows, label):
    return next(r for r in rows if r.label == label).figures


def test_the_month_counted_by_hand(world):
    ctx, _ids = world
    boss = AuthService(ctx).login("boss", "bosspass")
    report = StatsService(ctx).report(boss, NOVEMBER, "item", now=NOW)
    req = report.requests
    assert req is not None
    t = req.total
    assert (t.requests, t.withdrawn, t.urgent, t.closed, t.in_progress, t.waiting) == (4, 1, 1, 2, 1, 1)
    assert (t.feedback_in_time, t.feedback_late, t.feedback_missed) == (2, 1, 1)
    assert t.feedback_rate == pytest.approx(0.5)
    assert t.avg_close_hours == pytest.approx(24.0)
    assert (req.open_now, req.overdue_now) == (3, 1)
    # by category: the district's list in its order, every category shown (none: zero, no rate)
    assert [r.label for r in req.by_category] == ["物业维修", "环境卫生", "邻里纠纷", "安全隐患", "公共设施", "其他"]
    prop = _row(req.by_category, "物业维修")
    assert (prop.requests, prop.closed, prop.feedback_rate, prop.avg_close_hours) == (2, 2, 1.0, 24.0)
    assert _row(req.by_category, "环境卫生").feedback_rate == 0.0
    assert _row(req.by_category, "安全隐患").requests == 0  # R6 is December's (00:30 China time, 11-30 in UTC)
    assert _row(req.by_category, "安全隐患").feedback_rate is None
    facility = _row(req.by_category, "公共设施")
    assert (facility.requests, facility.withdrawn) == (0, 1)
    # by 块区: the committee's blocks, then the requests outside every block
    assert [r.label for r in req.by_block] == ["一块区", "二块区", NO_BLOCK]
    a1, b2, none = (_row(req.by_block, label) for label in ("一块区", "二块区", NO_BLOCK))
    assert (a1.requests, a1.feedback_in_time, a1.feedback_missed) == (2, 1, 1)
    assert (b2.requests, b2.feedback_late, b2.urgent, b2.closed) == (2, 1, 1, 1)
    assert (none.requests, none.withdrawn) == (0, 1)
    # the service figures leave the requests out
    assert (report.total.cases, report.total.withdrawn) == (0, 0)


def test_december_and_the_24_hours_still_running(world):
    ctx, _ids = world
    with ctx.sessions() as s:
        req = compute_requests(s, period=Period.month(2026, 12), now=NOW)
    t = req.total
    assert (t.requests, t.waiting) == (1, 1)
    assert (t.feedback_in_time, t.feedback_late, t.feedback_missed, t.feedback_rate) == (0, 0, 0, None)
    # a day later R6's 24 hours have ended without feedback: missed, and overdue now
    with ctx.sessions() as s:
        later = compute_requests(s, period=Period.month(2026, 12), now=NOW.replace(day=2))
    assert (later.total.feedback_missed, later.total.feedback_rate, later.overdue_now) == (1, 0.0, 2)


def test_the_workbook_has_a_request_sheet_before_the_ledger(world, tmp_path):
    ctx, ids = world
    boss = AuthService(ctx).login("boss", "bosspass")
    ids["clock"].when = NOW
    path = StatsService(ctx).write_workbook(boss, NOVEMBER, tmp_path / "台账.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[-2:] == [SHEET_REQUESTS, SHEET_LEDGER]
    sheet = [[c for c in row] for row in wb[SHEET_REQUESTS].iter_rows(values_only=True)]
    assert "诉求统计" in sheet[0][0]
    assert ["当前未办结（生成时）", 3] == list(sheet[2][:2]) and ["当前超时（生成时）", 1] == list(sheet[3][:2])
    header = next(r for r in sheet if r[0] == "诉求类别")
    prop = next(r for r in sheet if r[0] == "物业维修")
    total = next(r for r in sheet if r[0] == "合计")
    assert prop[header.index("诉求量")] == 2 and prop[header.index("24小时反馈率")] == 1.0
    assert total[header.index("诉求量")] == 4 and total[header.index("24小时反馈率")] == 0.5
    assert total[header.index("平均办结用时（小时）")] == 24.0
    assert any(r[0] == "二块区" and r[header.index("超时反馈")] == 1 for r in sheet)
    # the request definitions are on the 汇总 sheet with the others; the 台账 lists service cases only
    terms = [r[0] for r in wb["汇总"].iter_rows(values_only=True)]
    assert "24小时反馈率" in terms and "按时答复率" in terms
    assert wb[SHEET_LEDGER].max_row == 1


def test_the_monthly_pdf_has_a_request_section(world, tmp_path):
    ctx, _ids = world
    boss = AuthService(ctx).login("boss", "bosspass")
    path = StatsService(ctx).write_pdf(boss, NOVEMBER, tmp_path / "月报.pdf")
    text = _flat(path.read_bytes())
    assert "六、诉求受理与24小时反馈" in text
    assert "24小时反馈率50.0%" in text and "平均办结用时（小时）24.0" in text
    assert "按诉求类别" in text and "按块区" in text and "一块区" in text
    assert "24小时反馈率：" in text  # its definition among the 统计口径


def test_the_request_slip_prints_the_request(world):
    ctx, ids = world
    desk = AuthService(ctx).login("desk", "deskpass")
    printing = PrintService(ctx)
    assert printing.allowed(ids["R1"]) == ("request_slip",)
    with pytest.raises(PrintError, match="不能打印受理回执"):
        printing.produce(desk, ids["R1"], "receipt", "a5")
    slips = (("R1", "2026年11月7日22:00前", ["物业维修", "楼道灯不亮", "一块区", "王晓燕", "一般"]),
             ("R3", "2026年11月21日09:00前", ["邻里纠纷", "匿名", "137****1111"]))
    for name, promised, extra in slips:
        doc = printing.produce(desk, ids[name], None, "a5")
        assert doc.doc_type == "request_slip"
        text = _flat(doc.pdf)
        assert "诉求受理单" in text and doc.case_number in text and promised in text
        for value in extra:
            assert value in text, value
        assert "13700001111" not in text
    # a withdrawn request prints no slip
    assert printing.allowed(ids["R5"]) == ()
    # registering names the slip among the documents the desk offers at once
    detail = RequestService(ctx).register(desk, category="other", description="咨询", place="和平路5号",
                                         contact_name="刘先生", contact_phone="13700003333")
    assert tuple(detail.documents) == ("request_slip",)
    assert "二块区" in _flat(printing.produce(desk, detail.summary.id, None, "thermal80").pdf)


def test_report_month_prints_the_requests(world, tmp_path, capsys):
    from app.cli.main import main
    ctx, _ids = world
    assert main(["--data-dir", str(ctx.data_dir), "report", "month", "2026-11", "--pdf", str(tmp_path / "m.pdf")]) == 0
    assert "诉求 4 件（已办结 2），24小时反馈率 50.0%" in capsys.readouterr().out
