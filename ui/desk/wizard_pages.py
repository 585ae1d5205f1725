"""Wizard pages built from an item's schema: eligibility, one page per step, materials, review."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QPlainTextEdit, QScrollArea,
                               QVBoxLayout, QWidget)

from ui.desk.field_widgets import computed_label, editor_for


def _label(text: str, name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    if name:
        label.setObjectName(name)
    return label


def _fill_with_scroll(page: QWidget, inner: QWidget) -> None:
    """Long items (低保 has many questions) scroll instead of growing the wizard off the screen."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(inner)
    scroll.setFrameShape(QScrollArea.NoFrame)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(scroll)


class EligibilityPage(QWidget):
    title = "申请条件"

    def __init__(self, item, parent=None):
        super().__init__(parent)
        self.item = item
        conditions = QGroupBox("申请条件")
        cv = QVBoxLayout(conditions)
        for c in item.conditions:
            cv.addWidget(_label("· " + c))
        self.checks = _label("", wrap=True)
        self.failures = _label("", "error")
        self.tier = _label("", "hint")
        hints = QGroupBox("办理提示")
        hv = QVBoxLayout(hints)
        for h in item.hints or ["无"]:
            hv.addWidget(_label("· " + h))
        layout = QVBoxLayout(self)
        layout.addWidget(conditions)
        layout.addWidget(self.checks)
        layout.addWidget(self.failures)
        layout.addWidget(self.tier)
        layout.addWidget(hints)
        layout.addStretch(1)

    def show_result(self, result, applicant_text: str) -> None:
        computed = "；".join(f"{self._computed_label(k)}：{v}" for k, v in result.computed.items() if v is not None)
        self.checks.setText(f"{applicant_text}" + (f"\n{computed}" if computed else ""))
        if result.eligibility_failures:
            self.failures.setText("不符合条件：\n" + "\n".join("✗ " + f for f in result.eligibility_failures))
        else:
            pending = "（部分条件将在后续问题中确认）" if result.eligibility_unknown else ""
            self.failures.setText("")
            self.checks.setText(self.checks.text() + "\n✓ 已核对的条件均符合" + pending)
        self.tier.setText(f"{self.item.tier_title}：{result.tier.label}" if result.tier else "")

    def _computed_label(self, key: str) -> str:
        c = next((c for c in self.item.computed if c.key == key), None)
        return c.label if c else key

    def focus_first(self) -> None:
        self.setFocus()


class StepPage(QWidget):
    """One step of the item: a form with an editor per field, inline errors, computed values."""

    def __init__(self, step, parent=None):
        super().__init__(parent)
        self.step = step
        self.title = step.title
        self.editors, self.errors, self.computed = {}, {}, {}
        inner = QWidget()
        form = QFormLayout(inner)
        if step.help:
            form.addRow(_label(step.help, "hint"))
        for f in step.fields:
            if f.is_computed:
                self.computed[f.key] = computed_label()
                form.addRow(f.label, self.computed[f.key])
                continue
            editor = editor_for(f)
            err = _label("", "error")
            err.setVisible(False)
            box = QVBoxLayout()
            box.setSpacing(2)
            box.addWidget(editor)
            if f.help:
                box.addWidget(_label(f.help, "hint"))
            box.addWidget(err)
            holder = QWidget()
            holder.setLayout(box)
            box.setContentsMargins(0, 0, 0, 0)
            form.addRow(f.label + ("＊" if f.required is True else ""), holder)
            self.editors[f.key], self.errors[f.key] = editor, err
        _fill_with_scroll(self, inner)

    def values(self) -> dict:
        return {k: e.value() for k, e in self.editors.items()}

    def set_values(self, values: dict) -> None:
        for k, e in self.editors.items():
            if k in values:
                e.set_value(values[k])

    def show_result(self, result) -> bool:
        """Show errors and visibility for this step's fields; True when the step has no errors."""
        ok = True
        for key, err in self.errors.items():
            msgs = result.errors_for(key)
            err.setText("；".join(msgs))
            err.setVisible(bool(msgs))
            ok = ok and not msgs
            visible = key not in result.hidden
            self.editors[key].parentWidget().setVisible(visible)
            form = self.editors[key].parentWidget().parentWidget().layout()
            if isinstance(form, QFormLayout):
                form.setRowVisible(self.editors[key].parentWidget(), visible)
        for key, label in self.computed.items():
            v = result.values.get(key, result.computed.get(key))
            label.setText("—" if v is None else str(v))
        return ok

    def focus_first(self) -> None:
        for e in self.editors.values():
            if e.isVisibleTo(self):
                e.focus_widget().setFocus()
                return


class MaterialsPage(QWidget):
    title = "材料清单"

    def __init__(self, item, parent=None):
        super().__init__(parent)
        self.item = item
        self.boxes: dict[str, QCheckBox] = {}
        inner = QWidget()
        v = QVBoxLayout(inner)
        v.addWidget(_label("请逐项核对居民带来的材料，收到的打勾。", "hint"))
        for m in item.materials:
            need = "必交" if m.required is True else "视情况"
            cb = QCheckBox(f"{m.name}（{m.form}，{m.count} 份，{need}）")
            cb.setToolTip(m.standard)
            self.boxes[m.name] = cb
            v.addWidget(cb)
            v.addWidget(_label("    要求：" + m.standard, "hint"))
        if not item.materials:
            v.addWidget(_label("本事项不需要收取材料。", "hint"))
        self.missing = _label("", "warning")
        v.addWidget(self.missing)
        v.addStretch(1)
        _fill_with_scroll(self, inner)

    def values(self) -> dict:
        return {name: cb.isChecked() for name, cb in self.boxes.items()}

    def set_values(self, values: dict) -> None:
        for name, cb in self.boxes.items():
            v = values.get(name)
            cb.setChecked(bool(v.get("received") if isinstance(v, dict) else v))

    def show_result(self, result) -> bool:
        names = [m.name for m in result.missing_materials]
        self.missing.setText(("缺少必交材料：" + "、".join(names) + "。可以出具一次性告知单，案件保存为“待补材料”。")
                             if names else "")
        return True

    def focus_first(self) -> None:
        if self.boxes:
            next(iter(self.boxes.values())).setFocus()


class ReviewPage(QWidget):
    title = "确认与办理结果"

    def __init__(self, item, parent=None):
        super().__init__(parent)
        self.item = item
        self.summary = _label("")
        self.summary.setTextFormat(Qt.RichText)
        self.outcome = QGroupBox("办理结果")
        form = QFormLayout(self.outcome)
        self.target = QComboBox()
        self.note = QPlainTextEdit(placeholderText="给承办人的说明，或当场办结的结果")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(70)
        self.deadline = _label("", "hint")
        form.addRow("转给", self.target)
        form.addRow("说明 / 结果", self.note)
        form.addRow("办理期限", self.deadline)
        self.missing = _label("", "warning")
        self.error = _label("", "error")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.summary)
        scroll.setFrameShape(QScrollArea.NoFrame)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.missing)
        layout.addWidget(self.outcome)
        layout.addWidget(self.error)

    def focus_first(self) -> None:
        self.note.setFocus()
