"""The services the widgets talk to. Widgets never see a Session; they call these and get dataclasses back.

Each service is built on first use, so the login window does not wait for reportlab or the catalog.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from app.auth import AuthService, WorkerInfo
from app.context import AppContext


class Services:
    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self.current_worker: WorkerInfo | None = None
        self.auth = AuthService(ctx)

    def clock(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    @cached_property
    def residents(self):
        from app.residents import ResidentService
        return ResidentService(self.ctx)

    @cached_property
    def cases(self):
        from app.cases import CaseService
        return CaseService(self.ctx)

    @cached_property
    def worklist(self):
        from app.worklist import WorklistService
        return WorklistService(self.ctx)

    @cached_property
    def printing(self):
        from app.printing import PrintService
        return PrintService(self.ctx)

    @cached_property
    def intake(self):
        from app.intake import IntakeService
        return IntakeService(self.ctx, self.cases)

    # ----- sync with the district server ------------------------------------------------------
    def make_sync_client(self):
        from app.sync_client import SyncClient
        return SyncClient(self.ctx)

    def sync_status(self):
        from app.sync_client import sync_status
        return sync_status(self.ctx, self.clock())

    def enroll(self, server_url: str, code: str):
        from app.sync_enroll import enroll_desk
        return enroll_desk(self.ctx, server_url.strip(), code.strip())
