"""A small catalog with one rule of each level, for tests of how the desk treats them (issue 13).

The production rules are being re-graded, so tests of the desk's flow do not lean on any one of them: ZZ-91
(转办) and ZZ-92 (即办) state their levels here. The catalog-level settings are the bundled ``catalog.yaml``.
"""

from __future__ import annotations

from pathlib import Path

from app.core.paths import FORMS_ITEMS_DIR
from app.desk.catalog.search import CatalogService

BLOCK = "未满 18 周岁，请由监护人到户籍所在地社区代为申请"
WARN = "申请金额超过一般标准（5000 元），请核实"
INFO = "乙类申请一般还需提供收入证明"
INSTANT_WARN = "金额较大，一般不当场办理，请核实"

_ITEM = """\
code: {code}
name: {name}
aliases: [{alias}]
department: 民政
category: 测试类
mode: {mode}
legal_basis: [测试依据]
conditions: [年满 18 周岁]
time_limit: 十个工作日
forward_target: 街道民政办
materials:
  - {{name: 申请人身份证, form: 原件, standard: 有效期内的身份证}}
steps:
  - title: 申请内容
    fields:
      - {{key: amount, label: 申请金额, type: money, required: true}}
      - {{key: kind, label: 类别, type: choice, required: true, options: [甲, 乙]}}
eligibility:
{rules}
"""

RULES = {
    "ZZ-91": [("block", "applicant.age >= 18", BLOCK), ("warn", "amount <= 5000", WARN),
              ("info", "kind == '甲'", INFO)],
    "ZZ-92": [("warn", "amount <= 100", INSTANT_WARN)],
}


def write_level_catalog(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "catalog.yaml").write_bytes((FORMS_ITEMS_DIR / "catalog.yaml").read_bytes())
    for code, name, alias, mode in (("ZZ-91", "测试补贴申请", "测试补贴", "转办"),
                                    ("ZZ-92", "测试证明开具", "测试证明", "即办")):
        rules = "\n".join(f"  - {{level: {lv}, rule: \"{rule}\", message: {msg}}}" for lv, rule, msg in RULES[code])
        (folder / f"{code}.yaml").write_text(_ITEM.format(code=code, name=name, alias=alias, mode=mode,
                                                          rules=rules), "utf-8")
    return folder


def level_catalog(folder: Path) -> CatalogService:
    svc = CatalogService(write_level_catalog(folder))
    catalog = svc.load()
    assert not catalog.errors and set(catalog.items) == {"ZZ-91", "ZZ-92"}, catalog.errors
    return svc
