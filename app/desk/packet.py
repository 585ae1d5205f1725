"""The case packet (issue 15): everything the department needs of a case, as plain data for the case window
and the 申请材料清单 (no Qt, no reportlab).

What the resident answered, step by step as the wizard asked it (labels and values written by the field kinds,
the computed figures and the tier the rules worked out), the warnings the case was accepted over, the applicant
and the agent, and the materials as received with the files that prove each of them.

ID numbers and phones are masked (rules.md §5), for every role, until a worker whose role may see them asks for
the full values (:meth:`PacketService.reveal`): that view is written to the audit log, as the residents page's
查看完整证件号 is.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core import rule_notes
from app.core.errors import UserError
from app.core.masking import mask_free_text
from app.core.vocabulary import STATE_LABELS, chinese_date
from app.desk.attachments import AttachmentInfo
from app.desk.auth import WorkerInfo
from app.desk.context import AppContext
from app.desk.printing.answers import read_answers
from app.desk.printing.data import AnswerSection, AnswerTable, ChecklistLine
from app.desk.residents import ResidentDetail, ResidentService
from forms.identity import mask_id, mask_phone
from forms.schema import Field, ServiceItem
from forms.validate import ValidationResult
from forms.values import format_value, is_empty
from models import AuditEntry, Case, Resident

log = logging.getLogger(__name__)

FIGURES = "计算结果"  # the section of the values the rules computed (first, as on the wizard's review page)
OTHER_MATERIAL = "其他材料"
# What a material's row says of it (the case window and the 申请材料清单 alike).
RECEIVED, NOT_RECEIVED, OWED, PLEDGED, NOT_NEEDED = "已收", "未收", "容缺待补", "告知承诺替代", "本案不需要"
MADE_UP = "已收（容缺后补交）"
# On paper the rule marks (⚠ ℹ) read as words: the bundled font has no glyph for them.
PAPER_MARKS = {"⚠": "须审核", "ℹ": "指引"}
AUDIT_ACTION = "case.view_full_id"


class PacketError(UserError):
    """The packet cannot be shown as asked; Chinese message."""


@dataclass(frozen=True, kw_only=True)
class PersonPart:
    """The applicant or the agent: ``id_text``/``phone_text`` masked unless the packet was revealed."""

    role: str  # 申请人 / 代办人
    name: str
    id_text: str
    phone_text: str
    relation: str = ""  # the agent's relation to the applicant
    resident: ResidentDetail | None = None  # the applicant's record (户籍 / 居住证 as the core derived them)


@dataclass(frozen=True, kw_only=True)
class MaterialRow:
    """One material of the item as this case received it, with the files that prove it."""

    name: str
    form: str
    count: int
    status: str  # RECEIVED / MADE_UP / NOT_RECEIVED / OWED / PLEDGED / NOT_NEEDED ("" for 其他材料)
    note: str = ""  # the 容缺 due date, "必交"/"视情况"
    standard: str = ""
    received: bool = False
    missing: bool = False
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CasePacket:
    case_id: uuid.UUID
    case_number: str
    item_code: str
    item_name: str
    state_label: str
    version: int
    applicant: PersonPart | None
    agent: PersonPart | None
    sections: tuple[AnswerSection, ...]
    warnings: tuple[str, ...]
    materials: tuple[MaterialRow, ...]
    full: bool = False  # ID numbers and phones unmasked (an audited reveal)
    can_reveal: bool = False  # the viewer's role may see them in full
    notice: str = ""  # e.g. the item is no longer in the catalog: answers shown as stored
    attachments: tuple[AttachmentInfo, ...] = field(default=())

    @property
    def attachment_count(self) -> int:
        return len(self.attachments)


# --------------------------------------------------------------------------- the answers, by step


def _text(fld: Field, value: Any, masked: bool) -> str:
    """A value as its field kind writes it: masked (every screen and paper), or in full after a reveal."""
    if not masked:
        return fld.kind.format(fld, value)
    return mask_free_text(fld.kind.mask(fld, value))  # an ID a worker typed into free text, too


def _table(fld: Field, rows: list[dict[str, Any]], masked: bool) -> AnswerTable:
    subs = [s for s in fld.fields if any(not is_empty(r.get(s.key)) for r in rows if isinstance(r, dict))]
    body = tuple(tuple(_text(s, r.get(s.key), masked) for s in subs) for r in rows if isinstance(r, dict))
    return AnswerTable(fld.label, tuple(s.label for s in subs), body)


def answer_sections(item: ServiceItem, result: ValidationResult, *, masked: bool = True) -> tuple[AnswerSection, ...]:
    """The computed figures and the tier (first), then each wizard step with its answered questions in form order
    (a step or a question the answers hide is left out; a repeat group is a table), as
    :func:`app.desk.printing.answers.application_rows` reads them for the 申请表."""
    out: list[AnswerSection] = []
    figures: list[tuple[str, str]] = []
    for comp in item.computed:
        value = result.computed.get(comp.key)
        if comp.key not in result.waiting and not is_empty(value):
            figures.append((comp.label, format_value(value, comp.unit)))
    if result.tier is not None:
        figures.append((item.tier_title, result.tier.label))
    if figures:
        out.append(AnswerSection(FIGURES, tuple(figures)))
    for step in item.steps:
        rows: list[tuple[str, str]] = []
        tables: list[AnswerTable] = []
        for fld in step.fields:
            if fld.key in result.hidden or fld.key in result.waiting:
                continue
            value = result.computed.get(fld.key) if fld.is_computed else result.values.get(fld.key)
            if is_empty(value):
                continue
            if fld.kind.rows and isinstance(value, list):
                tables.append(_table(fld, value, masked))
            else:
                rows.append((fld.label, _text(fld, value, masked)))
        if rows or tables:
            out.append(AnswerSection(step.title, tuple(rows), tuple(tables)))
    return tuple(out)


def raw_sections(data: dict, masked: bool = True) -> tuple[AnswerSection, ...]:
    """The stored answers as they are, for a case whose item the catalog no longer has."""
    rows = tuple((str(k), mask_free_text(str(v)) if masked else str(v)) for k, v in (data or {}).items()
                 if not is_empty(v))
    return (AnswerSection("申请内容", rows),) if rows else ()


# --------------------------------------------------------------------------- the materials


def _info(value: Any) -> dict:
    return dict(value) if isinstance(value, dict) else {"received": bool(value)}


def material_rows(item: ServiceItem | None, materials: dict, attachments: list[AttachmentInfo], *,
                  owed: list[str] | tuple[str, ...] = (), makeup_due: dt.date | None = None,
                  has_agent: bool = False) -> tuple[MaterialRow, ...]:
    """Each material as received (the item's order, then any the case records that the item no longer lists),
    each with its files; the files of no listed material last, as 其他材料.

    A material not received and not required for these answers reads 本案不需要; the agent's own materials are
    left out when there is no agent and nothing was received or attached for them."""
    by_material: dict[str, list[AttachmentInfo]] = {}
    for a in attachments:
        by_material.setdefault(a.material, []).append(a)
    names = [m.name for m in item.materials] if item is not None else []
    names += [n for n in materials if n not in names]
    rows: list[MaterialRow] = []
    for name in names:
        known = item.material(name) if item is not None else None
        info = _info(materials.get(name, {}))
        files = tuple(by_material.pop(name, []))
        required = bool(info.get("required", known.required is True if known else True))
        if name not in materials:
            required = known.required is True if known else False
        received = bool(info.get("received"))
        if known is not None and known.for_agent and not has_agent and not received and not files:
            continue
        note = ""
        if info.get("pledged"):
            status = PLEDGED
        elif received:
            status = MADE_UP if info.get("deferred") else RECEIVED
        elif info.get("deferred") or name in owed:
            status, note = OWED, (f"须于{chinese_date(makeup_due)}前补交" if makeup_due else "待补交")
        elif required:
            status = NOT_RECEIVED
        else:
            status = NOT_NEEDED
        if not note and status in (RECEIVED, NOT_RECEIVED):
            note = "必交" if required else "视情况"
        rows.append(MaterialRow(
            name=name, form=str(info.get("form") or (known.form if known else "原件")),
            count=int(info.get("count") or (known.count if known else 1)), status=status, note=note,
            standard=str(info.get("standard") or (known.standard if known else "")), received=received,
            missing=status in (NOT_RECEIVED, OWED), attachments=files))
    rest = tuple(a for files in by_material.values() for a in files)
    if rest:
        rows.append(MaterialRow(name=OTHER_MATERIAL, form="", count=0, status="", attachments=rest))
    return tuple(rows)


def paper_warnings(lines: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The packet's warning lines for paper: each mark as its word (须审核：…, 指引：…)."""
    out = []
    for line in lines:
        for mark, word in PAPER_MARKS.items():
            if line.startswith(mark):
                line = f"{word}：{line[len(mark):].strip()}"
        out.append(line)
    return tuple(out)


def checklist(rows: tuple[MaterialRow, ...]) -> tuple[ChecklistLine, ...]:
    """The materials table of the 申请材料清单 (what is not needed for this case is left off the paper)."""
    return tuple(ChecklistLine(r.name, r.form or "—", r.count, r.status or "—", r.note, len(r.attachments))
                 for r in rows if r.status != NOT_NEEDED or r.attachments)


# --------------------------------------------------------------------------- the attachments


def case_attachments(ctx: AppContext, case_id: uuid.UUID, catalog=None) -> list[AttachmentInfo]:
    """The case's files as the attachment service lists them (a file not on this desk is listed with its status)."""
    from app.desk.attachments.service import AttachmentService
    return list(AttachmentService(ctx, catalog).for_case(case_id))


# --------------------------------------------------------------------------- the service


@dataclass(frozen=True, kw_only=True)
class _Facts:
    """What the packet reads of the case row, copied out of the session."""

    number: str
    code: str
    name: str
    state: str
    version: int
    data: dict
    materials: dict
    agent: dict | None
    owed: list[str]
    due: dt.date | None
    warnings: list
    note: str
    applicant_id: uuid.UUID | None
    person: tuple[str, str, str] | None


class PacketService:
    """Builds the packet of one case for the worker who reads it."""

    def __init__(self, ctx: AppContext, catalog=None,
                 attachments: Callable[[uuid.UUID], list[AttachmentInfo]] | None = None):
        self.ctx = ctx
        self._catalog = catalog
        self._attachments = attachments

    @property
    def catalog(self):
        if self._catalog is None:
            from app.desk.catalog.refs import shared_catalog
            self._catalog = shared_catalog(self.ctx.data_dir)
        return self._catalog

    def attachments(self, case_id: uuid.UUID) -> list[AttachmentInfo]:
        if self._attachments is not None:
            return list(self._attachments(case_id))
        return case_attachments(self.ctx, case_id, self.catalog)

    def build(self, case_id: uuid.UUID, viewer: WorkerInfo | None = None) -> CasePacket:
        """The packet with every ID number and phone masked, for any role."""
        return self._build(case_id, viewer, full=False)

    def reveal(self, actor: WorkerInfo, case_id: uuid.UUID) -> CasePacket:
        """The packet with ID numbers and phones in full, for a role that may see them; the view is audited
        (the case, and the applicant's record as the residents page's reveal writes it)."""
        if not actor.can_see_full_id:
            raise PacketError("您的角色不能查看完整身份证号码")
        with self.ctx.sessions.begin() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise PacketError("找不到该案件")
            s.add(AuditEntry(worker_id=actor.id, action=AUDIT_ACTION, subject=f"case:{case.id}"))
            if case.applicant_id is not None:
                s.add(AuditEntry(worker_id=actor.id, action="resident.view_full_id",
                                 subject=f"resident:{case.applicant_id}"))
        log.info("full identifiers of a case shown to worker %s", actor.login)
        return self._build(case_id, actor, full=True)

    def _build(self, case_id: uuid.UUID, viewer: WorkerInfo | None, *, full: bool) -> CasePacket:
        with self.ctx.sessions() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise PacketError("找不到该案件")
            r = s.get(Resident, case.applicant_id) if case.applicant_id else None
            f = _Facts(number=case.case_number, code=case.item_code, name=case.item_name, state=case.state,
                       version=case.version, data=dict(case.data or {}), materials=dict(case.materials or {}),
                       agent=dict(case.agent) if isinstance(case.agent, dict) else None,
                       owed=[str(m) for m in case.makeup_materials or []], due=case.makeup_due,
                       warnings=list(case.rule_warnings or []), note=case.warning_note or "",
                       applicant_id=case.applicant_id, person=(r.name, r.id_number, r.phone) if r else None)
        item = self.catalog.get(f.code)
        masked = not full
        applicant = self._applicant(f.applicant_id, f.person, masked)
        agent = _agent_part(f.agent, masked)
        notice = ""
        if item is None:
            sections = raw_sections(f.data, masked)
            notice = "该事项已不在当前目录中，申请内容按保存时的原始数据显示。"
        else:
            from app.desk.intake import IntakeService  # intake builds on the printing package, as this does
            seen = IntakeService(self.ctx, catalog=self.catalog).applicant(f.applicant_id)
            sections = answer_sections(item, read_answers(item, f.data, seen, f.agent), masked=masked)
        files = self.attachments(case_id)
        warnings = rule_notes.screen_lines(f.warnings, f.note)
        if masked:
            warnings = [mask_free_text(w) for w in warnings]
        return CasePacket(
            case_id=case_id, case_number=f.number, item_code=f.code, item_name=f.name,
            state_label=STATE_LABELS.get(f.state, f.state), version=f.version, applicant=applicant, agent=agent,
            sections=sections, warnings=tuple(warnings),
            materials=material_rows(item, f.materials, files, owed=f.owed, makeup_due=f.due,
                                    has_agent=agent is not None),
            full=full, can_reveal=bool(viewer and viewer.can_see_full_id), notice=notice, attachments=tuple(files))

    def _applicant(self, resident_id: uuid.UUID | None, person: tuple[str, str, str] | None,
                   masked: bool) -> PersonPart | None:
        if resident_id is None or person is None:
            return None
        name, id_number, phone = person
        detail = ResidentService(self.ctx).get(resident_id)
        return PersonPart(role="申请人", name=name, id_text=mask_id(id_number) if masked else id_number,
                          phone_text=(mask_phone(phone) if masked else phone) or "—", resident=detail)


def _agent_part(agent: dict | None, masked: bool) -> PersonPart | None:
    if not agent or not str(agent.get("name") or "").strip():
        return None
    id_number, phone = str(agent.get("id_number") or ""), str(agent.get("phone") or "")
    return PersonPart(role="代办人", name=str(agent.get("name") or ""),
                      id_text=(mask_id(id_number) if masked else id_number) or "—",
                      phone_text=(mask_phone(phone) if masked else phone) or "—",
                      relation=str(agent.get("relation") or ""))
