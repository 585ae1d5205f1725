"""One editor widget per field type of the form language; each reads and writes plain values."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPlainTextEdit,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

PLACEHOLDERS = {"date": "例如 2026-11-22", "id_number": "18 位身份证号码", "phone": "手机或固定电话",
                "money": "金额（元）", "number": "数字", "address": "详细地址"}


class FieldEditor(QWidget):
    """Base: ``value()`` returns what validation expects; ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self, field, parent=None):
        super().__init__(parent)
        self.field = field
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)

    def value(self):
        raise NotImplementedError

    def set_value(self, value) -> None:
        raise NotImplementedError

    def focus_widget(self) -> QWidget:
        return self


class LineEditor(FieldEditor):
    def __init__(self, field, parent=None):
        super().__init__(field, parent)
        self.edit = QLineEdit(placeholderText=PLACEHOLDERS.get(field.type, ""))
        self.edit.textChanged.connect(lambda *_: self.changed.emit())
        self.layout_.addWidget(self.edit)
        if field.unit:
            self.layout_.addWidget(QLabel(field.unit))

    def value(self):
        text = self.edit.text().strip()
        return text or None

    def set_value(self, value) -> None:
        self.edit.setText("" if value is None else str(value))

    def focus_widget(self):
        return self.edit


class LongTextEditor(FieldEditor):
    def __init__(self, field, parent=None):
        super().__init__(field, parent)
        self.edit = QPlainTextEdit()
        self.edit.setTabChangesFocus(True)
        self.edit.setFixedHeight(70)
        self.edit.textChanged.connect(lambda *_: self.changed.emit())
        self.layout_.addWidget(self.edit)

    def value(self):
        return self.edit.toPlainText().strip() or None

    def set_value(self, value) -> None:
        self.edit.setPlainText(value or "")

    def focus_widget(self):
        return self.edit


class ChoiceEditor(FieldEditor):
    def __init__(self, field, parent=None, options=None):
        super().__init__(field, parent)
        self.combo = QComboBox()
        self.combo.addItem("请选择", None)
        for opt in options if options is not None else field.options:
            label, data = opt if isinstance(opt, tuple) else (opt, opt)
            self.combo.addItem(label, data)
        self.combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.layout_.addWidget(self.combo)
        self.layout_.addStretch(1)

    def value(self):
        return self.combo.currentData()

    def set_value(self, value) -> None:
        idx = self.combo.findData(value)
        self.combo.setCurrentIndex(max(0, idx))

    def focus_widget(self):
        return self.combo


class YesNoEditor(ChoiceEditor):
    def __init__(self, field, parent=None):
        super().__init__(field, parent, options=[("是", True), ("否", False)])


class MultiChoiceEditor(FieldEditor):
    def __init__(self, field, parent=None):
        super().__init__(field, parent)
        box = QVBoxLayout()
        box.setSpacing(2)
        self.boxes = []
        for opt in field.options:
            cb = QCheckBox(opt)
            cb.toggled.connect(lambda _c: self.changed.emit())
            self.boxes.append(cb)
            box.addWidget(cb)
        self.layout_.addLayout(box)
        self.layout_.addStretch(1)

    def value(self):
        return [cb.text() for cb in self.boxes if cb.isChecked()]

    def set_value(self, value) -> None:
        for cb in self.boxes:
            cb.setChecked(cb.text() in (value or []))

    def focus_widget(self):
        return self.boxes[0] if self.boxes else self


class PersonEditor(FieldEditor):
    """Name + ID number + relation (an agent 代办人 or a family member)."""

    def __init__(self, field, parent=None):
        super().__init__(field, parent)
        self.name = QLineEdit(placeholderText="姓名")
        self.id_number = QLineEdit(placeholderText="身份证号码")
        self.relation = QComboBox()
        self.relation.addItem("关系", None)
        for opt in field.options or ["本人", "配偶", "子女", "父母", "其他亲属", "其他"]:
            self.relation.addItem(opt, opt)
        for w in (self.name, self.id_number):
            w.textChanged.connect(lambda *_: self.changed.emit())
            self.layout_.addWidget(w)
        self.relation.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.layout_.addWidget(self.relation)

    def value(self):
        name, idn, rel = self.name.text().strip(), self.id_number.text().strip(), self.relation.currentData()
        if not (name or idn or rel):
            return None
        return {"name": name, "id_number": idn, "relation": rel}

    def set_value(self, value) -> None:
        value = value or {}
        self.name.setText(value.get("name", ""))
        self.id_number.setText(value.get("id_number", "") or "")
        self.relation.setCurrentIndex(max(0, self.relation.findData(value.get("relation"))))

    def focus_widget(self):
        return self.name


class GroupEditor(FieldEditor):
    """Repeat group (e.g. household members with incomes): one row per entry, one column per sub-field."""

    def __init__(self, field, parent=None):
        super().__init__(field, parent)
        self.subfields = [f for f in field.fields if not f.is_computed]
        self.table = QTableWidget(0, len(self.subfields))
        self.table.setHorizontalHeaderLabels([f.label + (f"（{f.unit}）" if f.unit else "") for f in self.subfields])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(28)
        self.table.setMinimumHeight(130)
        self.table.itemChanged.connect(lambda _i: self.changed.emit())
        self.table.setTabKeyNavigation(True)
        add, remove = QPushButton("添加一行"), QPushButton("删除所选行")
        for b in (add, remove):
            b.setAutoDefault(False)  # Enter keeps advancing the wizard, it does not add rows
        add.clicked.connect(lambda: self.add_row())
        remove.clicked.connect(self._on_remove_clicked)
        buttons = QVBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        self.layout_.addWidget(self.table, 1)
        self.layout_.addLayout(buttons)
        self.add_button, self.remove_button = add, remove

    def add_row(self, values: dict | None = None) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, f in enumerate(self.subfields):
            v = (values or {}).get(f.key)
            if isinstance(v, bool):
                v = "是" if v else "否"
            self.table.setItem(row, col, QTableWidgetItem("" if v is None else str(v)))
        self.changed.emit()
        return row

    def _on_remove_clicked(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            self.changed.emit()

    def value(self):
        rows = []
        for r in range(self.table.rowCount()):
            row = {}
            for c, f in enumerate(self.subfields):
                item = self.table.item(r, c)
                text = item.text().strip() if item else ""
                row[f.key] = ({"是": True, "否": False}.get(text, text) if f.type == "yesno" else text) or None
            rows.append(row)
        return rows

    def set_value(self, value) -> None:
        self.table.setRowCount(0)
        for row in value or []:
            self.add_row(row)

    def focus_widget(self):
        return self.table


EDITORS = {"text": LineEditor, "id_number": LineEditor, "phone": LineEditor, "date": LineEditor,
           "number": LineEditor, "money": LineEditor, "address": LineEditor, "longtext": LongTextEditor,
           "choice": ChoiceEditor, "yesno": YesNoEditor, "multichoice": MultiChoiceEditor,
           "person": PersonEditor, "group": GroupEditor}


def editor_for(field, parent=None) -> FieldEditor:
    return EDITORS[field.type](field, parent)


def computed_label() -> QLabel:
    label = QLabel("—")
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label
