"""Every Qt item model passes pytest-qt's qtmodeltester (Qt's QAbstractItemModelTester)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.auth import AuthService
from app.residents import ResidentService
from app.worklist import WorklistService

pytestmark = pytest.mark.gui


def test_resident_table_model(qtmodeltester, demo_ctx):
    from ui.residents.resident_table_model import ResidentTableModel
    model = ResidentTableModel()
    model.set_rows(ResidentService(demo_ctx).search(""))
    assert model.rowCount() == 30
    qtmodeltester.check(model, force_py=True)


def test_worklist_table_model_with_paging(qtmodeltester, demo_ctx):
    from ui.worklist import worklist_table_model as wm
    boss = AuthService(demo_ctx).login("zhanzhang", "demo1234")
    wl = WorklistService(demo_ctx)

    def make():
        return wm.WorklistTableModel(lambda o, n, t, s, d: wl.page("sent", boss, offset=o, limit=2, text=t, sort=s,
                                                                   descending=d), lambda t: wl.count("sent", boss, t))
    paged = make()
    paged.reload("")
    assert paged.rowCount() == 2 and paged.canFetchMore()
    while paged.canFetchMore():
        paged.fetchMore()
    assert paged.rowCount() == paged.total >= 4
    # Qt's C++ tester, one per model: pytest-qt's Python port (and a second tester on the same model)
    # calls fetchMore from inside its own reset handler and then flags those rows as inserted "during a reset".
    model = make()
    model.sort(1, Qt.DescendingOrder)  # sorted by the database, then checked
    qtmodeltester.check(model)
    items = [model.row_at(i).item_name for i in range(model.rowCount())]
    assert items == sorted(items, reverse=True)


def test_item_list_model(qtmodeltester, demo_ctx):
    from app.catalog_refs import shared_catalog
    from ui.desk.item_list_model import ItemListModel
    model = ItemListModel()
    model.set_hits(shared_catalog().search("低保"), ["MZ-02"])
    assert model.rowCount() >= 3
    qtmodeltester.check(model, force_py=True)
