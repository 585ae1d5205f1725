"""The services the widgets talk to. Widgets never see a Session; they call these and get dataclasses back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.auth import AuthService, WorkerInfo
from app.cases import CaseService
from app.context import AppContext
from app.intake import IntakeService
from app.printing import PrintService
from app.residents import ResidentService
from app.worklist import WorklistService


@dataclass
class Services:
    ctx: AppContext
    auth: AuthService = field(init=False)
    residents: ResidentService = field(init=False)
    cases: CaseService = field(init=False)
    worklist: WorklistService = field(init=False)
    printing: PrintService = field(init=False)
    intake: IntakeService = field(init=False)
    current_worker: WorkerInfo | None = None

    def clock(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def __post_init__(self) -> None:
        self.auth = AuthService(self.ctx)
        self.residents = ResidentService(self.ctx)
        self.cases = CaseService(self.ctx)
        self.worklist = WorklistService(self.ctx)
        self.printing = PrintService(self.ctx)
        self.intake = IntakeService(self.ctx, self.cases)
