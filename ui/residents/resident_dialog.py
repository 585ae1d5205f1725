"""Create or edit a resident. Stored ID and phone are shown masked; typing a new value replaces them."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
)

from app.desk.residents import ResidentDetail, ResidentInput
from ui.operations import run_op


class ResidentDialog(QDialog):
    def __init__(self, save_fn, detail: ResidentDetail | None = None, parent=None):
        """``save_fn(ResidentInput) -> (row, warning)``; raises ResidentError (Chinese) on bad input."""
        super().__init__(parent)
        self._save_fn = save_fn
        self.saved = None
        self.setWindowTitle("编辑居民信息" if detail else "登记新居民")
        self.setMinimumWidth(460)
        self.name = QLineEdit(detail.name if detail else "")
        keep = "（不修改请留空）"
        self.id_number = QLineEdit(placeholderText=(f"{detail.id_masked}{keep}" if detail else "18 位身份证号码"))
        self.phone = QLineEdit(placeholderText=(f"{detail.phone_masked}{keep}" if detail else "手机或固定电话"))
        self.address = QLineEdit(detail.address if detail else "")
        self.household = QLineEdit(detail.household_no if detail else "")
        self.local_hukou = QCheckBox("本地户籍")
        self.local_hukou.setChecked(detail.local_hukou if detail else True)
        self.notes = QPlainTextEdit(detail.notes if detail else "")
        self.notes.setFixedHeight(60)
        self.notes.setTabChangesFocus(True)
        form = QFormLayout()
        for label, w in (("姓名", self.name), ("身份证号", self.id_number), ("联系电话", self.phone),
                         ("住址", self.address), ("户号", self.household), ("户籍", self.local_hukou),
                         ("备注", self.notes)):
            form.addRow(label, w)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Save).setText("保存")
        self.buttons.button(QDialogButtonBox.Cancel).setText("取消")
        self.buttons.accepted.connect(self._on_save_clicked)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def prefill(self, values: dict[str, str]) -> None:
        """Start a new resident from what the search found nobody for (``registration_prefill``); the focus
        goes to the first field still empty."""
        fields = {"name": self.name, "id_number": self.id_number, "phone": self.phone}
        for key, text in values.items():
            if key in fields:
                fields[key].setText(text)
        empty = next((w for w in fields.values() if not w.text()), self.address)
        empty.setFocus()

    def value(self) -> ResidentInput:
        return ResidentInput(name=self.name.text(), id_number=self.id_number.text(), phone=self.phone.text(),
                             address=self.address.text(), household_no=self.household.text(),
                             local_hukou=self.local_hukou.isChecked(), notes=self.notes.toPlainText())

    def _on_save_clicked(self) -> None:
        data = self.value()
        self.buttons.setEnabled(False)
        run_op(self, lambda: self._save_fn(data), self._on_saved, self._on_failed)

    def _on_saved(self, result) -> None:
        self.saved = result
        self.accept()

    def _on_failed(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(message)
