"""Issue 12, finding 10 (service side): every case action a window offers takes the version the window shows, and
a window that shows an older version is refused with one Chinese message, nothing written. The rule lives in
CaseService (one place), not in the widget."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.desk.auth import AuthService
from app.desk.cases import STALE_CASE, CaseError, CaseService
from models import Case, CaseEvent, OutboxEntry, Worker


def _case(ctx, state: str, assignee: str | None = None) -> tuple:
    with ctx.sessions() as s:
        stmt = select(Case).where(Case.state == state, Case.kind == "service").order_by(Case.case_number)
        if assignee:
            stmt = stmt.where(Case.assignee_id == s.scalar(select(Worker.id).where(Worker.login == assignee)))
        if state == "accepted":
            stmt = stmt.where(Case.forwarded_at.is_(None))
        case = s.scalars(stmt).first()
        assert case is not None, state
        return case.id, case.version


def _written(ctx) -> tuple:
    with ctx.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (CaseEvent, OutboxEntry))


# (state the case is in, who acts, the call with the version the window shows)
CALLS = {
    "acknowledge": ("forwarded", "minzheng", lambda svc, w, cid, v, p: svc.acknowledge(w, cid, expected_version=v)),
    "reply": ("forwarded", "minzheng",
              lambda svc, w, cid, v, p: svc.reply(w, cid, "approved", "同意", expected_version=v)),
    "reassign": ("forwarded", "zhanzhang",
                 lambda svc, w, cid, v, p: svc.reassign(w, cid, p["tiaoxian2"].id, "休假", expected_version=v)),
    "remind": ("forwarded", "zhanzhang",
               lambda svc, w, cid, v, p: svc.remind(w, cid, "请尽快答复", expected_version=v)),
    "close": ("replied", "qiantai", lambda svc, w, cid, v, p: svc.close(w, cid, "phone", expected_version=v)),
    "forward again": ("replied", "qiantai", lambda svc, w, cid, v, p: svc.forward(
        w, cid, assignee_id=None, queue="民政", expected_version=v)),
    "forward": ("accepted", "qiantai", lambda svc, w, cid, v, p: svc.forward(
        w, cid, assignee_id=None, queue="民政", expected_version=v)),
    "resolve": ("accepted", "qiantai", lambda svc, w, cid, v, p: svc.resolve(w, cid, "已办", expected_version=v)),
    "refuse": ("accepted", "qiantai", lambda svc, w, cid, v, p: svc.refuse(w, cid, "不符", "", expected_version=v)),
    "withdraw": ("accepted", "qiantai", lambda svc, w, cid, v, p: svc.withdraw(w, cid, "居民撤回", expected_version=v)),
    "reopen": ("closed", "zhanzhang", lambda svc, w, cid, v, p: svc.reopen(w, cid, "补充", expected_version=v)),
    "accept after materials": ("pending_materials", "qiantai",
                               lambda svc, w, cid, v, p: svc.accept_after_materials(w, cid, {}, expected_version=v)),
    "print or resume": ("draft", "qiantai", lambda svc, w, cid, v, p: svc.ensure_current(cid, v)),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_a_stale_version_is_refused_with_the_issue_message_and_nothing_written(demo_ctx, name):
    state, login, call = CALLS[name]
    svc = CaseService(demo_ctx)
    people = {w.login: w for w, _ in AuthService(demo_ctx).list_workers()}
    worker = AuthService(demo_ctx).login(login, "demo1234")
    cid, version = _case(demo_ctx, state, "minzheng" if login == "minzheng" else None)
    before = _written(demo_ctx)
    with pytest.raises(CaseError) as e:
        call(svc, worker, cid, version - 1, people)
    assert str(e.value) == STALE_CASE == "案件已被更新，请刷新后再操作"
    assert _written(demo_ctx) == before
    assert svc.get(cid).version == version
    # …and with the version the window shows, the same call goes through (the check is not a blanket refusal)
    result = call(svc, worker, cid, version, people)
    if name != "print or resume":
        assert result.version > version
