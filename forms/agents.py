"""Agents (代办人): who may act for an applicant, what they bring, how they are recorded (rules.md §6).

An agent brings their own ID and, unless they are a close relative on an item that exempts close relatives, a
written authorisation (授权委托书). Those materials are defined once in ``catalog.yaml`` (``agent_materials``) and
added to every item by the loader with the conditions below, so no item can forget them.

The agent's name, ID number, phone and relation are captured once on the wizard's applicant page, stored on the
case (``Case.agent``) and printed masked like the applicant's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from forms.identity import normalize_phone
from forms.values import InvalidValue, is_empty, parse_id_number, parse_person_name, parse_phone

# What the worker picks as the agent's relation to the applicant (the first six are close relatives).
AGENT_RELATIONS: tuple[str, ...] = ("配偶", "子女", "父母", "兄弟姐妹", "祖父母或外祖父母", "孙子女或外孙子女",
                                    "其他亲属", "邻居或朋友", "其他")
# 近亲属 as the Civil Code defines them (《民法典》第一千零四十五条：配偶、父母、子女、兄弟姐妹、祖父母、外祖父母、
# 孙子女、外孙子女). An item with ``agent_relative_exempt: true`` does not ask these agents for a 委托书.
CLOSE_RELATIVES = frozenset({"配偶", "父母", "子女", "兄弟姐妹", "祖父母或外祖父母", "孙子女或外孙子女"})

# The conditions the loader writes on the agent materials (expressions of forms/expr.py).
WHEN_AGENT = "agent != null"
WHEN_AGENT_NOT_CLOSE_RELATIVE = "agent != null and not agent.close_relative"

PART_LABELS = {"name": "姓名", "id_number": "身份证号码", "phone": "联系电话"}
MISSING = {"name": "请填写代办人姓名", "id_number": "请填写代办人身份证号码", "phone": "请填写代办人的联系电话"}


def is_close_relative(relation: Any) -> bool:
    return isinstance(relation, str) and relation.strip() in CLOSE_RELATIVES


def material_condition(relative_exempt: bool, item_exempts: bool) -> str:
    """When an agent material is required: with any agent, or with an agent who is not a close relative."""
    return WHEN_AGENT_NOT_CLOSE_RELATIVE if relative_exempt and item_exempts else WHEN_AGENT


def parse_part(part: str, raw: Any, today: dt.date) -> Any:
    """One part of an agent as typed, checked; raises InvalidValue (Chinese) when missing or wrong.

    The validator (forms/validate.py) and the applicant page use this one reading, so an agent the page lets
    through is one the rules accept."""
    if is_empty(raw):
        raise InvalidValue(MISSING[part])
    if part == "name":
        return parse_person_name(raw)
    if part == "id_number":
        return parse_id_number(raw, today)
    return parse_phone(raw)[0]


def agent_problem(agent: dict | None, today: dt.date) -> str | None:
    """The first thing to fix about an agent as typed (Chinese), or None when the agent can be recorded."""
    if agent is None:
        return None
    for part, label in PART_LABELS.items():
        raw = agent.get(part)
        if is_empty(raw):
            return MISSING[part]
        try:
            parse_part(part, raw, today)
        except InvalidValue as exc:
            return f"代办人{label}：{exc}"
    if agent.get("relation") not in AGENT_RELATIONS:
        return "请选择代办人与申请人的关系"
    return None


def recorded(agent: dict | None) -> dict | None:
    """The agent as the case stores it: parts trimmed, the ID in upper case, the phone as digits (kept as typed
    when it is no phone number: the validator reports it)."""
    if not isinstance(agent, dict):
        return None
    out = {k: v.strip() if isinstance(v, str) else v for k, v in agent.items()}
    if isinstance(out.get("id_number"), str):
        out["id_number"] = out["id_number"].upper()
    phone = out.get("phone")
    if isinstance(phone, str) and phone:
        try:
            out["phone"] = parse_phone(phone)[0]
        except InvalidValue:
            out["phone"] = normalize_phone(phone) or phone
    return out
