"""Batch assignment: the segment's current members split in one SQL statement, exposures logged.

Each member's variant is :meth:`~audience.model.bucketing.Allocation.assign_sql`, the SQL twin
of the function the live path and the HTTP endpoint run, so a person gets one variant whatever
path asks. Every assigned person (not the holdout, not those outside the experiment's range)
gets one Segment ``Experiment Viewed`` track event in ``events``: its ``messageId`` is
``exp:<experiment>:<person>``, so assigning again, or the HTTP endpoint exposing the same
person, adds no second exposure (the events loader de-duplicates on ``messageId``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from audience.errors import ExperimentError, NotInExperimentError
from audience.experiments.registry import Experiment
from audience.model.bucketing import HOLDOUT
from audience.store.sql import literal
from audience.store.warehouse import scalar

EXPOSURE_EVENT = "Experiment Viewed"
"""The Segment Spec's A/B testing event (properties ``experiment_id``, ``variation_id``)."""


def exposure_message_id(experiment: str, person: str) -> str:
    """The ``messageId`` of a person's exposure: one per (experiment, person) whatever path."""
    return f"exp:{experiment}:{person}"


@dataclass
class AssignmentReport:
    """What ``experiment assign`` did."""

    experiment: str
    members: int
    variants: dict[str, int] = field(default_factory=dict)
    holdout: int = 0
    outside: int = 0
    """Members outside the experiment's share of its namespace."""
    new_exposures: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "members": self.members,
            "variants": dict(self.variants),
            "holdout": self.holdout,
            "outside": self.outside,
            "new_exposures": self.new_exposures,
        }


def assignments_sql(experiment: Experiment) -> str:
    """(customer_id, variant) of the segment's current members; variant NULL outside range."""
    allocation = experiment.allocation()
    return f"""SELECT customer_id, {allocation.assign_sql("customer_id")} AS variant
               FROM memberships
               WHERE segment_id = {literal(experiment.segment_id)} AND valid_to IS NULL"""


def assign_members(
    con: duckdb.DuckDBPyConnection, experiment: Experiment, now: datetime
) -> AssignmentReport:
    """Assign the segment's current members and record the exposures of the new ones."""
    if experiment.status != "running":
        raise ExperimentError(
            f"experiment {experiment.name!r} is {experiment.status}; a stopped experiment "
            "assigns no one (create a new one)"
        )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _assigned AS {assignments_sql(experiment)}")
    try:
        counts = con.execute(
            "SELECT coalesce(variant, ''), count(*) FROM _assigned GROUP BY ALL"
        ).fetchall()
        by_variant = {str(v): int(n) for v, n in counts}
        members = sum(by_variant.values())
        if not members:
            raise ExperimentError(
                f"segment {experiment.definition.segment!r} of experiment {experiment.name!r} "
                "has no current members; evaluate it again or choose another segment"
            )
        report = AssignmentReport(
            experiment.name,
            members,
            {v: by_variant.get(v, 0) for v in experiment.variant_names},
            by_variant.get(HOLDOUT, 0),
            by_variant.get("", 0),
        )
        report.new_exposures = record_exposures(con, experiment.name, "_assigned", now)
    finally:
        con.execute("DROP TABLE IF EXISTS _assigned")
    return report


def record_exposures(
    con: duckdb.DuckDBPyConnection, experiment: str, assigned: str, now: datetime
) -> int:
    """Insert an ``Experiment Viewed`` event per assigned person not yet exposed."""
    before = int(scalar(con, "SELECT count(*) FROM events"))
    name = literal(experiment)
    message_id = f"'exp:' || {name} || ':' || a.customer_id"
    # Each run is its own import: erasure indexes events by import, so a later run's
    # exposures under an import id already indexed would escape it.
    con.execute(f"""INSERT INTO events (message_id, type, event, user_id, anonymous_id,
                        "timestamp", sent_at, received_at, properties, traits, context, import_id)
        SELECT {message_id}, 'track', {literal(EXPOSURE_EVENT)}, a.customer_id, NULL,
               {literal(now)}, {literal(now)}, {literal(now)},
               json_object('experiment_id', {name}, 'variation_id', a.variant), NULL,
               json_object('library', json_object('name', 'audience experiment assign')),
               'experiment:' || {name} || ':' || {literal(now.isoformat())}
        FROM {assigned} a
        WHERE a.variant IS NOT NULL AND a.variant <> {literal(HOLDOUT)}
          AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = {message_id})""")
    return int(scalar(con, "SELECT count(*) FROM events")) - before


def assignment_of(con: duckdb.DuckDBPyConnection, experiment: Experiment, person: str) -> str:
    """One person's variant (or ``holdout``), refusing a person outside the segment or range."""
    inside = scalar(
        con,
        "SELECT count(*) FROM memberships WHERE segment_id = ? AND customer_id = ? "
        "AND valid_to IS NULL",
        [experiment.segment_id, person],
    )
    if not inside:
        raise NotInExperimentError(
            f"person {person!r} is not in segment {experiment.definition.segment!r} of "
            f"experiment {experiment.name!r}; only its members are assigned"
        )
    variant = experiment.allocation().assign(person)
    if variant is None:
        raise NotInExperimentError(
            f"person {person!r} is outside experiment {experiment.name!r}'s share of "
            f"namespace {experiment.namespace!r}"
        )
    return variant
