"""The promotion rule of ``audience recalibrate --promote-if``: a small expression language,
parsed and evaluated here, never handed to ``eval``.

::

    rule       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum (( ">=" | "<=" | ">" | "<" | "==" | "!=" ) sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | NUMBER | NAME | "(" rule ")"

A NAME is a metric of the candidate (``silhouette``, ``ari``, ``stability``...) or of the
champion (``champion.silhouette``). Example::

    silhouette >= champion.silhouette - 0.02 and ari >= 0.6
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from audience.errors import InputError

DEFAULT_RULE = (
    "silhouette > champion.silhouette + 0.005 "
    "or (ari < 0.8 and silhouette >= champion.silhouette - 0.02)"
)
"""Promote a clearly better model, or one that is as good when the champion's segments no
longer describe the customers (its assignment and the refit's agree little). A refit on
unchanged data is neither, and is not promoted."""

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_]"
    r"[A-Za-z0-9_]*)?)|(?P<op>>=|<=|==|!=|[<>()+\-*/]))"
)
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Negative:
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Number | Name | Negative | Binary | Not


@dataclass(frozen=True)
class Verdict:
    """Whether the rule holds, and each comparison with the values it compared."""

    holds: bool
    reasons: list[str]

    def explain(self) -> str:
        return "; ".join(self.reasons)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[str] = []
        position = 0
        while position < len(text.rstrip()):
            match = _TOKEN.match(text, position)
            if not match:
                raise self.error(f"unexpected {text[position:].strip()[:12]!r}")
            self.tokens.append(match.group().strip())
            position = match.end()
        self.at = 0

    def error(self, what: str) -> InputError:
        return InputError(
            f"--promote-if {self.text!r}: {what}; write e.g. "
            "'silhouette >= champion.silhouette - 0.02 and ari >= 0.6'"
        )

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise self.error("the rule ends too early")
        self.at += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise self.error("the rule is empty")
        node = self.logical("or")
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()!r}")
        return node

    def logical(self, word: str) -> Node:
        inner: Callable[[], Node] = self.conjunction if word == "or" else self.negation
        node = inner()
        while self.peek() == word:
            self.take()
            node = Binary(word, node, inner())
        return node

    def conjunction(self) -> Node:
        return self.logical("and")

    def negation(self) -> Node:
        if self.peek() == "not":
            self.take()
            return Not(self.negation())
        left = self.sum()
        if self.peek() in _COMPARE:
            return Binary(self.take(), left, self.sum())
        return left

    def sum(self) -> Node:
        node = self.product()
        while self.peek() in ("+", "-"):
            node = Binary(self.take(), node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek() in ("*", "/"):
            node = Binary(self.take(), node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.take()
        if token == "-":
            return Negative(self.unary())
        if token == "(":
            node = self.logical("or")
            if self.peek() != ")":
                raise self.error("a '(' is not closed")
            self.take()
            return node
        if token[0].isdigit() or token[0] == ".":
            return Number(float(token))
        if token in ("and", "or", "not") or (not token[0].isalpha() and token[0] != "_"):
            raise self.error(f"expected a number or a metric, got {token!r}")
        return Name(token)


def parse_rule(text: str) -> Node:
    """The rule's syntax tree; an :class:`InputError` says where it does not parse."""
    return _Parser(text).parse()


def names_in(node: Node) -> set[str]:
    """Every metric name the rule reads."""
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Binary):
        return names_in(node.left) | names_in(node.right)
    if isinstance(node, Negative | Not):
        return names_in(node.operand)
    return set()


def evaluate_rule(text: str, values: Mapping[str, float]) -> Verdict:
    """Evaluate the rule on ``values`` (``silhouette``, ``champion.silhouette``, ``ari``...)."""
    node = parse_rule(text)
    missing = sorted(names_in(node) - set(values))
    if missing:
        raise InputError(
            f"--promote-if {text!r}: unknown metric(s) {', '.join(missing)}; known: "
            + ", ".join(sorted(values))
        )
    reasons: list[str] = []
    holds = _truth(node, values, reasons)
    return Verdict(holds, reasons)


def _truth(node: Node, values: Mapping[str, float], reasons: list[str]) -> bool:
    if isinstance(node, Not):
        return not _truth(node.operand, values, reasons)
    if isinstance(node, Binary) and node.op in ("and", "or"):
        left = _truth(node.left, values, reasons)
        right = _truth(node.right, values, reasons)  # both sides: the record shows every test
        return left and right if node.op == "and" else left or right
    if isinstance(node, Binary) and node.op in _COMPARE:
        a, b = _value(node.left, values), _value(node.right, values)
        result = _COMPARE[node.op](a, b)
        reasons.append(f"{_text(node)}: {a:.4g} {node.op} {b:.4g} is {str(result).lower()}")
        return result
    return _value(node, values) != 0


def _value(node: Node, values: Mapping[str, float]) -> float:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Name):
        return float(values[node.name])
    if isinstance(node, Negative):
        return -_value(node.operand, values)
    if isinstance(node, Binary) and node.op in _ARITHMETIC:
        right = _value(node.right, values)
        if node.op == "/" and right == 0:
            return float("nan")
        return _ARITHMETIC[node.op](_value(node.left, values), right)
    raise InputError(f"--promote-if: {_text(node)!r} is a test, not a number")


def _text(node: Node) -> str:
    if isinstance(node, Number):
        return f"{node.value:g}"
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Negative):
        return f"-{_text(node.operand)}"
    if isinstance(node, Not):
        return f"not {_text(node.operand)}"
    return f"{_text(node.left)} {node.op} {_text(node.right)}"
