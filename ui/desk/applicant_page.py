"""Wizard step 1: who applies — pick a known resident (ID, name or phone) or register a new one; optional agent.

The applicant shown is always one that matches what is typed: changing the text drops the applicant until the
list has answered the new text; one match is chosen, several (namesakes) are listed with age and masked ID for
the worker to choose, none leaves no applicant and 登记新居民 starts from the typed ID, phone or name. An
applicant chosen before the text changed stays chosen while the list still holds them.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.vocabulary import CHINA_TZ
from app.desk.residents import ResidentInput, registration_prefill
from forms.agents import AGENT_RELATIONS, agent_problem
from ui.desk.card_reader import CardReaderPanel, card_prefill, configured_reader
from ui.desk.duplicate_notice import DuplicateNotice
from ui.operations import run_op
from ui.residents.resident_dialog import ResidentDialog


class ApplicantPage(QWidget):
    title = "申请人"
    answered = Signal()  # the list has answered the text as it is now
    resident_changed = Signal(object)  # the ResidentRow now chosen as the applicant, or None

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.resident = None  # ResidentRow
        self.searching = False  # the text changed and the list has not answered it yet
        self._kept = None  # the applicant chosen before the text changed: kept if the new list holds them
        self.search = QLineEdit(placeholderText="输入身份证号、姓名或电话查找居民")
        self.results = QListWidget()
        self.results.setMaximumHeight(150)
        self.new_button = QPushButton("登记新居民…")
        self.new_button.setAutoDefault(False)
        self.chosen = QLabel("尚未选择申请人")
        self.chosen.setObjectName("hint")
        self.agent_box = QCheckBox("由他人代办")
        self.agent_group = QGroupBox("代办人")
        self.agent_name = QLineEdit(placeholderText="代办人姓名")
        self.agent_id = QLineEdit(placeholderText="代办人身份证号码")
        self.agent_relation = QComboBox()
        for r in AGENT_RELATIONS:
            self.agent_relation.addItem(r, r)
        self.agent_phone = QLineEdit(placeholderText="代办人手机或固定电话")
        form = QFormLayout(self.agent_group)
        form.addRow("姓名", self.agent_name)
        form.addRow("身份证号", self.agent_id)
        form.addRow("与申请人关系", self.agent_relation)
        form.addRow("联系电话", self.agent_phone)
        # Earlier cases of the same item for the chosen resident (the wizard fills it: app/desk/duplicates.py).
        self.duplicates = DuplicateNotice()
        self.agent_group.setVisible(False)
        self.agent_box.toggled.connect(self.agent_group.setVisible)
        self._debounce = QTimer(self, singleShot=True, interval=150)
        self._debounce.timeout.connect(self._on_search)
        self.search.textChanged.connect(self._on_text_changed)
        self.search.installEventFilter(self)  # ↑/↓ in the search box move through the results
        self.results.currentItemChanged.connect(self._on_result_changed)
        self.new_button.clicked.connect(self._on_new_clicked)
        # 读身份证 (issue 15): hidden when this desk has no reader configured
        self.card_panel = CardReaderPanel(*configured_reader(services), today=self._today, parent=self)
        self.card_panel.card_read.connect(self._on_card_read)
        self._card_values: tuple[str, dict[str, str]] | None = None  # (ID number, form values) of an unknown card
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.new_button)
        intro = QLabel("查找申请人：输入身份证号、姓名或电话，↑↓ 选择，回车下一步；查不到的请登记新居民。")
        intro.setObjectName("hint")
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.card_panel)
        layout.addLayout(row)
        layout.addWidget(self.results)
        layout.addWidget(self.chosen)
        layout.addWidget(self.duplicates)
        layout.addWidget(self.agent_box)
        layout.addWidget(self.agent_group)
        layout.addStretch(1)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.search and event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Up, Qt.Key_Down):
            n = self.results.count()
            if n:
                step = 1 if event.key() == Qt.Key_Down else -1
                self.results.setCurrentRow(max(0, min(n - 1, self.results.currentRow() + step)))
            return True
        return super().eventFilter(obj, event)

    def _on_text_changed(self, _text: str) -> None:
        """Nobody is the applicant for a text the list has not answered yet (Enter must not go on with them)."""
        if self.resident is not None:
            self._kept = self.resident
        self.set_resident(None)
        self.searching = True
        self.chosen.setText("正在查找…")
        self._debounce.start()

    def _on_search(self) -> None:
        text = self.search.text().strip()
        if not text:
            self._on_results("", [])
            return
        run_op(self, lambda: self.services.residents.search(text, limit=20), lambda rows: self._on_results(text, rows))

    def _on_results(self, text: str, rows) -> None:
        if text != self.search.text().strip() or self._debounce.isActive():
            return  # an answer to an older text: the one for the current text is on its way
        self.searching = False
        kept, self._kept = self._kept, None
        self.results.blockSignals(True)  # filling the list chooses nobody; the choice is made below
        self.results.clear()
        for r in rows:
            age = f"{r.age}岁" if r.age is not None else "年龄不详"
            parts = (r.name, r.sex, age, r.id_masked, r.phone_masked, r.address)
            item = QListWidgetItem("  ".join(x for x in parts if x))
            item.setData(256, r)
            self.results.addItem(item)
        self.results.setCurrentRow(-1)
        self.results.blockSignals(False)
        ids = [r.id for r in rows]
        if kept is not None and kept.id in ids:
            self.results.setCurrentRow(ids.index(kept.id))
        elif len(rows) == 1:
            self.results.setCurrentRow(0)
        else:
            self.chosen.setText(self._unchosen_text(text, rows))
        self.answered.emit()

    def _unchosen_text(self, text: str, rows) -> str:
        if not text:
            return "尚未选择申请人"
        if not rows:
            return f"没有找到与“{text}”相符的居民。请核对；确是新居民的，点“登记新居民…”（已填入所输入的内容）。"
        same = len({r.name for r in rows}) == 1
        who = f"同名居民“{rows[0].name}”" if same else "相符的居民"
        return f"有 {len(rows)} 位{who}，请核对年龄和身份证号，用 ↑↓ 选择申请人。"

    def _on_result_changed(self, item, _prev) -> None:
        if item is not None:
            self.set_resident(item.data(256))

    def set_resident(self, row) -> None:
        self.resident = row
        if row is not None:
            age = f"，{row.age} 岁" if row.age is not None else ""
            self.chosen.setText(f"申请人：{row.name}（{row.sex}{age}，{row.id_masked}）")
        else:
            self.chosen.setText("尚未选择申请人")
        self.resident_changed.emit(row)

    def _on_new_clicked(self) -> None:
        """登记新居民…, started from what the search found nobody for; the new resident becomes the applicant."""
        card = self._card_values  # a card read whose resident is not registered: start from it again
        values = card[1] if card and card[0] == self.search.text().strip() else registration_prefill(self.search.text())
        self.open_registration(values)

    def open_registration(self, values: dict[str, str], on_saved=None) -> None:
        """The new-resident form starting from ``values``; the resident saved becomes the applicant."""
        worker = self.services.current_worker
        dlg = ResidentDialog(lambda data: self.services.residents.create(worker, data), None, self)
        dlg.prefill(values)

        def finished(result: int) -> None:
            if result == ResidentDialog.Accepted and dlg.saved is not None:
                self._debounce.stop()
                self._kept = None
                self._on_results(self.search.text().strip(), [dlg.saved[0]])
                self.set_resident(dlg.saved[0])
                if on_saved is not None:
                    on_saved(dlg.saved[0])
            dlg.deleteLater()
        dlg.finished.connect(finished)
        dlg.open()

    def _today(self):
        return self.services.clock().astimezone(CHINA_TZ).date()

    def _on_card_read(self, card) -> None:
        """A card read: its resident becomes the applicant, or the new-resident form opens filled from it."""
        from app.desk.devices.idcard import keep_card_photo
        ctx, residents = self.services.ctx, self.services.residents

        def look_up():
            return residents.find_by_id_number(card.id_number), card.photo is not None and keep_card_photo(ctx)
        run_op(self, look_up, lambda found: self._on_card_resident(card, *found))

    def _on_card_resident(self, card, row, keep_photo: bool) -> None:
        from app.desk.devices.idcard import without_photo
        if not keep_photo:
            card = without_photo(card)  # the committee keeps no card photos: dropped right after the read
        self._debounce.stop()
        self._kept = None
        self.search.blockSignals(True)  # the card's number is what the worker would have typed
        self.search.setText(card.id_number)
        self.search.blockSignals(False)
        self._on_results(card.id_number, [row] if row is not None else [])
        if row is not None:
            self._card_values = None
            self._file_photo(card, row)
        else:
            self._card_values = (card.id_number, card_prefill(card, self._today()))
            self.chosen.setText("身份证上的居民尚未登记：请在“登记新居民”中核对从身份证读入的信息，保存后即为申请人。")
            self.open_registration(self._card_values[1], lambda saved: self._file_photo(card, saved))

    def _file_photo(self, card, row) -> None:
        """Keep the card photo with the resident when the committee keeps them (nothing to do without a photo)."""
        if card.photo is None:
            return
        from app.desk.devices.idcard import file_card_photo
        services, worker = self.services, self.services.current_worker
        attachments = getattr(services, "attachments", None)
        if attachments is not None:
            run_op(self, lambda: file_card_photo(services.ctx, attachments, worker, row.id, card), lambda _info: None)

    def agent(self) -> dict | None:
        if not self.agent_box.isChecked():
            return None
        return {"name": self.agent_name.text().strip(), "id_number": self.agent_id.text().strip().upper(),
                "relation": self.agent_relation.currentData(), "phone": self.agent_phone.text().strip()}

    def set_agent(self, agent: dict | None) -> None:
        self.agent_box.setChecked(bool(agent))
        if agent:
            self.agent_name.setText(agent.get("name", ""))
            self.agent_id.setText(agent.get("id_number", ""))
            self.agent_relation.setCurrentIndex(max(0, self.agent_relation.findData(agent.get("relation"))))
            self.agent_phone.setText(agent.get("phone") or "")

    def problem(self) -> str | None:
        if self.searching:
            return "正在查找申请人…"
        if self.resident is None:
            text, n = self.search.text().strip(), self.results.count()
            if text and n == 0:
                return "没有找到该居民：请核对所输入的内容，或点“登记新居民…”登记"
            if n > 1:
                return f"有 {n} 位居民相符：请核对年龄和身份证号，用 ↑↓ 选择申请人"
            return "请先查找并选择申请人，或登记新居民"
        # The agent as the rules will read it (forms/agents.py): name, ID number, relation and phone.
        return agent_problem(self.agent(), self.services.clock().astimezone(CHINA_TZ).date())

    def focus_first(self) -> None:
        self.search.setFocus()


__all__ = ["ApplicantPage", "ResidentInput"]
