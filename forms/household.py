"""A household group checked as a household (issue 13; 民发〔2021〕57号《最低生活保障审核确认办法》).

A repeat group marked ``household: true`` (the shared ``household`` field of catalog.yaml) lists every member of
the applicant's household, the applicant included. Beyond the cell-by-cell checks every group gets, the rows must
make sense together:

- the applicant is one row, with relation 本人, only once, and that row carries the applicant's own ID number;
- no ID number appears twice;
- relation and age agree (a child is younger than the applicant, a parent older, a spouse of legal marriage age);
- 就业状况 and age agree (a 40-year-old is no 学龄前儿童; nobody under 16 is employed or unemployed).

Ages are always read from the row's ID number on the day of the check, never typed. Every problem is an input
error keyed ``household[i].sub`` whose Chinese message starts with the row (第 N 行：…).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from forms.identity import IdentityError, IdInfo, validate_id
from forms.schema import Field

SELF = "本人"
SPOUSE = "配偶"
# Relations a generation (or two) below or above the applicant: their age must lie on the right side of his.
_YOUNGER = ("子女", "孙子女或外孙子女")
_OLDER = ("父母", "祖父母或外祖父母")
# 民法典第一千零四十七条: 结婚年龄，男不得早于二十二周岁，女不得早于二十周岁.
_MARRIAGE_AGE = {"男": 22, "女": 20}
# 义务教育法第十一条: school starts at six full years (seven where conditions do not allow): at 8 a child is at school.
_PRESCHOOL = "学龄前儿童"
_SCHOOL_BY = 8
# 劳动法第十五条 forbids employing anyone under 16; 民发〔2021〕43号 treats under-16s as without work capacity.
_WORKING = ("在职", "灵活就业", "失业", "务农")
_WORK_AGE = 16


def is_household(fld: Field) -> bool:
    return bool(fld.household) and fld.kind.rows


def shape_problems(fld: Field) -> list[str]:
    """Authoring errors of a field marked ``household`` (the loader reports them)."""
    if not fld.kind.rows:
        return ["只有重复组（group）可以标记为 household"]
    subs = {sub.key: sub for sub in fld.fields}
    problems = []
    if "id_number" not in subs or subs["id_number"].type != "id_number":
        problems.append("家庭成员组（household）需要身份证号码子字段 id_number（类型 id_number）")
    relation = subs.get("relation")
    if relation is None or relation.type != "choice" or SELF not in relation.options:
        problems.append(f"家庭成员组（household）需要关系子字段 relation（单选，选项含「{SELF}」）")
    return problems


def check_household(fld: Field, rows: list[dict[str, Any]], applicant_id: str | None,
                    today: dt.date) -> list[tuple[str, str]]:
    """Errors of the rows taken together; ``rows`` are the parsed cell values (None where a cell is empty or wrong)."""
    errors: list[tuple[str, str]] = []
    ages = [_age(row.get("id_number"), today) for row in rows]
    selves = [i for i, row in enumerate(rows) if row.get("relation") == SELF]
    if not selves and all(row.get("relation") for row in rows):
        errors.append((fld.key, f"「{fld.label}」中应有一行关系为「{SELF}」，即申请人本人"))
    for i in selves[1:]:
        message = f"关系「{SELF}」只能有一行（第 {selves[0] + 1} 行已是{SELF}）"
        errors.append((_key(fld, i, "relation"), _row(i) + message))
    me = selves[0] if selves else None
    if me is not None and applicant_id and rows[me].get("id_number") not in (None, applicant_id):
        errors.append((_key(fld, me, "id_number"), f"{_row(me)}{SELF}的身份证号码与申请人的身份证号码不一致，请核对"))
    errors += _duplicates(fld, rows)
    my_age = ages[me] if me is not None and ages[me] is not None else _age(applicant_id, today)
    for i, (row, age) in enumerate(zip(rows, ages, strict=True)):
        if age is None:
            continue
        problem = _relation_problem(row.get("relation"), age, my_age, _sex(row.get("id_number")))
        if problem:
            errors.append((_key(fld, i, "relation"), _row(i) + problem))
        problem = _status_problem(row.get("work_status"), age)
        if problem:
            errors.append((_key(fld, i, "work_status"), _row(i) + problem))
    return errors


def _duplicates(fld: Field, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    first: dict[str, int] = {}
    errors = []
    for i, row in enumerate(rows):
        number = row.get("id_number")
        if not number:
            continue
        if number in first:
            message = f"身份证号码与第 {first[number] + 1} 行重复，每位成员只填一行"
            errors.append((_key(fld, i, "id_number"), _row(i) + message))
        else:
            first[number] = i
    return errors


def _relation_problem(relation: Any, age: int, my_age: int | None, sex: str | None) -> str | None:
    check = "，请核对关系或身份证号码"
    if relation == SPOUSE and sex in _MARRIAGE_AGE and age < _MARRIAGE_AGE[sex]:
        return f"配偶 {age} 岁，未达法定婚龄（{sex} {_MARRIAGE_AGE[sex]} 周岁）{check}"
    if my_age is None:
        return None
    if relation in _YOUNGER and age >= my_age:
        return (f"关系为「{relation}」，但年龄 {age} 岁不小于申请人（{my_age} 岁）{check}"
                "（年长于申请人的继子女等请选「其他」）")
    if relation in _OLDER and age <= my_age:
        return (f"关系为「{relation}」，但年龄 {age} 岁不大于申请人（{my_age} 岁）{check}"
                "（年幼于申请人的继父母等请选「其他」）")
    return None


def _status_problem(status: Any, age: int) -> str | None:
    if status == _PRESCHOOL and age >= _SCHOOL_BY:
        return f"{age} 岁，已过学龄前，就业状况不能为「{_PRESCHOOL}」，请核对"
    if status in _WORKING and age < _WORK_AGE:
        return (f"{age} 岁，未满 {_WORK_AGE} 周岁，就业状况不能为「{status}」"
                f"（可选「在校学生」「{_PRESCHOOL}」或「其他」）")
    return None


def _age(number: Any, today: dt.date) -> int | None:
    info = _info(number, today)
    return info.age_on(today) if info else None


def _sex(number: Any) -> str | None:
    """Sex of an ID number the row's cell already accepted (the 17th digit: odd 男, even 女)."""
    if not isinstance(number, str) or len(number) != 18 or not number[16].isdigit():
        return None
    return "男" if int(number[16]) % 2 == 1 else "女"


def _info(number: Any, today: dt.date) -> IdInfo | None:
    if not isinstance(number, str) or not number:
        return None
    try:
        return validate_id(number, today)
    except IdentityError:
        return None


def _key(fld: Field, row: int, sub: str) -> str:
    return f"{fld.key}[{row}].{sub}"


def _row(i: int) -> str:
    return f"第 {i + 1} 行："


def fit_sample(fld: Field, rows: Any, applicant: dict[str, Any]) -> Any:
    """A sample household whose 本人 row is ``applicant`` (the first row when none says 本人)."""
    if not isinstance(rows, list) or not rows or not applicant.get("id_number"):
        return rows
    rows = [dict(r) for r in rows]
    me = next((r for r in rows if r.get("relation") == SELF), rows[0])
    me.update(relation=SELF, id_number=applicant["id_number"], name=applicant.get("name") or me.get("name"))
    return rows
