"""Demo 诉求 (issue 20): three 块区 with their 块长 among the demo workers, and a few requests in every state.

Everything goes through the desk's services (BlockService, RequestService, CaseService), so the blocks and the
requests carry their events and outbox rows like the rest of the demo. A request is dated by the desk's clock;
the demo sets that clock to each step's back-dated time while it makes the step (see :func:`_clock_at`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from app.desk.blocks import BlockService
from app.desk.cases import CaseService
from app.desk.clock import DeskClock
from app.desk.context import AppContext
from app.desk.requests import RequestService

# (code, name, 块长's login, address prefixes): the demo residents live on these streets (seed._STREETS).
DEMO_BLOCKS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("A1", "幸福里块区", "qiantai2", ("幸福里一区", "幸福里二区")),
    ("A2", "和平路块区", "minzheng", ("和平路", "解放南路")),
    ("A3", "建国西路块区", "tiaoxian2", ("建国西路",)),
)
PROPERTY = ("幸福里物业服务中心", "0516-83005678")
GAS = ("港华燃气抢修中心", "0516-96777")


@contextmanager
def _clock_at(ctx: AppContext, holder: list[dt.datetime]) -> Iterator[None]:
    """The desk's clock reads ``holder[0]`` while the block runs (the demo's back-dated steps), then is restored."""
    saved = ctx.clock
    ctx.clock = DeskClock(ctx.sessions, source=lambda: holder[0].astimezone(dt.UTC))
    try:
        yield
    finally:
        ctx.clock = saved


def add_blocks(ctx: AppContext, workers: dict) -> None:
    """The committee's 块区, set by the 站长 as at the desk (a committee.blocks.v1 outbox row)."""
    BlockService(ctx).set(workers["zhanzhang"], [
        {"code": code, "name": name, "leader_id": str(workers[login].id), "addresses": list(addresses)}
        for code, name, login, addresses in DEMO_BLOCKS])


def add_requests(ctx: AppContext, workers: dict, residents: list, now: dt.datetime) -> dict[str, uuid.UUID]:
    """Requests in every state, oldest first; returns their ids by what they show (for tests)."""
    desk = workers["qiantai"]
    leaders = {code: workers[login] for code, _name, login, _a in DEMO_BLOCKS}
    svc, cases = RequestService(ctx), CaseService(ctx)
    hour, minute = dt.timedelta(hours=1), dt.timedelta(minutes=1)
    clock = [now]
    ids: dict[str, uuid.UUID] = {}

    def address(i: int) -> str:
        return residents[i].address

    def register(when: dt.datetime, name: str, **kw) -> uuid.UUID:
        clock[0] = when
        ids[name] = svc.register(desk, **kw).summary.id
        return ids[name]

    def later(when: dt.datetime) -> None:
        clock[0] = when

    with _clock_at(ctx, clock):
        # 已办结: a dispute mediated by the 块长 (feedback the same day, closed the next)
        closed = register(now - 74 * hour, "closed", category="dispute", applicant_id=residents[4].id,
                          place=address(4), description="楼上住户夜间装修噪音大，沟通无果，请社区协调。")
        later(now - 69 * hour)
        svc.feedback(leaders["A3"], closed, channel="in_person", text="已上门了解情况，约定明日双方当面协商")
        later(now - 50 * hour)
        svc.close(leaders["A3"], closed, result="经调解双方达成一致：装修限于工作日 8:00—18:00", channel="phone")
        # 已撤回: the resident sorted it out with the neighbour
        withdrawn = register(now - 48 * hour, "withdrawn", category="other", applicant_id=residents[1].id,
                             place=address(1), description="邻居在公共走廊堆放杂物。")
        later(now - 46 * hour)
        cases.withdraw(desk, withdrawn, "居民表示已与邻居沟通，杂物已清走")
        # overdue: registered 27 hours ago, no feedback yet
        register(now - 27 * hour, "overdue", category="facility", applicant_id=residents[3].id,
                 place="解放南路6号楼楼道", description="楼道声控灯损坏，老人夜间上下楼不便。")
        # 当场解决 at the desk
        register(now - 23 * hour, "solved", category="other", applicant_id=residents[6].id, place=address(6),
                 description="咨询小区内电动自行车充电桩的位置和使用办法。", on_spot="solved",
                 result="已当场告知充电桩位置（幸福里一区北门）及扫码使用方法")
        # 待反馈, soon due: 3 hours left
        register(now - 21 * hour, "soon", category="sanitation", applicant_id=residents[1].id,
                 place="幸福里二区4号楼门口", description="垃圾桶满溢两天未清运，气味较大。")
        # 处理中 with an external handler: the 块长 passed it to the property company, promised tomorrow morning
        handed = register(now - 6 * hour, "handed_over", category="property", applicant_id=residents[2].id,
                          place=address(2), description="厨房水管接口渗水，楼下邻居天花板潮湿。")
        later(now - 5 * hour)
        promised = now + 18 * hour
        svc.hand_over(leaders["A2"], handed, name=PROPERTY[0], phone=PROPERTY[1], promised_at=promised,
                      note="已报物业维修")
        later(now - 5 * hour + 10 * minute)
        svc.feedback(leaders["A2"], handed, channel="phone", text="已联系物业，明天上午上门维修", promised_at=promised)
        # anonymous, with a contact phone: a public place, routed to its block by the place
        register(now - 2 * hour, "anonymous", category="safety", anonymous=True, contact_phone="13905160000",
                 place="和平路12号楼东侧车棚", description="有人在车棚内给电动车私拉电线充电，存在火灾隐患。")
        # urgent: a smell of gas, 已联系 the gas company at intake (they promised within two hours)
        register(now - 90 * minute, "urgent", category="safety", urgency="urgent", applicant_id=residents[5].id,
                 place=address(5), description="楼道内有明显燃气味。", on_spot="property",
                 handler_name=GAS[0], handler_phone=GAS[1], promised_at=now + 30 * minute)
        # 待反馈, fresh
        register(now - 40 * minute, "fresh", category="property", applicant_id=residents[0].id, place=address(0),
                 description="单元门禁损坏，门无法关闭。")
    return ids
