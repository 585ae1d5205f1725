"""The arguments of every sync command, as pydantic models: the desk builds them, the server parses them.

A command's ``args`` on the wire is ``model.wire()``; the server reads it back with :func:`parse_args`, so both
sides share one schema and one set of limits (:mod:`app.core.limits`: column lengths, characters that cannot
be stored, in strings and at any depth of a JSON value). Extra keys are ignored (a command also carries what
the desk computed, e.g. the forward's deadline and time, which the server recomputes itself).

Building a model on the desk with a value outside the limits raises :class:`BadCommand` with the worker's
message ("答复内容过长（最多 4000 个字）"), before anything is written; the server's :func:`parse_args` gives the
same problem as the reason a command is set aside.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from app.core import limits
from app.core.errors import UserError
from app.core.residents import ResidentInput
from app.core.vocabulary import AcceptanceMode, Action, Mutation

STORABLE = AfterValidator(limits.storable)  # no character a database cannot store


def _limit(max_length: int, min_length: int = 0) -> Any:
    return Field(min_length=min_length, max_length=max_length)


Text = Annotated[str, _limit(limits.MAX_TEXT), STORABLE]  # what a worker writes: notes, reasons, replies
Short = Annotated[str, _limit(limits.MAX_SHORT), STORABLE]
Json = Annotated[dict[str, Any], AfterValidator(limits.storable_json)]


class _Args(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    def __init__(self, /, **data: Any) -> None:
        """As pydantic's, with a value outside the limits refused as :class:`BadCommand` (the desk builds
        commands from what the worker typed; the server parses with :func:`parse_args`)."""
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise BadCommand.of(e) from None

    def wire(self) -> dict[str, Any]:
        """The JSON form sent in the outbox (UUIDs and times as strings)."""
        return self.model_dump(mode="json")


# The causal context of a command (issue 12; how the server uses it: app/server/held.py). Every event records the
# command that made it, so the desk knows what its next command on that case comes after.
MUTATION_ID = "mutation_id"  # key in CaseEvent.detail: the mutation id of the command that made the event
AFTER = "after"  # key in a case command's args: the mutation id behind the last event the desk saw on the case
ACK = "ack"  # key added when a command is sent again: {"at": ...}, the time of the server's first acknowledgement


class CaseCommand(_Args):
    """What every command on an existing case carries; ``note`` is the event's note."""

    case_id: uuid.UUID
    case_number: Annotated[str, _limit(limits.CASE_NUMBER), STORABLE] = ""
    note: Text = ""

    def event_note(self) -> str:
        return self.note


class RuleWarning(BaseModel):
    """A failed ``warn`` or ``info`` eligibility rule, kept on the case for the department that decides."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    level: Literal["warn", "info"]
    message: Annotated[str, _limit(limits.CASE_RULE_WARNING_MESSAGE, min_length=1), STORABLE]


class SubmitArgs(CaseCommand):
    """accept / await_materials: the checked answers and materials, and the catalog version they were checked with.

    ``rule_warnings``/``warning_note``: the failed warn/info rules and the worker's note on the resident insisting
    (居民坚持申请); None (an older desk) leaves the case's as they are."""

    data: Json | None = None
    materials: Json | None = None
    missing: Annotated[list[Short], Field(max_length=limits.MAX_LIST)] | None = None
    catalog_version: Annotated[str, _limit(limits.CASE_CATALOG_VERSION), STORABLE] | None = None
    rule_warnings: Annotated[list[RuleWarning], Field(max_length=limits.CASE_RULE_WARNINGS)] | None = None
    warning_note: Text | None = None
    # Flexible acceptance (rules.md §8; app/core/actions.py checks them): how the case is accepted, the
    # materials a 容缺受理 applicant pledged to bring and by when (the date printed on the notice they signed),
    # the 告知承诺制 pledge text they signed, and the worker's confirmation that the applicant is on no
    # dishonesty list (容缺受理 is not open to them). None (an older desk) leaves the case's as they are.
    acceptance_mode: AcceptanceMode | None = None
    makeup_materials: Annotated[list[Short], Field(max_length=limits.CASE_MAKEUP_MATERIALS)] | None = None
    makeup_due: dt.date | None = None
    pledge_text: Text | None = None
    credit_checked: bool = False

    def event_note(self) -> str:
        if self.note:
            return self.note
        parts = ["缺少材料：" + "、".join(self.missing)] if self.missing else []
        if self.acceptance_mode == AcceptanceMode.DEFERRED and self.makeup_materials:
            due = f"，{self.makeup_due.isoformat()}前补交" if self.makeup_due else ""
            parts.append("容缺受理，待补：" + "、".join(self.makeup_materials) + due)
        if self.pledge_text:
            parts.append("申请人签署告知承诺书")
        if any(w.level == "warn" for w in self.rule_warnings or ()):
            parts.append("居民坚持申请（受理时的提示见案件）")
        return "；".join(parts)


class ResolveArgs(CaseCommand):
    result_text: Text = ""

    def event_note(self) -> str:
        return self.note or self.result_text


class RefuseArgs(CaseCommand):
    reason: Text = ""
    redirect_to: Annotated[str, _limit(limits.CASE_REDIRECT_TO), STORABLE] = ""

    def event_note(self) -> str:
        return self.note or self.reason


class WithdrawArgs(CaseCommand):
    def event_note(self) -> str:
        return self.note or "居民撤回申请"


class ForwardArgs(CaseCommand):
    assignee_id: uuid.UUID | None = None
    queue: Annotated[str, _limit(limits.CASE_QUEUE), STORABLE] = ""
    # the desk's own computation, kept beside the server's for the record
    due_at: Annotated[str, Field(max_length=64)] | None = None


class AcknowledgeArgs(CaseCommand):
    pass


class ReassignArgs(CaseCommand):
    assignee_id: uuid.UUID | None = None


class ReplyArgs(CaseCommand):
    result: Annotated[str, _limit(limits.CASE_REPLY_RESULT), STORABLE] = ""
    text: Text = ""
    attachments: Annotated[list[Json], Field(max_length=limits.MAX_LIST), AfterValidator(limits.storable_json)] = []

    def event_note(self) -> str:
        return self.note or self.text


class CloseArgs(CaseCommand):
    inform_method: Annotated[str, _limit(limits.CASE_INFORM_METHOD), STORABLE] = ""


class ReopenArgs(CaseCommand):
    pass


class NoteArgs(CaseCommand):
    pass


class ReceiveMakeupArgs(CaseCommand):
    """receive_makeup: which of the materials a 容缺受理 case owes were handed in (None: all of them)."""

    materials: Annotated[list[Short], Field(max_length=limits.CASE_MAKEUP_MATERIALS)] | None = None

    def event_note(self) -> str:
        return self.note or ("补交容缺材料：" + "、".join(self.materials) if self.materials else "容缺材料已补交")


class RateArgs(CaseCommand):
    """rate (issue 16): the resident's rating. ``round`` 1 is the first rating, 2 the one after a bad rating's fix;
    ``level`` a RatingLevel value, ``channel`` a RatingChannel value, ``reasons`` from RATING_REASONS (a low rating
    only), ``comment`` the resident's own words. The event note names the level; the server recomputes the
    follow-up deadlines of a bad rating with its own calendar (the desk's are carried for the record)."""

    level: Annotated[str, _limit(20, min_length=1), STORABLE]
    round: Annotated[int, Field(ge=1, le=2)] = 1
    channel: Annotated[str, _limit(8), STORABLE] = "desk"
    reasons: Annotated[list[Short], Field(max_length=limits.MAX_LIST)] = []
    comment: Text = ""

    def event_note(self) -> str:
        from app.core.vocabulary import SECOND_RATING_TITLE, rating_label
        prefix = "评价" if self.round == 1 else SECOND_RATING_TITLE
        return self.note or f"{prefix}：{rating_label(self.level)}"


class FollowupArgs(CaseCommand):
    """followup_callback / followup_fix: the 站长's record of the call to the resident, or of what was fixed
    (``note``, required)."""


class RemindArgs(CaseCommand):
    """remind (催办): a reminder to the assignee of a forwarded case; ``note`` what the reminder says."""

    def event_note(self) -> str:
        return self.note or "请尽快答复"


# 诉求 (issue 20): app/core/request_actions.py performs them.
Code = Annotated[str, _limit(limits.CASE_BLOCK_CODE), STORABLE]
Phone = Annotated[str, _limit(limits.RESIDENT_PHONE), STORABLE]


class RegisterRequestArgs(CaseCommand):
    """register_request: a 诉求's intake. ``assignee_id`` is the 块长 (responsible); the free text goes to the
    case's data. The 24 hours are counted from the command's time on both sides."""

    category: Annotated[str, _limit(limits.CASE_REQUEST_CATEGORY, min_length=1), STORABLE]
    urgency: Annotated[str, _limit(limits.CASE_URGENCY), STORABLE] = "normal"
    place: Annotated[str, _limit(limits.RESIDENT_ADDRESS), STORABLE] = ""
    block_code: Code = ""
    description: Text = ""
    contact_name: Annotated[str, _limit(limits.RESIDENT_NAME), STORABLE] = ""
    contact_phone: Phone = ""
    anonymous: bool = False
    assignee_id: uuid.UUID | None = None

    def event_note(self) -> str:
        return self.note or self.description


class HandOverArgs(CaseCommand):
    """hand_over (转交处理): passed to an external handler (物业…) with a phone number and, maybe, a promised
    time; the assignee stays responsible."""

    handler_name: Annotated[str, _limit(limits.MAX_SHORT), STORABLE] = ""
    handler_phone: Phone = ""
    promised_at: AwareDatetime | None = None

    def event_note(self) -> str:
        return self.note or f"转交{self.handler_name}处理"


class GiveFeedbackArgs(CaseCommand):
    """give_feedback (反馈居民): what the resident was told (required), how, and maybe a promised time."""

    channel: Annotated[str, _limit(limits.CASE_FEEDBACK_CHANNEL), STORABLE] = ""
    text: Text = ""
    promised_at: AwareDatetime | None = None

    def event_note(self) -> str:
        return self.note or self.text


class CloseRequestArgs(CaseCommand):
    """close_request (办结): the result (required), and how the resident was told of it."""

    result_text: Text = ""
    channel: Annotated[str, _limit(limits.CASE_FEEDBACK_CHANNEL), STORABLE] = ""

    def event_note(self) -> str:
        return self.note or self.result_text


class BlocksArgs(_Args):
    """committee.blocks.v1: the committee's whole 块区 list as a 站长/admin set it at a desk (app/core/blocks.py
    checks it on both sides)."""

    blocks: Annotated[list[Json], Field(max_length=200)] = []


ARGS: dict[Action, type[CaseCommand]] = {
    Action.AWAIT_MATERIALS: SubmitArgs, Action.ACCEPT: SubmitArgs, Action.RESOLVE: ResolveArgs,
    Action.REFUSE: RefuseArgs, Action.WITHDRAW: WithdrawArgs, Action.FORWARD: ForwardArgs,
    Action.ACKNOWLEDGE: AcknowledgeArgs, Action.REASSIGN: ReassignArgs, Action.REPLY: ReplyArgs,
    Action.CLOSE: CloseArgs, Action.REOPEN: ReopenArgs, Action.NOTE: NoteArgs,
    Action.RECEIVE_MAKEUP: ReceiveMakeupArgs, Action.RATE: RateArgs, Action.FOLLOWUP_CALLBACK: FollowupArgs,
    Action.FOLLOWUP_FIX: FollowupArgs, Action.REMIND: RemindArgs, Action.REGISTER_REQUEST: RegisterRequestArgs,
    Action.HAND_OVER: HandOverArgs, Action.GIVE_FEEDBACK: GiveFeedbackArgs, Action.CLOSE_REQUEST: CloseRequestArgs,
}


class CreateCaseArgs(_Args):
    """case.create.v1: a new draft as the desk created it."""

    id: uuid.UUID
    case_number: Annotated[str, _limit(limits.CASE_NUMBER, min_length=1), STORABLE]
    item_code: Annotated[str, _limit(limits.CASE_ITEM_CODE, min_length=1), STORABLE]
    item_name: Annotated[str, _limit(limits.CASE_ITEM_NAME), STORABLE] = ""
    catalog_version: Annotated[str, _limit(limits.CASE_CATALOG_VERSION), STORABLE] = ""
    department: Annotated[str, _limit(limits.CASE_DEPARTMENT), STORABLE] = ""
    mode: Annotated[str, _limit(limits.CASE_MODE), STORABLE] = ""
    kind: Literal["service", "request"] = "service"  # issue 20: a 诉求 is a case of kind "request"
    applicant_id: uuid.UUID | None = None
    agent: Json | None = None
    data: Json = {}
    materials: Json = {}
    origin_device_code: Annotated[str, _limit(limits.CASE_DEVICE_CODE), STORABLE] = ""
    verification_code: Annotated[str, _limit(limits.CASE_VERIFICATION_CODE), STORABLE] = ""


class SaveDraftArgs(_Args):
    """case.save_draft.v1: the wizard's autosave."""

    id: uuid.UUID
    data: Json = {}
    materials: Json = {}
    applicant_id: uuid.UUID | None = None
    agent: Json | None = None


class ResidentArgs(_Args):
    """resident.upsert.v1: a resident as the desk registered or edited them (checked again by the server)."""

    id: uuid.UUID
    name: Annotated[str, _limit(limits.RESIDENT_NAME), STORABLE] = ""
    id_number: Annotated[str, _limit(40), STORABLE] = ""  # as typed: app/core/residents.py normalises it
    phone: Annotated[str, _limit(limits.RESIDENT_PHONE), STORABLE] = ""
    address: Annotated[str, _limit(limits.RESIDENT_ADDRESS), STORABLE] = ""
    household_no: Annotated[str, _limit(limits.RESIDENT_HOUSEHOLD_NO), STORABLE] = ""
    local_hukou: bool = True
    notes: Annotated[str, _limit(limits.RESIDENT_NOTES), STORABLE] = ""
    # The residence model (rules.md §6); an older desk sends none of them, which leaves them empty. The expiry
    # travels as ISO text and is checked by app/core/residents.py, as the desk's form is.
    hukou_province: Annotated[str, _limit(limits.RESIDENT_HUKOU_PROVINCE), STORABLE] = ""
    hukou_city: Annotated[str, _limit(limits.RESIDENT_HUKOU_CITY), STORABLE] = ""
    hukou_county: Annotated[str, _limit(limits.RESIDENT_HUKOU_COUNTY), STORABLE] = ""
    hukou_street: Annotated[str, _limit(limits.RESIDENT_HUKOU_STREET), STORABLE] = ""
    hukou_nature: Annotated[str, _limit(limits.RESIDENT_HUKOU_NATURE), STORABLE] = ""
    residence_permit_no: Annotated[str, _limit(limits.RESIDENT_PERMIT_NO), STORABLE] = ""
    residence_permit_expiry: Annotated[str, _limit(20), STORABLE] | None = None

    def resident_input(self) -> ResidentInput:
        """The entry as app/core/residents.py checks it, on the desk and on the server."""
        return ResidentInput(
            name=self.name, id_number=self.id_number, phone=self.phone, address=self.address,
            household_no=self.household_no, local_hukou=self.local_hukou, notes=self.notes,
            hukou_province=self.hukou_province, hukou_city=self.hukou_city, hukou_county=self.hukou_county,
            hukou_street=self.hukou_street, hukou_nature=self.hukou_nature,
            residence_permit_no=self.residence_permit_no, residence_permit_expiry=self.residence_permit_expiry)


class AttachmentArgs(_Args):
    """attachment.add.v1: a file added to a case and/or a resident — its metadata; the bytes travel apart
    (app/desk/sync/files.py) once this command is in, so a file never holds up a case's commands."""

    id: uuid.UUID
    case_id: uuid.UUID | None = None
    resident_id: uuid.UUID | None = None
    material: Annotated[str, _limit(limits.ATTACHMENT_MATERIAL), STORABLE] = ""
    sha256: Annotated[str, Field(pattern=limits.SHA256_PATTERN)]
    size: Annotated[int, Field(ge=1, le=limits.ATTACHMENT_MAX_BYTES)]
    mime: Annotated[str, AfterValidator(limits.one_of(limits.ATTACHMENT_MIME_TYPES))]
    filename: Annotated[str, _limit(limits.ATTACHMENT_FILENAME), STORABLE] = ""
    pages: Annotated[int, Field(ge=1, le=limits.ATTACHMENT_MAX_PAGES)] = 1
    source: Annotated[str, AfterValidator(limits.one_of(limits.ATTACHMENT_SOURCES))] = ""

    @model_validator(mode="after")
    def _names_its_owner(self) -> AttachmentArgs:
        if self.case_id is None and self.resident_id is None:
            raise BadCommand("附件未关联案件或居民", "附件未关联案件或居民")
        return self


class AttachmentRemoveArgs(_Args):
    """attachment.remove.v1: a file taken off its case (added by mistake); the bytes stay until nothing refers
    to them (``server attachments gc``)."""

    id: uuid.UUID
    reason: Annotated[str, _limit(limits.MAX_SHORT), STORABLE] = ""


def written_text(args: Any) -> str:
    """What the worker (or, for a rating, the resident) wrote in a command (a reply's text, a result, a reason,
    a note, a rating's comment), from its raw args: what a refused change keeps for the worker to see."""
    for key in ("text", "result_text", "reason", "note", "comment", "description"):
        value = args.get(key) if isinstance(args, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


class BadCommand(UserError, ValueError):
    """A command whose arguments do not fit its schema. ``problem`` names the first one in the worker's words
    ("住址过长（最多 200 个字）"); the message is the problem as the desk shows it, or, from
    :func:`parse_args`, as the reason the server sets the command aside."""

    def __init__(self, message: str, problem: str = "", *, limit: bool = False):
        super().__init__(message)
        self.problem, self.limit = problem or message, limit

    @classmethod
    def of(cls, e: ValidationError) -> BadCommand:
        """The desk's refusal of a command it was about to build: the problem itself."""
        problem, limit = _problem(e.errors()[0])
        return cls(problem, problem, limit=limit)


def _problem(err: ErrorDetails) -> tuple[str, bool]:
    """(the problem in Chinese, whether it is a limit the worker can fix) of one pydantic error."""
    key = str(err["loc"][0]) if err.get("loc") else ""
    what = limits.label(key)
    ctx = err.get("ctx") or {}
    if err["type"] == "string_too_long":
        return limits.too_long(what, int(ctx.get("max_length", 0))), True
    if err["type"] == "too_long":  # a list
        return f"{what}过多（最多 {int(ctx.get('max_length', 0))} 条）", True
    if err["type"] == "string_unicode" or (err["type"] == "value_error" and isinstance(ctx.get("error"),
                                                                                       limits.Unstorable)):
        return limits.unstorable(what), True  # pydantic refuses a lone surrogate itself (string_unicode)
    if err["type"] == "value_error" and isinstance(ctx.get("error"), limits.TooLarge):
        return f"{what}{ctx['error']}", True
    if err["type"] == "value_error" and isinstance(ctx.get("error"), BadCommand):
        inner = ctx["error"]  # model_validate runs _Args.__init__, which already named the problem
        return inner.problem, inner.limit
    if err["type"] == "missing":
        return f"缺少{what}", False
    return f"{what}不符合要求", False


def parse_args(model: type[_Args], args: Any) -> Any:
    """``model`` from a command's JSON args, or :class:`BadCommand` with a Chinese reason."""
    if not isinstance(args, dict):
        raise BadCommand("操作内容格式有误，无法处理", "格式有误")
    try:
        return model.model_validate(args)
    except ValidationError as e:
        problem, limit = _problem(e.errors()[0])
        if limit:
            raise BadCommand(f"操作内容有误：{problem}，无法处理", problem) from None
        if problem.startswith("缺少"):
            raise BadCommand(f"操作内容不完整（{problem}），无法处理", problem) from None
        raise BadCommand(f"操作内容有误（{problem}），无法处理", problem) from None


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
    if mutation == Mutation.ATTACHMENT_ADD:
        return AttachmentArgs
    if mutation == Mutation.ATTACHMENT_REMOVE:
        return AttachmentRemoveArgs
    if mutation == Mutation.COMMITTEE_BLOCKS:
        return BlocksArgs
    action = mutation.action
    return ARGS.get(action) if action else None
