"""Household groups checked as a household (issue 13, point 6; 民发〔2021〕57号).

The applicant is one row (本人) and only once, with the applicant's own ID; IDs are unique; relation, age (read from
the ID) and 就业状况 agree; a household income of 0 must be confirmed; the members' ID and 户口簿 copies follow the
household size, in the check, on the materials page and on the printed receipt.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil

import pytest
from pypdf import PdfReader

from app.core.paths import FORMS_ITEMS_DIR
from app.core.vocabulary import Action
from app.desk.auth import AuthService
from app.desk.intake import IntakeService
from app.desk.printing.service import PrintService
from app.desk.residents import ResidentService
from forms.loader import load_catalog
from forms.validate import make_id_number, sample_applicant, sample_submission, validate_submission

TODAY = dt.date(2026, 11, 20)
MEMBER_IDS = "共同生活家庭成员居民身份证"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(FORMS_ITEMS_DIR)


def _household_items(catalog) -> list[str]:
    return [item.code for item in catalog if any(f.household for _, f in item.iter_fields())]


def _applicant(age: int = 52) -> dict:
    return {"name": "张建国", "id_number": make_id_number(age, "男", TODAY), "phone": "13852001234",
            "local_hukou": True}


def _member(relation: str, age: int, seed: int, work: str = "其他", income: float = 300, sex: str = "男") -> dict:
    return {"name": f"成员{seed}", "id_number": make_id_number(age, sex, TODAY, seed=seed), "relation": relation,
            "work_status": work, "monthly_income": income}


def _dibao(catalog, *others: dict, applicant_age: int = 52, self_income: float = 1200):
    item = catalog.get("MZ-02")
    applicant = _applicant(applicant_age)
    submission = sample_submission(item, applicant, TODAY)
    me = {"name": applicant["name"], "id_number": applicant["id_number"], "relation": "本人", "work_status": "失业",
          "monthly_income": self_income}
    submission["fields"]["household"] = [me, *others]
    return item, submission


def _errors(item, submission) -> dict[str, str]:
    return dict(validate_submission(item, submission, TODAY).errors)


# ---------------------------------------------------------------------------
# The catalog

def test_every_household_item_declares_its_group_and_its_sample_is_valid(catalog):
    codes = _household_items(catalog)
    assert {"MZ-02", "MZ-03", "MZ-05", "MZ-06", "FG-01", "FG-02", "FG-03", "FG-04", "QT-01"} <= set(codes)
    for code in codes:
        item = catalog.get(code)
        submission = sample_submission(item, sample_applicant(item, TODAY), TODAY)
        assert validate_submission(item, submission, TODAY).errors == [], code
        assert item.field("no_income_confirmed") is not None, code  # every household can be confirmed at 0


def test_sample_puts_the_given_applicant_on_the_self_row(catalog):
    item = catalog.get("FG-01")
    applicant = _applicant(48)
    rows = sample_submission(item, applicant, TODAY)["fields"]["household"]
    assert [r["id_number"] for r in rows if r["relation"] == "本人"] == [applicant["id_number"]]


def test_income_help_lists_the_exclusions_of_57(catalog):
    group = catalog.get("MZ-02").field("household")
    income = next(f for f in group.fields if f.key == "monthly_income")
    for text in (group.help, income.help):
        for excluded in ("57", "优待抚恤金", "计划生育奖励与扶助金", "奖学金", "见义勇为", "社会救助款物",
                         "城乡居民基本养老保险基础养老金"):
            assert excluded in text, excluded


def test_loader_refuses_a_material_counted_per_something_that_is_not_a_group(tmp_path):
    folder = tmp_path / "items"
    shutil.copytree(FORMS_ITEMS_DIR, folder)
    path = folder / "MZ-02.yaml"
    text = path.read_text("utf-8")
    assert "per: household" in text
    path.write_text(text.replace("per: household", "per: house_count", 1), "utf-8")
    errors = [e for e in load_catalog(folder).errors if e.file == "MZ-02.yaml"]
    assert any("house_count" in e.message and "重复组" in e.message for e in errors), errors


def test_loader_refuses_a_household_group_without_relation_or_id(tmp_path):
    folder = tmp_path / "items"
    shutil.copytree(FORMS_ITEMS_DIR, folder)
    path = folder / "catalog.yaml"
    text = path.read_text("utf-8")
    path.write_text(text.replace("options: [本人, 配偶,", "options: [申请人, 配偶,", 1), "utf-8")
    errors = load_catalog(folder).errors
    assert any(e.field == "household" and "本人" in e.message for e in errors), errors


# ---------------------------------------------------------------------------
# The applicant's row

def test_a_consistent_household_passes(catalog):
    item, submission = _dibao(catalog, _member("配偶", 50, 1, sex="女"), _member("子女", 20, 2, "在校学生", 0),
                              _member("父母", 78, 3, "退休", 900), _member("孙子女或外孙子女", 3, 4, "学龄前儿童", 0))
    assert _errors(item, submission) == {}


def test_the_applicant_must_be_in_the_household(catalog):
    item, submission = _dibao(catalog, _member("配偶", 50, 1, sex="女"))
    submission["fields"]["household"][0]["relation"] = "其他"
    errors = _errors(item, submission)
    assert "「本人」" in errors["household"] and "申请人" in errors["household"]


def test_the_applicant_is_one_row_only(catalog):
    item, submission = _dibao(catalog, _member("本人", 50, 1))
    errors = _errors(item, submission)
    assert errors["household[1].relation"].startswith("第 2 行") and "第 1 行" in errors["household[1].relation"]
    assert list(errors) == ["household[1].relation"]


def test_the_self_row_has_the_applicants_id(catalog):
    item, submission = _dibao(catalog, _member("配偶", 50, 1, sex="女"))
    submission["fields"]["household"][0]["id_number"] = make_id_number(52, "男", TODAY, seed=9)
    errors = _errors(item, submission)
    assert errors["household[0].id_number"].startswith("第 1 行") and "申请人" in errors["household[0].id_number"]


def test_ids_are_unique_across_rows(catalog):
    spouse = _member("配偶", 50, 1, sex="女")
    item, submission = _dibao(catalog, spouse, {**_member("子女", 20, 2), "id_number": spouse["id_number"]})
    errors = _errors(item, submission)
    assert errors["household[2].id_number"].startswith("第 3 行") and "第 2 行" in errors["household[2].id_number"]
    submission["fields"]["household"][2]["id_number"] = make_id_number(20, "男", TODAY, seed=2)
    assert _errors(item, submission) == {}


# ---------------------------------------------------------------------------
# Relation, age and status

@pytest.mark.parametrize(("relation", "age", "fragment"), [
    ("子女", 60, "子女"), ("子女", 52, "子女"), ("孙子女或外孙子女", 55, "孙子女"),
    ("父母", 40, "父母"), ("祖父母或外祖父母", 30, "祖父母"),
])
def test_relation_and_age_must_agree(catalog, relation, age, fragment):
    item, submission = _dibao(catalog, _member(relation, age, 5))
    message = _errors(item, submission)["household[1].relation"]
    assert message.startswith("第 2 行") and fragment in message and f"{age} 岁" in message


def test_a_spouse_below_the_legal_marriage_age_is_refused(catalog):
    item, submission = _dibao(catalog, _member("配偶", 17, 1, sex="女"))
    assert "婚龄" in _errors(item, submission)["household[1].relation"]
    submission["fields"]["household"][1] = _member("配偶", 21, 1, sex="女")
    assert _errors(item, submission) == {}


def test_a_forty_year_old_is_no_preschool_child(catalog):
    item, submission = _dibao(catalog, _member("配偶", 40, 1, "学龄前儿童", 0, sex="女"))
    message = _errors(item, submission)["household[1].work_status"]
    assert message.startswith("第 2 行") and "40 岁" in message and "学龄前儿童" in message
    submission["fields"]["household"][1] = _member("子女", 5, 1, "学龄前儿童", 0)
    assert _errors(item, submission) == {}


def test_a_child_under_16_is_not_in_work(catalog):
    item, submission = _dibao(catalog, _member("子女", 12, 1, "在职", 500))
    assert "16 周岁" in _errors(item, submission)["household[1].work_status"]
    submission["fields"]["household"][1]["work_status"] = "在校学生"
    assert _errors(item, submission) == {}


def test_ages_are_read_from_the_ids_on_the_day_of_the_check(catalog):
    """The same child is preschool in 2026 and must not be in 2030: the age comes from the ID, not from input."""
    item, submission = _dibao(catalog, _member("子女", 5, 1, "学龄前儿童", 0))
    assert validate_submission(item, submission, TODAY).errors == []
    later = TODAY.replace(year=2030)
    submission["applicant"]["id_number"] = submission["fields"]["household"][0]["id_number"]
    assert "household[1].work_status" in dict(validate_submission(item, submission, later).errors)


# ---------------------------------------------------------------------------
# A household income of 0

def test_zero_income_asks_for_confirmation(catalog):
    item, submission = _dibao(catalog, _member("配偶", 50, 1, income=0, sex="女"), self_income=0)
    submission["fields"]["no_income_confirmed"] = None  # not answered yet
    result = validate_submission(item, submission, TODAY)
    assert "no_income_confirmed" not in result.hidden
    assert result.computed["per_capita_income"] == 0
    assert "确认家庭无任何收入" in result.errors_for("no_income_confirmed")[0]
    submission["fields"]["no_income_confirmed"] = False
    assert "核实" in validate_submission(item, submission, TODAY).errors_for("no_income_confirmed")[0]
    submission["fields"]["no_income_confirmed"] = True
    assert validate_submission(item, submission, TODAY).errors == []


def test_no_confirmation_when_there_is_income_or_no_member_yet(catalog):
    item, submission = _dibao(catalog, _member("配偶", 50, 1, income=0, sex="女"), self_income=100)
    result = validate_submission(item, submission, TODAY)
    assert "no_income_confirmed" in result.hidden and result.errors == []
    submission["fields"]["household"] = []
    assert "no_income_confirmed" in validate_submission(item, submission, TODAY).hidden


# ---------------------------------------------------------------------------
# Material counts follow the household

def _four(catalog):
    return _dibao(catalog, _member("配偶", 50, 1, sex="女"), _member("子女", 20, 2, "在校学生", 0),
                  _member("子女", 16, 3, "在校学生", 0))


def test_member_copies_follow_the_household_size(catalog):
    item, submission = _four(catalog)
    result = validate_submission(item, submission, TODAY)
    assert result.errors == []
    assert result.material_counts[MEMBER_IDS] == 4 and result.material_counts["户口簿"] == 4
    assert result.material_counts["家庭经济状况核对授权书"] == 1
    submission["fields"]["household"] = submission["fields"]["household"][:1]
    assert validate_submission(item, submission, TODAY).material_counts[MEMBER_IDS] == 1


def test_receipt_of_a_four_person_household_lists_four_copies(desk_ctx, catalog):
    worker = AuthService(desk_ctx).login("desk", "deskpass")
    resident = ResidentService(desk_ctx).search("张桂兰")[0]
    intake = IntakeService(desk_ctx)
    me = intake.applicant(resident.id)
    today = dt.date.today()
    fields = sample_submission(intake.item("MZ-02"), me, today)["fields"]
    fields["household"] = [
        {"name": me["name"], "id_number": me["id_number"], "relation": "本人", "work_status": "退休",
         "monthly_income": 400},
        {"name": "李德顺", "id_number": make_id_number(78, "男", today, seed=1), "relation": "配偶",
         "work_status": "退休", "monthly_income": 300},
        {"name": "李建华", "id_number": make_id_number(50, "男", today, seed=2), "relation": "子女",
         "work_status": "失业", "monthly_income": 0},
        {"name": "李小梅", "id_number": make_id_number(20, "女", today, seed=3), "relation": "孙子女或外孙子女",
         "work_status": "在校学生", "monthly_income": 0}]
    materials = {m.name: m.required is True for m in intake.item("MZ-02").materials}
    case_id = intake.start(worker, "MZ-02", resident.id, None)
    finished = intake.finish(worker, case_id, "MZ-02", resident.id, None, fields, materials,
                             outcome=Action.FORWARD)
    assert finished.result.errors == [] and finished.result.material_counts[MEMBER_IDS] == 4
    pdf = PrintService(desk_ctx).produce(worker, case_id, "receipt").pdf
    lines = [line.strip() for page in PdfReader(io.BytesIO(pdf)).pages for line in page.extract_text().splitlines()]
    assert _copies(lines, MEMBER_IDS) == "4" and _copies(lines, "户口簿") == "4"
    assert _copies(lines, "家庭经济状况核对授权书") == "1"


def _copies(lines: list[str], name: str) -> str:
    """The 份数 cell of a material's row in the receipt's table (extracted as: 序号, 名称, 形式, 份数)."""
    assert name in lines, lines
    return lines[lines.index(name) + 2]


# ---------------------------------------------------------------------------
# The wizard

@pytest.mark.gui
def test_wizard_group_editor_shows_the_row_error_and_the_counts(window, qtbot):
    from tests.test_gui_wizard import household, open_item, pick_applicant, press_next, sample_fields

    wiz = open_item(qtbot, window, "dibao", "MZ-02")
    pick_applicant(qtbot, wiz, "王淑珍", "王淑珍")
    press_next(qtbot, wiz)
    press_next(qtbot, wiz)
    page = wiz.steps[0]
    rows = household(window.services, wiz.applicant.resident.id)
    rows.append({**rows[1], "name": "李德顺", "relation": "父母"})  # the spouse's ID again, as a 70-year-old parent
    page.editors["household"].set_value(rows)
    press_next(qtbot, wiz)
    assert wiz.current_page() is page
    error = page.lines["household"]
    assert error.isVisible() and error.is_error()
    text = error.message()
    assert "第 3 行" in text and "第 2 行" in text and "父母" in text, text

    page.editors["household"].set_value(rows[:2] + [
        {"name": "李小军", "id_number": make_id_number(30, "男", seed=21), "relation": "子女", "work_status": "失业",
         "monthly_income": 0},
        {"name": "李小红", "id_number": make_id_number(28, "女", seed=22), "relation": "子女",
         "work_status": "失业", "monthly_income": 0}])
    press_next(qtbot, wiz)
    assert wiz.current_page() is not page, page.lines["household"].message()
    fields = sample_fields(wiz, window.services)
    while wiz.current_page() is not wiz.materials:
        wiz.current_page().set_values(fields)
        press_next(qtbot, wiz)
    assert "4 份" in wiz.materials.boxes[MEMBER_IDS].text()
    assert "1 份" in wiz.materials.boxes["家庭经济状况核对授权书"].text()
