"""The guided desk's service: search items, check a submission against its item, keep drafts, finish intake.

The wizard in ui/ renders an item from its schema and sends raw values here; every rule (required,
constraints, eligibility, materials) is evaluated by forms/validate.py, never in the widgets.

Catalog version (requirement 8): a case is stamped with the catalog version when its draft is created and
again when it is submitted, with the version its data was actually validated against, so a draft resumed
after a catalog update records the new version. Resuming such a draft returns a notice for the worker.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from app.core.changes import Changes
from app.core.machine import DOCUMENT_AFTER
from app.core.vocabulary import Action, DocKind, State
from app.desk.auth import WorkerInfo
from app.desk.cases import CaseDetail, CaseError, CaseService
from app.desk.catalog.refs import item_ref, shared_catalog
from app.desk.context import AppContext
from forms.schema import ServiceItem
from forms.validate import ValidationResult, validate_submission
from models import Case, Resident


@dataclass(frozen=True)
class Outcome:
    """One way to finish the wizard, as the review page offers it."""

    action: Action
    label: str
    default: bool = False


@dataclass(frozen=True)
class Finished:
    """The submitted case, the checks it passed, and the document to hand the resident now (None: none yet)."""

    detail: CaseDetail
    result: ValidationResult
    document: DocKind | None

    @property
    def changes(self) -> Changes:
        return self.detail.changes


@dataclass(frozen=True, kw_only=True)
class Draft:
    case_id: uuid.UUID
    item_code: str
    resident_id: uuid.UUID | None
    agent: dict | None
    fields: dict
    materials: dict
    step: int
    catalog_version: str = ""
    notice: str = ""  # for the worker, e.g. the catalog was updated since the draft was saved


class IntakeService:
    def __init__(self, ctx: AppContext, cases: CaseService | None = None, catalog=None):
        self.ctx = ctx
        self.cases = cases or CaseService(ctx)
        self._catalog = catalog

    @property
    def catalog(self):
        if self._catalog is None:
            self._catalog = shared_catalog(self.ctx.data_dir)
        return self._catalog

    def item(self, code: str) -> ServiceItem:
        item = self.catalog.get(code)
        if item is None:
            raise CaseError(self.unavailable_reason(code) or f"找不到事项 {code}")
        return item

    def unavailable_reason(self, code: str) -> str | None:
        """Why an item (a code, or a file name for an unreadable file) cannot be handled; None when it can."""
        return self.catalog.unavailable_reason(code)

    def catalog_version(self) -> str:
        """The label stamped on cases (as ``item_ref`` does): version plus a short content hash."""
        return self.catalog.catalog.version_label[:32]

    def recent_codes(self, worker: WorkerInfo, limit: int = 8) -> list[str]:
        with self.ctx.sessions() as s:
            rows = s.execute(select(Case.item_code).where(Case.created_by_id == worker.id)
                             .order_by(Case.created_at.desc()).limit(200)).scalars()
            return list(dict.fromkeys(rows))[:limit]

    def search(self, text: str, department: str | None, recent: list[str]):
        return self.catalog.search(text, department=department, recent_codes=recent)

    def applicant(self, resident_id: uuid.UUID | None) -> dict:
        """What the rules see of the applicant; the full ID stays in this layer."""
        if resident_id is None:
            return {}
        with self.ctx.sessions() as s:
            r = s.get(Resident, resident_id)
            if r is None:
                raise CaseError("找不到该居民")
            return {"name": r.name, "id_number": r.id_number, "phone": r.phone, "local_hukou": r.local_hukou}

    def check(self, code: str, resident_id, agent: dict | None, fields: dict, materials: dict,
              today: dt.date | None = None) -> ValidationResult:
        submission = {"applicant": self.applicant(resident_id), "agent": agent, "fields": fields,
                      "materials": {k: bool(v) for k, v in materials.items()}}
        return validate_submission(self.item(code), submission, today)

    def start(self, actor: WorkerInfo, code: str, resident_id, agent: dict | None) -> uuid.UUID:
        self.item(code)  # a worker-readable refusal for an unavailable item
        return self.cases.create_draft(actor, item_ref(code, self.catalog), resident_id, agent)

    def save_draft(self, actor: WorkerInfo, case_id, step: int, resident_id, agent, fields: dict,
                   materials: dict) -> None:
        self.cases.save_draft(actor, case_id, fields, materials, step, resident_id, agent)

    def load_draft(self, case_id) -> Draft:
        d = self.cases.get(case_id)
        if d.summary.state != State.DRAFT:
            raise CaseError("该案件不是草稿，不能继续办理")
        self.item(d.summary.item_code)  # the item may have become unavailable since
        current = self.catalog_version()
        notice = ""
        if d.catalog_version and d.catalog_version != current:
            notice = (f"提示：该草稿按事项目录 {d.catalog_version} 填写，目录已更新为 {current}。"
                      "请逐步核对已填内容，提交时按新目录检查。")
        return Draft(case_id=case_id, item_code=d.summary.item_code, resident_id=d.applicant_id, agent=d.agent,
                     fields=d.data, materials=d.materials, step=d.draft_step, catalog_version=d.catalog_version,
                     notice=notice)

    def material_records(self, code: str, received: dict) -> dict:
        """Store what the receipt and notice need: form, count, standard and whether it was received."""
        item = self.item(code)
        out = {}
        for m in item.materials:
            out[m.name] = {"received": bool(received.get(m.name)), "form": m.form, "count": m.count,
                           "standard": m.standard, "required": m.required is True}
        return out

    def outcomes(self, code: str, result: ValidationResult | None) -> list[Outcome]:
        """What the review page offers: an outcome only once every answer is in order; while required
        materials are missing only the one-time notice; otherwise 当场办结 and 转办, the item's mode first."""
        if result is None or result.errors or result.eligibility_failures:
            return []
        if result.missing_materials:
            return [Outcome(Action.AWAIT_MATERIALS, "一次性告知（待补材料）", default=True)]
        instant = self.item(code).mode == "即办"
        return [Outcome(Action.RESOLVE, Action.RESOLVE.label, default=instant),
                Outcome(Action.FORWARD, Action.FORWARD.label, default=not instant)]

    def finish(self, actor: WorkerInfo, case_id, code: str, resident_id, agent, fields: dict, materials: dict, *,
               outcome: Action | None = None, note: str = "", assignee_id: uuid.UUID | None = None) -> Finished:
        """Submit the wizard: accept (or await materials when required ones are missing) and, for an accepted
        case, resolve it on the spot or forward it — all in ONE transaction. If any part is refused (an unknown
        colleague, no result written), nothing changed: the case is still the draft and the worker can retry.

        The case is stamped with the catalog version the data was checked against (it may differ from
        the one stamped when the draft was created, if the catalog was updated in between).
        """
        version = self.catalog_version()
        result = self.check(code, resident_id, agent, fields, materials)
        if result.errors:
            raise CaseError("还有未填写或填写有误的内容：" + "；".join(msg for _k, msg in result.errors[:3]))
        if not result.eligible:
            raise CaseError("不符合申请条件：" + "；".join(result.eligibility_failures))
        missing = [m.name for m in result.missing_materials]
        offered = {o.action for o in self.outcomes(code, result)}
        outcome = Action(outcome) if outcome else (Action.AWAIT_MATERIALS if missing else None)
        if outcome is not None and outcome not in offered:
            raise CaseError("缺少必交材料，只能出具一次性告知单" if missing else "请选择当场办结或转办")
        records = self.material_records(code, materials)
        for name in missing:
            records[name]["required"] = True  # conditional materials that apply to this applicant
        keys = {f.key for _, f in self.item(code).iter_fields()}
        data = _plain({k: v for k, v in result.values.items() if k in keys})  # applicant/agent live on the case
        steps = [self.cases.submit_step(data, records, missing, catalog_version=version)]
        at, due = self.cases.ctx.now(), None  # corrected time, as every case action (app/desk/clock.py)
        if outcome == Action.RESOLVE:
            steps.append(self.cases.step(Action.RESOLVE, result_text=note))
        elif outcome == Action.FORWARD:
            due = self.cases.deadline_for(at)  # outside the write transaction: it reads settings
            steps.append(self.cases.forward_step(assignee_id=assignee_id, queue=self.item(code).department, note=note))
        detail = self.cases.run(actor, case_id, steps, at=at, due=due)
        return Finished(detail, result, DOCUMENT_AFTER.get(outcome) if outcome else None)


def _plain(values: dict) -> dict:
    """JSON-friendly copy of validated values (dates as ISO strings, Decimals as strings)."""
    import decimal

    def conv(v):
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        if isinstance(v, decimal.Decimal):
            return str(v)
        return v
    return conv(values)
