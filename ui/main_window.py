"""Main window: navigation (办事 待办 居民 统计 设置), pages, status bar, screen lock (Ctrl+L).

The window does not refresh its pages: each page listens on the services' change bus (fed by ``run_op`` and
the sync runner) and re-reads on show. The status bar's counters follow the same bus.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from app.desk.auth import WorkerInfo
from ui.devices.wedge import CodeWedge
from ui.elided_label import ElidedLabel, ElidingStatusBar
from ui.login_dialog import LoginDialog
from ui.operations import run_op
from ui.pages import SettingsPage
from ui.residents.residents_page import ResidentsPage
from ui.resources import icon
from ui.screen_lock import ScreenLock
from ui.services import Services
from ui.stats.stats_page import StatsPage
from ui.sync.update_notice import UpdateNotice

REMINDER_INTERVAL_MS = 15 * 60 * 1000
DEFAULT_SIZE = (1180, 760)
TITLE_BAR = 32  # the window manager's title bar, above the client area a geometry describes
GEOMETRY_FILE = "window.ini"  # in the data folder: where this desk's window was, per desk PC
NAV = (("desk", "办事"), ("worklist", "待办"), ("residents", "居民"), ("stats", "统计"), ("sync", "同步"),
       ("settings", "设置"))


class MainWindow(QMainWindow):
    worker_changed = Signal(object)
    quit_requested = Signal()

    def __init__(self, services: Services, parent=None, *, start_sync: bool = True):
        super().__init__(parent)
        self.services = services
        self.sync_runner = None
        ident = services.ctx.identity()
        # The platform adds the application's display name ("… — OneDesk 全科前台") once.
        self.setWindowTitle(ident.committee_name or "全科前台")
        self.setWindowIcon(icon("app"))
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(150)
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        for key, label in NAV:
            self.nav.addItem(QListWidgetItem(icon(key), label))
            page = self._make_page(key)
            self.pages[key] = page
            self.stack.addWidget(page)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        services.case_windows.resume_requested.connect(self._on_resume_requested)  # 继续办理 in any case window
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._build_status_bar(ident)
        self.restore_geometry()
        services.change_bus.changed.connect(self._on_data_changed)
        # Ctrl+L from any window of the desk (ui/screen_lock.py: an application event filter)
        self.screen_lock = ScreenLock(self, self.lock_screen)
        # The QR/barcode scanner, from any window (ui/devices/wedge.py): a receipt opens its case, an ID number
        # goes to the applicant search.
        self.code_wedge = CodeWedge(self)
        self.code_wedge.scanned_code.connect(self._on_code_scanned)
        self.lock_dialog: LoginDialog | None = None
        self._locked_for: WorkerInfo | None = None
        self.nav.setCurrentRow(0)
        self._show_worker()
        self.reminder_box = None
        self.reminder_timer = QTimer(self, interval=REMINDER_INTERVAL_MS)
        self.reminder_timer.timeout.connect(lambda: self.lock_dialog is None and self.remind())  # not while locked
        self.reminder_timer.start()
        QTimer.singleShot(0, self.remind)
        QTimer.singleShot(0, self._show_calendar_warning)
        QTimer.singleShot(0, self.update_notice.refresh)
        # 收到答复 (issue 19): a department's reply that arrived, in the status bar (ui/cases/reply_notices.py)
        from ui.cases.reply_notices import ReplyNotices
        self.reply_notices = ReplyNotices(services, self)
        self.reply_notices.announced.connect(self._on_reply_announced)
        self.reply_notices.cleared.connect(self._on_replies_read)
        QTimer.singleShot(0, self.reply_notices.check)
        if start_sync:
            self._start_sync()

    def _make_page(self, key: str) -> QWidget:
        if key == "residents":
            return ResidentsPage(self.services)
        if key == "stats":
            return StatsPage(self.services)
        if key == "settings":
            page = SettingsPage(self.services)
            page.sync_requested.connect(lambda: self.show_page("sync"))
            return page
        if key == "sync":
            from ui.sync.sync_health_page import SyncHealthPage
            return SyncHealthPage(self.services, self.request_sync)
        if key == "desk":
            from ui.desk.desk_page import DeskPage
            return DeskPage(self.services)
        from ui.worklist.worklist_page import WorklistPage
        return WorklistPage(self.services)

    def _build_status_bar(self, ident) -> None:
        # Every label elides (full text as tooltip): the status bar never makes the window wider (issue 19).
        bar = ElidingStatusBar()
        self.worker_label = ElidedLabel(min_chars=10)
        self.committee_label = ElidedLabel(f"居委会：{ident.committee_name}")
        self.device_label = ElidedLabel(f"本机：{ident.device_code}", min_chars=8)
        self.server_label = ElidedLabel("未配置区服务器")
        self.calendar_label = ElidedLabel()
        self.calendar_label.setObjectName("warning")
        self.calendar_label.setVisible(False)
        bar.addPermanentWidget(self.calendar_label)
        # 发现新版本 with 下载, for administrators only (app/desk/updates.py decides; issue 17)
        self.update_notice = UpdateNotice(self.services)
        bar.addPermanentWidget(self.update_notice)
        # The reminder has a label of its own: showMessage() would hide worker, committee and device.
        self.reminder_label = ElidedLabel(min_chars=20)  # the counts are read whole
        self.reminder_label.setObjectName("warning")
        # 收到答复 (issue 19): its own label too, shown while replies are unread (ui/cases/reply_notices.py)
        self.reply_label = ElidedLabel()
        self.reply_label.setObjectName("replyNotice")
        self.reply_label.setVisible(False)
        for w in (self.worker_label, self.committee_label, self.device_label, self.reminder_label):
            bar.addWidget(w)
        bar.addWidget(self.reply_label, 1)  # the long one: it takes the room left and is cut first
        bar.addPermanentWidget(self.server_label)
        bar.addPermanentWidget(ElidedLabel("Ctrl+L 锁屏"))
        self.setStatusBar(bar)

    def show_page(self, key: str) -> None:
        self.nav.setCurrentRow([k for k, _ in NAV].index(key))

    def _show_worker(self) -> None:
        w = self.services.current_worker
        self.worker_label.setText(f"{w.display_name}（{w.role_labels}）" if w else "未登录")
        self.worker_label.setToolTip(f"当前工作人员：{w.display_name}（{w.role_labels}）" if w else "")

    def _start_sync(self) -> None:
        from ui.sync.sync_runner import SyncRunner
        self.sync_runner = SyncRunner(self.services.make_sync_client, self, change_bus=self.services.change_bus)
        self.sync_runner.status_changed.connect(self._on_sync_status)
        self.sync_runner.start()
        run_op(self, self.services.sync_status, self._on_sync_status)

    def request_sync(self) -> None:
        if self.sync_runner is not None:
            self.sync_runner.request_now()

    def _on_sync_status(self, st) -> None:
        """After a sync round: the status bar and, when it is shown, the 同步 page."""
        self._show_server_status(st)
        self.update_notice.refresh()  # the round's pull may have named a new version
        page = self.pages.get("sync")
        if page is not None and page.isVisible():
            page.show_status(st)

    def _show_server_status(self, st) -> None:
        from ui.sync.sync_status_text import status_text
        self.server_label.setText(status_text(st))
        self.server_label.setToolTip(status_text(st))  # the whole line when the status bar cuts it off
        warn = st.enrolled and (not st.online or st.set_aside or st.insecure_http)
        self.server_label.setObjectName("warning" if warn else "")
        loud = "color: #b42318; font-weight: bold;" if st.insecure_http else "color: #b54708;"
        self.server_label.setStyleSheet(loud if warn else "")

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        """The status bar's counters: cases due or overdue, commands waiting for the server, the calendar."""
        if changes.cases:
            self._refresh_reminder_label()
        if changes.queued:
            run_op(self, self.services.sync_status, self._show_server_status)
        if changes.calendar:
            self._show_calendar_warning()

    # ----- where the window is: saved per desk, never bigger than the screen ---------------------------------------
    def _geometry_settings(self) -> QSettings:
        return QSettings(str(self.services.ctx.data_dir / GEOMETRY_FILE), QSettings.IniFormat)

    def available_rect(self) -> QRect:
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    def restore_geometry(self, available: QRect | None = None) -> None:
        """The size and place the window had when it was last closed, clamped to the screen it opens on (a
        geometry saved on a bigger screen, or grown by a long message in an older version, must not push
        controls off a 1024×768 screen)."""
        available = available if available is not None else self.available_rect()
        settings = self._geometry_settings()
        saved = settings.value("main/geometry")
        rect = saved if isinstance(saved, QRect) and saved.isValid() else None
        if rect is None:
            rect = QRect(0, 0, *DEFAULT_SIZE)
            rect.moveCenter(available.center())
        self.setGeometry(clamp_to_screen(rect, available, self.minimumSizeHint()))
        if settings.value("main/maximized", False) in (True, "true"):
            self.setWindowState(self.windowState() | Qt.WindowMaximized)

    def save_geometry(self) -> None:
        settings = self._geometry_settings()
        settings.setValue("main/geometry", self.normalGeometry() if self.isMaximized() else self.geometry())
        settings.setValue("main/maximized", self.isMaximized())
        settings.sync()

    def closeEvent(self, event) -> None:
        self.save_geometry()
        self.screen_lock.stop()
        self.code_wedge.stop()
        if self.sync_runner is not None:
            self.sync_runner.shutdown()
        super().closeEvent(event)

    def _on_resume_requested(self, case_id) -> None:
        self.show_page("desk")
        self.pages["desk"].resume(case_id)

    # ----- the scanner --------------------------------------------------------------------------------------------
    def _on_code_scanned(self, scan) -> None:
        from app.desk.devices.codes import CodeKind
        if self.lock_dialog is not None:
            return  # swallowed by the wedge; nothing opens behind the lock screen
        if scan.kind == CodeKind.RECEIPT:
            number = scan.case_number
            run_op(self, lambda: self.services.cases.find_by_number(number),
                   lambda detail: self._open_scanned_case(scan, detail))
        elif scan.kind == CodeKind.ID_NUMBER:
            self._fill_scanned_id(scan.id_number)
        else:  # typed into the focused field by the wedge
            self.statusBar().showMessage(f"扫到{scan.shown}：不是受理回执或身份证号，已按键盘输入处理", 8000)

    def _open_scanned_case(self, scan, detail) -> None:
        parent = QApplication.activeModalWidget() or self
        if detail is None:
            QMessageBox.information(parent, "扫码查件", f"本机没有办件编号为 {scan.case_number} 的案件："
                                    "可能是其他社区出具的回执，或该案件尚未同步到本机。")
            return
        if detail.verification_code.strip().upper() != scan.code:
            QMessageBox.warning(parent, "扫码查件", f"回执上的验证码与办件 {scan.case_number} 的记录不一致，"
                                "请核对回执是否为本社区出具。")
            return
        self.services.case_windows.open(detail.summary.id, parent)

    def _fill_scanned_id(self, id_number: str) -> None:
        """The wizard's applicant search when a wizard is on its 申请人 step (unless the agent's ID is being
        typed); else the field being edited (a household member's ID, a new resident's); else the 居民 page's
        search."""
        from ui.desk.service_wizard import ServiceWizard
        wizards = [w for w in self.pages["desk"].findChildren(ServiceWizard) if w.isVisible()]
        focus = self.code_wedge.last_target or QApplication.focusWidget()
        if wizards:
            wizard = wizards[-1]
            if wizard.current_page() is wizard.applicant and focus is not wizard.applicant.agent_id:
                wizard.applicant.search.setText(id_number)
                wizard.applicant.search.setFocus()
                return
        if isinstance(focus, QLineEdit) and not focus.isReadOnly() and focus is not self.pages["desk"].search:
            focus.insert(id_number)
            return
        if wizards or QApplication.activeModalWidget() is not None:
            self.statusBar().showMessage("已扫描身份证号：请先点选要填写的输入框，或回到“申请人”一步再扫描", 8000)
            return
        self.show_page("residents")
        self.pages["residents"].search.setText(id_number)
        self.pages["residents"].search.setFocus()

    def _show_calendar_warning(self) -> None:
        w = self.services.current_worker
        if w is None or not w.manages_desk:
            self.calendar_label.setVisible(False)
            return
        run_op(self, lambda: self.services.cases.deadline_service().admin_warning(self.services.clock()),
               self._on_calendar_warning)

    def _on_calendar_warning(self, text) -> None:
        self.calendar_label.setText(("⚠ " + text.split("。")[0]) if text else "")
        self.calendar_label.setToolTip(text or "")
        self.calendar_label.setVisible(bool(text))

    def remind(self) -> None:
        """Non-modal notice of what is due today or overdue (at login and every 15 minutes)."""
        worker = self.services.current_worker
        if worker is None:
            return
        run_op(self, lambda: self.services.worklist.reminder(worker, self.services.clock()), self._on_reminder)

    def _refresh_reminder_label(self) -> None:
        """The counts in the status bar only: a change made by the worker must not pop the notice up again."""
        worker = self.services.current_worker
        if worker is not None:
            run_op(self, lambda: self.services.worklist.reminder(worker, self.services.clock()),
                   self._show_reminder_label)

    def _show_reminder_label(self, counts) -> str:
        """Show the counts; returns the notice's text, empty when nothing is due."""
        due_today, overdue = counts
        if not (due_today or overdue):
            self.reminder_label.setText("今日没有到期或超期的案件")
            return ""
        text = f"今日到期 {due_today} 件，已超期 {overdue} 件。请到“待办”查看。"
        self.reminder_label.setText(f"⚠ 今日到期 {due_today} 件，已超期 {overdue} 件")
        self.reminder_label.setToolTip(text)
        return text

    def _on_reminder(self, counts) -> None:
        text = self._show_reminder_label(counts)
        if not text:
            return
        if self.reminder_box is None:
            self.reminder_box = QMessageBox(QMessageBox.Information, "待办提醒", text, QMessageBox.Ok, self)
            self.reminder_box.setModal(False)
            # Every 15 minutes, possibly mid-typing: the notice must not take the keyboard from the wizard.
            self.reminder_box.setAttribute(Qt.WA_ShowWithoutActivating)
        self.reminder_box.setText(text)
        self.reminder_box.show()

    def lock_screen(self) -> None:
        """Hide everything behind a login (every window, from whichever Ctrl+L came); the same worker gets
        their windows back, another worker takes over without them (see ui/screen_lock.py)."""
        if self.lock_dialog is not None:
            return
        self._locked_for = self.services.current_worker
        dlg = LoginDialog(self.services.auth.login, self.services.ctx.identity().committee_name, self,
                          locked_for=self._locked_for)
        self.lock_dialog = dlg
        self.screen_lock.hide_windows(dlg)
        self.centralWidget().setVisible(False)
        dlg.logged_in.connect(self.switch_worker)
        dlg.rejected.connect(self.quit_requested.emit)  # 退出程序, once the worker confirmed it
        dlg.finished.connect(self._on_lock_finished)
        dlg.open()

    def _on_lock_finished(self, result: int) -> None:
        self.lock_dialog = None
        if result != LoginDialog.Accepted:
            return  # the program is quitting
        worker, before = self.services.current_worker, self._locked_for
        self.centralWidget().setVisible(True)
        self.screen_lock.unlocked(same_worker=worker is not None and before is not None and worker.id == before.id)

    def switch_worker(self, worker: WorkerInfo) -> None:
        """Another worker at the desk. The pages re-read for them when they are shown again: the lock screen
        hides the pages and shows them once the new worker is logged in."""
        self.services.current_worker = worker
        self._show_worker()
        self.worker_changed.emit(worker)
        self.remind()
        self._show_calendar_warning()
        self.update_notice.refresh()
        self.reply_notices.check()

    def _on_reply_announced(self, text: str) -> None:
        self.reply_label.setText(f"✉ {text}")
        self.reply_label.setToolTip(text)
        self.reply_label.setVisible(True)

    def _on_replies_read(self) -> None:
        """Every reply was opened: the 收到答复 notice goes."""
        self.reply_label.clear()
        self.reply_label.setVisible(False)


def clamp_to_screen(rect: QRect, available: QRect, minimum) -> QRect:
    """``rect`` (a client area) made to fit ``available`` with the title bar above it: no wider or taller than
    the screen (but not below the window's honest minimum), and moved so that all of it is on the screen."""
    room_w, room_h = available.width(), available.height() - TITLE_BAR
    w = max(min(rect.width(), room_w), min(minimum.width(), room_w))
    h = max(min(rect.height(), room_h), min(minimum.height(), room_h))
    x = min(max(rect.x(), available.left()), available.left() + room_w - w)
    y = min(max(rect.y(), available.top() + TITLE_BAR), available.top() + TITLE_BAR + room_h - h)
    return QRect(max(x, available.left()), max(y, available.top()), w, h)
