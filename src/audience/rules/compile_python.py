"""Rule definitions -> Python that evaluates one live profile in microseconds.

Compilation happens once. Every field, event counter and stored-segment reference the
definitions use gets a *slot*; an evaluation first fills a list of slot values from the
profile (normalising each value once: NaN and wrong types become None, aware datetimes become
naive UTC, events are counted per counter), then runs every definition. All definitions together
are one generated function (:mod:`audience.rules.codegen`) that :meth:`PythonRules.run`
calls: no tree is walked at evaluation time and no value is converted twice. Each leaf is
also a closure over its constants, which :meth:`PythonRules.trace` calls to explain a match.

The semantics are those of :mod:`audience.model.conditions` (a missing value makes a leaf
false) and match :mod:`audience.rules.compile_sql` exactly; the property-based test
``tests/activation/test_engines_agree.py`` holds both to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from numbers import Real
from typing import Any

from audience.model.conditions import (
    Comparison,
    EventCondition,
    EventCounter,
    FieldType,
    Leaf,
    PropertyFilter,
    describe,
    leaves,
)
from audience.model.fields import TRAIT_PREFIX
from audience.model.rule_segment import LeafTrace, SegmentDefinition, Trace
from audience.rules.codegen import generate
from audience.store.clock import to_utc_naive
from audience.store.trait_types import DATE_PATTERN

Values = list[Any]
Predicate = Callable[[Values, datetime], bool]
_MISSING = object()


# -- normalising profile values ---------------------------------------------------------------


def _number(x: Any) -> float | None:
    kind = type(x)
    if kind is float:
        return x if x == x else None
    if kind is int:
        return float(x)
    if x is None or kind is bool or not isinstance(x, Real):
        return None
    value = float(x)
    return None if math.isnan(value) else value


def _string(x: Any) -> str | None:
    return x if type(x) is str else None


def _timestamp(x: Any) -> datetime | None:
    if isinstance(x, datetime):
        return to_utc_naive(x) if x.tzinfo is not None else x
    if isinstance(x, date):
        return datetime.combine(x, time())
    if isinstance(x, str):
        try:
            return to_utc_naive(datetime.fromisoformat(x))
        except ValueError:
            return None
    return None


def _date(x: Any) -> date | None:
    if isinstance(x, datetime):
        return to_utc_naive(x).date()
    if isinstance(x, date):
        return x
    if isinstance(x, str):
        stamp = _timestamp(x)
        return stamp.date() if stamp else None
    return None


def _string_list(x: Any) -> tuple[str, ...] | None:
    if isinstance(x, list | tuple | set | frozenset):
        return tuple(s for s in x if type(s) is str)
    return None


def _boolean(x: Any) -> bool | None:
    return x if type(x) is bool else None


NORMALISERS: dict[FieldType, Callable[[Any], Any]] = {
    "number": _number,
    "string": _string,
    "timestamp": _timestamp,
    "date": _date,
    "list": _string_list,
    "boolean": _boolean,
}


def _trait_date(x: Any) -> date | None:
    """A date trait as the warehouse stores it: a ``YYYY-MM-DD`` string, nothing else."""
    if type(x) is str and _DATE.fullmatch(x):
        try:
            return date.fromisoformat(x)
        except ValueError:
            return None
    return None


_DATE = re.compile(DATE_PATTERN)

TRAIT_NORMALISERS: dict[FieldType, Callable[[Any], Any]] = {**NORMALISERS, "date": _trait_date}
"""Custom traits (``traits.<name>``) read from a profile's ``traits`` mapping: JSON values of
their type only, as :func:`audience.store.trait_types.trait_value_sql` reads them."""


# -- leaves ---------------------------------------------------------------------------------


def _test(op: str, c: Any) -> Callable[[Any], bool]:
    """The test of a present (non-None) value against the normalised constant ``c``."""
    tests: dict[str, Callable[[Any], bool]] = {
        "eq": lambda x: x == c,
        "ne": lambda x: x != c,
        "lt": lambda x: x < c,
        "lte": lambda x: x <= c,
        "gt": lambda x: x > c,
        "gte": lambda x: x >= c,
        "in": lambda x: x in c,
        "not_in": lambda x: x not in c,
        "contains": lambda x: c in x,
    }
    if op == "between":
        low, high = c
        return lambda x: low <= x <= high
    return tests[op]


def _comparison(leaf: Comparison, i: int) -> Predicate:
    """A leaf as one closure: the slot read and the test inlined (no call per test)."""
    op, c = leaf.op, leaf.value
    if op == "exists":
        return lambda v, now: v[i] is not None
    if op == "is_null":
        return lambda v, now: v[i] is None
    if op == "within_last":
        if leaf.ftype == "date":
            return lambda v, now: (
                (x := v[i]) is not None and (now - c <= datetime.combine(x, time()) <= now)
            )
        return lambda v, now: (x := v[i]) is not None and now - c <= x <= now
    if op == "between":
        low, high = c
        return lambda v, now: (x := v[i]) is not None and low <= x <= high
    return _SIMPLE[op](i, c)


_SIMPLE: dict[str, Callable[[int, Any], Predicate]] = {
    "eq": lambda i, c: lambda v, now: (x := v[i]) is not None and x == c,
    "ne": lambda i, c: lambda v, now: (x := v[i]) is not None and x != c,
    "lt": lambda i, c: lambda v, now: (x := v[i]) is not None and x < c,
    "lte": lambda i, c: lambda v, now: (x := v[i]) is not None and x <= c,
    "gt": lambda i, c: lambda v, now: (x := v[i]) is not None and x > c,
    "gte": lambda i, c: lambda v, now: (x := v[i]) is not None and x >= c,
    "in": lambda i, c: lambda v, now: (x := v[i]) is not None and x in c,
    "not_in": lambda i, c: lambda v, now: (x := v[i]) is not None and x not in c,
    "contains": lambda i, c: lambda v, now: (x := v[i]) is not None and c in x,
}
"""Closure makers for the operators that compare a present value with a constant."""


def property_value(props: Any, f: PropertyFilter) -> Any:
    """The property as its filter compares it: None unless it has the filter's JSON type."""
    x = props
    for key in f.path:
        if not isinstance(x, dict):
            return None
        x = x.get(key)
    kind = type(x)
    if f.ptype == "number":
        return float(x) if (kind is int or kind is float) and x == x else None
    if f.ptype == "string":
        return x if kind is str else None
    if f.ptype == "boolean":
        return x if kind is bool else None
    return x


def property_test(f: PropertyFilter) -> Callable[[Any], bool]:
    """Whether an event's properties pass ``f`` (missing or mistyped: false)."""
    if f.op == "exists":
        return lambda props: property_value(props, f) is not None
    if f.op == "is_null":
        return lambda props: property_value(props, f) is None
    test = _test(f.op, f.value)

    def check(props: Any) -> bool:
        x = property_value(props, f)
        return x is not None and test(x)

    return check


def count_events(
    events: Sequence[tuple[datetime, Any]],
    counter: EventCounter,
    tests: Sequence[Callable[[Any], bool]],
    now: datetime,
) -> int:
    """Events of one name in ``[now - within, now]`` whose properties pass every test."""
    low = now - counter.within if counter.within is not None else datetime.min
    n = 0
    for stamp, props in events:
        if low <= stamp <= now:
            for test in tests:
                if not test(props):
                    break
            else:
                n += 1
    return n


def _event(leaf: EventCondition, i: int) -> Predicate:
    low, high = leaf.at_least, leaf.at_most
    if high is None:
        return lambda v, now: v[i] >= low
    return lambda v, now: low <= v[i] <= high


# -- the compiled program ----------------------------------------------------------------------


class PythonRules:
    """Every definition compiled to one generated function over a shared slot layout.

    Slots, in order: referenced fields, event counters, stored segments referenced, then one
    per definition holding its raw match (so ``in_segment`` on a rule segment reads it).
    """

    def __init__(self, definitions: Sequence[SegmentDefinition]) -> None:
        self.definitions = tuple(definitions)
        self.fields: dict[str, FieldType] = {}
        self.counters: dict[EventCounter, int] = {}
        self.externals: dict[str, int] = {}
        for definition in self.definitions:
            for _, leaf in leaves(definition.condition):
                self._allocate(leaf)
        self.field_slots = {name: i for i, name in enumerate(self.fields)}
        base = len(self.fields)
        self.counter_slots = {c: base + i for i, c in enumerate(self.counters)}
        base += len(self.counters)
        self.external_slots = {ref: base + i for i, ref in enumerate(self.externals)}
        base += len(self.externals)
        self.rule_slots = {d.name: base + i for i, d in enumerate(self.definitions)}
        self.size = base + len(self.definitions)
        self._getters = [(n, NORMALISERS[t]) for n, t in self.fields.items()]
        self._traits = [
            (self.field_slots[n], n.removeprefix(TRAIT_PREFIX), TRAIT_NORMALISERS[t])
            for n, t in self.fields.items()
            if n.startswith(TRAIT_PREFIX)
        ]
        self._counting = [
            (c, self.counter_slots[c], [property_test(f) for f in c.where]) for c in self.counters
        ]
        self.event_names = frozenset(c.event for c in self.counters)
        self._ids = [d.segment_id for d in self.definitions]
        self._program = generate(
            self.definitions,
            self.field_slots,
            self.counter_slots,
            self.external_slots,
            self.rule_slots,
        )
        self._leaves = [
            [
                (path, describe(leaf), self._slot(leaf), self._predicate(leaf))
                for path, leaf in leaves(d.condition)
            ]
            for d in self.definitions
        ]

    def _allocate(self, leaf: Leaf) -> None:
        if isinstance(leaf, Comparison):
            self.fields.setdefault(leaf.field, leaf.ftype)
        elif isinstance(leaf, EventCondition):
            self.counters.setdefault(leaf.counter, len(self.counters))
        elif leaf.rule is None:
            self.externals.setdefault(leaf.ref, len(self.externals))

    def _slot(self, leaf: Leaf) -> int:
        if isinstance(leaf, Comparison):
            return self.field_slots[leaf.field]
        if isinstance(leaf, EventCondition):
            return self.counter_slots[leaf.counter]
        return self.rule_slots[leaf.rule] if leaf.rule else self.external_slots[leaf.ref]

    def _predicate(self, leaf: Leaf) -> Predicate:
        if isinstance(leaf, Comparison):
            return _comparison(leaf, self.field_slots[leaf.field])
        if isinstance(leaf, EventCondition):
            return _event(leaf, self.counter_slots[leaf.counter])
        i = self._slot(leaf)
        return lambda v, now: v[i] is True

    def values(self, profile: Mapping[str, Any], now: datetime) -> Values:
        """The slot list of one profile at ``now``: fields, counts, stored memberships."""
        get = profile.get
        v: Values = [norm(get(name)) for name, norm in self._getters]
        if self._traits:  # custom traits live in the profile's own ``traits`` mapping
            traits = get("traits")
            if not isinstance(traits, Mapping):
                traits = {}
            for slot, key, norm in self._traits:
                v[slot] = norm(traits.get(key))
        if self._counting:
            by_name = _events_by_name(get("events"), self.event_names)
            v.extend(
                count_events(by_name.get(c.event, ()), c, tests, now)
                for c, _, tests in self._counting
            )
        if self.externals:
            member = profile.get("segments") or ()
            v.extend(ref in member for ref in self.externals)
        v.extend([False] * len(self.definitions))
        return v

    def run(self, v: Values, now: datetime) -> list[bool]:
        """Raw match of every definition (before group priorities), filling the rule slots."""
        return self._program(v, now)

    def trace(self, index: int, v: Values, now: datetime) -> Trace:
        """Every leaf of definition ``index`` with the value seen and whether it held."""
        found = [
            LeafTrace(path, text, v[slot], fn(v, now))
            for path, text, slot, fn in self._leaves[index]
        ]
        return Trace(self._ids[index], self.definitions[index].name, tuple(found))


def _events_by_name(events: Any, names: frozenset[str]) -> dict[str, list[tuple[datetime, Any]]]:
    """The profile's events of the names counted, as (naive UTC timestamp, properties)."""
    found: dict[str, list[tuple[datetime, Any]]] = {}
    for event in events or ():
        name = event.get("event")
        if name in names:
            stamp = event.get("timestamp")
            if type(stamp) is not datetime or stamp.tzinfo is not None:
                stamp = _timestamp(stamp)  # the slow path: aware, date or ISO text
                if stamp is None:
                    continue
            found.setdefault(name, []).append((stamp, event.get("properties")))
    return found
