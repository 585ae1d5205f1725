"""Authoring errors reported in one run, broken items on the desk, and the catalog version of resumed drafts.

Each test here guards a gap an audit found: errors that only appeared after the first round was fixed,
`catalog validate` saying OK for a folder with nothing in it, `show` calling a visible_if field plain
必填, a broken item that vanished from the 办事 search, and a resumed draft keeping a stale catalog version.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from app.cli import catalog as catalog_cli
from app.core.paths import FORMS_ITEMS_DIR
from app.desk.auth import AuthService
from app.desk.cases import CaseError, CaseService
from app.desk.catalog.search import CatalogService
from app.desk.intake import IntakeService
from app.desk.residents import ResidentService
from forms.loader import load_catalog
from forms.validate import sample_submission
from models import OutboxEntry
from tests.test_catalog_items import GOOD_ITEM

ASCII_WORDS = re.compile(r"[A-Za-z]{3,}")  # parser messages, type lists ("did not find", "longtext")


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, "utf-8")
    return directory / name


def _errors(catalog, file: str) -> list:
    return [e for e in catalog.errors if e.file == file]


def _has(errors, field, fragment) -> bool:
    return any(e.field == field and fragment in e.message for e in errors)


# ---------------------------------------------------------------------------
# 1. One run reports every error of a file

def test_label_and_expression_errors_come_out_of_the_same_run(tmp_path):
    text = (GOOD_ITEM.replace("label: 金额", "label: Amount")
            .replace("type: money,", "type: money, visible_if: kindd == \"甲\",")
            + "eligibility:\n  - {rule: 'amount >', message: Amount is wrong, level: warn}\n")
    _write(tmp_path, "ZZ-01.yaml", text)
    errors = _errors(load_catalog(tmp_path), "ZZ-01.yaml")
    assert all(e.item_code == "ZZ-01" for e in errors)
    assert _has(errors, "amount", "中文")                       # English label
    assert _has(errors, "eligibility[0].message", "中文")        # English message
    assert _has(errors, "amount", "不存在的字段：kindd")          # reference to a missing field
    assert _has(errors, "eligibility[0]", "语法错误")             # bad expression


def test_unknown_type_and_a_bad_reference_elsewhere_come_out_together(tmp_path):
    text = (GOOD_ITEM.replace("type: money", "type: currency")
            + "computed:\n  - {key: total, label: 合计, expr: 'amount + nothing'}\n")
    errors = _errors(load_catalog(_write(tmp_path, "ZZ-01.yaml", text).parent), "ZZ-01.yaml")
    assert _has(errors, "amount", "未知字段类型")
    assert _has(errors, "total", "不存在的字段：nothing")
    # The field set aside for its type is still a known name: no invented "不存在的字段：amount".
    assert not any("不存在的字段：amount" in e.message for e in errors), errors


def test_second_pass_invents_no_errors_for_placeholders(tmp_path):
    _write(tmp_path, "catalog.yaml", 'version: "1.0.0"\ndepartments: [民政]\n')
    text = GOOD_ITEM.replace("mode: 即办", "mode: 快办").replace("department: 民政\n", "")
    text = text.replace("{name: 申请人身份证, form: 原件, standard: 有效期内的身份证}", "{name: ID card}")
    errors = _errors(load_catalog(_write(tmp_path, "ZZ-01.yaml", text).parent), "ZZ-01.yaml")
    assert _has(errors, "mode", "无效") and _has(errors, "department", "缺少")
    assert _has(errors, "materials[0].name", "中文") and _has(errors, "materials[0].form", "缺少")
    # The stand-ins used to get past these errors are never reported (部门「占位」, a missing material …).
    assert not any("占位" in e.message for e in errors), errors
    assert len(errors) == 5, errors


def test_english_choice_option_is_flagged_like_a_label(tmp_path):
    _write(tmp_path, "ZZ-01.yaml", GOOD_ITEM.replace("options: [甲, 乙]", "options: [甲, Other]"))
    catalog = load_catalog(tmp_path)
    (err,) = _errors(catalog, "ZZ-01.yaml")
    assert (err.item_code, err.field) == ("ZZ-01", "kind")
    assert "options[1]" in err.message and "「Other」" in err.message and "中文" in err.message
    assert "ZZ-01" in catalog.unavailable


def test_bundled_catalog_still_loads_clean():
    catalog = load_catalog(FORMS_ITEMS_DIR)
    assert catalog.errors == [] and len(catalog) == 65


# ---------------------------------------------------------------------------
# 2./3. CLI: validate on nothing, show of a field required only when visible

def _run(capsys, *argv: str):
    parser = argparse.ArgumentParser()
    catalog_cli.register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    code = args.func(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("make", ["missing", "empty", "only-catalog-yaml"])
def test_validate_refuses_a_missing_or_empty_folder(capsys, tmp_path, make):
    folder = tmp_path / "items"
    if make != "missing":
        folder.mkdir()
    if make == "only-catalog-yaml":
        _write(folder, "catalog.yaml", 'version: "1.0.0"\n')
    code, out, err = _run(capsys, "catalog", "validate", str(folder))
    assert code != 0
    assert "OK" not in out and "错误" in err and str(folder) in err


def test_show_marks_fields_required_only_when_visible(capsys):
    code, out, _ = _run(capsys, "catalog", "show", "MZ-02")
    line = next(x for x in out.splitlines() if x.strip().startswith("- vehicle_note"))
    assert code == 0 and "必填（显示时）" in line and "has_vehicle" in line
    line = next(x for x in out.splitlines() if x.strip().startswith("- has_vehicle"))
    assert "必填" in line and "显示时" not in line


def test_required_text_covers_step_and_group_visibility():
    from forms.schema import Field, Step
    plain = Field(key="a", label="甲", type="text", required=True)
    step = Step(title="第二步", visible_if="x == 1", fields=[plain])
    group = Field(key="g", label="成员", type="group", visible_if="y", fields=[plain])
    assert catalog_cli.required_text(plain) == "必填"
    assert catalog_cli.required_text(plain, step) == "必填（显示时）"
    assert catalog_cli.required_text(plain, group) == "必填（显示时）"
    assert catalog_cli.required_text(Field(key="b", label="乙", type="text")) == ""


# ---------------------------------------------------------------------------
# 4. A broken item is found, greyed and explained in the worker's words

@pytest.fixture
def broken_dir(tmp_path) -> Path:
    folder = tmp_path / "items"
    _write(folder, "ZZ-01.yaml", GOOD_ITEM)
    _write(folder, "ZZ-02.yaml", GOOD_ITEM.replace("ZZ-01", "ZZ-02").replace("测试事项", "坏掉的补贴申请")
           .replace("type: money", "type: currency"))
    _write(folder, "ZZ-03.yaml", "code: ZZ-03\nname: 老年证办理\ndepartment: 民政\nsteps: [unclosed\n")
    _write(folder, "broken.yaml", "\xff not yaml: [")
    return folder


@pytest.fixture
def broken_service(broken_dir) -> CatalogService:
    svc = CatalogService(broken_dir)
    svc.load()
    return svc


def _hit(svc, query, key):
    return next((h for h in svc.search(query) if h.code == key), None)


def test_broken_items_are_found_by_code_file_and_name(broken_service):
    assert list(broken_service.catalog.items) == ["ZZ-01"]
    for query, key in [("ZZ-02", "ZZ-02"), ("ZZ-02.yaml", "ZZ-02"), ("坏掉的补贴", "ZZ-02"), ("hddbt", "ZZ-02"),
                       ("laonianzheng", "ZZ-03"), ("ZZ-03", "ZZ-03"), ("broken", "broken.yaml")]:
        hit = _hit(broken_service, query, key)
        assert hit is not None and not hit.available, (query, key)
        file = key if key.endswith(".yaml") else f"{key}.yaml"
        assert hit.reason == f"该事项的配置文件有误，暂不能办理，请联系管理员（文件 {file}）"
    assert _hit(broken_service, "ZZ-03", "ZZ-03").name == "老年证办理"  # read from a file that does not parse


def test_reason_for_the_worker_has_no_parser_detail(broken_service):
    catalog = broken_service.catalog
    for key, reason in catalog.unavailable.items():
        text = reason.replace(catalog.broken[key].file, "")
        assert not ASCII_WORDS.search(text), reason
    # The technical detail stays for `catalog validate` and the log.
    assert any("未知字段类型" in e.message for e in catalog.errors)


def test_available_items_rank_before_broken_ones_and_department_filter(broken_service):
    hits = broken_service.search("")
    assert hits[0].code == "ZZ-01" and hits[0].available
    assert {h.code for h in hits if not h.available} == {"ZZ-02", "ZZ-03", "broken.yaml"}
    assert {h.code for h in broken_service.search("", department="民政")} == {"ZZ-01", "ZZ-02", "ZZ-03"}


def test_cli_search_and_show_of_a_broken_item(capsys, broken_dir):
    code, out, _ = _run(capsys, "catalog", "--items-dir", str(broken_dir), "search", "ZZ-02")
    assert code == 0 and out.splitlines()[0].startswith("ZZ-02") and "不可用" in out
    code, out, _ = _run(capsys, "catalog", "--items-dir", str(broken_dir), "show", "ZZ-02")
    assert code == 1 and "未知字段类型" in out  # the administrator sees the technical reason


def test_intake_refuses_a_broken_item_with_the_worker_reason(broken_service):
    intake = IntakeService(None, catalog=broken_service)
    assert intake.unavailable_reason("ZZ-01") is None
    with pytest.raises(CaseError, match=r"配置文件有误.*ZZ-02\.yaml"):
        intake.item("ZZ-02")


@pytest.mark.gui
def test_desk_lists_a_broken_item_greyed_and_explains_instead_of_opening(qtbot, styled_app, broken_service,
                                                                          monkeypatch):
    from ui.desk import desk_page
    from ui.desk.item_list_model import UNAVAILABLE_COLOR
    from ui.desk.service_wizard import ServiceWizard
    shown: list[str] = []
    monkeypatch.setattr(desk_page.QMessageBox, "information", lambda _p, _t, text: shown.append(text))
    from ui.services import ChangeBus
    services = SimpleNamespace(intake=IntakeService(None, catalog=broken_service), current_worker=None,
                               change_bus=ChangeBus())
    page = desk_page.DeskPage(services)
    qtbot.addWidget(page)
    page.show()

    banner = page.unavailable.text()
    assert page.unavailable.isVisibleTo(page) and "配置文件有误" in banner and "ZZ-02.yaml" in banner
    assert "ZZ-03 老年证办理" in banner and "currency" not in banner and "YAML" not in banner

    page.search.setText("ZZ-02")
    index = page.model.index(0)
    assert page.model.hit_at(0).code == "ZZ-02"
    assert page.model.data(index).startswith("【不可用】ZZ-02")
    assert page.model.data(index, Qt.ForegroundRole) == UNAVAILABLE_COLOR
    assert "ZZ-02.yaml" in page.model.data(index, Qt.ToolTipRole)
    assert "不可用" in page.hint.text() and "配置文件有误" in page.hint.text()

    qtbot.keyClick(page.search, Qt.Key_Return)
    assert shown and "配置文件有误" in shown[0] and "ZZ-02.yaml" in shown[0]
    assert not page.findChildren(ServiceWizard)
    assert page.open_item("ZZ-02") is None

    page.search.setText("ZZ-01")
    assert page.model.hit_at(0).available and "找到 1 项" in page.hint.text()


# ---------------------------------------------------------------------------
# 5. The catalog version a case was really checked against

def _catalog_version(tmp_path: Path, version: str) -> CatalogService:
    folder = tmp_path / f"catalog-{version}"
    folder.mkdir()
    for path in FORMS_ITEMS_DIR.glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())
    meta = folder / "catalog.yaml"
    meta.write_text(re.sub(r"(?m)^version:.*$", f'version: "{version}"', meta.read_text("utf-8")), "utf-8")
    svc = CatalogService(folder)
    svc.load()
    return svc


def test_resumed_draft_is_stamped_with_the_catalog_it_was_checked_against(desk_ctx, tmp_path):
    worker = AuthService(desk_ctx).login("desk", "deskpass")
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    old, new = _catalog_version(tmp_path, "2090.1.1"), _catalog_version(tmp_path, "2091.2.2")
    before = IntakeService(desk_ctx, catalog=old)
    case_id = before.start(worker, "FG-02", resident.id, None)
    assert CaseService(desk_ctx).get(case_id).catalog_version.startswith("2090.1.1")
    submission = sample_submission(new.get("FG-02"), before.applicant(resident.id), dt.date.today())
    before.save_draft(worker, case_id, 2, resident.id, None, submission["fields"], {})
    assert before.load_draft(case_id).notice == ""

    after = IntakeService(desk_ctx, catalog=new)  # the desk restarted with a newer catalog
    draft = after.load_draft(case_id)
    assert "目录已更新" in draft.notice and "2090.1.1" in draft.notice and "2091.2.2" in draft.notice
    assert draft.catalog_version.startswith("2090.1.1")

    finished = after.finish(worker, case_id, "FG-02", resident.id, None, submission["fields"],
                            submission["materials"])
    detail, result = finished.detail, finished.result
    assert result.errors == [] and detail.summary.state == "accepted"
    assert detail.catalog_version == after.catalog_version() and detail.catalog_version.startswith("2091.2.2")
    assert CaseService(desk_ctx).get(case_id).catalog_version.startswith("2091.2.2")
    with desk_ctx.sessions() as s:
        sent = s.scalars(select(OutboxEntry).where(OutboxEntry.name == "case.accept.v1")).all()[-1]
    assert sent.args["catalog_version"].startswith("2091.2.2")
    assert sent.args["previous_catalog_version"].startswith("2090.1.1")


def test_finish_on_the_same_catalog_keeps_the_version_and_the_command_unchanged(desk_ctx, tmp_path):
    worker = AuthService(desk_ctx).login("desk", "deskpass")
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    intake = IntakeService(desk_ctx, catalog=_catalog_version(tmp_path, "2090.1.1"))
    case_id = intake.start(worker, "FG-02", resident.id, None)
    submission = sample_submission(intake.item("FG-02"), intake.applicant(resident.id), dt.date.today())
    materials = dict(submission["materials"])
    materials[next(iter(materials))] = False  # one required material missing → pending materials
    finished = intake.finish(worker, case_id, "FG-02", resident.id, None, submission["fields"], materials)
    detail, result = finished.detail, finished.result
    assert finished.document == "notice"  # the one-time notice goes to the resident
    assert detail.summary.state == "pending_materials" and result.missing_materials
    assert detail.catalog_version.startswith("2090.1.1")
    with desk_ctx.sessions() as s:
        sent = s.scalars(select(OutboxEntry).where(OutboxEntry.name == "case.await_materials.v1")).one()
    assert "catalog_version" not in sent.args and sent.args["missing"]
