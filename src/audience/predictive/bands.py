"""Predictive segments: CLV tiers and churn-risk bands, stored like any segmentation run.

A band run is a ``segment_runs`` row with its own method (``clv_tiers``, ``churn_bands``),
one ``segments`` row per band and one ``memberships`` row per customer, so that rules,
activation and reports use them like clusters. A new run of a method closes the current
memberships of the earlier runs of the same method (``valid_to``), never those of others.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa

from audience.config.predictive import Band
from audience.errors import ModelError
from audience.predictive.mle import FloatArray


@dataclass
class BandRun:
    """What a band run stored, as printed with ``--json``."""

    run_id: str
    method: str
    thresholds: list[float]
    segments: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "method": self.method, "segments": self.segments}


def assign_bands(
    values: FloatArray, bands: list[Band], basis: Literal["quantile", "value"]
) -> tuple[np.ndarray, list[float]]:
    """Band label of each value (0 = the band with the highest lower bound) and the cut values.

    ``bands`` are sorted by decreasing ``min``; with the quantile basis each ``min`` is turned
    into the value at that quantile of ``values``. A value below every bound gets the last band.
    """
    finite = values[np.isfinite(values)]
    if not len(finite):
        raise ModelError("no finite score to put into bands; check the prediction run")
    mins = np.array([b.min for b in bands])
    cuts = np.quantile(finite, mins) if basis == "quantile" else mins
    ascending = cuts[::-1]
    # searchsorted right: index of the highest bound <= value, counted from the lowest band.
    rank = np.searchsorted(ascending, values, side="right") - 1
    labels = len(bands) - 1 - np.clip(rank, 0, len(bands) - 1)
    return labels.astype(np.int32), cuts.tolist()


def describe_bands(
    run_id: str, values: FloatArray, labels: np.ndarray, cuts: list[float], bands: list[Band]
) -> list[dict[str, Any]]:
    """Size, share, bound, mean and total of the score in each band, as stored in ``segments``."""
    sizes = np.bincount(labels, minlength=len(bands))
    segments = []
    for label, band in enumerate(bands):
        chosen = values[labels == label]
        segments.append(
            {
                "segment_id": f"{run_id}:{label}",
                "label": label,
                "name": band.name,
                "description": band.description,
                "size": int(sizes[label]),
                "share": float(sizes[label] / max(len(values), 1)),
                "lower_bound": float(cuts[label]),
                "mean": float(chosen.mean()) if len(chosen) else None,
                "total": float(chosen.sum()),
            }
        )
    return segments


def store_bands(
    con: duckdb.DuckDBPyConnection,
    method: str,
    customer_ids: pa.Array,
    values: FloatArray,
    bands: list[Band],
    basis: Literal["quantile", "value"],
    source: dict[str, Any],
    now: datetime,
) -> BandRun:
    """Assign, describe and store a band run; close earlier memberships of ``method``."""
    keep = np.isfinite(values)
    ids = customer_ids.filter(pa.array(keep))
    values = values[keep]
    labels, cuts = assign_bands(values, bands, basis)
    run_id = f"{method}-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    segments = describe_bands(run_id, values, labels, cuts, bands)
    sizes = [s["size"] for s in segments]
    params = {"basis": basis, "bands": [b.model_dump() for b in bands], **source}
    model = {"type": method, "cuts": cuts, "names": [b.name for b in bands]}
    con.execute(
        """INSERT INTO segment_runs (run_id, created_at, method, params, features, preprocessing,
                                     metrics, selection, model, n_customers)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            run_id,
            now,
            method,
            json.dumps(params),
            json.dumps([source.get("score")]),
            "{}",
            json.dumps({"sizes": sizes}),
            "[]",
            json.dumps(model),
            len(values),
        ],
    )
    con.executemany(
        "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            [
                s["segment_id"],
                run_id,
                s["label"],
                s["name"],
                s["description"],
                s["size"],
                json.dumps(s),
            ]
            for s in segments
        ],
    )
    con.execute(
        """UPDATE memberships SET valid_to = ?
           WHERE valid_to IS NULL AND run_id <> ?
             AND run_id IN (SELECT run_id FROM segment_runs WHERE method = ?)""",
        [now, run_id, method],
    )
    members = pa.table({"customer_id": ids, "label": pa.array(labels), "score": pa.array(values)})
    con.register("_band_members", members)
    try:
        con.execute(
            """INSERT INTO memberships
                   (customer_id, segment_id, run_id, score, valid_from, valid_to)
               SELECT customer_id, ? || ':' || label, ?, score, ?, NULL FROM _band_members""",
            [run_id, run_id, now],
        )
    finally:
        con.unregister("_band_members")
    return BandRun(run_id=run_id, method=method, thresholds=cuts, segments=segments)
