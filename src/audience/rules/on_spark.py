"""Rule segments on Spark: the warehouse's compiled rules, transpiled by sqlglot.

:class:`audience.rules.compile_sql.SqlRules` and :func:`~audience.rules.compile_sql.hits_query`
are the one definition; this module runs them over a Spark view of the features. Rules over
the features (and over each other) run here; rules counting events, reading custom traits,
profile fields or stored segments need the warehouse's person relations: they are left out
and reported, for 'audience evaluate' to compute.
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
from audience.store.sql import ident

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

INPUT_VIEW = "_rule_input"


@dataclass
class SparkRuleHits:
    """Members of the rule segments Spark computed, and the definitions it left out, why."""

    hits: DataFrame  # (customer_id, segment_id), lazy
    left_out: dict[str, str] = field(default_factory=dict)


def _why_not(definition: SegmentDefinition, columns: Collection[str], usable: set[str]) -> str:
    """Why a definition cannot run over the features alone; '' when it can."""
    for _, leaf in leaves(definition.condition):
        if isinstance(leaf, Comparison):
            if leaf.field not in columns:
                return f"field {leaf.field} is not a feature"
        elif isinstance(leaf, InSegment):
            if leaf.rule is None:
                return f"stored segment {leaf.ref}"
            if leaf.rule not in usable:
                return f"rule {leaf.rule} is left out"
        else:
            return "event conditions"
    return ""


def runnable_on_features(
    definitions: Sequence[SegmentDefinition], columns: Collection[str]
) -> tuple[list[SegmentDefinition], dict[str, str]]:
    """The definitions computable from ``columns`` (a rule's references included), and the
    reason each other one is not."""
    usable: set[str] = set()
    left_out: dict[str, str] = {}
    changed = True
    while changed:  # a rule is usable once every rule it references is
        changed = False
        for d in definitions:
            if d.name not in usable and not _why_not(d, columns, usable):
                usable.add(d.name)
                changed = True
    for d in definitions:
        if d.name not in usable:
            left_out[d.name] = _why_not(d, columns, usable)
    return [d for d in definitions if d.name in usable], left_out


def spark_rule_hits(
    spark: SparkSession,
    definitions: Sequence[SegmentDefinition],
    now: datetime,
    features: str = "features",
) -> SparkRuleHits:
    """(customer_id, segment_id) of the rule segments' members at ``now`` over the Spark view
    ``features``; exclusive groups keep a person in their first segment by rank."""
    kept, left_out = runnable_on_features(definitions, spark.table(features).columns)
    if not kept:
        empty = spark.createDataFrame([], "customer_id string, segment_id string")
        return SparkRuleHits(empty, left_out)
    rules = SqlRules(kept, to_utc_naive(now))
    columns = ", ".join(["customer_id", *(ident(f) for f in rules.fields)])
    spark.sql(to_spark(f"SELECT {columns} FROM {features}")).createOrReplaceTempView(INPUT_VIEW)
    return SparkRuleHits(spark.sql(to_spark(hits_query(rules, INPUT_VIEW))), left_out)
