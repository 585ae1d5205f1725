"""One generic wizard for any service item: applicant → eligibility → the item's steps → materials → review.

Keyboard first: Enter advances (the Next button is the default), Esc asks before closing, Tab reaches every control
in reading order and goes from the last answer to the primary button (下一步, or the outcome on the last page);
Ctrl+Enter is 下一步 on every page and completes on the last one (presses its highlighted outcome). No button but
the primary one is ever a default: focusing 上一步 does not make Enter go back.
Every step is saved as a draft, so a crash or a closed window loses nothing; 待办 › 草稿 resumes it.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QStackedWidget, QVBoxLayout

from app.core.vocabulary import CHINA_TZ, AcceptanceMode, Action, DocKind
from app.desk.duplicates import warning_text
from forms.identity import mask_id, mask_phone
from forms.prefill import resident_address_fields
from ui.desk.applicant_page import ApplicantPage
from ui.desk.message_line import MessageLabel
from ui.desk.step_page import StepPage
from ui.desk.wizard_pages import EligibilityPage, MaterialsPage, ReviewPage, info_text
from ui.operations import run_op
from ui.printing.flow import show_document
from ui.rating import rating_after_preview
from ui.screen_fit import resize_to_fit

KEYS_HINT = "回车：下一步　Ctrl+回车：在表格或多行文字中也可下一步　Esc：停止办理"
KEYS_HINT_LAST = "回车或 Ctrl+回车：按突出显示的按钮完成办理　Tab：在各项与按钮间移动　Esc：停止办理"
ADDRESS_NOTE = "已填入居民登记的住址，请与居民核对"


def step_pages(item) -> list[StepPage]:
    """A page per step, each with the rules judged on it: a rule is judged on the step of the last answer it reads
    (the loader's ``rule_inputs``); one reading no answer (only the applicant) stays on the 申请条件 page."""
    step_index = {f.key: n for n, s in enumerate(item.steps) for f in s.fields}
    order = item.evaluation_order
    homed: dict[int, list] = {}
    for index, (rule, inputs) in enumerate(zip(item.eligibility, order.rule_inputs, strict=True)):
        if inputs:
            homed.setdefault(max(step_index[k] for k in inputs), []).append((index, rule))
    pages = []
    for n, step in enumerate(item.steps):
        own = {f.key for f in step.fields}
        in_place = frozenset(f.key for f in step.fields if order.shown_by.get(f.key, frozenset()) & own)
        pages.append(StepPage(step, homed.get(n, []), in_place))
    return pages


class ServiceWizard(QDialog):
    case_saved = Signal(object)    # case id, after every draft save
    case_finished = Signal(object)  # case id, once an outcome is recorded

    def __init__(self, services, item_code: str, draft=None, parent=None):
        super().__init__(parent)
        self.services, self.code = services, item_code
        self.item = services.intake.item(item_code)
        self.case_id = draft.case_id if draft else None
        self.result = None
        self.busy = False
        self.next_after_search = False  # Enter pressed while the applicant list was still answering the text
        self.setWindowTitle(f"办理：{self.item.name}")
        self._fit_screen()
        self.header = QLabel()
        self.header.setObjectName("dialogTitle")
        self.crumbs = QLabel()
        self.crumbs.setObjectName("hint")
        self.keys_hint = QLabel(KEYS_HINT)
        self.keys_hint.setObjectName("hint")
        self.applicant = ApplicantPage(services)
        self.eligibility = EligibilityPage(self.item)
        self.steps = step_pages(self.item)
        self.address_keys = resident_address_fields(self.item)
        self.prefilled = ""  # the resident's address last filled into the address fields
        self.materials = MaterialsPage(self.item)
        self.review = ReviewPage(self.item)
        self.eligibility.insist.link(self.review.insist)  # one answer to 居民坚持申请, shown on both pages
        self.review.insist.toggled.connect(lambda _c: self._enable_outcomes())
        self.review.deferred.toggled.connect(lambda _c: self._enable_outcomes())
        self.materials.pledge.toggled.connect(lambda _c: self._refresh_checks(self.materials))
        self.materials.ticked.connect(self._on_material_ticked)
        self.materials.capture_requested.connect(self._on_capture_requested)
        self.outcomes: list = []
        self.pages = [self.applicant, self.eligibility, *self.steps, self.materials, self.review]
        self.stack = QStackedWidget()
        for p in self.pages:
            self.stack.addWidget(p)
        # a question whose condition just became true appears while the worker types, not only after Next
        self.live_timer = QTimer(self, singleShot=True, interval=250)
        self.live_timer.timeout.connect(self._live_refresh)
        for p in self.steps:
            p.changed.connect(self.live_timer.start)
            p.committed.connect(lambda page=p: self._on_committed(page))
        self.message = MessageLabel("", "error")
        self._build_buttons()
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.crumbs)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.message)
        layout.addLayout(self.button_row)
        layout.addWidget(self.keys_hint)
        if draft:
            self._restore(draft)
        self._go(draft.step if draft else 0)

    def _build_buttons(self) -> None:
        self.back_button = QPushButton("上一步")
        self.next_button = QPushButton("下一步")
        self.next_button.setDefault(True)
        self.next_button.setObjectName("primary")
        self.refuse_button = QPushButton("不予受理…")
        self.application_button = QPushButton("打印申请表")  # the form prefilled, for the applicant to check and sign
        self.application_button.setToolTip("按已填写的内容打印申请表，请申请人核对后签字")
        self.notice_button = QPushButton("一次性告知（待补材料）")
        self.resolve_button = QPushButton("当场办结")
        self.forward_button = QPushButton("转办")
        self.makeup_button = QPushButton("容缺受理并转办")  # 容缺受理 (rules.md §8), when IntakeService offers it
        self.makeup_button.clicked.connect(lambda _c=False: self._finish(Action.FORWARD, deferred=True))
        self.buttons = (self.back_button, self.next_button, self.refuse_button, self.application_button,
                        self.notice_button, self.resolve_button, self.forward_button, self.makeup_button)
        for b in self.buttons:
            b.setAutoDefault(False)  # only the primary button is the default; a focused 上一步 is not
        self.back_button.clicked.connect(lambda: self._go(self.stack.currentIndex() - 1))
        self.next_button.clicked.connect(self._on_next_clicked)
        self.refuse_button.clicked.connect(self._on_refuse_clicked)
        self.application_button.clicked.connect(self._on_application_clicked)
        self.outcome_buttons = {Action.AWAIT_MATERIALS: self.notice_button, Action.RESOLVE: self.resolve_button,
                                Action.FORWARD: self.forward_button}
        self.notice_button.clicked.connect(lambda _c=False: self._finish(Action.AWAIT_MATERIALS))
        self.resolve_button.clicked.connect(lambda _c=False: self._finish(Action.RESOLVE))
        self.forward_button.clicked.connect(self._on_forward_clicked)
        self.button_row = QHBoxLayout()
        self.button_row.addWidget(self.refuse_button)
        self.button_row.addWidget(self.application_button)
        self.button_row.addStretch(1)
        for b in (self.back_button, self.notice_button, self.makeup_button, self.resolve_button, self.forward_button,
                  self.next_button):
            self.button_row.addWidget(b)
        # Enter also advances from widgets that swallow it (combo boxes, check boxes).
        QShortcut(QKeySequence(Qt.Key_Enter), self, self._on_next_clicked)
        # Tables and multi-line text keep plain Enter for themselves; Ctrl+Enter advances from anywhere.
        QShortcut(QKeySequence("Ctrl+Return"), self, self._on_ctrl_return)
        QShortcut(QKeySequence("Ctrl+Enter"), self, self._on_ctrl_return)
        self.applicant.results.activated.connect(lambda _i: self._on_next_clicked())
        self.applicant.answered.connect(self._on_applicant_answered)
        self.applicant.resident_changed.connect(self._on_resident_changed)
        self.applicant.duplicates.open_requested.connect(lambda cid: self.services.case_windows.open(cid, self))
        self.applicant.search.textChanged.connect(lambda _t: setattr(self, "next_after_search", False))

    # ----- navigation -----------------------------------------------------------------------
    def _go(self, index: int) -> None:
        index = max(0, min(index, len(self.pages) - 1))
        self.stack.setCurrentIndex(index)
        page = self.pages[index]
        self.header.setText(f"{self.item.name}（{self.item.mode}，{self.item.department}）")
        crumbs = (("【" + p.title + "】") if i == index else p.title for i, p in enumerate(self.pages))
        self.crumbs.setText(" › ".join(crumbs))
        last = index == len(self.pages) - 1
        self.back_button.setEnabled(index > 0)
        self.next_button.setVisible(not last)
        self.next_button.setDefault(not last)
        # outcomes belong to the review page; 不予受理 shows only where a failed rule is on screen
        for b in (self.notice_button, self.resolve_button, self.forward_button, self.refuse_button,
                  self.application_button, self.makeup_button):
            b.setVisible(False)
            b.setDefault(False)
        self.message.clear()
        self.keys_hint.setText(KEYS_HINT_LAST if last else KEYS_HINT)
        if index > 0 and self.case_id is not None:
            self._refresh_checks(page)
        if page is self.materials:
            self._show_attached()
        if last:
            self._prepare_review()
        else:
            self._chain(self.next_button, self.back_button, self.refuse_button)
        page.focus_first()

    def _chain(self, *widgets) -> None:
        """Tab goes through ``widgets`` in this order (the first keeps its place after the page's last answer)."""
        for a, b in itertools.pairwise(widgets):
            self.setTabOrder(a, b)

    def _fit_screen(self) -> None:
        """900×680 where there is room; never more than the screen (a 1024×768 desk keeps the title bar and task
        bar in sight). The pages scroll, so the wizard is usable down to its minimum."""
        self.setMinimumSize(760, 520)
        resize_to_fit(self, 900, 680)  # Qt keeps it at least the minimum

    def current_page(self):
        return self.pages[self.stack.currentIndex()]

    def fields(self) -> dict:
        out = {}
        for p in self.steps:
            out.update(p.values())
        return out

    def _check(self):
        a = self.applicant
        return self.services.intake.check(self.code, a.resident.id if a.resident else None, a.agent(), self.fields(),
                                          self.materials.values(), pledge=self.materials.pledge.chosen())

    def _refresh_checks(self, page) -> None:
        try:
            self.result = self._check()
        except Exception:
            self.message.setText("事项规则计算出错，请联系管理员检查事项配置。")
            return
        if page is self.eligibility:
            a = self.applicant.resident
            self.eligibility.show_result(self.result, f"申请人：{a.name}，{a.sex}，{a.age} 岁" if a else "")
            self.refuse_button.setVisible(bool(self.result.eligibility_failures))
        elif isinstance(page, StepPage):
            page.show_result(self.result)
            self.refuse_button.setVisible(bool(page.blocked()))
        elif page is self.materials:
            self.materials.show_result(self.result)

    def _live_refresh(self) -> None:
        page = self.current_page()
        if not isinstance(page, StepPage) or self.busy:
            return
        try:
            self.result = self._check()
        except Exception:
            return
        page.show_result(self.result, commit=False)

    def _on_committed(self, page: StepPage) -> None:
        """An answer given on the step shown (a field left, a choice made): the messages of the fields left and
        the step's rules, at once."""
        if page is self.current_page() and not self.busy:
            self.live_timer.stop()
            self._refresh_checks(page)

    def _on_material_ticked(self) -> None:
        """缺少必交材料 follows each tick (and says when all are in)."""
        if self.current_page() is self.materials and not self.busy:
            self._refresh_checks(self.materials)

    def _on_next_clicked(self) -> None:
        if self.busy or not self.next_button.isVisible():
            return
        page = self.current_page()
        if page is self.applicant:
            self.next_after_search = self.applicant.searching  # typed an ID and Enter at once: go on once found
            problem = self.applicant.problem()
            if problem:
                self.message.setText(problem)
                return
        else:
            if isinstance(page, StepPage):
                page.attempted = True  # 下一步: every message of the step shows
            self._refresh_checks(page)
            if isinstance(page, StepPage) and page.blocked():  # cannot be accepted at all: that comes first
                self.message.setText("申请人不符合条件：可以点“不予受理…”写明原因，或改正回答，或按 Esc 停止办理。")
                return
            if isinstance(page, StepPage) and self.result is not None and not page.show_result(self.result):
                self.message.setText("请先改正标红的内容")
                return
            if page is self.eligibility and self.result and self.result.eligibility_failures:
                self.message.setText("申请人不符合条件：可以点“不予受理…”写明原因，或按 Esc 停止办理。")
                return
        self._save_then(lambda: self._go(self.stack.currentIndex() + 1))

    def _save_then(self, after, step: int | None = None) -> None:
        """Create the draft on the first step, then save it on every step (autosave). ``step``: the page the
        draft resumes on (by default the next one: the worker pressed Next)."""
        a, intake, worker = self.applicant, self.services.intake, self.services.current_worker
        step = self.stack.currentIndex() + 1 if step is None else step
        rid, agent = a.resident.id, a.agent()
        fields, mats = self.fields(), self.materials.values()
        case_id = self.case_id

        def save():
            cid = case_id or intake.start(worker, self.code, rid, agent)
            intake.save_draft(worker, cid, step, rid, agent, fields, mats)
            return cid
        self.busy = True
        run_op(self, save, lambda cid: self._on_saved(cid, after), self._on_failed)

    def _on_applicant_answered(self) -> None:
        """The Enter pressed before the list answered: on with the applicant now shown, or say why not."""
        if self.next_after_search and self.current_page() is self.applicant:
            self.next_after_search = False
            self.message.clear()
            self._on_next_clicked()

    def _on_resident_changed(self, row) -> None:
        """Earlier cases of this item for the applicant just chosen: a warning with links, never a stop."""
        self._prefill_address(row)
        notice = self.applicant.duplicates
        notice.clear()
        if row is None:
            return
        intake, code, rid = self.services.intake, self.code, row.id

        def look_up():
            cases = intake.earlier_cases(code, rid)
            return cases, warning_text(cases)

        def shown(answer) -> None:
            current = self.applicant.resident
            if current is not None and current.id == rid:  # not an answer about an applicant chosen before
                notice.show_cases(*answer)
        run_op(self, look_up, shown, self.message.setText)

    def _prefill_address(self, row) -> None:
        """The applicant's address on record into the fields asking where they live (forms/prefill.py): only an
        empty field, or one still holding the address filled for the applicant chosen before."""
        if row is None:
            return  # the text is being retyped: keep what is filled until another applicant is chosen
        address = (row.address or "").strip()
        before = self.prefilled or None
        for page in self.steps:
            for key in self.address_keys:
                if key in page.editors:
                    page.prefill(key, address, ADDRESS_NOTE, before)
        self.prefilled = address

    # ----- 拍照/扫描 a material into the draft case (issue 15) ----------------------------------------------------
    def _on_capture_requested(self, material: str) -> None:
        if self.busy or self.case_id is None:
            return  # the draft exists from the applicant step on; the materials page comes after it
        from ui.devices.capture_dialog import CaptureDialog  # Qt Multimedia loads when first used
        dlg = CaptureDialog(self.services, self.case_id, material, self)
        dlg.attached.connect(lambda _r: self._show_attached())
        dlg.finished.connect(lambda _r: dlg.deleteLater())
        dlg.open()

    def _show_attached(self) -> None:
        """The files each material already has on the draft case (a resumed draft shows its earlier ones)."""
        svc, cid = getattr(self.services, "attachments", None), self.case_id
        if svc is None or cid is None:
            return

        def counts() -> dict[str, int]:
            out: dict[str, int] = {}
            for info in svc.for_case(cid):
                out[info.material] = out.get(info.material, 0) + 1
            return out
        def shown(found: dict[str, int]) -> None:
            self.materials.show_attached(found)
            if found and self.current_page() is self.materials:
                self._refresh_checks(self.materials)  # a material just captured is no longer missing
        run_op(self, counts, shown, self.message.setText)

    def _on_saved(self, case_id, after) -> None:
        self.busy = False
        self.case_id = case_id
        self.case_saved.emit(case_id)
        after()

    def _on_failed(self, message: str) -> None:
        self.busy = False
        self.message.setText(message)

    def _restore(self, draft) -> None:
        if draft.resident_id:
            detail = self.services.residents.get(draft.resident_id)
            row = next((r for r in self.services.residents.search(detail.name) if r.id == draft.resident_id), None)
            self.applicant.set_resident(row)
        self.applicant.set_agent(draft.agent)
        for p in self.steps:
            p.set_values(draft.fields)
        self.materials.set_values(draft.materials)

    # ----- review and outcomes --------------------------------------------------------------
    def _prepare_review(self) -> None:
        r = self.result
        a = self.applicant.resident
        people = [("申请人", f"{a.name}（{a.id_masked}）")]
        agent = self.applicant.agent()
        if agent:
            people.append(("代办人", f"{agent['name']}（{agent['relation']}，{mask_id(agent['id_number'])}，"
                                     f"{mask_phone(agent['phone'])}）"))
        self.review.show_summary(people, [p.step for p in self.steps], r)
        missing = [m.name for m in r.missing_materials] if r else []
        failures = r.eligibility_failures if r else []
        self.review.missing.setText(("缺少必交材料：" + "、".join(missing)) if missing else "")
        self.review.error.setText(("不符合条件，不能受理：" + "；".join(failures)) if failures else "")
        self.review.insist.show_warnings(r.eligibility_warnings if r and not failures else [])
        self.review.infos.setText(info_text(r.eligibility_infos) if r else "")
        self._fill_targets()
        self.outcomes = self.services.intake.outcomes(self.code, r)
        for o in self.outcomes:
            button = self._button_for(o)
            button.setText(o.label)
            button.setVisible(True)
            button.setDefault(o.default)
        deferrable = [m.name for m in r.missing_materials] if r and r.only_deferrable_missing else None
        self.review.deferred.offer(deferrable if any(o.acceptance_mode for o in self.outcomes) else None)
        self._enable_outcomes()
        self.review.outcome.setVisible(any(o.action != Action.AWAIT_MATERIALS for o in self.outcomes))
        # 即办 resolved here: no 转给 and no 办理期限; 改为转办… shows them when the worker forwards after all
        instant = any(o.action == Action.RESOLVE and o.default for o in self.outcomes)
        self._show_forwarding(not instant)
        self.refuse_button.setVisible(bool(failures))
        self.application_button.setVisible(self.item.application_form is not None)

    def _show_forwarding(self, on: bool) -> None:
        resolvable = any(o.action == Action.RESOLVE for o in self.outcomes)
        self.review.set_forwarding(on, resolvable)
        if any(o.action == Action.FORWARD and not o.acceptance_mode for o in self.outcomes):
            self.forward_button.setText(Action.FORWARD.label if on else "改为转办…")
            self.forward_button.setToolTip("" if on else "显示转给和办理期限，再按“转办”转出")
        if on and resolvable:  # the worker chose to forward: 转办 is now what Enter does
            self.resolve_button.setDefault(False)
            self.forward_button.setDefault(True)
        self._chain_outcomes()

    def _chain_outcomes(self) -> None:
        """Tab from 说明 to the highlighted outcome, then the other outcomes, 上一步, 不予受理, 打印申请表."""
        shown = [b for b in (self.notice_button, self.makeup_button, self.resolve_button, self.forward_button)
                 if not b.isHidden()]
        primary = next((b for b in shown if b.isDefault()), shown[0] if shown else None)
        rest = [b for b in shown if b is not primary]
        chain = [b for b in (primary, *rest) if b is not None]
        self._chain(self.review.note, *chain, self.back_button, self.refuse_button, self.application_button)

    def _on_forward_clicked(self) -> None:
        """转办; on a 即办 item first 改为转办…: 转给 and 办理期限 appear and 转办 becomes the default."""
        if not self.review.forwarding:
            self._show_forwarding(True)
            self.review.target.setFocus()
            return
        self._finish(Action.FORWARD)

    def _on_ctrl_return(self) -> None:
        """Ctrl+Enter: 下一步, and on the last page the highlighted outcome (完成办理)."""
        if self.current_page() is not self.review:
            self._on_next_clicked()
            return
        primary = next((b for b in (self.notice_button, self.makeup_button, self.resolve_button, self.forward_button)
                        if not b.isHidden() and b.isDefault()), None)
        if primary is None:
            return
        if not primary.isEnabled():
            self.message.setText("请先勾选“居民坚持申请”（或完成上面的核实），再完成办理。")
            return
        primary.click()

    def _enable_outcomes(self) -> None:
        """An outcome that needs the resident to insist (a warning failed) waits for 居民坚持申请."""
        insisted = self.review.insist.insisted()
        for o in self.outcomes:  # 容缺受理 also waits for the dishonesty-list check
            self._button_for(o).setEnabled((insisted or not o.needs_insist)
                                           and (not o.acceptance_mode or self.review.deferred.confirmed()))

    def _button_for(self, outcome):
        return self.makeup_button if outcome.acceptance_mode else self.outcome_buttons[outcome.action]

    def _fill_targets(self) -> None:
        combo, dept = self.review.target, self.item.department
        combo.clear()
        combo.addItem(f"{dept}（部门队列）", None)
        for w in self.services.auth.workers_for_line(dept):
            combo.addItem(f"{w.display_name}（{dept}）", w.id)
        if combo.count() > 1:
            combo.setCurrentIndex(1)
        due, provisional = self.services.cases.deadline_for(self.services.clock())
        text = due.astimezone(CHINA_TZ).strftime("%Y年%m月%d日 %H:%M 前答复")
        self.review.deadline.setText(text + ("（暂定：该年度节假日安排未导入）" if provisional else ""))

    def _finish(self, outcome: Action, deferred: bool = False) -> None:
        """One service call, one transaction: if it is refused, the case is still the draft; try again."""
        if self.busy:
            return
        a, svc, worker = self.applicant, self.services, self.services.current_worker
        rid, agent, fields, mats, cid = a.resident.id, a.agent(), self.fields(), self.materials.values(), self.case_id
        note, assignee = self.review.note.toPlainText(), self.review.target.currentData()
        insisted, warning_note = self.review.insist.insisted(), self.review.insist.note_text()
        pledge, credit = self.materials.pledge.chosen(), self.review.deferred.confirmed()
        mode = AcceptanceMode.DEFERRED if deferred else AcceptanceMode.ORDINARY

        def run():
            return svc.intake.finish(worker, cid, self.code, rid, agent, fields, mats, outcome=outcome, note=note,
                                     assignee_id=assignee, insisted=insisted, warning_note=warning_note,
                                     acceptance_mode=mode, credit_checked=credit, pledge=pledge)
        self.busy = True
        run_op(self, run, self._on_finished, self._on_failed)

    def _on_finished(self, finished) -> None:
        self.busy = False
        self.case_finished.emit(self.case_id)
        if finished.document:  # 当场办结 / 转办: the resident rates once the slip's preview is up (ui/rating)
            parent = self.parentWidget() or self
            show_document(parent, self.services, self.case_id, finished.document,
                          on_shown=rating_after_preview(self.services, parent, finished.detail))
        for doc in finished.also:  # the 容缺受理告知书 / 告知承诺书 to sign, each in its own preview
            show_document(self.parentWidget() or self, self.services, self.case_id, doc)
        self.done(QDialog.Accepted)

    def _on_application_clicked(self) -> None:
        """Save the answers as they stand, then show the 申请表 printed from them (the wizard stays open)."""
        if self.busy or self.applicant.resident is None:
            return
        step = self.stack.currentIndex()
        self._save_then(lambda: show_document(self, self.services, self.case_id, DocKind.APPLICATION), step=step)

    def _on_refuse_clicked(self) -> None:
        from ui.cases.action_dialogs import ReasonDialog
        svc, worker, cid = self.services.cases, self.services.current_worker, self.case_id
        if cid is None:
            return
        dlg = ReasonDialog("不予受理", "具体原因", "确认不予受理", lambda r, x: svc.refuse(worker, cid, r, x), self,
                           extra_label="建议前往")
        if self.result and self.result.eligibility_failures:
            dlg.reason.setPlainText("；".join(self.result.eligibility_failures))

        def finished(result: int) -> None:  # open(), not exec(): the screen lock may hide it and bring it back
            dlg.deleteLater()
            if result == QDialog.Accepted:
                self.case_finished.emit(cid)
                show_document(self.parentWidget() or self, self.services, cid, DocKind.REFUSAL)
                self.done(QDialog.Accepted)
        dlg.finished.connect(finished)
        dlg.open()

    # ----- the screen lock (ui/screen_lock.py) ------------------------------------------------------------
    def on_screen_locked(self) -> None:
        """The screen locks with the wizard open: the page as typed is saved as the draft, resumed on this page
        (by this worker when they unlock, from 待办 › 草稿 when another worker took over)."""
        if self.busy or self.applicant.resident is None:
            return  # a save is on its way already / no applicant yet: nothing a draft could hold
        self._save_then(lambda: None, step=self.stack.currentIndex())

    def close_for_other_worker(self) -> None:
        """Another worker logged in at the lock screen: close without asking (the draft was saved at the lock)."""
        super().reject()

    def reject(self) -> None:
        """Esc / close: ask first. The draft is already saved, so closing loses nothing."""
        text = ("停止办理并关闭？已填写的内容已保存为草稿，可在“待办 › 草稿”中继续。" if self.case_id
                else "放弃本次办理？尚未保存任何内容。")
        answer = QMessageBox.question(self, "停止办理", text, QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        if answer == QMessageBox.Yes:
            super().reject()

