"""What the run report shows of a run's past: earlier runs with their metrics and the
champion's history, recalibration decisions, and where the previous run's customers went."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from audience.mlops import registry
from audience.model.runs import SegmentRun
from audience.pipelines.segment_lineage import transitions

HISTORY_ROWS = 12


def run_history(con: duckdb.DuckDBPyConnection, run: SegmentRun) -> list[dict[str, Any]]:
    """The latest runs of the run's model, newest first, with their key metrics, whether
    each is the champion, and the recalibration that made it (if any)."""
    model = registry.model_name(run.method)
    champion = registry.champion_run(con, model)
    rows = con.execute(
        f"""SELECT r.run_id, r.created_at, r.method, r.metrics,
                   (SELECT count(*) FROM segments s WHERE s.run_id = r.run_id) AS k
            FROM segment_runs r WHERE {_same_model(run)}
            ORDER BY r.created_at DESC LIMIT {HISTORY_ROWS}"""
    ).fetchall()
    decisions = _decisions(con)
    history = []
    for run_id, created_at, method, metrics, k in rows:
        values = json.loads(metrics)
        history.append(
            {
                "run_id": run_id,
                "created_at": f"{created_at:%Y-%m-%d %H:%M}",
                "method": method,
                "k": int(k),
                "silhouette": values.get("silhouette"),
                "davies_bouldin": values.get("davies_bouldin"),
                "stability": values.get("stability"),
                "champion": champion is not None and champion.run_id == run_id,
                "decision": decisions.get(run_id, ""),
            }
        )
    return history


def _same_model(run: SegmentRun) -> str:
    """SQL condition on ``method``: the runs of the same registered model as ``run``."""
    if run.method == "rfm":
        return "method = 'rfm'"
    return "method NOT IN ('rfm', 'rules', 'clv_tiers', 'churn_bands')"


def _decisions(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    try:
        rows = con.execute(
            "SELECT candidate_run, promoted, reason FROM recalibrations ORDER BY decided_at"
        ).fetchall()
    except duckdb.CatalogException:  # a warehouse opened read-only before the registry
        return {}
    return {
        str(run): ("promoted: " if promoted else "not promoted: ") + str(reason)
        for run, promoted, reason in rows
    }


def run_transitions(con: duckdb.DuckDBPyConnection, run: SegmentRun) -> dict[str, Any] | None:
    """Where the customers of the run this one continues (the champion it was matched to, or
    the previous run of its model) went, as counts and row shares; None for a first run."""
    previous = (run.preprocessing.get("lineage") or {}).get("previous_run")
    if previous is None:
        row = con.execute(
            f"""SELECT run_id FROM segment_runs WHERE run_id <> ? AND created_at <= (
                    SELECT created_at FROM segment_runs WHERE run_id = ?)
                AND {_same_model(run)}
                ORDER BY created_at DESC LIMIT 1""",
            [run.run_id, run.run_id],
        ).fetchone()
        previous = row[0] if row else None
    if previous is None:
        return None
    found = transitions(con, str(previous), run.run_id)
    if found is None:
        return None
    return {
        "previous_run": previous,
        "from": found.old_names,
        "to": found.new_names,
        "counts": found.counts.tolist(),
        "shares": found.shares().round(3).tolist(),
    }


DRIFT_ROWS = 6


def drift_history(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The latest drift checks (``audience drift``), newest first, with the drifted features."""
    rows = con.execute(
        f"""SELECT check_id, run_id, checked_at, dataset_drift, share, results
            FROM drift_checks ORDER BY checked_at DESC LIMIT {DRIFT_ROWS}"""
    ).fetchall()
    checks = []
    for check_id, run_id, checked_at, drifted, share, results in rows:
        report = json.loads(results)
        checks.append(
            {
                "check_id": check_id,
                "run_id": run_id,
                "checked_at": f"{checked_at:%Y-%m-%d %H:%M}",
                "dataset_drift": bool(drifted),
                "share": float(share),
                "threshold": report.get("threshold"),
                "drifted": [f["feature"] for f in report.get("features", []) if f.get("drifted")],
            }
        )
    return checks
