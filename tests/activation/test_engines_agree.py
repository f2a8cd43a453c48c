"""One meaning, two engines: random conditions and profiles, SQL and Python must agree.

Hypothesis draws rule definitions (any operator on any field type, events with property
filters and windows, references to stored and to other rule segments, nested all/any/not) and
profiles (present, missing, None, NaN and wrongly typed values; events on the window
boundaries, in the future, with missing or mistyped properties). Each profile goes to the
Python engine as a live profile, and to DuckDB as the rows a warehouse would hold for it (a
wrongly typed value is NULL there, as a typed column cannot hold it). Every definition must
give the same answer for every profile, and so must every leaf of its trace.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audience.model.conditions import (
    All,
    AnyOf,
    Comparison,
    Condition,
    EventCondition,
    InSegment,
    Not,
    PropertyFilter,
)
from audience.model.fields import OPS_BY_TYPE, PROPERTY_OPS
from audience.model.rule_segment import SegmentDefinition
from audience.rules.compile_python import PythonRules
from audience.rules.compile_sql import SqlRules
from audience.store.person_relation import number_column
from audience.store.sql import ident

NOW = datetime(2026, 11, 25, 12, 0, 0)
FIELDS = {
    "recency_days": "number",
    "monetary": "number",
    "city": "string",
    "email": "string",
    "birth_date": "date",
    "signup_at": "timestamp",
    "sources": "list",
}
SQL_TYPES = {
    "number": "DOUBLE",
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "list": "VARCHAR[]",
}
EVENTS = ["Order Completed", "Email Opened"]
STORED = ["Champions", "run-1:2"]
WINDOWS = [timedelta(hours=12), timedelta(days=1), timedelta(days=30)]

numbers = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0, 30.0, 1e300])
strings = st.sampled_from(["Paris", "paris", "", "Saint-Paris", "O'Neil", "Lyon", "a%_b"])
dates = st.sampled_from(
    [date(1980, 1, 1), date(2000, 2, 29), date(2026, 11, 24), date(2026, 11, 25), date(2026, 12, 1)]
)
offsets = st.sampled_from(
    [
        timedelta(0),
        timedelta(hours=12),
        timedelta(days=1),
        timedelta(days=30),
        timedelta(days=-1),
        timedelta(days=400),
    ]
)
jitter = st.sampled_from([timedelta(0), timedelta(microseconds=1), timedelta(microseconds=-1)])
stamps = st.builds(lambda o, j: NOW - o + j, offsets, jitter)
SCALARS = {
    "number": numbers,
    "string": strings,
    "date": dates,
    "timestamp": stamps,
    "list": strings,
}


def operand(ftype: str, op: str) -> st.SearchStrategy[Any]:
    values = SCALARS[ftype]
    if op in ("exists", "is_null"):
        return st.none()
    if op == "within_last":
        return st.sampled_from(WINDOWS)
    if op == "between":
        return st.tuples(values, values).map(lambda p: (min(p), max(p)))
    if op in ("in", "not_in"):
        return st.frozensets(values, min_size=1, max_size=3)
    return values


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    name = draw(st.sampled_from(sorted(FIELDS)))
    ftype = FIELDS[name]
    op = draw(st.sampled_from(sorted(OPS_BY_TYPE[ftype])))  # type: ignore[index]
    return Comparison(name, ftype, op, draw(operand(ftype, op)))  # type: ignore[arg-type]


@st.composite
def property_filters(draw: st.DrawFn) -> PropertyFilter:
    path, ptype = draw(
        st.sampled_from(
            [
                (("total",), "number"),
                (("currency",), "string"),
                (("promo",), "boolean"),
                (("cart", "total"), "number"),
            ]
        )
    )
    op = draw(st.sampled_from(sorted(PROPERTY_OPS[ptype])))
    if op in ("exists", "is_null"):
        return PropertyFilter(path, "any", op)  # type: ignore[arg-type]
    if ptype == "boolean":
        return PropertyFilter(path, "boolean", op, draw(st.booleans()))  # type: ignore[arg-type]
    return PropertyFilter(path, ptype, op, draw(operand(ptype, op)))  # type: ignore[arg-type]


@st.composite
def event_conditions(draw: st.DrawFn) -> EventCondition:
    low = draw(st.integers(0, 2))
    high = draw(st.one_of(st.none(), st.integers(low, 3)))
    if high is None and low == 0:
        low = 1
    within = draw(st.one_of(st.none(), st.sampled_from(WINDOWS)))
    where = tuple(draw(st.lists(property_filters(), max_size=2)))
    return EventCondition(draw(st.sampled_from(EVENTS)), low, high, within, where)


def conditions(rule_names: list[str]) -> st.SearchStrategy[Condition]:
    refs = [InSegment(r) for r in STORED] + [InSegment(n, rule=n) for n in rule_names]
    leaf = st.one_of(comparisons(), comparisons(), event_conditions(), st.sampled_from(refs))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: All(tuple(xs))),
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: AnyOf(tuple(xs))),
            inner.map(Not),
        ),
        max_leaves=6,
    )


@st.composite
def definitions(draw: st.DrawFn) -> list[SegmentDefinition]:
    found: list[SegmentDefinition] = []
    for i in range(draw(st.integers(1, 3))):
        condition = draw(conditions([d.name for d in found]))  # only earlier ones: no cycle
        found.append(SegmentDefinition(f"s{i}", condition))
    return found


def messy(ftype: str) -> st.SearchStrategy[Any]:
    """A live value: right type, missing, NaN, or wrong type."""
    right = SCALARS[ftype] if ftype != "list" else st.lists(strings, max_size=3)
    wrong = st.sampled_from(["abc", 3, True, [1], {"a": 1}])
    extra: list[st.SearchStrategy[Any]] = [st.just(math.nan)] if ftype == "number" else []
    if ftype == "timestamp":
        extra.append(stamps.map(lambda s: s.replace(tzinfo=UTC)))  # aware: converted to UTC
    return st.one_of(right, right, st.none(), wrong, *extra)


properties = st.one_of(
    st.none(),
    st.just([1, 2]),
    st.fixed_dictionaries(
        {},
        optional={
            "total": st.one_of(numbers, st.just("60"), st.none(), st.booleans()),
            "currency": st.one_of(strings, st.just(5)),
            "promo": st.one_of(st.booleans(), st.just("true")),
            "cart": st.one_of(st.fixed_dictionaries({"total": numbers}), st.just(3)),
        },
    ),
)
events = st.lists(
    st.fixed_dictionaries(
        {
            "event": st.sampled_from([*EVENTS, "Page Viewed"]),
            "timestamp": stamps,
            "properties": properties,
        }
    ),
    max_size=5,
)


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    for name, ftype in FIELDS.items():
        if draw(st.booleans()) or draw(st.booleans()):
            profile[name] = draw(messy(ftype))
    profile["events"] = draw(events)
    profile["segments"] = draw(st.sets(st.sampled_from(STORED)))
    return profile


def warehouse_value(value: Any, ftype: str) -> Any:
    """What a typed warehouse column holds for a live value (NaN stays NaN: a DOUBLE holds it)."""
    if ftype == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else None
    if ftype == "string":
        return value if isinstance(value, str) else None
    if ftype == "date":
        return value if isinstance(value, date) and not isinstance(value, datetime) else None
    if ftype == "timestamp":
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return None
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str)]
    return None


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(f"{ident(n)} {SQL_TYPES[t]}" for n, t in FIELDS.items())
    connection.execute(f"CREATE TABLE people (customer_id VARCHAR, {columns})")
    connection.execute(
        "CREATE TABLE ev (customer_id VARCHAR, event VARCHAR, "
        '"timestamp" TIMESTAMP, properties JSON)'
    )
    connection.execute("CREATE TABLE keys (customer_id VARCHAR, key VARCHAR)")
    yield connection
    connection.close()


def load(con: duckdb.DuckDBPyConnection, people: list[dict[str, Any]]) -> None:
    for table in ("people", "ev", "keys"):
        con.execute(f"DELETE FROM {table}")
    placeholders = ", ".join("?" for _ in range(len(FIELDS) + 1))
    con.executemany(
        f"INSERT INTO people VALUES ({placeholders})",
        [
            [f"p{i}", *(warehouse_value(p.get(n), t) for n, t in FIELDS.items())]
            for i, p in enumerate(people)
        ],
    )
    rows = [
        [
            f"p{i}",
            e["event"],
            e["timestamp"],
            None if e["properties"] is None else json.dumps(e["properties"]),
        ]
        for i, p in enumerate(people)
        for e in p["events"]
    ]
    if rows:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?)", rows)
    keys = [[f"p{i}", k] for i, p in enumerate(people) for k in p["segments"]]
    if keys:
        con.executemany("INSERT INTO keys VALUES (?, ?)", keys)


def people_relation() -> str:
    """The people table as rules read it (NaN as NULL), like audience.store.person_relation."""
    columns = [number_column(ident(n), n) if t == "number" else ident(n) for n, t in FIELDS.items()]
    return f"SELECT customer_id, {', '.join(columns)} FROM people"


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(defs=definitions(), people=st.lists(profiles(), min_size=1, max_size=6))
def test_sql_and_python_agree(
    con: duckdb.DuckDBPyConnection, defs: list[SegmentDefinition], people: list[dict[str, Any]]
) -> None:
    load(con, people)
    sql = SqlRules(defs, NOW)
    relation = f"({sql.input_query(people_relation(), 'ev', 'keys')})"
    traces = ", ".join(f"{sql.trace(d)}::VARCHAR" for d in defs)
    rows = con.execute(
        f"SELECT customer_id, {traces} FROM {relation} r ORDER BY customer_id"
    ).fetchall()
    flags = {r[0]: r[1:] for r in con.execute(sql.matches_query(relation)).fetchall()}
    python = PythonRules(defs)
    for row in rows:
        index = int(row[0][1:])
        profile = people[index]
        values = python.values(profile, NOW)
        expected = python.run(values, NOW)
        assert list(flags[row[0]]) == expected, (profile, defs)
        for i, trace_json in enumerate(row[1:]):
            sql_leaves = {p: leaf["matched"] for p, leaf in json.loads(trace_json).items()}
            py_leaves = {leaf.path: leaf.matched for leaf in python.trace(i, values, NOW).leaves}
            assert sql_leaves == py_leaves, (profile, defs[i])


def test_missing_values_make_every_leaf_false_in_both_engines(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The documented rule, on one profile with nothing: only is_null and not(...) hold."""
    defs = [
        SegmentDefinition("ne", Comparison("city", "string", "ne", "Paris")),
        SegmentDefinition("not_in", Comparison("monetary", "number", "not_in", frozenset({1.0}))),
        SegmentDefinition("is_null", Comparison("monetary", "number", "is_null")),
        SegmentDefinition("not_gt", Not(Comparison("monetary", "number", "gt", 5.0))),
        SegmentDefinition("nan_ne", Comparison("recency_days", "number", "ne", 1.0)),
    ]
    people = [{"recency_days": math.nan, "events": [], "segments": set()}]
    load(con, people)
    sql = SqlRules(defs, NOW)
    relation = f"({sql.input_query(people_relation(), 'ev', 'keys')})"
    flags = con.execute(sql.matches_query(relation)).fetchall()[0][1:]
    python = PythonRules(defs)
    assert list(flags) == python.run(python.values(people[0], NOW), NOW)
    assert list(flags) == [False, False, True, True, False]


def test_event_properties_compare_only_values_of_their_json_type(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """``total > 0.5`` counts JSON numbers only: not true (which Python would take for 1),
    not "70", not a missing total."""
    bought = EventCondition(
        "Order Completed",
        2,
        None,
        timedelta(days=30),
        (PropertyFilter(("total",), "number", "gt", 0.5),),
    )
    defs = [SegmentDefinition("twice", bought)]
    at = NOW - timedelta(days=1)
    people = [
        {
            "events": [
                {"event": "Order Completed", "timestamp": at, "properties": {"total": t}}
                for t in totals
            ],
            "segments": set(),
        }
        for totals in ([60, 70.5], [60, True], [60, "70"], [60, None], [60, 0])
    ]
    load(con, people)
    sql = SqlRules(defs, NOW)
    relation = f"({sql.input_query(people_relation(), 'ev', 'keys')})"
    flags = [r[1] for r in con.execute(sql.matches_query(relation) + " ORDER BY 1").fetchall()]
    python = PythonRules(defs)
    assert flags == [python.run(python.values(p, NOW), NOW)[0] for p in people]
    assert flags == [True, False, False, False, False]
