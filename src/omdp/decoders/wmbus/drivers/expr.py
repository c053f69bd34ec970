"""Derived values of drivers: small arithmetic expressions over the values read before them.

``calc: "(lo0 if day <= 15 else lo0 + hi0) * 0.1"``: names are earlier fields of the same
driver; allowed are numbers, ``+ - * / // % ** << >> & |``, comparisons, ``and``/``or``/``not``,
``x if c else y``, ``min``/``max``/``abs``/``round``. An expression is parsed once, when the
driver loads; anything else is refused then. A name without a value (its bytes were missing)
makes the value missing too.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

Number = int | float

_BINARY: Final[dict[type[ast.operator], Callable[[Any, Any], Any]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
}
_COMPARE: Final[dict[type[ast.cmpop], Callable[[Any, Any], bool]]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCTIONS: Final[dict[str, Callable[..., Number]]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,  # to the nearest integer, or to the digits given: round(x, 1)
}


class Missing(Exception):
    """A name the expression needs has no value in this telegram."""


class Expression:
    """A parsed, checked expression; call :meth:`evaluate` with the values by name."""

    def __init__(self, text: str, known: frozenset[str]) -> None:
        """Parse ``text``; ``known`` are the names it may use.

        Raises:
            ValueError: a syntax error, a construct not allowed, or an unknown name.
        """
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            msg = f"calc {text!r}: {exc.msg}"
            raise ValueError(msg) from None
        self.text = text
        self._body = tree.body
        self._check(self._body, known)

    def _check(self, node: ast.AST, known: frozenset[str]) -> None:
        allowed = (
            ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.BoolOp, ast.Name, ast.Constant,
            ast.Call, ast.Load, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd,
            *_BINARY, *_COMPARE,
        )  # fmt: skip
        for sub in ast.walk(node):
            if not isinstance(sub, allowed):
                msg = f"calc {self.text!r}: {type(sub).__name__} is not allowed"
                raise ValueError(msg)
            if isinstance(sub, ast.Constant) and not isinstance(sub.value, int | float):
                msg = f"calc {self.text!r}: only numbers are allowed"
                raise ValueError(msg)
            if isinstance(sub, ast.Call) and not (
                isinstance(sub.func, ast.Name) and sub.func.id in _FUNCTIONS and not sub.keywords
            ):
                msg = f"calc {self.text!r}: only min, max, abs and round may be called"
                raise ValueError(msg)
            if isinstance(sub, ast.Name) and sub.id not in known and sub.id not in _FUNCTIONS:
                msg = f"calc {self.text!r}: {sub.id!r} is not a field before it"
                raise ValueError(msg)

    def evaluate(self, values: Mapping[str, Number]) -> Number | None:
        """Return the value, or ``None`` when a name it needs has none."""
        try:
            result = _eval(self._body, values)
        except Missing:
            return None
        except (ZeroDivisionError, OverflowError, ValueError):
            return None
        return result if isinstance(result, int | float) else int(result)


def _eval(node: ast.expr, values: Mapping[str, Number]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise Missing(node.id)
        return values[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Compare):
        left = _eval(node.left, values)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, values)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, values) else node.orelse, values)
    if isinstance(node, ast.BoolOp):
        results = (_eval(v, values) for v in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _FUNCTIONS[node.func.id](*(_eval(a, values) for a in node.args))
    msg = f"{type(node).__name__} is not allowed"
    raise ValueError(msg)
