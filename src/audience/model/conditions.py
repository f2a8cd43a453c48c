"""The rule language of segments: a tree of conditions, as plain immutable values.

A condition is one of

- :class:`Comparison` -- a profile trait, feature or predictive score against a value;
- :class:`EventCondition` -- how many times a person performed an event in a window,
  optionally only events whose properties pass :class:`PropertyFilter` tests;
- :class:`InSegment` -- current membership of another segment (cluster, RFM, band or rule);
- :class:`All`, :class:`AnyOf`, :class:`Not` -- the boolean connectives.

Missing values
    A comparison on a missing value (SQL NULL, a key absent from a live profile, None or NaN)
    is **false**, whatever the operator: ``ne`` and ``not_in`` included. Only ``is_null``
    is true on a missing value. ``Not`` then negates a definite truth value, so
    ``not: {field: x, gt: 5}`` holds for a person without ``x``. This is two-valued logic:
    SQL's three-valued NULL never leaks out of a leaf (each leaf is wrapped in
    ``coalesce(..., false)``), so both engines give the same answer on every profile.

The types carry no I/O and know nothing of SQL or Python evaluation; the activation package
compiles them (:mod:`audience.rules.compile_sql`, :mod:`audience.rules.compile_python`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

Op = Literal[
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "between",
    "in",
    "not_in",
    "contains",
    "exists",
    "is_null",
    "within_last",
]
OPS: tuple[str, ...] = Op.__args__  # type: ignore[attr-defined]

FieldType = Literal["number", "string", "date", "timestamp", "list", "boolean"]
"""``list`` is a list of strings (e.g. a profile's sources); it supports ``contains``.
``boolean`` is a yes/no custom trait (``traits.<name>``)."""

PropertyType = Literal["number", "string", "boolean", "any"]
"""JSON type an event property is compared as: a number only matches JSON numbers, a string
only JSON strings; ``any`` is for ``exists`` / ``is_null``, which look at presence only."""

SYMBOLS = {"eq": "=", "ne": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value`` over one profile field.

    ``value`` is already normalised by the loader: a float for numbers, a str, a date, a
    naive-UTC datetime, a tuple of two for ``between``, a frozenset for ``in``/``not_in``, a
    timedelta for ``within_last``, and None for ``exists``/``is_null``.
    """

    field: str
    ftype: FieldType
    op: Op
    value: Any = None


@dataclass(frozen=True, slots=True)
class PropertyFilter:
    """A test on one event property, ``properties.<path> op value``."""

    path: tuple[str, ...]
    ptype: PropertyType
    op: Op
    value: Any = None


@dataclass(frozen=True, slots=True)
class EventCondition:
    """Performed ``event`` between ``at_least`` and ``at_most`` times in the last ``within``.

    ``within`` None counts every event ever recorded; ``at_most=0`` is "did not perform".
    The window is ``[now - within, now]``, both ends included, in both engines.
    """

    event: str
    at_least: int = 1
    at_most: int | None = None
    within: timedelta | None = None
    where: tuple[PropertyFilter, ...] = ()

    @property
    def counter(self) -> EventCounter:
        """What is counted, without the thresholds: conditions sharing it share one count."""
        return EventCounter(self.event, self.within, self.where)


@dataclass(frozen=True, slots=True)
class EventCounter:
    """Events named ``event`` in the window, passing every filter: one number per person."""

    event: str
    within: timedelta | None
    where: tuple[PropertyFilter, ...]


@dataclass(frozen=True, slots=True)
class InSegment:
    """Current member of a segment, by id or name.

    ``rule`` holds the name of the rule segment referenced, when it is one (its own condition
    then decides, before any group priority); None means a stored segment (cluster, RFM,
    predictive band), read from current memberships.
    """

    ref: str
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Comparison | EventCondition | InSegment | All | AnyOf | Not
Leaf = Comparison | EventCondition | InSegment


def leaves(condition: Condition, path: str = "when") -> Iterator[tuple[str, Leaf]]:
    """Every leaf with its path (``when.all.1.not``), depth first, in definition order."""
    if isinstance(condition, All | AnyOf):
        word = "all" if isinstance(condition, All) else "any"
        for i, item in enumerate(condition.items):
            yield from leaves(item, f"{path}.{word}.{i}")
    elif isinstance(condition, Not):
        yield from leaves(condition.item, f"{path}.not")
    else:
        yield path, condition


def format_value(value: Any) -> str:
    """A value as a person would write it in a condition."""
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset | tuple | list):
        return "[" + ", ".join(format_value(v) for v in sorted(value, key=str)) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _describe_test(subject: str, op: str, value: Any) -> str:
    if op in SYMBOLS:
        return f"{subject} {SYMBOLS[op]} {format_value(value)}"
    if op == "between":
        return f"{subject} between {format_value(value[0])} and {format_value(value[1])}"
    if op in ("in", "not_in"):
        return f"{subject} {op.replace('_', ' ')} {format_value(value)}"
    if op in ("exists", "is_null"):
        return f"{subject} {'exists' if op == 'exists' else 'is empty'}"
    if op == "within_last":
        return f"{subject} within the last {format_duration(value)}"
    return f"{subject} contains {format_value(value)}"


def describe(condition: Condition) -> str:
    """One line a marketer can read: ``recency_days < 30``, ``performed 'X' ≥ 2 times...``."""
    if isinstance(condition, Comparison):
        return _describe_test(condition.field, condition.op, condition.value)
    if isinstance(condition, EventCondition):
        return describe_event(condition)
    if isinstance(condition, InSegment):
        return f"in segment {condition.ref!r}"
    if isinstance(condition, Not):
        return f"not ({describe(condition.item)})"
    word = " and " if isinstance(condition, All) else " or "
    return "(" + word.join(describe(c) for c in condition.items) + ")"


def describe_event(condition: EventCondition) -> str:
    if condition.at_most == 0:
        text = f"did not perform {condition.event!r}"
    else:
        text = f"performed {condition.event!r} at least {condition.at_least} time(s)"
        if condition.at_most is not None:
            text += f" and at most {condition.at_most}"
    if condition.within is not None:
        text += f" in the last {format_duration(condition.within)}"
    if condition.where:
        tests = [
            _describe_test("properties." + ".".join(f.path), f.op, f.value) for f in condition.where
        ]
        text += " where " + " and ".join(tests)
    return text
