"""Qt's own dialogs speak Chinese: the standard buttons of message boxes and button boxes are translated."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

pytestmark = pytest.mark.gui


def test_standard_buttons_are_chinese(styled_app, qtbot):
    box = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    qtbot.addWidget(box)
    assert box.button(QDialogButtonBox.Ok).text() == "确定"
    assert box.button(QDialogButtonBox.Cancel).text() == "取消"
    msg = QMessageBox(QMessageBox.Question, "停止办理", "放弃？", QMessageBox.Yes | QMessageBox.No)
    qtbot.addWidget(msg)
    texts = {msg.button(QMessageBox.Yes).text(), msg.button(QMessageBox.No).text()}
    assert all("是" in t or "否" in t for t in texts), texts
