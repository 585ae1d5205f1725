"""Create or edit a resident. Stored ID and phone are shown masked; typing a new value replaces them."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
)

from app.core.residence import HUKOU_NATURES
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
        # 户籍地址 in four parts, 户口性质 and 居住证 (rules.md §6); 本地户籍 and 人户分离 follow from them
        self._local_hukou = detail.local_hukou if detail else True
        hukou = detail.hukou if detail else None
        self.hukou_province = QLineEdit(hukou.province if hukou else "", placeholderText="省")
        self.hukou_city = QLineEdit(hukou.city if hukou else "", placeholderText="市")
        self.hukou_county = QLineEdit(hukou.county if hukou else "", placeholderText="区县")
        self.hukou_street = QLineEdit(hukou.street if hukou else "", placeholderText="街道（乡镇）")
        hukou_row = QHBoxLayout()
        for w in (self.hukou_province, self.hukou_city, self.hukou_county, self.hukou_street):
            hukou_row.addWidget(w)
        self.hukou_nature = QComboBox()
        self.hukou_nature.addItem("（不填）", "")
        for nature in HUKOU_NATURES:
            self.hukou_nature.addItem(nature, nature)
        self.hukou_nature.setCurrentIndex(max(0, self.hukou_nature.findData(detail.hukou_nature if detail else "")))
        self.permit_no = QLineEdit(detail.residence_permit_no if detail else "", placeholderText="无居住证请留空")
        expiry = detail.residence_permit_expiry if detail else None
        self.permit_expiry = QLineEdit(expiry.isoformat() if expiry else "", placeholderText="如 2027-06-30")
        self.notes = QPlainTextEdit(detail.notes if detail else "")
        self.notes.setFixedHeight(60)
        self.notes.setTabChangesFocus(True)
        form = QFormLayout()
        for label, w in (("姓名", self.name), ("身份证号", self.id_number), ("联系电话", self.phone),
                         ("现住址", self.address), ("户号", self.household), ("户籍地址", hukou_row),
                         ("户口性质", self.hukou_nature), ("居住证号", self.permit_no),
                         ("居住证有效期", self.permit_expiry), ("备注", self.notes)):
            form.addRow(label, w)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.prefill_note = QLabel()  # what a read ID card filled in (prefill's "note")
        self.prefill_note.setObjectName("hint")
        self.prefill_note.setWordWrap(True)
        self.prefill_note.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Save).setText("保存")
        self.buttons.button(QDialogButtonBox.Cancel).setText("取消")
        self.buttons.accepted.connect(self._on_save_clicked)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prefill_note)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def prefill(self, values: dict[str, str]) -> None:
        """Start a new resident from what the search found nobody for (``registration_prefill``) or from a read
        ID card (name, ID, the 户籍地址 parts and a ``note`` shown above the form); the focus goes to the first
        of name, ID and phone still empty."""
        fields = {"name": self.name, "id_number": self.id_number, "phone": self.phone}
        hukou = {"hukou_province": self.hukou_province, "hukou_city": self.hukou_city,
                 "hukou_county": self.hukou_county, "hukou_street": self.hukou_street, "address": self.address}
        for key, text in values.items():
            if key in fields or key in hukou:
                {**fields, **hukou}[key].setText(text)
        if values.get("note"):
            self.prefill_note.setText(values["note"])
            self.prefill_note.show()
        empty = next((w for w in fields.values() if not w.text()), self.address)
        empty.setFocus()

    def value(self) -> ResidentInput:
        return ResidentInput(name=self.name.text(), id_number=self.id_number.text(), phone=self.phone.text(),
                             address=self.address.text(), household_no=self.household.text(),
                             local_hukou=self._local_hukou, notes=self.notes.toPlainText(),
                             hukou_province=self.hukou_province.text(), hukou_city=self.hukou_city.text(),
                             hukou_county=self.hukou_county.text(), hukou_street=self.hukou_street.text(),
                             hukou_nature=self.hukou_nature.currentData() or "",
                             residence_permit_no=self.permit_no.text(),
                             residence_permit_expiry=self.permit_expiry.text())

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
