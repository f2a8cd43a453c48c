"""``experiment analyze`` composed: warehouse sums into the engine, guardrails, groups."""

from __future__ import annotations

import pytest

from audience.experiments.assignment import assign_members
from audience.experiments.definitions import definition
from audience.experiments.records import AnalysisOptions
from audience.experiments.registry import create_experiment
from audience.pipelines.experiments import analyze_experiment
from audience.store.workspace import Workspace
from tests.experiments.segment_data import NOW


@pytest.mark.parametrize("metric", ["revenue_per_order", "conversion", "revenue"])
def test_cuped_runs_on_every_kind_of_metric(workspace: Workspace, metric: str) -> None:
    with workspace.warehouse() as warehouse:
        con = warehouse.con
        exp = create_experiment(
            con, definition("p", "Buyers", "c:50,t:50", metric, guardrails=["Video Played"]), NOW
        )
        assign_members(con, exp, NOW)
    report = analyze_experiment(workspace, "p", AnalysisOptions(cuped=True), by=["VIP"])
    assert report.primary.metric == metric
    assert any(n.startswith("CUPED (t)") for n in report.primary.notes), report.primary.notes
    assert report.guardrails == [] and "has no data" in report.skipped["guardrail Video Played"]
    assert sorted(r.group or "" for r in report.groups) == ["VIP", "not VIP"]
    assert all(r.variants[1].adjusted_p_value is not None for r in report.groups)
