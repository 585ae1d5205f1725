"""拍照/扫描 for one material of a case (issue 15 part 4): pages from the document camera, a scanner or files,
attached as ONE attachment when the worker presses 完成.

The preview is a label painting the frames of the capture session's video sink (camera.py): the same code
whether the frames come from a 高拍仪, a webcam or the virtual camera. Space is the shutter wherever the focus
is. Pages from the camera, the scanner and files share one list (thumbnails; Delete removes the selected page,
dragging reorders). 完成 hands the images to ``services.attachments.add_images`` off the UI thread (a PDF file is
added as it is, with ``add_file``); 取消 discards the pages. Camera trouble is said in Chinese where the preview
is; without a camera, 从文件添加 and 扫描 still work.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.core.changes import Changes
from app.core.limits import ATTACHMENT_MAX_BYTES, ATTACHMENT_MAX_PAGES
from app.desk.attachments.pdf import looks_like_pdf
from app.desk.devices.base import DeviceKind
from app.desk.devices.scanner import FolderScanner, WatchedFolder, default_folder
from ui.devices.camera import (
    CAPTURE_FAILED,
    NO_CAMERA,
    NOT_READY,
    CameraSource,
    FrameSource,
    VirtualSource,
    camera_devices,
    jpeg_bytes,
)
from ui.devices.capture_parts import (
    FILE_FILTER,
    FOLDER_POLL_MS,
    SIM_CAMERA,
    THUMB,
    Attached,
    Page,
    PreviewLabel,
    device_registry,
    pdf_thumb,
)
from ui.operations import run_op
from ui.screen_fit import resize_to_fit

log = logging.getLogger(__name__)


class CaptureDialog(QDialog):
    attached = Signal(object)  # Attached, after 完成 saved the pages

    def __init__(self, services, case_id, material: str, parent=None, *, source: FrameSource | None = None,
                 scanner=None):
        super().__init__(parent)
        self.services, self.case_id, self.material = services, case_id, material
        self.busy = False
        self.source: FrameSource | None = None
        self.pages: dict[int, Page] = {}
        self._ids = itertools.count(1)
        self._offered: list[Path] = []  # complete scans in the watched folder, not yet in the list
        self.setWindowTitle(f"拍照/扫描：{material or '其他材料'}")
        resize_to_fit(self, 1060, 700)
        registry = device_registry(services)
        self.scanner = scanner if scanner is not None else self._configured_scanner(registry)
        self.folder: WatchedFolder | None = getattr(self.scanner, "folder", None)
        self._build()
        self._connect()
        self.colour_changed()
        self._fixed_source = source is not None
        if source is not None:
            self._use_source(source)
        else:
            self._fill_cameras(registry)
        if self.folder is not None:
            self._start_folder()
        self._refresh()

    # ----- building ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        title = QLabel(f"{self.material or '其他材料'}：拍照或扫描")
        title.setObjectName("dialogTitle")
        keys = QLabel("空格键：拍照　　Delete：删除所选页　　拖动缩略图可调整页序；完成后所有页合成一份附件")
        keys.setObjectName("hint")
        self.preview = PreviewLabel()
        self.camera_label = QLabel("摄像头")
        self.camera_combo = QComboBox()
        self.camera_combo.setMinimumWidth(220)
        self.mono = QRadioButton("黑白（文件）")
        self.colour = QRadioButton("彩色（照片、印章）")
        self.mono.setChecked(True)
        self.colour_group = QButtonGroup(self)
        self.colour_group.addButton(self.mono)
        self.colour_group.addButton(self.colour)
        self.reconnect_button = QPushButton("重新连接")
        self.reconnect_button.setToolTip("摄像头插好或其他程序关闭后，重新打开摄像头")
        options = QHBoxLayout()
        options.addWidget(self.camera_label)
        options.addWidget(self.camera_combo)
        options.addWidget(self.reconnect_button)
        options.addStretch(1)
        options.addWidget(self.mono)
        options.addWidget(self.colour)
        self.shutter_button = QPushButton("拍照（空格）")
        self.shutter_button.setObjectName("primary")
        self.scan_button = QPushButton("扫描")
        self.file_button = QPushButton("从文件添加…")
        shoot = QHBoxLayout()
        shoot.addWidget(self.shutter_button, 2)
        shoot.addWidget(self.scan_button, 1)
        shoot.addWidget(self.file_button, 1)
        left = QVBoxLayout()
        left.addWidget(self.preview, 1)
        left.addLayout(options)
        left.addLayout(shoot)
        left.addWidget(self._folder_bar())
        right = QVBoxLayout()
        self.count_label = QLabel()
        self.count_label.setObjectName("sectionTitle")
        self.page_list = QListWidget()
        self.page_list.setViewMode(QListView.IconMode)
        self.page_list.setIconSize(THUMB)
        self.page_list.setGridSize(QSize(THUMB.width() + 22, THUMB.height() + 34))
        self.page_list.setMovement(QListView.Snap)
        self.page_list.setResizeMode(QListView.Adjust)
        self.page_list.setDragDropMode(QAbstractItemView.InternalMove)
        self.page_list.setDefaultDropAction(Qt.MoveAction)
        self.page_list.setSelectionMode(QAbstractItemView.SingleSelection)
        self.page_list.setMinimumWidth(2 * (THUMB.width() + 22) + 24)
        self.empty_hint = QLabel("还没有页面。\n按空格键拍照，或点“扫描”“从文件添加…”。")
        self.empty_hint.setObjectName("hint")
        self.empty_hint.setAlignment(Qt.AlignCenter)
        self.delete_button = QPushButton("删除所选页")
        self.earlier_button = QPushButton("前移")
        self.later_button = QPushButton("后移")
        edit = QHBoxLayout()
        edit.addWidget(self.earlier_button)
        edit.addWidget(self.later_button)
        edit.addStretch(1)
        edit.addWidget(self.delete_button)
        right.addWidget(self.count_label)
        right.addWidget(self.page_list, 1)
        right.addWidget(self.empty_hint)
        right.addLayout(edit)
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addLayout(right, 2)
        self.message = QLabel()
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.cancel_button = QPushButton("取消")
        self.done_button = QPushButton("完成")
        self.done_button.setMinimumWidth(180)
        self.folder_hint = QLabel()
        self.folder_hint.setObjectName("hint")
        self.folder_hint.setWordWrap(True)
        self.folder_hint.setVisible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.folder_hint, 1)
        buttons.addStretch(0)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.done_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(keys)
        layout.addLayout(body, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

    def _folder_bar(self) -> QWidget:
        self.folder_bar = QFrame()
        self.folder_bar.setObjectName("insistBox")  # the amber notice frame of the stylesheet
        self.folder_text = QLabel()
        self.folder_text.setWordWrap(True)
        self.import_button = QPushButton("导入扫描件")
        row = QHBoxLayout(self.folder_bar)
        row.setContentsMargins(10, 6, 10, 6)
        row.addWidget(self.folder_text, 1)
        row.addWidget(self.import_button)
        self.folder_bar.setVisible(False)
        return self.folder_bar

    def _connect(self) -> None:
        QShortcut(QKeySequence(Qt.Key_Space), self, self.shoot)  # before any focused button could take Space
        delete = QShortcut(QKeySequence(QKeySequence.Delete), self.page_list, self.delete_selected)
        delete.setContext(Qt.WidgetWithChildrenShortcut)  # not context=: PySide6 6.12 drops it there
        self.shutter_button.clicked.connect(self.shoot)
        self.scan_button.clicked.connect(self.scan)
        self.file_button.clicked.connect(self.add_from_files)
        self.delete_button.clicked.connect(self.delete_selected)
        self.earlier_button.clicked.connect(lambda: self._move_selected(-1))
        self.later_button.clicked.connect(lambda: self._move_selected(1))
        self.import_button.clicked.connect(self.import_scans)
        self.cancel_button.clicked.connect(self.reject)
        self.done_button.clicked.connect(self.finish)
        self.reconnect_button.clicked.connect(self._reconnect)
        self.colour.toggled.connect(lambda _c: self.colour_changed())
        self.camera_combo.currentIndexChanged.connect(self._on_camera_chosen)
        self.page_list.model().rowsMoved.connect(lambda *_a: self._refresh())
        self.page_list.itemSelectionChanged.connect(self._refresh)

    # ----- the camera ----------------------------------------------------------------------------------------
    def _fill_cameras(self, registry) -> None:
        """The cameras Qt sees (a desk with several gets a choice); the simulated one on a demo desk."""
        chosen = registry.configured_name(DeviceKind.CAMERA) if registry is not None else ""
        if chosen == SIM_CAMERA:
            self._use_source(VirtualSource(parent=self))
            return
        self._media = QMediaDevices(self)
        self._media.videoInputsChanged.connect(self._on_cameras_changed)
        self._list_cameras(chosen)

    def _list_cameras(self, chosen: str = "") -> None:
        cameras = camera_devices()
        self.camera_combo.blockSignals(True)
        self.camera_combo.clear()
        for d in cameras:
            self.camera_combo.addItem(d.description(), d)
        default = QMediaDevices.defaultVideoInput()
        index = next((i for i, d in enumerate(cameras) if d == default), 0)
        if chosen.startswith("camera-") and chosen[7:].isdigit() and int(chosen[7:]) < len(cameras):
            index = int(chosen[7:])
        self.camera_combo.setCurrentIndex(index)
        self.camera_combo.blockSignals(False)
        if not cameras:
            self._drop_source()
            self.preview.show_message(NO_CAMERA)
            self.reconnect_button.setVisible(True)  # for a camera plugged in later that Qt does not announce
        else:
            self._on_camera_chosen(index)
        self._refresh()

    def _on_cameras_changed(self) -> None:
        """A camera plugged in or out while the dialog is open."""
        current = self.camera_combo.currentData()
        names = [d.id() for d in camera_devices()]
        if current is None or current.id() not in names:
            self._list_cameras()
        else:
            self._refresh_camera_choice()

    def _refresh_camera_choice(self) -> None:
        many = self.camera_combo.count() > 1 and not self._fixed_source
        self.camera_label.setVisible(many)
        self.camera_combo.setVisible(many)

    def _on_camera_chosen(self, index: int) -> None:
        device = self.camera_combo.itemData(index)
        if device is not None:
            self._use_source(CameraSource(device, self))

    def _use_source(self, source: FrameSource) -> None:
        self._drop_source()
        self.source = source
        source.setParent(self)
        source.set_sink(self.preview.sink)
        source.captured.connect(self._on_captured)
        source.failed.connect(self._on_camera_failed)
        self.preview.show_message("正在打开摄像头…")
        self.reconnect_button.setVisible(False)
        source.start()
        self._refresh()

    def _drop_source(self) -> None:
        if self.source is not None:
            self.source.stop()
            self.source.captured.disconnect(self._on_captured)
            self.source.failed.disconnect(self._on_camera_failed)
            self.source.deleteLater()
            self.source = None

    def _reconnect(self) -> None:
        if isinstance(self.source, CameraSource) or self.source is None:
            self._list_cameras()
        else:
            self._use_source(self.source)

    def _on_camera_failed(self, message: str) -> None:
        if self.preview.has_picture and message in (NOT_READY, CAPTURE_FAILED):
            self._say(message)  # one shot failed; the picture is still live
            return
        self.preview.show_message(message)
        self.reconnect_button.setVisible(True)
        self._refresh()

    def shoot(self) -> None:
        if self.busy:
            return
        if self.source is None:
            self._say(NO_CAMERA if not camera_devices() else "请先选择摄像头。")
            return
        if not self.preview.has_picture:
            self._say("摄像头还没有画面，请稍候再拍。")
            return
        self._say("")
        self.source.shoot()

    def _on_captured(self, image: QImage) -> None:
        self.add_page(Page(jpeg_bytes(image), "camera", image.scaled(THUMB, Qt.KeepAspectRatio,
                                                                     Qt.SmoothTransformation)))

    # ----- the scanner ---------------------------------------------------------------------------------------
    @staticmethod
    def _configured_scanner(registry):
        """The chosen scanner; without one, the watched folder (every scanner's software can save to it)."""
        chosen = registry.configured(DeviceKind.SCANNER) if registry is not None else None
        if chosen is not None:
            return chosen
        folder = ""
        if registry is not None:
            from app.desk.devices.registry import OPTION_WATCH_FOLDER
            folder = registry.config.option(DeviceKind.SCANNER, OPTION_WATCH_FOLDER)
        return FolderScanner(WatchedFolder(Path(folder) if folder else default_folder()))

    def _start_folder(self) -> None:
        assert self.folder is not None
        try:
            self.folder.ensure()
        except Exception as e:  # ScanError: a Chinese message
            self._say(str(e))
            return
        self.folder_hint.setText(f"扫描件保存到“{self.folder.path}”即可导入")
        self.folder_hint.setToolTip("在扫描仪软件中把保存位置设为这个文件夹；导入后的文件移到其中的 imported 文件夹")
        self.folder_hint.setVisible(True)
        self.folder_timer = QTimer(self, interval=FOLDER_POLL_MS)
        self.folder_timer.timeout.connect(self.poll_folder)
        self.folder_timer.start()
        self.poll_folder()

    def poll_folder(self) -> None:
        """New complete scans in the folder: offered with 导入扫描件 (each once)."""
        if self.folder is None:
            return
        self._offered += [p for p in self.folder.poll() if p not in self._offered]
        self._show_folder()

    def _show_folder(self) -> None:
        n = len(self._offered)
        self.folder_text.setText(f"扫描文件夹中有 {n} 个新扫描件：{'、'.join(p.name for p in self._offered[:3])}"
                                 + ("等" if n > 3 else ""))
        self.folder_bar.setVisible(n > 0)

    def import_scans(self) -> None:
        for path in list(self._offered):
            if self._add_file(path, "scanner"):
                self._offered.remove(path)
        self._show_folder()

    def scan(self) -> None:
        if self.busy:
            return
        if self.folder is not None:
            self.poll_folder()
            self._say(f"请在扫描仪上扫描，扫描件保存到“{self.folder.path}”后会出现在这里，点“导入扫描件”加入。"
                      if not self._offered else "")
            return
        scanner, colour = self.scanner, self.colour.isChecked()
        self.busy = True
        self._say("正在扫描，请稍候…")
        self._refresh()
        run_op(self, lambda: scanner.scan(color=colour), self._on_scanned, self._on_failed)

    def _on_scanned(self, pages: list[bytes]) -> None:
        self.busy = False
        self._say("")
        for data in pages:
            self._add_image(data, "scanner", "扫描件")
        self._refresh()

    # ----- files ---------------------------------------------------------------------------------------------
    def add_from_files(self) -> None:
        paths, _f = QFileDialog.getOpenFileNames(self, "选择要添加的图片或 PDF", str(Path.home()), FILE_FILTER)
        for p in paths:
            self._add_file(Path(p), "file")

    def _add_file(self, path: Path, source: str) -> bool:
        try:
            size = path.stat().st_size
            if size > ATTACHMENT_MAX_BYTES:
                self._say(f"文件太大，不能添加：{path.name}（最大 {ATTACHMENT_MAX_BYTES // 1024 // 1024} MB）")
                return False
            data = path.read_bytes()
        except OSError as e:
            self._say(f"无法读取文件 {path.name}：{e.strerror or e}")
            return False
        if looks_like_pdf(data):  # the attachment service's own test of a PDF
            return self.add_page(Page(data, source, pdf_thumb(path.name), path.name, path, is_pdf=True))
        if path.suffix.lower() == ".pdf":
            self._say(f"无法添加 {path.name}：该文件不是完整的 PDF 文件（缺少文件头或结尾），可能已损坏")
            return False
        return self._add_image(data, source, path.name, path)

    def _add_image(self, data: bytes, source: str, name: str, path: Path | None = None) -> bool:
        image = QImage.fromData(data)
        if image.isNull():
            self._say(f"无法识别的图片：{name}（请添加 JPG、PNG、TIFF 图片或 PDF）")
            return False
        return self.add_page(Page(data, source, image.scaled(THUMB, Qt.KeepAspectRatio, Qt.SmoothTransformation),
                                  name, path))

    # ----- the page list -------------------------------------------------------------------------------------
    def add_page(self, page: Page) -> bool:
        if sum(not p.is_pdf for p in self.pages.values()) >= ATTACHMENT_MAX_PAGES and not page.is_pdf:
            self._say(f"一份材料最多 {ATTACHMENT_MAX_PAGES} 页；请先完成本份，再另拍一份。")
            return False
        key = next(self._ids)
        self.pages[key] = page
        item = QListWidgetItem()
        item.setData(Qt.UserRole, key)
        item.setToolTip(page.name or {"camera": "拍照", "scanner": "扫描件", "file": "文件"}.get(page.source, ""))
        item.setFlags(item.flags() & ~Qt.ItemIsDropEnabled)
        self.page_list.addItem(item)
        self.page_list.setCurrentItem(item)
        self.page_list.scrollToItem(item)
        self._paint_thumb(item)
        self._refresh()
        return True

    def _paint_thumb(self, item: QListWidgetItem) -> None:
        page = self.pages[item.data(Qt.UserRole)]
        image = page.thumb if self.colour.isChecked() or page.is_pdf else page.thumb.convertToFormat(
            QImage.Format_Grayscale8)
        item.setIcon(QIcon(QPixmap.fromImage(image)))

    def colour_changed(self) -> None:
        for i in range(self.page_list.count()):
            self._paint_thumb(self.page_list.item(i))

    def ordered_pages(self) -> list[Page]:
        return [self.pages[self.page_list.item(i).data(Qt.UserRole)] for i in range(self.page_list.count())]

    def delete_selected(self) -> None:
        row = self.page_list.currentRow()
        if row < 0 or self.busy:
            return
        item = self.page_list.takeItem(row)
        page = self.pages.pop(item.data(Qt.UserRole))
        if page.path is not None and self.folder is not None and page.source == "scanner":
            self.folder.release(page.path)  # back to the folder's offer
        self._refresh()

    def _move_selected(self, step: int) -> None:
        row = self.page_list.currentRow()
        if row < 0 or not 0 <= row + step < self.page_list.count():
            return
        item = self.page_list.takeItem(row)
        self.page_list.insertItem(row + step, item)
        self.page_list.setCurrentRow(row + step)
        self._refresh()

    def _refresh(self) -> None:
        pages = self.ordered_pages()
        for i in range(self.page_list.count()):
            item = self.page_list.item(i)
            page = self.pages[item.data(Qt.UserRole)]
            item.setText(f"第 {i + 1} 页" + ("（PDF）" if page.is_pdf else ""))
        n = len(pages)
        self.count_label.setText(f"已添加 {n} 页" if n else "已添加 0 页")
        self.empty_hint.setVisible(n == 0)
        self.done_button.setText(f"完成（保存 {n} 页）" if n else "完成")
        self.done_button.setEnabled(n > 0 and not self.busy)
        self.done_button.setDefault(n > 0)
        has_selection = self.page_list.currentRow() >= 0
        for b in (self.delete_button, self.earlier_button, self.later_button):
            b.setEnabled(has_selection and not self.busy)
        live = self.source is not None and not self.busy
        self.shutter_button.setEnabled(live)
        self.scan_button.setEnabled(not self.busy)
        self.file_button.setEnabled(not self.busy)
        self._refresh_camera_choice()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # ----- 完成 / 取消 -----------------------------------------------------------------------------------------
    def finish(self) -> None:
        pages = self.ordered_pages()
        if self.busy or not pages:
            return
        images = [p for p in pages if not p.is_pdf]
        pdfs = [p for p in pages if p.is_pdf]
        svc, actor, cid, material = self.services.attachments, self.services.current_worker, self.case_id, \
            self.material
        colour, folder = self.colour.isChecked(), self.folder
        sources = {p.source for p in images}
        source = next(s for s in ("camera", "scanner", "file", "") if s in sources or s == "")

        def save() -> Attached:
            infos = []
            if images:
                infos.append(svc.add_images(actor, cid, material, [p.data for p in images], source=source,
                                            color=colour))
            for p in pdfs:
                infos.append(svc.add_file(actor, cid, material, p.path, source=p.source))
            for p in pages:  # attached: a scan leaves the watched folder (kept under imported/)
                if folder is not None and p.source == "scanner" and p.path is not None:
                    folder.mark_imported(p.path)
            return Attached(infos, Changes(cases=True, sync_status=True))
        self.busy = True
        self._say("")
        self.done_button.setText("正在保存…")
        self._refresh_buttons_busy()
        run_op(self, save, self._on_saved, self._on_failed)

    def _refresh_buttons_busy(self) -> None:
        for b in (self.done_button, self.cancel_button, self.shutter_button, self.scan_button, self.file_button,
                  self.delete_button, self.earlier_button, self.later_button, self.import_button):
            b.setEnabled(False)

    def _on_saved(self, result: Attached) -> None:
        self.busy = False
        self.attached.emit(result)
        self._close_devices()
        self.done(QDialog.Accepted)

    def _on_failed(self, message: str) -> None:
        self.busy = False
        self.cancel_button.setEnabled(True)
        self.import_button.setEnabled(True)
        self._say(message)
        self._refresh()

    def reject(self) -> None:
        """取消 / Esc: the pages are discarded (asked first when there are some); nothing is attached."""
        if self.busy:
            return
        n = len(self.pages)
        if n and QMessageBox.question(self, "取消", f"放弃已添加的 {n} 页？这些页面不会保存。",
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No) != QMessageBox.Yes:
            return
        if self.folder is not None:
            for p in self.pages.values():
                if p.source == "scanner" and p.path is not None:
                    self.folder.release(p.path)
        self._close_devices()
        super().reject()

    def _close_devices(self) -> None:
        """Stop the camera and the folder watch; scans offered but not taken are offered again next time."""
        if self.folder is not None:
            for path in self._offered:
                self.folder.release(path)
            self._offered = []
        timer = getattr(self, "folder_timer", None)
        if timer is not None:
            timer.stop()
        self._drop_source()
