"""The 统计 page's 诉求 tab (issue 20) on the known requests of tests/request_world.py: what the supervisor reads
after choosing 上月 (November), and the definitions in 说明."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.request_world import make_requests
from ui.operations import pending_operations
from ui.services import Services

pytestmark = pytest.mark.gui


def _settled(qtbot, page) -> None:
    qtbot.waitUntil(lambda: pending_operations() == 0 and not page._debounce.isActive(), timeout=10000)


def _rows(view) -> list[list[str]]:
    model = view.model()
    head = [str(model.headerData(c, Qt.Horizontal)).replace("\n", "") for c in range(model.columnCount())]
    return [head] + [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]


def _cell(rows: list[list[str]], label: str, column: str) -> str:
    return next(r for r in rows[1:] if r[0] == label)[rows[0].index(column)]


@pytest.fixture
def page(styled_app, qtbot, desk_ctx):
    from ui.stats.stats_page import StatsPage
    make_requests(desk_ctx)
    services = Services(desk_ctx)
    services.current_worker = services.auth.login("boss", "bosspass")
    page = StatsPage(services)
    qtbot.addWidget(page)
    page.resize(1024, 720)
    page.show()
    _settled(qtbot, page)
    return page


def test_the_request_tab_shows_last_months_figures(page, qtbot):
    qtbot.mouseClick(page.last_month, Qt.LeftButton)
    _settled(qtbot, page)
    index = page.tabs.indexOf(page.requests_panel)
    assert page.tabs.tabText(index) == "诉求（超时 1）"
    page.tabs.setCurrentIndex(index)
    summary = page.requests_panel.summary.text()
    assert "本期诉求 4 件（紧急 1）" in summary and "24小时反馈率 50.0%" in summary
    assert "平均办结用时 24.0 小时" in summary and "当前未办结 3 件，其中超时 1 件" in summary
    cats = _rows(page.requests_panel.category_view)
    assert cats[0][:3] == ["诉求类别", "诉求量", "其中紧急"]
    assert _cell(cats, "物业维修", "诉求量") == "2" and _cell(cats, "物业维修", "24小时反馈率") == "100.0%"
    assert _cell(cats, "环境卫生", "超时反馈") == "1" and _cell(cats, "安全隐患", "24小时反馈率") == "—"
    assert cats[-1][0] == "合计" and _cell(cats, "合计", "平均办结(小时)") == "24.0"
    blocks = _rows(page.requests_panel.block_view)
    assert [r[0] for r in blocks[1:]] == ["一块区", "二块区", "（未分块区）", "合计"]
    assert _cell(blocks, "一块区", "超时未反馈") == "1" and _cell(blocks, "（未分块区）", "撤回") == "1"
    page.requests_panel.block_view.sortByColumn(1, Qt.DescendingOrder)
    assert _rows(page.requests_panel.block_view)[-1][0] == "合计"  # the totals stay last
    # this month (December): R6 only, its 24 hours still running
    qtbot.mouseClick(page.this_month, Qt.LeftButton)
    _settled(qtbot, page)
    assert "本期诉求 1 件" in page.requests_panel.summary.text()
    assert "24小时反馈率 —" in page.requests_panel.summary.text()


def test_the_definitions_include_the_requests(page, qtbot):
    page.show_help()
    text = page.help_dialog.text.toPlainText()
    assert "24小时反馈率" in text and "按时答复率" in text
