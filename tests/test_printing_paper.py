"""What happened is what is printed (issue 13 §7): the receipt names where the case went (the item's forward
target), MZ-15 prints a 证明 from its template, and every item with an application form prints it prefilled for the
applicant to check and sign — each read back from the real PDF."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re

import pytest
from pypdf import PdfReader

from app.cli.main import main
from app.core.machine import item_paper, printable_documents
from app.core.vocabulary import Action, DocKind, State
from app.demo.samples import sample_document
from app.desk.auth import AuthService
from app.desk.cases import CaseService, ItemRef
from app.desk.catalog.refs import shared_catalog
from app.desk.intake import IntakeService
from app.desk.printing.data import AnswerTable
from app.desk.printing.layout import LAYOUTS
from app.desk.printing.render import render
from app.desk.printing.service import PrintError, PrintService
from app.desk.residents import ResidentInput, ResidentService
from forms.identity import mask_id
from forms.validate import sample_applicant, sample_submission, validate_submission
from tests.test_documents import _assert_no_overlap, _text_boxes

CATALOG = shared_catalog().catalog
APPLICATION_ITEMS = sorted(i.code for i in CATALOG if i.application_form is not None)
GUILAN_ID = "11010519491231002X"  # 张桂兰 of the desk_ctx fixture


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def _flat(value: str) -> str:
    return re.sub(r"\s+", "", value)


def _guilan(ctx):
    return ResidentService(ctx).search("张桂兰")[0].id


# --------------------------------------------------------------------------- 承办部门: where the case went


def _forwarded_mz02(ctx, **forward):
    desk = AuthService(ctx).login("desk", "deskpass")
    cases = CaseService(ctx)
    cid = cases.create_draft(desk, ItemRef("MZ-02", "最低生活保障", "民政", "转办", "test-1"), _guilan(ctx))
    cases.submit(desk, cid, {}, {"申请人居民身份证": {"received": True, "form": "原件及复印件", "count": 1}})
    cases.forward(desk, cid, **forward)
    return desk, cid


def test_receipt_names_the_items_forward_target_not_its_department_queue(desk_ctx):
    desk, cid = _forwarded_mz02(desk_ctx, assignee_id=None, queue="民政")  # what the wizard does
    printing = PrintService(desk_ctx)
    assert printing.build(cid, "receipt", 0, dt.datetime.now(dt.UTC)).department == "街道民政办（社会救助窗口）"
    text = _text(printing.produce(desk, cid, "receipt", layout="a4").pdf)
    assert "承办部门街道民政办（社会救助窗口）" in text
    assert "转交街道民政办（社会救助窗口）办理" in text


def test_receipt_of_a_case_forwarded_to_a_colleague_of_the_line_names_the_target_too(desk_ctx):
    boss = AuthService(desk_ctx).login("boss", "bosspass")  # a supervisor may take any line
    _desk, cid = _forwarded_mz02(desk_ctx, assignee_id=boss.id, queue="民政")
    assert PrintService(desk_ctx).build(cid, "receipt", 0, dt.datetime.now(dt.UTC)).department == \
        "街道民政办（社会救助窗口）"


def test_receipt_of_a_case_forwarded_elsewhere_names_that_queue(desk_ctx):
    _desk, cid = _forwarded_mz02(desk_ctx, assignee_id=None, queue="残联")
    assert PrintService(desk_ctx).build(cid, "receipt", 0, dt.datetime.now(dt.UTC)).department == "残联"


# --------------------------------------------------------------------------- MZ-15: the 证明


FACTS = "自2019年3月起居住在幸福里一区3号楼2单元301室。"  # the worker's closing mark is not doubled
PURPOSE = "提交中国银行幸福里支行办理开户"
RECORD = "社区居住台账第3册第12页；入户走访记录"


def _certified(ctx):
    intake = IntakeService(ctx)
    desk = AuthService(ctx).login("desk", "deskpass")
    rid = _guilan(ctx)
    item = intake.item("MZ-15")
    fields = sample_submission(item, intake.applicant(rid))["fields"] | {
        "facts": FACTS, "purpose": PURPOSE, "verify_record": RECORD, "list_entry": "第2项 居住情况证明",
        "verify_way": "查阅社区台账", "verified_by": "王晓燕"}
    materials = {m.name: True for m in item.materials}
    cid = intake.start(desk, "MZ-15", rid, None)
    finished = intake.finish(desk, cid, "MZ-15", rid, None, fields, materials, outcome=Action.RESOLVE,
                             note="已出具居住情况证明")
    return desk, cid, finished


@pytest.mark.parametrize("layout", LAYOUTS)
def test_resolved_mz15_prints_a_certificate_from_its_template(desk_ctx, layout):
    desk, cid, finished = _certified(desk_ctx)
    assert finished.document == DocKind.CERTIFICATE  # what the resident came for is handed over first
    # then the 申请表 and the 申请材料清单 every accepted case prints (issue 15)
    assert finished.detail.documents == (DocKind.CERTIFICATE, DocKind.COMPLETION, DocKind.APPLICATION,
                                         DocKind.PACKET)
    doc = PrintService(desk_ctx).produce(desk, cid, "certificate", layout=layout)
    number = finished.detail.summary.case_number
    text = _text(doc.pdf)
    certifying = (f"兹证明张桂兰（身份证号：{mask_id(GUILAN_ID)}）：自2019年3月起居住在幸福里一区3号楼2单元301室。"
                  f"以上情况经本居委会查阅社区台账。本证明用于{PURPOSE}。")
    for expected in (f"编号：ZM-{number}", certifying, "特此证明", "证明依据", "第2项居住情况证明", _flat(RECORD),
                     "王晓燕", "居住情况证明", "幸福里社区居民委员会", "盖章", "领取人（签字）", "存根"):
        assert expected in text, expected
    assert GUILAN_ID not in text and "。。" not in text
    assert "已收材料" not in text  # a certificate speaks of facts, not of the papers handed in
    if layout != "thermal80":
        assert len(PdfReader(io.BytesIO(doc.pdf)).pages) == 1


def test_certificate_is_numbered_and_recorded_like_the_other_documents(desk_ctx, tmp_path, capsys):
    desk, cid, finished = _certified(desk_ctx)
    number = finished.detail.summary.case_number
    printing = PrintService(desk_ctx)
    first = printing.keep_for_later(printing.produce(desk, cid, "certificate"))
    assert printing.build(cid, "certificate", 0, dt.datetime.now(dt.UTC)).doc_number == f"ZM-{number}"
    assert printing.jobs(cid)[0].doc_title == "证明"
    printing.record_print(first, printer="测试打印机", ok=True)
    with pytest.raises(PrintError, match="补打需要填写原因"):
        printing.produce(desk, cid, "certificate")
    again = printing.produce(desk, cid, "certificate", reprint_reason="居民遗失")
    assert "补打（第1次）" in _text(again.pdf)
    out = tmp_path / "zm.pdf"  # the command line prints it like the others: the default of a resolved MZ-15
    assert main(["--data-dir", str(desk_ctx.data_dir), "print", number, "--out", str(out),
                 "--reason", "存档"]) == 0
    assert "证明" in capsys.readouterr().out and "兹证明张桂兰" in _text(out.read_bytes())


def test_certificate_only_for_a_resolved_certificate_item(desk_ctx):
    mz15, mz01 = item_paper(CATALOG.get("MZ-15")), item_paper(CATALOG.get("MZ-01"))
    assert DocKind.CERTIFICATE in mz15 and DocKind.CERTIFICATE not in mz01
    assert DocKind.CERTIFICATE not in printable_documents(State.ACCEPTED, False, mz15)
    assert DocKind.CERTIFICATE not in printable_documents(State.RESOLVED, False, mz01)
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    cases = CaseService(desk_ctx)
    cid = cases.create_draft(desk, ItemRef("MZ-15", "居委会出具证明", "居委会", "即办", "test-1"), _guilan(desk_ctx))
    cases.submit(desk, cid, {}, {})
    with pytest.raises(PrintError, match="证明只在出具证明的事项当场办结后出具"):
        PrintService(desk_ctx).produce(desk, cid, "certificate")


# --------------------------------------------------------------------------- the prefilled 申请表


def test_every_material_named_an_application_form_is_flagged_as_one():
    named = {i.code for i in CATALOG for m in i.materials if "申请表" in m.name or "申请书" in m.name}
    assert named and named <= set(APPLICATION_ITEMS)
    assert "SF-02" in APPLICATION_ITEMS and "MZ-02" in APPLICATION_ITEMS and "MZ-15" not in APPLICATION_ITEMS


def _applicant(ctx, code: str):
    """A resident the item's sample applicant describes (age, sex), registered at the desk."""
    admin = AuthService(ctx).login("admin", "secret123")
    person = sample_applicant(CATALOG.get(code))
    saved = ResidentService(ctx).create(admin, ResidentInput(name=person["name"], id_number=person["id_number"],
                                                             phone=person["phone"], address="幸福里二区5号楼"))
    return saved.row.id, person


def _expected(item, submission) -> list[str]:
    """Every label and answer the form must show, each as its field kind writes it for paper (masked)."""
    result = validate_submission(item, submission)
    expected = []
    for _, fld in item.iter_fields():
        value = result.values.get(fld.key)
        if fld.is_computed or fld.key in result.hidden or value in (None, "", []):
            continue
        if fld.kind.rows:
            for sub in fld.fields:
                cells = [sub.kind.mask(sub, row.get(sub.key)) for row in value]
                if any(cells):
                    expected += [sub.label, *(c for c in cells if c)]
        else:
            expected += [fld.label, fld.kind.mask(fld, value)]
    return expected


@pytest.mark.parametrize("code", APPLICATION_ITEMS)
def test_application_form_renders_from_the_sample_submission(desk_ctx, code):
    """From the draft the wizard saved (raw answers, as on the review page): labels, answers, household,
    materials, signature line; the applicant's own name in full, every ID number masked."""
    item = CATALOG.get(code)
    rid, person = _applicant(desk_ctx, code)
    submission = sample_submission(item, person)
    fields = json.loads(json.dumps(submission["fields"], default=str))  # as a draft stores them
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    intake = IntakeService(desk_ctx)
    cid = intake.start(desk, code, rid, None)
    intake.save_draft(desk, cid, len(item.steps) + 3, rid, None, fields, submission["materials"])
    assert DocKind.APPLICATION in CaseService(desk_ctx).get(cid, desk).documents  # the case window offers it
    text = _text(PrintService(desk_ctx).produce(desk, cid, "application", layout="a4").pdf)
    for value in [item.name, "申请表", person["name"], mask_id(person["id_number"]), "申请人（签字或按手印）",
                  "日期", "申请人承诺", *(m.name for m in item.materials if submission["materials"][m.name])]:
        assert _flat(value) in text, value
    for value in _expected(item, submission):
        assert _flat(value) in text, (code, value)
    assert person["id_number"] not in text


def test_submitted_application_form_shows_the_household_table_and_computed_figures(desk_ctx):
    intake = IntakeService(desk_ctx)
    desk = AuthService(desk_ctx).login("desk", "deskpass")
    rid, person = _applicant(desk_ctx, "MZ-02")
    item = intake.item("MZ-02")
    submission = sample_submission(item, person)
    cid = intake.start(desk, "MZ-02", rid, None)
    intake.finish(desk, cid, "MZ-02", rid, None, submission["fields"], submission["materials"],
                  outcome=Action.FORWARD, insisted=True, warning_note="居民坚持申请")
    printing = PrintService(desk_ctx)
    data = printing.build(cid, "application", 0, dt.datetime.now(dt.UTC))
    household = next(t for t in data.tables if t.title.startswith("共同生活的家庭成员"))
    assert {"姓名", "身份证号码", "与申请人关系"} <= set(household.columns)
    assert any(mask_id(person["id_number"]) in row for row in household.rows)
    labels = [label for label, _ in data.answers]
    assert any(c.label in labels for c in item.computed)  # the figures the department decides on
    assert DocKind.APPLICATION in printing.allowed(cid) and DocKind.RECEIPT in printing.allowed(cid)
    text = _text(printing.produce(desk, cid, "application", layout="a5").pdf)
    assert f"编号：SQ-{data.case_number}" in text and "共同生活的家庭成员" in text


def test_application_form_not_after_a_refusal():
    assert DocKind.APPLICATION in printable_documents(State.DRAFT, False, {DocKind.APPLICATION})
    assert DocKind.APPLICATION in printable_documents(State.CLOSED, True, {DocKind.APPLICATION})
    assert DocKind.APPLICATION not in printable_documents(State.REFUSED, False, {DocKind.APPLICATION})
    assert DocKind.APPLICATION not in printable_documents(State.WITHDRAWN, False, {DocKind.APPLICATION})
    assert DocKind.APPLICATION not in printable_documents(State.DRAFT, False, ())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_long_application_form_stays_inside_the_page(layout):
    """30 long questions and a 15-member household: nothing crosses the page edge or another text."""
    question = "申请人家庭成员中是否有人享受其他社会救助或优抚待遇（如有请写明）"
    answers = tuple((f"第{i}项：{question}", "有，" * 12 + f"第{i}项") for i in range(1, 31))
    members = tuple((f"成员{i:02d}", mask_id(GUILAN_ID), "子女", "在校学生", f"{i * 100} 元") for i in range(1, 16))
    data = dataclasses.replace(sample_document("application"), answers=answers, tables=(
        AnswerTable("共同生活的家庭成员（含申请人本人）", ("姓名", "身份证号码", "与申请人关系", "就业状况", "月收入"),
                    members),))
    pdf = render(data, layout)
    text = _text(pdf)
    assert all(_flat(label) in text and _flat(value) in text for label, value in answers)
    assert "成员15" in text and "申请人（签字或按手印）" in text
    runs = list(_text_boxes(pdf))
    for _, (x0, y0, x1, y1), run, start, end, y, _ in runs:
        assert x0 <= start and end <= x1, (run, start, end, x1)
        assert y0 <= y <= y1, (run, y)
    _assert_no_overlap(runs)


CERTIFICATE_ITEM = """\
code: ZZ-01
name: 测试证明
department: 居委会
category: 测试类
mode: 即办
legal_basis: [测试依据]
conditions: [测试条件]
time_limit: 当场办结
forward_target: 社区居民委员会
steps:
  - title: 第一步
    fields:
      - {{key: facts, label: 事实, type: text, required: true}}
certificate:
  text: "{text}"
  basis: [{basis}]
"""


@pytest.mark.parametrize("text,basis,problem", [
    ("兹证明{applicant}：{fact}。", "facts", "证明模板引用了不存在的字段：fact"),
    ("兹证明{applicant}：{facts}。", "record", "证明模板引用了不存在的字段：record"),
    ("兹证明{applicant}：{facts。", "facts", "花括号不成对"),
])
def test_a_certificate_template_naming_no_field_is_an_authoring_error(tmp_path, text, basis, problem):
    from forms.loader import load_catalog
    (tmp_path / "ZZ-01.yaml").write_text(CERTIFICATE_ITEM.format(text=text, basis=basis), "utf-8")
    catalog = load_catalog(tmp_path)
    assert "ZZ-01" not in catalog.items
    assert any(problem in e.message for e in catalog.errors), [str(e) for e in catalog.errors]
