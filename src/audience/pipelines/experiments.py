"""Experiments, composed: segments' memberships in, assignments, sums and analysis out.

The experiments stage stores definitions, assigns and sums; the analysis engine
(:mod:`audience.experiments.analysis`) turns sums into lifts. This module opens the warehouse,
chains them for each command (``experiment create|list|show|stop|assign|analyze``,
``audience lift``), and reads the running experiments for the live path and the HTTP endpoint.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from audience.errors import AudienceError, InputError
from audience.experiments.assignment import AssignmentReport, assign_members
from audience.experiments.definitions import ExperimentDefinition
from audience.experiments.holdout import LIFT_METRICS, lift_stats, segment_holdout
from audience.experiments.metrics import WAREHOUSE, Sources, metric_stats
from audience.experiments.records import AnalysisOptions, AnalysisResult
from audience.experiments.registry import (
    Experiment,
    create_experiment,
    get_experiment,
    list_experiments,
    resolve_segment,
    stop_experiment,
)
from audience.model.bucketing import HOLDOUT, Allocation
from audience.report.experiment_results import ExperimentSection
from audience.store.workspace import Workspace

log = logging.getLogger(__name__)


def result_dict(result: AnalysisResult) -> dict[str, Any]:
    """An analysis result as JSON: the keys ``analyze-summary`` prints too."""
    return dataclasses.asdict(result)


@dataclass
class ExperimentReport:
    """``experiment analyze``: the primary metric, guardrails, and per-group results."""

    experiment: Experiment
    primary: AnalysisResult
    guardrails: list[AnalysisResult] = field(default_factory=list)
    groups: list[AnalysisResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """Groups (or guardrails) not analysed, and why (too few persons, no data)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment.to_dict(),
            **result_dict(self.primary),
            "guardrails": [result_dict(r) for r in self.guardrails],
            "groups": [result_dict(r) for r in self.groups],
            "skipped": dict(self.skipped),
        }


def create(ws: Workspace, definitions: Sequence[ExperimentDefinition]) -> list[Experiment]:
    """Store experiments (all or none, when one is refused)."""
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        return [create_experiment(con, d, ws.clock.now()) for d in definitions]


def experiments(ws: Workspace) -> list[Experiment]:
    with ws.warehouse() as warehouse:
        return list_experiments(warehouse.con)


def show(ws: Workspace, name: str) -> Experiment:
    with ws.warehouse() as warehouse:
        return get_experiment(warehouse.con, name)


def stop(ws: Workspace, name: str) -> Experiment:
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        return stop_experiment(con, name, ws.clock.now())


def assign(ws: Workspace, name: str) -> AssignmentReport:
    """Assign the segment's current members and record their exposures."""
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        return assign_members(con, get_experiment(con, name), ws.clock.now())


def analyze_experiment(
    ws: Workspace,
    name: str,
    options: AnalysisOptions,
    by: Sequence[str] = (),
    sources: Sources = WAREHOUSE,
) -> ExperimentReport:
    """The primary metric and guardrails overall; with ``by``, the primary per group, every
    group's p-values adjusted together (Holm or Benjamini-Hochberg)."""
    from audience.experiments.analysis import adjust, analyze

    with ws.warehouse() as warehouse:
        con = warehouse.con
        experiment = get_experiment(con, name)
        d = experiment.definition
        options = dataclasses.replace(
            options, expected_weights=tuple(v.weight / 100.0 for v in d.variants)
        )
        overall = metric_stats(con, experiment, d.metric, (), sources)
        primary = analyze(d.metric, overall[0].variants, options)
        report = ExperimentReport(experiment, primary)
        for metric in d.guardrails:
            try:
                stats = metric_stats(con, experiment, metric, (), sources)
                report.guardrails.append(analyze(metric, stats[0].variants, options))
            except InputError as exc:
                report.skipped[f"guardrail {metric}"] = str(exc)
        if by:
            found = []
            for group in metric_stats(con, experiment, d.metric, by, sources):
                try:
                    found.append(analyze(d.metric, group.variants, options, group.group))
                except InputError as exc:
                    report.skipped[str(group.group)] = str(exc)
            report.groups = adjust(found, options.correction) if found else []
    return report


@dataclass
class LiftReport:
    """``audience lift``: targeted members against the segment's holdout."""

    segment: str
    segment_id: str
    holdout_percent: float
    window_days: int
    results: list[AnalysisResult]

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "segment_id": self.segment_id,
            "holdout_percent": self.holdout_percent,
            "window_days": self.window_days,
            "control": HOLDOUT,
            "metrics": [result_dict(r) for r in self.results],
        }


def lift(ws: Workspace, segment: str, options: AnalysisOptions) -> LiftReport:
    """Incremental conversion and revenue of the segment's targeted members over its holdout."""
    from audience.experiments.analysis import analyze

    with ws.warehouse() as warehouse:
        con = warehouse.con
        segment_id = resolve_segment(con, segment)
        holdout = segment_holdout(con, segment_id, segment)
        share = holdout.percent / 100.0
        options = dataclasses.replace(options, expected_weights=(share, 1.0 - share))
        results = [
            analyze(metric, lift_stats(con, holdout, metric).variants, options)
            for metric in LIFT_METRICS
        ]
    return LiftReport(segment, segment_id, holdout.percent, holdout.window_days, results)


TRAFFIC_DAYS = 28
"""Days of membership entries ``experiment size --segment`` averages the traffic over."""


def daily_entries(ws: Workspace, segment: str) -> float:
    """Persons entering ``segment`` per day, over the last :data:`TRAFFIC_DAYS` days."""
    from audience.errors import ExperimentError
    from audience.store.warehouse import scalar

    now = ws.clock.now()
    with ws.warehouse(read_only=True) as warehouse:
        segment_id = resolve_segment(warehouse.con, segment)
        entered = int(
            scalar(
                warehouse.con,
                "SELECT count(DISTINCT customer_id) FROM memberships WHERE segment_id = ? "
                f"AND valid_from > ? - INTERVAL {TRAFFIC_DAYS} DAY AND valid_from <= ?",
                [segment_id, now, now],
            )
        )
    if not entered:
        raise ExperimentError(
            f"segment {segment!r} had no one enter in the last {TRAFFIC_DAYS} days, so its "
            "traffic cannot give a duration; run without --segment for the sample size"
        )
    return entered / TRAFFIC_DAYS


def report_sections(con: duckdb.DuckDBPyConnection) -> list[ExperimentSection]:
    """Each experiment's primary metric for the HTML report (default options)."""
    from audience.experiments.analysis import analyze

    sections = []
    for experiment in list_experiments(con):
        d = experiment.definition
        head = (experiment.name, d.segment, d.metric, experiment.status)
        try:
            stats = metric_stats(con, experiment, d.metric)
            weights = tuple(v.weight / 100.0 for v in d.variants)
            result = analyze(d.metric, stats[0].variants, AnalysisOptions(expected_weights=weights))
        except InputError as exc:
            sections.append(ExperimentSection(*head, unavailable=str(exc)))
            continue
        sections.append(
            ExperimentSection(*head, result.variants, result.srm_flagged, None, result.notes)
        )
    return sections


def running_allocations(ws: Workspace) -> list[Allocation]:
    """The running experiments' allocations, for the live path and the HTTP endpoint.

    Read once at start from the warehouse opened read-only; a warehouse busy with a batch
    command leaves the live path without experiments, said in the log, rather than not
    starting (as the deployed model).
    """
    try:
        with ws.warehouse(read_only=True) as warehouse:
            return [
                e.allocation() for e in list_experiments(warehouse.con) if e.status == "running"
            ]
    except (AudienceError, ValueError) as exc:
        log.warning("no experiments for the live path: %s", exc)
        return []
