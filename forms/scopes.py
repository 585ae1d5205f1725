"""The loader's check of rules about 户籍 and 居住证 (rules.md §6): each states its scope and reads that scope's
``applicant`` attribute. The old ``applicant.local_hukou`` meant 本市, 本区县 or 本市城镇 depending on the item, so
no rule may read it any more."""

from __future__ import annotations

from forms import expr as ex
from forms.schema import SCOPE_ATTRS, EligibilityRule


def scope_problems(rule: EligibilityRule) -> list[str]:
    """What is wrong with ``rule``'s scope, in Chinese for the author (empty when nothing)."""
    read = ex.attrs_used(rule.rule, "applicant")
    if "local_hukou" in read:
        return ["rule：applicant.local_hukou 含义不明，请改用 applicant.hukou_city_local / hukou_county_local / "
                "hukou_street_local 之一，并写明 scope（本市/本区县/本街道）"]
    if rule.scope is None:
        scoped = read & set(SCOPE_ATTRS.values())
        return ["rule 涉及户籍或居住证，请写明 scope（本市/本区县/本街道/居住证）"] if scoped else []
    if SCOPE_ATTRS[rule.scope] not in read:
        return [f"scope 为{rule.scope}，rule 应读取 applicant.{SCOPE_ATTRS[rule.scope]}"]
    return []
