"""First run: create the committee, this desk's device and the first administrator in one transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.accounts import AccountError, check_committee, check_login
from app.core.changes import Changes
from app.core.errors import UserError
from app.core.residence import region_from_division_code, with_region
from app.core.vocabulary import Role
from app.desk.auth import AuthError, hash_password, validate_new_password
from app.desk.context import AppContext
from models import Committee, Device, Worker


class SetupError(UserError, ValueError):
    """Invalid first-run input; Chinese message, nothing written."""


@dataclass(frozen=True, kw_only=True)
class FirstRunInput:
    committee_name: str
    committee_code: str
    admin_login: str
    admin_name: str
    admin_password: str
    committee_phone: str = ""
    device_code: str = "D01"
    device_name: str = "前台一号机"


def validate_first_run(data: FirstRunInput) -> None:
    try:
        check_committee(data.committee_code, data.committee_name)
        if not re.fullmatch(r"[0-9A-Za-z]{1,8}", data.device_code.strip()):
            raise SetupError("本机编号应为 1–8 位数字或字母")
        check_login(data.admin_login)
    except AccountError as e:
        raise SetupError(str(e)) from None
    if not data.admin_name.strip():
        raise SetupError("请填写管理员姓名")
    try:
        validate_new_password(data.admin_password)
    except AuthError as e:
        raise SetupError(str(e)) from None


def initialise_desk(ctx: AppContext, data: FirstRunInput) -> Changes:
    validate_first_run(data)
    if ctx.is_initialised():
        raise SetupError("本机已经初始化，不能重复设置")
    with ctx.sessions.begin() as s:
        # The committee's own place, against which a resident's 户籍 is local or not: a committee code that begins
        # with its county's division code names province, city and county; the street is an administrator's
        # setting (``server committee set CODE region=省/市/区县/街道``, or the desk's 设置 page).
        region = region_from_division_code(data.committee_code)
        com = Committee(code=data.committee_code.strip(), name=data.committee_name.strip(),
                        phone=data.committee_phone.strip(), settings={} if region.empty else with_region({}, region))
        s.add(com)
        s.flush()
        s.add(Device(committee_id=com.id, code=data.device_code.strip().upper(), name=data.device_name, is_local=True))
        s.add(Worker(committee_id=com.id, login=data.admin_login.strip(), display_name=data.admin_name.strip(),
                     password_hash=hash_password(data.admin_password), roles=[Role.ADMIN, Role.SUPERVISOR], lines=[]))
    ctx.forget_identity()
    return Changes(settings=True, workers=True)
