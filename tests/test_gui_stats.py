"""The 统计 page (issue 16) driven as a supervisor uses it: pick a period and a breakdown, read the tiles and the
table, 催办 an overdue case, export the 台账, read the definitions. On a seeded November counted by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QDate, QPoint, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog
from shiboken6 import isValid
from sqlalchemy import select

from app.core.stats import DEFINITIONS, Breakdown
from app.core.vocabulary import Action
from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.desk.clock import DeskClock
from app.desk.residents import ResidentService
from models import CaseEvent
from tests.gui_helpers import type_text
from ui.operations import pending_operations
from ui.services import Services

pytestmark = pytest.mark.gui

CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=CST)  # a Tuesday: 本月 is December, 上月 November
ELDER = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")
PROOF = ItemRef("MZ-09", "居住证明开具", "民政", "即办", "test-1")


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CST)


@pytest.fixture
def seeded(desk_ctx):
    """November 2026, counted by hand:
    A forwarded 11-02, replied 11-03 (on time), 满意;      B forwarded Tue 11-10 (due Thu 11-12 17:30), replied
    11-12 18:00 (late), 非常不满意 (call-back due 11-13: overdue now); C resolved at the desk 11-05, 非常满意;
    D forwarded Fri 11-20 (due Tue 11-24 17:30), never replied (overdue now), not rated; W forwarded and withdrawn.
    December: E resolved 12-01. → 办件量 4 (即办 1, 转办 3), 按时 1 / 超期 1 / 超期未答复 1 → 33.3%,
    评价 3 of 4 → 75.0%, 满意 2 of 3 → 66.7%, 差评 1, 整改 0 → 0.0%."""
    desk_ctx.clock = DeskClock(desk_ctx.sessions, source=lambda: NOW.astimezone(dt.UTC))
    auth = AuthService(desk_ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="mz", display_name="李建国", password="mzpass1", roles=["line"], lines=["民政"])
    people = {w.login: w for w, _ in auth.list_workers()}
    d, mz = people["desk"], people["mz"]
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    cases = CaseService(desk_ctx)

    def accepted(item, when):
        cid = cases.create_draft(d, item, resident.id, at=when)
        cases.submit(d, cid, {"x": 1}, {"身份证": True}, at=when)
        return cid

    def forwarded(when):
        cid = accepted(ELDER, when)
        cases.forward(d, cid, assignee_id=mz.id, queue="民政", at=when)
        return cid

    def reply(cid, when):
        cases.transition(mz, cid, Action.REPLY, {"result": "approved", "text": "同意", "attachments": []}, at=when)

    ids = {}
    ids["A"] = forwarded(at(11, 2))
    reply(ids["A"], at(11, 3))
    cases.rate(d, ids["A"], "satisfied", at=at(11, 3, 11))
    ids["B"] = forwarded(at(11, 10))
    reply(ids["B"], at(11, 12, 18))
    cases.rate(d, ids["B"], "very_dissatisfied", reasons=["等候时间长"], at=at(11, 12, 18, 30))
    ids["C"] = accepted(PROOF, at(11, 5))
    cases.transition(d, ids["C"], Action.RESOLVE, {"result_text": "已开具"}, at=at(11, 5, 10, 20))
    cases.rate(d, ids["C"], "very_satisfied", at=at(11, 5, 10, 21))
    ids["D"] = forwarded(at(11, 20))
    ids["W"] = forwarded(at(11, 24))
    cases.transition(d, ids["W"], Action.WITHDRAW, {"note": "居民撤回"}, at=at(11, 25))
    ids["E"] = accepted(PROOF, at(12, 1, 9))
    cases.transition(d, ids["E"], Action.RESOLVE, {"result_text": "已开具"}, at=at(12, 1, 9, 10))
    return desk_ctx, people, ids


def _page(qtbot, ctx, login: str, password: str):
    from ui.stats.stats_page import StatsPage
    services = Services(ctx)
    services.current_worker = services.auth.login(login, password)
    page = StatsPage(services)
    qtbot.addWidget(page)
    page.resize(1100, 720)
    return page


def _settled(qtbot, page) -> None:
    qtbot.waitUntil(lambda: pending_operations() == 0 and not page._debounce.isActive(), timeout=10000)


@pytest.fixture
def boss_page(styled_app, qtbot, seeded):
    ctx, _people, ids = seeded
    page = _page(qtbot, ctx, "boss", "bosspass")
    page.show()
    _settled(qtbot, page)
    return page, ids


def tile(page, key: str) -> tuple[str, str]:
    t = page.tiles[key]
    return t.value.text(), t.detail.text()


def table(page) -> list[list[str]]:
    """What the breakdown table shows, row by row as on screen (sorted view), header first."""
    model = page.table.model()
    head = [str(model.headerData(c, Qt.Horizontal)).replace("\n", "") for c in range(model.columnCount())]
    rows = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]
    return [head, *rows]


def cell(rows: list[list[str]], label: str, column: str) -> str:
    head = rows[0]
    row = next(r for r in rows[1:] if r[0] == label)
    return row[head.index(column)]


def test_this_month_then_last_month_by_item(boss_page, qtbot):
    page, _ids = boss_page
    assert page.this_month.isChecked()
    assert tile(page, "cases") == ("1", "即办 1 · 转办 0")
    assert "2026年12月" in page.scope_label.text()
    qtbot.mouseClick(page.last_month, Qt.LeftButton)
    _settled(qtbot, page)
    assert "2026年11月" in page.scope_label.text()
    assert page.first_edit.date() == QDate(2026, 11, 1) and page.last_edit.date() == QDate(2026, 11, 30)
    assert not page.first_edit.isEnabled()  # the dates follow 上月 until 自定义
    assert tile(page, "cases") == ("4", "即办 1 · 转办 3")
    assert tile(page, "on_time") == ("33.3%", "按时 1 · 超期 2")
    assert tile(page, "overdue")[0] == "1"
    assert tile(page, "rating") == ("75.0%", "已评 3 / 4")
    assert tile(page, "satisfaction") == ("66.7%", "满意 2 / 3")
    assert tile(page, "followup") == ("0.0%", "差评 1 · 已整改 0")
    rows = table(page)
    assert rows[0][:4] == ["事项", "办件量", "即办", "转办"]
    assert cell(rows, "高龄老人尊老金申领", "办件量") == "3" and cell(rows, "居住证明开具", "即办") == "1"
    assert cell(rows, "高龄老人尊老金申领", "按时答复率") == "33.3%"
    assert cell(rows, "居住证明开具", "按时答复率") == "—"  # no forwarding: no base, not 0%
    assert cell(rows, "合计", "办件量") == "4" and cell(rows, "合计", "满意率") == "66.7%"
    assert rows[-1][0] == "合计"


def test_breakdowns_and_sorting_keep_the_totals_last(boss_page, qtbot):
    page, _ids = boss_page
    qtbot.mouseClick(page.last_month, Qt.LeftButton)
    _settled(qtbot, page)
    box = page.breakdown_box
    assert [box.itemText(i) for i in range(box.count())] == ["按事项", "按条线", "按受理人", "按日"]
    box.setCurrentIndex(box.findData(Breakdown.WORKER))
    _settled(qtbot, page)
    rows = table(page)
    assert rows[0][0] == "受理人" and cell(rows, "王晓燕", "办件量") == "4"
    box.setCurrentIndex(box.findData(Breakdown.DAY))
    _settled(qtbot, page)
    rows = table(page)
    assert rows[0][0] == "日期"
    page.table.sortByColumn(1, Qt.DescendingOrder)
    rows = table(page)
    assert rows[-1][0] == "合计" and rows[-1][1] == "4"
    page.table.sortByColumn(1, Qt.AscendingOrder)
    assert table(page)[-1][0] == "合计"
    counts = [int(r[1]) for r in table(page)[1:-1]]
    assert counts == sorted(counts)


def test_a_custom_range_typed_and_a_refused_one(boss_page, qtbot):
    page, _ids = boss_page
    qtbot.mouseClick(page.custom, Qt.LeftButton)
    _settled(qtbot, page)
    assert page.first_edit.isEnabled()
    page.first_edit.setFocus()
    qtbot.keyClick(page.first_edit, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(page.first_edit, "2026-11-10")
    _settled(qtbot, page)
    assert page.first_edit.date() == QDate(2026, 11, 10)
    assert "2026年11月10日至2026年12月31日" in page.scope_label.text()
    assert tile(page, "cases") == ("3", "即办 1 · 转办 2")  # B, D and E (W withdrawn)
    before = tile(page, "cases"), page.scope_label.text()
    page.last_edit.setDate(QDate(2026, 11, 1))  # before the first day: the core refuses it
    _settled(qtbot, page)
    assert page.error.isVisible() and page.error.text() == "结束日期不能早于开始日期"
    assert (tile(page, "cases"), page.scope_label.text()) == before  # nothing else changed
    page.last_edit.setDate(QDate(2026, 11, 30))
    _settled(qtbot, page)
    assert not page.error.isVisible() and tile(page, "cases")[0] == "2"


def test_remind_an_overdue_case_through_the_dialog(boss_page, qtbot):
    page, ids = boss_page
    page.tabs.setCurrentIndex(1)
    assert page.tabs.tabText(1) == "超期与催办（2）"
    view, model = page.overdue_view, page.overdue_model
    assert model.rowCount() == 1
    row = [view.model().index(0, c).data() for c in range(model.columnCount())]
    assert row[2] == "李建国" and row[3] == "11-24 17:30" and row[5] == "未催办"
    assert page.followups_model.rowCount() == 1
    assert page.followups_view.model().index(0, 3).data() == "待回访"
    assert not page.remind_button.isEnabled()  # nothing chosen yet
    view.selectRow(0)
    assert page.remind_button.isEnabled()
    qtbot.mouseClick(page.remind_button, Qt.LeftButton)
    dlg = page.remind_dialog
    assert dlg.isVisible() and dlg.note.text() == "请尽快答复"
    dlg.note.clear()
    type_text(qtbot, dlg.note, "居民来电询问，请今天答复")
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    qtbot.waitUntil(lambda: not isValid(dlg) or not dlg.isVisible())
    _settled(qtbot, page)
    assert view.model().index(0, 5).data().startswith("1次")
    ctx = page.services.ctx
    with ctx.sessions() as s:
        event = s.scalars(select(CaseEvent).where(CaseEvent.case_id == ids["D"]).order_by(CaseEvent.seq.desc())).first()
    assert event.action == str(Action.REMIND) and "居民来电询问，请今天答复" in (event.note or "")


def test_remind_is_offered_only_to_the_supervisor_and_front_desk(styled_app, qtbot, seeded):
    ctx, _people, _ids = seeded
    page = _page(qtbot, ctx, "mz", "mzpass1")
    page.show()
    _settled(qtbot, page)
    page.overdue_view.selectRow(0)
    assert page.overdue_model.rowCount() == 1 and not page.remind_button.isEnabled()
    assert page.remind_button.toolTip() == "只有站长和前台社工可以催办"


def test_export_the_ledger_and_the_report(boss_page, qtbot, tmp_path, monkeypatch):
    page, _ids = boss_page
    qtbot.mouseClick(page.last_month, Qt.LeftButton)
    _settled(qtbot, page)
    offered = []

    def save_as(parent, title, start, file_filter):
        offered.append((title, start, file_filter))
        return str(tmp_path / "十一月台账"), file_filter  # the worker typed a name without its extension

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_as))
    qtbot.mouseClick(page.export_button, Qt.LeftButton)
    _settled(qtbot, page)
    assert offered[0][1].endswith("台账-幸福里社区-2026年11月.xlsx") and "*.xlsx" in offered[0][2]
    written = tmp_path / "十一月台账.xlsx"
    assert written.exists()
    assert page.notice.isVisible() and str(written) in page.notice.text()
    page.notice.accept()
    from openpyxl import load_workbook
    book = load_workbook(written, read_only=True)
    assert len(book.sheetnames) >= 2
    cases = [str(c.value) for row in book.worksheets[1].iter_rows() for c in row if c.value]
    assert any("高龄老人尊老金申领" in c for c in cases)
    book.close()


def test_export_is_refused_for_the_front_desk_with_the_service_message(styled_app, qtbot, seeded, tmp_path,
                                                                        monkeypatch):
    ctx, _people, _ids = seeded
    page = _page(qtbot, ctx, "desk", "deskpass")
    page.show()
    _settled(qtbot, page)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a: (str(tmp_path / "x.xlsx"), "")))
    qtbot.mouseClick(page.export_button, Qt.LeftButton)
    _settled(qtbot, page)
    assert page.notice.isVisible() and page.notice.text() == "只有站长或管理员可以导出台账"
    assert not (tmp_path / "x.xlsx").exists()
    page.notice.accept()


def test_help_shows_the_core_definitions(boss_page, qtbot):
    page, _ids = boss_page
    qtbot.mouseClick(page.help_button, Qt.LeftButton)
    dlg = page.help_dialog
    assert dlg.isVisible() and dlg.windowTitle() == "统计口径说明"
    text = dlg.text.toPlainText()
    assert DEFINITIONS and all(term in text and definition in text for term, definition in DEFINITIONS)
    header_tip = page.table.model().headerData(9, Qt.Horizontal, Qt.ToolTipRole)
    assert header_tip == dict(DEFINITIONS)["按时答复率"]
    dlg.close()


def test_the_page_refreshes_when_cases_change(boss_page, qtbot):
    page, _ids = boss_page
    assert tile(page, "cases")[0] == "1"
    services = page.services
    cases = services.cases
    resident = services.residents.search("李秀英")[0]
    cid = cases.create_draft(services.current_worker, PROOF, resident.id)
    detail = cases.submit(services.current_worker, cid, {"x": 1}, {"身份证": True})
    services.change_bus.changed.emit(detail.changes)
    _settled(qtbot, page)
    assert tile(page, "cases")[0] == "2"


def test_the_chart_shows_each_day_on_hover(boss_page, qtbot):
    page, _ids = boss_page
    qtbot.mouseClick(page.last_month, Qt.LeftButton)
    _settled(qtbot, page)
    chart = page.chart
    assert len(chart.points) == 30
    plot = chart.plot_rect()
    slot = plot.width() / 30
    x = plot.left() + slot * 9.5  # 11-10: B forwarded
    pos = QPoint(int(x), int(plot.center().y()))
    QApplication.sendEvent(chart, QMouseEvent(QMouseEvent.MouseMove, pos, chart.mapToGlobal(pos), Qt.NoButton,
                                              Qt.NoButton, Qt.NoModifier))
    assert chart.hover_index == 9
    from ui.stats.chart import day_text
    assert day_text(chart.points[9]).startswith("11月10日（周二）\n办件 1 件：即办 0，转办 1")
    chart.resize(300, 200)  # crowded: the day labels thin out
    assert chart.label_step() > 1


def test_the_monthly_report_pdf(boss_page, qtbot, tmp_path, monkeypatch):
    page, _ids = boss_page
    qtbot.mouseClick(page.last_month, Qt.LeftButton)
    _settled(qtbot, page)
    offered = []

    def save_as(parent, title, start, file_filter):
        offered.append(start)
        return start.replace(str(page._last_dir), str(tmp_path)), file_filter  # the offered name, kept

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_as))
    qtbot.mouseClick(page.pdf_button, Qt.LeftButton)
    _settled(qtbot, page)
    written = tmp_path / "月报-幸福里社区-2026年11月.pdf"
    assert offered[0].endswith(written.name) and written.exists()
    assert str(written) in page.notice.text()
    page.notice.accept()
    from pypdf import PdfReader
    text = "".join(p.extract_text() for p in PdfReader(written).pages)
    assert "2026年11月" in text and "高龄老人尊老金申领" in text


def test_the_stats_models_pass_the_model_tester(boss_page, qtmodeltester):
    page, _ids = boss_page
    for model in (page.figures_model, page.figures_proxy, page.overdue_model, page.followups_model):
        qtmodeltester.check(model, force_py=True)


def test_the_main_window_opens_the_stats_page_on_the_demo(window, qtbot):
    from ui.main_window import NAV
    from ui.stats.stats_page import StatsPage
    win = window
    win.nav.setCurrentRow([key for key, _ in NAV].index("stats"))
    page = win.pages["stats"]
    assert isinstance(page, StatsPage) and page.isVisible()
    _settled(qtbot, page)
    assert page.report is not None and not page.error.isVisible()
    assert page.tiles["cases"].value.text() == str(page.report.total.cases)
