"""One core for desk and server: every case rule is written once (in app/core), both sides call it, and the
vocabulary is typed. These tests fail when a rule or a message is copied into a second place."""

from __future__ import annotations

import ast
import datetime as dt
import re
import uuid
from pathlib import Path

import pytest

from app.core import actions, commands
from app.core.machine import REQUEST_TRANSITIONS, TRANSITIONS, TransitionError, available_actions, printable_documents
from app.core.vocabulary import LABELS, Action, DocKind, Mutation, Role, State
from models import Case

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def _py(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


def _chinese_literals(path: Path) -> set[str]:
    """Whole Chinese messages of a module (f-string pieces such as "案件编号 " are not messages)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pieces = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in pieces and len(CJK.findall(n.value)) >= 4}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_chinese_message_is_written_on_both_desk_and_server():
    desk = set().union(*(_chinese_literals(f) for f in _py("app/desk")))
    server = set().union(*(_chinese_literals(f) for f in _py("app/server")))
    assert not desk & server, sorted(desk & server)


def test_case_rule_messages_live_only_in_the_core():
    rules = ("请填写办理结果", "不予受理必须写明具体原因", "请选择答复结果", "不予批准必须写明原因",
             "请选择告知居民的方式", "请选择接收的条线社工或部门", "所选接收人不存在", "需要以下角色之一", "不能执行")
    for f in [*_py("app"), *_py("ui")]:
        text = f.read_text(encoding="utf-8")
        rel = f.relative_to(ROOT).as_posix()
        for rule in rules:
            if rule in text:
                assert rel in ("app/core/actions.py", "app/core/machine.py"), (rel, rule)


def test_server_and_core_import_no_desk_service_or_ui():
    for f in _py("app/server"):
        bad = [n for n in _imports(f) if n.startswith(("app.desk", "app.cli", "app.demo", "ui"))]
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"
    for f in _py("app/core"):
        outside = ("app.desk", "app.server", "app.cli", "app.demo", "app.bench", "ui")
        bad = [n for n in _imports(f) if n.startswith(outside)]
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"


def test_no_module_is_longer_than_600_lines():
    long = [(f.relative_to(ROOT).as_posix(), n) for folder in ("app", "ui", "forms", "models")
            for f in _py(folder) if (n := len(f.read_text(encoding="utf-8").splitlines())) > 600]
    assert not long, long


def test_every_word_has_exactly_one_label():
    for enum in (State, Action, Role, DocKind):
        assert set(LABELS[enum]) == set(enum), enum
        assert all(CJK.search(m.label) for m in enum)
    assert set(TRANSITIONS) | set(REQUEST_TRANSITIONS) == set(Action)  # 诉求 (issue 20): a table of its own


def test_every_case_action_has_a_command_and_back():
    for action in Action:
        mutation = Mutation.for_action(action)
        if action not in (Action.CREATE_DRAFT, Action.SAVE_DRAFT):
            assert mutation.action == action and commands.command_args(mutation) is commands.ARGS[action]
    assert commands.command_args("case.explode.v1") is None and commands.command_args("nonsense") is None


# ----- the shared actions, driven directly ------------------------------------------------------------------
DESK = actions.Actor(id=uuid.uuid4(), roles=(Role.FRONT_DESK,))


class _Colleague:
    def __init__(self, roles, lines):
        self.id, self.roles, self.lines = uuid.uuid4(), roles, lines


def _accepted_case() -> Case:
    cmd = commands.CreateCaseArgs(id=uuid.uuid4(), case_number="310101001-D01-20260302-0001", item_code="MZ-01",
                                  department="民政", mode="转办")
    case = actions.create_case(cmd, committee_id=uuid.uuid4(), actor=DESK, at=NOW, env=actions.SimpleEnv())
    actions.perform(case, Action.ACCEPT, commands.SubmitArgs(case_id=case.id, data={}, materials={}), actor=DESK,
                    at=NOW, env=actions.SimpleEnv())
    return case


def test_a_refused_action_touches_nothing():
    case = _accepted_case()
    before = (case.state, case.version, len(case.events), case.result_text)
    with pytest.raises(TransitionError, match="请填写办理结果"):
        actions.perform(case, Action.RESOLVE, commands.ResolveArgs(case_id=case.id, result_text="  "), actor=DESK,
                        at=NOW, env=actions.SimpleEnv())
    wrong_line = _Colleague(("line",), ("残联",))
    env = actions.SimpleEnv(colleagues=lambda _id: wrong_line, deadline_fn=lambda at: (at, False))
    with pytest.raises(TransitionError, match="不负责“民政”条线"):
        actions.perform(case, Action.FORWARD, commands.ForwardArgs(case_id=case.id, assignee_id=wrong_line.id),
                        actor=DESK, at=NOW, env=env)
    assert (case.state, case.version, len(case.events), case.result_text) == before


def test_forward_records_the_sides_deadline_and_keeps_the_desks_for_the_record():
    case = _accepted_case()
    mz = _Colleague(("line",), ("民政",))
    due = NOW + dt.timedelta(days=2)
    env = actions.SimpleEnv(colleagues=lambda _id: mz, deadline_fn=lambda at: (due, False), audit={"device": "D01"})
    done = actions.perform(case, Action.FORWARD, commands.ForwardArgs(case_id=case.id, assignee_id=mz.id,
                                                                      due_at="2026-03-03T09:30:00+00:00"),
                           actor=DESK, at=NOW, env=env)
    assert case.state == State.FORWARDED and case.due_at == due and case.assignee_id == mz.id
    assert done.detail["desk_due_at"] == "2026-03-03T09:30:00+00:00" and case.events[-1].detail["device"] == "D01"
    # what the desk queues is what the server parses back
    parsed = commands.parse_args(commands.ForwardArgs, done.command_args(case))
    assert parsed.assignee_id == mz.id and parsed.case_id == case.id


def test_bad_command_arguments_get_a_chinese_reason():
    with pytest.raises(commands.BadCommand, match="缺少案件编号"):
        commands.parse_args(commands.ResolveArgs, {"result_text": "x"})
    with pytest.raises(commands.BadCommand, match="接收人不符合要求"):
        commands.parse_args(commands.ForwardArgs, {"case_id": str(uuid.uuid4()), "assignee_id": "not-a-uuid"})
    with pytest.raises(commands.BadCommand, match="格式有误"):
        commands.parse_args(commands.ResolveArgs, ["not", "a", "dict"])


def test_available_actions_follow_authority_not_only_role():
    case = _accepted_case()
    mz, other = _Colleague(("line",), ("民政",)), _Colleague(("line",), ("民政",))
    env = actions.SimpleEnv(colleagues=lambda _id: mz, deadline_fn=lambda at: (at, False))
    actions.perform(case, Action.FORWARD, commands.ForwardArgs(case_id=case.id, assignee_id=mz.id), actor=DESK,
                    at=NOW, env=env)
    assert [o.action for o in available_actions(case, mz)] == [Action.ACKNOWLEDGE, Action.REPLY]
    assert available_actions(case, other) == []  # same line, not the assignee
    assert printable_documents(case.state, True) == (DocKind.RECEIPT, DocKind.APPLICATION, DocKind.PACKET)
