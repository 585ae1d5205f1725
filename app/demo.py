"""Demo data: a committee, workers of each role, ~30 residents and cases in every state.

Demo logins (also in README): every demo account's password is ``demo1234``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from stdnum.cn import ric

from app.auth import AuthService, hash_password
from app.cases import CaseService, ItemRef
from app.context import AppContext
from app.residents import ResidentInput, ResidentService
from app.setup import FirstRunInput, initialise_desk
from models import Worker

log = logging.getLogger(__name__)
DEMO_PASSWORD = "demo1234"
DEMO_COMMITTEE = FirstRunInput(committee_name="幸福里社区居民委员会", committee_code="320302001", admin_login="admin",
                               admin_name="系统管理员", admin_password=DEMO_PASSWORD, committee_phone="0516-83001234",
                               device_code="D01", device_name="前台一号机")
# login, display name, roles, lines (departments answered)
DEMO_WORKERS = (
    ("qiantai", "王晓燕", ["front_desk"], []),
    ("qiantai2", "孙丽", ["front_desk"], []),
    ("minzheng", "李建国", ["line"], ["民政", "居委会"]),
    ("canlian", "赵敏", ["line"], ["残联", "卫健"]),
    ("renshe", "陈立", ["line"], ["人社", "医保"]),
    ("fangguan", "刘洋", ["line"], ["住建", "公安", "退役军人", "司法", "工会", "人武部"]),
    ("zhanzhang", "周海燕", ["supervisor", "front_desk"], []),
)
_NAMES = ("张桂兰", "王淑珍", "李秀英", "刘德福", "陈志强", "杨丽娟", "赵国庆", "黄建华", "周玉梅", "吴卫东",
          "徐文静", "孙明辉", "胡海燕", "朱志刚", "高秀兰", "林小红", "何建军", "郭美玲", "马永福", "罗晓峰",
          "梁淑芬", "宋志国", "郑春梅", "谢宝山", "韩雪", "唐家豪", "冯玉兰", "于海涛", "董丽萍", "萧子涵")
_BIRTHS = ("19400312", "19330705", "19241108", "19450220", "19580915", "19620101", "19380430", "19711215",
           "19460818", "19850606", "19900227", "19520703", "19660909", "19481122", "19350514", "19880131",
           "19590719", "19770402", "19420825", "19950610", "19270101", "19610318", "19830923", "19440607",
           "20010214", "19991201", "19360930", "19730828", "19691010", "20150315")
_STREETS = ("幸福里一区", "幸福里二区", "和平路", "解放南路", "建国西路")


def demo_id_number(i: int) -> str:
    body = f"320302{_BIRTHS[i]}{(i * 7) % 900 + 100:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit


def demo_phone(i: int) -> str:
    return f"139{52000000 + i * 1379:08d}"


def _add_workers(ctx: AppContext) -> None:
    ident = ctx.identity()
    pw = hash_password(DEMO_PASSWORD)  # one hash reused: demo only, keeps seeding fast
    with ctx.sessions.begin() as s:
        for login, name, roles, lines in DEMO_WORKERS:
            s.add(Worker(committee_id=ident.committee_id, login=login, display_name=name, password_hash=pw,
                         roles=roles, lines=lines, phone="0516-8300" + str(1240 + len(login))))


def _add_residents(ctx: AppContext, actor) -> list:
    svc = ResidentService(ctx)
    rows = []
    for i, name in enumerate(_NAMES):
        data = ResidentInput(name=name, id_number=demo_id_number(i), phone=demo_phone(i) if i % 5 else "",
                             address=f"{_STREETS[i % 5]}{i + 3}号楼{(i % 4) + 1}单元{100 + i}室",
                             household_no=f"HH{1000 + i // 2}", local_hukou=i % 7 != 3)
        rows.append(svc.create(actor, data)[0])
    return rows


def seed_demo(ctx: AppContext, item_ref: Callable[[str], ItemRef], now: dt.datetime | None = None) -> bool:
    """Seed the demo data set once; returns False if the folder already holds a desk."""
    if ctx.is_initialised():
        return False
    now = now or dt.datetime.now(dt.timezone.utc)
    initialise_desk(ctx, DEMO_COMMITTEE)
    _add_workers(ctx)
    auth = AuthService(ctx)
    workers = {w.login: w for w, _ in auth.list_workers()}
    desk = workers["qiantai"]
    residents = _add_residents(ctx, desk)
    _add_cases(ctx, item_ref, desk, workers, residents, now)
    log.info("demo data seeded")
    return True


def _add_cases(ctx, item_ref, desk, workers, residents, now) -> None:
    cases = CaseService(ctx)
    line_mz, line_cl, line_rs = workers["minzheng"], workers["canlian"], workers["renshe"]
    day = dt.timedelta(days=1)

    def new(code, r, at=None):
        return cases.create_draft(desk, item_ref(code), residents[r].id, at=at)

    # draft
    new("MZ-02", 4)
    # pending materials
    c = new("CL-03", 5)
    cases.submit(desk, c, {}, {"身份证": True}, missing=["残疾人证", "银行卡"])
    # accepted (waiting for the worker to choose an outcome)
    c = new("MZ-12", 9)
    cases.submit(desk, c, {}, {"身份证": True})
    # resolved on the spot
    for code, r in (("RS-03", 3), ("WJ-09", 6)):
        c = new(code, r)
        cases.submit(desk, c, {}, {"身份证": True})
        cases.resolve(desk, c, "已当场办理完毕")
    # forwarded: one fresh, one due soon, two overdue
    for code, r, back in (("MZ-01", 0, 0), ("CL-04", 7, 2), ("CL-01", 1, 6), ("RS-02", 2, 9)):
        c = new(code, r)
        cases.submit(desk, c, {}, {"身份证": True, "户口簿": True})
        dept = item_ref(code).department
        line = next(w for w in (line_mz, line_cl, line_rs) if dept in w.lines)  # whose line covers the item
        cases.forward(desk, c, assignee_id=line.id, queue=dept, note="请审核", at=now - back * day)
    # replied
    c = new("MZ-01", 10)
    cases.submit(desk, c, {}, {"身份证": True})
    cases.forward(desk, c, assignee_id=line_mz.id, queue="民政", at=now - 3 * day)
    cases.acknowledge(line_mz, c)
    cases.reply(line_mz, c, "approved", "经审核符合条件，尊老金自次月起发放至本人社保卡。")
    # closed
    c = new("MZ-01", 13)
    cases.submit(desk, c, {}, {"身份证": True})
    cases.forward(desk, c, assignee_id=line_mz.id, queue="民政", at=now - 8 * day)
    cases.acknowledge(line_mz, c)
    cases.reply(line_mz, c, "approved", "审核通过。")
    cases.close(desk, c, "phone", "已电话告知本人")
    # refused and withdrawn
    c = new("MZ-01", 5)
    cases.refuse(desk, c, "申请人未满 80 周岁，不符合高龄老人尊老金申领条件", "")
    c = new("GA-02", 19)
    cases.withdraw(desk, c, "居民决定暂不申请")
