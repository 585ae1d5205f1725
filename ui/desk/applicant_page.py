"""Wizard step 1: who applies — pick a known resident (ID, name or phone) or register a new one; optional agent."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer
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

from app.desk.residents import ResidentInput
from ui.operations import run_op
from ui.residents.resident_dialog import ResidentDialog

AGENT_RELATIONS = ["配偶", "子女", "父母", "兄弟姐妹", "其他亲属", "邻居或朋友", "其他"]


class ApplicantPage(QWidget):
    title = "申请人"

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.resident = None  # ResidentRow
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
        form = QFormLayout(self.agent_group)
        form.addRow("姓名", self.agent_name)
        form.addRow("身份证号", self.agent_id)
        form.addRow("与申请人关系", self.agent_relation)
        self.agent_group.setVisible(False)
        self.agent_box.toggled.connect(self.agent_group.setVisible)
        self._debounce = QTimer(self, singleShot=True, interval=150)
        self._debounce.timeout.connect(self._on_search)
        self.search.textChanged.connect(self._debounce.start)
        self.search.installEventFilter(self)  # ↑/↓ in the search box move through the results
        self.results.currentItemChanged.connect(self._on_result_changed)
        self.new_button.clicked.connect(self._on_new_clicked)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.new_button)
        intro = QLabel("查找申请人：输入身份证号、姓名或电话，↑↓ 选择，回车下一步；查不到的请登记新居民。")
        intro.setObjectName("hint")
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.results)
        layout.addWidget(self.chosen)
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

    def _on_search(self) -> None:
        text = self.search.text().strip()
        if len(text) < 1:
            self.results.clear()
            return
        run_op(self, lambda: self.services.residents.search(text, limit=20), self._on_results)

    def _on_results(self, rows) -> None:
        self.results.clear()
        for r in rows:
            item = QListWidgetItem(f"{r.name}  {r.sex}  {r.age if r.age is not None else ''}岁  {r.id_masked}  {r.phone_masked}")
            item.setData(256, r)
            self.results.addItem(item)
        if rows:
            self.results.setCurrentRow(0)

    def _on_result_changed(self, item, _prev) -> None:
        if item is not None:
            self.set_resident(item.data(256))

    def set_resident(self, row) -> None:
        self.resident = row
        self.chosen.setText(f"申请人：{row.name}（{row.id_masked}）" if row else "尚未选择申请人")

    def _on_new_clicked(self) -> None:
        worker = self.services.current_worker
        dlg = ResidentDialog(lambda data: self.services.residents.create(worker, data), None, self)
        text = self.search.text().strip()
        if text and not any(ch.isdigit() for ch in text):
            dlg.name.setText(text)
        if dlg.exec() == ResidentDialog.Accepted:
            self.set_resident(dlg.saved[0])

    def agent(self) -> dict | None:
        if not self.agent_box.isChecked():
            return None
        return {"name": self.agent_name.text().strip(), "id_number": self.agent_id.text().strip().upper(),
                "relation": self.agent_relation.currentData()}

    def set_agent(self, agent: dict | None) -> None:
        self.agent_box.setChecked(bool(agent))
        if agent:
            self.agent_name.setText(agent.get("name", ""))
            self.agent_id.setText(agent.get("id_number", ""))
            self.agent_relation.setCurrentIndex(max(0, self.agent_relation.findData(agent.get("relation"))))

    def problem(self) -> str | None:
        if self.resident is None:
            return "请先查找并选择申请人，或登记新居民"
        agent = self.agent()
        if agent is not None and not agent["name"]:
            return "请填写代办人姓名"
        return None

    def focus_first(self) -> None:
        self.search.setFocus()


__all__ = ["ApplicantPage", "ResidentInput"]
