"""A 诉求's window (issue 20): what the resident asked (category, place, description), who (the resident masked, or
the contact of an anonymous request), who is responsible (the 块长) and who handles it (an external handler),
the 24-hour clock (yellow at 4 hours left, red past it), the photos and the history; one button per action the
state and the worker's role allow (``detail.options``): 反馈居民, 转交处理, 办结, 改派, 撤回, 催办.

Opened through ``services.case_windows`` like a case (one window per case). Every button acts on the version the
window shows; a refusal is said in the window's reserved line and the window re-reads the request.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.core.vocabulary import Action, DocKind
from ui.cases.action_dialogs import ActionDialog, ReasonDialog, RemindDialog
from ui.desk.message_line import MessageLine
from ui.operations import run_op
from ui.printing.flow import show_document
from ui.requests.action_dialogs import CloseRequestDialog, FeedbackDialog, HandOverDialog
from ui.requests.common import LEVEL_STYLES, PHOTO_FILTER, PHOTO_MATERIAL, fmt
from ui.requests.facts import clock_at, request_text
from ui.screen_fit import resize_to_fit

PRINT = "print"
CONTACT = "contact"  # 联系居民: the full phone number, audited (ui/cases/contact_dialog.py)
REQUEST_SLIP = getattr(DocKind, "REQUEST_SLIP", None)
CLOCK_TICK_MS = 60_000  # the countdown is re-read each minute while the window is open


class RequestWindow(QDialog):
    case_changed = Signal(object)
    resume_requested = Signal(object)  # never emitted (a request has no draft to resume); CaseWindows connects it

    def __init__(self, services, case_id, parent=None):
        super().__init__(parent)
        self.services, self.case_id = services, case_id
        self.detail = None
        self.busy = False
        self.setWindowTitle("诉求")
        resize_to_fit(self, 900, 660)
        self.heading = QLabel()
        self.heading.setObjectName("pageTitle")
        self.clock = QLabel()
        self.clock.setObjectName("requestClock")
        self.left_form, self.right_form = QFormLayout(), QFormLayout()
        facts = QGroupBox("诉求")
        row = QHBoxLayout(facts)
        row.addLayout(self.left_form, 1)
        row.addLayout(self.right_form, 1)
        self.photos = QListWidget()
        self.photos.setFixedHeight(34)
        self.photos.setFlow(QListWidget.LeftToRight)
        self.view_button = QPushButton("查看")
        self.capture_button = QPushButton("拍照…")
        self.file_button = QPushButton("添加照片…")
        for b in (self.view_button, self.capture_button, self.file_button):
            b.setAutoDefault(False)
        self.view_button.clicked.connect(self._on_view_clicked)
        self.capture_button.clicked.connect(self._on_capture_clicked)
        self.file_button.clicked.connect(self._on_file_clicked)
        photo_box = QGroupBox("照片")
        photo_row = QHBoxLayout(photo_box)
        photo_row.addWidget(self.photos, 1)
        for b in (self.view_button, self.capture_button, self.file_button):
            photo_row.addWidget(b)
        self.history = QTableWidget(0, 4)
        self.history.setHorizontalHeaderLabels(["时间", "工作人员", "操作", "说明"])
        self.history.verticalHeader().hide()
        self.history.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.history.setTabKeyNavigation(False)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.setWordWrap(False)
        history_box = QGroupBox("办理记录")
        QVBoxLayout(history_box).addWidget(self.history)
        self.notice = MessageLine(self)  # refusals and what was done, in the window, reserved (cut: tooltip)
        self.actions_row = QHBoxLayout()
        self.actions_row.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.clock)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(facts)
        layout.addWidget(photo_box)
        layout.addWidget(history_box, 1)
        layout.addWidget(self.notice)
        layout.addLayout(self.actions_row)
        self._tick = QTimer(self, interval=CLOCK_TICK_MS)
        self._tick.timeout.connect(self._show_clock)
        self._tick.start()
        services.change_bus.changed.connect(self._on_data_changed)
        self.refresh()

    # ----- reading ----------------------------------------------------------------------------------------
    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        if self.isVisible() and not self.busy and changes.cases:
            self.refresh()

    def refresh(self) -> None:
        svc, cid, worker = self.services.cases, self.case_id, self.services.current_worker
        run_op(self, lambda: svc.get(cid, viewer=worker), self._show, self.notice.show_error)
        self._load_photos()

    def _show(self, d) -> None:
        self.detail = d
        f = request_text(d)
        self.heading.setText(f"{f.category}  {d.summary.case_number}")
        self.setWindowTitle(f"诉求 {d.summary.case_number}")
        left = [("状态", d.summary.state_label), ("紧急程度", f.urgency), ("地点", f.place),
                ("块区", f.block or "—"), ("负责人（块长）", d.summary.assignee_name or "—"),
                ("描述", f.description or "—")]
        right = [("居民", f.who), ("联系电话", f.phone or "—"), ("登记时间", fmt(f.accepted_at)),
                 ("反馈期限", fmt(f.feedback_due_at)), ("首次反馈", f.first_feedback),
                 ("转交处理", f.handler or "—"), ("承诺时间", fmt(f.promised_at))]
        if f.result:
            right.append(("办理结果", f.result))
        for form, rows in ((self.left_form, left), (self.right_form, right)):
            while form.rowCount():
                form.removeRow(0)
            for label, value in rows:
                lab = QLabel(value)
                lab.setWordWrap(True)
                form.addRow(label, lab)
        self.history.setRowCount(len(d.events))
        for i, e in enumerate(d.events):
            for j, text in enumerate((fmt(e.at), e.worker_name, e.action_label, e.note)):
                self.history.setItem(i, j, QTableWidgetItem(text))
        for column in range(3):  # time, worker and action fit their text; 说明 takes the rest
            self.history.resizeColumnToContents(column)
        self._show_clock()
        self._build_actions(d)

    def _show_clock(self) -> None:
        if self.detail is None:
            return
        clock = clock_at(self.detail, self.services.clock())
        self.clock.setText(clock.label)
        self.clock.setProperty("level", clock.level)
        self.clock.setStyleSheet(LEVEL_STYLES.get(clock.level, "padding: 1px 4px;"))

    def clock_level(self) -> str:
        return str(self.clock.property("level") or "")

    def _load_photos(self) -> None:
        svc, cid = self.services.attachments, self.case_id
        run_op(self, lambda: svc.for_case(cid), self._show_photos, lambda _m: None)

    def _show_photos(self, infos) -> None:
        self.photos.clear()
        for info in infos:
            item = QListWidgetItem(f"{info.filename}（{info.status}）")
            item.setData(256, info)
            self.photos.addItem(item)
        self.view_button.setEnabled(bool(infos))

    # ----- photos -----------------------------------------------------------------------------------------
    def _on_view_clicked(self) -> None:
        item = self.photos.currentItem() or self.photos.item(0)
        if item is None:
            return
        info, svc = item.data(256), self.services.attachments

        def show(data: bytes) -> None:
            from ui.cases.packet_view import file_viewer
            dialog = file_viewer(info, data, self)
            dialog.finished.connect(lambda _r: dialog.deleteLater())
            dialog.open()
        run_op(self, lambda: svc.read(info.id), show, self.notice.show_error)

    def _on_capture_clicked(self) -> None:
        from ui.cases.packet_view import capture_dialog_class
        dialog_class = capture_dialog_class()
        if dialog_class is None:
            self.notice.show_error("本机不能使用高拍仪拍照，请用“添加照片…”选择图片文件")
            return
        dialog = dialog_class(self.services, self.case_id, PHOTO_MATERIAL, self)
        dialog.attached.connect(lambda _info: self._load_photos())
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.open()

    def _on_file_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择现场照片", "", PHOTO_FILTER)
        if path:
            self.add_photo(Path(path))

    def add_photo(self, path: Path) -> None:
        svc, worker, cid = self.services.attachments, self.services.current_worker, self.case_id

        def added(info) -> None:
            self.notice.show_note(f"已添加照片：{info.filename}")
            self._load_photos()
        run_op(self, lambda: svc.add_file(worker, cid, PHOTO_MATERIAL, path), added, self.notice.show_error)

    # ----- acting -----------------------------------------------------------------------------------------
    def _build_actions(self, d) -> None:
        for b in self.buttons.values():
            self.actions_row.removeWidget(b)
            b.hide()
            b.deleteLater()
        self.buttons = {}
        wanted = [(o.action, o.label) for o in d.options if o.action != Action.NOTE]
        if d.informs_resident:  # the 块长 calls the resident back: the number shown masked, in full only here
            wanted.append((CONTACT, "联系居民"))
        if REQUEST_SLIP is not None and REQUEST_SLIP in tuple(d.documents):
            wanted.append((PRINT, "打印受理单"))
        for key, label in wanted:
            b = QPushButton(label)
            b.setAutoDefault(False)
            b.clicked.connect(lambda _c=False, k=key: self._on_action_clicked(k))
            self.actions_row.addWidget(b)
            self.buttons[key] = b
        first = self.buttons.get(Action.GIVE_FEEDBACK) or self.buttons.get(Action.CLOSE_REQUEST)
        if first is not None:
            first.setDefault(True)

    def _on_action_clicked(self, key: str) -> None:
        if self.busy or self.detail is None:
            return
        if key == PRINT:
            show_document(self, self.services, self.case_id, str(REQUEST_SLIP))
            return
        if key == CONTACT:
            from ui.cases.contact_dialog import ContactDialog
            ContactDialog(self.services, self.case_id, self).open()
            return
        dialog = self._dialog_for(key, self.detail.version)
        dialog.refused.connect(self._refused)
        dialog.finished.connect(lambda result, d=dialog: self._on_dialog_finished(d, result))
        dialog.open()

    def _dialog_for(self, key: str, v: int) -> ActionDialog:
        services, cid, d = self.services, self.case_id, self.detail
        svc, w = services.cases, services.current_worker
        assert d is not None
        if key == Action.GIVE_FEEDBACK:
            return FeedbackDialog(services, cid, self, version=v)
        if key == Action.HAND_OVER:
            return HandOverDialog(services, cid, self, version=v)
        if key == Action.CLOSE_REQUEST:
            return CloseRequestDialog(services, cid, self, version=v)
        if key == Action.REASSIGN:
            return RequestReassignDialog(services, cid, d.summary.assignee_id, self, version=v)
        if key == Action.REMIND:
            due = fmt(d.request.feedback_due_at) + " 前反馈"
            return RemindDialog(services, cid, d.summary.assignee_name, due, self, version=v)
        return ReasonDialog("撤回", "撤回原因", "确认撤回", lambda r: svc.withdraw(w, cid, r, expected_version=v),
                            self)

    def _on_dialog_finished(self, dialog, result: int) -> None:
        dialog.deleteLater()
        if result == QDialog.Accepted and dialog.result_value is not None:
            self.notice.show_note("")
            self.case_changed.emit(self.case_id)
            self._show(dialog.result_value)

    def _refused(self, message: str) -> None:
        self.notice.show_error(message)
        self.refresh()


class RequestReassignDialog(ActionDialog):
    """改派 a request to another worker of the committee (a 站长's or an administrator's action)."""

    def __init__(self, services, case_id, current_assignee_id, parent=None, *, version: int | None = None):
        super().__init__("改派", "确认改派", parent)
        self.services, self.case_id, self.version = services, case_id, version
        self.target = QComboBox()
        for w, locked in services.auth.list_workers():
            if not locked and w.id != current_assignee_id:
                self.target.addItem(f"{w.display_name}（{w.role_labels}）", w.id)
        self.reason = self.note_edit("改派原因")
        self.form.addRow("改派给", self.target)
        self.form.addRow("原因", self.reason)

    def submit(self):
        worker, svc = self.services.current_worker, self.services.cases
        target, reason, case_id, v = self.target.currentData(), self.reason.toPlainText(), self.case_id, self.version
        return lambda: svc.reassign(worker, case_id, target, reason, expected_version=v)
