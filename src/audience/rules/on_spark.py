"""Rule segments on Spark: the warehouse's compiled rules, transpiled by sqlglot.

:class:`audience.rules.compile_sql.SqlRules`, :func:`~audience.rules.compile_sql.hits_query`
and :func:`audience.store.person_relation.people_query` are the one definition; this module
runs them over Spark views of the lake: the features, the person fields and custom traits of
``profiles``/``customers``, predictions, events as they belong to people
(``person_events``), and the stored segments' memberships. A definition Spark cannot read
(a feature the lake lacks, an unknown trait, a stored segment not in the lake, or a rule
that names one of those) is left out with the reason, never computed wrongly.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from audience.model.conditions import Comparison, InSegment, leaves
from audience.model.rule_segment import SegmentDefinition
from audience.rules.compile_sql import SqlRules, hits_query
from audience.store.clock import to_utc_naive
from audience.store.dialects import to_spark
from audience.store.person_relation import CURRENT_KEYS, field_problem, people_query

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

INPUT_VIEW = "_rule_input"


@dataclass
class SparkRuleHits:
    """Members of the rule segments Spark computed, and the definitions it left out, why."""

    hits: DataFrame  # (customer_id, segment_id), lazy
    left_out: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SparkInputs:
    """What the lake offers the rules: feature columns, custom traits (name -> type) and the
    ids and names of its stored segments."""

    columns: Collection[str]
    traits: dict[str, str]
    segments: Collection[str]


def _why_not(definition: SegmentDefinition, inputs: SparkInputs, usable: set[str]) -> str:
    """Why a definition cannot run on the lake; '' when it can."""
    for _, leaf in leaves(definition.condition):
        if isinstance(leaf, Comparison):
            problem = field_problem(leaf.field, inputs.columns, inputs.traits)
            if problem:
                return problem
        elif isinstance(leaf, InSegment):
            if leaf.rule is None and leaf.ref not in inputs.segments:
                return f"stored segment {leaf.ref!r} is not in the lake"
            if leaf.rule is not None and leaf.rule not in usable:
                return f"rule {leaf.rule} is left out"
    return ""


def runnable(
    definitions: Sequence[SegmentDefinition], inputs: SparkInputs
) -> tuple[list[SegmentDefinition], dict[str, str]]:
    """The definitions computable from ``inputs`` (a rule's references included), and the
    reason each other one is not."""
    usable: set[str] = set()
    changed = True
    while changed:  # a rule is usable once every rule it references is
        changed = False
        for d in definitions:
            if d.name not in usable and not _why_not(d, inputs, usable):
                usable.add(d.name)
                changed = True
    left_out = {d.name: _why_not(d, inputs, usable) for d in definitions if d.name not in usable}
    return [d for d in definitions if d.name in usable], left_out


def lake_segments(spark: SparkSession) -> set[str]:
    """Ids and names of the stored segments in the lake's ``segments`` view."""
    rows = spark.sql("SELECT segment_id, name FROM segments").collect()
    return {str(v) for row in rows for v in row if v is not None}


def spark_rule_hits(
    spark: SparkSession,
    definitions: Sequence[SegmentDefinition],
    now: datetime,
    traits: dict[str, str] | None = None,
    features: str = "features",
) -> SparkRuleHits:
    """(customer_id, segment_id) of the rule segments' members at ``now`` over the Spark view
    ``features`` and the lake's views (:func:`audience.store.lake.register_lake`); exclusive
    groups keep a person in their first segment by rank. ``traits``: the custom traits the
    rules may name, with their types (the warehouse's ``trait_types``)."""
    inputs = SparkInputs(spark.table(features).columns, traits or {}, lake_segments(spark))
    kept, left_out = runnable(definitions, inputs)
    if not kept:
        empty = spark.createDataFrame([], "customer_id string, segment_id string")
        return SparkRuleHits(empty, left_out)
    rules = SqlRules(kept, to_utc_naive(now))
    people = people_query(rules.fields, inputs.columns, inputs.traits, features)
    relation = rules.input_query(people, "person_events", f"({CURRENT_KEYS})")
    spark.sql(to_spark(relation)).createOrReplaceTempView(INPUT_VIEW)
    return SparkRuleHits(spark.sql(to_spark(hits_query(rules, INPUT_VIEW))), left_out)
