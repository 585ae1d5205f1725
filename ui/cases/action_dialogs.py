"""Small dialogs for case actions: forward (deadline shown before confirming), reply, close, reason prompts,
差评回访 (call-back and fix records) and 催办.

Each submits with ``version``, the version of the case its case window shows: a case updated meanwhile is
refused by the service, the refusal is shown here (the worker's text stays) and ``refused`` tells the window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from app.core.vocabulary import CHINA_TZ, INFORM_METHODS, REPLY_RESULTS
from ui.operations import run_op


class ActionDialog(QDialog):
    """A form plus an error line and OK/Cancel; ``submit()`` returns a zero-arg callable run off the UI thread."""

    refused = Signal(str)  # the service refused the action (message for the worker)

    def __init__(self, title: str, ok_text: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        self.result_value = None
        self.form = QFormLayout()
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText(ok_text)
        self.buttons.button(QDialogButtonBox.Cancel).setText("取消")
        self.buttons.accepted.connect(self._on_ok_clicked)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def note_edit(self, placeholder: str = "") -> QPlainTextEdit:
        edit = QPlainTextEdit(placeholderText=placeholder)
        edit.setTabChangesFocus(True)
        edit.setFixedHeight(80)
        return edit

    def submit(self):
        raise NotImplementedError

    def _on_ok_clicked(self) -> None:
        self.buttons.setEnabled(False)
        run_op(self, self.submit(), self._on_done, self._on_failed)

    def _on_done(self, value) -> None:
        self.result_value = value
        self.accept()

    def _on_failed(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(message)
        self.refused.emit(message)


class ReasonDialog(ActionDialog):
    def __init__(self, title: str, label: str, ok_text: str, action, parent=None, extra_label: str | None = None):
        """``action(reason[, extra])`` performs the change."""
        super().__init__(title, ok_text, parent)
        self._action = action
        self.reason = self.note_edit(label)
        self.form.addRow(label, self.reason)
        self.extra = None
        if extra_label:
            from PySide6.QtWidgets import QLineEdit
            self.extra = QLineEdit()
            self.form.addRow(extra_label, self.extra)

    def submit(self):
        reason = self.reason.toPlainText()
        extra = self.extra.text() if self.extra is not None else None
        return (lambda: self._action(reason, extra)) if self.extra is not None else (lambda: self._action(reason))


class ForwardDialog(ActionDialog):
    def __init__(self, services, case_id, department: str, parent=None, *, version: int | None = None):
        super().__init__("转办", "确认转办", parent)
        self.services, self.case_id, self.department, self.version = services, case_id, department, version
        self.target = QComboBox()
        self.target.addItem(f"{department}（部门队列，由条线社工签收）", None)
        for w in services.auth.workers_for_line(department):
            self.target.addItem(f"{w.display_name}（{department}）", w.id)
        if self.target.count() > 1:
            self.target.setCurrentIndex(1)
        self.note = self.note_edit("给承办人的说明（可选）")
        due, provisional = services.cases.deadline_for(services.clock())
        text = due.astimezone(CHINA_TZ).strftime("%Y年%m月%d日 %H:%M") + " 前答复"
        self.deadline = QLabel(text + ("（暂定：该年度节假日安排未导入，按周一至周五推算）" if provisional else ""))
        self.deadline.setObjectName("warning" if provisional else "")
        self.deadline.setWordWrap(True)
        self.form.addRow("转给", self.target)
        self.form.addRow("说明", self.note)
        self.form.addRow("办理期限", self.deadline)

    def submit(self):
        worker, svc = self.services.current_worker, self.services.cases
        assignee, note, case_id, v = self.target.currentData(), self.note.toPlainText(), self.case_id, self.version
        queue = self.department
        return lambda: svc.forward(worker, case_id, assignee_id=assignee, queue=queue, note=note, expected_version=v)


class ReplyDialog(ActionDialog):
    def __init__(self, services, case_id, parent=None, *, version: int | None = None):
        super().__init__("答复", "提交答复", parent)
        self.services, self.case_id, self.version = services, case_id, version
        self.result_box = QComboBox()
        for key, label in REPLY_RESULTS.items():
            self.result_box.addItem(label, key)
        self.text = self.note_edit("答复内容；不予批准请写明原因")
        self.files = QListWidget()
        self.files.setFixedHeight(60)
        add = QPushButton("添加附件…")
        add.clicked.connect(self._on_add_clicked)
        row = QHBoxLayout()
        row.addWidget(self.files, 1)
        row.addWidget(add)
        self.form.addRow("结果", self.result_box)
        self.form.addRow("答复内容", self.text)
        self.form.addRow("附件", row)
        self.paths: list[Path] = []

    def _on_add_clicked(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "选择附件")
        for n in names:
            self.paths.append(Path(n))
            self.files.addItem(Path(n).name)

    def submit(self):
        worker, svc = self.services.current_worker, self.services.cases
        result, text = self.result_box.currentData(), self.text.toPlainText()
        paths, case_id, v = list(self.paths), self.case_id, self.version
        return lambda: svc.reply(worker, case_id, result, text, attachment_paths=paths, expected_version=v)


class CloseDialog(ActionDialog):
    def __init__(self, services, case_id, parent=None, *, version: int | None = None, phone_masked: str = ""):
        super().__init__("告知居民并办结", "办结", parent)
        self.services, self.case_id, self.version = services, case_id, version
        self.method = QComboBox()
        for key, label in INFORM_METHODS.items():
            self.method.addItem(label, key)
        self.note = self.note_edit("告知情况（可选）")
        # 联系居民 (issue 19): the number to call, in full for this worker, audited (ui/cases/contact_dialog.py)
        self.contact_button = QPushButton("联系居民…")
        self.contact_button.clicked.connect(self._on_contact_clicked)
        contact = QHBoxLayout()
        contact.addWidget(QLabel(phone_masked or "—"), 1)
        contact.addWidget(self.contact_button)
        self.form.addRow("联系电话", contact)
        self.form.addRow("告知方式", self.method)
        self.form.addRow("备注", self.note)

    def _on_contact_clicked(self) -> None:
        from ui.cases.contact_dialog import ContactDialog
        ContactDialog(self.services, self.case_id, self).open()

    def submit(self):
        worker, svc = self.services.current_worker, self.services.cases
        method, note, case_id, v = self.method.currentData(), self.note.toPlainText(), self.case_id, self.version
        return lambda: svc.close(worker, case_id, method, note, expected_version=v)


class ReassignDialog(ActionDialog):
    def __init__(self, services, case_id, department: str, parent=None, current_assignee_id=None, *,
                 version: int | None = None):
        super().__init__("改派", "确认改派", parent)
        self.services, self.case_id, self.version = services, case_id, version
        self.target = QComboBox()
        for w in services.auth.workers_for_line(department):  # only colleagues whose line covers the item
            if w.id != current_assignee_id:
                self.target.addItem(f"{w.display_name}（{'、'.join(w.lines)}）", w.id)
        self.reason = self.note_edit("改派原因")
        self.form.addRow("改派给", self.target)
        self.form.addRow("原因", self.reason)
        if self.target.count() == 0:
            self.error.setText(f"没有其他负责“{department}”条线的同事可以改派。请先在设置中为同事添加该条线。")
            self.buttons.button(QDialogButtonBox.Ok).setEnabled(False)

    def submit(self):
        worker, svc = self.services.current_worker, self.services.cases
        target, reason, case_id, v = self.target.currentData(), self.reason.toPlainText(), self.case_id, self.version
        return lambda: svc.reassign(worker, case_id, target, reason, expected_version=v)


# 差评回访 (issue 16): what the 站长 writes down after the call to the resident, and what was fixed.
FOLLOWUP_TEXTS = {
    "callback": ("记录回访", "回访记录", "保存回访记录", "回访期限",
                 "回访了谁、说了什么：例如 已电话联系申请人张女士，就等候时间长致歉，说明已调整窗口安排，居民表示理解"),
    "fix": ("记录整改", "整改情况", "保存整改记录", "整改期限",
            "做了哪些整改、何时完成：例如 工作日上午高峰增开一个窗口，11月25日起执行"),
}


class FollowupDialog(ActionDialog):
    """记录回访 / 记录整改 of a bad rating: the rating it answers, the deadline, and the record (required)."""

    def __init__(self, services, case_id, rating, stage: str, parent=None, *, version: int | None = None):
        title, label, ok_text, due_label, placeholder = FOLLOWUP_TEXTS[stage]
        super().__init__(title, ok_text, parent)
        self.services, self.case_id, self.stage, self.version = services, case_id, stage, version
        said = rating.label + ("；" + "、".join(rating.reasons) if rating.reasons else "")
        said += f"；居民意见：{rating.note}" if rating.note else ""
        about = QLabel(said)
        about.setWordWrap(True)
        self.form.addRow("居民评价", about)
        if stage == "fix" and rating.call_note:
            called = QLabel(rating.call_note)
            called.setWordWrap(True)
            self.form.addRow("回访记录", called)
        due = rating.callback_due if stage == "callback" else rating.fix_due
        if due is not None:
            self.form.addRow(due_label, QLabel(due.astimezone(CHINA_TZ).strftime("%Y年%m月%d日 %H:%M 前")))
        self.note = self.note_edit(placeholder)
        self.note.setFixedHeight(110)
        self.form.addRow(label, self.note)
        self.setMinimumWidth(520)

    def submit(self):
        worker, svc, case_id, v = self.services.current_worker, self.services.cases, self.case_id, self.version
        note = self.note.toPlainText()
        if self.stage == "callback":
            return lambda: svc.followup_callback(worker, case_id, note, expected_version=v)
        return lambda: svc.followup_fix(worker, case_id, note, expected_version=v)


REMIND_NOTE = "请尽快答复"


class RemindDialog(ActionDialog):
    """催办: a reminder to the assignee of a forwarded case, with a note the worker may change."""

    def __init__(self, services, case_id, assignee: str, due_text: str, parent=None, *, version: int | None = None):
        super().__init__("催办", "发送催办", parent)
        self.services, self.case_id, self.version = services, case_id, version
        self.form.addRow("催办对象", QLabel(assignee or "—"))
        if due_text:
            self.form.addRow("办理期限", QLabel(due_text))
        self.note = self.note_edit("催办内容")
        self.note.setPlainText(REMIND_NOTE)
        self.note.selectAll()
        self.form.addRow("催办内容", self.note)

    def submit(self):
        worker, svc, case_id, v = self.services.current_worker, self.services.cases, self.case_id, self.version
        note = self.note.toPlainText().strip()
        return lambda: svc.remind(worker, case_id, note, expected_version=v)
