"""One step of an item in the wizard: an editor per field, a message line under each, the step's rule results.

Nothing moves while the worker fills the step (issue 19): every field has a one-line message line of its own,
empty until there is something to say; a question that depends on an answer on this same step stays in place,
greyed out, until it applies (a question that depends on an earlier step is simply left out). A field's message
appears once the worker has left it (or on 下一步), never when the step opens; a message goes as soon as the
answer is corrected. A rule reading this step's answers is judged as soon as they are given, here.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QApplication, QFormLayout, QLabel, QVBoxLayout, QWidget

from forms.values import format_value
from ui.desk.field_widgets import FieldEditor, computed_label, editor_for
from ui.desk.message_line import MessageLabel, MessageLine

NOT_APPLICABLE = "根据本页前面的回答，此项暂不需填写"
INSIST_LATER = "（由承办部门审核决定；居民坚持申请的，可在最后一步勾选“居民坚持申请”后转办）"


def _label(text: str, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


def fill_with_scroll(page: QWidget, inner: QWidget) -> QVBoxLayout:
    """Long items (低保 has many questions) scroll instead of growing the wizard off the screen."""
    from PySide6.QtWidgets import QScrollArea
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(inner)
    scroll.setFrameShape(QScrollArea.NoFrame)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(scroll, 1)
    return layout


class StepPage(QWidget):
    """``rules``: (index in ``item.eligibility``, rule) of the rules judged on this step — those whose last answer
    is asked here (``EvaluationOrder.rule_inputs``). ``in_place``: keys of the fields whose visibility depends on
    an answer on this step (shown greyed while they do not apply, so nothing below them moves)."""

    changed = Signal()    # any answer on this page was edited (while typing)
    committed = Signal()  # an answer was given: a field left, a choice made, a table cell entered

    def __init__(self, step, rules=(), in_place: frozenset[str] = frozenset(), parent=None):
        super().__init__(parent)
        self.step = step
        self.title = step.title
        self.rules = list(rules)
        self.in_place = in_place
        self.editors: dict[str, FieldEditor] = {}
        self.lines: dict[str, MessageLine] = {}
        self.labels: dict[str, QLabel] = {}
        self.computed: dict[str, QLabel] = {}
        self.notes: dict[str, tuple[str, str]] = {}  # key: (value filled in, its note, e.g. 已填入居民登记的住址)
        self.touched: set[str] = set()      # fields the worker has left: their messages show
        self.attempted = False              # 下一步 was pressed here: every message shows
        self.shown: dict[str, list[str]] = {}  # the messages each field's line shows
        inner = QWidget()
        form = QFormLayout(inner)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.setFormAlignment(Qt.AlignLeft | Qt.AlignTop)
        if step.help:
            form.addRow(_label(step.help, "hint"))
        for f in step.fields:
            self._add_row(form, f)
        layout = fill_with_scroll(self, inner)
        self.block = MessageLabel("", "error")   # the step's rule results, under the form: the form never moves
        self.warn = MessageLabel("", "warning")
        self.info = MessageLabel("", "hint")
        for w in (self.block, self.warn, self.info):
            layout.addWidget(w)
        QApplication.instance().focusChanged.connect(self._on_focus_changed)

    def _add_row(self, form: QFormLayout, f) -> None:
        if f.is_computed:
            self.computed[f.key] = computed_label()
            form.addRow(f.label, self.computed[f.key])
            return
        editor = editor_for(f)
        text = f.label + ("＊" if f.required is True else "")
        label = _label(text)
        label.setBuddy(editor.focus_widget())
        wide = f.kind.rows  # a table needs the full width: its label goes above it
        box = QVBoxLayout()
        box.setSpacing(2)
        box.setContentsMargins(0, 0, 0, 0)
        if wide:
            box.addWidget(label)
        box.addWidget(editor)
        if f.help:
            box.addWidget(_label(f.help, "hint"))
        line = MessageLine(lines=2 if wide else 1)
        box.addWidget(line)
        holder = QWidget()
        holder.setLayout(box)
        if wide:
            form.addRow(holder)
        else:
            form.addRow(label, holder)
        self.editors[f.key], self.lines[f.key], self.labels[f.key] = editor, line, label
        editor.changed.connect(self.changed)
        editor.committed.connect(lambda k=f.key, e=editor: self._on_editor_committed(k, e))

    # ----- what the worker has done -------------------------------------------------------------------------
    def _editor_key(self, widget) -> str | None:
        while widget is not None:
            if isinstance(widget, FieldEditor) and self.editors.get(widget.field.key) is widget:
                return widget.field.key
            widget = widget.parentWidget()
        return None

    def _on_focus_changed(self, old, new) -> None:
        """The focus left a field for another control of this window (a popup or another window is no leaving)."""
        if new is None or old is None or new.window() is not self.window() or not self.isVisible():
            return
        left = self._editor_key(old)
        if left is not None and left != self._editor_key(new):
            self.touched.add(left)
            self.committed.emit()

    def _on_editor_committed(self, key: str, editor: FieldEditor) -> None:
        if editor.discrete:  # a choice made is an answer given
            self.touched.add(key)
        self.committed.emit()

    # ----- values ----------------------------------------------------------------------------------------------
    def values(self) -> dict:
        return {k: e.value() for k, e in self.editors.items()}

    def set_values(self, values: dict) -> None:
        for k, e in self.editors.items():
            if k in values:
                e.set_value(values[k])

    def prefill(self, key: str, value: str, note: str, before: str | None) -> bool:
        """Fill ``key`` with ``value`` when it is empty or still holds ``before`` (the earlier prefill); the note
        shows in its message line while the value stays as filled. True when the field now holds ``value``."""
        editor = self.editors.get(key)
        if editor is None:
            return False
        current = editor.value()
        if current not in (None, "", before):
            return False
        editor.set_value(value or None)
        self.notes[key] = (value, note)
        if not self.lines[key].is_error():
            self.lines[key].show_note(self._note(key))
        return bool(value)

    # ----- results ---------------------------------------------------------------------------------------------
    def show_result(self, result, commit: bool = True) -> bool:
        """Messages and visibility for this step's fields; True when the step has no errors.

        ``commit``: an answer was given (a field left, a choice made, the step opened, 下一步): the messages of the
        fields left (all of them after 下一步) show, and the step's rules are judged. While the worker types
        (``commit=False``) a corrected answer loses its message at once, but nothing new appears.
        """
        ok = True
        for key, line in self.lines.items():
            msgs = result.errors_for(key)
            if not (commit and (self.attempted or key in self.touched)):
                msgs = [m for m in msgs if m in self.shown.get(key, ())]  # typing: messages only go
            self.shown[key] = msgs
            if msgs:
                line.show_error("；".join(msgs))
            else:
                line.show_note(self._note(key))
            ok = ok and not result.errors_for(key)
            self._show_row(key, key not in result.hidden)
        units = {f.key: f.unit for f in self.step.fields}
        for key, label in self.computed.items():
            v = result.values.get(key, result.computed.get(key))
            label.setText("—" if v is None else format_value(v, units.get(key, "")))
        if commit:
            self.show_rules(result)
        return ok

    def _note(self, key: str) -> str:
        """The note while the field still holds what was filled in (typed over or emptied: no note)."""
        value, note = self.notes.get(key, ("", ""))
        return note if value and self.editors[key].value() == value else ""

    def _show_row(self, key: str, shown: bool) -> None:
        holder = self.editors[key].parentWidget()
        if key in self.in_place:  # stays where it is, greyed while it does not apply
            for w in (holder, self.labels[key]):
                w.setEnabled(shown)
            self.labels[key].setToolTip("" if shown else NOT_APPLICABLE)
            return
        form = holder.parentWidget().layout()
        if isinstance(form, QFormLayout):
            form.setRowVisible(holder, shown)

    def show_rules(self, result) -> None:
        """The rules judged here that failed: ✗ (cannot be accepted), ⚠ (the department decides), ℹ."""
        failed: dict[str, list[str]] = {"block": [], "warn": [], "info": []}
        for index, rule in self.rules:
            if index < len(result.verdicts) and result.verdicts[index].passed is False:
                failed[rule.level].append(rule.message)
        block, warn = failed["block"], failed["warn"]
        self.block.setText(("不符合条件，不能受理：\n" + "\n".join("✗ " + m for m in block)) if block else "")
        self.warn.setText("\n".join("⚠ " + m for m in warn) + INSIST_LATER if warn and not block else "")
        self.info.setText("\n".join("ℹ " + m for m in failed["info"]))

    def blocked(self) -> list[str]:
        """The messages of this step's failed block rules, as shown."""
        text = self.block.text()
        return [line[2:] for line in text.splitlines() if line.startswith("✗ ")]

    def focus_first(self) -> None:
        for e in self.editors.values():
            if e.isVisibleTo(self) and e.isEnabledTo(self):
                e.focus_widget().setFocus()
                return
