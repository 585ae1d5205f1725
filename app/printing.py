"""Case documents: build the data from the case, render (app/documents.py), archive, and record every print.

A printer that is missing or fails never blocks the service: the case is already saved, the PDF is archived
and its job stays "pending" in the to-print list until it is printed or reprinted.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from app.auth import WorkerInfo
from app.context import AppContext
from app.documents import DOC_TITLES, LAYOUTS, DocumentData, MaterialLine, MissingMaterial, render
from models import PRINT_FAILED, PRINT_OK, PRINT_PENDING, Case, Committee, Device, PrintJob, Resident, Worker, utcnow

log = logging.getLogger(__name__)
DOC_PREFIX = {"receipt": "SL", "completion": "BJ", "notice": "GZ", "refusal": "BY", "reply": "DF"}
DOC_FOR_STATE = {"forwarded": "receipt", "accepted": "receipt", "resolved": "completion", "pending_materials": "notice",
                 "refused": "refusal", "replied": "reply", "closed": "reply"}
APPEAL = "如对结果有异议，可自收到本告知之日起 60 日内依法申请行政复议，或在 6 个月内依法提起行政诉讼。"


class PrintError(ValueError):
    """A document that cannot be produced; Chinese message."""


@dataclass(frozen=True)
class PrintedDocument:
    job_id: uuid.UUID
    case_number: str
    doc_type: str
    layout: str
    reprint_count: int
    path: Path
    pdf: bytes


@dataclass(frozen=True)
class PrintJobRow:
    id: uuid.UUID
    case_id: uuid.UUID
    case_number: str
    doc_title: str
    layout: str
    reprint_count: int
    at: dt.datetime
    status: str
    printer: str
    reason: str
    path: Path


def _material_lines(case: Case) -> tuple[list[MaterialLine], list[MissingMaterial]]:
    """Case.materials maps a material name to True/False or to a dict with received/form/count/standard."""
    received, missing = [], []
    for name, value in (case.materials or {}).items():
        info = value if isinstance(value, dict) else {"received": bool(value)}
        if info.get("received"):
            received.append(MaterialLine(name, info.get("form") or "原件", int(info.get("count") or 1)))
        elif info.get("required", True):
            missing.append(MissingMaterial(name, info.get("standard") or "请提供原件"))
    return received, missing


class PrintService:
    def __init__(self, ctx: AppContext):
        self.ctx = ctx

    def settings(self) -> tuple[str, str | None]:
        """This desk's paper layout and configured printer (None = system default)."""
        with self.ctx.sessions() as s:
            dev = s.get(Device, self.ctx.identity().device_id)
            return (dev.paper_layout if dev and dev.paper_layout in LAYOUTS else "a5"), (dev.printer_name if dev else None)

    def save_settings(self, actor: WorkerInfo, layout: str, printer: str | None) -> None:
        if layout not in LAYOUTS:
            raise PrintError("未知的纸张版式")
        if not (actor.has_role("admin") or actor.has_role("supervisor")):
            raise PrintError("只有站长或管理员可以修改打印设置")
        device_id = self.ctx.identity().device_id
        with self.ctx.sessions.begin() as s:
            dev = s.get(Device, device_id)
            dev.paper_layout, dev.printer_name = layout, (printer or None)

    def default_doc(self, case_id: uuid.UUID) -> str:
        with self.ctx.sessions() as s:
            case = s.get(Case, case_id)
            if case is None or case.state not in DOC_FOR_STATE:
                raise PrintError("该案件当前状态没有可打印的文书")
            return DOC_FOR_STATE[case.state]

    def build(self, case_id: uuid.UUID, doc_type: str, reprint_count: int, printed_at: dt.datetime) -> DocumentData:
        if doc_type not in DOC_TITLES:
            raise PrintError(f"未知的文书类型：{doc_type}")
        with self.ctx.sessions() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise PrintError("找不到该案件")
            com = s.get(Committee, case.committee_id)
            r = s.get(Resident, case.applicant_id) if case.applicant_id else None
            creator = s.get(Worker, case.created_by_id)
            received, missing = _material_lines(case)
            approved = {"approved": True, "refused": False}.get(case.reply_result or "")
            result = case.result_text if doc_type == "completion" else case.reply_text
            return DocumentData(
                doc_type=doc_type, committee_name=com.name, committee_phone=com.phone, committee_address=com.address,
                doc_number=f"{DOC_PREFIX[doc_type]}-{case.case_number}", case_number=case.case_number,
                item_code=case.item_code, item_name=case.item_name, mode=case.mode, department=case.department,
                applicant_name=r.name if r else "", applicant_id_number=r.id_number if r else "",
                applicant_phone=r.phone if r else "", agent_name=(case.agent or {}).get("name"),
                received_at=case.accepted_at or case.created_at, materials=received, missing=missing,
                deadline=case.due_at, deadline_provisional=case.deadline_provisional,
                deadline_note="该年度节假日安排尚未导入，期限按周一至周五推算，以实际通知为准。" if case.deadline_provisional else "",
                worker_name=creator.display_name if creator else "", worker_phone=com.phone,
                result=result or "", result_approved=approved if doc_type == "reply" else (True if doc_type == "completion" else None),
                refusal_reason=case.refusal_reason, redirect_to=case.redirect_to,
                delivery="办理结果由社区电话或短信通知，请凭本回执到社区服务站领取。",
                progress_query=f"扫描二维码或致电 {com.phone} 查询办理进度（工作日 9:00—17:30）。",
                appeal_route=APPEAL if approved is False else "", verification_code=case.verification_code,
                reprint_count=reprint_count, printed_at=printed_at, decided_at=case.replied_at or case.closed_at)

    def produce(self, actor: WorkerInfo, case_id: uuid.UUID, doc_type: str | None = None, layout: str | None = None,
                reprint_reason: str = "", now: dt.datetime | None = None) -> PrintedDocument:
        """Render and archive a document and record the job as pending. A reprint needs a reason."""
        now = now or utcnow()
        doc_type = doc_type or self.default_doc(case_id)
        layout = layout or self.settings()[0]
        with self.ctx.sessions() as s:
            previous = s.scalar(select(func.count()).select_from(PrintJob)
                                .where(PrintJob.case_id == case_id, PrintJob.doc_type == doc_type)) or 0
        if previous and not reprint_reason.strip():
            raise PrintError("补打文书需要填写原因")
        data = self.build(case_id, doc_type, previous, now)
        pdf = render(data, layout)
        path = self._archive(data, layout, pdf)
        with self.ctx.sessions.begin() as s:
            job = PrintJob(case_id=case_id, doc_type=doc_type, layout=layout, doc_number=data.doc_number,
                           reprint_count=previous, at=now, worker_id=actor.id, status=PRINT_PENDING,
                           reason=reprint_reason.strip(), file=str(path.relative_to(self.ctx.data_dir)))
            s.add(job)
            s.flush()
            job_id = job.id
        log.info("document %s produced for case %s (reprint %d)", doc_type, data.case_number, previous)
        return PrintedDocument(job_id, data.case_number, doc_type, layout, previous, path, pdf)

    def regenerate(self, job_id: uuid.UUID) -> bytes:
        """Render a recorded job again from the case data: same content as the archived PDF."""
        with self.ctx.sessions() as s:
            job = s.get(PrintJob, job_id)
            if job is None:
                raise PrintError("找不到该打印记录")
            case_id, doc_type, layout, count, at = job.case_id, job.doc_type, job.layout, job.reprint_count, job.at
        return render(self.build(case_id, doc_type, count, at), layout)

    def _archive(self, data: DocumentData, layout: str, pdf: bytes) -> Path:
        folder = self.ctx.data_dir / "documents" / data.case_number
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{data.doc_type}-{layout}-{data.reprint_count}.pdf"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(pdf)
        tmp.replace(path)
        return path

    def record_result(self, job_id: uuid.UUID, *, printer: str, ok: bool, reason: str = "") -> None:
        with self.ctx.sessions.begin() as s:
            job = s.get(PrintJob, job_id)
            if job is None:
                raise PrintError("找不到该打印记录")
            job.printer, job.status = printer, PRINT_OK if ok else PRINT_FAILED
            if not ok:
                job.reason = (job.reason + "；" if job.reason else "") + f"打印失败：{reason}"
        log.info("print job %s: %s", job_id, "printed" if ok else "failed")

    def jobs(self, case_id: uuid.UUID | None = None, waiting_only: bool = False) -> list[PrintJobRow]:
        with self.ctx.sessions() as s:
            stmt = select(PrintJob, Case.case_number).join(Case, Case.id == PrintJob.case_id).order_by(PrintJob.at.desc())
            if case_id is not None:
                stmt = stmt.where(PrintJob.case_id == case_id)
            rows = [PrintJobRow(j.id, j.case_id, num, DOC_TITLES[j.doc_type], j.layout, j.reprint_count, j.at, j.status,
                                j.printer, j.reason, self.ctx.data_dir / j.file) for j, num in s.execute(stmt)]
        if not waiting_only:
            return rows
        # Waiting = the newest job of a case's document is not on paper yet (a later good reprint clears it).
        newest: dict[tuple, PrintJobRow] = {}
        for r in rows:
            newest.setdefault((r.case_id, r.doc_title), r)
        return [r for r in newest.values() if r.status in (PRINT_PENDING, PRINT_FAILED)]
