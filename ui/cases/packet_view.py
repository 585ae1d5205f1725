"""The case packet in the case window (issue 15), read-only: the applicant and the agent, the answers by wizard
step, and the materials as received with their files (查看, 下载, 添加材料…, 从文件添加…).

The packet comes from :class:`app.desk.packet.PacketService` as plain data; these widgets only lay it out. ID
numbers and phones arrive masked; 查看完整证件号 (roles that may) asks the service, which audits the view.
A file that is not on this desk is listed with its status (附件上传中 / 缺失 / 可下载): it never blocks anything.
查看 shows an image in a simple viewer and a PDF through QtPdf (``QPdfView``), from memory.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.vocabulary import CHINA_TZ
from app.desk.attachments import MISSING, ON_DEMAND, UPLOADING, AttachmentInfo
from app.desk.packet import MADE_UP, NOT_NEEDED, NOT_RECEIVED, OTHER_MATERIAL, OWED, RECEIVED, CasePacket, MaterialRow
from ui.operations import run_op
from ui.residents import residence_text
from ui.screen_fit import resize_to_fit

log = logging.getLogger(__name__)

# The marks beside a material's status on screen (paper prints the words only: its font has no such glyphs).
STATUS_MARKS = {RECEIVED: "✓", MADE_UP: "✓", NOT_RECEIVED: "✗", OWED: "△"}
STATUS_COLOURS = {RECEIVED: "#1a7f37", MADE_UP: "#1a7f37", NOT_RECEIVED: "#c62828", OWED: "#b26a00",
                  NOT_NEEDED: "#777777"}
ABSENT = (UPLOADING, MISSING, ON_DEMAND)  # not on this desk: shown, never opened
FILE_FILTER = "图片或 PDF 文件 (*.jpg *.jpeg *.png *.pdf);;所有文件 (*)"


def _fmt(when) -> str:
    return when.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if when else "—"


def _value_label(text: str, name: str = "packetValue") -> QLabel:
    label = QLabel(text or "—")
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label


def _key_label(text: str) -> QLabel:
    """A question's label: grey, left-aligned, wrapped (a long 是否… question takes two lines, not a cramped five)."""
    label = QLabel(text)
    label.setObjectName("packetKey")
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
    label.setStyleSheet("color: #555;")
    return label


def _clear(layout) -> None:
    while layout.count():
        child = layout.takeAt(0)
        widget = child.widget()
        if widget is not None:
            widget.hide()
            widget.deleteLater()


def status_text(status: str) -> str:
    mark = STATUS_MARKS.get(status)
    return f"{mark} {status}" if mark else status


class RowsModel(QAbstractTableModel):
    """A read-only table of text rows with the object each row stands for (a material, a file)."""

    def __init__(self, headers: list[str], parent=None):
        super().__init__(parent)
        self.headers = headers
        self.rows: list[tuple[str, ...]] = []
        self.items: list[object] = []
        self.colours: list[dict[int, str]] = []

    def set_rows(self, rows: list[tuple[tuple[str, ...], object, dict[int, str]]]) -> None:
        self.beginResetModel()
        self.rows = [r for r, _, _ in rows]
        self.items = [i for _, i, _ in rows]
        self.colours = [c for _, _, c in rows]
        self.endResetModel()

    def row_at(self, row: int):
        return self.items[row] if 0 <= row < len(self.items) else None

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self.rows)):
            return None
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return self.rows[index.row()][index.column()]
        if role == Qt.ForegroundRole and index.column() in self.colours[index.row()]:
            return QBrush(QColor(self.colours[index.row()][index.column()]))
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal and 0 <= section < len(self.headers):
            return self.headers[section]
        return None


def _table_view(model: RowsModel, name: str) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.verticalHeader().hide()
    view.setEditTriggers(QAbstractItemView.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectRows)
    view.setSelectionMode(QAbstractItemView.SingleSelection)
    view.setTabKeyNavigation(False)
    view.setWordWrap(True)
    view.horizontalHeader().setStretchLastSection(True)
    return view


# --------------------------------------------------------------------------- 申请人 / 代办人


class PeopleBox(QGroupBox):
    """The applicant (with 户籍 / 居住证 as the core derived them) and the agent; 查看完整证件号 when allowed."""

    reveal_requested = Signal()

    def __init__(self, parent=None):
        super().__init__("申请人与代办人", parent)
        self.setObjectName("packetPeople")
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignRight)
        self.values: dict[str, QLabel] = {}
        self.reveal_button = QPushButton("查看完整证件号")
        self.reveal_button.setToolTip("显示完整的身份证号码和电话；每次查看都会记入审计日志")
        self.reveal_button.clicked.connect(self.reveal_requested.emit)
        self.revealed_hint = QLabel("已显示完整号码（本次查看已记入审计日志）")
        self.revealed_hint.setObjectName("hint")
        row = QHBoxLayout()
        row.addWidget(self.revealed_hint)
        row.addStretch(1)
        row.addWidget(self.reveal_button)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addLayout(row)

    def show_packet(self, p: CasePacket) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.values = {}
        rows: list[tuple[str, str]] = []
        a = p.applicant
        if a is None:
            rows.append(("申请人", "（未登记申请人）"))
        else:
            rows += [("申请人", a.name), ("身份证号", a.id_text), ("联系电话", a.phone_text)]
            if a.resident is not None:
                rows += [("户籍", residence_text.hukou(a.resident)), ("人户分离", residence_text.separated(a.resident)),
                         ("居住证", residence_text.permit(a.resident))]
        g = p.agent
        if g is None:
            rows.append(("代办人", "无（本人办理）"))
        else:
            rows += [("代办人", f"{g.name}（{g.relation}）" if g.relation else g.name),
                     ("代办人身份证号", g.id_text), ("代办人电话", g.phone_text)]
        for key, value in rows:
            label = _value_label(value)
            self.values[key] = label
            self.form.addRow(key, label)
        self.reveal_button.setVisible(p.can_reveal and not p.full and (a is not None or g is not None))
        self.revealed_hint.setVisible(p.full)


# --------------------------------------------------------------------------- 申请内容


class AnswersView(QScrollArea):
    """Every answer by wizard step (the computed figures first), the warnings on top; household tables as tables."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("packetAnswers")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        inner = QWidget()
        self.body = QVBoxLayout(inner)
        self.body.setSpacing(10)
        self.setWidget(inner)
        self.sections: dict[str, QGroupBox] = {}
        self.values: dict[tuple[str, str], QLabel] = {}
        self.tables: dict[str, QTableWidget] = {}
        self.warning_label: QLabel | None = None

    def show_packet(self, p: CasePacket) -> None:
        _clear(self.body)
        self.sections, self.values, self.tables, self.warning_label = {}, {}, {}, None
        if p.notice:
            self.body.addWidget(_value_label(p.notice, "warning"))
        if p.warnings:
            box = QGroupBox("受理时的提示")
            box.setObjectName("warningBox")
            self.warning_label = _value_label("\n".join(p.warnings), "warning")
            QVBoxLayout(box).addWidget(self.warning_label)
            self.body.addWidget(box)
        if not p.sections:
            self.body.addWidget(_value_label("本案件没有填写内容。", "hint"))
        for section in p.sections:
            box = QGroupBox(section.title)
            box.setObjectName("packetSection")
            grid = QGridLayout(box)
            grid.setColumnStretch(0, 2)  # question | answer, lined up as on the wizard's review page
            grid.setColumnStretch(1, 3)
            grid.setHorizontalSpacing(16)
            row = 0
            for label, value in section.rows:
                shown = _value_label(value)
                self.values[(section.title, label)] = shown
                grid.addWidget(_key_label(label), row, 0, Qt.AlignTop)
                grid.addWidget(shown, row, 1, Qt.AlignTop)
                row += 1
            for table in section.tables:
                table_widget = self._table(table)
                self.tables[table.title] = table_widget
                grid.addWidget(_key_label(f"{table.title}（共{len(table.rows)}条）"), row, 0, 1, 2)
                grid.addWidget(table_widget, row + 1, 0, 1, 2)
                row += 2
            self.sections[section.title] = box
            self.body.addWidget(box)
        self.body.addStretch(1)

    def show_error(self, message: str) -> None:
        _clear(self.body)
        self.sections, self.values, self.tables, self.warning_label = {}, {}, {}, None
        self.body.addWidget(_value_label(f"申请内容暂时无法显示：{message}", "error"))
        self.body.addStretch(1)

    @staticmethod
    def _table(table) -> QTableWidget:
        grid = QTableWidget(len(table.rows), len(table.columns))
        grid.setObjectName("packetTable")
        grid.setHorizontalHeaderLabels(list(table.columns))
        grid.verticalHeader().hide()
        grid.setEditTriggers(QAbstractItemView.NoEditTriggers)
        grid.setTabKeyNavigation(False)
        grid.setFocusPolicy(Qt.NoFocus)
        for i, row in enumerate(table.rows):
            for j, cell in enumerate(row):
                grid.setItem(i, j, QTableWidgetItem(cell))
        grid.resizeColumnsToContents()
        grid.horizontalHeader().setStretchLastSection(True)
        grid.resizeRowsToContents()
        height = grid.horizontalHeader().sizeHint().height() + sum(grid.rowHeight(i) for i in range(grid.rowCount()))
        grid.setFixedHeight(height + 2 * grid.frameWidth() + 2)
        grid.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        return grid


# --------------------------------------------------------------------------- 材料与附件


class MaterialsView(QWidget):
    """The materials as received (one row each) and the files of the case; buttons act on the selected file or
    on the selected material (添加材料… / 从文件添加…)."""

    changed = Signal()  # a file was added or asked for: the window reads the packet again

    def __init__(self, services, case_id, parent=None):
        super().__init__(parent)
        self.services, self.case_id = services, case_id
        self.packet: CasePacket | None = None
        self.material_model = RowsModel(["材料", "形式", "份数", "收取情况", "说明", "附件"], self)
        self.file_model = RowsModel(["材料", "文件名", "页数", "大小", "添加人", "添加时间", "状态"], self)
        self.materials = _table_view(self.material_model, "packetMaterials")
        self.files = _table_view(self.file_model, "packetFiles")
        self.materials.selectionModel().selectionChanged.connect(self._update_buttons)
        self.files.selectionModel().selectionChanged.connect(self._update_buttons)
        self.files.doubleClicked.connect(lambda _i: self._on_view_clicked())
        self.summary = QLabel()
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.view_button = QPushButton("查看")
        self.download_button = QPushButton("下载")
        self.download_button.setToolTip("该附件在服务器上、尚未下载到本机：下次同步时下载")
        self.capture_button = QPushButton("添加材料…")
        self.capture_button.setToolTip("用高拍仪或扫描仪为所选材料拍照/扫描")
        self.file_button = QPushButton("从文件添加…")
        self.file_button.setToolTip("选择本机的图片或 PDF 文件，作为所选材料的附件")
        self.view_button.clicked.connect(self._on_view_clicked)
        self.download_button.clicked.connect(self._on_download_clicked)
        self.capture_button.clicked.connect(self._on_capture_clicked)
        self.file_button.clicked.connect(self._on_file_clicked)
        self.capture_button.setVisible(capture_dialog_available())
        buttons = QHBoxLayout()
        for b in (self.view_button, self.download_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.capture_button, self.file_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("材料清单（受理时收取情况）"))
        layout.addWidget(self.materials, 3)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel("附件（扫描件、照片和文件）"))
        layout.addWidget(self.files, 2)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._update_buttons()

    # ----- showing ------------------------------------------------------------------------------------------
    def show_packet(self, p: CasePacket) -> None:
        self.packet = p
        rows = []
        for m in p.materials:
            files = len(m.attachments)
            colour = {3: STATUS_COLOURS[m.status]} if m.status in STATUS_COLOURS else {}
            cells = (m.name, m.form or "—", str(m.count) if m.count else "—", status_text(m.status) or "—",
                     m.note, f"{files} 份" if files else "—")
            rows.append((cells, m, colour))
        self.material_model.set_rows(rows)
        files = []
        for m in p.materials:
            for a in m.attachments:
                colour = {6: "#c62828"} if a.status == MISSING else ({6: "#b26a00"} if a.status in ABSENT else {})
                files.append(((m.name if m.name != OTHER_MATERIAL else a.material_label, a.filename,
                               str(a.pages), a.size_label, a.added_by_name or "—", _fmt(a.added_at), a.status),
                              a, colour))
        self.file_model.set_rows(files)
        self._fit(self.materials)
        self._fit(self.files)
        owed = [m for m in p.materials if m.missing]
        text = f"共 {sum(1 for m in p.materials if m.status)} 项材料，附件 {p.attachment_count} 份"
        if owed:
            text += "；未收或待补：" + "、".join(m.name for m in owed)
        self.summary.setText(text + "。")
        self._update_buttons()

    def show_error(self, message: str) -> None:
        self._say(f"材料与附件暂时无法显示：{message}", "error")

    @staticmethod
    def _fit(view: QTableView) -> None:
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        view.resizeRowsToContents()

    def selected_file(self) -> AttachmentInfo | None:
        rows = self.files.selectionModel().selectedRows()
        return self.file_model.row_at(rows[0].row()) if rows else None

    def selected_material(self) -> str:
        """The material to add to: the selected row's, else the selected file's; "" (其他材料) when none."""
        rows = self.materials.selectionModel().selectedRows()
        m: MaterialRow | None = self.material_model.row_at(rows[0].row()) if rows else None
        if m is not None:
            return "" if m.name == OTHER_MATERIAL else m.name
        f = self.selected_file()
        return f.material if f is not None else ""

    def _update_buttons(self, *_args) -> None:
        f = self.selected_file()
        self.view_button.setEnabled(f is not None and f.status not in ABSENT)
        self.download_button.setEnabled(f is not None and f.status == ON_DEMAND)
        label = self.selected_material() or OTHER_MATERIAL
        self.file_button.setToolTip(f"选择本机的图片或 PDF 文件，作为“{label}”的附件")
        self.capture_button.setToolTip(f"用高拍仪或扫描仪为“{label}”拍照/扫描")

    def _say(self, text: str, name: str = "hint") -> None:
        self.message.setObjectName(name)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # ----- acting -------------------------------------------------------------------------------------------
    def _attachments(self):
        return attachment_service(self.services)

    def _on_view_clicked(self) -> None:
        f = self.selected_file()
        if f is None or f.status in ABSENT:
            return
        svc = self._attachments()
        run_op(self, lambda: svc.read(f.id), lambda data: self._show_file(f, data), self._failed)

    def _show_file(self, f: AttachmentInfo, data: bytes) -> None:
        from ui.printing.qt_printing import PrinterFailure
        try:
            dialog = file_viewer(f, data, self)
        except PrinterFailure:
            self._say(f"附件“{f.filename}”无法显示（PDF 文件可能已损坏）。", "error")
            return
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.open()

    def _on_download_clicked(self) -> None:
        """Mark the case's files wanted and fetch them now; what cannot come now comes with the next sync."""
        services, cid = self.services, self.case_id
        self._say("正在从区服务器下载附件…")
        run_op(self, lambda: services.fetch_case_files(cid), self._downloading, self._failed)

    def _downloading(self, counts) -> None:
        if counts.error:
            self._say(f"附件暂未下载：{counts.error}。将在下次同步时下载到本机。", "error")
        elif counts.downloaded:
            self._say(f"已下载 {counts.downloaded} 份附件到本机。")
        else:
            self._say("附件尚在上传中或已在本机，将在同步时自动下载。")
        self.changed.emit()

    def _on_capture_clicked(self) -> None:
        dialog_class = capture_dialog_class()
        if dialog_class is None:
            return
        dialog = dialog_class(self.services, self.case_id, self.selected_material(), self)
        if hasattr(dialog, "attached"):
            dialog.attached.connect(lambda _info: self._added(None))
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.open()

    def _on_file_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择材料文件", "", FILE_FILTER)
        if not path:
            return
        svc, worker, cid, material = self._attachments(), self.services.current_worker, self.case_id, \
            self.selected_material()
        run_op(self, lambda: svc.add_file(worker, cid, material, Path(path)), self._added, self._failed)

    def _added(self, info) -> None:
        if info is not None:
            self._say(f"已添加附件：{info.filename}（{info.material_label}，{info.pages} 页）。")
        self.changed.emit()

    def _failed(self, message: str) -> None:
        self._say(message, "error")


def attachment_service(services):
    """The desk's attachment service (``services.attachments`` once the facade has it)."""
    svc = getattr(services, "attachments", None)
    if svc is None:
        from app.desk.attachments.service import AttachmentService
        svc = AttachmentService(services.ctx)
        services.__dict__["attachments"] = svc
    return svc


def capture_dialog_available() -> bool:
    """Whether the capture dialog is installed, without importing it (QtMultimedia loads its backends on import)."""
    import importlib.util
    try:
        return importlib.util.find_spec("ui.devices.capture_dialog") is not None
    except ImportError:
        return False


def capture_dialog_class():
    """The capture dialog of the document camera (ui/devices/capture_dialog.py); None where it is not there."""
    try:
        from ui.devices.capture_dialog import CaptureDialog
    except ImportError as e:
        log.info("capture dialog unavailable: %s", type(e).__name__)
        return None
    return CaptureDialog


# --------------------------------------------------------------------------- viewing a file


class ImageViewerDialog(QDialog):
    """One image, fitted to the window (scroll for the rest); read-only."""

    def __init__(self, title: str, data: bytes, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"查看附件 — {title}")
        resize_to_fit(self, 760, 860)
        self.pixmap = QPixmap()
        self.pixmap.loadFromData(data)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignCenter)
        self.image.setPixmap(self.pixmap.scaledToWidth(720, Qt.SmoothTransformation) if self.pixmap.width() > 720
                             else self.pixmap)
        scroll = QScrollArea()
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        close = QPushButton("关闭")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(row)


class PdfViewerDialog(QDialog):
    """A PDF attachment rendered by QtPdf, every page, fitted to the width."""

    def __init__(self, title: str, data: bytes, parent=None):
        from PySide6.QtPdfWidgets import QPdfView

        from ui.printing.qt_printing import load_pdf
        super().__init__(parent)
        self.setWindowTitle(f"查看附件 — {title}")
        resize_to_fit(self, 760, 860)
        self.pdf, self._buf = load_pdf(data, self)
        self.view = QPdfView(self)
        self.view.setDocument(self.pdf)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        pages = QLabel(f"共 {self.pdf.pageCount()} 页")
        pages.setObjectName("hint")
        close = QPushButton("关闭")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(pages)
        row.addStretch(1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)


def file_viewer(f: AttachmentInfo, data: bytes, parent=None) -> QDialog:
    """A viewer for the file: images in :class:`ImageViewerDialog`, PDFs in :class:`PdfViewerDialog` (QtPdf).
    The bytes stay in memory: a decrypted copy is never written to disk for a viewer. ``PrinterFailure`` (Chinese)
    when QtPdf cannot read the PDF."""
    if f.mime.startswith("image/"):
        return ImageViewerDialog(f.filename, data, parent)
    return PdfViewerDialog(f.filename, data, parent)
