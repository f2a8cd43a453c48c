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

from audience.errors import InputError
from audience.mlops.sketches import FeatureSketch, sketch_from_json, sketch_to_json


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
