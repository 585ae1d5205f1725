"""Submitting from the wizard is one service call and one transaction: when the forward is refused half-way
(the chosen colleague's account was disabled meanwhile), the case is still the draft, nothing was queued for
the server, and the worker can pick the department queue and submit again."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Case, CaseEvent, OutboxEntry, Worker
from tests.test_gui_wizard import (
    finish,
    open_item,
    pick_applicant,
    press_button,
    press_next,
    sample_fields,
    tick_materials,
    walk_steps,
)

pytestmark = pytest.mark.gui


def _counts(ctx, case_id):
    with ctx.sessions() as s:
        return (s.scalar(select(Case.state).where(Case.id == case_id)),
                s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)),
                s.scalar(select(func.count()).select_from(OutboxEntry)))


def _to_review(qtbot, window):
    wiz = open_item(qtbot, window, "zunlaojin", "MZ-01")
    pick_applicant(qtbot, wiz, "张桂兰", "张桂兰")
    press_next(qtbot, wiz)
    press_next(qtbot, wiz)
    walk_steps(qtbot, wiz, sample_fields(wiz, window.services))
    tick_materials(qtbot, wiz)
    press_next(qtbot, wiz)
    assert wiz.current_page() is wiz.review, wiz.message.text()
    return wiz


def test_refused_forward_leaves_the_draft_and_a_retry_succeeds(window, qtbot, demo_ctx):
    wiz = _to_review(qtbot, window)
    assignee = wiz.review.target.currentData()
    assert assignee is not None, "a named colleague is preselected"
    with demo_ctx.sessions.begin() as s:  # the district disabled that account while the resident waited
        s.get(Worker, assignee).active = False
    before = _counts(demo_ctx, wiz.case_id)
    assert before[0] == "draft"

    press_button(qtbot, wiz, wiz.forward_button)
    qtbot.waitUntil(lambda: "接收人" in wiz.message.text() and not wiz.busy)
    assert "不存在、已停用" in wiz.message.text() and wiz.isVisible()
    assert _counts(demo_ctx, wiz.case_id) == before  # not accepted, no event, no outbox row

    wiz.review.target.setCurrentIndex(0)  # 民政（部门队列）
    finish(qtbot, wiz, "forward")
    state, events, outbox = _counts(demo_ctx, wiz.case_id)
    assert state == "forwarded" and events == before[1] + 2 and outbox == before[2] + 2  # accept + forward
    with demo_ctx.sessions() as s:
        names = [o.name for o in s.scalars(select(OutboxEntry).order_by(OutboxEntry.mid.desc()).limit(2))]
    assert names == ["case.forward.v1", "case.accept.v1"]


def test_resolve_without_a_result_is_refused_by_the_core_and_changes_nothing(window, qtbot, demo_ctx):
    wiz = _to_review(qtbot, window)
    before = _counts(demo_ctx, wiz.case_id)
    assert wiz.resolve_button.isVisible()
    press_button(qtbot, wiz, wiz.resolve_button)
    qtbot.waitUntil(lambda: wiz.message.text() != "" and not wiz.busy)
    assert "请填写办理结果" in wiz.message.text()
    assert _counts(demo_ctx, wiz.case_id) == before
