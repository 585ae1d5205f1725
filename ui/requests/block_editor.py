"""块区 and their 块长 (issue 20), on the 设置 page: each block's code, name, leader (one of the committee's workers)
and address prefixes, one per line. A request at an address goes to the 块长 of the block whose prefix matches
longest (app/core/blocks.py). 保存 hands the whole list to ``BlockService.set``, which checks it (Chinese
messages in the reserved line) and sends it to the district; only a 站长 or an administrator may save.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.desk.message_line import MessageLine
from ui.operations import run_op
from ui.screen_fit import resize_to_fit

NO_LEADER = "（未指定）"
READ_ONLY_NOTE = "块区由站长或管理员设置，这里只能查看。"


class BlockEditorDialog(QDialog):
    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.setWindowTitle("块区与块长")
        resize_to_fit(self, 760, 520)
        self.blocks: list[dict] = []  # what the editor holds: code, name, leader_id, addresses (text lines)
        self._current = -1
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SingleSelection)
        self.list.setMinimumWidth(220)
        self.add_button = QPushButton("新增块区")
        self.remove_button = QPushButton("删除块区")
        self.code = QLineEdit(placeholderText="例如：A1")
        self.code.setMaximumWidth(120)
        self.name = QLineEdit(placeholderText="例如：一块区")
        self.leader = QComboBox()
        self.leader.addItem(NO_LEADER, None)
        self.addresses = QPlainTextEdit(placeholderText="每行一个地址开头，例如：\n幸福里一区\n和平路5号")
        self.addresses.setTabChangesFocus(True)
        hint = QLabel("地址以这些文字开头的居民和诉求属于本块区（取最长的匹配），诉求默认转给块长。")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.form_box = QWidget()
        form = QFormLayout(self.form_box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("代码", self.code)
        form.addRow("名称", self.name)
        form.addRow("块长", self.leader)
        form.addRow("地址", self.addresses)
        form.addRow("", hint)
        self.message = MessageLine(self, lines=2)
        self.save_button = QPushButton("保存")
        self.save_button.setDefault(True)
        self.close_button = QPushButton("关闭")
        self.close_button.setAutoDefault(False)
        self.add_button.setAutoDefault(False)
        self.remove_button.setAutoDefault(False)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        left.addLayout(row)
        body = QHBoxLayout()
        body.addLayout(left, 2)
        body.addWidget(self.form_box, 3)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.list.currentRowChanged.connect(self._on_row_changed)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.close_button.clicked.connect(self.reject)
        for edit in (self.code, self.name):
            edit.textEdited.connect(lambda _t: self._keep_current())
        self.leader.currentIndexChanged.connect(lambda _i: self._keep_current())
        self.addresses.textChanged.connect(self._keep_current)
        worker = services.current_worker
        self.may_edit = worker is not None and worker.manages_desk
        for w in (self.add_button, self.remove_button, self.save_button):
            w.setVisible(self.may_edit)
        for w in (self.code, self.name, self.addresses):
            w.setReadOnly(not self.may_edit)
        self.leader.setEnabled(self.may_edit)
        if not self.may_edit:
            self.message.show_note(READ_ONLY_NOTE)
        self._show_form(False)
        self.refresh()

    def refresh(self) -> None:
        svc = self.services.blocks

        def read():
            return svc.get(), svc.workers()
        run_op(self, read, self._on_loaded, self.message.show_error)

    def _on_loaded(self, result) -> None:
        blocks, workers = result
        self.leader.blockSignals(True)
        while self.leader.count() > 1:
            self.leader.removeItem(1)
        for wid, name in workers:
            self.leader.addItem(name, str(wid))
        self.leader.blockSignals(False)
        self.blocks = [{"code": b.code, "name": b.name, "leader_id": str(b.leader_id) if b.leader_id else None,
                        "addresses": "\n".join(b.addresses)} for b in blocks]
        self._fill_list(0 if self.blocks else -1)

    def _fill_list(self, select: int) -> None:
        self._current = -1
        self.list.blockSignals(True)
        self.list.clear()
        for b in self.blocks:
            self.list.addItem(QListWidgetItem(self._title(b)))
        self.list.blockSignals(False)
        self.list.setCurrentRow(select)
        self._on_row_changed(select)

    def _title(self, b: dict) -> str:
        idx = self.leader.findData(b["leader_id"]) if b["leader_id"] else 0
        leader = self.leader.itemText(idx) if idx > 0 else NO_LEADER
        return f"{b['code'] or '（新块区）'} {b['name']}  块长：{leader}"

    def _show_form(self, shown: bool) -> None:
        self.form_box.setEnabled(shown)
        self.remove_button.setEnabled(shown)

    def _on_row_changed(self, row: int) -> None:
        self._current = -1  # filling the form is no edit
        self._show_form(0 <= row < len(self.blocks))
        b = self.blocks[row] if 0 <= row < len(self.blocks) else {"code": "", "name": "", "leader_id": None,
                                                                    "addresses": ""}
        self.code.setText(b["code"])
        self.name.setText(b["name"])
        idx = self.leader.findData(b["leader_id"]) if b["leader_id"] else 0
        self.leader.setCurrentIndex(max(0, idx))
        self.addresses.setPlainText(b["addresses"])
        self._current = row if 0 <= row < len(self.blocks) else -1

    def _keep_current(self) -> None:
        """What the worker edits is kept in the list as they type (switching blocks loses nothing)."""
        if not 0 <= self._current < len(self.blocks):
            return
        b = self.blocks[self._current]
        b.update(code=self.code.text().strip(), name=self.name.text().strip(), leader_id=self.leader.currentData(),
                 addresses=self.addresses.toPlainText())
        item = self.list.item(self._current)
        if item is not None:
            item.setText(self._title(b))

    def _on_add_clicked(self) -> None:
        self.blocks.append({"code": "", "name": "", "leader_id": None, "addresses": ""})
        self._fill_list(len(self.blocks) - 1)
        self.code.setFocus()

    def _on_remove_clicked(self) -> None:
        if 0 <= self._current < len(self.blocks):
            del self.blocks[self._current]
            self._fill_list(min(self._current, len(self.blocks) - 1))

    def value(self) -> list[dict]:
        """The blocks as written (the service checks them: app/core/blocks.parse_blocks)."""
        return [{"code": b["code"], "name": b["name"], "leader_id": b["leader_id"],
                 "addresses": [line.strip() for line in b["addresses"].splitlines() if line.strip()]}
                for b in self.blocks]

    def _on_save_clicked(self) -> None:
        actor, svc, blocks = self.services.current_worker, self.services.blocks, self.value()
        self.save_button.setEnabled(False)
        run_op(self, lambda: svc.set(actor, blocks), self._on_saved, self._on_refused)

    def _on_saved(self, _result) -> None:
        self.save_button.setEnabled(True)
        self.message.show_note(f"已保存 {len(self.blocks)} 个块区，将同步到区服务器和本会其他电脑。")

    def _on_refused(self, message: str) -> None:
        self.save_button.setEnabled(True)
        self.message.show_error(message)
