"""``audience evaluate --as-of DATE --dry-run``: the rule segments as they stood at a past date.

Features are computed as of the date from the orders and events up to it
(:func:`audience.features.behaviour.compute_features` into a temporary table beside
``features``), then the rule segments are matched over them and over the stored cluster, RFM
and band memberships open at that date (:func:`audience.rules.evaluate.match`). All of it
runs in a transaction rolled back at the end: no run, membership, segment or feature row is
written, whatever the date, so history keeps moving forward only.

What the warehouse keeps no history of is read as it is now: traits, consent, predictions,
imputed values and which records make one person. When the data up to the date are those a
live evaluation saw then, the backtest finds the members that evaluation recorded, which
``audience members SEGMENT --as-of DATE`` reads back.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from audience.config import WorkspaceConfig
from audience.features.behaviour import compute_features
from audience.model.activation_plan import ActivationPlan
from audience.rules.evaluate import Evaluation, evaluate, match
from audience.store.clock import to_utc_naive
from audience.store.person_relation import keys_at
from audience.store.spreadsheet import neutralise
from audience.store.warehouse import Warehouse

BACKTEST_FEATURES = "_backtest_features"
"""The temporary table the features as of the date go to; ``features`` stays untouched."""


@dataclass(frozen=True)
class BacktestSegment:
    segment_id: str
    name: str
    members: list[str]


@dataclass(frozen=True)
class Backtest:
    """Who was in each rule segment as of a date, recomputed from the warehouse."""

    as_of: datetime
    n_people: int
    segments: list[BacktestSegment]

    def to_dict(self, with_members: bool = False) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": True,
            "n_people": self.n_people,
            "segments": {
                s.segment_id: {"name": s.name, "size": len(s.members)}
                | ({"members": s.members} if with_members else {})
                for s in self.segments
            },
        }


def backtest(
    warehouse: Warehouse, plan: ActivationPlan, config: WorkspaceConfig, as_of: datetime
) -> Backtest:
    """Features and rule segments as of ``as_of`` (naive UTC or aware), nothing written."""
    as_of = to_utc_naive(as_of)
    con = warehouse.con
    con.execute("BEGIN TRANSACTION")
    try:
        compute_features(
            con,
            config.features,
            config.timezone,
            list(config.quality.taxonomy),
            now=as_of,
            as_of=as_of,
            into=BACKTEST_FEATURES,
        )
        found = match(con, plan, as_of, features=BACKTEST_FEATURES, keys=keys_at(as_of))
    finally:
        con.execute("ROLLBACK")
    segments = [
        BacktestSegment(d.segment_id, d.name, found.members[d.segment_id]) for d in plan.definitions
    ]
    return Backtest(as_of=as_of, n_people=found.n_people, segments=segments)


def evaluate_or_preview(
    warehouse: Warehouse, plan: ActivationPlan, now: datetime, *, dry_run: bool
) -> Evaluation:
    """A recorded evaluation at ``now``, or with ``dry_run`` the same rolled back: who would
    enter and exit, nothing kept."""
    if not dry_run:
        with warehouse.transaction() as con:
            return evaluate(con, plan, now)
    warehouse.con.execute("BEGIN TRANSACTION")
    try:
        return evaluate(warehouse.con, plan, now)
    finally:
        warehouse.con.execute("ROLLBACK")


def write_members(result: Backtest, path: Path) -> int:
    """One CSV row per segment and member (safe to open in a spreadsheet); rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["as_of", "segment_id", "segment", "customer_id"])
        for s in result.segments:
            for customer_id in s.members:
                writer.writerow(
                    [
                        result.as_of.isoformat(),
                        s.segment_id,
                        neutralise(s.name),
                        neutralise(customer_id),
                    ]
                )
                rows += 1
    return rows
