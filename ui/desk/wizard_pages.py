"""Wizard pages built from an item's schema: eligibility, materials, review (one page per step: step_page)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core import rule_notes
from forms.values import format_value
from ui.desk.flexible_widgets import DeferredBox, PledgeBox
from ui.desk.message_line import MessageLabel
from ui.desk.step_page import StepPage, fill_with_scroll

__all__ = ["EligibilityPage", "MaterialsPage", "MessageLabel", "ReviewPage", "StepPage", "info_text"]

NOT_FILLED = "尚未填写"


def _blank(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def computed_values(item, result) -> list[tuple[str, str, str]]:
    """(key, label, text) of the values the validate layer computed, in catalog order.

    A value is shown as 尚未填写 while an answer it is computed from is still empty (``result.waiting``): a household
    of "0 人" with an income of "0 元" before any member is entered would read as a fact.
    """
    defs = {c.key: (c.label, c.unit) for c in item.computed}
    for _, f in item.iter_fields():
        if f.is_computed:
            defs.setdefault(f.key, (f.label, f.unit))
    out = []
    for key, (label, unit) in defs.items():
        if key not in result.computed or key in result.hidden:
            continue
        value = result.computed[key]
        if key in result.waiting:
            text = NOT_FILLED
        elif value is None:
            text = "—"
        else:
            text = format_value(value, unit)
        out.append((key, label, text))
    return out


def _label(text: str, name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    if name:
        label.setObjectName(name)
    return label


WARN_TITLE = "⚠ 提示（由承办部门审核决定）"


class InsistBox(QFrame):
    """The failed ``warn`` rules, amber, with 居民坚持申请 and a note: a warning does not refuse, the worker records
    that the resident insists and forwards (issue 13). Two boxes (eligibility and review page) can be linked so
    that both show the one answer."""

    toggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("insistBox")  # amber frame (resources/styles/onedesk.qss)
        self.heading = _label(WARN_TITLE, "warningTitle")
        self.text = _label("", "warning")
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.box = QCheckBox(rule_notes.INSISTED)
        self.box.setObjectName("warning")
        self.box.setToolTip("居民了解上述提示后仍要求申请：案件连同提示转承办部门审核决定")
        self.note = QLineEdit(placeholderText="说明（可不填），如：居民称已办理居住证，坚持在本社区申请")
        self.note.setMaxLength(500)
        self.note.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(self.heading)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        row.addWidget(self.box)
        row.addWidget(self.note, 1)
        layout.addLayout(row)
        self.box.toggled.connect(self.note.setEnabled)
        self.box.toggled.connect(self.toggled)
        self.setVisible(False)

    def show_warnings(self, warnings: list[str]) -> None:
        self.text.setText("\n".join("⚠ " + w for w in warnings))
        self.setVisible(bool(warnings))

    def insisted(self) -> bool:
        """Ticked while warnings are shown (a box left ticked from warnings since answered away counts not)."""
        return bool(self.text.text()) and self.box.isChecked()

    def note_text(self) -> str:
        return self.note.text().strip()

    def link(self, other: InsistBox) -> None:
        """Keep ``other`` showing the same answer as this box, both ways."""
        def same_box(checked: bool, target: InsistBox) -> None:
            if target.box.isChecked() != checked:
                target.box.setChecked(checked)

        def same_note(text: str, target: InsistBox) -> None:
            if target.note.text() != text:
                target.note.setText(text)
        for a, b in ((self, other), (other, self)):
            a.box.toggled.connect(lambda c, t=b: same_box(c, t))
            a.note.textChanged.connect(lambda x, t=b: same_note(x, t))


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
        self.failures = MessageLabel("", "error")
        self.insist = InsistBox()
        self.infos = MessageLabel("", "hint")
        self.tier = MessageLabel("", "hint")
        found = QGroupBox("核对结果")
        fv = QVBoxLayout(found)
        for w in (self.checks, self.failures, self.insist, self.infos, self.tier):
            fv.addWidget(w)
        hints = QGroupBox("办理提示")
        hv = QVBoxLayout(hints)
        for h in item.hints or ["无"]:
            hv.addWidget(_label("· " + h))
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addWidget(conditions)
        layout.addWidget(found)
        layout.addWidget(hints)
        layout.addStretch(1)
        fill_with_scroll(self, inner)  # an item with many conditions and hints scrolls

    def show_result(self, result, applicant_text: str) -> None:
        lines = [applicant_text] if applicant_text else []
        lines += [f"{label}：{text}" for _k, label, text in computed_values(self.item, result)]
        if result.eligibility_failures:
            self.failures.setText("不符合条件，不能受理：\n" + "\n".join("✗ " + f for f in result.eligibility_failures))
        else:
            pending = "（部分条件将在后续问题中确认）" if result.eligibility_unknown else ""
            self.failures.setText("")
            if not result.eligibility_warnings:
                lines.append("✓ 已核对的条件均符合" + pending)
        # a failed block rule leaves nothing to insist on: only 不予受理 is offered
        self.insist.show_warnings([] if result.eligibility_failures else result.eligibility_warnings)
        self.infos.setText(info_text(result.eligibility_infos))
        self.checks.setText("\n".join(lines))
        self.tier.setText(f"{self.item.tier_title}：{result.tier.label}" if result.tier else "")

    def focus_first(self) -> None:
        self.setFocus()


def _set_tone(label: QLabel, name: str) -> None:
    """Switch a label's style (#warning, #hint, …): a changed object name needs the style applied again."""
    if label.objectName() != name:
        label.setObjectName(name)
        label.style().unpolish(label)
        label.style().polish(label)


def info_text(infos: list[str]) -> str:
    return "\n".join("ℹ " + i for i in infos)


class MaterialsPage(QWidget):
    """The item's materials to tick as received; under the list, what is still missing, kept up to date as each box
    is ticked (the wizard checks again on ``ticked``)."""

    title = "材料清单"
    capture_requested = Signal(str)  # 拍照/扫描 pressed for this material (the wizard opens the capture dialog)
    ticked = Signal()  # a material ticked or unticked by the worker

    def __init__(self, item, parent=None):
        super().__init__(parent)
        self.item = item
        self.boxes: dict[str, QCheckBox] = {}
        self.capture_buttons: dict[str, QPushButton] = {}
        self.attached_labels: dict[str, QLabel] = {}
        self.agent_rows: dict[str, tuple[QCheckBox, QLabel]] = {}  # shown only when the agent must bring them
        inner = QWidget()
        v = QVBoxLayout(inner)
        v.addWidget(_label("请逐项核对居民带来的材料，收到的打勾。", "hint"))
        for m in item.materials:
            cb = QCheckBox(self._box_text(m, m.count))
            cb.setToolTip(m.standard)
            cb.toggled.connect(lambda _c: self.ticked.emit())
            self.boxes[m.name] = cb
            hint = _label("    要求：" + m.standard, "hint")
            row = QHBoxLayout()
            row.addWidget(cb, 1)
            row.addWidget(self._capture_row(m.name))
            v.addLayout(row)
            v.addWidget(hint)
            if m.for_agent:
                self.agent_rows[m.name] = (cb, hint)
                cb.setVisible(False)
                hint.setVisible(False)
                self.capture_buttons[m.name].parentWidget().setVisible(False)
        if not item.materials:
            v.addWidget(_label("本事项不需要收取材料。", "hint"))
        self.pledge = PledgeBox(item)  # 告知承诺制, on items that offer it
        v.addWidget(self.pledge)
        v.addStretch(1)
        self.missing = _label("", "warning")  # under the list, outside its scrolling: always in sight
        fill_with_scroll(self, inner).addWidget(self.missing)

    def _capture_row(self, name: str) -> QWidget:
        """拍照/扫描 for one material and how many files it already has (issue 15)."""
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        self.attached_labels[name] = _label("", "hint", wrap=False)
        button = QPushButton("拍照/扫描")
        button.setToolTip(f"用高拍仪拍照或扫描“{name}”，保存为本案件的附件")
        button.clicked.connect(lambda _c=False, n=name: self.capture_requested.emit(n))
        self.capture_buttons[name] = button
        row.addWidget(self.attached_labels[name])
        row.addWidget(button)
        return holder

    def show_attached(self, counts: dict[str, int]) -> None:
        """How many files each material has on the case (a captured material counts as received)."""
        for name, label in self.attached_labels.items():
            n = counts.get(name, 0)
            label.setText(f"已附 {n} 份" if n else "")
            if n and name in self.boxes:
                self.boxes[name].setChecked(True)

    def values(self) -> dict:
        return {name: cb.isChecked() for name, cb in self.boxes.items()}

    def set_values(self, values: dict) -> None:
        for name, cb in self.boxes.items():
            v = values.get(name)
            cb.setChecked(bool(v.get("received") if isinstance(v, dict) else v))

    @staticmethod
    def _box_text(m, count: int) -> str:
        need = ("必交" if m.required is True else "视情况") + ("，可容缺" if m.deferrable else "")
        return f"{m.name}（{m.form}，{count} 份，{need}）"

    def show_result(self, result) -> bool:
        needed = {m.name for m in result.required_materials}
        for name, (cb, hint) in self.agent_rows.items():  # the agent's ID and 委托书, when this agent brings them
            cb.setVisible(name in needed)
            hint.setVisible(name in needed)
            self.capture_buttons[name].parentWidget().setVisible(name in needed)
            if name not in needed and cb.isChecked():
                cb.blockSignals(True)  # not needed for this agent: not received either (no second check)
                cb.setChecked(False)
                cb.blockSignals(False)
        for m in self.item.materials:  # copies follow the answers (one ID copy per household member)
            if m.name in self.boxes:
                self.boxes[m.name].setText(self._box_text(m, result.material_counts.get(m.name, m.count)))
        names = [m.name for m in result.missing_materials]
        deferrable = "所缺均为可容缺的次要材料，也可在下一步容缺受理。" if result.only_deferrable_missing else ""
        if names:
            text = ("缺少必交材料：" + "、".join(names) + "。可以出具一次性告知单，案件保存为“待补材料”。" + deferrable)
        elif result.required_materials:
            pledged = [m.name for m in result.pledged_materials]
            text = "✓ 必交材料已收齐" + (f"（{'、'.join(pledged)}以告知承诺代替）" if pledged else "") + "。"
        else:
            text = "本事项没有必交材料。" if self.item.materials else ""
        self.missing.setText(text)
        _set_tone(self.missing, "warning" if names else "hint")
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
        self.summary.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.outcome = QGroupBox("办理结果")
        self.form = form = QFormLayout(self.outcome)
        self.target = QComboBox()
        self.note = QPlainTextEdit()
        self.note.setTabChangesFocus(True)  # Tab from 说明 goes on to the outcome button (the wizard's tab order)
        self.note.setFixedHeight(64)
        self.note_label = QLabel()
        self.note_label.setBuddy(self.note)
        self.deadline = _label("", "hint")
        form.addRow("转给", self.target)
        form.addRow("办理期限", self.deadline)
        form.addRow(self.note_label, self.note)
        self.forwarding = True
        self.set_forwarding(True)
        self.missing = MessageLabel("", "warning")
        self.error = MessageLabel("", "error")
        self.insist = InsistBox()
        self.infos = MessageLabel("", "hint")
        self.deferred = DeferredBox()  # 容缺受理, while it is offered
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.summary)
        scroll.setFrameShape(QScrollArea.NoFrame)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.missing)
        layout.addWidget(self.error)
        layout.addWidget(self.insist)
        layout.addWidget(self.infos)
        layout.addWidget(self.deferred)
        layout.addWidget(self.outcome)
        # Tab in reading order: the warning's 居民坚持申请 and note, 容缺's check, then 转给 and 说明 (the wizard
        # goes on from 说明 to the outcome buttons)
        for a, b in ((self.insist.box, self.insist.note), (self.insist.note, self.deferred.credit),
                     (self.deferred.credit, self.target), (self.target, self.note)):
            QWidget.setTabOrder(a, b)

    def set_forwarding(self, on: bool, resolvable: bool = False) -> None:
        """转给 and 办理期限 only when the case is to be forwarded: a 即办 item resolved here has neither.
        ``resolvable``: 当场办结 is offered too, so 说明 may also be the result."""
        self.forwarding = on
        self.form.setRowVisible(self.target, on)
        self.form.setRowVisible(self.deadline, on)
        if not on:
            self.note_label.setText("办理结果")
            self.note.setPlaceholderText("当场办结的结果，如：已审核，当场办结")
        else:
            self.note_label.setText("说明 / 结果" if resolvable else "说明")
            self.note.setPlaceholderText("给承办人的说明" + ("，或当场办结的结果" if resolvable else "（可不填）"))

    def show_summary(self, people: list[tuple[str, str]], steps, result) -> None:
        """Everything collected, step by step, then the values the rules computed (per-capita income, tier…)."""
        parts = [_section("申请人", [(k, html.escape(v)) for k, v in people])]
        if result:  # the figures the rules decide on come first, where the worker sees them without scrolling
            figures = [(label, html.escape(text)) for _k, label, text in computed_values(self.item, result)]
            if result.tier:
                figures.append((self.item.tier_title, html.escape(result.tier.label)))
            if figures:
                parts.append(_section("计算结果", figures))
        for step in steps:
            rows = []
            for f in step.fields:
                v = result.values.get(f.key) if result else None
                if f.is_computed or _blank(v) or (result and f.key in result.hidden):
                    continue
                rows.append((f.label, _html_value(f, v)))
            if rows:
                parts.append(_section(step.title, rows))
        self.summary.setText('<table cellspacing="3">' + "".join(parts) + "</table>")

    def focus_first(self) -> None:
        self.note.setFocus()


def _section(title: str, rows: list[tuple[str, str]]) -> str:
    """Rows of the one summary table: a section heading, then label | value (values line up across sections)."""
    head = f'<tr><td colspan="2" style="padding-top:10px"><b>{html.escape(title)}</b></td></tr>'
    body = ""
    for k, v in rows:
        if v.startswith("<table"):  # a repeat group: its label, then its table across the full width
            body += (f'<tr><td colspan="2" style="color:#555">{html.escape(k)}</td></tr>'
                     f'<tr><td colspan="2" style="padding-left:12px">{v}</td></tr>')
        else:
            body += (f'<tr><td width="36%" style="color:#555; padding-right:16px" valign="top">{html.escape(k)}</td>'
                     f'<td>{v}</td></tr>')
    return head + body


def _html_value(fld, value) -> str:
    """One answer for the summary, as its kind writes it for the screen (ID numbers masked)."""
    if not fld.kind.rows:
        return html.escape(fld.kind.screen_text(fld, value))
    subs = [f for f in fld.fields if any(not _blank(row.get(f.key)) for row in value)]
    head = "".join(f'<th align="left" style="padding-right:12px">{html.escape(f.label)}</th>' for f in subs)
    cell = '<td style="padding-right:12px">{}</td>'
    body = "".join("<tr>" + "".join(cell.format(html.escape(f.kind.screen_text(f, row.get(f.key)))) for f in subs)
                   + "</tr>" for row in value)
    return f'<table cellspacing="0" cellpadding="2" border="0"><tr>{head}</tr>{body}</table>'
