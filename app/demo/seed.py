"""Demo data: a committee, workers of each role, ~30 residents, cases in every state, and the committee's 块区
with a few 诉求 in every state (app/demo/requests.py).

Demo logins (also in README): every demo account's password is ``demo1234``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from stdnum.cn import ric

from app.core.residence import Region, with_region
from app.desk.auth import AuthService, hash_password
from app.desk.cases import CaseService, ItemRef
from app.desk.context import AppContext
from app.desk.residents import ResidentInput, ResidentService
from app.desk.setup import FirstRunInput, initialise_desk
from models import Committee, Worker

log = logging.getLogger(__name__)
DEMO_PASSWORD = "demo1234"
DEMO_COMMITTEE = FirstRunInput(committee_name="幸福里社区居民委员会", committee_code="320302001", admin_login="admin",
                               admin_name="系统管理员", admin_password=DEMO_PASSWORD, committee_phone="0516-83001234",
                               device_code="D01", device_name="前台一号机")
DEMO_ADDRESS = "江苏省徐州市鼓楼区幸福里一区18号 社区党群服务中心一楼"
# login, display name, roles, lines (departments answered)
DEMO_WORKERS: tuple[tuple[str, str, list[str], list[str]], ...] = (
    ("qiantai", "王晓燕", ["front_desk"], []),
    ("qiantai2", "孙丽", ["front_desk"], []),
    ("minzheng", "李建国", ["line"], ["民政", "居委会"]),
    ("canlian", "赵敏", ["line"], ["残联", "卫健"]),
    ("renshe", "陈立", ["line"], ["人社", "医保"]),
    ("fangguan", "刘洋", ["line"], ["住建", "公安", "退役军人", "司法", "工会", "人武部"]),
    # a second colleague on the busiest lines, so a supervisor can reassign a case when someone is away
    ("tiaoxian2", "吴建平", ["line"], ["民政", "残联", "人社"]),
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
# The committee's own place (committee.settings["region"]): the first-run setup finds province, city and
# county from the committee code 320302…; the street is the administrator's.
DEMO_REGION = Region(province="江苏省", city="徐州市", county="鼓楼区", street="丰财街道")
# 户籍 of the demo residents who are not registered at the committee's street (rules.md §6): 人户分离 within the
# district and within the city, and from other provinces with a valid, an expired or no 居住证.
_OTHER_STREET = ("江苏省", "徐州市", "鼓楼区", "牌楼街道")
_OTHER_COUNTY = ("江苏省", "徐州市", "泉山区", "奎山街道")
_ELSEWHERE = (("安徽省", "宿州市", "埇桥区", "道东街道"), ("山东省", "枣庄市", "薛城区", "临城街道"),
              ("河南省", "商丘市", "永城市", "东城街道"))
_HUKOU = {4: _OTHER_STREET, 17: _OTHER_STREET, 8: _OTHER_COUNTY, 21: _OTHER_COUNTY,
          11: _ELSEWHERE[0], 19: _ELSEWHERE[1], 24: _ELSEWHERE[2], 26: _ELSEWHERE[0], 28: _ELSEWHERE[1]}
_PERMIT_DAYS = {11: -40, 24: 300, 26: 200, 28: 500}  # days from today to the 居住证's expiry (11: expired)


# Who is a woman (the name says it to anyone at the desk): her ID number's 17th digit is even, a man's odd.
_WOMEN = frozenset(("张桂兰", "王淑珍", "李秀英", "杨丽娟", "周玉梅", "徐文静", "胡海燕", "高秀兰", "林小红", "郭美玲",
                    "梁淑芬", "郑春梅", "韩雪", "冯玉兰", "董丽萍", "萧子涵"))


def demo_sex(i: int) -> str:
    return "女" if _NAMES[i] in _WOMEN else "男"


def demo_id_number(i: int) -> str:
    """Born on ``_BIRTHS[i]``; the sequence's last digit odd for a man, even for a woman (GB 11643)."""
    seq = (i * 7) % 900 + 100
    if (seq % 2 == 1) != (demo_sex(i) == "男"):
        seq = seq + 1 if seq < 999 else seq - 1
    body = f"320302{_BIRTHS[i]}{seq:03d}"
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


def demo_residence(i: int, today: dt.date) -> dict:
    """The 户籍地址, 户口性质 and 居住证 of demo resident ``i``."""
    province, city, county, street = _HUKOU.get(i, (DEMO_REGION.province, DEMO_REGION.city, DEMO_REGION.county,
                                                    DEMO_REGION.street))
    days = _PERMIT_DAYS.get(i)
    permit = {} if days is None else {"residence_permit_no": f"3203022025{i:06d}",
                                      "residence_permit_expiry": today + dt.timedelta(days=days)}
    nature = ("非农业家庭户口", "居民户口", "农业家庭户口")[i % 3] if i not in (24, 28) else "农业家庭户口"
    return {"hukou_province": province, "hukou_city": city, "hukou_county": county, "hukou_street": street,
            "hukou_nature": nature, **permit}


def _add_residents(ctx: AppContext, actor) -> list:
    svc = ResidentService(ctx)
    rows = []
    today = dt.date.today()
    for i, name in enumerate(_NAMES):
        data = ResidentInput(name=name, id_number=demo_id_number(i), phone=demo_phone(i) if i % 5 else "",
                             address=f"{_STREETS[i % 5]}{i + 3}号楼{(i % 4) + 1}单元{100 + i}室",
                             household_no=f"HH{1000 + i // 2}", **demo_residence(i, today))
        rows.append(svc.create(actor, data)[0])
    return rows


def seed_demo(ctx: AppContext, item_ref: Callable[[str], ItemRef], now: dt.datetime | None = None) -> bool:
    """Seed the demo data set once; returns False if the folder already holds a desk."""
    if ctx.is_initialised():
        return False
    now = now or dt.datetime.now(dt.UTC)
    initialise_desk(ctx, DEMO_COMMITTEE)
    with ctx.sessions.begin() as s:  # the first-run dialog asks no address; the printed documents carry one
        com = s.get_one(Committee, ctx.identity().committee_id)
        com.address = DEMO_ADDRESS
        com.settings = with_region(com.settings, DEMO_REGION)
    _add_workers(ctx)
    auth = AuthService(ctx)
    workers = {w.login: w for w, _ in auth.list_workers()}
    desk = workers["qiantai"]
    residents = _add_residents(ctx, desk)
    _add_cases(ctx, item_ref, desk, workers, residents, now)
    from app.demo.requests import add_blocks, add_requests
    add_blocks(ctx, workers)
    add_requests(ctx, workers, residents, now)
    _simulated_devices(ctx)
    log.info("demo data seeded")
    return True


def _simulated_devices(ctx: AppContext) -> None:
    """The demo desk starts with the simulated reader, camera, scanner and code scanner (devices.json)."""
    from app.core.errors import UserError
    from app.desk.devices.registry import DeviceRegistry
    try:
        DeviceRegistry(ctx).configure_simulated()
    except UserError as e:  # the demo still opens, without devices
        log.warning("demo devices not configured: %s", e)


def _add_cases(ctx, item_ref, desk, workers, residents, now) -> None:
    """Cases in every state, stored the way the wizard stores them (material records with form, count and
    standard); each case's history runs forward in time: created, accepted, forwarded, replied, closed."""
    from app.desk.intake import IntakeService
    cases = CaseService(ctx)
    intake = IntakeService(ctx, cases)
    line_mz, line_cl, line_rs = workers["minzheng"], workers["canlian"], workers["renshe"]
    day, minute = dt.timedelta(days=1), dt.timedelta(minutes=1)

    def new(code, r, at):
        return cases.create_draft(desk, item_ref(code), residents[r].id, at=at)

    def materials(code, missing=()):
        """Every material the applicant must bring handed in, except ``missing``."""
        handed = {m.name: m.required is True and m.name not in missing for m in intake.item(code).materials}
        records = intake.material_records(code, handed)
        for name in missing:
            records[name]["required"] = True
        return records

    def submit(c, code, at, missing=()):
        """Back-dated (the demo back-dates whole cases, not just their forwarding)."""
        cases.submit(desk, c, {}, materials(code, missing), missing=list(missing), at=at)

    def forward_case(code, r, forwarded, *, answered=False):
        c = new(code, r, forwarded - 25 * minute)
        if answered:  # the packet's 申请内容 has something to show: the item's sample answers for this resident
            from forms.validate import sample_submission
            fields = sample_submission(intake.item(code), intake.applicant(residents[r].id), now.date())["fields"]
            cases.submit(desk, c, fields, materials(code), at=forwarded - 10 * minute)
        else:
            submit(c, code, forwarded - 10 * minute)
        dept = item_ref(code).department
        line = next(w for w in (line_mz, line_cl, line_rs) if dept in w.lines)  # whose line covers the item
        cases.forward(desk, c, assignee_id=line.id, queue=dept, note="请审核", at=forwarded)
        return c

    # Created oldest first, so each day's case numbers follow the clock.
    # forwarded: two overdue, one due soon (the whole case is back-dated, not just its forwarding) ...
    forwarded = [forward_case(code, r, now - back * day) for code, r, back in (("RS-02", 2, 9), ("CL-01", 1, 6),
                                                                                ("CL-04", 7, 2))]

    def replied_case(r, start, text):
        c = new("MZ-01", r, start)
        submit(c, "MZ-01", start + 10 * minute)
        cases.forward(desk, c, assignee_id=line_mz.id, queue="民政", at=start + 15 * minute)
        cases.acknowledge(line_mz, c)
        cases.reply(line_mz, c, "approved", text)
        return c

    # closed
    closed = replied_case(13, now - 8 * day, "审核通过，尊老金自次月起按月发放至本人社会保障卡。")
    cases.close(desk, closed, "phone", "已电话告知本人")
    # replied
    replied_case(10, now - 3 * day, "经审核符合条件，尊老金自次月起发放至本人社保卡。")
    # pending materials
    start = now - 2 * day + 60 * minute
    c = new("CL-03", 5, start)
    submit(c, "CL-03", start + 12 * minute, missing=("残疾人证", "申请人社会保障卡或银行卡"))
    # resolved on the spot
    on_the_spot = (
        ("RS-03", 3, "已完成本年度养老保险待遇领取资格认证，待遇继续按月发放至本人社会保障卡。"),
        ("WJ-09", 6, "已与社区卫生服务中心家庭医生团队签约，签约服务期一年，团队联系方式已告知本人。"),
    )
    on_spot_ids = []
    for code, r, result in on_the_spot:
        c = new(code, r, now - 3 * 60 * minute)
        submit(c, code, now - 170 * minute)
        cases.resolve(desk, c, result)
        on_spot_ids.append(c)
    _rate_cases(ctx, cases, item_ref, materials, desk, workers, residents, now, forwarded=forwarded, closed=closed,
                on_spot=on_spot_ids)
    # refused and withdrawn
    c = new("MZ-01", 5, now - 60 * minute)
    cases.refuse(desk, c, "申请人未满 80 周岁，不符合高龄老人尊老金申领条件",
                 "可到社区服务站咨询其他养老服务补贴，或拨打 12345 政务服务便民热线")
    c = new("GA-02", 19, now - 50 * minute)
    cases.withdraw(desk, c, "居民决定暂不申请")
    # accepted (waiting for the worker to choose an outcome)
    c = new("MZ-12", 9, now - 30 * minute)
    submit(c, "MZ-12", now - 25 * minute)
    # ... and one forwarded just now, with its answers and the ID card scanned (two pages, one PDF)
    c = forward_case("MZ-01", 0, now - 2 * minute, answered=True)
    _scanned_pages(ctx, desk, c, intake.item("MZ-01").materials[0].name)
    # draft
    new("MZ-02", 4, now - minute)


# 好差评 of the demo (issue 16): on-the-spot cases back-dated by days, rated as the resident did then (item, resident,
# working days back, level, reasons); the last three are the bad ratings, one at each stage of their follow-up.
_RATED_ON_SPOT: tuple[tuple[str, int, int, str, tuple[str, ...]], ...] = (
    ("MZ-12", 14, 8, "very_satisfied", ()),
    ("RS-05", 15, 6, "satisfied", ()),
    ("YB-02", 16, 3, "basic", ("等候时间长",)),
    ("WJ-08", 18, 3, "dissatisfied", ("等候时间长", "一次没有说清楚")),  # call-back overdue
    ("RS-12", 20, 2, "dissatisfied", ("办理时间长",)),  # called back, waiting for the fix
    ("GA-04", 22, 10, "very_dissatisfied", ("态度不好",)),  # fixed, rated again
)


def _rate_cases(ctx, cases: CaseService, item_ref, materials, desk, workers, residents, now, *, forwarded, closed,
                on_spot) -> None:
    """Ratings through the real CaseService.rate so every 好差评 state shows: several of each good level, finished
    cases left 未评价 (家庭医生签约, the replied 尊老金), a bad rating at each follow-up stage; and one 催办 of the
    oldest overdue forwarded case."""
    from app.core.vocabulary import Action
    boss, minute = workers["zhanzhang"], dt.timedelta(minutes=1)
    deadlines = cases.deadline_service()
    # the forwarded cases rated with their receipt, when they were forwarded (back-dated) ...
    for c, level, reasons in ((forwarded[0], "very_satisfied", ()), (forwarded[1], "satisfied", ()),
                              (forwarded[2], "basic", ("材料要求多",))):
        cases.rate(desk, c, level, reasons=list(reasons), at=_last_event_at(ctx, c) + minute)
    # ... the ones finished just now, now
    cases.rate(desk, closed, "very_satisfied")
    cases.rate(desk, on_spot[0], "satisfied")
    bad = []
    for code, r, back, level, why in _RATED_ON_SPOT:
        at = _working_days_back(deadlines, now, back)
        c = cases.create_draft(desk, item_ref(code), residents[r].id, at=at - 20 * minute)
        cases.submit(desk, c, {}, materials(code), at=at - 12 * minute)
        cases.transition(desk, c, Action.RESOLVE, {"result_text": "已当场办结，结果已告知本人"}, at=at - 2 * minute)
        cases.rate(desk, c, level, reasons=list(why), at=at)
        if level in ("dissatisfied", "very_dissatisfied"):
            bad.append((c, at))
    (_overdue, _at1), (waiting, at2), (fixed, at3) = bad
    cases.transition(boss, waiting, Action.FOLLOWUP_CALLBACK,
                     {"note": "已电话回访，居民反映办理时间长，已致歉并说明原因"}, at=at2 + 180 * minute)
    cases.transition(boss, fixed, Action.FOLLOWUP_CALLBACK, {"note": "已上门回访，居民反映窗口人员态度生硬"},
                     at=at3 + 120 * minute)
    cases.transition(boss, fixed, Action.FOLLOWUP_FIX, {"note": "已对窗口人员进行服务规范培训，并向居民当面致歉"},
                     at=_working_days_back(deadlines, now, 4))
    cases.rate(boss, fixed, "satisfied", round=2, channel="phone", at=_working_days_back(deadlines, now, 3))
    cases.remind(boss, forwarded[0], "请尽快审核答复，居民多次来电询问")


def _working_days_back(deadlines, now: dt.datetime, n: int) -> dt.datetime:
    """10:00 China time on the ``n``-th working day before today (the demo's back-dated ratings)."""
    from app.core.vocabulary import CHINA_TZ
    day = now.astimezone(CHINA_TZ).date()
    while n > 0:
        day -= dt.timedelta(days=1)
        n -= deadlines.store.calendar.is_working_day(day)
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=CHINA_TZ)


def _last_event_at(ctx: AppContext, case_id) -> dt.datetime:
    from sqlalchemy import func, select

    from models import CaseEvent
    with ctx.sessions() as s:
        at = s.scalar(select(func.max(CaseEvent.at)).where(CaseEvent.case_id == case_id))
    assert at is not None
    return at


def _scanned_pages(ctx: AppContext, actor, case_id, material: str) -> None:
    """Two pages from the simulated scanner attached to ``material`` of the case, as the capture dialog does."""
    from app.desk.attachments.service import AttachmentService
    from app.desk.devices.scanner import SimulatedScanner
    scanner = SimulatedScanner()
    pages = scanner.scan(color=False) + scanner.scan(color=False)
    AttachmentService(ctx).add_images(actor, case_id, material, pages, source="scanner")
