"""Batch evaluation: every rule segment over every person, in the warehouse, with history.

One evaluation is one ``segment_runs`` row of method ``rules``. Against the time ``now`` it

1. builds the input relation (fields, event counts, stored memberships) once;
2. evaluates every definition as one boolean column, unpivots the hits and applies group
   priorities (in an exclusive group a person keeps the first segment she matches);
3. compares with the open rule memberships: people who no longer match are closed
   (``valid_to = now``: they *exited*), new matches open a membership (``valid_from = now``:
   they *entered*) with the trace of why in ``membership_reasons``.

Nothing but the clock may change between two evaluations and people still exit: a
``within_last`` or event window slides with ``now``. Segments that disappeared from the
configuration have their memberships closed.

:func:`match` is step 2 alone, over any features relation and stored memberships: who
matches, with nothing recorded (a backtest runs it on features computed as of a past date).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from audience.errors import ConfigError, InputError
from audience.model.activation_plan import ActivationPlan
from audience.model.conditions import describe, leaves
from audience.model.fields import TRAIT_FIELD_TYPES, TRAIT_PREFIX
from audience.model.rule_segment import RULE_PREFIX, SegmentDefinition
from audience.rules.compile_sql import SqlRules, hits_query
from audience.store.clock import to_utc_naive
from audience.store.person_relation import CURRENT_KEYS, RULES_METHOD, people_sql
from audience.store.sql import literal
from audience.store.trait_types import known_traits, trait_types
from audience.store.warehouse import scalar

_OPEN_RULES = f"""SELECT customer_id, segment_id FROM memberships
    WHERE valid_to IS NULL
      AND run_id IN (SELECT run_id FROM segment_runs WHERE method = '{RULES_METHOD}')"""


@dataclass
class Evaluation:
    """What an evaluation found and changed."""

    run_id: str
    now: datetime
    n_people: int
    sizes: dict[str, int] = field(default_factory=dict)
    entered: dict[str, int] = field(default_factory=dict)
    exited: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "now": self.now.isoformat(),
            "n_people": self.n_people,
            "segments": {
                sid: {
                    "size": n,
                    "entered": self.entered.get(sid, 0),
                    "exited": self.exited.get(sid, 0),
                }
                for sid, n in self.sizes.items()
            },
        }


def check_references(con: duckdb.DuckDBPyConnection, rules: SqlRules, plan: ActivationPlan) -> None:
    """Every stored segment a rule names must exist (by id or name) before anything runs."""
    if not rules.externals:
        return
    known = {
        str(k)
        for (k,) in con.execute(
            "SELECT segment_id FROM segments UNION SELECT name FROM segments"
        ).fetchall()
    }
    for ref in rules.externals:
        if ref not in known:
            users = [str(d.origin) for d in plan.definitions if f"{ref!r}" in describe(d.condition)]
            where = users[0] if users else "audience.yaml"
            raise ConfigError(
                f"{where}: in_segment {ref!r} names no rule, cluster or RFM "
                "segment; check 'audience overlap --all' for the names"
            )


def check_traits(con: duckdb.DuckDBPyConnection, rules: SqlRules) -> None:
    """Every custom trait a rule names exists in this warehouse with the type it was read as.

    The plan may have been loaded against another catalogue (an import in between, a plan
    built in code): comparing a number with a text would fail in the middle of the run.
    """
    customs = {n: t for n, t in rules.fields.items() if n.startswith(TRAIT_PREFIX)}
    if not customs:
        return
    known = trait_types(con)
    for name, ftype in customs.items():
        trait = name.removeprefix(TRAIT_PREFIX)
        if trait not in known:
            raise ConfigError(f"unknown trait {name!r}; {known_traits(known)}")
        if TRAIT_FIELD_TYPES[known[trait]] != ftype:
            raise ConfigError(
                f"trait {name!r} is now a {known[trait]} (the rules were read with it as a "
                f"{ftype}); load the rules again"
            )


@dataclass
class Matches:
    """Who matches each rule segment at ``now``, computed and not recorded."""

    now: datetime
    n_people: int
    members: dict[str, list[str]]

    @property
    def sizes(self) -> dict[str, int]:
        return {sid: len(ids) for sid, ids in self.members.items()}


def match(
    con: duckdb.DuckDBPyConnection,
    plan: ActivationPlan,
    now: datetime,
    *,
    features: str = "features",
    keys: str = CURRENT_KEYS,
) -> Matches:
    """Every rule segment's members at ``now``, over the ``features`` relation and the stored
    memberships ``keys`` (:func:`audience.store.person_relation.keys_at` for a past date).

    Writes no run, segment or membership, and no history check applies: any date may be
    asked, the past included. Member ids are sorted.
    """
    now = to_utc_naive(now)
    rules = SqlRules(plan.definitions, now)
    check_references(con, rules, plan)
    check_traits(con, rules)
    _hits(con, plan, rules, features, keys)
    n_people = int(scalar(con, "SELECT count(*) FROM _rule_input"))
    found: dict[str, list[str]] = {d.segment_id: [] for d in plan.definitions}
    for segment_id, customer_id in con.execute(
        "SELECT segment_id, customer_id FROM _rule_hits ORDER BY ALL"
    ).fetchall():
        found[str(segment_id)].append(str(customer_id))
    for table in ("_rule_input", "_rule_hits"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return Matches(now=now, n_people=n_people, members=found)


def evaluate(con: duckdb.DuckDBPyConnection, plan: ActivationPlan, now: datetime) -> Evaluation:
    """Evaluate every rule segment at ``now`` (the caller's clock) and store changes.

    Run it inside a transaction: a dry run rolls it back.
    """
    now = to_utc_naive(now)
    last = scalar(
        con,
        "SELECT max(coalesce(valid_to, valid_from)) FROM memberships WHERE segment_id LIKE ?",
        [RULE_PREFIX + "%"],
    )
    if last is not None and now < last:
        raise InputError(
            f"evaluation time {now} is before the last evaluation ({last}); "
            "history only moves forward; to see the segments as of a past date, run "
            "'audience evaluate --as-of DATE --dry-run'"
        )
    rules = SqlRules(plan.definitions, now)
    check_references(con, rules, plan)
    check_traits(con, rules)
    run_id = f"rules-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    result = Evaluation(run_id=run_id, now=now, n_people=0)
    _hits(con, plan, rules)
    result.n_people = int(scalar(con, "SELECT count(*) FROM _rule_input"))
    _store_run(con, plan, rules, result)
    _apply_changes(con, plan, rules, result)
    for table in ("_rule_input", "_rule_hits", "_rule_entries", "_rule_exits"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return result


def _hits(
    con: duckdb.DuckDBPyConnection,
    plan: ActivationPlan,
    rules: SqlRules,
    features: str = "features",
    keys: str = CURRENT_KEYS,
) -> None:
    """``_rule_input`` (the input relation) and ``_rule_hits`` (customer_id, segment_id)."""
    people = people_sql(con, rules.fields, features)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _rule_input AS "
        f"{rules.input_query(people, 'person_events', f'({keys})')}"
    )
    if not plan.definitions:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rule_hits (customer_id VARCHAR, segment_id VARCHAR)"
        )
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE _rule_hits AS {hits_query(rules, '_rule_input')}")


def _described(d: SegmentDefinition) -> dict[str, Any]:
    """A definition as the run record keeps it: texts of the whole and of every leaf."""
    return {
        "name": d.name,
        "condition": describe(d.condition),
        "group": d.group,
        "rank": d.rank,
        "origin": str(d.origin),
        "leaves": [{"path": p, "condition": describe(leaf)} for p, leaf in leaves(d.condition)],
    }


def _store_run(
    con: duckdb.DuckDBPyConnection, plan: ActivationPlan, rules: SqlRules, result: Evaluation
) -> None:
    """The run record (definitions and their leaves' texts) and one segments row each."""
    sizes = dict(con.execute("SELECT segment_id, count(*) FROM _rule_hits GROUP BY ALL").fetchall())
    result.sizes = {d.segment_id: int(sizes.get(d.segment_id, 0)) for d in plan.definitions}
    described = [_described(d) for d in plan.definitions]
    params = {
        "now": result.now.isoformat(),
        "groups": [g.model_dump() for g in plan.groups],
        "engine": "duckdb",  # the spark engine computes rules in its own runs
    }
    con.execute(
        """INSERT INTO segment_runs (run_id, created_at, method, params, features, preprocessing,
                                      metrics, selection, model, n_customers)
           VALUES (?, ?, ?, ?, ?, '{}', '{}', '[]', ?, ?)""",
        [
            result.run_id,
            result.now,
            RULES_METHOD,
            json.dumps(params),
            json.dumps(list(rules.fields)),
            json.dumps({"type": RULES_METHOD, "definitions": described}),
            result.n_people,
        ],
    )
    for label, (d, profile) in enumerate(zip(plan.definitions, described, strict=True)):
        # The segment id stays: each evaluation updates the row, so history continues.
        con.execute(
            """INSERT INTO segments (segment_id, run_id, label, name, description, size, profile)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (segment_id) DO
               UPDATE SET run_id = excluded.run_id, label = excluded.label,
                 description = excluded.description, size = excluded.size,
                 profile = excluded.profile""",
            [
                d.segment_id,
                result.run_id,
                label,
                d.name,
                d.description,
                result.sizes[d.segment_id],
                json.dumps(profile),
            ],
        )


def _apply_changes(
    con: duckdb.DuckDBPyConnection, plan: ActivationPlan, rules: SqlRules, result: Evaluation
) -> None:
    """Close the memberships of people who left, open those of people who entered."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _rule_exits AS
        SELECT customer_id, segment_id FROM ({_OPEN_RULES})
        EXCEPT SELECT customer_id, segment_id FROM _rule_hits""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _rule_entries AS
        SELECT customer_id, segment_id FROM _rule_hits
        EXCEPT SELECT customer_id, segment_id FROM ({_OPEN_RULES})""")
    con.execute(
        """UPDATE memberships m SET valid_to = ? FROM _rule_exits x
           WHERE m.customer_id = x.customer_id AND m.segment_id = x.segment_id
             AND m.valid_to IS NULL AND m.segment_id LIKE ?""",
        [result.now, RULE_PREFIX + "%"],
    )
    con.execute(
        """INSERT INTO memberships (customer_id, segment_id, run_id, score, valid_from, valid_to)
           SELECT customer_id, segment_id, ?, NULL, ?, NULL FROM _rule_entries""",
        [result.run_id, result.now],
    )
    for table, counts in (("_rule_entries", result.entered), ("_rule_exits", result.exited)):
        rows = con.execute(f"SELECT segment_id, count(*) FROM {table} GROUP BY ALL").fetchall()
        counts.update({str(sid): int(n) for sid, n in rows})
    if result.entered:
        cases = " ".join(
            f"WHEN {literal(d.segment_id)} THEN {rules.trace(d)}"
            for d in plan.definitions
            if result.entered.get(d.segment_id)
        )
        con.execute(
            f"""INSERT INTO membership_reasons
                SELECT e.customer_id, e.segment_id, ?, CASE e.segment_id {cases} END
                FROM _rule_entries e JOIN _rule_input i USING (customer_id)""",
            [result.now],
        )
