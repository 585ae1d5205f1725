"""Three desks working offline on the same committee's cases, syncing at random moments through a network that
drops requests, loses answers, cuts them off and duplicates them. After everyone syncs on a calm network, all
desks and the server hold the same cases with the same history, nothing is left unsent, and a case the server
ever saw closed is still closed."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.desk.cases import CaseError
from app.server.api import create_app
from models import Case, OutboxEntry
from tests.sync_helpers import new_desk, reset_server, seed_server

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = [pytest.mark.server, pytest.mark.slow]

DESKS = st.integers(min_value=0, max_value=2)
PICK = st.integers(min_value=0, max_value=10_000)
FAULTS = st.sampled_from([None, None, None, "drop_request", "drop_response", "truncate", "duplicate"])


def _picture(cases) -> dict:
    """What must converge: each case's state, key fields and full history."""
    return {c.id: (c.state, c.due_at, c.assignee_id, c.reply_text, c.reply_result,
                   tuple((e.seq, e.action, e.from_state, e.to_state, e.note, e.worker_id) for e in c.events))
            for c in cases}


class ThreeDesks(RuleBasedStateMachine):
    db = None
    template_db: Path | None = None
    hashes: dict = {}
    workdir: Path | None = None

    def __init__(self):
        super().__init__()
        reset_server(self.db)
        seed_server(self.db, self.hashes)
        app = create_app(self.db)
        root = Path(tempfile.mkdtemp(dir=self.workdir))
        self.desks = [new_desk(root / n, self.template_db, self.db, app, n) for n in "ABC"]
        self.case_ids: list = []
        self.closed: set = set()

    def _case(self, pick):
        return self.case_ids[pick % len(self.case_ids)]

    def _try(self, fn, *args, **kw):
        try:
            fn(*args, **kw)
        except CaseError:
            pass  # not allowed in the state this desk sees: a worker would not get the button either

    @rule(d=DESKS, login=st.sampled_from(["desk", "desk2"]))
    def create_and_accept(self, d, login):
        self.case_ids.append(self.desks[d].new_case(login))

    @precondition(lambda self: self.case_ids)
    @rule(d=DESKS, pick=PICK, line=st.sampled_from(["mz", "mz2"]), note=st.sampled_from(["", "请审核", "加急"]))
    def forward(self, d, pick, line, note):
        desk = self.desks[d]
        self._try(desk.cases.forward, desk.worker("desk"), self._case(pick), assignee_id=desk.worker(line).id,
                  queue="民政", note=note)

    @precondition(lambda self: self.case_ids)
    @rule(d=DESKS, pick=PICK, line=st.sampled_from(["mz", "mz2"]), result=st.sampled_from(["approved", "need_more"]))
    def reply(self, d, pick, line, result):
        desk = self.desks[d]
        self._try(desk.cases.reply, desk.worker(line), self._case(pick), result, f"{line}的答复")

    @precondition(lambda self: self.case_ids)
    @rule(d=DESKS, pick=PICK)
    def acknowledge(self, d, pick):
        desk = self.desks[d]
        self._try(desk.cases.acknowledge, desk.worker("mz"), self._case(pick))

    @precondition(lambda self: self.case_ids)
    @rule(d=DESKS, pick=PICK)
    def close(self, d, pick):
        desk = self.desks[d]
        self._try(desk.cases.close, desk.worker("desk2"), self._case(pick), "phone", "已电话告知")

    @precondition(lambda self: self.case_ids)
    @rule(d=DESKS, pick=PICK)
    def withdraw(self, d, pick):
        desk = self.desks[d]
        self._try(desk.cases.withdraw, desk.worker("desk"), self._case(pick), "居民撤回")

    @rule(d=DESKS, faults=st.lists(FAULTS, max_size=3))
    def sync(self, d, faults):
        desk = self.desks[d]
        desk.transport.plan = list(faults)
        desk.sync.sync_once()
        desk.transport.plan = []

    @invariant()
    def closed_cases_stay_closed(self):
        with self.db.sessions() as s:
            now_closed = set(s.scalars(select(Case.id).where(Case.state == "closed")))
        assert self.closed <= now_closed, "a closed case was reopened by sync"
        self.closed = now_closed

    def teardown(self):
        try:
            for _ in range(2):
                for desk in self.desks:
                    result = desk.sync.sync_once()
                    assert result.ok, result.error
            self._check_converged()
        finally:
            for desk in self.desks:
                desk.close()

    def _check_converged(self):
        with self.db.sessions() as s:
            server = _picture(s.scalars(select(Case).options(selectinload(Case.events))))
        assert set(server) == set(self.case_ids)
        for desk in self.desks:
            with desk.ctx.sessions() as s:
                assert _picture(s.scalars(select(Case).options(selectinload(Case.events)))) == server, desk.name
                assert not s.scalars(select(OutboxEntry).where(OutboxEntry.status == "pending")).first()
        self.closed_cases_stay_closed()
        self._check_exactly_once()

    def _check_exactly_once(self):
        """Each acknowledged command had exactly one effect on the server, however often it was sent."""
        applied = 0
        for desk in self.desks:
            with desk.ctx.sessions() as s:
                applied += len(list(s.scalars(select(OutboxEntry.mid).where(
                    OutboxEntry.status == "applied", OutboxEntry.name.like("case.%"),
                    OutboxEntry.name != "case.save_draft.v1"))))
        with self.db.sessions() as s:
            events = [e for c in s.scalars(select(Case).options(selectinload(Case.events))) for e in c.events]
        assert applied == sum(1 for e in events if not (e.detail or {}).get("set_aside"))


def test_three_desks_converge_under_faults(seeded, template_db, password_hashes, tmp_path):
    ThreeDesks.db, ThreeDesks.template_db, ThreeDesks.hashes = seeded, template_db, password_hashes
    ThreeDesks.workdir = tmp_path
    run_state_machine_as_test(ThreeDesks, settings=settings(
        max_examples=15, stateful_step_count=30, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
