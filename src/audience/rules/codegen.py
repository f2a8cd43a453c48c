"""All definitions as one generated Python function: the live path's fast lane.

:class:`~audience.rules.compile_python.PythonRules` compiles each definition to nested
closures; calling them costs one Python call per node. This module writes the same conditions
as one function body -- ``h0 = (...) and (...)``, ``v[slot] = h0``, ... -- compiled once, so
that evaluating fifty definitions is fifty expressions and no call per leaf.

Nothing a user wrote reaches the generated source: constants are bound by name (``c0``,
``c1``...) in the function's namespace, slots are integers and operators come from a fixed
table. The expressions follow the closures' semantics exactly (a missing value, None, makes
a leaf false); the property-based tests check the generated function against SQL, and the
closures through the traces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, time
from typing import Any

from audience.model.conditions import (
    All,
    AnyOf,
    Comparison,
    Condition,
    EventCondition,
    EventCounter,
    InSegment,
    Not,
)
from audience.model.rule_segment import SegmentDefinition

Program = Callable[[list[Any], datetime], list[bool]]

_SYMBOLS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
    "in": "in",
    "not_in": "not in",
}


class _Writer:
    def __init__(
        self,
        fields: Mapping[str, int],
        counters: Mapping[EventCounter, int],
        externals: Mapping[str, int],
        rules: Mapping[str, int],
    ) -> None:
        self.fields, self.counters, self.externals, self.rules = fields, counters, externals, rules
        self.constants: dict[str, Any] = {"_combine": datetime.combine, "_midnight": time()}

    def constant(self, value: Any) -> str:
        name = f"c{len(self.constants)}"
        self.constants[name] = value
        return name

    def expr(self, cond: Condition) -> str:
        if isinstance(cond, All | AnyOf):
            word = " and " if isinstance(cond, All) else " or "
            return "(" + word.join(self.expr(c) for c in cond.items) + ")"
        if isinstance(cond, Not):
            return f"(not {self.expr(cond.item)})"
        if isinstance(cond, InSegment):
            slot = self.rules[cond.rule] if cond.rule else self.externals[cond.ref]
            return f"(v[{slot}] is True)"
        if isinstance(cond, EventCondition):
            slot = self.counters[cond.counter]
            if cond.at_most is None:
                return f"(v[{slot}] >= {int(cond.at_least)})"
            return f"({int(cond.at_least)} <= v[{slot}] <= {int(cond.at_most)})"
        return self.comparison(cond)

    def comparison(self, cond: Comparison) -> str:
        slot = self.fields[cond.field]
        if cond.op == "exists":
            return f"(v[{slot}] is not None)"
        if cond.op == "is_null":
            return f"(v[{slot}] is None)"
        present = f"(x := v[{slot}]) is not None"
        if cond.op == "within_last":
            window = self.constant(cond.value)
            stamp = "_combine(x, _midnight)" if cond.ftype == "date" else "x"
            return f"({present} and now - {window} <= {stamp} <= now)"
        if cond.op == "between":
            low, high = (self.constant(v) for v in cond.value)
            return f"({present} and {low} <= x <= {high})"
        c = self.constant(cond.value)
        if cond.op == "contains":
            return f"({present} and {c} in x)"
        return f"({present} and x {_SYMBOLS[cond.op]} {c})"


def generate(
    definitions: Sequence[SegmentDefinition],
    fields: Mapping[str, int],
    counters: Mapping[EventCounter, int],
    externals: Mapping[str, int],
    rules: Mapping[str, int],
) -> Program:
    """One function ``run(v, now)``: every definition's raw match, rule slots filled."""
    writer = _Writer(fields, counters, externals, rules)
    lines = ["def run(v, now):"]
    for i, definition in enumerate(definitions):
        lines.append(f"    h{i} = {writer.expr(definition.condition)}")  # bools all through
        lines.append(f"    v[{int(rules[definition.name])}] = h{i}")
    lines.append("    return [" + ", ".join(f"h{i}" for i in range(len(definitions))) + "]")
    namespace = dict(writer.constants)
    exec(compile("\n".join(lines), "<audience rules>", "exec"), namespace)
    program: Program = namespace["run"]
    return program
