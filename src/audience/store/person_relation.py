"""The per-person relation rules and payloads read: features, traits, scores, memberships.

One row per person of the ``features`` table (every profile, buyer or visitor), with one
column per catalogue field asked for -- only those, so that an evaluation scans no column it
does not test. Numbers are DOUBLE with NaN turned into NULL (a missing value, as in the live
engine).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

import duckdb

from audience.errors import InputError
from audience.model.fields import FIELDS, TRAIT_PREFIX
from audience.store.sql import ident, literal
from audience.store.trait_types import known_traits, trait_types, trait_value_sql
from audience.store.warehouse import scalar

RULES_METHOD = "rules"

_TRAITS = """
    SELECT profile_id AS customer_id, email, phone, first_name, last_name, gender, postcode,
           city, city_insee, dep_code, region, birth_date, signup_at,
           n_records::DOUBLE AS n_records, sources, traits
    FROM profiles
    UNION ALL
    SELECT customer_id, email, phone, first_name, last_name, gender, postcode, city,
           NULL, NULL, NULL, birth_date, signup_at, 1.0, [source], traits
    FROM customers WHERE NOT EXISTS (SELECT 1 FROM profiles)"""

_DERIVED = {
    "last_order_at": (
        "recency_days",
        "f.as_of - to_microseconds(CAST(round(f.recency_days * 86400000000) AS BIGINT))",
    ),
    "first_seen_at": (
        "tenure_days",
        "f.as_of - to_microseconds(CAST(round(f.tenure_days * 86400000000) AS BIGINT))",
    ),
}


def _stored_keys(open_: str) -> str:
    """Every id and name of a stored (non-rule) segment whose membership passes ``open_``."""
    stored = f"m.run_id NOT IN (SELECT run_id FROM segment_runs WHERE method = '{RULES_METHOD}')"
    return f"""
    SELECT m.customer_id, m.segment_id AS key FROM memberships m
    WHERE {open_} AND {stored}
    UNION ALL
    SELECT m.customer_id, s.name FROM memberships m JOIN segments s USING (segment_id)
    WHERE {open_} AND {stored}"""


CURRENT_KEYS = _stored_keys("m.valid_to IS NULL")
"""Every id and name of a stored (non-rule) segment each person is currently in."""


def keys_at(at: datetime) -> str:
    """:data:`CURRENT_KEYS` as they stood at ``at``: the memberships open at that instant."""
    then = literal(at)
    return _stored_keys(f"m.valid_from <= {then} AND (m.valid_to IS NULL OR m.valid_to > {then})")


def feature_columns(con: duckdb.DuckDBPyConnection, table: str = "features") -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    return {str(r[0]) for r in rows}


def number_column(expr: str, name: str) -> str:
    """A numeric column as rules read it: DOUBLE, with NaN as NULL (a missing value)."""
    return f"nullif(({expr})::DOUBLE, 'NaN'::DOUBLE) AS {ident(name)}"


def people_sql(
    con: duckdb.DuckDBPyConnection, fields: Iterable[str], features: str = "features"
) -> str:
    """SELECT customer_id and ``fields`` (catalogue names), one row per person of ``features``
    (the features table, or a relation of the same columns computed as of another date).

    Raises
    ------
    InputError
        When the features a field needs have not been computed yet.
    """
    wanted = list(dict.fromkeys(fields))
    customs = any(n.startswith(TRAIT_PREFIX) for n in wanted)
    return people_query(
        wanted, feature_columns(con, features), trait_types(con) if customs else {}, features
    )


def field_problem(name: str, available: Collection[str], known: dict[str, str]) -> str:
    """Why field ``name`` cannot be read from features of columns ``available`` and custom
    traits ``known`` (name -> type); '' when it can."""
    if name.startswith(TRAIT_PREFIX):
        trait = name.removeprefix(TRAIT_PREFIX)
        return "" if trait in known else f"unknown trait {name!r}; {known_traits(known)}"
    spec = FIELDS[name]
    needed = _DERIVED[name][0] if spec.family == "derived" else name
    if spec.family in ("feature", "derived") and needed not in available:
        return (
            f"feature {needed!r} is not computed in this warehouse; run 'audience segment' "
            "(it computes the features) before evaluating rules"
        )
    return ""


def people_query(
    fields: Iterable[str],
    available: Collection[str],
    known: dict[str, str],
    features: str = "features",
) -> str:
    """:func:`people_sql` over a features relation of columns ``available``, with the custom
    traits ``known`` (name -> type): the one definition, which the Spark engine transpiles.

    Raises
    ------
    InputError
        When a field cannot be read (:func:`field_problem`).
    """
    wanted = list(dict.fromkeys(fields))
    columns = ["f.customer_id"]
    families = set()
    for name in wanted:
        problem = field_problem(name, available, known)
        if problem:
            raise InputError(problem)
        if name.startswith(TRAIT_PREFIX):
            trait = name.removeprefix(TRAIT_PREFIX)
            families.add("trait")
            columns.append(f"{trait_value_sql('t.traits', trait, known[trait])} AS {ident(name)}")
            continue
        spec = FIELDS[name]
        families.add(spec.family)
        if spec.family == "feature":
            columns.append(number_column(f"f.{ident(name)}", name))
        elif spec.family == "derived":
            columns.append(f"{_DERIVED[name][1]} AS {ident(name)}")
        elif spec.family == "prediction" and spec.ftype == "number":
            columns.append(number_column(f"cp.{ident(name)}", name))
        else:
            alias = "t" if spec.family == "trait" else "cp"
            columns.append(f"{alias}.{ident(name)}")
    joins = []
    if "trait" in families:
        joins.append(f"LEFT JOIN ({_TRAITS}) t ON t.customer_id = f.customer_id")
    if "prediction" in families:
        joins.append("LEFT JOIN customer_predictions cp ON cp.customer_id = f.customer_id")
    return f"SELECT {', '.join(columns)} FROM {ident(features)} f {' '.join(joins)}"


def person_of(con: duckdb.DuckDBPyConnection, customer_id: str) -> str:
    """The person (profile) a record belongs to, or the id itself."""
    found = scalar(con, "SELECT profile_id FROM profile_members WHERE record_id = ?", [customer_id])
    return str(found) if found is not None else customer_id
