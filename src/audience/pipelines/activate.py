"""``audience activate``: evaluate the rule segments, then run every workflow.

Evaluation (:mod:`audience.rules`) is committed before anything is sent or written
(:mod:`audience.activation`); a dry run does both inside one transaction that is rolled back,
sends nothing, writes no file, and reports what would have happened.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from audience.activation.destinations.webhook import WebhookSender
from audience.activation.workflows import (
    SenderFactory,
    WorkflowReport,
    dry_workflow,
    preflight,
    run_workflow,
    select_workflows,
)
from audience.experiments.holdout import SegmentHoldout, record_holdouts
from audience.model.activation_plan import ActivationPlan
from audience.model.rule_segment import RULE_PREFIX
from audience.rules.evaluate import Evaluation, evaluate
from audience.store.clock import SYSTEM_CLOCK, Clock
from audience.store.warehouse import Warehouse


@dataclass
class ActivationReport:
    evaluation: Evaluation
    dry_run: bool
    workflows: list[WorkflowReport] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "evaluation": self.evaluation.to_dict(),
            "workflows": [w.to_dict() for w in self.workflows],
        }


def activate(
    warehouse: Warehouse,
    plan: ActivationPlan,
    root: Path,
    *,
    segment: str | None = None,
    dry_run: bool = False,
    clock: Clock = SYSTEM_CLOCK,
    as_of: datetime | None = None,
    sender: SenderFactory | None = None,
) -> ActivationReport:
    """Evaluate, then deliver or export every workflow (of ``segment`` only, if given).

    Segments are evaluated as of ``as_of`` (default: the clock's now); deliveries are
    stamped by ``clock``, since receivers check signatures against their own time.
    """
    now = as_of or clock.now()
    sender = sender or functools.partial(WebhookSender, clock=clock)
    if dry_run:
        return _dry_run(warehouse.con, plan, root, segment, now)
    with warehouse.transaction() as con:
        workflows = select_workflows(con, plan, segment)
    preflight(plan, workflows)
    with warehouse.transaction() as con:
        evaluation = evaluate(con, plan, now)
        record_rule_holdouts(con, plan, now)
    report = ActivationReport(evaluation, dry_run=False)
    for selected in workflows:
        report.workflows.append(run_workflow(warehouse, plan, root, selected, clock, sender))
    return report


def _dry_run(
    con: duckdb.DuckDBPyConnection,
    plan: ActivationPlan,
    root: Path,
    segment: str | None,
    now: datetime,
) -> ActivationReport:
    """Everything but sending and writing files, in a transaction rolled back at the end."""
    con.execute("BEGIN TRANSACTION")
    try:
        report = ActivationReport(evaluate(con, plan, now), dry_run=True)
        record_rule_holdouts(con, plan, now)
        for workflow, segment_id, name in select_workflows(con, plan, segment):
            report.workflows.append(dry_workflow(con, plan, root, workflow, segment_id, name, now))
    finally:
        con.execute("ROLLBACK")
    return report


def record_rule_holdouts(
    con: duckdb.DuckDBPyConnection, plan: ActivationPlan, now: datetime
) -> None:
    """The rule segments' ``holdout:`` shares, as defined now, for the consent filter."""
    holdouts = {
        d.segment_id: SegmentHoldout(d.segment_id, d.holdout, d.holdout_window_days)
        for d in plan.definitions
        if d.holdout > 0
    }
    record_holdouts(con, holdouts, now, RULE_PREFIX)
