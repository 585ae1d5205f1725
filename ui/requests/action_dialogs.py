"""The request window's small dialogs (issue 20): 反馈居民 (how the resident was told, what, and an optional
promised time; 短信 shows the text to copy), 转交处理 (to an external handler with a phone; the 块长 stays
responsible) and 办结 (the result, and how the resident was told).

Each submits with the version the window shows (a request updated meanwhile is refused, the refusal is shown in
the dialog's line and the window re-reads); the rules — text required, who may — are the service's.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from app.core.vocabulary import FEEDBACK_CHANNELS
from ui.cases.action_dialogs import ActionDialog
from ui.operations import run_op
from ui.requests.common import edited_time, promised_edit

SMS = "sms"


class ChannelChoice(QWidget):
    """电话 / 当面 / 短信 as radio buttons (the first checked)."""

    def __init__(self, parent=None, default: str = "phone"):
        super().__init__(parent)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for i, (key, label) in enumerate(FEEDBACK_CHANNELS.items()):
            b = QRadioButton(label)
            self.group.addButton(b, i)
            self.buttons[key] = b
            row.addWidget(b)
        row.addStretch(1)
        self.buttons.get(default, next(iter(self.buttons.values()))).setChecked(True)

    def value(self) -> str:
        return next((k for k, b in self.buttons.items() if b.isChecked()), "")


class OptionalTime(QWidget):
    """A promised time the worker may leave out (unticked: none)."""

    def __init__(self, now, label: str = "承诺时间", parent=None, *, checked: bool = False):
        super().__init__(parent)
        self.box = QCheckBox(label)
        self.box.setChecked(checked)
        self.edit = promised_edit(now, hours=24)
        self.edit.setEnabled(checked)
        self.box.toggled.connect(self.edit.setEnabled)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.box)
        row.addWidget(self.edit)
        row.addStretch(1)

    def value(self):
        return edited_time(self.edit) if self.box.isChecked() else None


class FeedbackDialog(ActionDialog):
    def __init__(self, services, case_id, parent=None, *, version: int | None = None):
        super().__init__("反馈居民", "记录反馈", parent)
        self.services, self.case_id, self.version = services, case_id, version
        self.setMinimumWidth(520)
        self.channel = ChannelChoice(self)
        self.text = self.note_edit("告诉居民的内容：已解决，或正在处理（谁在处理、何时处理好）")
        self.promised = OptionalTime(services.clock(), parent=self)
        self.sms = QPlainTextEdit()
        self.sms.setReadOnly(True)
        self.sms.setFixedHeight(84)
        self.sms.setPlaceholderText("选择“短信”后，这里显示可复制发送给居民的短信内容")
        self.copy_button = QPushButton("复制")
        self.copy_button.setAutoDefault(False)
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self._on_copy_clicked)
        sms_row = QHBoxLayout()
        sms_row.addWidget(self.sms, 1)
        sms_row.addWidget(self.copy_button)
        self.form.addRow("反馈方式", self.channel)
        self.form.addRow("反馈内容", self.text)
        self.form.addRow("", self.promised)
        self.form.addRow("短信内容", sms_row)
        self.channel.group.buttonToggled.connect(lambda _b, _on: self._on_channel_changed())

    def _on_channel_changed(self) -> None:
        if self.channel.value() != SMS:
            self.sms.clear()
            self.copy_button.setEnabled(False)
            return
        svc, cid = self.services.requests, self.case_id
        run_op(self, lambda: svc.sms_text(cid), self._show_sms, self.error.setText)

    def _show_sms(self, text: str) -> None:
        if self.channel.value() == SMS:
            self.sms.setPlainText(text)
            self.copy_button.setEnabled(bool(text))
            self.copy_button.setText("复制")

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.sms.toPlainText())
        self.copy_button.setText("已复制")

    def submit(self):
        svc, worker, cid, v = self.services.requests, self.services.current_worker, self.case_id, self.version
        channel, text, promised = self.channel.value(), self.text.toPlainText(), self.promised.value()
        return lambda: svc.feedback(worker, cid, channel=channel, text=text, promised_at=promised, expected_version=v)


class HandOverDialog(ActionDialog):
    def __init__(self, services, case_id, parent=None, *, version: int | None = None):
        super().__init__("转交处理", "确认转交", parent)
        self.services, self.case_id, self.version = services, case_id, version
        self.handler_name = QLineEdit(placeholderText="例如：幸福里物业 张经理")
        self.handler_phone = QLineEdit(placeholderText="处理人的联系电话")
        self.promised = OptionalTime(services.clock(), parent=self, checked=True)
        self.note = self.note_edit("说明（可选）")
        self.form.addRow("处理人", self.handler_name)
        self.form.addRow("联系电话", self.handler_phone)
        self.form.addRow("", self.promised)
        self.form.addRow("说明", self.note)

    def submit(self):
        svc, worker, cid, v = self.services.requests, self.services.current_worker, self.case_id, self.version
        name, phone = self.handler_name.text().strip(), self.handler_phone.text().strip()
        promised, note = self.promised.value(), self.note.toPlainText()
        return lambda: svc.hand_over(worker, cid, name=name, phone=phone, promised_at=promised, note=note,
                                     expected_version=v)


class CloseRequestDialog(ActionDialog):
    def __init__(self, services, case_id, parent=None, *, version: int | None = None):
        super().__init__("办结", "办结", parent)
        self.services, self.case_id, self.version = services, case_id, version
        self.result_text = self.note_edit("处理结果，例如：楼道灯已更换，居民确认")
        self.channel = ChannelChoice(self)
        self.form.addRow("处理结果", self.result_text)
        self.form.addRow("告知居民", self.channel)

    def submit(self):
        svc, worker, cid, v = self.services.requests, self.services.current_worker, self.case_id, self.version
        result, channel = self.result_text.toPlainText(), self.channel.value()
        return lambda: svc.close(worker, cid, result=result, channel=channel, expected_version=v)
