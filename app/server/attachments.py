"""attachment.add.v1 and attachment.remove.v1 on the server (issue 15): the shared ``attachment`` row.

An attachment is scoped like a case command: the case (or resident) it belongs to must be on the server and of
the device's committee (a case the server does not have yet is refused exactly as a case command naming it
would be, and held first when the command names the command it was made after: app/server/held.py), and the
acting worker needs a role that may act on cases. Adding writes the row once per id (a second add of the same id
is a no-op) and the committee's ``server_blob`` row of its sha256 the bytes will be uploaded into
(app/server/files.py; each committee uploads its own copy).
Removing only marks the row; the bytes stay until ``server attachments gc`` finds nothing referring to them.
A refusal raises :class:`Rejected` with a Chinese reason: the command is set aside like any other.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.core import attachment_rules, commands
from app.core.vocabulary import Mutation
from app.server.mutations import RESIDENT_REFUSED, ApplyContext, Rejected, _earlier_refusal, find_resident
from app.server.mutations import _load_case as load_case
from app.server.mutations import _raw_id as raw_id
from models import Attachment
from models.server import Case, ServerBlob

# Who may add or take off a file — app/core/attachment_rules.py, the same rule the desk's AttachmentService
# checks before it enqueues (app/desk/attachments/service.py), so a command a desk accepted is refused here only
# when the case (or the worker's roles) changed meanwhile: any role that acts on cases at all (checked first,
# before the case is looked up); on a case, the desk roles while it is not finished, a line colleague while it
# is forwarded to them (or answered by them); on a resident alone, the desk roles. Taking a file off: its adder
# while the case is not finished, a supervisor or an administrator always.
ROLE_REFUSED = attachment_rules.ROLE_REFUSED + "，附件操作未生效"
BAD_ARGS = "附件信息有误："
SIZE_MISMATCH = "附件大小与区服务器上同一文件的记录不一致（文件可能已损坏），附件未能保存。请重新添加该附件"
ID_TAKEN = "附件编号已被其他居委会的附件占用，附件未能保存"
UNKNOWN = "该附件尚未上传到区服务器，操作未生效"
NOT_OURS = "该附件不属于本机所在的居委会，操作未生效"


def apply(ctx: ApplyContext, name: str, raw: Any) -> dict:
    """One attachment command; raises :class:`Rejected` for anything refused."""
    case_id = raw_id(raw, "case_id")
    if name == Mutation.ATTACHMENT_ADD:
        model: type = commands.AttachmentArgs
    else:
        model = commands.AttachmentRemoveArgs
    try:
        cmd = commands.parse_args(model, raw)
    except commands.BadCommand as e:
        raise Rejected(f"{BAD_ARGS}{e.problem}，无法处理", case_id=case_id) from None
    if attachment_rules.role_refusal(ctx.roles):
        raise Rejected(ROLE_REFUSED, case_id=case_id)
    if name == Mutation.ATTACHMENT_ADD:
        return _add(ctx, cmd)
    return _remove(ctx, cmd)


def _resident(ctx: ApplyContext, resident_id: uuid.UUID) -> uuid.UUID:
    r = find_resident(ctx, resident_id)
    if r is None or r.committee_id != ctx.committee.id:
        why = _earlier_refusal(ctx, Mutation.RESIDENT_UPSERT, "resident_id", resident_id)
        if why:
            raise Rejected(f"该居民的信息未能上传：{why.removeprefix(RESIDENT_REFUSED)}，附件未能保存",
                           resident_id=resident_id)
        raise Rejected("该居民尚未上传到区服务器（居民记录不存在），附件未能保存", resident_id=resident_id)
    return r.id


def _check_may_add(ctx: ApplyContext, case: Case | None) -> None:
    why = attachment_rules.add_refusal(case, ctx.worker.id, ctx.roles, ctx.worker.lines)
    if why:
        raise Rejected(why + "，附件未生效", case_id=case.id if case else None)


def _check_may_remove(ctx: ApplyContext, a: Attachment) -> None:
    case = ctx.s.get(Case, a.case_id) if a.case_id else None
    why = attachment_rules.remove_refusal(a.added_by_id, ctx.worker.id, ctx.roles, case.state if case else None)
    if why:
        raise Rejected(why + "，操作未生效", case_id=a.case_id)


def _result(a: Attachment) -> dict:
    named = {"attachment_id": a.id, "case_id": a.case_id, "resident_id": a.resident_id}
    return {key: str(value) for key, value in named.items() if value}


def _add(ctx: ApplyContext, cmd: commands.AttachmentArgs) -> dict:
    s = ctx.s
    case = load_case(ctx, cmd.case_id) if cmd.case_id else None
    resident_id = _resident(ctx, cmd.resident_id) if cmd.resident_id else None
    existing = s.get(Attachment, cmd.id)
    if existing is not None:
        if existing.committee_id != ctx.committee.id:
            raise Rejected(ID_TAKEN, case_id=cmd.case_id)
        return _result(existing)  # added before (the same command under another mutation id): nothing again
    _check_may_add(ctx, case)
    # The committee's own copy of the bytes (another committee's file of the same sha256 is never looked at:
    # neither its bytes nor whether it exists reach this committee).
    blob = s.get(ServerBlob, (ctx.committee.id, cmd.sha256), with_for_update=True)
    if blob is not None and blob.size != cmd.size:
        raise Rejected(SIZE_MISMATCH, case_id=cmd.case_id)
    if blob is None:
        s.add(ServerBlob(committee_id=ctx.committee.id, sha256=cmd.sha256, size=cmd.size, mime=cmd.mime,
                         received=0, complete=False, created_at=ctx.received_at))
    a = Attachment(id=cmd.id, committee_id=ctx.committee.id, case_id=case.id if case else None,
                   resident_id=resident_id, material=cmd.material, sha256=cmd.sha256, size=cmd.size, mime=cmd.mime,
                   filename=cmd.filename, pages=cmd.pages, source=cmd.source, added_by_id=ctx.worker.id,
                   added_at=ctx.at, created_at=ctx.at, updated_at=ctx.at, version=1)
    s.add(a)
    s.flush()  # a later command of the batch (the same file again, its removal) finds both rows
    ctx.touched_attachments[a.id] = a
    return _result(a)


def _remove(ctx: ApplyContext, cmd: commands.AttachmentRemoveArgs) -> dict:
    a = ctx.s.get(Attachment, cmd.id)
    if a is None:
        raise Rejected(UNKNOWN)
    if a.committee_id != ctx.committee.id:
        raise Rejected(NOT_OURS)
    if a.removed_at is None:
        _check_may_remove(ctx, a)  # taken off once; a second removal changes nothing
        a.removed_at, a.removed_by_id = ctx.at, ctx.worker.id
        a.updated_at, a.version = ctx.at, (a.version or 1) + 1
        ctx.touched_attachments[a.id] = a
    return _result(a)
