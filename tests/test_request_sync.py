"""诉求 across desks (issue 20): a request registered at desk A for a 块长 whose desk is B, through a real server
process (uvicorn on a free loopback port, PostgreSQL): B pulls it, tells the resident and closes it, A sees it
closed with the feedback time and channel. The 块区 set by a 站长 at one desk reach the other; the server CLI
``server committee blocks`` sets them for every desk; the server refuses what the rules refuse."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from app.cli.main import main
from app.core.blocks import Block
from app.core.vocabulary import Mutation
from app.desk.blocks import BlockService
from app.desk.cases import CaseService
from app.desk.context import AppContext
from app.desk.outbox import enqueue
from app.desk.requests import RequestService
from app.desk.sync.client import sync_status
from app.server import admin
from app.server.verify import find_progress, progress_html
from models import utcnow
from models.server import Case, Committee, MutationRecord
from tests.sync_helpers import COMMITTEE, server_worker_id, start_server, stop_server, wait_ready
from tests.test_sync_e2e import _desk_folder, _sync, _worker

pytest_plugins = ("tests.server_fixtures",)

pytestmark = [pytest.mark.server]




@pytest.mark.slow
def test_a_request_and_the_blocks_between_two_desks_through_a_real_server(tmp_path, template_db, seeded, pg_url):
    proc, port = start_server(tmp_path, pg_url)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        folders = {}
        for name in ("A", "B"):
            folders[name] = _desk_folder(tmp_path, template_db, name)
            code, _ = admin.create_enroll_code(seeded, COMMITTEE)
            assert main(["--data-dir", str(folders[name]), "enroll", "--server", url, "--code", code,
                         "--allow-insecure-http"]) == 0
        a, b = AppContext.open(folders["A"]), AppContext.open(folders["B"])
        boss, desk, mz = _worker(a, "boss"), _worker(a, "desk"), _worker(b, "mz")
        # The 站长 sets the 块区 at desk A; desk B gets them from the server.
        BlockService(a).set(boss, [Block("A1", "一块区", mz.id, ("幸福路100弄",)),
                                   Block("A2", "二块区", boss.id, ("幸福路",))])
        _sync(folders["A"])
        _sync(folders["B"])
        assert [(x.code, x.leader_id) for x in BlockService(b).get()] == [("A1", mz.id), ("A2", boss.id)]
        # Desk A registers a request at an address of 一块区: it goes to 李建国 (mz), whose desk is B.
        reg = RequestService(a).register(desk, category="property", urgency="urgent", place="幸福路100弄 3号 502",
                                         description="楼上漏水", contact_name="刘先生", contact_phone="13912340000")
        cid = reg.summary.id
        assert reg.summary.assignee_id == mz.id and reg.request.block_code == "A1"
        _sync(folders["A"])
        _sync(folders["B"])
        at_b = CaseService(b).get(cid, mz)
        assert at_b.kind == "request" and at_b.summary.state == "accepted" and at_b.request.urgency_label == "紧急"
        assert at_b.request.description == "楼上漏水" and at_b.request.block_name == "一块区"
        assert at_b.request.feedback_due_at - at_b.request.intake_at == dt.timedelta(hours=24)  # server: same rule
        fed = RequestService(b).feedback(mz, cid, channel="phone", text="已联系物业，明天上午上门",
                                         expected_version=at_b.version)
        RequestService(b).close(mz, cid, result="已修好水管", channel="sms", expected_version=fed.version)
        _sync(folders["B"])
        _sync(folders["A"])
        seen = CaseService(a).get(cid, desk)
        assert seen.summary.state == "closed" and seen.summary.state_label == "已办结"
        assert seen.request.first_feedback_at == fed.request.first_feedback_at is not None
        assert seen.request.feedback_channel == "sms" and seen.request.feedback_channel_label == "短信"
        assert seen.request.result_text == "已修好水管" and seen.request.closed_at is not None
        assert [e.action_label for e in seen.events] == ["开始办理", "诉求登记", "反馈居民", "办结"]
        assert [e.action_label for e in CaseService(b).get(cid).events] == [e.action_label for e in seen.events]
        assert sync_status(a).pending == sync_status(b).pending == 0
        with seeded.sessions() as s:
            row = s.get(Case, cid)
            assert (row.kind, row.state, row.feedback_channel, row.block_code) == ("request", "closed", "sms", "A1")
        a.close()
        b.close()
    finally:
        stop_server(proc)


def test_server_cli_sets_the_blocks_for_every_desk(tmp_path, make_desk, seeded, pg_url, capsys):
    desk = make_desk("A")
    file = tmp_path / "blocks.json"
    file.write_text(json.dumps([{"code": "B1", "name": "北块区", "leader_login": "mz2", "addresses": ["和平路 1号"]}],
                               ensure_ascii=False), encoding="utf-8")
    assert main(["server", "committee", "blocks", COMMITTEE, str(file), "--db", pg_url]) == 0
    assert "已设置居委会 320302001 的块区 1 个" in capsys.readouterr().out
    assert desk.sync.sync_once().ok
    blocks = BlockService(desk.ctx).get()
    assert [(x.code, x.addresses) for x in blocks] == [("B1", ("和平路1号",))]
    assert str(blocks[0].leader_id) == server_worker_id(seeded, "mz2")
    assert RequestService(desk.ctx).route("和平路1号楼").code == "B1"
    file.write_text(json.dumps([{"code": "B1", "name": "北块区", "leader_login": "nobody", "addresses": []}]),
                    encoding="utf-8")
    assert main(["server", "committee", "blocks", COMMITTEE, str(file), "--db", pg_url]) != 0
    assert "nobody 不是本居委会在岗的社工" in capsys.readouterr().err
    with seeded.sessions() as s:
        assert s.scalars(select(Committee)).one().settings["blocks"][0]["code"] == "B1"  # unchanged


def test_the_server_refuses_what_the_rules_refuse(make_desk, seeded):
    """Commands a desk's own checks would never send (an older or altered desk) are set aside by the server's
    copy of the same rules, with the Chinese reason; nothing changes there."""
    desk = make_desk("A")
    reg = RequestService(desk.ctx).register(desk.worker("desk"), category="safety", place="和平路",
                                            description="井盖松动", contact_phone="13912340000")
    cid, front, boss = str(reg.summary.id), desk.worker("desk").id, desk.worker("boss").id
    with desk.ctx.sessions.begin() as s:  # written straight into the outbox, past the desk's checks
        enqueue(s, Mutation.CASE_RESOLVE, {"case_id": cid, "result_text": "好了"}, front)
        enqueue(s, Mutation.CASE_GIVE_FEEDBACK, {"case_id": cid, "channel": "phone", "text": " "}, front)
        enqueue(s, Mutation.COMMITTEE_BLOCKS, {"blocks": []}, front)
        enqueue(s, Mutation.COMMITTEE_BLOCKS, {"blocks": [{"code": "X", "name": "叉"}, {"code": "X", "name": "又"}]},
                boss)
    assert desk.sync.sync_once().ok
    with seeded.sessions() as s:
        rows = list(s.execute(select(MutationRecord.name, MutationRecord.status, MutationRecord.reason)
                              .order_by(MutationRecord.mid)))
        assert [r[1] for r in rows] == ["applied", "applied", "set_aside", "set_aside", "set_aside", "set_aside"]
        reasons = [r[2] for r in rows[2:]]
        assert "诉求不能执行“当场办结”" in reasons[0] and "请填写反馈内容" in reasons[1]
        assert "只有站长或管理员可以设置块区" in reasons[2] and "块区编号 X 重复" in reasons[3]
        assert s.get(Case, reg.summary.id).state == "accepted"
        assert "blocks" not in (s.scalars(select(Committee)).one().settings or {})


def test_the_progress_page_of_a_request(make_desk, seeded):
    """The slip's QR opens the server's progress page: a request reads in its own words, with the 24-hour
    feedback time, then the promised time; never a rating form (a 诉求 is not rated like a service)."""
    desk = make_desk("A")
    svc = RequestService(desk.ctx)
    reg = svc.register(desk.worker("desk"), category="facility", place="和平路", description="路灯不亮",
                       contact_phone="13912340000")
    assert desk.sync.sync_once().ok
    with desk.ctx.sessions() as s:
        code = s.get(Case, reg.summary.id).verification_code
    page = progress_html(find_progress(seeded, reg.summary.case_number, code), utcnow())
    assert "待反馈" in page and "承诺反馈" in page and "24小时内给您反馈" in page
    assert 'name="level"' not in page and "路灯不亮" not in page and "13912340000" not in page
    svc.feedback(desk.worker("desk"), reg.summary.id, channel="phone", text="明天修",
                 promised_at=utcnow() + dt.timedelta(days=1))
    assert desk.sync.sync_once().ok
    page = progress_html(find_progress(seeded, reg.summary.case_number, code), utcnow())
    assert "处理中" in page and "已反馈" in page and "预计处理" in page and "承诺反馈" not in page
