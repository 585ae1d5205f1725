"""The 设备 page of 设置 (issue 15): per kind of device the driver this desk uses (选择后保存), the options it needs,
a 测试 button (off the UI thread) with its result, and the last error; below, the two committee settings the devices
read (保留身份证照片, 进度查询网址), which only a supervisor or administrator may change.

Everything comes from ``services.devices`` (app/desk/devices/registry.py); listing drivers may probe a vendor
library or a local service, so it runs through ``run_op`` too.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.desk.devices.base import KIND_LABELS, DeviceKind
from app.desk.devices.registry import KIND_OPTIONS, DriverInfo, OptionField
from ui.operations import run_op
from ui.screen_fit import resize_to_fit

NONE_LABEL = "不使用"
TEST_WHAT = {DeviceKind.ID_READER: "请放置身份证后点“测试”：读一次卡", DeviceKind.CAMERA: "点“测试”拍一张照片",
             DeviceKind.SCANNER: "点“测试”检查扫描仪（或扫描文件夹）",
             DeviceKind.CODE_SCANNER: "点“测试”后请扫一个二维码或条形码"}


@dataclass(frozen=True)
class KindSnapshot:
    kind: DeviceKind
    drivers: list[DriverInfo]
    configured: str  # the saved choice ("" = none)
    options: dict[str, str]


@dataclass(frozen=True)
class DevicesSnapshot:
    kinds: dict[DeviceKind, KindSnapshot]
    config_problem: str
    keep_card_photo: bool
    verify_base_url: str  # the committee's own setting, "" = the default
    default_verify_url: str  # the enrolled server's address


def read_snapshot(registry) -> DevicesSnapshot:
    """What the page shows (runs off the UI thread)."""
    from app.desk.devices.registry import committee_verify_base_url, enrolled_server_url, keep_card_photo
    registry.reload()
    kinds = {}
    for kind in DeviceKind:
        kinds[kind] = KindSnapshot(kind, registry.infos(kind), registry.configured_name(kind),
                                   dict(registry.config.options.get(kind, {})))
    ctx = registry.ctx
    keep = keep_card_photo(ctx) if ctx is not None else False
    default = enrolled_server_url(ctx) if ctx is not None else ""
    own = committee_verify_base_url(ctx) if ctx is not None else ""
    return DevicesSnapshot(kinds, registry.config_problem, keep, own, default)


class KindPanel(QGroupBox):
    """One kind of device: driver combo, its options, 保存 / 测试, the result and the last error."""

    def __init__(self, page: DevicesPage, kind: DeviceKind):
        super().__init__(KIND_LABELS[kind])
        self.page, self.kind = page, kind
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(12)
        self.combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.combo.currentIndexChanged.connect(self._on_choice_changed)
        self.combo.activated.connect(self._on_edited)
        self.dirty = False  # the worker changed the choice or an option since it was shown
        self.reason = QLabel()
        self.reason.setObjectName("hint")
        self.reason.setWordWrap(True)
        self.save_button = QPushButton("保存")
        self.save_button.setToolTip("保存所选驱动和下面的设置")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.test_button = QPushButton("测试")
        self.test_button.setToolTip(TEST_WHAT[kind] + "（按已保存的设置）")
        self.test_button.clicked.connect(self._on_test_clicked)
        for b in (self.save_button, self.test_button):
            b.setAutoDefault(False)
        choice = QHBoxLayout()
        choice.addWidget(self.combo, 1)
        choice.addWidget(self.save_button)
        choice.addWidget(self.test_button)
        form = QFormLayout(self)
        form.addRow("驱动", choice)
        form.addRow("", self.reason)
        self.option_edits: dict[str, QLineEdit] = {}
        self.browse_buttons: dict[str, QPushButton] = {}
        for spec in KIND_OPTIONS[kind]:
            form.addRow(spec.label, self._option_row(spec))
        self.result_label = QLabel(TEST_WHAT[kind])
        self.result_label.setObjectName("hint")
        self.result_label.setWordWrap(True)
        form.addRow("测试结果", self.result_label)
        self.error_label = QLabel("无")
        self.error_label.setWordWrap(True)
        form.addRow("上次错误", self.error_label)
        self._infos: dict[str, DriverInfo] = {}

    def _option_row(self, spec: OptionField) -> QWidget:
        edit = QLineEdit()
        edit.setPlaceholderText(spec.hint)
        edit.setToolTip(spec.hint)
        edit.textEdited.connect(self._on_edited)
        self.option_edits[spec.key] = edit
        if spec.kind not in ("file", "folder"):
            return edit
        row = QWidget()
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(edit, 1)
        browse = QPushButton("浏览…")
        browse.setAutoDefault(False)
        browse.clicked.connect(lambda _=False, s=spec: self._on_browse(s))
        self.browse_buttons[spec.key] = browse
        lay.addWidget(browse)
        return row

    # -- filling --
    def show_snapshot(self, snap: KindSnapshot) -> None:
        """Show what is saved; a panel the worker is still editing keeps its choice and texts (another panel's
        save re-reads the whole page)."""
        chosen = self.selected() if self.dirty else snap.configured
        texts = {key: edit.text() for key, edit in self.option_edits.items()} if self.dirty else snap.options
        self._infos = {d.name: d for d in snap.drivers}
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(NONE_LABEL, "")
        for d in snap.drivers:
            label = d.label + ("（模拟）" if d.simulated and "模拟" not in d.label else "")
            self.combo.addItem(label if d.available else f"{label}（不可用）", d.name)
        if snap.configured and snap.configured not in self._infos:
            self.combo.addItem(f"{snap.configured}（本机没有这个驱动）", snap.configured)
        self.combo.setCurrentIndex(max(0, self.combo.findData(chosen)))
        self.combo.blockSignals(False)
        for key, edit in self.option_edits.items():
            edit.setText(texts.get(key, ""))
        self._on_choice_changed()

    def _on_edited(self, *_args) -> None:
        self.dirty = True

    def selected(self) -> str:
        return self.combo.currentData() or ""

    @Slot()
    def _on_choice_changed(self, *_args) -> None:
        info = self._infos.get(self.selected())
        if not self.selected():
            self.reason.setText("不使用这类设备")
        elif info is None:
            self.reason.setText("这个驱动在本机不存在，请另选一个")
        else:
            state = "设备就绪" if info.available else f"不可用：{info.reason}"
            self.reason.setText(f"驱动名称：{info.name}；{state}")
        self.test_button.setEnabled(info is not None)
        self.show_last_error(info.last_error if info else "")

    def show_last_error(self, text: str) -> None:
        self.error_label.setText(text or "无")
        _restyle(self.error_label, "error" if text else "")

    # -- actions --
    def _on_browse(self, spec: OptionField) -> None:
        edit = self.option_edits[spec.key]
        if spec.kind == "folder":
            path = QFileDialog.getExistingDirectory(self, f"选择{spec.label}", edit.text())
        else:
            path, _ = QFileDialog.getOpenFileName(self, f"选择{spec.label}", edit.text(),
                                                  "动态库 (*.dll *.so *.so.*);;所有文件 (*)")
        if path:
            edit.setText(path)
            self._on_edited()

    def _on_save_clicked(self) -> None:
        registry, kind, name = self.page.registry, self.kind, self.selected()
        options = {key: edit.text() for key, edit in self.option_edits.items()}
        self.result_label.setText("正在保存…")
        run_op(self, lambda: registry.choose(kind, name, options), lambda _r: self._on_saved(name),
               self._on_failed)

    def _on_saved(self, name: str) -> None:
        label = self._infos[name].label if name in self._infos else NONE_LABEL
        self.result_label.setText(f"已保存：{label}")
        self.dirty = False  # the page re-reads itself: the change bus says the settings changed

    def _on_test_clicked(self) -> None:
        registry, name = self.page.registry, self.selected()
        self.test_button.setEnabled(False)
        _restyle(self.result_label, "hint")
        self.result_label.setText("正在测试，请稍候…")
        run_op(self, lambda: (registry.test(name), registry.last_error(name)), self._on_tested, self._on_failed)

    def _on_tested(self, outcome) -> None:
        result, last_error = outcome
        self.test_button.setEnabled(True)
        self.result_label.setText(("成功：" if result.ok else "失败：") + result.message)
        _restyle(self.result_label, "" if result.ok else "error")
        name = self.selected()
        if name in self._infos:
            self._infos[name] = _with_error(self._infos[name], last_error)
        self.show_last_error(last_error)

    def _on_failed(self, message: str) -> None:
        self.test_button.setEnabled(self.selected() in self._infos)
        self.result_label.setText(message)
        _restyle(self.result_label, "error")


def _restyle(label: QLabel, name: str) -> None:
    """Switch a label between the stylesheet's #hint / #error looks."""
    label.setObjectName(name)
    label.style().unpolish(label)
    label.style().polish(label)


def _with_error(info: DriverInfo, last_error: str) -> DriverInfo:
    from dataclasses import replace
    return replace(info, last_error=last_error)


class DevicesPage(QWidget):
    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.registry = services.devices
        title = QLabel("设备")
        title.setObjectName("pageTitle")
        intro = QLabel("身份证阅读器、高拍仪、扫描仪和扫码枪都可以不接；接上后在这里选择驱动、保存，"
                       "再点“测试”确认能用。这些设置只对本机有效。")
        intro.setObjectName("hint")
        intro.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setObjectName("error")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.panels = {kind: KindPanel(self, kind) for kind in DeviceKind}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        for i, kind in enumerate(DeviceKind):
            grid.addWidget(self.panels[kind], i // 2, i % 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        committee = QGroupBox("居委会设置（站长、管理员可改）")
        cform = QFormLayout(committee)
        self.keep_photo = QCheckBox("保留身份证照片")
        self.keep_photo.setToolTip("开启后，读卡时把身份证上的照片随居民信息保存；默认不保存")
        self.verify_url = QLineEdit()
        self.verify_url.setToolTip("受理回执二维码里的进度查询网址（只含办件编号和查验码，不含个人信息）；"
                                   "留空则使用本机登记的区服务器地址")
        self.save_committee_button = QPushButton("保存居委会设置")
        self.save_committee_button.clicked.connect(self._on_save_committee_clicked)
        self.committee_note = QLabel()
        self.committee_note.setObjectName("hint")
        self.committee_note.setWordWrap(True)
        self.committee_status = QLabel()
        self.committee_status.setWordWrap(True)
        self.committee_status.hide()
        self.save_committee_button.setAutoDefault(False)
        url_row = QHBoxLayout()
        url_row.addWidget(self.verify_url, 1)
        url_row.addWidget(self.save_committee_button)
        cform.addRow("", self.keep_photo)
        cform.addRow("进度查询网址", url_row)
        cform.addRow("", self.committee_status)
        cform.addRow("", self.committee_note)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addWidget(title)
        lay.addWidget(intro)
        lay.addWidget(self.problem)
        lay.addLayout(grid)
        lay.addWidget(committee)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        services.change_bus.changed.connect(self._on_data_changed)
        self.refresh()

    @property
    def may_manage(self) -> bool:
        worker = self.services.current_worker
        return bool(worker is not None and worker.manages_desk)

    def _apply_role(self) -> None:
        manage = self.may_manage
        self.keep_photo.setEnabled(manage)
        self.verify_url.setReadOnly(not manage)
        self.save_committee_button.setVisible(manage)
        self.committee_note.setText(
            "已登记区服务器时，区服务器上的居委会设置在下次同步后为准。" if manage
            else "只有站长或管理员可以修改这两项；这里仅供查看。")

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        if changes.settings and self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        self._apply_role()  # the worker may have changed (screen lock, another login)
        registry = self.registry
        run_op(self, lambda: read_snapshot(registry), self._on_snapshot)

    def _on_snapshot(self, snap: DevicesSnapshot) -> None:
        self.snapshot = snap
        self.problem.setText(snap.config_problem)
        self.problem.setVisible(bool(snap.config_problem))
        for kind, panel in self.panels.items():
            panel.show_snapshot(snap.kinds[kind])
        self.keep_photo.setChecked(snap.keep_card_photo)
        self.verify_url.setText(snap.verify_base_url)
        default = snap.default_verify_url
        self.verify_url.setPlaceholderText(f"留空则使用区服务器地址：{default}" if default
                                           else "本机未登记区服务器；留空则回执上不印查询网址")

    def _on_save_committee_clicked(self) -> None:
        registry, actor = self.registry, self.services.current_worker
        keep, url = self.keep_photo.isChecked(), self.verify_url.text()

        def save():
            # the address first: a bad one is refused before anything is written
            return registry.set_verify_base_url(actor, url) | registry.set_keep_card_photo(actor, keep)
        self._committee_status("正在保存…")
        run_op(self, save, lambda _r: self._committee_status("居委会设置已保存"),
               lambda message: self._committee_status(message, error=True))

    def _committee_status(self, text: str, *, error: bool = False) -> None:
        self.committee_status.setText(text)
        self.committee_status.setVisible(bool(text))
        _restyle(self.committee_status, "error" if error else "")


class DevicesDialog(QDialog):
    """The 设备 page in its own window, opened from 设置 (the settings page stays uncramped)."""

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.setWindowTitle("设备")
        self.page = DevicesPage(services, self)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.button(QDialogButtonBox.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.page, 1)
        lay.addWidget(buttons)
        resize_to_fit(self, 1000, 760)
