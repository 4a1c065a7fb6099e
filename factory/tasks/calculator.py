"""Exact evaluation of calculator annotations (`<<48/2=24>>`): parsed, never run."""

from __future__ import annotations

import ast
import operator
from fractions import Fraction


class NotArithmetic(Exception):
    """An expression holds something other than numbers, + - * / ** and parentheses."""


BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.Pow: operator.pow}
MAX_EXPONENT = 100
MAX_BITS = 4096  # with MAX_EXPONENT, bounds the work of any expression: nothing can hang


def _value(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = Fraction(str(node.value))  # via str: `0.2` is 1/5, not the nearest binary float
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = _value(node.operand)
        value = -value if isinstance(node.op, ast.USub) else value
    elif isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and (right.denominator != 1 or abs(right) > MAX_EXPONENT):
            raise NotArithmetic
        value = Fraction(BINARY[type(node.op)](left, right))
    else:
        raise NotArithmetic
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
        raise NotArithmetic
    return value


def evaluate(expression: str) -> Fraction | None:
    """Exact value of a calculator expression; None if it is not plain arithmetic. The text
    is parsed, never run, so a malformed or hostile annotation cannot do harm."""
    try:
        return _value(ast.parse(expression.replace(",", "").strip(), mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, NotArithmetic):
        return None
