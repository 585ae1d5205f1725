"""The editor widgets of the form language; each reads and writes plain values.

A field kind (:mod:`forms.kinds`) names its editor; :data:`EDITORS` maps those names to the widgets here. Several
kinds share an editor (every typed single-line value is a :class:`LineEditor`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

CHOOSE = "请选择"


class FieldEditor(QWidget):
    """Base: ``value()`` returns what validation expects; ``changed`` fires on every edit; ``committed`` when an
    answer is given without leaving the field (a choice made, a table cell entered). ``discrete``: every change
    is a whole answer (a choice), not a keystroke on the way to one."""

    changed = Signal()
    committed = Signal()
    discrete = False

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
        self.edit = QLineEdit(placeholderText=field.kind.placeholder)
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
    discrete = True

    def __init__(self, field, parent=None, options=None):
        super().__init__(field, parent)
        self.combo = QComboBox()
        self.combo.addItem(CHOOSE, None)
        for opt in options if options is not None else field.options:
            label, data = opt if isinstance(opt, tuple) else (opt, opt)
            self.combo.addItem(label, data)
        self.combo.currentIndexChanged.connect(lambda _i: (self.changed.emit(), self.committed.emit()))
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
    discrete = True

    def __init__(self, field, parent=None):
        super().__init__(field, parent)
        box = QVBoxLayout()
        box.setSpacing(2)
        self.boxes = []
        for opt in field.options:
            cb = QCheckBox(opt)
            cb.toggled.connect(lambda _c: (self.changed.emit(), self.committed.emit()))
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
        for opt in field.kind.relations(field):
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


class CellChoiceDelegate(QStyledItemDelegate):
    """Choice and yes/no cells of a repeat group edit with a combo box over the sub-field's options.

    By keyboard: ↑/↓ pick an option, typing (also through the input method) jumps to the option that starts with it,
    Tab commits and goes on to the next cell, Enter commits and stays.
    """

    def __init__(self, options: dict[int, list[str]], parent=None):
        super().__init__(parent)
        self.options = options

    def createEditor(self, parent, option, index):
        opts = self.options.get(index.column())
        if opts is None:
            return super().createEditor(parent, option, index)
        combo = QComboBox(parent)
        combo.addItem(CHOOSE, "")
        for o in opts:
            combo.addItem(o, o)
        combo.setAttribute(Qt.WA_InputMethodEnabled, True)  # pinyin typed into the cell picks an option
        return combo

    def setEditorData(self, editor, index):
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(0, editor.findData(index.data() or "")))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor, model, index):
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData() or "")
        else:
            super().setModelData(editor, model, index)


class GroupTable(QTableWidget):
    """A table filled like a paper form by keyboard: Tab walks the cells and opens each one for typing.

    Tab after the last cell (Shift+Tab before the first) leaves the table, so the table never traps the focus.
    """

    def __init__(self, rows: int, columns: int, parent=None):
        super().__init__(rows, columns, parent)
        self.setTabKeyNavigation(True)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.CurrentChanged | QAbstractItemView.DoubleClicked
                             | QAbstractItemView.EditKeyPressed | QAbstractItemView.AnyKeyPressed)

    def _at_edge(self, forward: bool) -> bool:
        row, col = self.currentRow(), self.currentColumn()
        if self.rowCount() == 0 or row < 0:
            return True
        if forward:
            return row == self.rowCount() - 1 and col == self.columnCount() - 1
        return row == 0 and col == 0

    def edit_cell(self, row: int, col: int) -> None:
        """Make (row, col) current and open its editor."""
        self.setFocus(Qt.OtherFocusReason)
        if (self.currentRow(), self.currentColumn()) != (row, col):
            self.setCurrentCell(row, col)  # the CurrentChanged trigger opens the editor
        elif self.state() != QAbstractItemView.EditingState:
            self.edit(self.currentIndex())

    def focusNextPrevChild(self, forward: bool) -> bool:
        if self._at_edge(forward):
            return QWidget.focusNextPrevChild(self, forward)
        return super().focusNextPrevChild(forward)

    def closeEditor(self, editor, hint) -> None:
        moving = {QAbstractItemDelegate.EditNextItem: True, QAbstractItemDelegate.EditPreviousItem: False}
        if hint in moving and self._at_edge(moving[hint]):
            super().closeEditor(editor, QAbstractItemDelegate.NoHint)
            QWidget.focusNextPrevChild(self, moving[hint])
            return
        super().closeEditor(editor, hint)

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        if self.rowCount() and event.reason() in (Qt.TabFocusReason, Qt.BacktabFocusReason):
            first = event.reason() == Qt.TabFocusReason
            self.edit_cell(0 if first else self.rowCount() - 1, 0 if first else self.columnCount() - 1)


class GroupEditor(FieldEditor):
    """Repeat group (e.g. household members with incomes): one row per entry, one column per sub-field.

    Keyboard: Ctrl+N (or Space on 添加一行) adds a row and opens its first cell; Tab walks the cells; choice and
    yes/no cells are combo boxes (↑/↓); Tab after the last cell goes on to the buttons and the next question.
    """

    ADD_KEYS = "Ctrl+N"

    def __init__(self, field, parent=None):
        super().__init__(field, parent)
        self.subfields = [f for f in field.fields if not f.is_computed]
        self.table = GroupTable(0, len(self.subfields))
        self.table.setHorizontalHeaderLabels([
            f.label + (f"（{f.unit}）" if f.unit else "") + ("＊" if f.required is True else "") for f in self.subfields
        ])
        for col, f in enumerate(self.subfields):
            if f.help:  # e.g. what counts as income, and what does not (民发〔2021〕57号)
                self.table.horizontalHeaderItem(col).setToolTip(f.help)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(60)
        for col, f in enumerate(self.subfields):
            # an 18-digit ID and free text need room; a choice or a sum of money is short
            header.setSectionResizeMode(col, QHeaderView.Stretch if f.kind.wide else QHeaderView.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setMinimumHeight(150)
        options = {c: opts for c, f in enumerate(self.subfields) if (opts := f.kind.cell_options(f)) is not None}
        self.table.setItemDelegate(CellChoiceDelegate(options, self.table))
        self.table.itemChanged.connect(lambda _i: (self.changed.emit(), self.committed.emit()))
        add, remove = QPushButton(f"添加一行（{self.ADD_KEYS}）"), QPushButton("删除所选行")
        for b in (add, remove):
            b.setAutoDefault(False)  # Enter keeps advancing the wizard, it does not add rows
        add.clicked.connect(self._on_add_clicked)
        remove.clicked.connect(self._on_remove_clicked)
        shortcut = QShortcut(QKeySequence(self.ADD_KEYS), self, self._on_add_clicked)
        shortcut.setContext(Qt.WidgetWithChildrenShortcut)
        hint = QLabel("Tab：下一格（最后一格之后离开表格）　选项格：↑↓ 选择　回车：确认本格")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addWidget(hint, 1)
        column = QVBoxLayout()  # the table gets the page's full width; its buttons sit under it
        column.setSpacing(4)
        column.addWidget(self.table, 1)
        column.addLayout(buttons)
        self.layout_.addLayout(column)
        self.add_button, self.remove_button = add, remove
        self.setFocusProxy(self.table)

    def add_row(self, values: dict | None = None) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, f in enumerate(self.subfields):
            self.table.setItem(row, col, QTableWidgetItem(f.kind.cell_text(f, (values or {}).get(f.key))))
        self.changed.emit()
        return row

    def _on_add_clicked(self) -> None:
        row = self.add_row()
        self.table.edit_cell(row, 0)

    def _on_remove_clicked(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            self.changed.emit()
            self.committed.emit()

    def value(self):
        rows = []
        for r in range(self.table.rowCount()):
            row = {}
            for c, f in enumerate(self.subfields):
                item = self.table.item(r, c)
                row[f.key] = f.kind.cell_value(f, item.text().strip() if item else "")
            rows.append(row)
        return rows

    def set_value(self, value) -> None:
        self.table.setRowCount(0)
        for row in value or []:
            self.add_row(row)

    def focus_widget(self):
        return self.table


EDITORS: dict[str, type[FieldEditor]] = {
    "line": LineEditor, "longtext": LongTextEditor, "choice": ChoiceEditor, "yesno": YesNoEditor,
    "multichoice": MultiChoiceEditor, "person": PersonEditor, "group": GroupEditor,
}
"""Editor widgets by the name a field kind gives (``FieldKind.editor``)."""


def editor_for(field, parent=None) -> FieldEditor:
    """The editor the field's kind asks for."""
    return EDITORS[field.kind.editor](field, parent)


def computed_label() -> QLabel:
    label = QLabel("—")
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label
