"""Rule definitions -> SQL the warehouse runs over every person at once.

:meth:`SqlRules.input_query` joins a per-person relation (one column per field, NULL when
missing) with one count per event counter (from an events relation) and one flag per stored
segment referenced (from a relation of current membership keys). :meth:`SqlRules.condition`
turns a definition into a boolean expression over that input, and :meth:`SqlRules.trace`
into a JSON object of its leaves with the values seen.

Every leaf is wrapped in ``coalesce(..., false)``: a NULL never reaches a connective, so SQL's
three-valued logic agrees with the two-valued rule of :mod:`audience.model.conditions` (a
missing value makes a leaf false; ``not`` negates a definite value). Constants are rendered
as typed literals (``'50.0'::DOUBLE``, ``TIMESTAMP '...'``) and the evaluation time ``now`` is
a literal too, so windows are constant bounds the planner can use.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from audience.model.conditions import (
    All,
    AnyOf,
    Comparison,
    Condition,
    EventCondition,
    EventCounter,
    InSegment,
    Leaf,
    Not,
    PropertyFilter,
    leaves,
)
from audience.model.rule_segment import SegmentDefinition
from audience.store.sql import ident, literal

_SQL_OPS = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_JSON_NUMBER = "('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')"


def _test(subject: str, op: str, value: Any) -> str:
    """``subject op value`` as SQL, possibly NULL (the caller coalesces)."""
    if op in _SQL_OPS:
        return f"{subject} {_SQL_OPS[op]} {literal(value)}"
    if op == "between":
        return f"{subject} BETWEEN {literal(value[0])} AND {literal(value[1])}"
    if op in ("in", "not_in"):
        items = ", ".join(literal(v) for v in sorted(value, key=repr))
        return f"{subject} {'IN' if op == 'in' else 'NOT IN'} ({items})"
    if op == "exists":
        return f"{subject} IS NOT NULL"
    if op == "is_null":
        return f"{subject} IS NULL"
    raise ValueError(f"operator {op} is compiled by its caller")


def property_sql(f: PropertyFilter, column: str = "properties") -> str:
    """The property as its filter compares it: NULL unless it has the filter's JSON type."""
    path = "'$." + ".".join(f.path) + "'"
    kind = f"json_type({column}, {path})"
    if f.ptype == "number":
        return f"CASE WHEN {kind} IN {_JSON_NUMBER} THEN json_extract_string({column}, {path})::DOUBLE END"  # noqa: E501
    if f.ptype == "string":
        return f"CASE WHEN {kind} = 'VARCHAR' THEN json_extract_string({column}, {path}) END"
    if f.ptype == "boolean":
        return (
            f"CASE WHEN {kind} = 'BOOLEAN' THEN json_extract_string({column}, {path}) = 'true' END"
        )
    return f"CASE WHEN {kind} <> 'NULL' THEN {kind} END"


def property_filter_sql(f: PropertyFilter) -> str:
    subject = property_sql(f)
    if f.op in ("exists", "is_null"):
        return _test(subject, f.op, None)
    if f.op == "contains":
        return f"coalesce(contains({subject}, {literal(f.value)}), false)"
    return f"coalesce({_test(subject, f.op, f.value)}, false)"


class SqlRules:
    """Every definition compiled against one evaluation time ``now`` (naive UTC)."""

    def __init__(self, definitions: Sequence[SegmentDefinition], now: datetime) -> None:
        self.definitions = tuple(definitions)
        self.now = now
        self.by_name = {d.name: d for d in self.definitions}
        self.fields: dict[str, str] = {}
        self.counters: dict[EventCounter, str] = {}
        self.externals: dict[str, str] = {}
        for definition in self.definitions:
            for _, leaf in leaves(definition.condition):
                if isinstance(leaf, Comparison):
                    self.fields.setdefault(leaf.field, leaf.ftype)
                elif isinstance(leaf, EventCondition):
                    self.counters.setdefault(leaf.counter, f"_ev_{len(self.counters)}")
                elif leaf.rule is None:
                    self.externals.setdefault(leaf.ref, f"_seg_{len(self.externals)}")

    # -- the input relation -------------------------------------------------------------

    def input_query(self, people: str, events: str, keys: str) -> str:
        """One row per person of ``people`` with event counts and stored-segment flags.

        ``events`` has columns (customer_id, event, "timestamp", properties JSON); ``keys``
        has (customer_id, key): every id and name of a segment the person is currently in.
        """
        columns = ["p.*"]
        joins = []
        if self.counters:
            columns += [f"coalesce(e.{c}, 0) AS {c}" for c in self.counters.values()]
            joins.append(f"LEFT JOIN ({self.events_query(events)}) e USING (customer_id)")
        if self.externals:
            columns += [f"coalesce(s.{c}, false) AS {c}" for c in self.externals.values()]
            flags = ", ".join(
                f"bool_or(key = {literal(ref)}) AS {c}" for ref, c in self.externals.items()
            )
            refs = ", ".join(literal(ref) for ref in self.externals)
            joins.append(
                f"LEFT JOIN (SELECT customer_id, {flags} FROM {keys} WHERE key IN "
                f"({refs}) GROUP BY customer_id) s USING (customer_id)"
            )
        return f"SELECT {', '.join(columns)} FROM ({people}) p {' '.join(joins)}"

    def events_query(self, events: str) -> str:
        """Counts per person and counter, scanning only the event names and window used."""
        now = literal(self.now)
        counts = []
        for counter, column in self.counters.items():
            tests = [f"event = {literal(counter.event)}", f'"timestamp" <= {now}']
            if counter.within is not None:
                tests.append(f'"timestamp" >= {literal(self.now - counter.within)}')
            tests += [property_filter_sql(f) for f in counter.where]
            counts.append(f"count(*) FILTER (WHERE {' AND '.join(tests)}) AS {column}")
        names = ", ".join(sorted({literal(c.event) for c in self.counters}))
        scope = [f"event IN ({names})", f'"timestamp" <= {now}']
        if all(c.within is not None for c in self.counters):
            widest = max(c.within for c in self.counters if c.within is not None)
            scope.append(f'"timestamp" >= {literal(self.now - widest)}')
        return (
            f"SELECT customer_id, {', '.join(counts)} FROM {events} "
            f"WHERE {' AND '.join(scope)} GROUP BY customer_id"
        )

    # -- conditions and traces ------------------------------------------------------------

    def condition(self, condition: Condition) -> str:
        """A boolean SQL expression over the input relation, never NULL."""
        if isinstance(condition, All | AnyOf):
            word = " AND " if isinstance(condition, All) else " OR "
            return "(" + word.join(self.condition(c) for c in condition.items) + ")"
        if isinstance(condition, Not):
            return f"(NOT {self.condition(condition.item)})"
        return self.leaf(condition)

    def leaf(self, leaf: Leaf) -> str:
        if isinstance(leaf, InSegment):
            if leaf.rule is not None:
                return self.condition(self.by_name[leaf.rule].condition)
            return self.externals[leaf.ref]
        if isinstance(leaf, EventCondition):
            column = self.counters[leaf.counter]
            if leaf.at_most is None:
                return f"({column} >= {leaf.at_least})"
            return f"({column} BETWEEN {leaf.at_least} AND {leaf.at_most})"
        column = ident(leaf.field)
        if leaf.op in ("exists", "is_null"):
            return f"({_test(column, leaf.op, None)})"
        if leaf.op == "within_last":
            stamp = f"CAST({column} AS TIMESTAMP)" if leaf.ftype == "date" else column
            low, high = literal(self.now - leaf.value), literal(self.now)
            return f"coalesce({stamp} BETWEEN {low} AND {high}, false)"
        if leaf.op == "contains":
            call = "list_contains" if leaf.ftype == "list" else "contains"
            return f"coalesce({call}({column}, {literal(leaf.value)}), false)"
        return f"coalesce({_test(column, leaf.op, leaf.value)}, false)"

    def value(self, leaf: Leaf) -> str:
        """What a trace shows for a leaf: the field's value, the count, or the membership."""
        if isinstance(leaf, Comparison):
            return ident(leaf.field)
        if isinstance(leaf, EventCondition):
            return self.counters[leaf.counter]
        return self.leaf(leaf)

    def trace(self, definition: SegmentDefinition) -> str:
        """JSON ``{leaf path: {value, matched}}``: what each leaf saw and whether it held.

        The leaves' texts are not repeated per person: they are in the evaluation's run
        record (``segment_runs.model``), keyed by the same paths.
        """
        items = [
            f"{literal(path)}: {{'value': {self.value(leaf)}, 'matched': {self.leaf(leaf)}}}"
            for path, leaf in leaves(definition.condition)
        ]
        return f"to_json({{{', '.join(items)}}})"

    def matches_query(self, relation: str) -> str:
        """customer_id and one boolean column ``m<i>`` per definition, over ``relation``."""
        flags = ", ".join(
            f"{self.condition(d.condition)} AS m{i}" for i, d in enumerate(self.definitions)
        )
        return f"SELECT customer_id, {flags} FROM {relation}"


def hits_query(rules: SqlRules, relation: str) -> str:
    """(customer_id, segment_id) of every match over ``relation`` (the input relation), a
    person keeping only the first segment by rank of each exclusive group.

    DuckDB's dialect, as every rule query, in the standard forms of UNPIVOT and of a ranking
    filter (no QUALIFY): the Spark engine runs it transpiled.
    """
    priorities = ", ".join(
        f"('m{i}', {literal(d.segment_id)}, {literal(d.group) if d.group else 'NULL'}, {d.rank})"
        for i, d in enumerate(rules.definitions)
    )
    columns = ", ".join(f"m{i}" for i in range(len(rules.definitions)))
    return f"""
        WITH flags AS ({rules.matches_query(relation)}),
        long AS (SELECT * FROM flags UNPIVOT (hit FOR col IN ({columns}))),
        ranked AS (
            SELECT l.customer_id, d.segment_id, d.grp,
                   row_number() OVER (PARTITION BY l.customer_id, d.grp ORDER BY d.rnk) AS nth
            FROM long l JOIN (VALUES {priorities}) d(col, segment_id, grp, rnk) USING (col)
            WHERE l.hit)
        SELECT customer_id, segment_id FROM ranked WHERE grp IS NULL OR nth = 1"""
