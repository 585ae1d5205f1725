"""Issue 19, point 1: the dialogs opened from the worklist — the case window, its packet and the 待打印 list —
fit a 1024×768 screen (1024×738 left by the taskbar): each opens no larger than the screen and can be made that
small (its minimum size fits)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QSize

from app.desk.worklist import TABS
from ui.printing.to_print_dialog import ToPrintDialog
from ui.screen_fit import fitted_size, resize_to_fit

pytestmark = pytest.mark.gui
SMALL = QRect(0, 0, 1024, 738)
TAB_INDEX = {k: i for i, (k, _) in enumerate(TABS)}


def test_a_preferred_size_is_capped_by_a_small_screen_and_kept_on_a_large_one():
    assert fitted_size(1000, 860, SMALL) == QSize(1000, 690)
    assert fitted_size(1060, 700, SMALL) == QSize(1000, 690)
    assert fitted_size(1000, 720, QRect(0, 0, 1920, 1040)) == QSize(1000, 720)


def _fits(dialog) -> None:
    hint = dialog.minimumSizeHint().expandedTo(dialog.minimumSize())
    assert hint.width() <= SMALL.width() - 24 and hint.height() <= SMALL.height() - 48, hint
    resize_to_fit(dialog, 5000, 5000, SMALL)
    assert dialog.width() <= SMALL.width() and dialog.height() <= SMALL.height()


def test_the_case_window_and_the_to_print_list_fit_1024x768(window, qtbot):
    window.show_page("worklist")
    page = window.pages["worklist"]
    page.tabs.setCurrentIndex(TAB_INDEX["sent"])
    model = page.models["sent"]
    qtbot.waitUntil(lambda: model.rowCount() > 0)
    dialog = page.open_case(model.row_at(0).id)
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.windowTitle() == "案件详情"
    _fits(dialog)
    dialog.close()
    to_print = ToPrintDialog(window.services, window)
    qtbot.addWidget(to_print)
    _fits(to_print)
