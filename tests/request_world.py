"""Known 诉求 of November 2026 for the statistics and paper tests (issue 20), made through RequestService.

Blocks: A1 一块区 (幸福里一区, 块长 王晓燕) and B2 二块区 (和平路, 块长 周海燕). The desk's clock is set before each
step, so every request's history is dated as it happened. Counted by hand (now = Tue 2026-12-01 10:00 China time):

R1 Fri 11-06 22:00 物业维修 张桂兰 (A1): feedback Sat 11-07 21:00 (23 h, across midnight and into the weekend:
   in time), closed Sun 11-08 22:00 (48 h).
R2 Tue 11-10 10:00 环境卫生 李秀英 (B2): feedback 11-11 11:00 (25 h: late), still 处理中.
R3 Fri 11-20 09:00 邻里纠纷, anonymous, 幸福里一区8号楼 (A1): no feedback — its 24 hours ended: missed; overdue now.
R4 Mon 11-30 15:00 物业维修 urgent 李秀英 (B2): 当场解决 (feedback and close at intake: in time, 0 h).
R5 Wed 11-25 公共设施, anonymous, 建国西路1号 (no block): withdrawn.
R6 Tue 12-01 00:30 (still 11-30 in UTC) 安全隐患 张桂兰 (A1): December's, fresh.

November: 诉求 4 (R1–R4), 撤回 1, 紧急 1, 已办结 2, 处理中 1, 待反馈 1; 24小时内 2, 超时反馈 1, 超时未反馈 1 →
24小时反馈率 50.0%; 平均办结 (48 + 0) / 2 = 24.0 h. Now: open R2, R3, R6 = 3, overdue R3 = 1.
"""

from __future__ import annotations

import datetime as dt

from app.desk.auth import AuthService
from app.desk.blocks import BlockService
from app.desk.cases import CaseService
from app.desk.clock import DeskClock
from app.desk.requests import RequestService
from app.desk.residents import ResidentService

CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=CST)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CST)


class SettableClock:
    def __init__(self, ctx):
        self.when = NOW
        ctx.clock = DeskClock(ctx.sessions, source=lambda: self.when.astimezone(dt.UTC))


def make_requests(ctx) -> dict:
    """The requests above on ``desk_ctx`` (tests/conftest.py); returns their ids by name and the clock."""
    clock = SettableClock(ctx)
    auth = AuthService(ctx)
    admin = auth.login("admin", "secret123")
    people = {w.login: w for w, _ in auth.list_workers()}
    desk, boss = people["desk"], people["boss"]
    BlockService(ctx).set(admin, [
        {"code": "A1", "name": "一块区", "leader_id": str(desk.id), "addresses": ["幸福里一区"]},
        {"code": "B2", "name": "二块区", "leader_id": str(boss.id), "addresses": ["和平路"]},
    ])
    rs = ResidentService(ctx)
    zhang, li = rs.search("张桂兰")[0], rs.search("李秀英")[0]
    svc = RequestService(ctx)
    ids: dict = {"clock": clock, "desk": desk, "boss": boss}

    def register(when, **kw):
        clock.when = when
        kw.setdefault("description", "居民反映的情况")
        return svc.register(desk, **kw).summary.id

    def step(when, fn, *args, **kw):
        clock.when = when
        return fn(*args, **kw)

    ids["R1"] = register(at(11, 6, 22), category="property", applicant_id=zhang.id, place="幸福里一区3号楼",
                         description="楼道灯不亮")
    step(at(11, 7, 21), svc.feedback, desk, ids["R1"], channel="phone", text="已报物业，明天维修")
    step(at(11, 8, 22), svc.close, desk, ids["R1"], result="已修好", channel="phone")
    ids["R2"] = register(at(11, 10), category="sanitation", applicant_id=li.id, place="和平路5号")
    step(at(11, 11, 11), svc.feedback, boss, ids["R2"], channel="in_person", text="已联系环卫")
    ids["R3"] = register(at(11, 20, 9), category="dispute", anonymous=True, contact_phone="13700001111",
                         place="幸福里一区8号楼")
    ids["R4"] = register(at(11, 30, 15), category="property", urgency="urgent", applicant_id=li.id,
                         place="和平路5号", on_spot="solved", result="已当场关闭总阀")
    ids["R5"] = register(at(11, 25), category="facility", anonymous=True, contact_phone="13700002222",
                         place="建国西路1号")
    step(at(11, 25, 11), CaseService(ctx).withdraw, desk, ids["R5"], "居民已自行解决")
    ids["R6"] = register(at(12, 1, 0, 30), category="safety", applicant_id=zhang.id, place="幸福里一区3号楼")
    clock.when = NOW
    return ids
