"""Case documents: build the data from the case, render (``render.py``), archive, and record every print.

A printer that is missing or fails never blocks the service: the case is already saved, the PDF is archived
and its job stays in the to-print list until it is printed or reprinted. A document written to a file
(``main.py print``) is recorded as "exported": it never waits in the to-print list.

A preview is not a print job (issue 19): :meth:`PrintService.produce` renders and archives; the job is recorded
when printing is attempted (:meth:`PrintService.record_print`, failed or printed) or when the worker chooses
稍后打印 (:meth:`PrintService.keep_for_later`, pending). A preview closed without either leaves no job.

Only the documents that fit the case's state can be produced (:func:`app.core.machine.printable_documents`); a 补打 is a
document produced again after one of its earlier jobs reached paper, in any layout.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from app.core import rule_notes
from app.core.changes import Changes
from app.core.errors import DiskFullError, UserError, is_disk_full
from app.core.machine import STATE_LABELS, case_paper, flexible_paper, item_paper, printable_documents
from app.core.verify import VerifyBaseError, verification_url
from app.core.vocabulary import DOC_TITLES, CaseKind, DocKind, State
from app.desk.auth import WorkerInfo
from app.desk.context import AppContext
from app.desk.intake import IntakeService
from app.desk.printing import answers
from app.desk.printing.data import DocumentData, MaterialLine, MissingMaterial
from app.desk.printing.kinds import kind_for
from app.desk.printing.layout import LAYOUTS
from app.desk.printing.render import render
from app.desk.printing.request_facts import request_facts
from forms.identity import mask_name
from forms.schema import ServiceItem
from models import PRINT_FAILED, PRINT_OK, PRINT_PENDING, Case, Committee, Device, PrintJob, Resident, Worker

log = logging.getLogger(__name__)
PROVISIONAL_NOTE = "该年度节假日安排尚未导入，期限按周一至周五推算，以实际通知为准。"
APPEAL = "如对结果有异议，可自收到本告知之日起 60 日内依法申请行政复议，或在 6 个月内依法提起行政诉讼。"
PRINT_EXPORTED = "exported"  # written to a file without the GUI; not on paper, not waiting to be printed
# When each document may be issued (shown when a document does not fit the case's state).
DOC_WHEN = {
    "receipt": "受理回执在案件转交承办部门后出具",
    "completion": "办结单只用于当场办结的案件",
    "notice": "一次性告知单只在案件待补材料时出具",
    "refusal": "不予受理告知单只在不予受理后出具",
    "reply": "答复告知在承办部门答复后出具",
    "makeup_notice": "容缺受理告知书只用于容缺受理的案件，受理后可打印",
    "pledge": "告知承诺书只用于申请人选择告知承诺制的案件，受理后可打印",
    "certificate": "证明只在出具证明的事项当场办结后出具",
    "application": "申请表在案件受理后出具（材料中有申请表的事项受理前也可打印），不予受理或撤回后不再出具",
    "packet": "申请材料清单在案件受理后出具",
    "request_slip": "诉求受理单只用于诉求，登记后可打印",
}


class PrintError(UserError, ValueError):
    """A document that cannot be produced; Chinese message."""


@dataclass(frozen=True, kw_only=True)
class PrintedDocument:
    """A produced document: rendered and archived; ``job_id`` once it became a print job (None: a preview)."""

    job_id: uuid.UUID | None
    case_number: str
    doc_type: str
    layout: str
    reprint_count: int
    path: Path
    pdf: bytes
    case_id: uuid.UUID | None = None
    doc_number: str = ""
    at: dt.datetime | None = None
    worker_id: uuid.UUID | None = None
    reason: str = ""  # the 补打 reason

    @property
    def changes(self) -> Changes:
        # a job waits in the to-print list or was printed; a preview changes nothing
        return Changes(print_jobs=True) if self.job_id is not None else Changes()


@dataclass(frozen=True, kw_only=True)
class PrintJobRow:
    id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    doc_type: str
    doc_title: str
    layout: str
    reprint_count: int
    at: dt.datetime
    status: str
    printer: str
    reason: str
    path: Path
    applicant: str = ""  # masked name (lists never show a full name)
    item_name: str = ""


def verify_base(ctx: AppContext) -> str:
    """Base of the progress-page link (committee setting, else the enrolled server; app/desk/devices/registry.py)."""
    from app.desk.devices.registry import verify_base_url
    try:
        return verify_base_url(ctx)
    except LookupError:  # a desk not set up has no committee to ask
        return ""


def verify_link(base: str, case_number: str, code: str) -> str:
    """The case's progress-page link, or "" without a base or a verification code (the QR code then holds the
    desk payload, :func:`app.desk.printing.data.qr_payload`)."""
    if not base or not code.strip():
        return ""
    try:
        return verification_url(base, case_number, code)
    except VerifyBaseError:
        return ""


def progress_wording(link: str, phone: str) -> str:
    """受理回执 进度查询: the link printed out for typing when there is one, and the committee's phone."""
    ask = f"致电 {phone}" if phone else "到社区服务站"
    if link:
        return f"用手机扫描二维码查询办理进度，也可{ask}查询（工作日 9:00—17:30）。查询网址：{link}"
    return f"请{ask}查询办理进度并告知办件编号（工作日 9:00—17:30）。"


def handled_as(case: Case) -> str:
    """办理方式 as it happened: 转办 once the case went to a department, 即办 when resolved on the spot, else the
    item's default (a GA-03 补领 forwarded to the police station is printed 转办, not 即办)."""
    if case.forwarded_at is not None:
        return "转办"
    if case.state == State.RESOLVED:
        return "即办"
    return case.mode


def handled_by(case: Case, item: ServiceItem | None = None) -> str:
    """承办部门 as the resident must read it: where the case went. Forwarded to the item's own department queue
    (the wizard's default, or a colleague of that line) it goes on to the item's forward target (e.g.
    街道民政办（社会救助窗口）); forwarded to another queue, that queue (e.g. 居住地公安派出所); not forwarded, the
    item's department."""
    if case.forwarded_at is None:
        return case.department
    queue = case.assignee_queue or case.department
    if queue == case.department and item is not None and item.forward_target:
        return item.forward_target
    return queue


def refusal_message(state: str, doc_type: str | None, allowed: tuple[str, ...]) -> str:
    label = STATE_LABELS.get(state or "", state or "新建")
    hint = "可打印：" + "、".join(DOC_TITLES[d] for d in allowed) if allowed else "该状态没有可打印的文书"
    if doc_type is None:
        return f"案件当前状态为“{label}”，{hint}。"
    return f"案件当前状态为“{label}”，不能打印{DOC_TITLES[doc_type]}（{DOC_WHEN[doc_type]}）。{hint}。"


def _info(value) -> dict:
    """One entry of Case.materials: the wizard's record (received/form/count/standard/required) or a bare flag."""
    return dict(value) if isinstance(value, dict) else {"received": bool(value)}


def _with_item_materials(case: Case, item: ServiceItem | None) -> dict:
    """A draft's materials (bare received flags) completed with the item's form, count, standard and whether the
    material is always required, so a draft's 申请表 lists them as a submitted case's documents do."""
    out = {}
    for name, value in (case.materials or {}).items():
        known = item.material(name) if item is not None and not isinstance(value, dict) else None
        out[name] = value if known is None else {"received": bool(value), "form": known.form, "count": known.count,
                                                  "standard": known.standard, "required": known.required is True}
    return out


def _recorded_missing(case: Case) -> list[str]:
    """The missing materials named when the case was set to await them (latest such event)."""
    for event in sorted(case.events or [], key=lambda e: e.seq, reverse=True):
        if event.action == "await_materials":
            return [str(n) for n in (event.detail or {}).get("missing") or []]
    return []


def _material_lines(case: Case, materials: dict | None = None) -> tuple[list[MaterialLine], list[MissingMaterial]]:
    """What was handed in, and what is still missing with its standard.

    Missing = not received and either required or named missing when the case was set to await materials
    (a conditional material that applies to this applicant is stored as not required)."""
    named = _recorded_missing(case)
    received, missing = [], []
    materials = (case.materials or {}) if materials is None else materials
    for name, value in materials.items():
        info = _info(value)
        if info.get("received"):
            received.append(MaterialLine(name, info.get("form") or "原件", int(info.get("count") or 1)))
        elif info.get("pledged"):
            continue  # replaced by the signed 告知承诺书 (printed with it)
        elif name in named or info.get("required", True):
            missing.append(MissingMaterial(name, info.get("standard") or "请按办事指南要求提供"))
    missing += [MissingMaterial(n, "请按办事指南要求提供") for n in named if n not in materials]
    return received, missing


def _flexible_parts(case: Case) -> dict:
    """What the 容缺受理告知书 and the 告知承诺书 print: the deferred materials (all the applicant pledged to
    bring, also once brought: the notice is printed again as it was signed) and the proofs the pledge replaces."""
    def lines(flag: str) -> tuple[MissingMaterial, ...]:
        return tuple(MissingMaterial(name, _info(v).get("standard") or "请按办事指南要求提供")
                     for name, v in (case.materials or {}).items() if _info(v).get(flag))
    deferred = lines("deferred") or tuple(MissingMaterial(n, "请按办事指南要求提供")
                                          for n in case.makeup_materials or ())
    return {"makeup": deferred, "makeup_due": case.makeup_due, "pledge_text": case.pledge_text or "",
            "pledged": lines("pledged")}


def _agent_part(agent: dict | None, key: str) -> str:
    """The agent's ID, phone or relation as stored on the case (full; the blocks mask them)."""
    return str(agent.get(key) or "") if isinstance(agent, dict) else ""


def supplied_materials(case: Case) -> dict:
    """The materials entries to store when the missing ones were handed in later: each marked received,
    its form, count and standard kept (pass to ``CaseService.accept_after_materials``)."""
    _, missing = _material_lines(case)
    materials = case.materials or {}
    return {m.name: {**_info(materials.get(m.name, {})), "received": True} for m in missing}


class PrintService:
    def __init__(self, ctx: AppContext, catalog=None):
        self.ctx = ctx
        self._catalog = catalog

    def _catalog_now(self):
        if self._catalog is None:
            from app.desk.catalog.refs import shared_catalog
            self._catalog = shared_catalog(self.ctx.data_dir)
        return self._catalog

    def _item(self, code: str) -> ServiceItem | None:
        """The case's item in the desk's catalog (None once the catalog no longer has it)."""
        return self._catalog_now().get(code)

    def _documents(self, state: str, forwarded: bool, item_code: str,
                   flexible: frozenset[DocKind] = frozenset(), kind: str | None = None) -> tuple[DocKind, ...]:
        """``flexible``: the papers of how the case was accepted (:func:`app.core.machine.case_paper`); ``kind``:
        the case's (a 诉求 prints its 诉求受理单)."""
        if kind == CaseKind.REQUEST:
            return printable_documents(state, forwarded, kind=kind)
        return printable_documents(state, forwarded, item_paper(self._item(item_code)), flexible=flexible)

    def settings(self) -> tuple[str, str | None]:
        """This desk's paper layout and configured printer (None = system default)."""
        with self.ctx.sessions() as s:
            dev = s.get(Device, self.ctx.identity().device_id)
            layout = dev.paper_layout if dev and dev.paper_layout in LAYOUTS else "a5"
            return layout, (dev.printer_name if dev else None)

    def save_settings(self, actor: WorkerInfo, layout: str, printer: str | None) -> Changes:
        if layout not in LAYOUTS:
            raise PrintError("未知的纸张版式")
        if not actor.manages_desk:
            raise PrintError("只有站长或管理员可以修改打印设置")
        device_id = self.ctx.identity().device_id
        with self.ctx.sessions.begin() as s:
            dev = s.get_one(Device, device_id)
            dev.paper_layout, dev.printer_name = layout, (printer or None)
        return Changes(settings=True)

    def _state_and_documents(self, case_id: uuid.UUID) -> tuple[str, tuple[str, ...]]:
        with self.ctx.sessions() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise PrintError("找不到该案件")
            return case.state, self._documents(case.state, case.forwarded_at is not None, case.item_code,
                                               case_paper(case), case.kind)

    def allowed(self, case_id: uuid.UUID) -> tuple[str, ...]:
        return self._state_and_documents(case_id)[1]

    def _allowed_or_refuse(self, case_id: uuid.UUID) -> tuple[str, ...]:
        state, allowed = self._state_and_documents(case_id)
        if not allowed:
            raise PrintError(refusal_message(state, None, allowed))
        return allowed

    def default_doc(self, case_id: uuid.UUID) -> str:
        return self._allowed_or_refuse(case_id)[0]

    def print_plan(self, case_id: uuid.UUID) -> list[tuple[str, int]]:
        """Each document the case may print now, with how often it already reached paper (for the 补打 prompt)."""
        return [(d, self.paper_count(case_id, d)) for d in self._allowed_or_refuse(case_id)]

    def paper_count(self, case_id: uuid.UUID, doc_type: str) -> int:
        """How many earlier jobs of this case's document reached paper, in any layout."""
        with self.ctx.sessions() as s:
            return s.scalar(select(func.count()).select_from(PrintJob).where(
                PrintJob.case_id == case_id, PrintJob.doc_type == doc_type, PrintJob.status == PRINT_OK)) or 0

    def materials_handed_in(self, case_id: uuid.UUID) -> dict:
        """For "材料已补齐，受理": every missing material marked received (see :func:`supplied_materials`)."""
        with self.ctx.sessions() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise PrintError("找不到该案件")
            return supplied_materials(case)

    def build(self, case_id: uuid.UUID, doc_type: str, reprint_count: int, printed_at: dt.datetime) -> DocumentData:
        """The document's data; refused with a Chinese message when the document does not fit the case's state."""
        if doc_type not in DOC_TITLES:
            raise PrintError(f"未知的文书类型：{doc_type}")
        base = verify_base(self.ctx)
        with self.ctx.sessions() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise PrintError("找不到该案件")
            link = verify_link(base, case.case_number, case.verification_code)
            allowed = self._documents(case.state, case.forwarded_at is not None, case.item_code, case_paper(case),
                                      case.kind)
            if doc_type not in allowed:
                raise PrintError(refusal_message(case.state, doc_type, allowed))
            com = s.get_one(Committee, case.committee_id)
            r = s.get(Resident, case.applicant_id) if case.applicant_id else None
            creator = s.get(Worker, case.created_by_id)
            request = request_facts(s, case, com, self._catalog_now()) if case.kind == CaseKind.REQUEST else None
            item = None if request is not None else self._item(case.item_code)
            received, missing = _material_lines(case, _with_item_materials(case, item))
            approved = {"approved": True, "refused": False}.get(case.reply_result or "")
            kind = kind_for(doc_type)
            result = kind.result_text(resolution=case.result_text, reply=case.reply_text)
            answered = (dict(case.data or {}), case.agent, case.applicant_id)
            data = DocumentData(
                doc_type=DocKind(doc_type), committee_name=com.name, committee_phone=com.phone,
                committee_address=com.address, doc_number=kind.doc_number(case.case_number),
                case_number=case.case_number, item_code=case.item_code, item_name=case.item_name,
                mode=handled_as(case), department=handled_by(case, item),
                applicant_name=r.name if r else "", applicant_id_number=r.id_number if r else "",
                applicant_phone=r.phone if r else "", agent_name=(case.agent or {}).get("name"),
                agent_id_number=_agent_part(case.agent, "id_number"), agent_phone=_agent_part(case.agent, "phone"),
                agent_relation=_agent_part(case.agent, "relation"), **_flexible_parts(case),
                received_at=case.accepted_at or case.created_at, materials=received, missing=missing,
                deadline=case.due_at, deadline_provisional=case.deadline_provisional,
                deadline_note=PROVISIONAL_NOTE if case.deadline_provisional else "",
                worker_name=creator.display_name if creator else "", worker_phone=com.phone,
                result=result or "", result_approved=kind.approval(approved),
                refusal_reason=case.refusal_reason, redirect_to=case.redirect_to,
                delivery=kind.delivery_wording(case.inform_method),
                progress_query=progress_wording(link, com.phone), verify_url=link,
                appeal_route=APPEAL if approved is False else "", verification_code=case.verification_code,
                reprint_count=reprint_count, printed_at=printed_at, decided_at=case.replied_at or case.closed_at,
                intake_remark=rule_notes.remark(case.rule_warnings, case.warning_note), request=request)
        extra = self._answers(data, item, *answered)  # reads the applicant in a session of its own
        if data.doc_type == DocKind.PACKET:
            extra = self._packet(case_id)
        return dataclasses.replace(data, **extra) if extra else data

    def _packet(self, case_id: uuid.UUID) -> dict:
        """What the 申请材料清单 prints: the case packet as the window shows it (masked), in paper words."""
        from app.desk.packet import PacketService, checklist, paper_warnings
        packet = PacketService(self.ctx, catalog=self._catalog).build(case_id)
        return {"sections": packet.sections, "checklist": checklist(packet.materials),
                "warning_lines": paper_warnings(packet.warnings)}

    def _answers(self, data: DocumentData, item: ServiceItem | None, fields: dict, agent: dict | None,
                 applicant_id: uuid.UUID | None) -> dict:
        """What the 申请表 and the 证明 print of the case's answers (nothing for the other documents)."""
        if item is None or data.doc_type not in (DocKind.APPLICATION, DocKind.CERTIFICATE):
            return {}
        # The applicant exactly as the wizard's rules see them (visibility and figures may read them).
        applicant = IntakeService(self.ctx, catalog=self._catalog).applicant(applicant_id)
        result = answers.read_answers(item, fields, applicant, agent)
        if data.doc_type == DocKind.APPLICATION:
            rows, tables = answers.application_rows(item, result)
            return {"answers": rows, "tables": tables}
        assert item.certificate is not None  # printable_documents offers a 证明 only for such an item
        text, basis = answers.certificate_content(item, item.certificate, result, data.applicant_name,
                                                  data.applicant_id_number)
        return {"certificate_text": text, "basis": basis}

    def produce(self, actor: WorkerInfo | None, case_id: uuid.UUID, doc_type: str | None = None,
                layout: str | None = None, reprint_reason: str = "", now: dt.datetime | None = None, *,
                exported_to: str | None = None) -> PrintedDocument:
        """Render and archive a document and record the job: pending (waiting for the printer), or exported
        when ``exported_to`` names the file it was written to. A reprint (the document reached paper
        before) needs a reason; ``actor`` None records no worker (command line without --worker)."""
        now = now or self.ctx.now()  # the date on the paper: corrected time (app/desk/clock.py)
        doc_type = doc_type or self.default_doc(case_id)
        layout = layout or self.settings()[0]
        previous = self.paper_count(case_id, doc_type)
        if previous and not reprint_reason.strip():
            raise PrintError(f"{DOC_TITLES[doc_type]}已打印过 {previous} 次，补打需要填写原因")
        with self.ctx.sessions() as s:
            jobs = s.scalars(select(PrintJob.file).where(PrintJob.case_id == case_id,
                                                         PrintJob.doc_type == doc_type)).all()
        data = self.build(case_id, doc_type, previous, now)
        pdf = render(data, layout)
        path = self._archive(data, layout, self._serial(data, layout, len(jobs), set(jobs)), pdf)
        doc = PrintedDocument(job_id=None, case_number=data.case_number, doc_type=doc_type, layout=layout,
                              reprint_count=previous, path=path, pdf=pdf, case_id=case_id,
                              doc_number=data.doc_number, at=now, worker_id=actor.id if actor else None,
                              reason=reprint_reason.strip() if previous else "")
        log.info("document %s produced for case %s (reprint %d)", doc_type, data.case_number, previous)
        if exported_to:
            return self._record_job(doc, PRINT_EXPORTED, f"导出文件：{exported_to}"[:200])
        return doc

    def _serial(self, data: DocumentData, layout: str, jobs: int, recorded: set[str]) -> int:
        """The archive number of a new document: after the document's jobs, never a file a job names (a preview
        that became no job is overwritten by the next one)."""
        n = jobs
        while str(self._archive_path(data, layout, n).relative_to(self.ctx.data_dir)) in recorded:
            n += 1
        return n

    def _record_job(self, doc: PrintedDocument, status: str, printer: str = "", reason: str = "") -> PrintedDocument:
        """The document as a print job: one row, written once (a job's later outcome updates it)."""
        if doc.case_id is None:
            raise PrintError("找不到该文书对应的案件")
        with self.ctx.sessions.begin() as s:
            job = PrintJob(case_id=doc.case_id, doc_type=doc.doc_type, layout=doc.layout, doc_number=doc.doc_number,
                           reprint_count=doc.reprint_count, at=doc.at or self.ctx.now(), worker_id=doc.worker_id,
                           status=status, printer=printer, reason=self._reason(doc.reason, status, reason),
                           file=str(doc.path.relative_to(self.ctx.data_dir)))
            s.add(job)
            s.flush()
            job_id = job.id
        log.info("print job %s recorded: %s", job_id, status)
        return dataclasses.replace(doc, job_id=job_id)

    @staticmethod
    def _reason(reprint: str, status: str, failure: str) -> str:
        if status != PRINT_FAILED:
            return reprint
        return (reprint + "；" if reprint else "") + f"打印失败：{failure}"

    def record_print(self, doc: PrintedDocument, *, printer: str, ok: bool, reason: str = "") -> PrintedDocument:
        """Printing was attempted: the document's job (recorded now when it was only a preview) is printed, or
        failed and waits in the to-print list. Returns the document with its job."""
        if doc.job_id is not None:
            self.record_result(doc.job_id, printer=printer, ok=ok, reason=reason)
            return doc
        return self._record_job(doc, PRINT_OK if ok else PRINT_FAILED, printer, reason)

    def keep_for_later(self, doc: PrintedDocument) -> PrintedDocument:
        """稍后打印: the worker chose to print it later; it waits in the to-print list (a job already recorded,
        e.g. one opened from that list, stays as it is)."""
        return doc if doc.job_id is not None else self._record_job(doc, PRINT_PENDING)

    def regenerate(self, job_id: uuid.UUID) -> bytes:
        """Render a recorded job again from the case data: same content as the archived PDF."""
        with self.ctx.sessions() as s:
            job = s.get(PrintJob, job_id)
            if job is None:
                raise PrintError("找不到该打印记录")
            case_id, doc_type, layout, count, at = job.case_id, job.doc_type, job.layout, job.reprint_count, job.at
        return render(self.build(case_id, doc_type, count, at), layout)

    def _archive_path(self, data: DocumentData, layout: str, serial: int) -> Path:
        return self.ctx.data_dir / "documents" / data.case_number / f"{data.doc_type}-{layout}-{serial}.pdf"

    def _archive(self, data: DocumentData, layout: str, serial: int, pdf: bytes) -> Path:
        """``<data>/documents/<case>/<doc>-<layout>-<n>.pdf``; n counts the document's jobs, so none is overwritten."""
        path = self._archive_path(data, layout, serial)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        try:
            tmp.write_bytes(pdf)
            tmp.replace(path)
        except OSError as e:
            tmp.unlink(missing_ok=True)  # no half-written document; the print job is not recorded either
            if is_disk_full(e):
                raise DiskFullError() from e
            raise
        return path

    def record_result(self, job_id: uuid.UUID, *, printer: str, ok: bool, reason: str = "") -> Changes:
        with self.ctx.sessions.begin() as s:
            job = s.get(PrintJob, job_id)
            if job is None:
                raise PrintError("找不到该打印记录")
            job.printer, job.status = printer, PRINT_OK if ok else PRINT_FAILED
            if not ok:
                job.reason = (job.reason + "；" if job.reason else "") + f"打印失败：{reason}"
        log.info("print job %s: %s", job_id, "printed" if ok else "failed")
        return Changes(print_jobs=True)

    def jobs(self, case_id: uuid.UUID | None = None, waiting_only: bool = False) -> list[PrintJobRow]:
        with self.ctx.sessions() as s:
            stmt = (select(PrintJob, Case.case_number, Case.state, Case.forwarded_at, Case.item_code,
                           Case.acceptance_mode, Case.pledge_text, Case.item_name, Resident.name, Case.kind)
                    .join(Case, Case.id == PrintJob.case_id)
                    .outerjoin(Resident, Resident.id == Case.applicant_id).order_by(PrintJob.at.desc()))
            if case_id is not None:
                stmt = stmt.where(PrintJob.case_id == case_id)
            rows, fits = [], {}
            for j, num, state, forwarded_at, code, mode, pledge, item_name, name, kind in s.execute(stmt):
                rows.append(PrintJobRow(
                    id=j.id, case_id=j.case_id, case_number=num, doc_type=j.doc_type, doc_title=DOC_TITLES[j.doc_type],
                    layout=j.layout, reprint_count=j.reprint_count, at=j.at, status=j.status, printer=j.printer,
                    reason=j.reason, path=self.ctx.data_dir / j.file, applicant=mask_name(name), item_name=item_name))
                fits[j.id] = j.doc_type in self._documents(state, forwarded_at is not None, code,
                                                           flexible_paper(mode, pledge), kind)
        if not waiting_only:
            return rows
        # Waiting = the newest paper job of a case's document is not on paper yet (a later good reprint clears
        # it); a file export is no paper job, and a document the case has outgrown no longer waits.
        newest: dict[tuple, PrintJobRow] = {}
        for r in rows:
            if r.status != PRINT_EXPORTED:
                newest.setdefault((r.case_id, r.doc_type), r)
        return [r for r in newest.values() if r.status in (PRINT_PENDING, PRINT_FAILED) and fits[r.id]]
