"""District administrator's services: committees, worker accounts, enrol codes, devices, calendar, catalog.

Everything that desks must see is written to the change log in the same transaction, under the lock row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.accounts import (
    AccountError,
    AuthError,
    check_committee,
    check_login,
    hash_password,
    validate_new_password,
)
from app.core.blocks import SETTINGS_KEY as BLOCKS_KEY
from app.core.blocks import Block, BlockError, blocks_setting, parse_blocks
from app.core.errors import UserError
from app.core.ratings import SETTINGS_KEY as FOLLOWUP_KEY
from app.core.ratings import FollowupDays, SettingsError, check_followup_days, followup_days
from app.core.residence import REGION_KEY, Region, region_from_division_code, with_region
from app.core.vocabulary import Role
from app.core.workdays import CalendarError, CalendarStore, WorkCalendar, load_calendar_file, parse_calendar_year
from app.server.changes import ChangeWriter, scope_of
from app.server.db import ServerDB, take_lock
from models import utcnow
from models.server import CalendarVersion, CatalogVersion, Committee, EnrollCode, ServerDevice, Worker

ENROLL_CODE_TTL = dt.timedelta(minutes=15)
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone
_TIME_RE = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class AdminError(UserError, ValueError):
    """A refused administrator command; Chinese message, nothing changed."""


@dataclass(frozen=True, kw_only=True)
class DeviceRow:
    id: uuid.UUID
    committee_code: str
    code: str
    name: str
    last_mid: int
    enrolled_at: dt.datetime
    last_seen_at: dt.datetime | None
    clock_offset_s: float | None
    revoked_at: dt.datetime | None


def _committee(s: Session, code: str) -> Committee:
    com = s.scalar(select(Committee).where(Committee.code == code.strip()))
    if com is None:
        raise AdminError(f"没有编码为“{code}”的居委会，请先用 server committee add 添加")
    return com


def _check_committee_fields(code: str, name: str, close_of_business: str) -> None:
    try:
        check_committee(code, name)
    except AccountError as e:
        raise AdminError(str(e)) from None
    if not _TIME_RE.fullmatch(close_of_business):
        raise AdminError("下班时间应为 HH:MM，例如 17:30")


def add_committee(db: ServerDB, code: str, name: str, *, phone: str = "", address: str = "",
                  close_of_business: str = "17:30", now: dt.datetime | None = None) -> Committee:
    _check_committee_fields(code, name, close_of_business)
    now = now or utcnow()
    with db.sessions.begin() as s:
        changes = ChangeWriter(s, now)
        if s.scalar(select(Committee.id).where(Committee.code == code.strip())):
            raise AdminError(f"居委会编码“{code}”已存在")
        # The committee's own place for the residence rules, as far as its code names it (app/core/residence.py);
        # ``committee set CODE region=省/市/区县/街道`` completes it.
        region = region_from_division_code(code)
        com = Committee(code=code.strip(), name=name.strip(), phone=phone, address=address,
                        close_of_business=close_of_business, settings={} if region.empty else with_region({}, region),
                        created_at=now, updated_at=now)
        s.add(com)
        s.flush()
        changes.committee(com)
        return com


def update_committee(db: ServerDB, code: str, *, name: str | None = None, phone: str | None = None,
                     address: str | None = None, close_of_business: str | None = None,
                     settings: dict | None = None, now: dt.datetime | None = None) -> Committee:
    """Committee settings flow down to every desk of the committee."""
    now = now or utcnow()
    with db.sessions.begin() as s:
        changes = ChangeWriter(s, now)
        com = _committee(s, code)
        _check_committee_fields(com.code, name if name is not None else com.name,
                                close_of_business if close_of_business is not None else com.close_of_business)
        for key, value in (("name", name), ("phone", phone), ("address", address),
                           ("close_of_business", close_of_business)):
            if value is not None:
                setattr(com, key, value.strip())
        if settings:
            com.settings = {**(com.settings or {}), **settings}
            if REGION_KEY in settings:  # typed as 省/市/区县/街道 on the command line: kept as its four parts
                com.settings = with_region(com.settings, Region.of(settings[REGION_KEY]))
        com.version += 1
        com.updated_at = now
        changes.committee(com)
        return com


def set_committee_blocks(db: ServerDB, code: str, raw: object, now: dt.datetime | None = None) -> list[Block]:
    """A committee's 块区 (issue 20) from a JSON list (``server committee blocks CODE FILE.json``): each
    ``{"code", "name", "leader_id" or "leader_login", "addresses"}``; checked whole (app/core/blocks.py, 块长 among
    the committee's active workers), kept in its settings, its change row emitted so its desks pull it."""
    now = now or utcnow()
    with db.sessions.begin() as s:
        changes = ChangeWriter(s, now)
        com = _committee(s, code)
        workers = list(s.scalars(select(Worker).where(Worker.committee_id == com.id, Worker.active.is_(True))))
        by_login = {w.login: w.id for w in workers}
        entries = raw.get("blocks") if isinstance(raw, dict) else raw
        if isinstance(entries, list):
            resolved = []
            for entry in entries:
                if isinstance(entry, dict) and entry.get("leader_login") and not entry.get("leader_id"):
                    login = str(entry["leader_login"])
                    if login not in by_login:
                        raise AdminError(f"块区 {entry.get('code', '')} 的块长账号 {login} 不是本居委会在岗的社工")
                    entry = {**entry, "leader_id": str(by_login[login])}
                resolved.append(entry)
            entries = resolved
        try:
            blocks = parse_blocks(entries, workers=[w.id for w in workers])
        except BlockError as e:
            raise AdminError(str(e)) from None
        com.settings = {**(com.settings or {}), BLOCKS_KEY: blocks_setting(blocks)}
        com.version += 1
        com.updated_at = now
        changes.committee(com)
        return blocks


def set_followup_days(db: ServerDB, callback_days: int, fix_days: int,
                      now: dt.datetime | None = None) -> tuple[FollowupDays, list[Committee]]:
    """差评回访 deadlines, the district's choice for every committee (rules.md §3): checked first (nothing changed
    when refused), then written to each committee's settings and its change row emitted, so its desks pull it."""
    try:
        days = check_followup_days(callback_days, fix_days)
    except SettingsError as e:
        raise AdminError(str(e)) from None
    now = now or utcnow()
    with db.sessions.begin() as s:
        changes = ChangeWriter(s, now)
        committees = list(s.scalars(select(Committee).order_by(Committee.code)))
        if not committees:
            raise AdminError("区里还没有居委会，请先用 server committee add 添加")
        for com in committees:
            com.settings = {**(com.settings or {}), FOLLOWUP_KEY: days.as_settings()}
            com.version += 1
            com.updated_at = now
            changes.committee(com)
        return days, committees


def followup_settings(db: ServerDB) -> list[tuple[Committee, FollowupDays]]:
    """Each committee's 差评回访 deadlines as its desks use them (the defaults when never set)."""
    return [(com, followup_days(com.settings)) for com in list_committees(db)]


def list_committees(db: ServerDB) -> list[Committee]:
    with db.read_sessions() as s:
        return list(s.scalars(select(Committee).order_by(Committee.code)))


def _check_worker_fields(login: str, display_name: str, roles: list[str]) -> None:
    try:
        check_login(login)
    except AccountError as e:
        raise AdminError(str(e)) from None
    if not display_name.strip():
        raise AdminError("请填写工作人员姓名")
    unknown = [r for r in roles if r not in tuple(Role)]
    if not roles or unknown:
        raise AdminError(f"角色应取自：{'、'.join(Role)}" + (f"（未知：{'、'.join(unknown)}）" if unknown else ""))


def add_worker(db: ServerDB, committee_code: str, login: str, display_name: str, *, roles: list[str],
               password: str | None = None, password_hash: str | None = None, lines: list[str] | None = None,
               phone: str = "", now: dt.datetime | None = None) -> Worker:
    """Create a district-managed account; it reaches every desk of the committee with its password hash."""
    _check_worker_fields(login.strip(), display_name, roles)
    if password_hash is None:
        try:
            validate_new_password(password or "")
        except AuthError as e:
            raise AdminError(str(e)) from None
        password_hash = hash_password(password or "")  # before the lock: hashing takes ~50 ms
    now = now or utcnow()
    with db.sessions.begin() as s:
        changes = ChangeWriter(s, now)
        com = _committee(s, committee_code)
        if s.scalar(select(Worker.id).where(Worker.committee_id == com.id, Worker.login == login.strip())):
            raise AdminError(f"登录名“{login}”在该居委会已存在")
        w = Worker(committee_id=com.id, login=login.strip(), display_name=display_name.strip(), phone=phone,
                   password_hash=password_hash, roles=list(roles), lines=list(lines or []), active=True,
                   failed_attempts=0, created_at=now, updated_at=now)
        s.add(w)
        s.flush()
        changes.worker(w)
        return w


def set_worker_active(db: ServerDB, committee_code: str, login: str, active: bool,
                      now: dt.datetime | None = None) -> Worker:
    now = now or utcnow()
    with db.sessions.begin() as s:
        changes = ChangeWriter(s, now)
        com = _committee(s, committee_code)
        w = s.scalar(select(Worker).where(Worker.committee_id == com.id, Worker.login == login))
        if w is None:
            raise AdminError(f"该居委会没有登录名为“{login}”的账号")
        w.active, w.version, w.updated_at = active, w.version + 1, now
        changes.worker(w)
        return w


def list_workers(db: ServerDB, committee_code: str | None = None) -> list[tuple[str, Worker]]:
    with db.read_sessions() as s:
        stmt = select(Committee.code, Worker).join(Committee, Committee.id == Worker.committee_id)
        if committee_code:
            stmt = stmt.where(Committee.code == committee_code)
        return [(code, w) for code, w in s.execute(stmt.order_by(Committee.code, Worker.login))]


def hash_enroll_code(code: str) -> str:
    clean = re.sub(r"[\s-]", "", code).upper()
    return hashlib.sha256(clean.encode()).hexdigest()


def create_enroll_code(db: ServerDB, committee_code: str, now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """One-time code, valid for 15 minutes; only its hash is stored."""
    now = now or utcnow()
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    with db.sessions.begin() as s:
        com = _committee(s, committee_code)
        expires = now + ENROLL_CODE_TTL
        s.add(EnrollCode(code_hash=hash_enroll_code(raw), committee_id=com.id, created_at=now, expires_at=expires))
    return f"{raw[:5]}-{raw[5:]}", expires


def list_devices(db: ServerDB, committee_code: str | None = None) -> list[DeviceRow]:
    with db.read_sessions() as s:
        stmt = select(Committee.code, ServerDevice).join(Committee, Committee.id == ServerDevice.committee_id)
        if committee_code:
            stmt = stmt.where(Committee.code == committee_code)
        return [DeviceRow(id=d.id, committee_code=code, code=d.code, name=d.name, last_mid=d.last_mid,
                          enrolled_at=d.enrolled_at, last_seen_at=d.last_seen_at, clock_offset_s=d.clock_offset_s,
                          revoked_at=d.revoked_at)
                for code, d in s.execute(stmt.order_by(Committee.code, ServerDevice.code))]


def revoke_device(db: ServerDB, device_id: str, now: dt.datetime | None = None) -> ServerDevice:
    """Revoked desks get 403 from then on and keep their unsent data until they are enrolled again."""
    try:
        key = uuid.UUID(device_id)
    except ValueError:
        raise AdminError(f"设备编号格式不正确：{device_id}") from None
    with db.sessions.begin() as s:
        # The device row first, then its committee's stream: the order a push takes them in, so the two wait
        # for each other instead of deadlocking; a push in progress never straddles the revocation.
        dev = s.get(ServerDevice, key, with_for_update=True)
        if dev is None:
            raise AdminError(f"没有编号为 {device_id} 的设备")
        take_lock(s, scope_of(dev.committee_id))
        if dev.revoked_at is None:
            dev.revoked_at = now or utcnow()
        return dev


def import_calendar(db: ServerDB, path: Path, now: dt.datetime | None = None) -> CalendarVersion:
    """Validate a holiday calendar file and publish it to every desk."""
    try:
        doc = load_calendar_file(Path(path))
    except CalendarError as e:
        raise AdminError(str(e)) from None
    content = Path(path).read_bytes().decode("utf-8-sig")
    with db.sessions.begin() as s:
        changes = ChangeWriter(s, now or utcnow())
        existing = s.scalar(select(CalendarVersion).where(CalendarVersion.year == doc.year,
                                                          CalendarVersion.version == doc.version))
        if existing is not None:
            if parse_calendar_year(json.loads(existing.content)) == doc:
                return existing  # the same file again: nothing to publish
            raise AdminError(f"{doc.year} 年版本 {doc.version} 已导入且内容不同，如需更正请提高版本号")
        cv = CalendarVersion(year=doc.year, version=doc.version, content=content, imported_at=now or utcnow())
        s.add(cv)
        s.flush()
        changes.calendar(cv)
        return cv


def server_calendar(s: Session) -> WorkCalendar:
    """Bundled calendar files plus every imported version; the highest version per year wins."""
    docs = list(CalendarStore(None).calendar.documents())
    for content in s.scalars(select(CalendarVersion.content)):
        docs.append(parse_calendar_year(json.loads(content)))
    return WorkCalendar(docs)


def publish_catalog(db: ServerDB, directory: Path, now: dt.datetime | None = None) -> CatalogVersion:
    """Store the catalog's YAML files and their version so desks download them; refuses a broken catalog."""
    from forms.loader import load_catalog  # only the admin command needs the form language
    from forms.safe_yaml import CatalogFileError, read_catalog_file
    directory = Path(directory)
    catalog = load_catalog(directory)
    if not directory.is_dir() or not len(catalog):
        raise AdminError(f"目录中没有可用的事项文件：{directory}")
    if catalog.errors:
        raise AdminError("事项目录有编写错误，未发布：\n" + "\n".join(str(e) for e in catalog.errors))
    try:  # the same bounded read as the loader: a file swapped for a FIFO since cannot hang the command
        files = {p.name: read_catalog_file(p).decode("utf-8") for p in sorted(directory.glob("*.yaml"))}
    except (CatalogFileError, UnicodeDecodeError) as exc:
        raise AdminError(f"读取事项文件失败，未发布：{exc}") from None
    with db.sessions.begin() as s:
        changes = ChangeWriter(s, now or utcnow())
        existing = s.scalar(select(CatalogVersion).where(CatalogVersion.version == catalog.version))
        if existing is not None:
            if existing.content_hash == catalog.content_hash:
                return existing
            raise AdminError(f"目录版本 {catalog.version} 已发布且内容不同，请在 catalog.yaml 中提高版本号")
        cv = CatalogVersion(version=catalog.version, content_hash=catalog.content_hash, files=files,
                            published_at=now or utcnow())
        s.add(cv)
        s.flush()
        changes.catalog(cv)
        return cv
