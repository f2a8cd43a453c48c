"""A segmentation run: features -> preprocessing -> clustering -> profiles, names -> warehouse.

The run is stored whole (parameters, preprocessing, selection table, metrics, centroids as
JSON) so that it can be compared with later runs and can assign new customers; memberships
of earlier clustering runs are closed (``valid_to``) rather than deleted.
"""

from __future__ import annotations

import json
import secrets
import warnings
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from audience.config import WorkspaceConfig
from audience.errors import ModelError
from audience.features.behaviour import FEATURES, compute_features
from audience.quality.impute import impute_features
from audience.segmentation.kmeans import AutoKMeans, sampled_silhouette, separation_scores
from audience.segmentation.kpis import segment_kpis
from audience.segmentation.preprocess import FILL_WITH_MAX, FILL_WITH_MEDIAN, FeaturePreprocessor
from audience.segmentation.profile import SegmentProfile, name_segments, profile_segments
from audience.store.warehouse import utcnow

METRIC_SAMPLE = 5_000
DB_CH_SAMPLE = 200_000


@dataclass
class SegmentRun:
    """The outcome of a run, as stored and as printed with ``--json``."""

    run_id: str
    method: str
    k: int
    n_customers: int
    features: list[str]
    metrics: dict[str, float]
    selection: list[dict[str, Any]]
    preprocessing: dict[str, Any]
    segments: list[SegmentProfile]
    as_of: str
    warnings: list[str]
    space: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    """Customers in the clustering space (rows aligned with ``labels``), for maps; not stored."""
    labels: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64), repr=False)

    def segment_id(self, label: int) -> str:
        return f"{self.run_id}:{label}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "method": self.method,
            "k": self.k,
            "n_customers": self.n_customers,
            "as_of": self.as_of,
            "features": self.features,
            "metrics": self.metrics,
            "selection": self.selection,
            "preprocessing": self.preprocessing,
            "warnings": self.warnings,
            "segments": [
                {"segment_id": self.segment_id(s.label), **s.to_dict()} for s in self.segments
            ],
        }


def load_matrix(
    con: duckdb.DuckDBPyConnection, features: list[str]
) -> tuple[pa.Array, pd.DataFrame]:
    """Customer ids and the chosen feature columns, in one scan of ``features``."""
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ModelError(
            f"unknown feature(s) {', '.join(unknown)} in segmentation.features; "
            f"known: {', '.join(FEATURES)}"
        )
    columns = ", ".join(f'"{f}"::DOUBLE AS "{f}"' for f in features)
    sql = f"SELECT customer_id, {columns} FROM features ORDER BY customer_id"
    table = con.sql(sql).to_arrow_table()
    frame = table.drop(["customer_id"]).to_pandas()
    return table.column("customer_id"), frame


def run_segmentation(
    con: duckdb.DuckDBPyConnection, config: WorkspaceConfig, k: int | None = None
) -> SegmentRun:
    """Compute features, cluster, profile, name and store a run; returns it."""
    summary = compute_features(con, config.features)
    imputed = impute_features(con, config.quality.imputation, config.segmentation.random_state)
    seg = config.segmentation
    names = config.clustering_features()
    ids, raw = load_matrix(con, names)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        pre = FeaturePreprocessor(
            fill_max=tuple(i for i, n in enumerate(names) if n in FILL_WITH_MAX),
            fill_median=tuple(i for i, n in enumerate(names) if n in FILL_WITH_MEDIAN),
        )
        X = pre.fit_transform(raw.to_numpy())
        kept = [n for n, keep in zip(names, pre.keep_, strict=True) if keep]
        model = AutoKMeans(
            n_clusters=k or seg.k,
            k_range=(seg.k_range[0], min(seg.k_range[1], seg.max_segments)),
            sample_size=seg.sample_size,
            min_share=seg.min_segment_share,
            random_state=seg.random_state,
        ).fit(X)
    caught = [str(w.message) for w in records]
    labels = model.labels_
    metrics = _metrics(X, labels, seg.random_state)
    profiles = profile_segments(raw[kept], X, labels)
    name_segments(profiles, seg.names)
    run = SegmentRun(
        run_id=f"run-{utcnow():%Y%m%d%H%M%S}-{secrets.token_hex(3)}",
        method="kmeans",
        k=model.n_clusters_,
        n_customers=len(labels),
        features=kept,
        metrics=metrics,
        selection=model.selection_,
        preprocessing={**pre.describe(names), "imputed_by_model": imputed},
        segments=profiles,
        as_of=summary.as_of.isoformat(),
        warnings=caught,
        space=X,
        labels=labels,
    )
    distances = model.transform(X)
    _store(con, run, ids, labels, _confidence(distances), model, config)
    kpis = segment_kpis(con, run.run_id, config.kpis)
    for profile in profiles:
        profile.kpis = kpis.get(run.segment_id(profile.label), {})
    con.executemany(
        "UPDATE segments SET profile = ? WHERE segment_id = ?",
        [[json.dumps(p.to_dict()), run.segment_id(p.label)] for p in profiles],
    )
    return run


def _metrics(X: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    silhouette, error = sampled_silhouette(X, labels, METRIC_SAMPLE, seed)
    idx = rng.choice(len(X), size=min(len(X), DB_CH_SAMPLE), replace=False)
    scores = separation_scores(X[idx], labels[idx])
    return {
        "silhouette": round(silhouette, 4),
        "silhouette_se": round(error, 4),
        "silhouette_sample": min(len(X), METRIC_SAMPLE),
        "davies_bouldin": round(scores["davies_bouldin"], 4),
        "calinski_harabasz": round(scores["calinski_harabasz"], 1),
    }


def _confidence(distances: np.ndarray) -> np.ndarray:
    """1 - nearest / second nearest centroid distance: 0 on a border, 1 on the centroid."""
    if distances.shape[1] < 2:
        return np.ones(len(distances))
    two = np.partition(distances, 1, axis=1)[:, :2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(two[:, 1] > 0, two[:, 0] / two[:, 1], 0.0)
    return 1.0 - ratio


def _store(
    con: duckdb.DuckDBPyConnection,
    run: SegmentRun,
    ids: pa.Array,
    labels: np.ndarray,
    confidence: np.ndarray,
    model: AutoKMeans,
    config: WorkspaceConfig,
) -> None:
    now = utcnow()
    params = {
        "k": config.segmentation.k,
        "k_range": list(config.segmentation.k_range),
        "sample_size": config.segmentation.sample_size,
        "min_segment_share": config.segmentation.min_segment_share,
        "random_state": config.segmentation.random_state,
        "objective": config.objective,
    }
    stored_model = {
        "type": "kmeans",
        "features": run.features,
        "centroids": model.cluster_centers_.round(6).tolist(),
    }
    con.execute(
        "INSERT INTO segment_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run.run_id, now, run.method, json.dumps(params), json.dumps(run.features),
            json.dumps(run.preprocessing), json.dumps(run.metrics), json.dumps(run.selection),
            json.dumps(stored_model), run.n_customers,
        ],
    )  # fmt: skip
    con.executemany(
        "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            [run.segment_id(p.label), run.run_id, p.label, p.name, p.description, p.size,
             json.dumps(p.to_dict())]
            for p in run.segments
        ],
    )  # fmt: skip
    # A customer leaves the segments of earlier clustering runs when this one assigns her.
    con.execute(
        """UPDATE memberships SET valid_to = ?
           WHERE valid_to IS NULL AND run_id IN (SELECT run_id FROM segment_runs WHERE method = ?)
             AND run_id <> ?""",
        [now, run.method, run.run_id],
    )
    members = pa.table(
        {
            "customer_id": ids,
            "label": pa.array(labels.astype(np.int32)),
            "score": pa.array(confidence.round(4)),
        }
    )
    con.register("_new_members", members)
    con.execute(
        """INSERT INTO memberships (customer_id, segment_id, run_id, score, valid_from, valid_to)
           SELECT customer_id, ? || ':' || label, ?, score, ?, NULL FROM _new_members""",
        [run.run_id, run.run_id, now],
    )
    con.unregister("_new_members")
