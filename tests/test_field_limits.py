"""One set of field limits at the desk's input (issue 12, finding 5): what the server's columns cannot hold, or
what no database can store (NUL, a lone surrogate), is refused where the worker types it, with a Chinese
message naming the field, and nothing is written — no row, no event, no outbox command."""

from __future__ import annotations

import uuid

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from app.core import commands, limits
from app.core.errors import UserError
from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.desk.residents import ResidentError, ResidentInput, ResidentService
from models import Case, CaseEvent, OutboxEntry, Resident

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")
ID_NUMBER = "110101199003070011"  # valid: the limits, not the ID, are what these tests are about


def _counts(ctx) -> tuple[int, ...]:
    with ctx.sessions() as s:
        tables = (Resident, Case, CaseEvent, OutboxEntry)
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0 for t in tables)


def _max_length(model, name: str) -> int | None:
    for meta in model.model_fields[name].metadata:
        if getattr(meta, "max_length", None) is not None:
            return meta.max_length
    return None


def test_command_limits_are_the_column_lengths():
    assert _max_length(commands.ResidentArgs, "address") == Resident.__table__.c.address.type.length == 200
    assert _max_length(commands.ResidentArgs, "notes") == Resident.__table__.c.notes.type.length == 500
    assert _max_length(commands.ResidentArgs, "household_no") == Resident.__table__.c.household_no.type.length
    assert _max_length(commands.ResidentArgs, "phone") == Resident.__table__.c.phone.type.length
    assert _max_length(commands.ForwardArgs, "queue") == Case.__table__.c.assignee_queue.type.length
    assert _max_length(commands.CreateCaseArgs, "case_number") == Case.__table__.c.case_number.type.length
    assert _max_length(commands.ReplyArgs, "text") == limits.MAX_TEXT


@pytest.mark.parametrize(("field", "value", "message"), [
    ("address", "幸福里" * 77 + "一区3号楼", "住址过长（最多 200 个字）"),  # 236 characters
    ("notes", "独居老人，" * 120, "备注过长（最多 500 个字）"),  # 600 characters
    ("household_no", "1" * 41, "户号过长（最多 40 个字）"),
    ("address", "幸福里\x00一区", "住址含有无法保存的特殊字符"),
    ("notes", "请回电\ud800", "备注含有无法保存的特殊字符"),
])
def test_resident_fields_beyond_the_limits_are_refused_with_nothing_written(desk_ctx, field, value, message):
    svc = ResidentService(desk_ctx)
    admin = AuthService(desk_ctx).login("admin", "secret123")
    before = _counts(desk_ctx)
    with pytest.raises(ResidentError, match=message):
        svc.create(admin, ResidentInput(**{"name": "赵金花", "id_number": ID_NUMBER, field: value}))
    existing = svc.search("张桂兰")[0]
    with pytest.raises(ResidentError, match=message):
        svc.update(admin, existing.id, ResidentInput(**{"name": "张桂兰", "id_number": "", field: value}))
    assert _counts(desk_ctx) == before
    assert svc.get(existing.id).address == "幸福里一区3号楼"


def test_values_at_the_limits_are_kept(desk_ctx):
    svc = ResidentService(desk_ctx)
    admin = AuthService(desk_ctx).login("admin", "secret123")
    saved = svc.create(admin, ResidentInput(name="赵金花", id_number=ID_NUMBER, address="路" * 200, notes="注" * 500))
    detail = svc.get(saved.row.id)
    assert (len(detail.address), len(detail.notes)) == (200, 500)


@pytest.fixture
def case_desk(desk_ctx):
    auth = AuthService(desk_ctx)
    admin = auth.login("admin", "secret123")
    auth.create_worker(admin, login="mz", display_name="李建国", password="mzpass1", roles=["line"], lines=["民政"])
    people = {w.login: w for w, _ in auth.list_workers()}
    cases = CaseService(desk_ctx)
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    cid = cases.create_draft(people["desk"], ITEM, resident.id)
    cases.submit(people["desk"], cid, {"x": 1}, {"身份证": True})
    cases.forward(people["desk"], cid, assignee_id=people["mz"].id, queue="民政", note="请审核")
    return cases, people, cid, desk_ctx


@pytest.mark.parametrize(("text", "message"), [
    ("同意\x00发放", "答复内容含有无法保存的特殊字符"),
    ("同意" * 2001, "答复内容过长（最多 4000 个字）"),
])
def test_a_reply_the_server_could_not_store_is_refused_at_the_desk(case_desk, text, message):
    cases, people, cid, ctx = case_desk
    before, state = _counts(ctx), cases.get(cid).summary.state
    with pytest.raises(UserError, match=message):
        cases.reply(people["mz"], cid, "approved", text)
    assert _counts(ctx) == before and cases.get(cid).summary.state == state == "forwarded"


def test_case_notes_reasons_and_answers_are_checked_the_same_way(case_desk):
    cases, people, cid, ctx = case_desk
    before = _counts(ctx)
    with pytest.raises(UserError, match=r"备注过长（最多 4000 个字）"):
        cases.transition(people["desk"], cid, "note", {"note": "很" * 4001})
    with pytest.raises(UserError, match="备注含有无法保存的特殊字符"):
        cases.reassign(people["boss"], cid, people["mz"].id, "\x07改派")
    fresh = cases.create_draft(people["desk"], ITEM, None)
    after_draft = _counts(ctx)
    with pytest.raises(UserError, match="填写内容含有无法保存的特殊字符"):
        cases.submit(people["desk"], fresh, {"household": [{"name": "张\ud800"}]}, {})
    with pytest.raises(UserError, match="代办人含有无法保存的特殊字符"):
        cases.save_draft(people["desk"], fresh, {}, {}, 1, agent={"name": "李\x00"})
    assert _counts(ctx) == after_draft and after_draft[1] == before[1] + 1


def test_parse_on_the_server_gives_the_same_problem():
    problem = "住址过长（最多 200 个字）"
    with pytest.raises(commands.BadCommand) as desk_side:
        commands.ResidentArgs(id=uuid.uuid4(), address="路" * 201)
    with pytest.raises(commands.BadCommand) as server_side:
        commands.parse_args(commands.ResidentArgs, {"id": str(uuid.uuid4()), "address": "路" * 201})
    assert desk_side.value.problem == server_side.value.problem == problem == str(desk_side.value)
    assert problem in str(server_side.value)


def test_clean_text_keeps_what_it_can():
    assert limits.clean_text("同意\x00发\ud800放\n第二行\t!") == "同意发放\n第二行\t!"
    assert limits.clean_text("很" * 10, 5) == "很很很很…"


@pytest.mark.gui
def test_resident_dialog_shows_the_limit_and_saves_nothing(window, qtbot):
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    from tests.gui_helpers import type_text
    from ui.residents.resident_dialog import ResidentDialog
    win = window
    win.show_page("residents")
    page = win.pages["residents"]
    qtbot.waitUntil(lambda: page.model.rowCount() == 30)
    before = _counts(win.services.ctx)
    qtbot.mouseClick(page.new_button, Qt.LeftButton)
    dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ResidentDialog) and w.isVisible())
    type_text(qtbot, dlg.name, "赵金花")
    qtbot.keyClicks(dlg.id_number, ID_NUMBER)
    type_text(qtbot, dlg.address, "幸福里" * 77 + "一区3号楼")
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Save), Qt.LeftButton)
    qtbot.waitUntil(lambda: "住址过长（最多 200 个字）" in dlg.error.text())
    assert dlg.isVisible() and dlg.buttons.isEnabled()
    assert _counts(win.services.ctx) == before
    dlg.reject()
