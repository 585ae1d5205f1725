"""In which order an item's visibility and computed values can be worked out; derived once, at load time.

A value may read others: a computed field (``compute``) or an item-level ``computed`` value reads the names in its
expression; whether a field is shown reads the names in its own and its step's ``visible_if``; a repeat group's
rows carry computed cells that may read top-level names. :func:`evaluation_order` sorts an item's fields and
computed values so that each comes after everything it reads, and :mod:`forms.validate` resolves a submission in
that order in one pass, however long the chain. A cycle has no such order: the loader refuses the item, naming the
fields of the cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.core.errors import UserError
from forms.expr import names_used

if TYPE_CHECKING:
    from forms.schema import Field, ServiceItem


@dataclass(frozen=True)
class EvaluationOrder:
    """``keys``: every top-level field and item-level computed value, each after every name it reads.

    ``reads``: for each computed value (field or item level), the names its expression reads — a value waits for an
    answer when one of them is unanswered. ``rows``: for each repeat group with computed cells, those sub-fields
    in dependency order. ``rule_inputs``: for each eligibility rule (in the item's order), the input fields it
    reads, through computed values too — the wizard judges a rule on the step where those answers are given.
    ``shown_by``: for each field with a visibility condition (its own or its step's), the input fields that
    condition reads, through computed values. Derived data: read it, never change it (plain mappings, so an item
    still deep-copies).
    """

    keys: tuple[str, ...]
    reads: Mapping[str, frozenset[str]]
    rows: Mapping[str, tuple[str, ...]]
    rule_inputs: tuple[frozenset[str], ...] = ()
    shown_by: Mapping[str, frozenset[str]] = field(default_factory=dict)


class DependencyCycle(UserError, ValueError):
    """Values that read each other; ``str(err)`` is the Chinese message for the author, ``field`` where it is."""

    def __init__(self, cycle: list[str], computed: bool, group: str | None = None) -> None:
        self.cycle = cycle
        self.field = group or cycle[0]
        path = " → ".join(cycle)
        if group:
            message = f"重复组 {group} 的计算字段 {path} 互相依赖（循环）"
        elif computed:
            message = f"计算字段 {path} 互相依赖（循环）"
        else:
            message = f"字段 {path} 的显示条件与计算式互相依赖（循环）"
        super().__init__(message)


def evaluation_order(item: ServiceItem) -> EvaluationOrder:
    """The order of ``item``'s values; raise :class:`DependencyCycle` when some read each other."""
    reads: dict[str, frozenset[str]] = {}
    needs: dict[str, set[str]] = {}
    for step, fld in item.iter_fields():
        value = _names(fld.compute)
        if fld.is_computed:
            reads[fld.key] = frozenset(value)
        own = {sub.key for sub in fld.fields}
        for sub in fld.fields:  # a computed cell is part of the group's value; its row's names shadow the item's
            value |= _names(sub.compute) - own
        needs[fld.key] = _names(step.visible_if) | _names(fld.visible_if) | value
    for comp in item.computed:
        reads[comp.key] = frozenset(_names(comp.expr))
        needs[comp.key] = set(reads[comp.key])
    keys = _sorted(needs, lambda path: DependencyCycle(path, computed=all(k in reads for k in path)))
    rows = {fld.key: _row_order(fld) for _, fld in item.iter_fields() if any(s.is_computed for s in fld.fields)}
    inputs = {fld.key for _, fld in item.iter_fields() if not fld.is_computed}
    rule_inputs = tuple(_inputs_read(_names(rule.rule), reads, inputs) for rule in item.eligibility)
    shown_by = {fld.key: _inputs_read(_names(step.visible_if) | _names(fld.visible_if), reads, inputs)
                for step, fld in item.iter_fields() if step.visible_if or fld.visible_if}
    return EvaluationOrder(tuple(keys), reads, rows, rule_inputs, shown_by)


def _inputs_read(names: set[str], reads: Mapping[str, frozenset[str]], inputs: set[str]) -> frozenset[str]:
    """The input fields behind ``names``: an input itself, a computed value by what it reads (to any depth);
    other names (``applicant``, ``policy``) are no field. Called after the order is known, so there is no cycle."""
    out: set[str] = set()
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in inputs:
            out.add(name)
        todo.extend(reads.get(name, ()))
    return frozenset(out)


def _row_order(group: Field) -> tuple[str, ...]:
    computed = {sub.key: _names(sub.compute) for sub in group.fields if sub.is_computed}
    return tuple(_sorted(computed, lambda path: DependencyCycle(path, computed=True, group=group.key)))


def _names(expr: str | None) -> set[str]:
    return names_used(expr) if expr else set()


def _sorted(needs: Mapping[str, set[str]], cycle: Callable[[list[str]], DependencyCycle]) -> list[str]:
    """The keys of ``needs``, each after the keys it needs (other names are ignored), else in their given order.

    Depth-first, visiting in the given order so the result (and the cycle reported) is the same on every run.
    """
    position = {key: i for i, key in enumerate(needs)}
    placed: dict[str, bool] = {}  # False while the key is on the current path, True once it is in ``order``
    order: list[str] = []
    path: list[str] = []

    def visit(key: str) -> None:
        if placed.get(key) is False:
            raise cycle([*path[path.index(key):], key])
        if key in placed:
            return
        placed[key] = False
        path.append(key)
        for name in sorted(needs[key] & position.keys(), key=position.__getitem__):
            visit(name)
        path.pop()
        placed[key] = True
        order.append(key)

    for key in needs:
        visit(key)
    return order
