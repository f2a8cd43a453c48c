"""Density models keep points of real customers (their exemplars): remove a forgotten one's.

DBSCAN and HDBSCAN runs store the sample points that define their clusters in
``segment_runs.model`` (``model.exemplars``, in the run's clustering space). A forgotten
person's point is found by putting her features through the run's own feature space and
removed with its label; the other exemplars still assign everyone else as before (a point
is one of many defining its cluster). Her features must still be in the warehouse: this
runs before the warehouse erasure, in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from audience.features.bags import BAG_PREFIX, with_bags
from audience.privacy.receipts import StoreReceipt, timed

DENSITY_TYPES = ("dbscan", "hdbscan")
TOLERANCE = 1e-6


def erase_exemplars(con: duckdb.DuckDBPyConnection, customer_ids: Iterable[str]) -> StoreReceipt:
    """Remove the persons' points from every stored density model; receipt of points removed."""
    receipt = StoreReceipt("warehouse:segment_runs.model_points")
    with timed(receipt):
        ids = sorted(set(customer_ids))
        runs = con.execute(
            """SELECT run_id, model FROM segment_runs
               WHERE json_extract_string(model, '$.model.type') IN ('dbscan', 'hdbscan')"""
        ).fetchall()
        if not runs or not ids:
            return receipt
        features = con.execute(
            "SELECT * FROM features WHERE list_contains(?, customer_id)", [ids]
        ).df()
        if features.empty:
            return receipt
        from audience.segmentation.assign import SegmentAssigner  # only with a density run

        for run_id, text in runs:
            model = json.loads(text)
            points = _points(con, SegmentAssigner.from_json(model), model, features)
            removed = _drop_points(model["model"], points)
            if removed:
                con.execute(
                    "UPDATE segment_runs SET model = ? WHERE run_id = ?",
                    [json.dumps(model), run_id],
                ).fetchall()
                receipt.found += removed
                receipt.deleted += removed
    return receipt


def _points(
    con: duckdb.DuckDBPyConnection, assigner: Any, model: dict[str, Any], features: pd.DataFrame
) -> np.ndarray:
    """The persons' rows in the run's clustering space (categories one-hot as at the fit; an
    autoencoder run's bags of categories and channels read again from their order lines and
    events, which are erased after this)."""
    names = [str(n) for n in model.get("features") or assigner.features]
    if any(name.startswith(BAG_PREFIX) for name in names):
        ids = [str(c) for c in features["customer_id"]]
        features = with_bags(con, ids, features.reset_index(drop=True))
    columns = {}
    for name in names:
        if name in features.columns:
            columns[name] = pd.to_numeric(features[name], errors="coerce").astype(float)
        elif "=" in name and name.split("=", 1)[0] in features.columns:
            base, value = name.split("=", 1)
            columns[name] = (features[base].astype(str) == value).astype(float)
        else:
            columns[name] = pd.Series(0.0, index=features.index)
    frame = pd.DataFrame(columns, index=features.index)
    return np.asarray(assigner.embed(frame), dtype=np.float64)


def _drop_points(state: dict[str, Any], points: np.ndarray) -> int:
    exemplars = np.asarray(state.get("exemplars") or [], dtype=np.float64)
    if not len(exemplars) or not len(points):
        return 0
    exemplars = exemplars.reshape(len(exemplars), -1)
    scale = TOLERANCE * (1 + np.abs(exemplars).max(axis=1))[:, None]
    hers = np.zeros(len(exemplars), dtype=bool)
    for start in range(0, len(points), 256):  # bounded memory for 10,000 persons at once
        chunk = points[start : start + 256]
        distance = np.abs(exemplars[:, None, :] - chunk[None, :, :]).max(axis=2)
        hers |= (distance <= scale).any(axis=1)
    if not hers.any():
        return 0
    keep = ~hers
    state["exemplars"] = exemplars[keep].tolist()
    state["exemplar_labels"] = [
        label for label, kept in zip(state["exemplar_labels"], keep, strict=True) if kept
    ]
    return int(hers.sum())
