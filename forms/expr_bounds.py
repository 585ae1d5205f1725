"""The cost bounds of catalog expressions: number size, text and list length, total steps.

Every operation of :class:`BoundedEval` is checked *before* it runs where its cost depends on its operands
(``**``, ``*`` on text or lists, ``<<``, ``+`` on text), and every node's value is checked after: an integer above
:data:`MAX_INT_BITS` bits, a text or list longer than :data:`MAX_LENGTH`, or more than :data:`MAX_STEPS` nodes
evaluated raises :class:`BoundError` (the evaluator turns it into an undetermined result). ``%`` on text (printf
formatting, ``'%0999999999d' % 1``) is refused outright.

:func:`bound_problems` is the static half, run by ``catalog validate``: every constant sub-expression is worked
out with the same bounds, and a constant power exponent above :data:`MAX_EXPONENT` is refused even when the base
is a field, so ``4000000**4000000`` or ``amount ** 1000`` never reaches a desk.
"""

from __future__ import annotations

import ast
import operator as op
from typing import Any

import simpleeval

MAX_INT_BITS = 256  # ~1.2e77; inputs are at most 1e12 (forms/values.py), products of a few stay far below
MAX_EXPONENT = 256
MAX_LENGTH = 100_000  # characters of a text, items of a list
MAX_STEPS = 5_000  # nodes evaluated per expression (an expression has at most MAX_EXPR_LENGTH characters)


class BoundError(ArithmeticError):
    """An operation beyond the cost bounds; ``str(err)`` is a Chinese message."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int)  # bool included: True ** n and True * "x" are ints too


def check_value(value: Any) -> None:
    """Refuse a value above the bounds (called on every node's result)."""
    if _is_int(value):
        if value.bit_length() > MAX_INT_BITS:
            raise BoundError(f"数值过大（超过 {MAX_INT_BITS} 位二进制）")
    elif isinstance(value, (str, list, tuple)) and len(value) > MAX_LENGTH:
        raise BoundError(f"文字或列表过长（超过 {MAX_LENGTH}）")


def power(a: Any, b: Any) -> Any:
    if _is_int(a) and _is_int(b) and b > 0 and abs(a) > 1 and b * (abs(a).bit_length() - 1) > MAX_INT_BITS:
        raise BoundError(f"乘方结果过大（{a} 的 {b} 次方）"[:80])
    return a ** b


def multiply(a: Any, b: Any) -> Any:
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, (str, list, tuple)) and _is_int(times) and len(seq) * max(times, 0) > MAX_LENGTH:
            raise BoundError(f"重复后的文字或列表过长（超过 {MAX_LENGTH}）")
    if _is_int(a) and _is_int(b) and a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
        raise BoundError(f"乘积过大（超过 {MAX_INT_BITS} 位二进制）")
    return a * b


def add(a: Any, b: Any) -> Any:
    if isinstance(a, (str, list, tuple)) and isinstance(b, (str, list, tuple)) and len(a) + len(b) > MAX_LENGTH:
        raise BoundError(f"拼接后的文字或列表过长（超过 {MAX_LENGTH}）")
    return a + b


def lshift(a: Any, b: Any) -> Any:
    if _is_int(b) and b > MAX_INT_BITS:
        raise BoundError(f"左移位数过大（超过 {MAX_INT_BITS}）")
    return a << b


def modulo(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        raise BoundError("不能对文字使用 %（格式化）")
    return a % b


OPERATORS: dict[type, Any] = {
    **simpleeval.DEFAULT_OPERATORS,
    ast.Pow: power, ast.Mult: multiply, ast.Add: add, ast.LShift: lshift, ast.RShift: op.rshift, ast.Mod: modulo,
}


class BoundedEval(simpleeval.EvalWithCompoundTypes):
    """simpleeval with the bounded operators, a value check on every node and a step count per evaluation."""

    def __init__(self, functions: dict[str, Any]) -> None:
        super().__init__(operators=dict(OPERATORS), functions=functions, names={})
        self.max_steps = MAX_STEPS
        self.steps = 0

    def eval(self, expr: str, previously_parsed: Any = None) -> Any:
        self.steps = 0
        return super().eval(expr, previously_parsed)

    def _eval(self, node: Any) -> Any:
        self.steps += 1
        if self.steps > self.max_steps:
            raise BoundError(f"计算步骤过多（超过 {self.max_steps} 步）")
        result = super()._eval(node)
        check_value(result)
        return result


# ---------------------------------------------------------------------------
# Static check

_CONSTANT_NODES = (ast.Constant, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.List, ast.Tuple,
                   ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def _constant_nodes(tree: ast.expr) -> set[int]:
    """ids of the nodes whose value depends on no field or function (children before parents: reversed BFS)."""
    constant: set[int] = set()
    for node in reversed(list(ast.walk(tree))):
        if isinstance(node, _CONSTANT_NODES) and all(id(c) in constant for c in ast.iter_child_nodes(node)):
            constant.add(id(node))
    return constant


def _fold(engine: BoundedEval, node: ast.expr) -> tuple[Any, str | None]:
    """(value, bound problem) of a constant sub-expression; other failures are the evaluator's business."""
    try:
        return engine.eval("", previously_parsed=node), None
    except BoundError as exc:
        return None, str(exc)
    except Exception:  # 1/0 or "a" < 1 in a constant: not a cost problem
        return None, None


def bound_problems(tree: ast.expr) -> list[str]:
    """Chinese problems of the constant parts of ``tree`` that exceed the bounds (see the module docstring)."""
    constant = _constant_nodes(tree)
    engine = BoundedEval({})
    problems: list[str] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.expr) and id(node) in constant:
            _, problem = _fold(engine, node)
            if problem:
                problems.append(f"{problem}：{ast.unparse(node)[:60]}")
            continue
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and id(node.right) in constant:
            exponent, _ = _fold(engine, node.right)
            if isinstance(exponent, (int, float)) and abs(exponent) > MAX_EXPONENT:
                problems.append(f"幂指数过大（超过 {MAX_EXPONENT}）：{ast.unparse(node)[:60]}")
        stack.extend(ast.iter_child_nodes(node))
    return problems
