"""AttachmentService: files added to a case (or a resident), listed, read and taken off again.

An add normalises the pages (app/desk/attachments/images.py), merges several into one PDF (``pdf.py``), writes the
file to the store first (``ctx.blobs``: outside the transaction, idempotent, so a refusal later leaves at most a
file nothing refers to), then writes the ``Attachment`` row, the desk's ``AttachmentBlob`` row and the
``attachment.add.v1`` outbox row in ONE transaction. The bytes travel later, apart from the commands
(app/desk/sync): a missing file is shown (:data:`~app.desk.attachments.MISSING`), it never stops a case.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import actions, attachment_rules, commands, limits
from app.core.errors import UserError
from app.core.requests import REQUEST_PHOTO_MATERIAL, is_request
from app.core.vocabulary import Mutation
from app.desk.attachments import LOCAL_ONLY, MISSING, ON_DEMAND, SYNCED, UPLOADING, AttachmentInfo
from app.desk.attachments.images import normalise_page
from app.desk.attachments.pdf import has_pdf_header, looks_like_pdf, merge_pages, pdf_page_count
from app.desk.attachments.store import BlobError, sha256_hex
from app.desk.auth import WorkerInfo
from app.desk.context import AppContext
from app.desk.outbox import enqueue
from models import Attachment, AttachmentBlob, Case, Resident, Worker, new_id

log = logging.getLogger(__name__)

# AttachmentBlob.last_error values the status reads (the transfer code writes them; any other text is a
# passing error of a transfer still being tried).
NO_FILE = "no_file"  # the district server answered that no desk ever sent it (ErrorCode.NO_FILE)
DAMAGED = "damaged"  # the copy on this desk failed its check; to be fetched again if the server has it

# A file may no longer be added to (or, by its adder, taken off) a case in these states.
SOURCES = ("camera", "scanner", "file", "idcard")
OTHER_MATERIAL = "其他材料"


class AttachmentError(UserError):
    """An attachment operation refused; Chinese message, nothing changed."""


class AttachmentMissing(AttachmentError):
    """The file's bytes are not (intact) on this desk."""


def _mb(n: int) -> str:
    return f"{n // (1024 * 1024)} MB"


def _clean_filename(name: str, suffix: str) -> str:
    """A file name the database stores: no control characters or lone surrogates, within the column."""
    name = "".join(c for c in name if not limits.has_unstorable(c)).strip() or "附件"
    stem = name[: max(1, limits.ATTACHMENT_FILENAME - len(suffix))]
    return stem + suffix if not stem.lower().endswith(suffix) else stem


class AttachmentService:
    def __init__(self, ctx: AppContext, catalog=None):
        self.ctx = ctx
        self._catalog = catalog

    @property
    def catalog(self):
        if self._catalog is None:
            from app.desk.catalog.refs import shared_catalog
            self._catalog = shared_catalog(self.ctx.data_dir)
        return self._catalog

    # ----- adding -----------------------------------------------------------------------------------------------
    def add_images(self, actor: WorkerInfo, case_id: uuid.UUID | None, material: str, images: list[bytes], *,
                   source: str = "camera", color: bool = False,
                   resident_id: uuid.UUID | None = None) -> AttachmentInfo:
        """Pages of one material: each normalised; one page stays a JPEG, two or more become ONE PDF."""
        material = (material or "").strip()
        self._check_owner(actor, case_id, material, resident_id)  # refuse before the slow part
        if not images:
            raise AttachmentError("没有要添加的页面。")
        if len(images) > limits.ATTACHMENT_MAX_PAGES:
            raise AttachmentError(f"页数过多（一份材料最多 {limits.ATTACHMENT_MAX_PAGES} 页），请分开添加。")
        for raw in images:
            if len(raw) > limits.ATTACHMENT_MAX_BYTES:
                raise AttachmentError(f"图片文件过大（最大 {_mb(limits.ATTACHMENT_MAX_BYTES)}），未添加。")
        pages = [normalise_page(raw, color=color) for raw in images]
        label = material or OTHER_MATERIAL
        if len(pages) == 1:
            data, mime, filename = pages[0], "image/jpeg", _clean_filename(label, ".jpg")
        else:
            data, mime, filename = merge_pages(pages), "application/pdf", _clean_filename(label, ".pdf")
        return self._add(actor, case_id, material, data, mime=mime, filename=filename, pages=len(pages),
                         source=source, resident_id=resident_id)

    def add_file(self, actor: WorkerInfo, case_id: uuid.UUID | None, material: str, path: Path, *,
                 source: str = "file", resident_id: uuid.UUID | None = None, color: bool = False) -> AttachmentInfo:
        """A PDF (kept as it is, checked) or an image (normalised as a camera page) from disk."""
        material = (material or "").strip()
        self._check_owner(actor, case_id, material, resident_id)
        path = Path(path)
        try:
            if not path.is_file():
                raise AttachmentError(f"找不到文件：{path.name}")
            size = path.stat().st_size
            if size == 0:
                raise AttachmentError("文件为空（0 字节），未添加。")
            if size > limits.ATTACHMENT_MAX_BYTES:
                raise AttachmentError(f"文件过大（{size / 1024 / 1024:.1f} MB，最大 "
                                      f"{_mb(limits.ATTACHMENT_MAX_BYTES)}），未添加。")
            with path.open("rb") as f:
                data = f.read(limits.ATTACHMENT_MAX_BYTES + 1)
        except OSError as e:
            raise AttachmentError(f"文件无法读取：{path.name}（{e.strerror or type(e).__name__}）") from None
        if len(data) > limits.ATTACHMENT_MAX_BYTES:  # grew while we looked
            raise AttachmentError(f"文件过大（最大 {_mb(limits.ATTACHMENT_MAX_BYTES)}），未添加。")
        if has_pdf_header(data):  # a PDF, whole or not: pdf_page_count says which
            pages = pdf_page_count(data)
            if pages > limits.ATTACHMENT_MAX_PAGES:
                raise AttachmentError(f"PDF 页数过多（{pages} 页，最多 {limits.ATTACHMENT_MAX_PAGES} 页），未添加。")
            return self._add(actor, case_id, material, data, mime="application/pdf",
                             filename=_clean_filename(path.stem, ".pdf"), pages=pages, source=source,
                             resident_id=resident_id)
        page = normalise_page(data, color=color)
        return self._add(actor, case_id, material, page, mime="image/jpeg", filename=_clean_filename(path.stem, ".jpg"),
                         pages=1, source=source, resident_id=resident_id)

    def _add(self, actor: WorkerInfo, case_id: uuid.UUID | None, material: str, data: bytes, *, mime: str,
             filename: str, pages: int, source: str, resident_id: uuid.UUID | None) -> AttachmentInfo:
        if mime not in limits.ATTACHMENT_MIME_TYPES:
            raise AttachmentError("不支持的文件类型（只能添加 JPEG、PNG 图片或 PDF 文件）。")
        if source not in SOURCES:
            raise AttachmentError("附件来源有误。")
        if len(data) > limits.ATTACHMENT_MAX_BYTES:
            raise AttachmentError(f"文件过大（{len(data) / 1024 / 1024:.1f} MB，最大 "
                                  f"{_mb(limits.ATTACHMENT_MAX_BYTES)}），请分成几份添加。")
        if mime == "application/pdf" and not looks_like_pdf(data):
            raise AttachmentError("PDF 文件不完整，未添加。")
        sha = sha256_hex(data)
        try:
            self.ctx.blobs.put(data)  # first, outside the transaction: a file nothing refers to harms no one
        except BlobError as e:
            raise AttachmentError(str(e)) from None
        at = self.ctx.now()
        attachment_id = new_id()
        args = commands.AttachmentArgs(id=attachment_id, case_id=case_id, resident_id=resident_id, material=material,
                                       sha256=sha, size=len(data), mime=mime, filename=filename, pages=pages,
                                       source=source).wire()
        commands.parse_args(commands.AttachmentArgs, args)  # what the server will parse, checked here
        with self.ctx.sessions.begin() as s:
            self._check_owner(actor, case_id, material, resident_id, s)  # again, under the write lock
            self._have_blob(s, sha, len(data), mime)
            existing = self._existing_in(s, case_id, resident_id, material, sha)
            if existing is not None:  # the same file for the same material: no second row (it is here now)
                return self._info(s, existing)
            row = Attachment(id=attachment_id, committee_id=self.ctx.identity().committee_id, case_id=case_id,
                             resident_id=resident_id, material=material, sha256=sha, size=len(data), mime=mime,
                             filename=filename, pages=pages, source=source, added_by_id=actor.id, added_at=at)
            s.add(row)
            if case_id is not None:  # after a restore the server holds it until the case's last command is back
                args = {**args, commands.AFTER: actions.last_mutation(s.get_one(Case, case_id))}
            enqueue(s, Mutation.ATTACHMENT_ADD, args, actor.id, at)
            s.flush()
            log.info("attachment %s added: %d bytes, %d page(s), %s", attachment_id, len(data), pages, mime)
            return self._info(s, row)

    @staticmethod
    def _have_blob(s: Session, sha: str, size: int, mime: str) -> None:
        """The desk's record that the bytes are here (also for a file pulled from the server and added again)."""
        blob = s.get(AttachmentBlob, sha)
        if blob is None:
            s.add(AttachmentBlob(sha256=sha, size=size, mime=mime, present=True))
            s.flush()
            return
        if not blob.present:  # bytes new here: whether the server holds them is asked again before it is trusted
            blob.present, blob.uploaded, blob.uploaded_bytes = True, False, 0
        if blob.last_error in (NO_FILE, DAMAGED):
            blob.last_error = ""

    @staticmethod
    def _existing_in(s: Session, case_id, resident_id, material, sha) -> Attachment | None:
        q = select(Attachment).where(Attachment.sha256 == sha, Attachment.material == material,
                                     Attachment.removed_at.is_(None))
        q = q.where(Attachment.case_id == case_id) if case_id is not None else \
            q.where(Attachment.case_id.is_(None), Attachment.resident_id == resident_id)
        return s.scalars(q.order_by(Attachment.added_at)).first()

    # ----- checks -----------------------------------------------------------------------------------------------
    def _check_owner(self, actor: WorkerInfo, case_id: uuid.UUID | None, material: str,
                     resident_id: uuid.UUID | None, s: Session | None = None) -> None:
        if s is None:
            with self.ctx.sessions() as own:
                return self._check_owner(actor, case_id, material, resident_id, own)
        committee = self.ctx.identity().committee_id
        if case_id is None and resident_id is None:
            raise AttachmentError("附件必须关联案件或居民。")
        if len(material) > limits.ATTACHMENT_MATERIAL or limits.has_unstorable(material):
            raise AttachmentError("材料名称有误。")
        if resident_id is not None:
            resident = s.get(Resident, resident_id)
            if resident is None or resident.committee_id != committee:
                raise AttachmentError("找不到该居民，未添加附件。")
        if case_id is None:
            self._check_may_act(actor, None)
            return None
        case = s.get(Case, case_id)
        if case is None or case.committee_id != committee:
            raise AttachmentError("找不到该案件，未添加附件。")
        self._check_may_act(actor, case)
        if material and not self._item_has(case, material):
            raise AttachmentError(f"该事项没有“{material}”这项材料，请选择事项所列的材料或“{OTHER_MATERIAL}”。")
        return None

    @staticmethod
    def _check_may_act(actor: WorkerInfo, case: Case | None) -> None:
        why = attachment_rules.add_refusal(case, actor.id, actor.roles, actor.lines)
        if why:
            raise AttachmentError(why + "。")

    def _item_has(self, case: Case, material: str) -> bool:
        if material in (case.materials or {}):
            return True
        if is_request(case):  # a 诉求 has no item: its photos (issue 20)
            return material in (REQUEST_PHOTO_MATERIAL, OTHER_MATERIAL)
        item = self.catalog.get(case.item_code)
        return item is not None and item.material(material) is not None

    # ----- reading ----------------------------------------------------------------------------------------------
    def for_case(self, case_id: uuid.UUID) -> list[AttachmentInfo]:
        """The case's files (not removed), by material (其他材料 last), then in the order they were added."""
        with self.ctx.sessions() as s:
            rows = s.scalars(select(Attachment).where(Attachment.case_id == case_id,
                                                      Attachment.removed_at.is_(None))).all()
            return self._infos(s, rows)

    def for_resident(self, resident_id: uuid.UUID) -> list[AttachmentInfo]:
        """Files added to the resident (their ID card and the like), not those of their cases."""
        with self.ctx.sessions() as s:
            rows = s.scalars(select(Attachment).where(Attachment.resident_id == resident_id,
                                                      Attachment.removed_at.is_(None))).all()
            return self._infos(s, rows)

    def info(self, attachment_id: uuid.UUID) -> AttachmentInfo:
        with self.ctx.sessions() as s:
            row = s.get(Attachment, attachment_id)
            if row is None:
                raise AttachmentMissing("找不到该附件。")
            return self._info(s, row)

    def status_of(self, attachment_id: uuid.UUID) -> str:
        """The file's status label, its bytes fully checked (decrypted, sha256 compared) when they are here."""
        info = self.info(attachment_id)
        if info.present and not self.ctx.blobs.intact(info.sha256):
            return MISSING
        return info.status

    def read(self, attachment_id: uuid.UUID) -> bytes:
        """The file's bytes, verified; :class:`AttachmentMissing` (Chinese) when they are not here intact. A
        damaged copy is marked so (no longer present, wanted again: the server's copy replaces it)."""
        info = self.info(attachment_id)
        with self.ctx.sessions() as s:
            row = s.get(Attachment, attachment_id)
            if row is not None and row.removed_at is not None:
                raise AttachmentMissing("该附件已被移除。")
        try:
            return self.ctx.blobs.get(info.sha256)
        except BlobError as e:
            damaged = self.ctx.blobs.has(info.sha256)
            self._mark_absent(info, damaged=damaged)
            if damaged:
                raise AttachmentMissing(f"附件“{info.filename}”在本机的文件已损坏，将从服务器重新下载。") from e
            if info.status == MISSING:
                raise AttachmentMissing(f"附件“{info.filename}”缺失：服务器上也没有该文件。") from e
            raise AttachmentMissing(f"附件“{info.filename}”尚未下载到本机，请稍后再试。") from e

    def _mark_absent(self, info: AttachmentInfo, *, damaged: bool) -> None:
        with self.ctx.sessions.begin() as s:
            blob = s.get(AttachmentBlob, info.sha256)
            if blob is None:
                blob = AttachmentBlob(sha256=info.sha256, size=info.size, mime=info.mime)
                s.add(blob)
            if damaged:
                blob.last_error = DAMAGED
            if blob.present or damaged:
                blob.present, blob.wanted = False, True

    def _infos(self, s: Session, rows) -> list[AttachmentInfo]:
        rows = sorted(rows, key=lambda r: (r.material == "", r.material, r.added_at))
        return [self._info(s, r) for r in rows]

    def _info(self, s: Session, row: Attachment) -> AttachmentInfo:
        blob = s.get(AttachmentBlob, row.sha256)
        worker = s.get(Worker, row.added_by_id) if row.added_by_id else None
        present, status = self._status(blob, row)
        return AttachmentInfo(id=row.id, case_id=row.case_id, resident_id=row.resident_id, material=row.material,
                              sha256=row.sha256, size=row.size, mime=row.mime, filename=row.filename,
                              pages=row.pages, source=row.source,
                              added_by_name=worker.display_name if worker else "", added_at=row.added_at,
                              present=present, status=status)

    def _status(self, blob: AttachmentBlob | None, row: Attachment) -> tuple[bool, str]:
        """(present, label). A file not here is 可下载 only once the server said it holds it whole (``uploaded``,
        set by the transfer's status check, app/desk/sync/files.py); before that 附件上传中. No blob row (nothing
        known of the bytes yet; the next transfer round writes one): 附件上传中 too."""
        if blob is None:
            return False, UPLOADING
        if blob.present:
            if not self.ctx.blobs.looks_whole(row.sha256, row.size):
                return False, MISSING  # the row says here, the file is absent or cut short
            return True, SYNCED if blob.uploaded else LOCAL_ONLY
        if blob.last_error in (NO_FILE, DAMAGED):
            return False, MISSING
        return False, ON_DEMAND if blob.uploaded else UPLOADING

    # ----- removing and downloading -----------------------------------------------------------------------------
    def remove(self, actor: WorkerInfo, attachment_id: uuid.UUID, reason: str = "") -> None:
        """Take a file off its case (added by mistake): its adder while the case is open, a supervisor or an
        administrator always. One transaction with its ``attachment.remove.v1`` row; the bytes stay."""
        args = commands.AttachmentRemoveArgs(id=attachment_id, reason=reason or "").wire()
        commands.parse_args(commands.AttachmentRemoveArgs, args)
        at = self.ctx.now()
        with self.ctx.sessions.begin() as s:
            row = s.get(Attachment, attachment_id)
            if row is None or row.committee_id != self.ctx.identity().committee_id:
                raise AttachmentError("找不到该附件。")
            if row.removed_at is not None:
                raise AttachmentError("该附件已被移除。")
            case = s.get(Case, row.case_id) if row.case_id else None
            why = attachment_rules.remove_refusal(row.added_by_id, actor.id, actor.roles,
                                                  case.state if case else None)
            if why:
                raise AttachmentError(why + "。")
            row.removed_at, row.removed_by_id = at, actor.id
            row.version = (row.version or 0) + 1
            enqueue(s, Mutation.ATTACHMENT_REMOVE, args, actor.id, at)
            log.info("attachment %s removed", attachment_id)

    def request_download(self, case_id: uuid.UUID) -> int:
        """Mark the case's files that are not here as wanted (the downloader fetches them); how many."""
        marked = 0
        with self.ctx.sessions.begin() as s:
            rows = s.scalars(select(Attachment).where(Attachment.case_id == case_id,
                                                      Attachment.removed_at.is_(None))).all()
            for sha, size, mime in {(r.sha256, r.size, r.mime) for r in rows}:
                blob = s.get(AttachmentBlob, sha)
                if blob is None:
                    s.add(AttachmentBlob(sha256=sha, size=size, mime=mime, present=False, wanted=True))
                    marked += 1
                elif not blob.present:
                    blob.wanted, blob.attempts = True, 0
                    marked += 1
        return marked

