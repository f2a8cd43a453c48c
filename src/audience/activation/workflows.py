"""Run activation workflows: export a segment's members or send its changes to a webhook.

:mod:`audience.pipelines.activate` evaluates the rule segments first, then runs the
workflows here. Order of work, each step its own transaction so a failure loses nothing:

1. pre-flight: every webhook URL involved is resolved and checked against the SSRF guard,
   every secret is found -- before anything is evaluated or sent;
2. evaluation (:func:`audience.rules.evaluate.evaluate`, by the pipeline), committed;
3. per workflow: a webhook destination gets its changes queued as pending deliveries, those
   of people without a current grant for its purpose suppressed (committed), then sent, then
   the outcomes recorded; a file destination gets the segment's consenting members exported.

A dry run does steps 2 and 3 inside one transaction that is rolled back, sends nothing and
writes no file, and reports what would have happened.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from audience.activation.deliveries import (
    DeliverySummary,
    endpoint_state,
    open_dead_letters,
    pending_messages,
    queue_changes,
    record_outcomes,
    suppress_dead_letters,
    suppress_without_consent,
)
from audience.activation.destinations.exports import ExportResult, export_segment
from audience.activation.destinations.netguard import check_url
from audience.activation.destinations.webhook import Message, WebhookSender, resolve_secret
from audience.config.activation import FileDestination, WebhookDestination, WorkflowSpec
from audience.errors import InputError
from audience.model.activation_plan import ActivationPlan
from audience.model.conditions import describe, leaves
from audience.store.clock import Clock
from audience.store.warehouse import Warehouse

SenderFactory = Callable[[WebhookDestination], WebhookSender]
BATCH = 5_000
"""Webhooks sent between two commits of their outcomes."""


@dataclass
class WorkflowReport:
    segment_id: str
    segment: str
    destination: str
    kind: str
    delivery: DeliverySummary | None = None
    export: ExportResult | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "segment_id": self.segment_id,
            "segment": self.segment,
            "destination": self.destination,
            "type": self.kind,
        }
        if self.delivery is not None:
            out.update(self.delivery.to_dict())
        if self.export is not None:
            out.update(self.export.to_dict())
        return out


def resolve_segment(
    con: duckdb.DuckDBPyConnection, plan: ActivationPlan, ref: str
) -> tuple[str, str]:
    """(segment id, name) of a rule segment, or of a stored one by id or name (latest run)."""
    rule = plan.find(ref)
    if rule is not None:
        return rule.segment_id, rule.name
    rows = con.execute(
        """SELECT s.segment_id, s.name FROM segments s JOIN segment_runs r USING (run_id)
           WHERE s.segment_id = ? OR s.name = ?
           ORDER BY (s.segment_id = ?) DESC, r.created_at DESC LIMIT 1""",
        [ref, ref, ref],
    ).fetchall()
    if not rows:
        raise InputError(
            f"unknown segment {ref!r}; name a rule segment of audience.yaml or a "
            "segment id or name shown by 'audience overlap --all'"
        )
    return str(rows[0][0]), str(rows[0][1])


def leaf_texts(plan: ActivationPlan, segment_id: str) -> dict[str, str] | None:
    """Path -> text of each leaf of a rule segment (None for a stored segment)."""
    rule = plan.find(segment_id)
    return {path: describe(leaf) for path, leaf in leaves(rule.condition)} if rule else None


def select_workflows(
    con: duckdb.DuckDBPyConnection, plan: ActivationPlan, segment: str | None
) -> list[tuple[WorkflowSpec, str, str]]:
    chosen = []
    wanted = resolve_segment(con, plan, segment)[0] if segment else None
    for workflow in plan.workflows:
        segment_id, name = resolve_segment(con, plan, workflow.segment)
        if wanted is None or segment_id == wanted:
            chosen.append((workflow, segment_id, name))
    if segment and not chosen:
        raise InputError(f"no workflow in audience.yaml activates segment {segment!r}")
    return chosen


def preflight(plan: ActivationPlan, workflows: list[tuple[WorkflowSpec, str, str]]) -> None:
    """Secrets present and URLs allowed, for every webhook about to be used."""
    for workflow, _, _ in workflows:
        destination = plan.destinations[workflow.destination]
        if isinstance(destination, WebhookDestination):
            resolve_secret(destination)
            check_url(destination.url, destination.allow_networks, destination.name)


def run_workflow(
    warehouse: Warehouse,
    plan: ActivationPlan,
    root: Path,
    selected: tuple[WorkflowSpec, str, str],
    clock: Clock,
    sender: SenderFactory = WebhookSender,
) -> WorkflowReport:
    """Export a file destination's consenting members, or send a webhook's changes."""
    workflow, segment_id, name = selected
    destination = plan.destinations[workflow.destination]
    item = WorkflowReport(segment_id, name, destination.name, destination.type)
    now = clock.now()
    if isinstance(destination, FileDestination):
        with warehouse.transaction() as con:
            item.export = export_segment(con, root, destination, workflow, segment_id, name, now)
    else:
        texts = leaf_texts(plan, segment_id)
        item.delivery = _deliver(
            warehouse, destination, workflow, segment_id, name, clock, sender, texts
        )
    return item


def dry_workflow(
    con: duckdb.DuckDBPyConnection,
    plan: ActivationPlan,
    root: Path,
    workflow: WorkflowSpec,
    segment_id: str,
    name: str,
    now: datetime,
) -> WorkflowReport:
    destination = plan.destinations[workflow.destination]
    item = WorkflowReport(segment_id, name, destination.name, destination.type)
    if isinstance(destination, FileDestination):
        item.export = export_segment(
            con, root, destination, workflow, segment_id, name, now, dry_run=True
        )
        return item
    summary = DeliverySummary(
        queued=queue_changes(
            con, destination.name, workflow, segment_id, name, now, leaf_texts(plan, segment_id)
        )
    )
    summary.suppressed = suppress_without_consent(con, destination.name, destination.purpose, now)
    summary.held = len(pending_messages(con, destination.name))
    item.delivery = summary
    return item


def _deliver(
    warehouse: Warehouse,
    destination: WebhookDestination,
    workflow: WorkflowSpec,
    segment_id: str,
    name: str,
    clock: Clock,
    sender: SenderFactory,
    texts: dict[str, str] | None,
) -> DeliverySummary:
    con = warehouse.con
    now = clock.now()
    with warehouse.transaction():
        queued = queue_changes(con, destination.name, workflow, segment_id, name, now, texts)
        suppressed = suppress_without_consent(con, destination.name, destination.purpose, now)
        state, reason = endpoint_state(con, destination.name)
        messages = pending_messages(con, destination.name)
    if state == "disabled":
        return DeliverySummary(
            queued=queued, held=len(messages), suppressed=suppressed, disabled=reason
        )
    summary = send_in_batches(warehouse, sender(destination), messages, clock)
    summary.queued, summary.suppressed = queued, suppressed
    return summary


def send_in_batches(
    warehouse: Warehouse, sender: WebhookSender, messages: list[Message], clock: Clock
) -> DeliverySummary:
    """Send and record :data:`BATCH` messages at a time.

    Outcomes are committed batch by batch, so a crash repeats at most one batch (under the
    same webhook-ids) and memory stays bounded. After a 410 the rest is held, unsent.
    """
    total = DeliverySummary()
    for start in range(0, len(messages), BATCH):
        if total.disabled:
            total.held += len(messages) - start
            break
        report = sender.send(messages[start : start + BATCH])
        with warehouse.transaction() as con:
            part = record_outcomes(con, sender.destination.name, report, clock.now())
        total.delivered += part.delivered
        total.dead += part.dead
        total.held += part.held
        total.disabled = total.disabled or part.disabled
    return total


def retry_dead_letters(
    warehouse: Warehouse,
    plan: ActivationPlan,
    clock: Clock,
    destination: str | None = None,
    sender: SenderFactory | None = None,
) -> dict[str, DeliverySummary]:
    """Replay the open dead letters of every webhook destination (or one)."""
    sender = sender or functools.partial(WebhookSender, clock=clock)
    if destination is not None and destination not in plan.destinations:
        raise InputError(
            f"unknown destination {destination!r}; known: {', '.join(plan.destinations) or 'none'}"
        )
    results: dict[str, DeliverySummary] = {}
    for name, dest in plan.destinations.items():
        if not isinstance(dest, WebhookDestination) or destination not in (None, name):
            continue
        now = clock.now()
        with warehouse.transaction() as con:
            suppressed = suppress_dead_letters(con, name, dest.purpose, now)
            state, reason = endpoint_state(con, name)
            messages = open_dead_letters(con, name)
        if state == "disabled" or not messages:
            results[name] = DeliverySummary(
                held=len(messages),
                suppressed=suppressed,
                disabled=reason if state == "disabled" else None,
            )
            continue
        summary = send_in_batches(warehouse, sender(dest), messages, clock)
        summary.suppressed = suppressed
        results[name] = summary
    return results
