"""Batch runs keep the dashboard's slow records (:mod:`.dashboard_snapshots`).

A segmentation run, an activation or the demo ends by calling :func:`refresh_page_snapshots`:
the cohort grids, the map and the CLV/churn distributions of the latest clustering run, the
persons exposed to each experiment's variants, and the consent reach of every segment with
members are computed the way the pages compute them and kept with their basis. Older
snapshots go: a page asking for an older run computes it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime

import duckdb

from audience.config import WorkspaceConfig
from audience.pipelines.dashboard import table_exists
from audience.pipelines.dashboard_segment import reach_by_segment
from audience.pipelines.dashboard_snapshots import (
    TABLE,
    cohorts_basis,
    exposures_basis,
    keep,
    map_basis,
    predictions_basis,
    reach_basis,
)
from audience.pipelines.dashboard_views import (
    COHORT_METRICS,
    clustering_run,
    cohort_grid,
    exposures_now,
    map_of_run,
    predictions_of_run,
)
from audience.store.warehouse import scalar

PARTS = ("cohorts", "map", "predictions", "exposures", "reach")
"""What a refresh can recompute (each snapshot's name begins with its part)."""


def refresh_page_snapshots(
    con: duckdb.DuckDBPyConnection,
    config: WorkspaceConfig,
    now: datetime,
    parts: Collection[str] = PARTS,
) -> int:
    """Recompute and keep the snapshots of ``parts``; how many were kept.

    An activation changes rule memberships only, hence refreshes the reach alone: the whole
    costs about a minute at a million customers (cohorts and reach the most).
    """
    if not table_exists(con, TABLE):  # a warehouse opened read-only before its migration
        return 0
    con.execute(
        f"DELETE FROM {TABLE} WHERE list_contains(?, split_part(name, ':', 1))", [list(parts)]
    )
    kept = 0
    if "cohorts" in parts and scalar(con, "SELECT count(*) FROM order_lines"):
        basis = cohorts_basis(con, config.timezone)
        for metric in COHORT_METRICS:
            grid = cohort_grid(con, config.timezone, metric)
            keep(con, f"cohorts:{config.timezone}:{metric}", basis, asdict(grid), now)
            kept += 1
    run = clustering_run(con, None)
    if "map" in parts and run is not None and run.method != "rfm":
        found = map_of_run(con, run)
        if found is not None:
            keep(con, f"map:{run.run_id}", map_basis(con, run.run_id), asdict(found), now)
            kept += 1
    scored = scalar(con, "SELECT count(*) FROM prediction_runs WHERE scored")
    if "predictions" in parts and run is not None and scored:
        scores = predictions_of_run(con, config.currency, run.run_id)
        name = f"predictions:{run.run_id}:{config.currency}"
        keep(con, name, predictions_basis(con, run.run_id), asdict(scores), now)
        kept += 1
    if "exposures" in parts and table_exists(con, "experiment_exposures"):
        keep(con, "exposures", exposures_basis(con), asdict(exposures_now(con)), now)
        kept += 1
    if "reach" in parts:
        kept += _keep_reach(con, now)
    return kept


def _keep_reach(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    segments = [
        str(s)
        for (s,) in con.execute(
            "SELECT DISTINCT segment_id FROM memberships WHERE valid_to IS NULL"
        ).fetchall()
    ]
    found = reach_by_segment(con, segments)
    for segment_id, reach in found.items():
        body = [asdict(r) for r in reach]
        keep(con, f"reach:{segment_id}", reach_basis(con, segment_id), body, now)
    return len(found)
