"""Read back a stored segmentation run: its record, and its model applied to customers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from audience.errors import InputError
from audience.segmentation.assign import SegmentAssigner
from audience.segmentation.matrix import load_matrix
from audience.store.spreadsheet import spreadsheet_safe
from audience.store.sql import sql_literal
from audience.store.warehouse import scalar


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    method: str
    model: dict[str, Any]
    explanation: dict[str, Any]
    metrics: dict[str, Any]
    segments: list[dict[str, Any]]
    """Each segment's id, label, name and stored profile, in label order."""


def load_run(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> StoredRun:
    """The run named, or the latest clustering or RFM run."""
    rows = con.execute(
        """SELECT run_id, method, model, explanation, metrics FROM segment_runs
           WHERE (? IS NULL OR run_id = ?) AND method NOT IN ('rules', 'clv_tiers', 'churn_bands')
           ORDER BY created_at DESC LIMIT 1""",
        [run_id, run_id],
    ).fetchall()
    if not rows:
        raise InputError(
            f"no segmentation run {run_id!r}"
            if run_id
            else "no segmentation run yet; run 'audience segment' first"
        )
    found, method, model, explanation, metrics = rows[0]
    segments = [
        {"segment_id": s, "label": int(label), "name": name, **json.loads(profile)}
        for s, label, name, profile in con.execute(
            "SELECT segment_id, label, name, profile FROM segments WHERE run_id = ? ORDER BY label",
            [found],
        ).fetchall()
    ]
    return StoredRun(
        found,
        method,
        json.loads(model),
        json.loads(explanation or "{}"),
        json.loads(metrics),
        segments,
    )


def customers_in_space(
    con: duckdb.DuckDBPyConnection, run: StoredRun
) -> tuple[np.ndarray, np.ndarray]:
    """Today's features of the run's members in its space, with their labels in the run."""
    if run.method == "rfm":
        raise InputError("an RFM run has no clustering space to draw; choose a clustering run")
    _, raw = load_matrix(con, list(run.model["inputs"]))
    raw = raw.reindex(columns=run.model["features"], fill_value=0.0)
    assigner = SegmentAssigner.from_json(run.model)
    labels = con.execute(
        """SELECT s.label FROM features f JOIN memberships m
             ON m.customer_id = f.customer_id AND m.run_id = ?
           JOIN segments s USING (segment_id) ORDER BY f.customer_id""",
        [run.run_id],
    ).fetchall()
    members = con.execute(
        "SELECT f.customer_id IN (SELECT customer_id FROM memberships WHERE run_id = ?) "
        "FROM features f ORDER BY f.customer_id",
        [run.run_id],
    ).fetchall()
    keep = np.array([bool(r[0]) for r in members])
    X = assigner.embed(pd.DataFrame(raw[keep].to_numpy(), columns=raw.columns))
    return X, np.array([r[0] for r in labels], dtype=np.int64)


def sample_in_space(
    con: duckdb.DuckDBPyConnection, run: StoredRun, n: int, seed: int = 7
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A repeatable sample of ``n`` current members: ids, coordinates in the run's space, labels.

    Reads only the sampled rows, so that a map of a million customers stays quick.
    """
    if run.method == "rfm":
        raise InputError("an RFM run has no clustering space to draw; choose a clustering run")
    run_id = sql_literal(run.run_id)
    # The sample applies to the FROM it follows, hence the inner query: members first.
    picked = (
        "SELECT customer_id FROM (SELECT customer_id FROM memberships "
        f"WHERE run_id = {run_id} AND valid_to IS NULL) "
        f"USING SAMPLE reservoir({int(n)} ROWS) REPEATABLE ({int(seed)})"
    )
    ids, raw = load_matrix(con, list(run.model["inputs"]), picked)
    customers = [str(c) for c in ids.to_pylist()]
    if not customers:  # a run awaiting promotion assigns nobody yet
        return [], np.empty((0, 0)), np.empty(0, dtype=np.int64)
    raw = raw.reindex(columns=run.model["features"], fill_value=0.0)
    assigner = SegmentAssigner.from_json(run.model)
    found = dict(
        con.execute(
            """SELECT m.customer_id, s.label FROM memberships m JOIN segments s USING (segment_id)
               JOIN (SELECT unnest(?::VARCHAR[]) AS customer_id) picked USING (customer_id)
               WHERE m.run_id = ? AND m.valid_to IS NULL""",
            [customers, run.run_id],
        ).fetchall()
    )
    X = assigner.embed(pd.DataFrame(raw.to_numpy(), columns=raw.columns))
    return customers, X, np.array([found[c] for c in customers], dtype=np.int64)


def export_assignments(con: duckdb.DuckDBPyConnection, run_id: str, path: Path) -> int:
    """One CSV row per customer of a run: customer_id, segment_id, segment_name.

    Text cells a spreadsheet would run as formulas are defused
    (:func:`audience.store.spreadsheet.spreadsheet_safe`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    query = f"""SELECT m.customer_id, m.segment_id, s.name AS segment_name
                FROM memberships m JOIN segments s USING (segment_id)
                WHERE m.run_id = {sql_literal(run_id)}"""
    safe = spreadsheet_safe(con, query, order_by=["customer_id"])
    con.execute(f"COPY ({safe}) TO {sql_literal(str(path))} (HEADER, DELIMITER ',')")
    return int(
        scalar(con, f"SELECT count(*) FROM memberships WHERE run_id = {sql_literal(run_id)}")
    )
