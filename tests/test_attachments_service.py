"""AttachmentService: an add is the file in the store, then one transaction (Attachment + blob row + outbox row);
refusals change nothing; statuses as a case window shows them; remove; request_download."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pypdf
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from app.core import commands
from app.core.errors import UserError
from app.core.limits import ATTACHMENT_MAX_BYTES
from app.core.vocabulary import Mutation
from app.desk.attachments import LOCAL_ONLY, MISSING, ON_DEMAND, SYNCED, UPLOADING
from app.desk.attachments.images import ImageRefused
from app.desk.attachments.service import NO_FILE, AttachmentError, AttachmentMissing, AttachmentService
from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.desk.context import AppContext
from app.desk.db import DB_FILENAME
from app.desk.residents import ResidentService
from models import Attachment, AttachmentBlob, OutboxEntry, new_id, utcnow

ITEM = ItemRef("MZ-01", "高龄老人尊老金申领", "民政", "转办", "test-1")
ID_CARD = "申请人居民身份证"
HUKOU = "户口簿"


def _photo(seed: int, size=(1600, 1200)) -> bytes:
    """A page as the document camera gives it: a white sheet with print, on a dark desk."""
    desk = Image.new("RGB", size, (40, 35, 30))
    page = Image.new("RGB", (size[0] // 2, size[1] * 3 // 4), "white")
    d = ImageDraw.Draw(page)
    for i, y in enumerate(range(40, page.height - 40, 30)):
        d.rectangle((30, y, page.width - 30 - (seed * 7 + i * 13) % 120, y + 10), fill=(30, 30, 30))
    desk.paste(page, (size[0] // 4, size[1] // 8))
    buf = io.BytesIO()
    desk.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def desk_template(tmp_path_factory, template_db) -> Path:
    """As tests/conftest.py ``desk_ctx`` (admin, 王晓燕 at the front desk, 周海燕 supervisor, the resident 张桂兰)
    plus two 民政 line colleagues and a second front-desk worker: made once per module (password hashing is
    slow), copied per test."""
    from app.desk.residents import ResidentInput
    from app.desk.setup import FirstRunInput, initialise_desk
    folder = tmp_path_factory.mktemp("attachments-desk")
    shutil.copyfile(template_db, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    try:
        initialise_desk(ctx, FirstRunInput(committee_name="幸福里社区居民委员会", committee_code="320302001",
                                           admin_login="admin", admin_name="管理员", admin_password="secret123"))
        auth = AuthService(ctx)
        admin = auth.login("admin", "secret123")
        ResidentService(ctx).create(admin, ResidentInput(name="张桂兰", id_number="11010519491231002X",
                                                         phone="13800138000", address="幸福里一区3号楼"))
        workers = (("desk", "王晓燕", ["front_desk"], []), ("boss", "周海燕", ["supervisor"], []),
                   ("mz", "李建国", ["line"], ["民政"]), ("mz2", "赵敏", ["line"], ["民政"]),
                   ("desk2", "陈静", ["front_desk"], []))
        for login, name, roles, lines in workers:
            auth.create_worker(admin, login=login, display_name=name, password="pass1234", roles=roles, lines=lines)
    finally:
        ctx.close()
    return folder / DB_FILENAME


@pytest.fixture
def desk(tmp_path, desk_template):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copyfile(desk_template, folder / DB_FILENAME)
    ctx = AppContext.open(folder)
    people = {w.login: w for w, _ in AuthService(ctx).list_workers()}
    resident = ResidentService(ctx).search("张桂兰")[0]
    cases = CaseService(ctx)
    cid = cases.create_draft(people["desk"], ITEM, resident.id)
    cases.submit(people["desk"], cid, {}, {ID_CARD: True, HUKOU: True})
    yield AttachmentService(ctx), cases, people, resident, cid, ctx
    ctx.close()


def _counts(ctx):
    with ctx.sessions() as s:
        rows = tuple(s.scalar(select(func.count()).select_from(t)) for t in (Attachment, AttachmentBlob, OutboxEntry))
    return rows + (len(list(ctx.blobs.shas())),)


def _outbox(ctx, name):
    with ctx.sessions() as s:
        return list(s.scalars(select(OutboxEntry).where(OutboxEntry.name == name).order_by(OutboxEntry.mid)))


def test_two_pages_become_one_pdf_attachment_with_its_outbox_row(desk):
    svc, _cases, people, _r, cid, ctx = desk
    info = svc.add_images(people["desk"], cid, HUKOU, [_photo(1), _photo(2)], source="camera")
    assert info.pages == 2 and info.mime == "application/pdf" and info.material == HUKOU
    assert info.filename == "户口簿.pdf" and info.added_by_name == "王晓燕"
    assert info.present and info.status == LOCAL_ONLY
    data = svc.read(info.id)
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) == 2
    assert info.size == len(data) and info.size < 2 * 500 * 1024 + 10_000
    with ctx.sessions() as s:
        rows = s.scalars(select(Attachment)).all()
        blob = s.get(AttachmentBlob, info.sha256)
    assert len(rows) == 1 and rows[0].pages == 2 and rows[0].case_id == cid and rows[0].source == "camera"
    assert blob is not None and blob.present and not blob.uploaded and blob.size == info.size
    [entry] = _outbox(ctx, Mutation.ATTACHMENT_ADD)
    args = commands.parse_args(commands.AttachmentArgs, entry.args)
    assert args.id == info.id and args.case_id == cid and args.sha256 == info.sha256
    assert args.size == info.size and args.pages == 2 and args.mime == "application/pdf" and args.material == HUKOU
    assert entry.acting_worker_id == people["desk"].id
    # The outbox row comes after the case's own commands (the server applies them first).
    with ctx.sessions() as s:
        names = [o.name for o in s.scalars(select(OutboxEntry).order_by(OutboxEntry.mid))]
    assert names[-1] == Mutation.ATTACHMENT_ADD and names.index(Mutation.CASE_CREATE) < len(names) - 1


def test_one_page_stays_a_jpeg(desk):
    svc, _c, people, _r, cid, _ctx = desk
    info = svc.add_images(people["desk"], cid, ID_CARD, [_photo(3)], color=True)
    assert info.mime == "image/jpeg" and info.pages == 1 and info.filename == "申请人居民身份证.jpg"
    img = Image.open(io.BytesIO(svc.read(info.id)))
    assert img.format == "JPEG" and img.mode == "RGB"


def test_same_file_twice_is_one_row(desk):
    svc, _c, people, _r, cid, ctx = desk
    photo = _photo(4)
    first = svc.add_images(people["desk"], cid, ID_CARD, [photo])
    before = _counts(ctx)
    again = svc.add_images(people["desk"], cid, ID_CARD, [photo])
    assert again.id == first.id and _counts(ctx) == before
    # The same file for another material is its own attachment, stored once.
    other = svc.add_images(people["desk"], cid, "", [photo])
    assert other.id != first.id and other.material_label == "其他材料"
    assert _counts(ctx)[1] == before[1] and _counts(ctx)[3] == before[3]  # one blob row, one file
    assert [i.material for i in svc.for_case(cid)] == [ID_CARD, ""]  # 其他材料 last


def test_refusals_change_nothing(desk, tmp_path):
    svc, cases, people, resident, cid, ctx = desk
    d = people["desk"]
    before = _counts(ctx)
    with pytest.raises(AttachmentError, match="没有“结婚证”这项材料"):
        svc.add_images(d, cid, "结婚证", [_photo(5)])
    with pytest.raises(ImageRefused, match="不是可识别的图片") as caught:
        svc.add_images(d, cid, ID_CARD, [b"this is not a picture"])
    assert isinstance(caught.value, UserError)
    with pytest.raises(AttachmentError, match="过大"):
        svc.add_images(d, cid, ID_CARD, [b"\xff" * (ATTACHMENT_MAX_BYTES + 1)])
    big = tmp_path / "huge.pdf"
    with big.open("wb") as f:
        f.write(b"%PDF-1.4\n")
        f.truncate(ATTACHMENT_MAX_BYTES + 1)  # sparse: refused by its size before it is read
    with pytest.raises(AttachmentError, match="文件过大"):
        svc.add_file(d, cid, ID_CARD, big)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\n")  # no end marker: cut short
    with pytest.raises(UserError, match="PDF"):
        svc.add_file(d, cid, ID_CARD, broken)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(AttachmentError, match="0 字节"):
        svc.add_file(d, cid, ID_CARD, empty)
    with pytest.raises(AttachmentError, match="没有要添加的页面"):
        svc.add_images(d, cid, ID_CARD, [])
    with pytest.raises(AttachmentError, match="找不到该案件"):
        svc.add_images(d, new_id(), ID_CARD, [_photo(5)])
    with pytest.raises(AttachmentError, match="来源"):
        svc.add_images(d, cid, ID_CARD, [_photo(5)], source="usb")
    assert _counts(ctx) == before
    for close in (lambda c: cases.refuse(d, c, "不符合申领条件：年龄未满80周岁"),
                  lambda c: cases.withdraw(d, c, "居民撤回申请")):
        other = cases.create_draft(d, ITEM, resident.id)
        cases.submit(d, other, {}, {})
        close(other)
        before = _counts(ctx)
        with pytest.raises(AttachmentError, match=r"案件状态为“(不予受理|已撤回)”，不能再添加附件"):
            svc.add_images(d, other, ID_CARD, [_photo(6)])
        assert _counts(ctx) == before


def test_closed_case_refuses(desk):
    svc, cases, people, _r, cid, ctx = desk
    d, mz = people["desk"], people["mz"]
    cases.forward(d, cid, assignee_id=mz.id, queue="民政")
    cases.acknowledge(mz, cid)
    cases.reply(mz, cid, "approved", "符合条件")
    cases.close(d, cid, "phone")
    before = _counts(ctx)
    with pytest.raises(AttachmentError, match="案件状态为“已办结”，不能再添加附件"):
        svc.add_images(d, cid, ID_CARD, [_photo(7)])
    assert _counts(ctx) == before


def test_who_may_add(desk):
    svc, cases, people, _r, cid, ctx = desk
    mz, mz2 = people["mz"], people["mz2"]
    with pytest.raises(AttachmentError, match="角色不能"):
        svc.add_images(mz, cid, ID_CARD, [_photo(8)])  # not forwarded to the line yet
    cases.forward(people["desk"], cid, assignee_id=mz.id, queue="民政")
    before = _counts(ctx)
    with pytest.raises(AttachmentError, match="其他同事承办"):
        svc.add_images(mz2, cid, ID_CARD, [_photo(8)])
    assert _counts(ctx) == before
    info = svc.add_images(mz, cid, ID_CARD, [_photo(8)])  # the assignee adds what the resident sent later
    assert info.added_by_name == "李建国"


def test_add_file_pdf_and_image(desk, tmp_path):
    svc, _c, people, _r, cid, _ctx = desk
    pdf = svc.add_images(people["desk"], cid, HUKOU, [_photo(9), _photo(10), _photo(11)])
    path = tmp_path / "户口簿扫描.pdf"
    path.write_bytes(svc.read(pdf.id))
    info = svc.add_file(people["desk"], cid, "", path)
    assert info.mime == "application/pdf" and info.pages == 3 and info.filename == "户口簿扫描.pdf"
    assert info.sha256 == pdf.sha256 and info.source == "file"
    png = tmp_path / "银行卡.png"
    Image.open(io.BytesIO(_photo(12))).save(png)
    img = svc.add_file(people["desk"], cid, "申请人社会保障卡或银行卡", png)
    assert img.mime == "image/jpeg" and img.filename == "银行卡.jpg" and img.pages == 1


def test_resident_attachment(desk):
    svc, _c, people, resident, _cid, ctx = desk
    info = svc.add_images(people["desk"], None, "居民身份证", [_photo(13)], source="idcard",
                          resident_id=resident.id)
    assert [i.id for i in svc.for_resident(resident.id)] == [info.id]
    [entry] = _outbox(ctx, Mutation.ATTACHMENT_ADD)
    args = commands.parse_args(commands.AttachmentArgs, entry.args)
    assert args.case_id is None and args.resident_id == resident.id and args.source == "idcard"
    with pytest.raises(AttachmentError, match="找不到该居民"):
        svc.add_images(people["desk"], None, "", [_photo(13)], resident_id=new_id())


def _pulled(ctx, cid, sha="ab" * 32, size=1234):
    """An Attachment row as the sync apply code writes one pulled from the server: no blob row here."""
    with ctx.sessions.begin() as s:
        row = Attachment(committee_id=ctx.identity().committee_id, case_id=cid, material=HUKOU, sha256=sha,
                         size=size, mime="application/pdf", filename="户口簿.pdf", pages=2, source="camera",
                         added_at=utcnow())
        s.add(row)
        s.flush()
        return row.id


def test_statuses(desk):
    svc, _c, people, _r, cid, ctx = desk
    here = svc.add_images(people["desk"], cid, ID_CARD, [_photo(14)])
    pulled = _pulled(ctx, cid)
    by_id = {i.id: i for i in svc.for_case(cid)}
    assert by_id[here.id].status == LOCAL_ONLY and by_id[here.id].present
    # Nothing known yet of the server's copy: 附件上传中, not 可下载 (the server may not hold it whole yet).
    assert by_id[pulled].status == UPLOADING and not by_id[pulled].present and by_id[pulled].added_by_name == ""
    with pytest.raises(AttachmentMissing, match="尚未下载"):
        svc.read(pulled)
    assert svc.request_download(cid) == 1
    assert svc.info(pulled).status == UPLOADING
    with ctx.sessions.begin() as s:  # the transfer's status check: the server holds it whole
        s.get(AttachmentBlob, "ab" * 32).uploaded = True
    assert svc.info(pulled).status == ON_DEMAND
    with ctx.sessions.begin() as s:
        s.get(AttachmentBlob, "ab" * 32).last_error = NO_FILE
        s.get(AttachmentBlob, here.sha256).uploaded = True
    assert svc.info(pulled).status == MISSING
    assert svc.info(here.id).status == SYNCED and svc.status_of(here.id) == SYNCED
    with pytest.raises(AttachmentMissing, match="缺失"):
        svc.read(pulled)


def test_damaged_file_shows_missing_and_is_fetched_again(desk):
    svc, _c, people, _r, cid, ctx = desk
    info = svc.add_images(people["desk"], cid, ID_CARD, [_photo(15)])
    path = ctx.blobs.path(info.sha256)
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0x10
    path.write_bytes(bytes(raw))
    assert svc.status_of(info.id) == MISSING
    with pytest.raises(AttachmentMissing, match="已损坏"):
        svc.read(info.id)
    assert svc.info(info.id).status == MISSING
    with ctx.sessions() as s:
        blob = s.get(AttachmentBlob, info.sha256)
        assert not blob.present and blob.wanted
    path.write_bytes(raw[:50])  # cut short: seen without decrypting
    with ctx.sessions.begin() as s:
        blob = s.get(AttachmentBlob, info.sha256)
        blob.present, blob.last_error = True, ""
    assert svc.for_case(cid)[0].status == MISSING and not svc.for_case(cid)[0].present


def test_remove(desk):
    svc, cases, people, _r, cid, ctx = desk
    info = svc.add_images(people["desk"], cid, ID_CARD, [_photo(16)])
    before = _counts(ctx)
    with pytest.raises(AttachmentError, match="只有添加该附件的同事"):
        svc.remove(people["desk2"], info.id, "加错了")
    assert _counts(ctx) == before
    svc.remove(people["desk"], info.id, "拍错了材料")
    assert svc.for_case(cid) == []
    [entry] = _outbox(ctx, Mutation.ATTACHMENT_REMOVE)
    args = commands.parse_args(commands.AttachmentRemoveArgs, entry.args)
    assert args.id == info.id and args.reason == "拍错了材料"
    with ctx.sessions() as s:
        row = s.get(Attachment, info.id)
        assert row.removed_at is not None and row.removed_by_id == people["desk"].id
    assert ctx.blobs.has(info.sha256)  # the bytes stay
    with pytest.raises(AttachmentMissing, match="已被移除"):
        svc.read(info.id)
    with pytest.raises(AttachmentError, match="已被移除"):
        svc.remove(people["desk"], info.id)
    # After removal the same file may be added again (a new attachment).
    again = svc.add_images(people["desk"], cid, ID_CARD, [_photo(16)])
    assert again.id != info.id
    # A supervisor removes anyone's file, also on a closed case.
    cases.resolve(people["desk"], cid, "已办理")
    svc.remove(people["boss"], again.id, "居民身份证复印件属于他人")
    assert svc.for_case(cid) == []


def test_noisy_photos_stay_small(desk):
    svc, _c, people, _r, cid, _ctx = desk
    noise = Image.frombytes("L", (4000, 3000), os.urandom(4000 * 3000))
    buf = io.BytesIO()
    noise.save(buf, "JPEG", quality=90)
    info = svc.add_images(people["desk"], cid, ID_CARD, [buf.getvalue()])
    assert info.size <= 500 * 1024


def test_adding_a_missing_file_again_makes_it_present_without_a_second_row(desk):
    svc, _c, people, _r, cid, ctx = desk
    info = svc.add_images(people["desk"], cid, HUKOU, [_photo(17), _photo(18)])  # a PDF: added from disk as it is
    data = svc.read(info.id)
    ctx.blobs.delete(info.sha256)
    with ctx.sessions.begin() as s:
        s.get(AttachmentBlob, info.sha256).last_error = NO_FILE
    with ctx.sessions.begin() as s:
        s.get(AttachmentBlob, info.sha256).present = False
    assert svc.info(info.id).status == MISSING
    before = _counts(ctx)
    path = ctx.data_dir.parent / "户口簿.pdf"
    path.write_bytes(data)
    again = svc.add_file(people["desk"], cid, HUKOU, path)
    assert again.id == info.id and again.status == LOCAL_ONLY and svc.read(info.id) == data
    assert _counts(ctx)[:3] == before[:3]  # no new row, no new command


def test_bytes_new_here_are_asked_about_again_before_they_count_as_on_the_server(desk):
    """A file pulled (the server said it held it) and then added here with the same bytes: whether the server
    holds it is asked again, never assumed (it may have lost it since)."""
    svc, _c, people, _r, cid, ctx = desk
    data = svc.read(svc.add_images(people["desk"], cid, HUKOU, [_photo(19), _photo(20)]).id)
    sha = svc.for_case(cid)[0].sha256
    svc.remove(people["desk"], svc.for_case(cid)[0].id, "拍错了")
    ctx.blobs.delete(sha)
    with ctx.sessions.begin() as s:  # as a pull and the transfer's status check leave it: not here, on the server
        blob = s.get(AttachmentBlob, sha)
        blob.present, blob.uploaded, blob.uploaded_bytes = False, True, len(data)
    path = ctx.data_dir.parent / "户口簿.pdf"
    path.write_bytes(data)
    again = svc.add_file(people["desk"], cid, HUKOU, path)
    with ctx.sessions() as s:
        blob = s.get(AttachmentBlob, sha)
        assert blob.present and not blob.uploaded and blob.uploaded_bytes == 0  # the uploader asks the server
    assert again.status == LOCAL_ONLY
    info = svc.add_images(people["desk"], cid, ID_CARD, [_photo(21)])
    with ctx.sessions.begin() as s:
        s.get(AttachmentBlob, info.sha256).uploaded = True
    svc.add_images(people["desk"], cid, ID_CARD, [_photo(21)])  # here already: what the server said stands
    assert svc.info(info.id).status == SYNCED


def test_the_add_names_the_command_behind_the_cases_last_event(desk):
    """After a server restore a colleague's add re-sent before the case is back waits for it (app/server/held.py
    reads ``after``), as every case command does (app/desk/cases.py)."""
    from app.core import actions
    from models import Case
    svc, _c, people, resident, cid, ctx = desk
    svc.add_images(people["desk"], cid, ID_CARD, [_photo(22)])
    with ctx.sessions() as s:
        last_case_command = s.scalars(select(OutboxEntry).where(OutboxEntry.name != Mutation.ATTACHMENT_ADD)
                                      .order_by(OutboxEntry.mid.desc())).first()
        expected = actions.last_mutation(s.get_one(Case, cid))
    [entry] = _outbox(ctx, Mutation.ATTACHMENT_ADD)
    assert expected is not None and entry.args[commands.AFTER] == expected == str(last_case_command.mutation_id)
    commands.parse_args(commands.AttachmentArgs, entry.args)  # the server parses it as before
    svc.add_images(people["desk"], None, "", [_photo(23)], source="idcard", resident_id=resident.id)
    resident_add = _outbox(ctx, Mutation.ATTACHMENT_ADD)[-1]
    assert commands.AFTER not in resident_add.args  # a resident's file follows no case command


def test_a_store_that_cannot_be_written_says_which_folder(desk):
    """Not a full disk: permission denied, or a file where the attachments folder should be."""
    svc, _c, people, _r, cid, ctx = desk
    folder = ctx.blobs.root
    if folder.exists():
        shutil.rmtree(folder)
    folder.write_bytes(b"not a folder")
    before = _counts_db(ctx)
    with pytest.raises(AttachmentError, match="无法写入附件文件夹") as refused:
        svc.add_images(people["desk"], cid, ID_CARD, [_photo(24)])
    assert str(folder) in str(refused.value) and "Traceback" not in str(refused.value)
    assert _counts_db(ctx) == before


def _counts_db(ctx):
    with ctx.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Attachment, AttachmentBlob, OutboxEntry))


def test_one_pdf_sniff_for_files_from_disk(desk, tmp_path):
    from app.desk.attachments.pdf import has_pdf_header, looks_like_pdf
    svc, _c, people, _r, cid, _ctx = desk
    whole = svc.read(svc.add_images(people["desk"], cid, HUKOU, [_photo(25), _photo(26)]).id)
    assert has_pdf_header(whole) and has_pdf_header(b"\x00\x01junk" + whole) and looks_like_pdf(whole)
    assert not has_pdf_header(_photo(27)) and not has_pdf_header(b"x" * 1024 + b"%PDF-1.4")
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: len(whole) // 2])  # a PDF cut short: told as a PDF, not as a bad image
    with pytest.raises(UserError, match="不是完整的 PDF"):
        svc.add_file(people["desk"], cid, HUKOU, cut)
