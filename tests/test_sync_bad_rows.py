"""One malformed row from the server never stops a desk's pull (issue 12, finding 7), against a real server
process: the row is set aside — listed by ``sync --status`` and the 同步 page with its entity and the reason,
and logged — the cursor moves past it and the rows after it apply. A catalog file name is never a path."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest
from sqlalchemy import select

from app.cli.main import main
from app.core.wire import Change
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.sync.apply import DeskApplier
from app.desk.sync.bad_rows import set_aside_rows
from app.server import admin
from app.server.changes import ChangeWriter, scope_of
from models import SyncState, Worker, utcnow
from models.server import GLOBAL_SCOPE, Committee
from tests.sync_helpers import COMMITTEE, start_server, stop_server, wait_ready

pytest_plugins = ("tests.server_fixtures",)

CALENDAR_2027 = json.dumps({"year": 2027, "version": 1, "holidays": [], "makeup_workdays": []})


def _catalog(**change) -> dict:
    row = {"id": str(uuid.uuid4()), "version": "2099.1.1", "content_hash": "0123456789abcdef",
           "files": {"catalog.yaml": 'version: "2099.1.1"\n'}, "published_at": utcnow().isoformat()}
    row.update(change)
    return row


BAD_ROWS = {  # name: (entity, payload, words the reason must hold)
    "calendar_year_in_chinese": ("calendar", {"id": str(uuid.uuid4()), "year": "二〇二七", "version": 1,
                                              "content": CALENDAR_2027}, "年份"),
    "calendar_content_not_json": ("calendar", {"id": str(uuid.uuid4()), "year": 2027, "version": 1,
                                               "content": "{not json"}, "JSON"),
    "catalog_file_dotdot": ("catalog", _catalog(files={"..": "x"}), "文件名不合法"),
    "catalog_file_empty": ("catalog", _catalog(files={"": "x"}), "文件名不合法"),
    "catalog_file_traversal": ("catalog", _catalog(files={"../evil.yaml": "code: X"}), "文件名不合法"),
    "catalog_content_not_text": ("catalog", _catalog(files={"MZ-01.yaml": 42}), "不是文字"),
    "catalog_files_a_list": ("catalog", _catalog(files=["MZ-01.yaml"]), "文件列表"),
    "catalog_without_hash": ("catalog", {k: v for k, v in _catalog().items() if k != "content_hash"},
                             "content_hash"),
    "case_not_a_record": ("case", ["not", "a", "row"], "格式有误"),
    "case_with_a_bad_date": ("case", None, "无法写入本机"),  # passes the shape check, fails while written
}


def _bad_case(committee_id: uuid.UUID, creator: str) -> dict:
    now = utcnow().isoformat()
    return {"id": str(uuid.uuid4()), "committee_id": str(committee_id), "case_number": "C-BAD-1", "state": "accepted",
            "item_code": "MZ-01", "item_name": "高龄老人尊老金申领", "catalog_version": "x", "created_by_id": creator,
            "created_at": "上周三", "updated_at": now, "version": 1, "data": {}, "materials": {}, "events": []}


def _emit(db, scope: str, entity: str, entity_id: str, data) -> int:
    with db.sessions.begin() as s:
        return ChangeWriter(s, utcnow()).emit(scope, entity, entity_id, data).seq


@pytest.fixture
def live_folder(tmp_path, template_db, seeded, pg_url):
    proc, port = start_server(tmp_path, pg_url)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        folder = tmp_path / "desk"
        folder.mkdir()
        shutil.copyfile(template_db, folder / DB_FILENAME)
        code, _ = admin.create_enroll_code(seeded, COMMITTEE)
        assert main(["--data-dir", str(folder), "enroll", "--server", url, "--code", code,
                     "--allow-insecure-http"]) == 0
        yield folder
    finally:
        stop_server(proc)


def _cursor_seq(folder) -> int:
    ctx = AppContext.open(folder)
    try:
        with ctx.sessions() as s:
            return int(s.get(SyncState, 1).cursor.split("-")[0])
    finally:
        ctx.close()


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("name", list(BAD_ROWS))
def test_a_malformed_row_is_set_aside_and_the_pull_goes_on(live_folder, seeded, tmp_path, capsys, caplog, name):
    entity, payload, words = BAD_ROWS[name]
    with seeded.sessions() as s:
        committee = s.scalars(select(Committee)).one()
        creator = str(s.scalars(select(Worker.id).where(Worker.login == "desk")).one())
    if payload is None:
        payload = _bad_case(committee.id, creator)
    scope = GLOBAL_SCOPE if entity in ("calendar", "catalog") else scope_of(committee.id)
    bad_id = payload["id"] if isinstance(payload, dict) else str(uuid.uuid4())
    bad_seq = _emit(seeded, scope, entity, bad_id, payload)
    admin.add_worker(seeded, COMMITTEE, "mz9", "吴新来", roles=["line"], lines=["民政"], password_hash="x")
    capsys.readouterr()
    assert main(["--data-dir", str(live_folder), "sync", "--once"]) == 0, capsys.readouterr().out
    assert main(["--data-dir", str(live_folder), "sync", "--once"]) == 0  # and again: nothing stuck
    assert _cursor_seq(live_folder) > bad_seq
    ctx = AppContext.open(live_folder)
    try:
        with ctx.sessions() as s:
            assert s.scalar(select(Worker.display_name).where(Worker.login == "mz9")) == "吴新来"  # the later row
    finally:
        ctx.close()
    listed = set_aside_rows(live_folder)
    assert len(listed) == 1 and listed[0].entity == entity and listed[0].seq == bad_seq and words in listed[0].reason
    capsys.readouterr()
    assert main(["--data-dir", str(live_folder), "sync", "--status"]) == 0
    out = capsys.readouterr().out
    assert listed[0].entity_label in out and listed[0].reason in out
    logged = [r.getMessage() for r in caplog.records if "set aside" in r.getMessage()]
    assert logged and entity in logged[0] and f"seq {bad_seq}" in logged[0]
    assert not [p for p in tmp_path.rglob("evil.yaml")]  # nothing written anywhere, inside or outside the folder
    assert not (live_folder / "catalog" / "current.json").exists()


@pytest.mark.server
@pytest.mark.slow
def test_a_good_row_after_a_bad_one_clears_it(live_folder, seeded):
    bad = {"id": str(uuid.uuid4()), "year": "二〇二七", "version": 1, "content": CALENDAR_2027}
    _emit(seeded, GLOBAL_SCOPE, "calendar", bad["id"], bad)
    assert main(["--data-dir", str(live_folder), "sync", "--once"]) == 0
    assert len(set_aside_rows(live_folder)) == 1
    _emit(seeded, GLOBAL_SCOPE, "calendar", bad["id"], {**bad, "year": 2027})  # the server's corrected row
    assert main(["--data-dir", str(live_folder), "sync", "--once"]) == 0
    assert set_aside_rows(live_folder) == []
    assert (live_folder / "calendar" / "cn-2027-v1.json").is_file()


def test_a_catalog_file_name_is_never_a_path(tmp_path):
    from app.desk.catalog.store import BadCatalog, write_catalog
    data = tmp_path / "data"
    data.mkdir()
    for name in ("../evil.yaml", "..", "", "/tmp/evil.yaml", "sub/evil.yaml", ".hidden.yaml", "evil.py"):
        with pytest.raises(BadCatalog, match="文件名不合法"):
            write_catalog(data, _catalog(files={"catalog.yaml": "version: x\n", name: "code: X"}))
    assert not list(tmp_path.rglob("*evil*")) and not (data / "catalog" / "current.json").exists()


@pytest.mark.gui
def test_the_sync_page_lists_rows_set_aside(window, qtbot):
    ctx = window.services.ctx
    bad = Change(seq=41, entity="catalog", id="x", data=_catalog(files={"../evil.yaml": "code: X"}))
    good = Change(seq=42, entity="calendar", id="y", data={"id": str(uuid.uuid4()), "year": 2027, "version": 1,
                                                           "content": CALENDAR_2027})
    with ctx.sessions.begin() as s:
        applier = DeskApplier(s, ctx.data_dir)
        applier.apply_changes([bad, good])
    assert applier.applied == 1 and [r.seq for r in applier.set_aside] == [41]
    window.show_page("sync")
    page = window.pages["sync"]
    qtbot.waitUntil(lambda: page.bad_rows.rowCount() == 1)
    texts = [page.bad_rows.item(0, j).text() for j in range(page.bad_rows.columnCount())]
    assert "事项目录" in texts and any("文件名不合法" in t for t in texts)
    assert page.bad_rows_box.isVisible()
