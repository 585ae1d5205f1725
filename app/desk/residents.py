"""Resident register: search, view (masked unless the role needs the full value), create and edit with validation."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from app.core.changes import Changes
from app.core.commands import ResidentArgs
from app.core.residence import Region, Residence, committee_region, hukou_region, residence_of
from app.core.residents import ID_NUMBER_TAKEN, ResidentError, ResidentInput, apply_resident, validate_input
from app.core.vocabulary import Mutation
from app.desk.auth import WorkerInfo
from app.desk.context import AppContext
from app.desk.outbox import enqueue
from forms.identity import lookup_kind, mask_id, mask_phone, normalize_id, normalize_phone
from models import AuditEntry, Committee, Resident, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ResidentRow:
    id: uuid.UUID
    name: str
    id_masked: str
    phone_masked: str
    address: str
    sex: str
    age: int | None


class ResidentSaved(NamedTuple):
    """A saved resident and an optional warning for the worker (e.g. a landline without area code)."""

    row: ResidentRow
    warning: str | None

    @property
    def changes(self) -> Changes:
        return Changes(residents=True)  # the outbox grew too: Changes.queued covers residents


@dataclass(frozen=True, kw_only=True)
class ResidentDetail:
    id: uuid.UUID
    name: str
    id_masked: str
    phone_masked: str
    address: str
    household_no: str
    local_hukou: bool
    sex: str
    birth_date: dt.date | None
    age: int | None
    notes: str
    version: int
    # the residence model (rules.md §6): what was recorded, and what follows against the committee's place
    hukou: Region = field(default_factory=Region)
    hukou_nature: str = ""
    residence_permit_no: str = ""
    residence_permit_expiry: dt.date | None = None
    residence: Residence | None = None


def _age(birth: dt.date | None, today: dt.date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _row(r: Resident, today: dt.date) -> ResidentRow:
    return ResidentRow(id=r.id, name=r.name, id_masked=mask_id(r.id_number), phone_masked=mask_phone(r.phone),
                       address=r.address, sex=r.sex, age=_age(r.birth_date, today))


_LAST_FOUR = re.compile(r"[0-9]{3}[0-9X]")


def _matches(q: str) -> ColumnElement[bool]:
    """What a search finds (issue 14, finding 9): a name or its pinyin by any part, but an ID number or a phone
    only in full or by its last 4 — the digits a mask hides (``320302********1234``, ``139****0000``) can never
    be found one by one by trying middle substrings."""
    terms: list[ColumnElement[bool]] = [Resident.name.like(f"%{q}%"), Resident.name_pinyin.like(f"%{q.lower()}%")]
    digits = normalize_id(q)
    phone = re.sub(r"[-\s]", "", normalize_phone(q))
    if re.fullmatch(r"(?:\+?86|0086)?1[0-9]{10}", phone):
        phone = phone[-11:]  # +86 139 5200 0000 → stored as 13952000000
    if _LAST_FOUR.fullmatch(digits):
        terms += [Resident.id_number.like(f"%{digits}"), Resident.phone.like(f"%{digits}")]
    elif len(digits) in (15, 18):
        terms.append(Resident.id_number == digits)
    if len(phone) >= 7:
        terms.append(func.replace(Resident.phone, "-", "") == phone)
    return or_(*terms)


class ResidentService:
    def __init__(self, ctx: AppContext):
        self.ctx = ctx

    def search(self, text: str, limit: int = 200) -> list[ResidentRow]:
        q = text.strip()
        today = dt.date.today()
        with self.ctx.sessions() as s:
            stmt = select(Resident).order_by(Resident.name).limit(limit)
            if q:
                stmt = stmt.where(_matches(q))
            return [_row(r, today) for r in s.scalars(stmt)]

    def find_by_id_number(self, id_number: str) -> ResidentRow | None:
        with self.ctx.sessions() as s:
            r = s.scalar(select(Resident).where(Resident.id_number == normalize_id(id_number)))
            return _row(r, dt.date.today()) if r else None

    def get(self, resident_id: uuid.UUID) -> ResidentDetail:
        today = dt.date.today()
        with self.ctx.sessions() as s:
            r = s.get(Resident, resident_id)
            if r is None:
                raise ResidentError("找不到该居民")
            return ResidentDetail(
                id=r.id, name=r.name, id_masked=mask_id(r.id_number), phone_masked=mask_phone(r.phone),
                address=r.address, household_no=r.household_no, local_hukou=r.local_hukou, sex=r.sex,
                birth_date=r.birth_date, age=_age(r.birth_date, today), notes=r.notes, version=r.version,
                hukou=hukou_region(r), hukou_nature=r.hukou_nature, residence_permit_no=r.residence_permit_no,
                residence_permit_expiry=r.residence_permit_expiry,
                residence=residence_of(r, self._home(s, r.committee_id), today))

    @staticmethod
    def _home(s: Session, committee_id: uuid.UUID) -> Region:
        """The committee's own place (``settings["region"]``), against which 户籍 is local or not."""
        com = s.get(Committee, committee_id)
        return committee_region(com.settings if com else None)

    def reveal(self, actor: WorkerInfo, resident_id: uuid.UUID) -> tuple[str, str]:
        """Full ID number and phone for roles that need them; every view is written to the audit log."""
        if not actor.can_see_full_id:
            raise ResidentError("您的角色不能查看完整身份证号码")
        with self.ctx.sessions.begin() as s:
            r = s.get(Resident, resident_id)
            if r is None:
                raise ResidentError("找不到该居民")
            s.add(AuditEntry(worker_id=actor.id, action="resident.view_full_id", subject=f"resident:{r.id}"))
            return r.id_number, r.phone

    def create(self, actor: WorkerInfo, data: ResidentInput) -> ResidentSaved:
        clean, warning = validate_input(data)
        committee_id = self.ctx.identity().committee_id  # read before the write transaction opens
        with self.ctx.sessions.begin() as s:
            r = self._insert(s, actor, clean, committee_id)
            return ResidentSaved(_row(r, dt.date.today()), warning)

    def _insert(self, s: Session, actor: WorkerInfo, clean: ResidentInput, committee_id: uuid.UUID) -> Resident:
        if s.scalar(select(Resident.id).where(Resident.id_number == clean.id_number)):
            raise ResidentError("该身份证号码的居民已登记，请直接搜索选择")
        r = Resident(committee_id=committee_id, version=0)
        apply_resident(r, clean, at=utcnow(), home=self._home(s, committee_id))  # version 0 → 1
        s.add(r)
        s.flush()
        enqueue(s, Mutation.RESIDENT_UPSERT, resident_snapshot(r), actor.id)
        log.info("resident created: %s", r.id)
        return r

    def update(self, actor: WorkerInfo, resident_id: uuid.UUID, data: ResidentInput,
               expected_version: int | None = None) -> ResidentSaved:
        """Edit a resident. ``data.id_number`` / ``phone`` left empty keep the stored values (the form shows masks)."""
        with self.ctx.sessions.begin() as s:
            r = s.get(Resident, resident_id)
            if r is None:
                raise ResidentError("找不到该居民")
            if expected_version is not None and r.version != expected_version:
                raise ResidentError("该居民信息已被他人修改，请重新打开后再编辑")
            merged = replace(data, id_number=data.id_number or r.id_number, phone=data.phone if data.phone else r.phone)
            clean, warning = validate_input(merged)
            taken = select(Resident.id).where(Resident.id_number == clean.id_number)
            if clean.id_number != r.id_number and s.scalar(taken):
                raise ResidentError(ID_NUMBER_TAKEN)
            apply_resident(r, clean, at=utcnow(), home=self._home(s, r.committee_id))
            enqueue(s, Mutation.RESIDENT_UPSERT, resident_snapshot(r), actor.id)
            log.info("resident updated: %s", r.id)
            return ResidentSaved(_row(r, dt.date.today()), warning)


def registration_prefill(search_text: str) -> dict[str, str]:
    """The new-resident form's starting values from a search that found nobody: the typed ID number, phone or
    name in its field (nothing when the text is none of them clearly)."""
    kind = lookup_kind(search_text)
    value = search_text.strip()
    if kind == "id_number":
        value = normalize_id(value)
    return {kind: value} if kind else {}


def resident_snapshot(r: Resident) -> dict:
    """The resident.upsert.v1 command's args (the server checks them again with the same core rules)."""
    expiry = r.residence_permit_expiry.isoformat() if r.residence_permit_expiry else None
    return {**ResidentArgs(id=r.id, name=r.name, id_number=r.id_number, phone=r.phone, address=r.address,
                           household_no=r.household_no, local_hukou=r.local_hukou, notes=r.notes,
                           hukou_province=r.hukou_province, hukou_city=r.hukou_city, hukou_county=r.hukou_county,
                           hukou_street=r.hukou_street, hukou_nature=r.hukou_nature,
                           residence_permit_no=r.residence_permit_no, residence_permit_expiry=expiry).wire(),
            "version": r.version}
