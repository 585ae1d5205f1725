"""诉求 at the desk (issue 20): register a resident's request, pass it on, tell the resident, close it.

Every call is ONE transaction through the shared core actions (app/core/request_actions.py via
:meth:`CaseService.run_in`), each step with its outbox row: a registration creates the case and registers it
together, and the on-spot outcomes add their steps to that same transaction (当场解决: registered and closed;
已联系物业: registered, handed over to the property company and the resident told). A refusal anywhere
writes nothing. The rules (who may, the 24-hour clock, what each step records) are app/core's.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import replace
from typing import Literal

from app.core.blocks import Block, block_by_code, block_for_address, committee_blocks
from app.core.errors import UserError
from app.core.limits import MAX_TEXT
from app.core.requests import (
    category_label,
    handler_text,
    is_request,
    property_feedback_text,
    request_categories,
    request_item_name,
)
from app.core.requests import sms_text as compose_sms
from app.core.vocabulary import REQUEST_ITEM_CODE, REQUEST_MODE, Action, FeedbackChannel
from app.desk.auth import WorkerInfo
from app.desk.cases import CASE_CHANGED, CaseDetail, CaseService, ItemRef, Step
from app.desk.context import AppContext
from models import Case, Committee, Resident, Worker

log = logging.getLogger(__name__)
OnSpot = Literal["solved", "property"] | None
REQUEST_DEPARTMENT = "居委会"


class RequestError(UserError):
    """A refused request operation; Chinese message, nothing changed."""


class RequestService:
    def __init__(self, ctx: AppContext, cases: CaseService | None = None):
        self.ctx = ctx
        self.cases = cases or CaseService(ctx)

    # ----- what the intake dialog offers --------------------------------------------------------------------
    def _catalog(self):
        from app.desk.catalog.refs import shared_catalog
        return shared_catalog(self.ctx.data_dir).catalog

    def categories(self) -> list[tuple[str, str]]:
        """The district's categories (code, label) in display order (catalog.yaml ``request_categories``)."""
        return request_categories(self._catalog())

    def blocks(self) -> list[Block]:
        """The committee's 块区 (its settings, as last pulled or set here)."""
        with self.ctx.sessions() as s:
            com = s.get(Committee, self.ctx.identity().committee_id)
            return committee_blocks(com.settings if com else None)

    def route(self, address: str | None) -> Block | None:
        """The block an address belongs to (longest prefix), or None."""
        return block_for_address(self.blocks(), address)

    # ----- registration --------------------------------------------------------------------------------------
    def register(self, actor: WorkerInfo, *, category: str, urgency: str = "normal", place: str = "",
                 block_code: str = "", description: str, applicant_id: uuid.UUID | None = None,
                 contact_name: str = "", contact_phone: str = "", anonymous: bool = False,
                 assignee_id: uuid.UUID | None = None, on_spot: OnSpot = None, result: str = "",
                 handler_name: str = "", handler_phone: str = "",
                 promised_at: dt.datetime | None = None) -> CaseDetail:
        """Register a 诉求 (and, ``on_spot``, its on-the-spot outcome) in one transaction.

        The block: ``block_code`` when given, else the one ``place`` (or the resident's address) belongs to.
        The responsible worker: ``assignee_id``, else the block's 块长, else the actor."""
        labels = dict(self.categories())
        if category not in labels:
            raise RequestError("请选择诉求类别")
        if on_spot not in (None, "solved", "property"):
            raise RequestError("未知的当场处理方式")
        if on_spot == "solved" and not result.strip():
            raise RequestError("当场解决须填写解决结果")
        if on_spot == "property" and not (handler_name.strip() and handler_phone.strip()):
            raise RequestError("已联系物业须填写物业（处理单位）名称和电话")
        if anonymous:
            applicant_id = None
        elif applicant_id is not None and not (contact_name.strip() and contact_phone.strip()):
            contact_name, contact_phone = self._contact(applicant_id, contact_name, contact_phone)
        blocks = self.blocks()
        block = self._block(blocks, block_code, place, applicant_id)
        assignee = assignee_id or self._active(block.leader_id if block else None) or actor.id
        steps = [self.cases.step(
            Action.REGISTER_REQUEST, category=category, urgency=urgency or "normal", place=place,
            block_code=block.code if block else "", description=description, contact_name=contact_name,
            contact_phone=contact_phone, anonymous=anonymous, assignee_id=assignee)]
        if on_spot == "solved":
            steps.append(self.cases.step(Action.CLOSE_REQUEST, result_text=result,
                                         channel=str(FeedbackChannel.IN_PERSON),
                                         note=f"当场解决：{result.strip()}"[:MAX_TEXT]))
        elif on_spot == "property":
            steps.append(self.cases.step(Action.HAND_OVER, handler_name=handler_name, handler_phone=handler_phone,
                                         promised_at=promised_at, note="已联系物业"))
            steps.append(self.cases.step(
                Action.GIVE_FEEDBACK, channel=str(FeedbackChannel.IN_PERSON),
                text=property_feedback_text(handler_name, handler_phone, promised_at), promised_at=promised_at))
        item = ItemRef(REQUEST_ITEM_CODE, request_item_name(labels[category]), REQUEST_DEPARTMENT, REQUEST_MODE,
                       self._catalog().version_label[:32])
        at = self.ctx.now()  # before the write transaction: reading the clock offset may open a session
        with self.ctx.sessions.begin() as s:
            case = self.cases.create_in(s, actor, item, applicant_id, at=at, kind="request")
            self.cases.run_in(s, actor, case, steps, at=at)
            log.info("request %s registered (%s), on the spot: %s", case.case_number, category, on_spot or "-")
            return replace(self.cases._detail(s, case, actor, now=at), changes=CASE_CHANGED)

    def _active(self, worker_id: uuid.UUID | None) -> uuid.UUID | None:
        """The 块长, if still an active worker here (a 块长 who left: the registering worker is responsible)."""
        if worker_id is None:
            return None
        with self.ctx.sessions() as s:
            w = s.get(Worker, worker_id)
            return w.id if w is not None and w.active else None

    def _contact(self, applicant_id: uuid.UUID, name: str, phone: str) -> tuple[str, str]:
        """Whom the 块长 calls back: the resident's own name and phone unless another contact was given."""
        with self.ctx.sessions() as s:
            r = s.get(Resident, applicant_id)
            if r is None:
                raise RequestError("找不到该居民")
            return name.strip() or r.name, phone.strip() or (r.phone or "")

    def _block(self, blocks: list[Block], code: str, place: str, applicant_id: uuid.UUID | None) -> Block | None:
        if code:
            block = block_by_code(blocks, code)
            if block is None:
                raise RequestError(f"本居委会没有块区 {code}")
            return block
        block = block_for_address(blocks, place)
        if block is None and applicant_id is not None:
            with self.ctx.sessions() as s:
                r = s.get(Resident, applicant_id)
                block = block_for_address(blocks, r.address if r else "")
        return block

    # ----- what follows --------------------------------------------------------------------------------------
    def _run(self, actor: WorkerInfo, case_id: uuid.UUID, steps: list[Step],
             expected_version: int | None) -> CaseDetail:
        return self.cases.run(actor, case_id, steps, expected_version=expected_version)

    def hand_over(self, actor: WorkerInfo, case_id: uuid.UUID, *, name: str, phone: str,
                  promised_at: dt.datetime | None = None, note: str = "",
                  expected_version: int | None = None) -> CaseDetail:
        """转交处理: to an external handler (物业…) with a phone and maybe a promised time; the 块长 stays in charge."""
        return self._run(actor, case_id, [self.cases.step(Action.HAND_OVER, handler_name=name, handler_phone=phone,
                                                          promised_at=promised_at, note=note)], expected_version)

    def feedback(self, actor: WorkerInfo, case_id: uuid.UUID, *, channel: str, text: str,
                 promised_at: dt.datetime | None = None, expected_version: int | None = None) -> CaseDetail:
        """反馈居民: what the resident was told (required) and how; the first one stops the 24-hour clock."""
        return self._run(actor, case_id, [self.cases.step(Action.GIVE_FEEDBACK, channel=channel, text=text,
                                                          promised_at=promised_at)], expected_version)

    def close(self, actor: WorkerInfo, case_id: uuid.UUID, *, result: str, channel: str,
              expected_version: int | None = None) -> CaseDetail:
        """办结: the result (required), and how the resident was told of it."""
        return self._run(actor, case_id, [self.cases.step(Action.CLOSE_REQUEST, result_text=result,
                                                          channel=channel)], expected_version)

    def sms_text(self, case_id: uuid.UUID) -> str:
        """The SMS a worker copies to tell the resident where their request stands."""
        with self.ctx.sessions() as s:
            case = s.get(Case, case_id)
            if case is None or not is_request(case):
                raise RequestError("找不到该诉求")
            return compose_sms(committee_name=self.ctx.identity().committee_name, case_number=case.case_number,
                               category=category_label(case.request_category, self._catalog()),
                               handler=handler_text(case.external_handler), promised_at=case.promised_at,
                               state=case.state, result=case.result_text or "", reply=case.reply_text or "")
