"""Attachments' bytes through the district server (issue 15, app/server/files.py): resumable chunked upload with
the sha256 checked at the end, ranged download, committee scoping (each committee its own copy: another
committee's device hears 404 even for a file it could name, and declaring its hash gives it nothing), the limits,
every refusal in the API's Chinese error shape, and ``server attachments gc``.
Runs against PostgreSQL (tests/server_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import threading
import uuid

import pytest
from sqlalchemy import select

from app.cli.main import main
from app.core import limits
from app.server import files
from app.server.api import create_app
from app.server.body_limits import FILE_TOO_LARGE
from models import Attachment, utcnow
from models.server import ServerBlob
from tests.test_server_attachments import OTHER, Device, add_args

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = pytest.mark.server

CHUNK = limits.ATTACHMENT_CHUNK_BYTES
CONTENT = os.urandom(2 * CHUNK + 12345)  # three chunks, the last one short
SHA = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def files_dir(tmp_path):
    return tmp_path / "server-attachments"


@pytest.fixture
def server_app(server_db, server_clock, files_dir):
    """The plugin's app, with the attachments folder where the test can look."""
    return create_app(server_db, clock=server_clock, attachments_dir=files_dir)


@pytest.fixture
def desk(api, seeded) -> Device:
    return Device(api, seeded)


@pytest.fixture
def other_desk(api, seeded) -> Device:
    from app.server import admin
    admin.add_committee(seeded, OTHER, "西湖社区居民委员会")
    admin.add_worker(seeded, OTHER, "b_desk", "西湖前台", roles=["front_desk"], password="b_deskpass")
    return Device(api, seeded, OTHER, "b_desk")


def attach(desk: Device, content: bytes = CONTENT, sha: str | None = None) -> tuple[uuid.UUID, str]:
    """A case with one attachment of ``content`` (declared under ``sha``, its true sha256 unless given)."""
    cid = desk.new_case()
    sha = sha or hashlib.sha256(content).hexdigest()
    aid = uuid.uuid4()
    (r,) = desk.push(("attachment.add.v1", add_args(cid, aid, sha256=sha, size=len(content)))).get("results")
    assert r["status"] == "applied", r
    return aid, sha


def copy(files_dir, desk: Device, sha: str, suffix: str = ""):
    """Where the server keeps ``desk``'s committee's copy of the file."""
    return files_dir / str(desk.committee_id) / sha[:2] / f"{sha}{suffix}"


def put(api, desk: Device, sha: str, offset: int, chunk: bytes):
    return api.put(f"/v1/files/{sha}", params={"offset": offset}, content=chunk,
                   headers={**desk.headers, "Content-Type": "application/octet-stream"})


def upload(api, desk: Device, sha: str, content: bytes = CONTENT) -> list[dict]:
    answers = []
    for offset in range(0, len(content), CHUNK):
        resp = put(api, desk, sha, offset, content[offset:offset + CHUNK])
        assert resp.status_code == 200, resp.text
        answers.append(resp.json())
    return answers


def refusal(resp, status: int, error: str) -> dict:
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert detail["error"] == error and any("\u4e00" <= ch <= "\u9fff" for ch in detail["message"]), detail
    return detail


def test_three_chunks_make_a_complete_file_in_an_owner_only_folder(api, seeded, desk, files_dir):
    _, sha = attach(desk)
    before = api.get(f"/v1/files/{sha}", headers=desk.headers)
    assert before.status_code == 200
    assert before.json() == {"sha256": sha, "size": len(CONTENT), "received": 0, "complete": False}
    answers = upload(api, desk, sha)
    assert [(a["received"], a["complete"]) for a in answers] == [(CHUNK, False), (2 * CHUNK, False),
                                                                 (len(CONTENT), True)]
    final = copy(files_dir, desk, sha)
    assert final.read_bytes() == CONTENT and not copy(files_dir, desk, sha, ".part").exists()
    if os.name == "posix":
        assert stat.S_IMODE(files_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(final.parent.parent.stat().st_mode) == 0o700  # the committee's folder
        assert stat.S_IMODE(final.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(final.stat().st_mode) == 0o600
    with seeded.sessions() as s:
        blob = s.get(ServerBlob, (desk.committee_id, sha))
        assert blob.complete and blob.received == len(CONTENT) and blob.completed_at is not None
        assert str(blob.uploaded_by_device_id) == desk.id
    status = api.get(f"/v1/files/{sha}", headers=desk.headers).json()
    assert status["complete"] and status["received"] == len(CONTENT)
    # the last chunk again (its answer was lost): 200 with the status, nothing changes
    again = put(api, desk, sha, 2 * CHUNK, CONTENT[2 * CHUNK:])
    assert again.status_code == 200 and again.json()["complete"]
    assert final.read_bytes() == CONTENT


def test_a_chunk_not_where_the_copy_ends_is_409_with_the_servers_offset(api, seeded, desk):
    _, sha = attach(desk)
    assert put(api, desk, sha, 0, CONTENT[:CHUNK]).status_code == 200
    detail = refusal(put(api, desk, sha, 2 * CHUNK, CONTENT[2 * CHUNK:]), 409, "offset")
    assert detail["received"] == CHUNK
    detail = refusal(put(api, desk, sha, 0, CONTENT[:CHUNK]), 409, "offset")  # the first chunk twice
    assert detail["received"] == CHUNK
    # resumed where the server said: completes
    assert put(api, desk, sha, CHUNK, CONTENT[CHUNK:2 * CHUNK]).status_code == 200
    assert put(api, desk, sha, 2 * CHUNK, CONTENT[2 * CHUNK:]).json()["complete"]


def test_bytes_that_do_not_match_the_hash_are_dropped(api, seeded, desk, files_dir):
    other = os.urandom(len(CONTENT))
    _, sha = attach(desk, CONTENT)
    assert put(api, desk, sha, 0, other[:CHUNK]).status_code == 200
    assert put(api, desk, sha, CHUNK, other[CHUNK:2 * CHUNK]).status_code == 200
    refusal(put(api, desk, sha, 2 * CHUNK, other[2 * CHUNK:]), 422, "bad_hash")
    assert not [p for p in files_dir.rglob("*") if p.is_file()]  # neither the partial copy nor a final file
    status = api.get(f"/v1/files/{sha}", headers=desk.headers).json()
    assert status["received"] == 0 and not status["complete"]
    refusal(api.get(f"/v1/files/{sha}/content", headers=desk.headers), 404, "no_file")
    upload(api, desk, sha)  # the right bytes from the start: complete
    assert copy(files_dir, desk, sha).read_bytes() == CONTENT


def test_the_limits_of_a_chunk_and_of_the_declared_size(api, seeded, desk):
    small = b"x" * 1000
    _, sha = attach(desk, small)
    detail = refusal(put(api, desk, sha, 0, small + b"y"), 422, "bad_request")
    assert "超出" in detail["message"]
    _, big_sha = attach(desk)
    detail = refusal(put(api, desk, big_sha, 0, CONTENT[:CHUNK + 1]), 413, "too_large")  # over a chunk: the route
    assert detail["message"] == files.CHUNK_TOO_LARGE
    detail = refusal(put(api, desk, big_sha, 0, CONTENT[:CHUNK + 200_000]), 413, "too_large")  # the middleware
    assert detail["message"] == FILE_TOO_LARGE
    assert api.get(f"/v1/files/{big_sha}", headers=desk.headers).json()["received"] == 0
    # a binary chunk is not JSON: no UTF-8 or nesting check on it (PUT /v1/files only)
    assert put(api, desk, big_sha, 0, b"\xff\xfe" * (CHUNK // 2)).status_code == 200


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "a" * 65, "..%2F..%2Fetc", "..%2F..", "upper", " padded"])
def test_a_bad_sha256_is_refused_in_chinese(api, seeded, desk, bad):
    """Only 64 lower-case hex digits name a file (limits.is_sha256, as in the add command): an upper-case or padded
    form of a real file's hash is refused, not read; a name with a slash reaches no route: the Chinese 404."""
    _, sha = attach(desk)
    upload(api, desk, sha)
    bad = {"upper": sha.upper(), " padded": f"%20{sha}"}.get(bad, bad)
    for resp in (api.get(f"/v1/files/{bad}", headers=desk.headers), put(api, desk, bad, 0, b"x"),
                 api.get(f"/v1/files/{bad}/content", headers=desk.headers)):
        assert resp.status_code in (404, 422), resp.text
        detail = refusal(resp, resp.status_code, "bad_request")
        assert ("摘要" if resp.status_code == 422 else "地址不存在") in detail["message"]


def test_without_a_token_or_with_a_wrong_offset_query(api, seeded, desk):
    _, sha = attach(desk)
    refusal(api.get(f"/v1/files/{sha}"), 401, "unauthorized")
    refusal(api.put(f"/v1/files/{sha}", params={"offset": 0}, content=b"x"), 401, "unauthorized")
    refusal(api.put(f"/v1/files/{sha}", params={"offset": -1}, content=b"x", headers=desk.headers), 422,
            "bad_request")
    refusal(api.put(f"/v1/files/{sha}", content=b"x", headers=desk.headers), 422, "bad_request")


def test_download_whole_and_by_range(api, seeded, desk):
    _, sha = attach(desk)
    refusal(api.get(f"/v1/files/{sha}/content", headers=desk.headers), 404, "no_file")  # not complete yet
    upload(api, desk, sha)
    whole = api.get(f"/v1/files/{sha}/content", headers=desk.headers)
    assert whole.status_code == 200 and whole.content == CONTENT
    assert whole.headers["content-type"] == "application/pdf" and whole.headers["accept-ranges"] == "bytes"
    part = api.get(f"/v1/files/{sha}/content", headers={**desk.headers, "Range": f"bytes={CHUNK}-{CHUNK + 99}"})
    assert part.status_code == 206 and part.content == CONTENT[CHUNK:CHUNK + 100]
    assert part.headers["content-range"] == f"bytes {CHUNK}-{CHUNK + 99}/{len(CONTENT)}"
    rest = api.get(f"/v1/files/{sha}/content", headers={**desk.headers, "Range": f"bytes={2 * CHUNK}-"})
    assert rest.status_code == 206 and rest.content == CONTENT[2 * CHUNK:]
    tail = api.get(f"/v1/files/{sha}/content", headers={**desk.headers, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == CONTENT[-10:]
    for bad in (f"bytes={len(CONTENT)}-", "bytes=5-2", "bytes=0-1,5-6", "pages=1-2"):
        resp = api.get(f"/v1/files/{sha}/content", headers={**desk.headers, "Range": bad})
        refusal(resp, 416, "bad_request")
        assert resp.headers["content-range"] == f"bytes */{len(CONTENT)}"


def test_another_committees_device_hears_404_for_everything(api, seeded, desk, other_desk, files_dir):
    _, sha = attach(desk)
    upload(api, desk, sha)
    refusal(api.get(f"/v1/files/{sha}", headers=other_desk.headers), 404, "no_file")
    refusal(api.get(f"/v1/files/{sha}/content", headers=other_desk.headers), 404, "no_file")
    refusal(put(api, other_desk, sha, 0, CONTENT[:CHUNK]), 404, "no_file")
    assert copy(files_dir, desk, sha).read_bytes() == CONTENT


def test_declaring_another_committees_hash_does_not_open_its_bytes(api, seeded, desk, other_desk, files_dir):
    """Committee B learns A's sha256 and size (from a photo of a screen, a log) and declares a file of its own with
    them: B's copy is empty until B uploads the bytes itself; A's copy is neither read nor touched."""
    _, sha = attach(desk)
    upload(api, desk, sha)
    _, same = attach(other_desk, CONTENT)
    assert same == sha
    status = api.get(f"/v1/files/{sha}", headers=other_desk.headers).json()
    assert status == {"sha256": sha, "size": len(CONTENT), "received": 0, "complete": False}
    refusal(api.get(f"/v1/files/{sha}/content", headers=other_desk.headers), 404, "no_file")
    refusal(api.get(f"/v1/files/{sha}/content", headers={**other_desk.headers, "Range": "bytes=0-99"}), 404,
            "no_file")
    # B's own upload makes B's own copy; a wrong upload by B leaves A's copy alone
    assert put(api, other_desk, sha, 0, CONTENT[:CHUNK]).status_code == 200
    assert copy(files_dir, desk, sha).read_bytes() == CONTENT
    assert copy(files_dir, other_desk, sha, ".part").stat().st_size == CHUNK
    rest = [put(api, other_desk, sha, at, CONTENT[at:at + CHUNK]) for at in range(CHUNK, len(CONTENT), CHUNK)]
    assert rest[-1].json()["complete"]
    assert api.get(f"/v1/files/{sha}/content", headers=other_desk.headers).content == CONTENT
    assert copy(files_dir, other_desk, sha).read_bytes() == CONTENT
    with seeded.sessions() as s:
        uploaders = {b.committee_id: str(b.uploaded_by_device_id)
                     for b in s.scalars(select(ServerBlob).where(ServerBlob.sha256 == sha))}
    assert uploaders == {desk.committee_id: desk.id, other_desk.committee_id: other_desk.id}


def test_unknown_paths_and_methods_are_refused_in_chinese(api, seeded, desk):
    """No route, a method a route does not take: the API's Chinese error body, never Starlette's English one."""
    for resp in (api.get("/v1/nothing-here", headers=desk.headers), api.get("/"),
                 api.get(f"/v1/files/{'a' * 64}/content/more", headers=desk.headers),
                 api.get("/v1/files/..%2F..", headers=desk.headers)):
        detail = refusal(resp, 404, "bad_request")
        assert "Not Found" not in resp.text and "地址不存在" in detail["message"]
    resp = api.delete(f"/v1/files/{'a' * 64}", headers=desk.headers)
    detail = refusal(resp, 405, "bad_request")
    assert detail["message"] == "该地址不支持这种请求方式" and "GET" in resp.headers["allow"]
    detail = refusal(api.get("/v1/push"), 405, "bad_request")
    assert "Method Not Allowed" not in detail["message"]


def test_a_removed_attachment_no_longer_opens_its_file(api, seeded, desk):
    aid, sha = attach(desk)
    upload(api, desk, sha)
    (r,) = desk.push(("attachment.remove.v1", {"id": str(aid), "reason": "拍错了"}))["results"]
    assert r["status"] == "applied"
    refusal(api.get(f"/v1/files/{sha}/content", headers=desk.headers), 404, "no_file")


def test_two_uploads_of_the_same_chunk_at_once_cannot_both_write(api, seeded, desk, server_app):
    """The server_blob row is locked per PUT: of two first chunks racing, one is taken, the other hears 409."""
    _, sha = attach(desk)
    store, token = server_app.state.files, desk.headers["Authorization"].removeprefix("Bearer ")
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def send(data: bytes) -> None:
        barrier.wait()
        try:
            outcomes.append(files.put_chunk(seeded, store, token, sha, 0, data, utcnow()).received)
        except files.FileRefused as e:
            outcomes.append(e.status)

    first, second = CONTENT[:CHUNK], os.urandom(CHUNK)
    threads = [threading.Thread(target=send, args=(d,)) for d in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes, key=str) == sorted([CHUNK, 409], key=str)
    with seeded.sessions() as s:
        assert s.get(ServerBlob, (desk.committee_id, sha)).received == CHUNK
    assert store.part(desk.committee_id, sha).stat().st_size == CHUNK


def gc_cli(pg_url, tmp_path, files_dir, *more: str) -> list[str]:
    return ["--data-dir", str(tmp_path / "srv"), "server", "--db", pg_url, "attachments", "gc",
            "--attachments-dir", str(files_dir), *more]


def age(path, days: int) -> None:
    when = (utcnow() - dt.timedelta(days=days)).timestamp()
    os.utime(path, (when, when))


def test_gc_removes_only_what_nothing_refers_to(api, seeded, desk, files_dir, pg_url, tmp_path, capsys):
    _, kept = attach(desk)
    upload(api, desk, kept)
    gone_content = os.urandom(5000)
    gone_aid, gone = attach(desk, gone_content)
    upload(api, desk, gone, gone_content)
    shared_content = os.urandom(3000)  # one attachment removed, another still refers to the same bytes
    shared_aid, shared = attach(desk, shared_content)
    attach(desk, shared_content)
    upload(api, desk, shared, shared_content)
    for aid in (gone_aid, shared_aid):
        (r,) = desk.push(("attachment.remove.v1", {"id": str(aid)}))["results"]
        assert r["status"] == "applied"
    # partial uploads nothing refers to: an old one goes, a recent one stays (its add may be on its way)
    stale, fresh = copy(files_dir, desk, "ab" * 32, ".part"), copy(files_dir, desk, "cd" * 32, ".part")
    for path in (stale, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"z" * 700)
    age(stale, 8)
    strangers = [files_dir / "README.txt", files_dir / "ab" / ("ab" * 32)]  # not named like ours (nor the old layout)
    for path in strangers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not ours")
        age(path, 30)

    assert main(gc_cli(pg_url, tmp_path, files_dir, "--dry-run")) == 0
    out = capsys.readouterr().out
    assert "将删除 1 个不再被引用的附件文件、1 个超过 7 天未完成的上传" in out and "试运行" in out
    assert copy(files_dir, desk, gone).exists() and stale.exists()

    assert main(gc_cli(pg_url, tmp_path, files_dir)) == 0
    out = capsys.readouterr().out
    assert "已删除 1 个不再被引用的附件文件、1 个超过 7 天未完成的上传，1 条文件记录" in out
    assert f"{len(gone_content) + 700} bytes freed" in out
    assert not copy(files_dir, desk, gone).exists() and not stale.exists()
    assert fresh.exists() and all(path.exists() for path in strangers)
    assert copy(files_dir, desk, kept).read_bytes() == CONTENT
    assert copy(files_dir, desk, shared).read_bytes() == shared_content
    with seeded.sessions() as s:
        assert set(s.scalars(select(ServerBlob.sha256))) == {kept, shared}
        assert s.get(Attachment, gone_aid) is not None  # the metadata stays: it is the case's history
    assert api.get(f"/v1/files/{kept}/content", headers=desk.headers).content == CONTENT

    # the same bytes added again after gc: a new blob row, uploaded again
    attach(desk, gone_content)
    assert api.get(f"/v1/files/{gone}", headers=desk.headers).json()["received"] == 0
    upload(api, desk, gone, gone_content)
    assert copy(files_dir, desk, gone).read_bytes() == gone_content


def test_gc_is_per_committee(api, seeded, desk, other_desk, files_dir, pg_url, tmp_path, capsys):
    """A's attachment removed, B's of the same bytes still live: A's copy and row go, B's stay."""
    aid, sha = attach(desk)
    upload(api, desk, sha)
    attach(other_desk, CONTENT)
    upload(api, other_desk, sha)
    (r,) = desk.push(("attachment.remove.v1", {"id": str(aid)}))["results"]
    assert r["status"] == "applied"
    assert main(gc_cli(pg_url, tmp_path, files_dir)) == 0
    assert "已删除 1 个不再被引用的附件文件、0 个超过 7 天未完成的上传，1 条文件记录" in capsys.readouterr().out
    assert not copy(files_dir, desk, sha).exists()
    assert copy(files_dir, other_desk, sha).read_bytes() == CONTENT
    with seeded.sessions() as s:
        assert [b.committee_id for b in s.scalars(select(ServerBlob))] == [other_desk.committee_id]
    assert api.get(f"/v1/files/{sha}/content", headers=other_desk.headers).content == CONTENT


def test_gc_drops_a_stale_partial_upload_even_when_referred_to(api, seeded, desk, files_dir, pg_url, tmp_path,
                                                                capsys):
    """A device cannot park a partial copy under every attachment it declares: after 7 days without a chunk the
    copy goes and the row's ``received`` is back to 0; the desk's next status check starts it from 0 again."""
    _, sha = attach(desk)
    assert put(api, desk, sha, 0, CONTENT[:CHUNK]).status_code == 200
    _, young = attach(desk, os.urandom(CHUNK + 10))
    assert put(api, desk, young, 0, os.urandom(CHUNK)).status_code == 200  # a day old: its desk is still at it
    (part,), (young_part,) = files_dir.rglob(f"{sha}.part"), files_dir.rglob(f"{young}.part")
    age(part, 8)
    age(young_part, 1)
    assert main(gc_cli(pg_url, tmp_path, files_dir)) == 0
    assert not part.exists() and young_part.exists()
    assert "0 个不再被引用的附件文件、1 个超过 7 天未完成的上传，0 条文件记录" in capsys.readouterr().out
    with seeded.sessions() as s:
        received = dict(s.execute(select(ServerBlob.sha256, ServerBlob.received)).tuples().all())
    assert received == {sha: 0, young: CHUNK}
    status = api.get(f"/v1/files/{sha}", headers=desk.headers).json()
    assert status["received"] == 0 and not status["complete"]
    detail = refusal(put(api, desk, sha, CHUNK, CONTENT[CHUNK:2 * CHUNK]), 409, "offset")
    assert detail["received"] == 0
    upload(api, desk, sha)  # from 0 again: complete
    assert api.get(f"/v1/files/{sha}/content", headers=desk.headers).content == CONTENT


def test_a_prober_is_slowed_down_but_ordinary_misses_are_not(api, seeded, desk):
    _, sha = attach(desk)
    for _ in range(320):  # a file not uploaded yet is asked about every round: never limited
        assert api.get(f"/v1/files/{sha}/content", headers=desk.headers).status_code == 404
    answers = [api.get(f"/v1/files/{'z' * 64}", headers=desk.headers) for _ in range(301)]
    assert {a.status_code for a in answers[:300]} == {422}
    detail = refusal(answers[300], 429, "rate_limited")
    assert "秒后再试" in detail["message"] and int(answers[300].headers["retry-after"]) >= 1


def test_a_full_disk_is_503_and_the_upload_resumes_after(api, seeded, desk, monkeypatch):
    _, sha = attach(desk)
    assert put(api, desk, sha, 0, CONTENT[:CHUNK]).status_code == 200

    def disk_full(*_):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(files, "_write_at", disk_full)
        detail = refusal(put(api, desk, sha, CHUNK, CONTENT[CHUNK:2 * CHUNK]), 503, "unavailable")
        assert "磁盘" in detail["message"]
    assert api.get(f"/v1/files/{sha}", headers=desk.headers).json()["received"] == CHUNK  # nothing recorded
    assert put(api, desk, sha, CHUNK, CONTENT[CHUNK:2 * CHUNK]).status_code == 200
    assert put(api, desk, sha, 2 * CHUNK, CONTENT[2 * CHUNK:]).json()["complete"]


def test_a_complete_file_lost_from_the_disk_is_taken_again(api, seeded, desk, files_dir):
    _, sha = attach(desk)
    upload(api, desk, sha)
    copy(files_dir, desk, sha).unlink()  # e.g. a folder restored from an older backup
    status = api.get(f"/v1/files/{sha}", headers=desk.headers).json()
    assert status["received"] == 0 and not status["complete"]
    refusal(api.get(f"/v1/files/{sha}/content", headers=desk.headers), 404, "no_file")
    upload(api, desk, sha)
    assert api.get(f"/v1/files/{sha}/content", headers=desk.headers).content == CONTENT
