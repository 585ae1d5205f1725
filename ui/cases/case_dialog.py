"""A case: its facts, its packet, its full history, and the actions its state and the worker's role allow.

Four tabs (issue 15): 概要 (the case, the applicant and agent, the warnings it was accepted over), 申请内容 (every
answer by wizard step), 材料与附件 (the materials as received and their files), 办理记录 (the history). The
packet is read from :class:`app.desk.packet.PacketService` each time the case is shown (ui/cases/packet_view.py).

Open it through ``services.case_windows`` (one window per case). Every button acts on the version the window
shows: when the case has moved on meanwhile, the service refuses (``STALE_CASE``), the refusal is shown in the
window and the window re-reads the case, so the worker sees what it is now before doing anything.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core import rule_notes
from app.core.machine import DOCUMENT_AFTER
from app.core.requests import is_request
from app.core.vocabulary import CHINA_TZ, AcceptanceMode, Action, InformMethod, RatingChannel
from app.desk.cases import CaseDetail
from ui.cases.action_dialogs import (
    ActionDialog,
    CloseDialog,
    FollowupDialog,
    ForwardDialog,
    ReasonDialog,
    ReassignDialog,
    RemindDialog,
    ReplyDialog,
)
from ui.cases.packet_view import AnswersView, MaterialsView, PeopleBox
from ui.operations import run_op
from ui.printing.flow import show_document
from ui.rating import ask_for_rating, rating_after_preview
from ui.screen_fit import resize_to_fit

PRINT = "print"  # a button that is not a case action: offered when the case has documents to print
CONTACT = "contact"  # 联系居民: for the worker who informs the resident (ui/cases/contact_dialog.py)
TAB_TITLES = ("概要", "申请内容", "材料与附件", "办理记录")


def flexible_rows(d: CaseDetail) -> list[tuple[str, str]]:
    """How the case was accepted (rules.md §8), for the case window: 容缺 with what is still owed, or the pledge."""
    rows: list[tuple[str, str]] = []
    if d.acceptance_mode:
        rows.append(("受理方式", d.acceptance_mode))
    if d.makeup_materials:
        due = f"，{d.makeup_due.year}年{d.makeup_due.month}月{d.makeup_due.day}日前补交" if d.makeup_due else ""
        rows.append(("待补容缺材料", "、".join(d.makeup_materials) + due))
    elif d.acceptance_mode == AcceptanceMode.DEFERRED:
        rows.append(("待补容缺材料", "已补齐"))
    if d.pledge_text:
        rows.append(("告知承诺", "申请人已签署告知承诺书（可在“打印文书”中再次打印）"))
    return rows


def _fmt(when) -> str:
    return when.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if when else "—"


def rating_rows(d: CaseDetail) -> list[tuple[str, str]]:
    """The 评价 section of 概要 (issue 16): the resident's rating or 未评价, a bad rating's follow-up with its
    deadlines and records, the second rating, and the 催办 sent. Shown, never editable."""
    r = d.rating
    channel = {c.value: c.label for c in RatingChannel}.get(r.channel, r.channel)
    given = f"（{_fmt(r.at)}，{channel}）" if r.level and channel else ""
    rows = [("评价", r.label + given)]
    if r.reasons:
        rows.append(("评价原因", "、".join(r.reasons)))
    if r.note:
        rows.append(("居民意见", r.note))
    if r.followup_stage:
        rows.append(("差评回访", f"{r.stage_label}（回访期限 {_fmt(r.callback_due)}，整改期限 {_fmt(r.fix_due)}）"))
    if r.called_at:
        rows.append(("回访记录", f"{_fmt(r.called_at)}  {r.call_note}"))
    if r.fixed_at:
        rows.append(("整改情况", f"{_fmt(r.fixed_at)}  {r.fix_note}"))
    if r.second_level:
        rows.append(("再次评价", f"{r.second_label}（{_fmt(r.second_at)}）"))
    elif r.next_round == 2:
        rows.append(("再次评价", "整改后尚未再次评价"))
    if d.remind_count:
        rows.append(("催办", f"已催办 {d.remind_count} 次，最近一次 {_fmt(d.reminded_at)}"))
    return rows


class CaseDialog(QDialog):
    case_changed = Signal(object)
    resume_requested = Signal(object)

    def __init__(self, services, case_id, parent=None):
        super().__init__(parent)
        self.services, self.case_id = services, case_id
        self.detail: CaseDetail | None = None
        self.setWindowTitle("案件详情")
        resize_to_fit(self, 1000, 720)
        self.packet = None  # the case packet last shown (app/desk/packet.py CasePacket)
        self.info = QGroupBox("案件")
        self.info_form = QFormLayout(self.info)
        # The warnings the case was accepted over, for the colleague who decides (issue 13): hidden when none.
        self.warnings = QGroupBox(rule_notes.HEADING)
        self.warnings.setObjectName("warningBox")
        self.warnings_text = QLabel()
        self.warnings_text.setObjectName("warning")
        self.warnings_text.setWordWrap(True)
        QVBoxLayout(self.warnings).addWidget(self.warnings_text)
        self.warnings.setVisible(False)
        self.rating_box = QGroupBox("评价")  # the resident's 好差评 and its follow-up (rating_rows)
        self.rating_form = QFormLayout(self.rating_box)
        self.history = QTableWidget(0, 5)
        self.history.setHorizontalHeaderLabels(["时间", "工作人员", "操作", "状态变化", "说明"])
        self.history.verticalHeader().hide()
        self.history.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.history.setTabKeyNavigation(False)  # a read-only list: Tab goes on to the action buttons (arrows scroll)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.prints = QLabel()
        self.prints.setObjectName("hint")
        self.prints.setWordWrap(True)
        self.notice = QLabel()  # a refusal (e.g. the case was updated meanwhile), in the window, not a pop-up
        self.notice.setObjectName("error")
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        self.busy = False
        self.actions_row = QHBoxLayout()
        self.people = PeopleBox()
        self.people.reveal_requested.connect(self._on_reveal_requested)
        self.answers = AnswersView()
        self.materials_view = MaterialsView(services, case_id)
        self.materials_view.changed.connect(self._load_packet)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("caseTabs")
        summary = QWidget()
        column = QVBoxLayout(summary)
        column.addWidget(self.info)
        column.addWidget(self.people)
        column.addWidget(self.warnings)
        column.addWidget(self.rating_box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(summary)
        record = QWidget()
        QVBoxLayout(record).addWidget(self.history)
        for page, title in zip((scroll, self.answers, self.materials_view, record), TAB_TITLES, strict=True):
            self.tabs.addTab(page, title)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.prints)
        layout.addWidget(self.notice)
        layout.addLayout(self.actions_row)
        self.buttons: dict[str, QPushButton] = {}
        services.change_bus.changed.connect(self._on_data_changed)
        self.refresh()

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        """A change made anywhere on this desk (another window, a sync round): show the case as it is now; a
        document printed or put aside for later (a preview of this case, 待打印): its print record."""
        if not self.isVisible() or self.busy:
            return
        if changes.cases:
            self.refresh()
        elif changes.print_jobs:
            self._load_prints()

    def refresh(self) -> None:
        svc, cid, worker = self.services.cases, self.case_id, self.services.current_worker
        run_op(self, lambda: svc.get(cid, viewer=worker), self._show)

    def _load_prints(self) -> None:
        run_op(self, lambda: self.services.printing.jobs(self.case_id), self._show_prints)

    def _show_prints(self, jobs) -> None:
        status = {"pending": "未打印", "printed": "已打印", "failed": "打印失败", "exported": "已导出为文件"}

        def line(j) -> str:
            reprint = f"（补打第{j.reprint_count}次）" if j.reprint_count else ""
            printer = "：" + j.printer if j.printer else ""
            reason = "；" + j.reason if j.reason else ""
            return f"{_fmt(j.at)} {j.doc_title}{reprint} {status.get(j.status, j.status)}{printer}{reason}"
        lines = [line(j) for j in jobs]
        self.prints.setText("打印记录：" + ("；".join(lines) if lines else "无"))

    def _show(self, d: CaseDetail) -> None:
        if is_request(d):  # a 诉求 opened by a list that did not know its kind: its own window (ui/requests)
            self.services.case_windows.reopen_as_request(self)
            return
        self.detail = d
        s = d.summary
        while self.info_form.rowCount():
            self.info_form.removeRow(0)
        rows = [("案件编号", s.case_number), ("事项", f"{s.item_name}（{d.mode}，{d.department}）"),
                ("申请人", f"{s.applicant_name}  {s.applicant_id_masked}  {d.applicant_phone_masked}"),
                ("状态", s.state_label), ("承办", s.assignee_name or "—")]
        if s.due_at:
            rows.append(("办理期限", _fmt(s.due_at) + ("（暂定）" if s.deadline_provisional else "")))
        if d.reply_result:
            rows.append(("答复", f"{d.reply_label}：{d.reply_text}"))
        if d.refusal_reason:
            rows.append(("不予受理原因", d.refusal_reason))
        rows += flexible_rows(d)
        for label, value in rows:
            lab = QLabel(value)
            lab.setWordWrap(True)
            self.info_form.addRow(label, lab)
        while self.rating_form.rowCount():
            self.rating_form.removeRow(0)
        for label, value in rating_rows(d):
            lab = QLabel(value)
            lab.setWordWrap(True)
            self.rating_form.addRow(label, lab)
        lines = rule_notes.screen_lines(d.rule_warnings, d.warning_note)
        self.warnings_text.setText("\n".join(lines))
        self.warnings.setVisible(bool(lines))
        self.history.setRowCount(len(d.events))
        for i, e in enumerate(d.events):
            change = e.to_label if e.from_label == e.to_label else f"{e.from_label} → {e.to_label}"
            for j, text in enumerate((_fmt(e.at), e.worker_name, e.action_label, change, e.note)):
                self.history.setItem(i, j, QTableWidgetItem(text))
        self.history.resizeColumnsToContents()
        self._build_actions(d)
        self._load_prints()
        self._load_packet()
        if d.reply_unseen and d.informs_resident:  # the reply is read now: the worklist stops highlighting it
            svc, worker, cid = self.services.cases, self.services.current_worker, self.case_id
            run_op(self, lambda: svc.mark_reply_seen(worker, cid), lambda _c: None, lambda _m: None)

    def _load_packet(self) -> None:
        """The packet as the viewing worker may read it (masked; 查看完整证件号 reveals it, audited)."""
        svc, cid, worker = self.services.packet, self.case_id, self.services.current_worker
        run_op(self, lambda: svc.build(cid, worker), self._show_packet, self._packet_failed)

    def _packet_failed(self, message: str) -> None:
        """The packet could not be read: said in its tabs; the case and its actions stay usable."""
        self.answers.show_error(message)
        self.materials_view.show_error(message)

    def _on_reveal_requested(self) -> None:
        svc, cid, worker = self.services.packet, self.case_id, self.services.current_worker
        run_op(self, lambda: svc.reveal(worker, cid), self._show_packet, self._set_notice)

    def _show_packet(self, packet) -> None:
        self.packet = packet
        self.people.show_packet(packet)
        self.answers.show_packet(packet)
        self.materials_view.show_packet(packet)

    def _build_actions(self, d: CaseDetail) -> None:
        """One button per action the state machine offers this worker, and 打印文书 when documents fit."""
        for b in self.buttons.values():
            self.actions_row.removeWidget(b)
            b.hide()
            b.deleteLater()
        self.buttons = {}
        wanted = [(o.action, o.label) for o in d.options]
        if d.informs_resident and d.applicant_id is not None:
            wanted.append((CONTACT, "联系居民"))
        if d.documents:
            wanted.append((PRINT, "打印文书"))
        for key, label in wanted:
            b = QPushButton(label)
            b.clicked.connect(lambda _c=False, k=key: self._on_action_clicked(k))
            self.actions_row.addWidget(b)
            self.buttons[key] = b

    def _on_action_clicked(self, key: str) -> None:
        if self.busy or self.detail is None:
            return
        svc, w, cid, version = self.services.cases, self.services.current_worker, self.case_id, self.detail.version
        self._set_notice("")
        if key == Action.SAVE_DRAFT:  # 继续办理: the wizard takes the draft up again
            self._run(lambda: svc.ensure_current(cid, version), lambda _r: self._resume())
            return
        if key == Action.ACKNOWLEDGE:
            self._run(lambda: svc.acknowledge(w, cid, expected_version=version), self._after)
            return
        if key == CONTACT:  # 联系居民: the full phone number, audited, with 复制号码
            from ui.cases.contact_dialog import ContactDialog
            ContactDialog(self.services, cid, self).open()
            return
        if key == Action.RATE:  # 请居民评价: the resident-facing window (ui/rating); the case re-reads on its change
            ask_for_rating(self, self.services, cid, self.detail.rating.next_round or 1)
            return
        if key == Action.RECEIVE_MAKEUP:  # 容缺受理: the pledged materials were handed in
            self._run(lambda: svc.receive_makeup(w, cid, expected_version=version), self._after)
            return
        if key == PRINT:  # first print, or a reprint (补打) with its reason; the state decides which documents fit
            printing = self.services.printing
            self._run(lambda: (svc.ensure_current(cid, version), printing.print_plan(cid))[1], self._on_print_plan)
            return
        if key == Action.ACCEPT:  # the missing materials were handed in: record them as received
            printing = self.services.printing
            self._run(lambda: svc.accept_after_materials(w, cid, printing.materials_handed_in(cid),
                                                         expected_version=version), self._after)
            return
        dialog = self._dialog_for(key, version)
        dialog.refused.connect(self._refused)
        dialog.finished.connect(lambda result, d=dialog, k=key: self._on_dialog_finished(d, k, result))
        dialog.open()

    def _run(self, fn, on_done) -> None:
        self.busy = True

        def done(value) -> None:
            self.busy = False
            on_done(value)

        def failed(message: str) -> None:
            self.busy = False
            self._refused(message)
        run_op(self, fn, done, failed)

    def _resume(self) -> None:
        self.resume_requested.emit(self.case_id)
        self.accept()

    def _on_dialog_finished(self, dialog, key: str, result: int) -> None:
        dialog.deleteLater()
        if result == QDialog.Accepted:
            self._after(dialog.result_value)
            # 告知居民并办结 in person: the resident is here, so the rating is offered once the slip's preview is up.
            done = dialog.result_value
            in_person = key == Action.CLOSE and done is not None and done.inform_method == InformMethod.IN_PERSON
            rate = rating_after_preview(self.services, self, done) if in_person else None
            if key in DOCUMENT_AFTER:
                show_document(self, self.services, self.case_id, DOCUMENT_AFTER[key], on_shown=rate,
                              on_closed=self._load_prints)

    def _refused(self, message: str) -> None:
        """The action was refused (by the service, e.g. the case was updated meanwhile): say so here and show
        the case as it is now."""
        self._set_notice(message)
        self.refresh()

    def _set_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def _on_print_plan(self, plan) -> None:
        """``plan``: (document, times it already reached paper) for each document the case may print."""
        from PySide6.QtWidgets import QInputDialog

        from app.core.vocabulary import DOC_TITLES
        doc_type, printed = plan[0]
        if len(plan) > 1:
            titles = [DOC_TITLES[d] for d, _ in plan]
            title, ok = QInputDialog.getItem(self, "打印文书", "选择要打印的文书：", titles, 0, False)
            if not ok:
                return
            doc_type, printed = plan[titles.index(title)]
        if not printed:
            show_document(self, self.services, self.case_id, doc_type, on_closed=self._load_prints)
            return
        reason, ok = QInputDialog.getText(self, "补打文书",
                                          f"{DOC_TITLES[doc_type]}已打印 {printed} 次。请填写补打原因：")
        if ok and reason.strip():
            show_document(self, self.services, self.case_id, doc_type, reason, on_closed=self._load_prints)

    def _dialog_for(self, key: str, v: int) -> ActionDialog:
        """The action's small dialog; what it submits carries ``v``, the version this window shows."""
        svc, w, cid, d = self.services.cases, self.services.current_worker, self.case_id, self.detail
        assert d is not None
        if key == Action.FORWARD:
            return ForwardDialog(self.services, cid, d.department, self, version=v)
        if key == Action.REPLY:
            return ReplyDialog(self.services, cid, self, version=v)
        if key == Action.CLOSE:
            return CloseDialog(self.services, cid, self, version=v, phone_masked=d.applicant_phone_masked)
        if key == Action.REASSIGN:
            return ReassignDialog(self.services, cid, d.department, self, current_assignee_id=d.summary.assignee_id,
                                  version=v)
        if key == Action.RESOLVE:
            return ReasonDialog("当场办结", "办理结果", "办结", lambda r: svc.resolve(w, cid, r, expected_version=v),
                                self)
        if key == Action.REFUSE:
            return ReasonDialog("不予受理", "具体原因", "确认不予受理",
                                lambda r, x: svc.refuse(w, cid, r, x, expected_version=v), self, extra_label="建议前往")
        if key in (Action.FOLLOWUP_CALLBACK, Action.FOLLOWUP_FIX):  # 差评回访: the 站长's records
            stage = "callback" if key == Action.FOLLOWUP_CALLBACK else "fix"
            return FollowupDialog(self.services, cid, d.rating, stage, self, version=v)
        if key == Action.REMIND:  # 催办: a reminder to the assignee, its note prefilled and editable
            due = _fmt(d.summary.due_at) + " 前答复" if d.summary.due_at else ""
            to = d.summary.assignee_name or f"{d.department}（部门队列）"
            return RemindDialog(self.services, cid, to, due, self, version=v)
        if key == Action.WITHDRAW:
            return ReasonDialog("撤回", "撤回原因", "确认撤回", lambda r: svc.withdraw(w, cid, r, expected_version=v),
                                self)
        return ReasonDialog("重新打开", "重新打开的原因", "重新打开",
                            lambda r: svc.reopen(w, cid, r, expected_version=v), self)

    def _after(self, detail) -> None:
        """After an action: the service returns the case as the acting worker now sees it (with its options)."""
        self._set_notice("")  # a refusal shown before (the worker corrected it in the small dialog) is over
        self.case_changed.emit(self.case_id)
        if detail is not None:
            self._show(detail)
