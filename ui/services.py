"""The services the widgets talk to. Widgets never see a Session; they call these and get dataclasses back.

Each service is built on first use, so the login window does not wait for reportlab or the catalog.
What an operation changed is broadcast once on :attr:`Services.change_bus` (by ``run_op`` and the sync
runner); every page that shows that data listens there and refreshes itself.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from PySide6.QtCore import QObject, Signal

from app.desk.auth import AuthService, WorkerInfo
from app.desk.context import AppContext


class ChangeBus(QObject):
    """One signal for the whole desk, as Anki's ``operation_did_execute``: ``changed(Changes)``, emitted on the
    UI thread after an operation or a sync round that changed data."""

    changed = Signal(object)


class Services:
    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self.current_worker: WorkerInfo | None = None
        self.auth = AuthService(ctx)
        self.change_bus = ChangeBus()

    def clock(self) -> dt.datetime:
        """What time it is for the worker: the desk's clock corrected by its known offset (app/desk/clock.py)."""
        return self.ctx.now()

    @cached_property
    def case_windows(self):
        """One window per case for this desk (opening a case again raises its window)."""
        from ui.cases.case_windows import CaseWindows
        return CaseWindows(self)

    @cached_property
    def residents(self):
        from app.desk.residents import ResidentService
        return ResidentService(self.ctx)

    @cached_property
    def cases(self):
        from app.desk.cases import CaseService
        return CaseService(self.ctx)

    @cached_property
    def requests(self):
        """诉求 (issue 20, app/desk/requests.py): categories, 块区 routing, registration and the 24-hour feedback."""
        from app.desk.requests import RequestService
        return RequestService(self.ctx)

    @cached_property
    def blocks(self):
        """The committee's 块区 and their 块长 (app/desk/blocks.py), set by a 站长 or an administrator."""
        from app.desk.blocks import BlockService
        return BlockService(self.ctx)

    @cached_property
    def worklist(self):
        from app.desk.worklist import WorklistService
        return WorklistService(self.ctx)

    @cached_property
    def printing(self):
        from app.desk.printing.service import PrintService
        return PrintService(self.ctx)

    @cached_property
    def attachments(self):
        """Files of cases and residents (app/desk/attachments/service.py): add, list, read, remove."""
        from app.desk.attachments.service import AttachmentService
        return AttachmentService(self.ctx)

    @cached_property
    def intake(self):
        from app.desk.intake import IntakeService
        return IntakeService(self.ctx, self.cases)

    @cached_property
    def packet(self):
        """The case packet the case window shows (app/desk/packet.py)."""
        from app.desk.packet import PacketService
        return PacketService(self.ctx)

    @cached_property
    def stats(self):
        """The 统计 page's figures, the 台账 workbook and the monthly report PDF (app/desk/stats.py, issue 16)."""
        from app.desk.stats import StatsService
        return StatsService(self.ctx)

    @cached_property
    def devices(self):
        """The desk's devices (app/desk/devices/registry.py), with the camera's Qt drivers (ui/devices/camera.py)."""
        from app.desk.devices.registry import DeviceRegistry
        try:
            from ui.devices import camera
            camera.register()
            camera.camera_devices()  # Qt's list of cameras is made here, on the UI thread, not on a pool thread
        except Exception as e:  # no camera module (or no QtMultimedia): the other devices still work
            import logging
            logging.getLogger(__name__).warning("camera drivers unavailable: %s", type(e).__name__)
        return DeviceRegistry(self.ctx)

    @cached_property
    def updates(self):
        """New versions the district published (app/desk/updates.py): shown to administrators, downloaded verified."""
        from app.desk.updates import UpdateService
        return UpdateService(self.ctx)

    # ----- sync with the district server ------------------------------------------------------
    def make_sync_client(self):
        from app.desk.sync.client import SyncClient
        return SyncClient(self.ctx)

    def fetch_case_files(self, case_id):
        """The case window's 下载: the case's files marked wanted and fetched now (off the UI thread)."""
        from app.desk.sync.files import fetch_case
        return fetch_case(self.ctx, case_id)

    def sync_status(self):
        from app.desk.sync.client import sync_status
        return sync_status(self.ctx)  # outbox ages on the desk's own clock, as its rows record it

    def enroll(self, server_url: str, code: str, ca_file: str = ""):
        """Enrol from the 同步 page: https with the district CA file (the lab http opt-in is command-line only)."""
        from pathlib import Path

        from app.desk.sync.enroll import enroll_desk
        return enroll_desk(self.ctx, server_url.strip(), code.strip(),
                           ca=Path(ca_file.strip()) if ca_file.strip() else None)
