"""The arguments of every sync command, as pydantic models: the desk builds them, the server parses them.

A command's ``args`` on the wire is ``model.wire()``; the server reads it back with :func:`parse_args`, so both
sides share one schema and one set of limits. Extra keys are ignored (a command also carries what the desk
computed, e.g. the forward's deadline and time, which the server recomputes itself).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.errors import UserError
from app.core.vocabulary import Action, Mutation

# Limits on free text from a desk: generous for what a worker writes, bounded against abuse.
Text = Annotated[str, Field(max_length=4000)]
Short = Annotated[str, Field(max_length=200)]


class _Args(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    def wire(self) -> dict[str, Any]:
        """The JSON form sent in the outbox (UUIDs and times as strings)."""
        return self.model_dump(mode="json")


class CaseCommand(_Args):
    """What every command on an existing case carries; ``note`` is the event's note."""

    case_id: uuid.UUID
    case_number: Short = ""
    note: Text = ""

    def event_note(self) -> str:
        return self.note


class SubmitArgs(CaseCommand):
    """accept / await_materials: the checked answers and materials, and the catalog version they were checked with."""

    data: dict[str, Any] | None = None
    materials: dict[str, Any] | None = None
    missing: list[Short] | None = None
    catalog_version: Annotated[str, Field(max_length=32)] | None = None

    def event_note(self) -> str:
        if self.note or not self.missing:
            return self.note
        return "缺少材料：" + "、".join(self.missing)


class ResolveArgs(CaseCommand):
    result_text: Text = ""

    def event_note(self) -> str:
        return self.note or self.result_text


class RefuseArgs(CaseCommand):
    reason: Text = ""
    redirect_to: Short = ""

    def event_note(self) -> str:
        return self.note or self.reason


class WithdrawArgs(CaseCommand):
    def event_note(self) -> str:
        return self.note or "居民撤回申请"


class ForwardArgs(CaseCommand):
    assignee_id: uuid.UUID | None = None
    queue: Short = ""
    due_at: str | None = None  # the desk's own computation, kept beside the server's for the record


class AcknowledgeArgs(CaseCommand):
    pass


class ReassignArgs(CaseCommand):
    assignee_id: uuid.UUID | None = None


class ReplyArgs(CaseCommand):
    result: Short = ""
    text: Text = ""
    attachments: list[dict[str, Any]] = []

    def event_note(self) -> str:
        return self.note or self.text


class CloseArgs(CaseCommand):
    inform_method: Short = ""


class ReopenArgs(CaseCommand):
    pass


class NoteArgs(CaseCommand):
    pass


ARGS: dict[Action, type[CaseCommand]] = {
    Action.AWAIT_MATERIALS: SubmitArgs, Action.ACCEPT: SubmitArgs, Action.RESOLVE: ResolveArgs,
    Action.REFUSE: RefuseArgs, Action.WITHDRAW: WithdrawArgs, Action.FORWARD: ForwardArgs,
    Action.ACKNOWLEDGE: AcknowledgeArgs, Action.REASSIGN: ReassignArgs, Action.REPLY: ReplyArgs,
    Action.CLOSE: CloseArgs, Action.REOPEN: ReopenArgs, Action.NOTE: NoteArgs,
}


class CreateCaseArgs(_Args):
    """case.create.v1: a new draft as the desk created it."""

    id: uuid.UUID
    case_number: Annotated[str, Field(min_length=1, max_length=48)]
    item_code: Annotated[str, Field(min_length=1, max_length=16)]
    item_name: Annotated[str, Field(max_length=100)] = ""
    catalog_version: Annotated[str, Field(max_length=32)] = ""
    department: Annotated[str, Field(max_length=32)] = ""
    mode: Annotated[str, Field(max_length=8)] = ""
    applicant_id: uuid.UUID | None = None
    agent: dict[str, Any] | None = None
    data: dict[str, Any] = {}
    materials: dict[str, Any] = {}
    origin_device_code: Annotated[str, Field(max_length=16)] = ""
    verification_code: Annotated[str, Field(max_length=16)] = ""


class SaveDraftArgs(_Args):
    """case.save_draft.v1: the wizard's autosave."""

    id: uuid.UUID
    data: dict[str, Any] = {}
    materials: dict[str, Any] = {}
    applicant_id: uuid.UUID | None = None
    agent: dict[str, Any] | None = None


class ResidentArgs(_Args):
    """resident.upsert.v1: a resident as the desk registered or edited them (checked again by the server)."""

    id: uuid.UUID
    name: Annotated[str, Field(max_length=100)] = ""
    id_number: Annotated[str, Field(max_length=40)] = ""
    phone: Annotated[str, Field(max_length=40)] = ""
    address: Short = ""
    household_no: Annotated[str, Field(max_length=40)] = ""
    local_hukou: bool = True
    notes: Text = ""


class BadCommand(UserError, ValueError):
    """A command whose arguments do not fit its schema; the Chinese message names the first problem."""


_FIELD_NAMES = {"case_id": "案件编号", "id": "编号", "assignee_id": "接收人", "case_number": "案件编号",
                "item_code": "事项"}


def parse_args(model: type[_Args], args: Any) -> Any:
    """``model`` from a command's JSON args, or :class:`BadCommand` with a Chinese reason."""
    if not isinstance(args, dict):
        raise BadCommand("操作内容格式有误，无法处理")
    try:
        return model.model_validate(args)
    except ValidationError as e:
        err = e.errors()[0]
        key = str(err["loc"][0]) if err.get("loc") else ""
        what = _FIELD_NAMES.get(key, key)
        if err["type"] == "missing":
            raise BadCommand(f"操作内容不完整（缺少{what}），无法处理") from None
        raise BadCommand(f"操作内容有误（{what}不符合要求），无法处理") from None


def command_args(name: str) -> type[_Args] | None:
    """The argument model of a command name, or None for a name this version does not know."""
    try:
        mutation = Mutation(name)
    except ValueError:
        return None
    if mutation == Mutation.RESIDENT_UPSERT:
        return ResidentArgs
    if mutation == Mutation.CASE_CREATE:
        return CreateCaseArgs
    if mutation == Mutation.CASE_SAVE_DRAFT:
        return SaveDraftArgs
    action = mutation.action
    return ARGS.get(action) if action else None
