"""The wizard's duplicate-application notice: earlier cases of the same item for the chosen resident.

It warns and links; it never stops the worker (the check itself is app/desk/duplicates.py). Each case gets a
“查看案件 …” button that asks for that case's window (one window per case: ui/cases/case_windows.py).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout


class DuplicateNotice(QFrame):
    open_requested = Signal(object)  # case id: 查看案件 pressed

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("duplicateNotice")
        self.label = QLabel()
        self.label.setObjectName("warning")
        self.label.setWordWrap(True)
        self.buttons: list[QPushButton] = []
        self._row = QHBoxLayout()
        self._row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.label)
        layout.addLayout(self._row)
        self.setVisible(False)

    def show_cases(self, cases, text: str) -> None:
        """``cases``: EarlierCase rows; ``text``: the notice as the core words it (empty hides the notice)."""
        self.clear()
        if not cases:
            return
        self.label.setText(text)
        for case in cases:
            button = QPushButton(f"查看案件 {case.case_number}")
            button.setAutoDefault(False)  # Enter still means 下一步
            button.setToolTip(case.message)
            button.clicked.connect(lambda _c=False, cid=case.case_id: self.open_requested.emit(cid))
            self._row.insertWidget(self._row.count() - 1, button)
            self.buttons.append(button)
        self.setVisible(True)

    def clear(self) -> None:
        for button in self.buttons:
            self._row.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        self.label.clear()
        self.setVisible(False)
