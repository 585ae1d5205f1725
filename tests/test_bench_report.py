"""``bench report`` (issue 16): the generated year looks like a committee's year, is cached, and the bench prints
and writes its figures as numbers (no timing is asserted)."""

from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import select

from app.bench import report as bench
from app.cli.main import main
from app.core.vocabulary import CHINA_TZ, Action, State
from app.core.workdays import CalendarStore, compute_deadline
from app.desk.context import AppContext
from models import Case, CaseEvent

N = 2_000


def test_the_generated_year_has_what_the_figures_count_and_is_cached(tmp_path):
    folder, took = bench.bench_desk(N, tmp_path)
    assert took is not None
    ctx = AppContext.open(folder)
    try:
        with ctx.sessions() as s:
            cases = list(s.scalars(select(Case)))
            events = list(s.scalars(select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.seq)))
        cal = CalendarStore(ctx.data_dir).calendar
    finally:
        ctx.close()
    assert len(cases) == N
    accepted = [c for c in cases if c.accepted_at is not None]
    assert {c.accepted_at.astimezone(CHINA_TZ).year for c in accepted} == {bench.YEAR}
    assert {c.accepted_at.astimezone(CHINA_TZ).month for c in accepted} == set(range(1, 13))
    states = Counter(c.state for c in cases)
    assert 0.35 < states[State.RESOLVED] / N < 0.55  # 即办
    assert states[State.WITHDRAWN] and states[State.REFUSED] and states[State.PENDING_MATERIALS]
    assert states[State.ACCEPTED]  # 在办
    by_case: dict = {}
    for e in events:
        by_case.setdefault(e.case_id, []).append(e)
    forwards = [e for e in events if e.action == Action.FORWARD]
    for e in forwards[:200]:  # each forwarding's deadline is the real calendar's
        at = e.at.astimezone(CHINA_TZ)
        assert e.detail["due_at"] == compute_deadline(at, cal).due.isoformat()
    assert any(sum(e.action == Action.FORWARD for e in evs) > 1 for evs in by_case.values())  # re-forwarded
    assert any(c.state == State.FORWARDED and c.due_at < bench.NOW for c in cases)  # open and overdue now
    late = [c for c in cases if c.replied_at and c.replied_at > c.due_at]
    assert late and any(c.replied_at.astimezone(CHINA_TZ).date() == c.due_at.astimezone(CHINA_TZ).date()
                        for c in late)  # replied after close of business on the due day
    assert {c.acceptance_mode for c in cases} == {"", "容缺受理", "告知承诺制"}
    ratable = [c for c in cases if c.state in (State.RESOLVED, State.CLOSED)]
    rated = [c for c in ratable if c.rating]
    assert 0.6 < len(rated) / len(ratable) < 0.8
    assert {c.rating for c in rated} >= {"very_satisfied", "satisfied", "basic", "dissatisfied"}
    assert any(c.followup_fixed_at for c in cases) and any(c.second_rating for c in cases)
    assert any(c.remind_count for c in cases)
    for evs in by_case.values():  # histories run forward, numbered from 1, and end in the case's state
        assert [e.seq for e in evs] == list(range(1, len(evs) + 1))
        assert [e.at for e in evs] == sorted(e.at for e in evs)
    states_by_id = {c.id: c.state for c in cases}
    assert all(evs[-1].to_state == states_by_id[cid] for cid, evs in by_case.items())
    assert bench.bench_desk(N, tmp_path) == (folder, None)  # the second run takes it from the cache


def test_bench_report_quick_prints_and_writes_its_figures(tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert main(["bench", "report", "--quick", "--cases", "600", "--cache-dir", str(tmp_path / "cache"),
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    figures = json.loads(out.read_text(encoding="utf-8"))
    timed = ["floor: read month rows (ms)", "compute month by item (ms)", "compute month by line (ms)",
             "compute month by worker (ms)", "compute month by day (ms)", "compute year by item (ms)",
             "ledger year (ms)", "workbook year (ms)", "ratio month by item / floor read"]
    for key in timed:
        assert isinstance(figures[key], float) and figures[key] > 0, key
        assert key in printed
    assert figures["cases"] == 600 and figures["ledger rows of the year"] > 0
    assert figures["workbook size (bytes)"] > 0
