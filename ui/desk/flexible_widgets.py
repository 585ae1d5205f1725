"""The wizard's controls for flexible acceptance (rules.md §8). No rule lives here: which materials a pledge
replaces and when 容缺受理 is offered come from the item and from ``IntakeService.outcomes``."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

CREDIT_CHECK = "已核实申请人不在失信名单内（失信人员不适用容缺受理）"


def _label(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setObjectName(name)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label


class PledgeBox(QWidget):
    """告知承诺制 on the materials page: the applicant chooses to sign the item's pledge instead of the proofs it
    replaces. Hidden for an item without a pledge."""

    toggled = Signal(bool)

    def __init__(self, item, parent=None):
        super().__init__(parent)
        pledge = item.pledge
        self.box = QCheckBox("采用告知承诺制（以承诺代替" + "、".join(pledge.replaces) + "）" if pledge else "")
        self.box.setToolTip("申请人签署告知承诺书后，无需提交所代替的证明材料，由承办部门事后核查")
        self.text = _label("承诺内容：" + pledge.text if pledge else "", "hint")
        self.text.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 6)
        layout.addWidget(self.box)
        layout.addWidget(self.text)
        self.box.toggled.connect(self.text.setVisible)
        self.box.toggled.connect(self.toggled)
        self.available = pledge is not None
        self.setVisible(self.available)

    def chosen(self) -> bool:
        return self.available and self.box.isChecked()


class DeferredBox(QWidget):
    """容缺受理 on the review page: what is missing, the pledge the applicant signs, and the worker's confirmation
    that the applicant is on no dishonesty list. Shown only while 容缺受理 is offered."""

    toggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("deferredBox")
        self.text = _label("", "hint")
        self.credit = QCheckBox(CREDIT_CHECK)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.text)
        layout.addWidget(self.credit)
        self.credit.toggled.connect(self.toggled)
        self.setVisible(False)

    def offer(self, missing: list[str] | None) -> None:
        """``missing``: the deferrable materials when 容缺受理 is offered, else None (hidden, unticked)."""
        if not missing:
            self.credit.setChecked(False)
            self.setVisible(False)
            return
        self.text.setText("可容缺受理：缺少次要材料" + "、".join(missing) + "。申请人书面承诺限期补交后，"
                          "案件先受理并转办，打印《容缺受理告知书》一式两份，双方签字。")
        self.setVisible(True)

    def confirmed(self) -> bool:
        return self.credit.isChecked()
