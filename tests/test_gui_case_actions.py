"""The case window's buttons come from the shared state machine: every state × role shows exactly the actions
``available_actions`` allows (and 打印文书 exactly when documents fit), and a hand-written table pins the
answers a worker would expect, so a change to the machine that hides or offers a wrong action fails here."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.machine import available_actions, informs_resident, printable_documents
from app.core.vocabulary import State
from app.desk.catalog.refs import item_documents
from models import Case, Worker
from ui.cases.case_dialog import CaseDialog
from ui.services import Services

pytestmark = pytest.mark.gui

LOGINS = ("qiantai", "minzheng", "canlian", "zhanzhang", "admin")

# (state, login) → buttons, as a worker would expect them (forwarded and replied cases: the demo's 民政 ones).
EXPECTED = {
    ("draft", "qiantai"): {"继续办理", "不予受理", "撤回", "打印文书"},  # the demo draft's item has a 申请表
    ("draft", "minzheng"): {"打印文书"},
    ("pending_materials", "qiantai"): {"材料已补齐，受理", "不予受理", "撤回", "打印文书"},
    ("accepted", "qiantai"): {"当场办结", "转办", "不予受理", "撤回", "打印文书"},  # its 申请表 and 申请材料清单
    ("forwarded", "qiantai"): {"撤回", "催办", "打印文书"},
    ("forwarded", "minzheng"): {"签收", "答复", "打印文书"},
    ("forwarded", "canlian"): {"打印文书"},  # another line's colleague may look, not act
    ("forwarded", "zhanzhang"): {"签收", "改派", "答复", "撤回", "催办", "打印文书"},
    ("replied", "qiantai"): {"再次转办", "告知居民并办结", "撤回", "请居民评价", "联系居民", "打印文书"},
    ("replied", "minzheng"): {"打印文书"},
    ("closed", "qiantai"): {"打印文书"},
    ("closed", "zhanzhang"): {"重新打开", "打印文书"},
    ("resolved", "qiantai"): {"打印文书"},
    ("refused", "zhanzhang"): {"重新打开", "打印文书"},
    ("withdrawn", "zhanzhang"): set(),
}


def _case_in(ctx, state: str) -> Case:
    """A demo case in ``state``; forwarded and replied ones assigned to 李建国 (minzheng) when there is one."""
    with ctx.sessions() as s:
        mz = s.scalar(select(Worker.id).where(Worker.login == "minzheng"))
        rows = s.scalars(select(Case).where(Case.state == state, Case.kind == "service")
                         .order_by(Case.case_number)).all()
        assert rows, f"the demo has no {state} case"
        if state in ("forwarded", "replied"):
            mine = [c for c in rows if c.assignee_id == mz]
            rows = mine or rows
        if state == "accepted":
            rows = [c for c in rows if c.forwarded_at is None] or rows
        case = rows[0]
        s.expunge(case)
        return case


@pytest.fixture
def services(demo_ctx):
    return Services(demo_ctx)


def _buttons(qtbot, services, case_id) -> set[str]:
    dlg = CaseDialog(services, case_id)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.detail is not None and dlg.prints.text() != "")
    texts = {b.text() for b in dlg.buttons.values()}
    dlg.close()
    return texts


# 处理中 is a 诉求's state only (issue 20: its own window, tests/test_gui_requests.py); the case dialog never shows it.
SERVICE_STATES = [str(s) for s in State if s != State.IN_PROGRESS]


@pytest.mark.parametrize("state", SERVICE_STATES)
def test_dialog_shows_exactly_the_actions_the_machine_allows(qtbot, services, demo_ctx, state):
    case = _case_in(demo_ctx, state)
    for login in LOGINS:
        worker = services.auth.login(login, "demo1234")
        services.current_worker = worker
        shown = _buttons(qtbot, services, case.id)
        allowed = {o.label for o in available_actions(case, worker)}
        # the item's own paper too: a draft of an item with an application form prints its 申请表
        if printable_documents(case.state, case.forwarded_at is not None, item_documents(case.item_code)):
            allowed.add("打印文书")
        if informs_resident(case.state, worker.roles) and case.applicant_id:  # 联系居民 (issue 19)
            allowed.add("联系居民")
        assert shown == allowed, (state, login)
        if (state, login) in EXPECTED:
            assert shown == EXPECTED[(state, login)], (state, login)


def test_every_expectation_was_checked():
    states = set(SERVICE_STATES)
    assert {s for s, _ in EXPECTED} == states and {lg for _, lg in EXPECTED} <= set(LOGINS)
