"""Resident register: search, view (masked unless the role needs the full value), create and edit with validation."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.desk.auth import WorkerInfo
from app.desk.context import AppContext
from app.desk.outbox import enqueue
from forms.identity import IdentityError, mask_id, mask_phone, normalize_id, validate_id, validate_phone
from models import AuditEntry, Resident, utcnow

log = logging.getLogger(__name__)


class ResidentError(ValueError):
    """Invalid resident data; Chinese message, nothing was changed."""


@dataclass(frozen=True)
class ResidentRow:
    id: uuid.UUID
    name: str
    id_masked: str
    phone_masked: str
    address: str
    sex: str
    age: int | None


@dataclass(frozen=True)
class ResidentInput:
    name: str
    id_number: str
    phone: str = ""
    address: str = ""
    household_no: str = ""
    local_hukou: bool = True
    notes: str = ""


@dataclass(frozen=True)
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


def _pinyin_key(name: str) -> str:
    from pypinyin import Style, lazy_pinyin  # its phrase dictionary costs ~0.2 s; load on first use
    full = "".join(lazy_pinyin(name))
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))
    return f"{full} {initials}".lower()


def _age(birth: dt.date | None, today: dt.date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _row(r: Resident, today: dt.date) -> ResidentRow:
    return ResidentRow(r.id, r.name, mask_id(r.id_number), mask_phone(r.phone), r.address, r.sex, _age(r.birth_date, today))


def validate_input(data: ResidentInput, today: dt.date | None = None) -> tuple[ResidentInput, str | None]:
    """Return the normalised input and an optional warning, or raise :class:`ResidentError`."""
    name = data.name.strip()
    if not name:
        raise ResidentError("请填写姓名")
    if len(name) > 30:
        raise ResidentError("姓名过长（最多 30 个字）")
    try:
        info = validate_id(data.id_number, today)
        phone, warning = validate_phone(data.phone) if data.phone.strip() else ("", None)
    except IdentityError as e:
        raise ResidentError(str(e)) from None
    return ResidentInput(name, info.number, phone, data.address.strip(), data.household_no.strip(),
                         data.local_hukou, data.notes.strip()), warning


class ResidentService:
    def __init__(self, ctx: AppContext):
        self.ctx = ctx

    def search(self, text: str, limit: int = 200) -> list[ResidentRow]:
        q = text.strip()
        today = dt.date.today()
        with self.ctx.sessions() as s:
            stmt = select(Resident).order_by(Resident.name).limit(limit)
            if q:
                like = f"%{q}%"
                digits = normalize_id(q)
                stmt = stmt.where(or_(Resident.name.like(like), Resident.name_pinyin.like(f"%{q.lower()}%"),
                                      Resident.id_number.like(f"%{digits}%"), Resident.phone.like(like)))
            return [_row(r, today) for r in s.scalars(stmt)]

    def find_by_id_number(self, id_number: str) -> ResidentRow | None:
        with self.ctx.sessions() as s:
            r = s.scalar(select(Resident).where(Resident.id_number == normalize_id(id_number)))
            return _row(r, dt.date.today()) if r else None

    def get(self, resident_id: uuid.UUID) -> ResidentDetail:
        with self.ctx.sessions() as s:
            r = s.get(Resident, resident_id)
            if r is None:
                raise ResidentError("找不到该居民")
            return ResidentDetail(r.id, r.name, mask_id(r.id_number), mask_phone(r.phone), r.address, r.household_no,
                                  r.local_hukou, r.sex, r.birth_date, _age(r.birth_date, dt.date.today()), r.notes, r.version)

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

    def create(self, actor: WorkerInfo, data: ResidentInput) -> tuple[ResidentRow, str | None]:
        clean, warning = validate_input(data)
        committee_id = self.ctx.identity().committee_id  # read before the write transaction opens
        with self.ctx.sessions.begin() as s:
            r = self._insert(s, actor, clean, committee_id)
            return _row(r, dt.date.today()), warning

    def _insert(self, s: Session, actor: WorkerInfo, clean: ResidentInput, committee_id: uuid.UUID) -> Resident:
        if s.scalar(select(Resident.id).where(Resident.id_number == clean.id_number)):
            raise ResidentError("该身份证号码的居民已登记，请直接搜索选择")
        info = validate_id(clean.id_number)
        r = Resident(committee_id=committee_id, name=clean.name, name_pinyin=_pinyin_key(clean.name),
                     id_number=clean.id_number, sex=info.sex, birth_date=info.birth_date, phone=clean.phone,
                     address=clean.address, household_no=clean.household_no, local_hukou=clean.local_hukou,
                     notes=clean.notes)
        s.add(r)
        s.flush()
        enqueue(s, "resident.upsert.v1", resident_snapshot(r), actor.id)
        log.info("resident created: %s", r.id)
        return r

    def update(self, actor: WorkerInfo, resident_id: uuid.UUID, data: ResidentInput,
               expected_version: int | None = None) -> tuple[ResidentRow, str | None]:
        """Edit a resident. ``data.id_number`` / ``phone`` left empty keep the stored values (the form shows masks)."""
        with self.ctx.sessions.begin() as s:
            r = s.get(Resident, resident_id)
            if r is None:
                raise ResidentError("找不到该居民")
            if expected_version is not None and r.version != expected_version:
                raise ResidentError("该居民信息已被他人修改，请重新打开后再编辑")
            merged = ResidentInput(data.name, data.id_number or r.id_number, data.phone if data.phone else r.phone,
                                   data.address, data.household_no, data.local_hukou, data.notes)
            clean, warning = validate_input(merged)
            if clean.id_number != r.id_number and s.scalar(select(Resident.id).where(Resident.id_number == clean.id_number)):
                raise ResidentError("该身份证号码已属于另一位居民")
            info = validate_id(clean.id_number)
            r.name, r.name_pinyin, r.id_number = clean.name, _pinyin_key(clean.name), clean.id_number
            r.sex, r.birth_date, r.phone = info.sex, info.birth_date, clean.phone
            r.address, r.household_no, r.local_hukou, r.notes = clean.address, clean.household_no, clean.local_hukou, clean.notes
            r.version += 1
            r.updated_at = utcnow()
            enqueue(s, "resident.upsert.v1", resident_snapshot(r), actor.id)
            log.info("resident updated: %s", r.id)
            return _row(r, dt.date.today()), warning


def resident_snapshot(r: Resident) -> dict:
    return {"id": str(r.id), "name": r.name, "id_number": r.id_number, "phone": r.phone, "address": r.address,
            "household_no": r.household_no, "local_hukou": r.local_hukou, "notes": r.notes, "version": r.version}
