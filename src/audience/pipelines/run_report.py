"""The run report: maps from segmentation, cohorts from predictive, laid out by report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from audience.config import WorkspaceConfig
from audience.model.runs import SegmentRun
from audience.pipelines.experiments import report_sections
from audience.pipelines.run_history import drift_history, run_history, run_transitions
from audience.predictive.charts import cohort_heatmap
from audience.predictive.cohorts import cohort_table
from audience.report.html import RunCharts, write_report
from audience.report.predictions import predictive_sections
from audience.segmentation.maps import segment_map
from audience.segmentation.selection_rule import SELECTION_RULE
from audience.store.clock import SYSTEM_CLOCK, Clock
from audience.store.warehouse import scalar


def write_run_report(
    con: duckdb.DuckDBPyConnection,
    run: SegmentRun,
    config: WorkspaceConfig,
    reports_dir: Path,
    clock: Clock = SYSTEM_CLOCK,
    failures: Sequence[str] = (),
) -> Path:
    """Draw the run's maps and the cohorts, then write ``reports/<run_id>.html``.

    The latest CLV and churn runs and the current rule segments are shown when present;
    ``failures`` are the steps that could not run, each with its cause, shown in their place.
    """
    names = [s.name for s in run.segments]
    pca = segment_map(
        run.space,
        run.labels,
        names,
        "pca",
        sample_size=config.report.map_sample,
        random_state=config.segmentation.random_state,
    )
    has_orders = bool(scalar(con, "SELECT count(*) > 0 FROM order_lines"))
    charts = RunCharts(
        pca_map=pca.data_uri,
        map_points=pca.n_points,
        criterion=SELECTION_RULE,
        cohorts=cohort_heatmap(cohort_table(con, config.timezone)) if has_orders else None,
        other_maps=_other_maps(run, config, reports_dir),
        predictive=predictive_sections(con, run.run_id, names, failures),
        history=run_history(con, run),
        transitions=run_transitions(con, run),
        drift=drift_history(con),
        experiments=report_sections(con),
    )
    return write_report(con, run, config, reports_dir, charts, clock.now())


def _other_maps(
    run: SegmentRun, config: WorkspaceConfig, reports_dir: Path
) -> list[dict[str, str]]:
    """The configured maps other than PCA, also saved as PNG beside the report."""
    names = [s.name for s in run.segments]
    drawn = []
    for method in config.report.maps:
        if method == "pca":
            continue
        result = segment_map(
            run.space,
            run.labels,
            names,
            method,
            sample_size=min(config.report.map_sample, 3_000),
            random_state=config.segmentation.random_state,
            path=reports_dir / f"{run.run_id}-{method}.png",
        )
        drawn.append({"method": method, "uri": result.data_uri})
    return drawn
