"""Every Qt item model passes pytest-qt's qtmodeltester (Qt's QAbstractItemModelTester)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.desk.auth import AuthService
from app.desk.residents import ResidentService
from app.desk.worklist import WorklistService

pytestmark = pytest.mark.gui


def test_resident_table_model(qtmodeltester, demo_ctx):
    from ui.residents.resident_table_model import ResidentTableModel
    model = ResidentTableModel()
    model.set_rows(ResidentService(demo_ctx).search(""))
    assert model.rowCount() == 30
    qtmodeltester.check(model, force_py=True)


def test_worklist_table_model_with_paging(qtmodeltester, qtbot, demo_ctx):
    from ui.worklist import worklist_table_model as wm
    boss = AuthService(demo_ctx).login("zhanzhang", "demo1234")
    wl = WorklistService(demo_ctx)

    def make():
        return wm.WorklistTableModel(lambda o, n, t, s, d: wl.page("sent", boss, offset=o, limit=2, text=t, sort=s,
                                                                   descending=d), lambda t: wl.count("sent", boss, t))
    paged = make()
    with qtbot.waitSignal(paged.loaded):
        paged.reload("")  # answered off the UI thread
    assert paged.rowCount() == 2 and paged.canFetchMore()
    paged.fetchMore()
    assert not paged.canFetchMore()  # one page in flight at a time
    while paged.busy or paged.canFetchMore():
        if not paged.busy:
            paged.fetchMore()
        qtbot.waitUntil(lambda: not paged.busy)
    assert paged.rowCount() == paged.total >= 4
    # A newer reload supersedes an answer still in flight.
    paged.reload("no-such-case")
    paged.reload("")
    qtbot.waitUntil(lambda: not paged.busy)
    assert paged.rowCount() == 2 and paged.total >= 4
    # Qt's C++ tester, one per model: pytest-qt's Python port (and a second tester on the same model)
    # calls fetchMore from inside its own reset handler and then flags those rows as inserted "during a reset".
    model = make()
    with qtbot.waitSignal(model.loaded):
        model.sort(1, Qt.DescendingOrder)  # sorted by the database, then checked
    qtmodeltester.check(model)
    qtbot.waitUntil(lambda: not model.busy)
    items = [model.row_at(i).item_name for i in range(model.rowCount())]
    assert items == sorted(items, reverse=True)
    assert not model.is_sortable(3)  # the masked ID column


def test_item_list_model(qtmodeltester, demo_ctx):
    from app.desk.catalog.refs import shared_catalog
    from ui.desk.item_list_model import ItemListModel
    model = ItemListModel()
    model.set_hits(shared_catalog().search("低保"), ["MZ-02"])
    assert model.rowCount() >= 3
    qtmodeltester.check(model, force_py=True)
