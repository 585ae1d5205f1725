"""catalog.yaml ``agent_materials``: what every item asks of an agent (代办人), added to each item by the loader.

An item file does not list them; when they are required is not the author's to say either: the loader writes
the condition (forms/agents.py) — with any agent, or, for an entry marked ``relative_exempt`` on an item with
``agent_relative_exempt: true``, only with an agent who is not a close relative.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from forms.agents import material_condition
from forms.schema import Material, ServiceItem

AgentMaterial = tuple[Material, bool]  # the material, and whether a close relative is exempt from it
Problem = tuple[str | None, str]


def read_agent_materials(raw: Any, translate: Callable[[ErrorDetails, str], str]) -> tuple[list[AgentMaterial],
                                                                                            list[Problem]]:
    """The section as materials, and each authoring error (where, Chinese message); ``translate`` words a
    schema error as the loader does everywhere else."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [("agent_materials", "agent_materials 应为材料列表")]
    out: list[AgentMaterial] = []
    problems: list[Problem] = []
    for i, entry in enumerate(raw):
        where = f"agent_materials[{i}]"
        if not isinstance(entry, dict):
            problems.append((where, "应为键值对"))
            continue
        entry = dict(entry)
        exempt = entry.pop("relative_exempt", False)
        if not isinstance(exempt, bool):
            problems.append((where, "relative_exempt：应为 true 或 false"))
            exempt = False
        for attr in ("required", "for_agent"):
            if entry.pop(attr, None) is not None:
                problems.append((where, f"{attr}：代办材料何时需要由加载器按代办情况决定，不能填写"))
        try:
            out.append((Material.model_validate({**entry, "for_agent": True}), exempt))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                attr = ".".join(str(p) for p in err["loc"])
                problems.append((where, f"{attr}：{translate(err, attr)}"))
    return out, problems


def add_agent_materials(item: ServiceItem, materials: list[AgentMaterial]) -> list[Problem]:
    """Append the agent materials to ``item`` with their conditions; an item that lists one itself is refused
    (one mechanism, not two)."""
    names = {m.name for m, _ in materials}
    own = {m.name for m in item.materials}
    problems: list[Problem] = [
        (f"材料:{m.name}", f"材料「{m.name}」由 catalog.yaml 的 agent_materials 在有代办人时统一加入，事项文件中请删除")
        for m in item.materials if m.name in names or m.for_agent]
    added = [m.model_copy(update={"required": material_condition(exempt, item.agent_relative_exempt)})
             for m, exempt in materials if m.name not in own]
    item.materials = [*item.materials, *added]
    return problems
