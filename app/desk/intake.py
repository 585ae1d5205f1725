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

from app.core import rule_notes
from app.core.changes import Changes
from app.core.machine import DOCUMENT_AFTER
from app.core.residence import committee_region, residence_of
from app.core.vocabulary import AcceptanceMode, Action, DocKind, State
from app.core.workdays import DEFAULT_MAKEUP_WORKING_DAYS
from app.desk.auth import WorkerInfo
from app.desk.cases import CaseDetail, CaseError, CaseService
from app.desk.catalog.refs import item_ref, shared_catalog
from app.desk.context import AppContext
from app.desk.duplicates import EarlierCase, earlier_cases
from forms import agents
from forms.policy import Policy
from forms.schema import ServiceItem
from forms.validate import ValidationResult, validate_submission
from models import Case, Committee, Resident


@dataclass(frozen=True)
class Outcome:
    """One way to finish the wizard, as the review page offers it."""

    action: Action
    label: str
    default: bool = False
    # A warn rule failed: the worker must first record that the resident insists (居民坚持申请).
    needs_insist: bool = False
    # 容缺受理 (rules.md §8): accept and forward although a minor (deferrable) material is missing.
    acceptance_mode: str = ""


@dataclass(frozen=True)
class Finished:
    """The submitted case, the checks it passed, and the document to hand the resident now (None: none yet)."""

    detail: CaseDetail
    result: ValidationResult
    document: DocKind | None
    also: tuple[DocKind, ...] = ()  # further documents to hand over now (容缺受理告知书, 告知承诺书)

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
        """The service items the worker took last (a 诉求 is no item: 诉求登记 has its own entry, issue 20)."""
        with self.ctx.sessions() as s:
            rows = s.execute(select(Case.item_code).where(Case.created_by_id == worker.id, Case.kind == "service")
                             .order_by(Case.created_at.desc()).limit(200)).scalars()
            return list(dict.fromkeys(rows))[:limit]

    def search(self, text: str, department: str | None, recent: list[str]):
        return self.catalog.search(text, department=department, recent_codes=recent)

    def applicant(self, resident_id: uuid.UUID | None, today: dt.date | None = None) -> dict:
        """What the rules see of the applicant; the full ID stays in this layer. The 户籍 and 居住证 facts are
        derived against the committee's own place (app/core/residence.py)."""
        if resident_id is None:
            return {}
        with self.ctx.sessions() as s:
            r = s.get(Resident, resident_id)
            if r is None:
                raise CaseError("找不到该居民")
            com = s.get(Committee, r.committee_id)
            home = committee_region(com.settings if com else None)
            residence = residence_of(r, home, today or dt.date.today()).applicant_attrs(r.local_hukou)
            return {"name": r.name, "id_number": r.id_number, "phone": r.phone, **residence}

    def check(self, code: str, resident_id, agent: dict | None, fields: dict, materials: dict,
              today: dt.date | None = None, *, pledge: bool = False) -> ValidationResult:
        """``pledge``: the applicant chose 告知承诺制, so the proofs the item's pledge replaces are not missing."""
        submission = {"applicant": self.applicant(resident_id, today), "agent": agent, "fields": fields,
                      "materials": {k: bool(v) for k, v in materials.items()}, "pledge": pledge}
        return validate_submission(self.item(code), submission, today)

    def earlier_cases(self, code: str, resident_id: uuid.UUID | None) -> list[EarlierCase]:
        """The resident's cases of this item the worker should see before applying again (app/desk/duplicates.py)."""
        return earlier_cases(self.ctx, resident_id, code, self.item(code).repeat_window_days)

    def start(self, actor: WorkerInfo, code: str, resident_id, agent: dict | None) -> uuid.UUID:
        self.item(code)  # a worker-readable refusal for an unavailable item
        return self.cases.create_draft(actor, item_ref(code, self.catalog), resident_id, agents.recorded(agent))

    def save_draft(self, actor: WorkerInfo, case_id, step: int, resident_id, agent, fields: dict,
                   materials: dict) -> None:
        self.cases.save_draft(actor, case_id, fields, materials, step, resident_id, agents.recorded(agent))

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

    def material_records(self, code: str, received: dict, result: ValidationResult | None = None) -> dict:
        """Store what the receipt and notice need: form, count, standard and whether it was received.

        The count is the one the check worked out for these answers (one ID copy per household member) when
        ``result`` is given, else the item's own.
        """
        item = self.item(code)
        counts = result.material_counts if result is not None else {}
        out = {}
        for m in item.materials:
            out[m.name] = {"received": bool(received.get(m.name)), "form": m.form,
                           "count": counts.get(m.name, m.count),
                           "standard": m.standard, "required": m.required is True}
        return out

    def outcomes(self, code: str, result: ValidationResult | None) -> list[Outcome]:
        """What the review page offers: an outcome only once every answer is in order and no ``block`` rule
        failed (then only 不予受理); while required materials are missing only the one-time notice; otherwise
        当场办结 and 转办, the item's mode first.

        A failed ``warn`` rule does not refuse, but the department decides it: only 转办 (or the notice) is
        offered, and only once the worker confirms that the resident insists (``needs_insist``). ``info`` rules
        never change what is offered."""
        if result is None or result.errors or result.eligibility_failures:
            return []
        warned = bool(result.eligibility_warnings)
        if result.missing_materials:
            return [Outcome(Action.AWAIT_MATERIALS, "一次性告知（待补材料）", default=True, needs_insist=warned),
                    *_deferred_outcomes(result, warned)]
        if warned:
            return [Outcome(Action.FORWARD, Action.FORWARD.label, default=True, needs_insist=True)]
        instant = self.item(code).mode == "即办"
        return [Outcome(Action.RESOLVE, Action.RESOLVE.label, default=instant),
                Outcome(Action.FORWARD, Action.FORWARD.label, default=not instant)]

    def finish(self, actor: WorkerInfo, case_id, code: str, resident_id, agent, fields: dict, materials: dict, *,
               outcome: Action | None = None, note: str = "", assignee_id: uuid.UUID | None = None,
               insisted: bool = False, warning_note: str = "", acceptance_mode: str = "",
               credit_checked: bool = False, pledge: bool = False) -> Finished:
        """Submit the wizard: accept (or await materials when required ones are missing) and, for an accepted
        case, resolve it on the spot or forward it — all in ONE transaction. If any part is refused (an unknown
        colleague, no result written), nothing changed: the case is still the draft and the worker can retry.

        A failed ``block`` rule refuses (the worker issues 不予受理 instead). Failed ``warn`` rules need
        ``insisted`` (the resident insists on applying; ``warning_note`` is the worker's note on it) and are then
        forwarded, never resolved here; the failed warn and info rules are stored on the case by the accept step
        itself, in the same transaction and the same command to the server.

        Flexible acceptance (rules.md §8): ``pledge`` — the applicant signs the item's 告知承诺书 instead of the
        proofs it replaces; ``acceptance_mode="容缺受理"`` with outcome 转办 — accepted and forwarded although
        deferrable materials are missing, on the applicant's pledge to bring them by a deadline counted in working
        days (``credit_checked``: the worker confirmed the applicant is on no dishonesty list). Both are stored by
        the accept step, and the documents to sign are named in ``Finished.also``.

        The case is stamped with the catalog version the data was checked against (it may differ from
        the one stamped when the draft was created, if the catalog was updated in between).
        """
        version = self.catalog_version()
        item = self.item(code)
        if pledge and item.pledge is None:
            raise CaseError("该事项不适用告知承诺制")
        result = self.check(code, resident_id, agent, fields, materials, pledge=pledge)
        if result.errors:
            raise CaseError("还有未填写或填写有误的内容：" + "；".join(msg for _k, msg in result.errors[:3]))
        if not result.eligible:
            raise CaseError("不符合申请条件：" + "；".join(result.eligibility_failures)
                            + "。不能受理，请出具不予受理告知单")
        warnings = result.eligibility_warnings
        if warnings and not insisted:
            raise CaseError("有须由承办部门审核的提示：" + "；".join(warnings)
                            + "。居民坚持申请的，请勾选“居民坚持申请”后继续办理")
        missing = [m.name for m in result.missing_materials]
        offered = {(o.action, o.acceptance_mode) for o in self.outcomes(code, result)}
        outcome = Action(outcome) if outcome else (Action.AWAIT_MATERIALS if missing else None)
        deferred = acceptance_mode == AcceptanceMode.DEFERRED
        if outcome is not None and (outcome, str(AcceptanceMode.DEFERRED if deferred else "")) not in offered:
            if deferred:
                raise CaseError("只有缺少的材料均为可容缺的次要材料时，才能容缺受理并转办")
            if missing:
                raise CaseError("缺少必交材料，只能出具一次性告知单")
            raise CaseError("有须由承办部门审核的提示，不能当场办结，请转办" if warnings else "请选择当场办结或转办")
        records = self.material_records(code, materials, result)
        for name in missing:
            records[name]["required"] = True  # conditional materials that apply to this applicant
            if deferred:
                records[name]["deferred"] = True  # 容缺: to be brought by the make-up deadline
        for m in result.pledged_materials:
            records[m.name]["pledged"] = True  # replaced by the signed 告知承诺书
        flexible = self._flexible_terms(item, missing if deferred else [], pledge, credit_checked)
        if deferred:
            missing = []  # accepted: nothing is awaited before the case goes on
        keys = {f.key for _, f in self.item(code).iter_fields()}
        data = _plain({k: v for k, v in result.values.items() if k in keys})  # applicant/agent live on the case
        kept = rule_notes.entries(warnings, result.eligibility_infos)
        steps = [self.cases.submit_step(data, records, missing, catalog_version=version, rule_warnings=kept,
                                        warning_note=warning_note.strip() if warnings else "",
                                        flexible=flexible)]
        at, due = self.cases.ctx.now(), None  # corrected time, as every case action (app/desk/clock.py)
        if outcome == Action.RESOLVE:
            steps.append(self.cases.step(Action.RESOLVE, result_text=note))
        elif outcome == Action.FORWARD:
            due = self.cases.deadline_for(at)  # outside the write transaction: it reads settings
            steps.append(self.cases.forward_step(assignee_id=assignee_id, queue=self.item(code).department, note=note))
        detail = self.cases.run(actor, case_id, steps, at=at, due=due)
        also = tuple(d for d in detail.documents if d in (DocKind.MAKEUP_NOTICE, DocKind.PLEDGE))
        document = DOCUMENT_AFTER.get(outcome) if outcome else None
        if document == DocKind.COMPLETION and DocKind.CERTIFICATE in detail.documents:
            document = DocKind.CERTIFICATE  # what the resident came for (MZ-15); the 办结单 stays in the case window
        return Finished(detail, result, document, also)

    def _flexible_terms(self, item: ServiceItem, owed: list[str], pledge: bool, credit_checked: bool) -> dict | None:
        """The accept command's flexible-acceptance arguments (None: an ordinary acceptance). ``owed``: the
        materials a 容缺受理 applicant pledges to bring; the deadline is counted on the working-day calendar."""
        if not owed and not pledge:
            return None
        terms: dict = {"pledge_text": item.pledge.text if pledge and item.pledge else "",
                       "acceptance_mode": AcceptanceMode.DEFERRED if owed else AcceptanceMode.PLEDGE}
        if owed:
            if not credit_checked:
                raise CaseError("容缺受理前请核实申请人不在失信名单内（失信人员不适用容缺受理）")
            day, _provisional = self.cases.makeup_due_for(self.cases.ctx.now(), makeup_working_days(item))
            terms.update(makeup_materials=owed, makeup_due=day, credit_checked=True)
        return terms


def makeup_working_days(item: ServiceItem, today: dt.date | None = None) -> int:
    """The 容缺 make-up period in working days: the catalog's dated policy figure ``makeup_working_days``."""
    policy = item.policy
    day = today or dt.date.today()
    value = policy.value_on("makeup_working_days", day) if isinstance(policy, Policy) else policy.get(
        "makeup_working_days")
    try:
        days = int(value) if value is not None else DEFAULT_MAKEUP_WORKING_DAYS
    except (TypeError, ValueError):
        days = DEFAULT_MAKEUP_WORKING_DAYS
    return days if days >= 1 else DEFAULT_MAKEUP_WORKING_DAYS


def _deferred_outcomes(result: ValidationResult, warned: bool) -> list[Outcome]:
    """容缺受理并转办, offered only when every missing material is one the item marks deferrable."""
    if not result.only_deferrable_missing:
        return []
    return [Outcome(Action.FORWARD, "容缺受理并转办", needs_insist=warned, acceptance_mode=AcceptanceMode.DEFERRED)]


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
