"""Segment holdouts: a random share of a segment kept from activation, and the lift against it.

A rule segment says ``holdout: 5%`` in its definition, the clusters of ``audience segment`` take
``segmentation.holdout`` from ``audience.yaml``; the share is written to ``segment_holdouts``
(:func:`record_holdouts`) and who is held out is the bucket of ``(holdout:<segment id>,
person)`` (:func:`~audience.model.bucketing.segment_holdout_sql`), so the same person stays out
as the segment changes, and the activation's consent filter leaves her out without a list.

``audience lift SEGMENT`` compares the current members targeted with those held out, from the
time each entered the segment, over the holdout's window: conversion and revenue, by the same
sums and engine as experiments (the holdout is the control).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import duckdb

from audience.errors import ExperimentError
from audience.experiments.metrics import WAREHOUSE, GroupStats, Sources, collect, sums_sql
from audience.model.bucketing import HOLDOUT, segment_holdout_sql
from audience.store.sql import literal

TARGETED = "targeted"
LIFT_METRICS = ("conversion", "revenue")


@dataclass(frozen=True)
class SegmentHoldout:
    """A segment's holdout share (percent) and the window its lift is measured over."""

    segment_id: str
    percent: float
    window_days: int = 30


def record_holdouts(
    con: duckdb.DuckDBPyConnection,
    holdouts: Mapping[str, SegmentHoldout],
    now: datetime,
    prefix: str,
) -> None:
    """Make ``segment_holdouts`` hold exactly ``holdouts`` among segment ids with ``prefix``
    (``rule:`` for rule segments): a holdout removed from a definition is removed here."""
    con.execute("DELETE FROM segment_holdouts WHERE starts_with(segment_id, ?)", [prefix])
    for h in holdouts.values():
        if h.percent > 0:
            con.execute(
                "INSERT INTO segment_holdouts VALUES (?, ?, ?, ?)",
                [h.segment_id, h.percent, h.window_days, now],
            )


def record_run_holdouts(
    con: duckdb.DuckDBPyConnection, run_id: str, percent: float, now: datetime
) -> None:
    """The segments of a clustering run keep ``percent`` each; earlier runs' holdouts end."""
    con.execute("DELETE FROM segment_holdouts WHERE NOT starts_with(segment_id, 'rule:')")
    if percent > 0:
        con.execute(
            """INSERT INTO segment_holdouts
               SELECT segment_id, ?, 30, ? FROM segments WHERE run_id = ?""",
            [percent, now, run_id],
        )


def segment_holdout(con: duckdb.DuckDBPyConnection, segment_id: str, name: str) -> SegmentHoldout:
    rows = con.execute(
        "SELECT percent, window_days FROM segment_holdouts WHERE segment_id = ?", [segment_id]
    ).fetchall()
    if not rows:
        raise ExperimentError(
            f"segment {name!r} keeps no holdout; add 'holdout: 5%' to its definition (rule "
            "segments) or segmentation.holdout to audience.yaml (clusters), then evaluate it"
        )
    return SegmentHoldout(segment_id, float(rows[0][0]), int(rows[0][1]))


def lift_stats(
    con: duckdb.DuckDBPyConnection,
    holdout: SegmentHoldout,
    metric: str,
    sources: Sources = WAREHOUSE,
) -> GroupStats:
    """Sums of ``metric`` for the held-out (first) and targeted current members."""
    held = segment_holdout_sql(
        literal(holdout.segment_id), "customer_id", literal(holdout.percent / 100.0)
    )
    exposed = f"""SELECT customer_id,
                         CASE WHEN {held} THEN {literal(HOLDOUT)} ELSE {literal(TARGETED)} END
                             AS variant,
                         valid_from AS exposed_at
                  FROM memberships
                  WHERE segment_id = {literal(holdout.segment_id)} AND valid_to IS NULL"""
    window = holdout.window_days
    found = collect(
        con,
        sums_sql(con, exposed, metric, window, window, (), sources),
        metric,
        (HOLDOUT, TARGETED),
    )
    if not found or any(v.n < 2 for v in found[0].variants):
        counts = {v.name: v.n for v in found[0].variants} if found else {}
        raise ExperimentError(
            f"segment {holdout.segment_id!r} has too few members to measure a lift "
            f"({counts or 'no members'}); at least 2 held out and 2 targeted are needed"
        )
    return found[0]
