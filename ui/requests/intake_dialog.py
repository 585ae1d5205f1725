"""诉求登记 (issue 20): who (a resident, or 匿名 with a contact phone), where (the address, and the 块区 it is
routed to — RequestService.route — which the worker may change), what (category, urgency, description, photos),
then one of three ways to finish:

* 登记并转块长 (the default button): registered, the 24-hour clock starts, the 块长 of the 块区 is responsible;
* 当场解决…: registered and closed at once with the result (the resident is told in person);
* 已联系物业…: registered, handed to the property company (name, phone, promised time) and the resident told so.

A refusal (anonymous without a phone, no category …) is the service's Chinese message in the reserved line above
the buttons, and nothing is written. After registering, the 诉求受理单 is previewed when the desk can print it,
else the request's window opens.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from app.core.vocabulary import URGENCY_LABELS
from ui.cases.action_dialogs import ActionDialog
from ui.desk.message_line import MessageLine
from ui.operations import error_message, run_op
from ui.requests.common import PHOTO_FILTER, PHOTO_MATERIAL, edited_time, promised_edit
from ui.requests.resident_picker import ResidentPicker
from ui.screen_fit import resize_to_fit

NO_BLOCK = "（不属于任何块区）"


def block_text(block, names: dict) -> str:
    leader = names.get(block.leader_id) or names.get(str(block.leader_id)) or "未指定块长"
    return f"{block.code} {block.name}（块长 {leader}）"


class RequestIntakeDialog(QDialog):
    registered = Signal(object)  # the CaseDetail of the request registered

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.setWindowTitle("诉求登记")
        resize_to_fit(self, 880, 650)
        self.detail = None
        self.busy = False
        self.blocks: list = []
        self.names: dict = {}
        self.photo_paths: list[Path] = []
        self.photo_problems: list[str] = []  # photos the registered request could not take (said after)
        self._prefilled = ""  # the place as last filled from the resident's address
        self.picker = ResidentPicker(services, self)
        self.picker.resident_changed.connect(self._on_resident_changed)
        who = QGroupBox("居民")
        QVBoxLayout(who).addWidget(self.picker)
        self.place = QLineEdit(placeholderText="诉求发生的地址，例如：幸福里一区3号楼东侧；选择居民后自动填入其住址")
        self.block = QComboBox()
        self.block.addItem(NO_BLOCK, "")
        self.route_note = QLabel()
        self.route_note.setObjectName("hint")
        place_box = QGroupBox("地点")
        place_form = QFormLayout(place_box)
        place_form.addRow("地址", self.place)
        block_row = QHBoxLayout()
        block_row.addWidget(self.block, 1)
        block_row.addWidget(self.route_note, 1)
        place_form.addRow("块区", block_row)
        self.category = QComboBox()
        self.urgency = QButtonGroup(self)
        urgency_row = QHBoxLayout()
        for i, (key, label) in enumerate(URGENCY_LABELS.items()):
            b = QRadioButton(label)
            b.setProperty("code", key)
            b.setChecked(i == 0)
            self.urgency.addButton(b, i)
            urgency_row.addWidget(b)
        urgency_row.addStretch(1)
        self.description = QPlainTextEdit(placeholderText="居民反映的情况：什么问题、从何时起、有何影响")
        self.description.setTabChangesFocus(True)
        self.description.setMinimumHeight(80)
        self.photos = QListWidget()
        self.photos.setFixedHeight(34)
        self.photos.setFlow(QListWidget.LeftToRight)
        self.photo_button = QPushButton("添加照片…")
        self.photo_button.setAutoDefault(False)
        self.photo_button.setToolTip("选择现场照片文件；登记后也可在诉求窗口中用高拍仪拍照")
        self.photo_button.clicked.connect(self._on_photo_clicked)
        photo_row = QHBoxLayout()
        photo_row.addWidget(self.photos, 1)
        photo_row.addWidget(self.photo_button)
        what = QGroupBox("诉求")
        what_form = QFormLayout(what)
        top_row = QHBoxLayout()
        top_row.addWidget(self.category, 1)
        top_row.addSpacing(16)
        top_row.addWidget(QLabel("紧急程度"))
        top_row.addLayout(urgency_row)
        what_form.addRow("类别", top_row)
        what_form.addRow("描述", self.description)
        what_form.addRow("照片", photo_row)
        self.message = MessageLine(self, lines=2)  # the reserved line: a refusal moves nothing
        self.register_button = QPushButton("登记并转块长")
        self.register_button.setDefault(True)
        self.register_button.setToolTip("登记诉求，由块区的块长负责在 24 小时内反馈居民（Ctrl+回车）")
        self.solved_button = QPushButton("当场解决…")
        self.solved_button.setAutoDefault(False)
        self.solved_button.setToolTip("当场已为居民解决：填写处理结果，登记并办结")
        self.property_button = QPushButton("已联系物业…")
        self.property_button.setAutoDefault(False)
        self.property_button.setToolTip("已电话联系物业等处理单位：记录处理人、电话和承诺时间")
        self.cancel_button = QPushButton("取消")
        self.cancel_button.setAutoDefault(False)
        self.register_button.clicked.connect(lambda: self.submit(None))
        self.solved_button.clicked.connect(self._on_solved_clicked)
        self.property_button.clicked.connect(self._on_property_clicked)
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        for b in (self.property_button, self.solved_button, self.register_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(who)
        layout.addWidget(place_box)
        layout.addWidget(what, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._route_timer = QTimer(self, singleShot=True, interval=250)
        self._route_timer.timeout.connect(self._route)
        self.place.textChanged.connect(lambda _t: self._route_timer.start())
        self.block.currentIndexChanged.connect(lambda _i: self._show_block_note())
        # Enter in a one-line field goes on to the next field (as a form is filled), never registers half a request.
        for edit in (self.picker.search, self.picker.contact_name, self.picker.contact_phone, self.place):
            edit.installEventFilter(self)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):  # from any field, as the wizard completes
            QShortcut(QKeySequence(keys), self, activated=lambda: self.submit(None))
        self._load()
        self.picker.search.setFocus()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Return, Qt.Key_Enter) \
                and not event.modifiers() & Qt.ControlModifier:
            self.focusNextChild()
            return True
        return super().eventFilter(obj, event)

    # ----- reference data: categories, blocks and the workers who lead them -----------------------------------
    def _load(self) -> None:
        svc, auth = self.services.requests, self.services.auth

        def read():
            return svc.categories(), svc.blocks(), {w.id: w.display_name for w, _locked in auth.list_workers()}
        run_op(self, read, self._on_loaded, self.message.show_error)

    def _on_loaded(self, result) -> None:
        categories, self.blocks, self.names = result
        self.category.clear()
        for code, label in categories:
            self.category.addItem(label, code)
        while self.block.count() > 1:
            self.block.removeItem(1)
        for b in self.blocks:
            self.block.addItem(block_text(b, self.names), b.code)
        self._show_block_note()

    # ----- the place and its 块区 ---------------------------------------------------------------------------
    def _on_resident_changed(self, row) -> None:
        """The resident's address is the place unless the worker wrote another one."""
        if row is None or not row.address:
            return
        if not self.place.text().strip() or self.place.text() == self._prefilled:
            self._prefilled = row.address
            self.place.setText(row.address)

    def _route(self) -> None:
        text, svc = self.place.text().strip(), self.services.requests
        if not text:
            return
        run_op(self, lambda: svc.route(text), lambda block: self._on_routed(text, block), lambda _m: None)

    def _on_routed(self, text: str, block) -> None:
        if text != self.place.text().strip():
            return  # an answer to an older text
        self.block.setCurrentIndex(max(0, self.block.findData(block.code)) if block is not None else 0)
        self.route_note.setText("按地址归入该块区" if block is not None else "该地址不在任何块区，可手动选择")

    def _show_block_note(self) -> None:
        if self.block.currentIndex() == 0:
            self.route_note.setText("未选块区：由登记人负责反馈" if self.blocks else "本会尚未划分块区：由登记人负责")

    # ----- photos -----------------------------------------------------------------------------------------
    def _on_photo_clicked(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "选择现场照片", "", PHOTO_FILTER)
        for n in names:
            self.add_photo(Path(n))

    def add_photo(self, path: Path) -> None:
        self.photo_paths.append(path)
        self.photos.addItem(path.name)

    # ----- finishing ---------------------------------------------------------------------------------------
    def values(self) -> dict:
        checked = self.urgency.checkedButton()
        return {**self.picker.values(), "category": self.category.currentData() or "",
                "urgency": checked.property("code") if checked is not None else "normal",
                "place": self.place.text().strip(), "block_code": self.block.currentData() or "",
                "description": self.description.toPlainText().strip()}

    def register_call(self, on_spot: str | None = None, **extra):
        """The registration as one call off the UI thread, then the photos (a photo refused is said, the request
        stays registered): returns (detail, [messages of photos not added])."""
        svc, attachments, actor = self.services.requests, self.services.attachments, self.services.current_worker
        values, paths = self.values(), list(self.photo_paths)

        def call():
            detail = svc.register(actor, **values, on_spot=on_spot, **extra)
            problems = []
            for p in paths:
                try:
                    attachments.add_file(actor, detail.summary.id, PHOTO_MATERIAL, p)
                except Exception as e:  # the request is registered: the worker reads why a photo is not
                    problems.append(f"{p.name}：{error_message(e)}")
            return detail, problems
        return call

    def submit(self, on_spot: str | None = None, **extra) -> None:
        if self.busy:
            return
        self._set_busy(True)
        self.message.show_note("正在登记…")
        run_op(self, self.register_call(on_spot, **extra), self._on_registered, self._on_refused)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for b in (self.register_button, self.solved_button, self.property_button):
            b.setEnabled(not busy)

    def _on_refused(self, message: str) -> None:
        self._set_busy(False)
        self.message.show_error(message)

    def _on_registered(self, result) -> None:
        detail, problems = result
        self._set_busy(False)
        self.detail = detail
        self.photo_problems = problems
        self.registered.emit(detail)
        self.accept()

    def _on_solved_clicked(self) -> None:
        self._open_finish(SolvedDialog(self))

    def _on_property_clicked(self) -> None:
        self._open_finish(PropertyDialog(self, self.services.clock()))

    def _open_finish(self, dialog: ActionDialog) -> None:
        dialog.refused.connect(self.message.show_error)
        dialog.finished.connect(lambda result, d=dialog: self._on_finish_done(d, result))
        dialog.open()

    def _on_finish_done(self, dialog, result: int) -> None:
        dialog.deleteLater()
        if result == QDialog.Accepted and dialog.result_value is not None:
            self._on_registered(dialog.result_value)


class SolvedDialog(ActionDialog):
    """当场解决: the result is required; the request is registered and closed in one go."""

    def __init__(self, intake: RequestIntakeDialog):
        super().__init__("当场解决", "登记并办结", intake)
        self.intake = intake
        self.result_text = self.note_edit("当场如何解决的，例如：已为居民联系保洁清理楼道杂物")
        self.form.addRow("处理结果", self.result_text)

    def submit(self):
        return self.intake.register_call("solved", result=self.result_text.toPlainText().strip())


class PropertyDialog(ActionDialog):
    """已联系物业: who took it on (name and phone) and by when they promised to deal with it."""

    def __init__(self, intake: RequestIntakeDialog, now):
        super().__init__("已联系物业", "登记并记录", intake)
        self.intake = intake
        self.handler_name = QLineEdit(placeholderText="例如：幸福里物业 张经理")
        self.handler_phone = QLineEdit(placeholderText="处理人的联系电话")
        self.promised = promised_edit(now, hours=24)
        self.form.addRow("处理人", self.handler_name)
        self.form.addRow("联系电话", self.handler_phone)
        self.form.addRow("承诺时间", self.promised)
        note = QLabel("将记录为已转交物业处理，并已当面告知居民；块长仍负责跟进。")
        note.setObjectName("hint")
        note.setWordWrap(True)
        self.form.addRow("", note)

    def submit(self):
        return self.intake.register_call("property", handler_name=self.handler_name.text().strip(),
                                         handler_phone=self.handler_phone.text().strip(),
                                         promised_at=edited_time(self.promised))
