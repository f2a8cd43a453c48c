"""Where drift lives in the warehouse: each run's reference sketches and the checks made.

``run_sketches`` is written once, at the end of the run, and never recomputed: a check reads
the reference from there, not from data that may have changed since. ``drift_checks`` keeps
every verdict with its whole report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb

from audience.config.drift import DriftSettings
from audience.errors import InputError
from audience.mlops.sketches import (
    FeatureSketch,
    column_kinds,
    sketch_features,
    sketch_from_json,
    sketch_to_json,
)
from audience.store.sql import ident

REFERENCE = "_drift_reference"


def keep_reference(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    features: list[str],
    settings: DriftSettings,
    source: str = "features",
) -> list[str]:
    """Sketch the run's features from ``source`` and store them; returns those sketched.

    Cells the quality step imputed (``<feature>_imputed``) are left out, as the current
    side of a check has none. Features that are not columns of ``source`` (custom traits)
    are not sketched.
    """
    kinds = column_kinds(con, source)
    chosen = [f for f in features if f in kinds]
    if not chosen:
        return []
    columns = ", ".join(
        f"CASE WHEN {ident(f + '_imputed')} THEN NULL ELSE {ident(f)} END AS {ident(f)}"
        if f + "_imputed" in kinds
        else ident(f)
        for f in chosen
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW {REFERENCE} AS SELECT {columns} FROM {ident(source)}")
    try:
        sketches = sketch_features(
            con, REFERENCE, chosen, bins=settings.bins, small_reference=settings.small_reference
        )
    finally:
        con.execute(f"DROP VIEW IF EXISTS {REFERENCE}")
    store_sketches(con, run_id, sketches)
    return chosen


def store_sketches(
    con: duckdb.DuckDBPyConnection, run_id: str, sketches: Mapping[str, FeatureSketch]
) -> None:
    con.executemany(
        "INSERT INTO run_sketches (run_id, feature, kind, sketch) VALUES (?, ?, ?, ?)",
        [
            [run_id, name, sketch.kind, json.dumps(sketch_to_json(sketch))]
            for name, sketch in sketches.items()
        ],
    )


def load_sketches(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, FeatureSketch]:
    """The run's sketches by feature, in the order stored; a run without any is refused."""
    rows = con.execute(
        "SELECT feature, sketch FROM run_sketches WHERE run_id = ? ORDER BY rowid", [run_id]
    ).fetchall()
    if not rows:
        raise InputError(
            f"run {run_id!r} has no reference sketches (it was made before drift tracking); "
            "run 'audience segment' again to make a run that keeps them"
        )
    return {str(name): sketch_from_json(json.loads(data)) for name, data in rows}


def record_check(
    con: duckdb.DuckDBPyConnection,
    check_id: str,
    run_id: str,
    at: datetime,
    dataset_drift: bool,
    share: float,
    results: Mapping[str, Any],
) -> None:
    con.execute(
        "INSERT INTO drift_checks VALUES (?, ?, ?, ?, ?, ?)",
        [check_id, run_id, at, dataset_drift, share, json.dumps(results, default=str)],
    )
