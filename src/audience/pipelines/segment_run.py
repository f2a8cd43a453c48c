"""A segmentation run: features -> feature space -> method and k chosen -> profiles, names,
rules, bias checks -> warehouse.

The run is stored whole (parameters, pre-processing, selection table, metrics, explanation,
and the fitted space and model as JSON) so that it can be compared with later runs and can
assign new customers (:class:`~audience.segmentation.assign.SegmentAssigner`).
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from audience.config import WorkspaceConfig
from audience.errors import ModelError
from audience.experiments.holdout import record_run_holdouts
from audience.features.bags import with_bags
from audience.features.behaviour import compute_features
from audience.mlops.drift_store import keep_reference
from audience.model.progress import Progress, no_progress
from audience.model.runs import SegmentRun
from audience.pipelines.segment_deep import (
    auto_contest,
    check_deep,
    compare_with_pca,
    deep_in_auto,
    deep_metrics,
    fit_encoder,
    mark_deep,
    split_method,
)
from audience.pipelines.segment_lineage import carry_over
from audience.quality.impute import impute_features
from audience.segmentation.algorithms import DEEP_PREFIX
from audience.segmentation.assign import SegmentAssigner, confidence
from audience.segmentation.autoencoder import import_torch
from audience.segmentation.bias import reference_bias, sample_bias
from audience.segmentation.explain import explain_segments
from audience.segmentation.kmeans import sampled_silhouette, separation_scores
from audience.segmentation.labels import NOISE, noise_as_group
from audience.segmentation.maps import NOISE_NAME
from audience.segmentation.matrix import load_matrix
from audience.segmentation.persist import store_run
from audience.segmentation.preprocess import FeaturePreprocessor
from audience.segmentation.profiling import name_segments, profile_segments
from audience.segmentation.rfm import RFM_FEATURES, RFM_SEGMENTS, RFMSegmenter
from audience.segmentation.rfm_fold import fold_small_cells
from audience.segmentation.screening import drop_near_constant
from audience.segmentation.selection import AutoSegmenter, selection_sample
from audience.segmentation.space import FeatureSpace
from audience.segmentation.stability import jaccard_band, segment_jaccard
from audience.store.clock import SYSTEM_CLOCK, Clock

METRIC_SAMPLE = 5_000
DB_CH_SAMPLE = 200_000


@dataclass
class _Fitted:
    """What a method produced, before profiles and names."""

    method: str
    labels: np.ndarray  # noise already moved to the last label
    has_noise: bool
    space: np.ndarray  # customers where the model sees them (maps, metrics)
    signature_space: np.ndarray  # scaled features, one column per kept feature (profiles)
    kept: list[str]
    preprocessing: dict[str, Any]
    selection: list[dict[str, Any]]
    model: dict[str, Any]
    confidence: np.ndarray
    segment_names: list[str] | None = None  # fixed names (RFM), else named from signatures
    jaccard: np.ndarray | None = None  # per label, bootstrap Jaccard (Hennig); None for RFM


def run_segmentation(
    con: duckdb.DuckDBPyConnection,
    config: WorkspaceConfig,
    k: int | None = None,
    method: str | None = None,
    k_range: tuple[int, int] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    progress: Progress = no_progress,
) -> SegmentRun:
    """Compute features, segment, profile, name, explain and store a run; returns it.

    ``progress`` counts three steps (features, imputation, profiles and storage) and, in
    between, the candidate fits of the model selection.
    """
    now = clock.now()
    fits = [0]

    def fitting(done: int, total: int) -> None:
        fits[0] = total
        progress(2 + done, 3 + total)

    progress(0, 3)
    summary = compute_features(
        con, config.features, config.timezone, list(config.quality.taxonomy), now=now
    )
    progress(1, 3)
    seg = config.segmentation
    imputed = impute_features(con, config.quality.imputation, seg.random_state)
    progress(2, 3)
    method = method or seg.method
    check_deep(method)
    if split_method(method)[1]:
        import_torch()  # before anything is computed: the extra is missing, say so first
    names = list(RFM_FEATURES) if method == "rfm" else config.clustering_features()
    ids, raw = load_matrix(con, names)
    if config.privacy.profiling_consent == "required":  # only those who agreed are profiled
        from audience.privacy.profiling import profiling_allowed

        allowed = profiling_allowed(con, ids.to_pylist())
        if not allowed.any():
            raise ModelError(
                "no person has granted 'profiling' consent, which audience.yaml requires "
                "(privacy.profiling_consent: required): nobody can be segmented by a model"
            )
        ids, raw = ids.filter(pa.array(allowed)), raw[allowed].reset_index(drop=True)
    if split_method(method)[1]:
        # What each person buys and how: the autoencoder's extra signals (features/bags.py).
        # Not for auto, whose components must stay those of the workspace's feature set.
        raw = with_bags(con, [str(i) for i in ids.to_pylist()], raw)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        if method == "rfm":
            fitted = _fit_rfm(raw, config)
        else:
            fitted = _fit_clusters(raw, names, config, method, k, k_range, fitting)
        run = _describe(raw, fitted, config, names, now)
        run.bias = _bias(con, raw, fitted, config, len(raw))
    run.warnings = sorted({str(w.message) for w in records})
    run.as_of = summary.as_of.isoformat()
    run.preprocessing["imputed_by_model"] = imputed
    # Names and stable ids of the champion's segments carry over to the ones they continue.
    carry_over(con, run, ids, seg.match_min_jaccard)
    params = {
        **seg.model_dump(exclude={"names"}),
        # What this run was asked for, over the workspace's defaults of the same names.
        "method": method,
        "k": k or seg.k,
        "k_range": list(k_range or seg.k_range),
        "objective": config.objective,
        "engine": "duckdb",  # the spark engine keeps its runs beside (pipelines.spark_run)
    }
    store_run(con, run, ids, fitted.confidence, params, now, config.kpis)
    record_run_holdouts(con, run.run_id, seg.holdout, now)
    # The reference drift is tested against, kept now: the features change with the next run.
    keep_reference(con, run.run_id, names, config.drift)
    progress(3 + fits[0], 3 + fits[0])
    return run


def _fit_clusters(
    raw: pd.DataFrame,
    inputs: list[str],
    config: WorkspaceConfig,
    method: str,
    k: int | None,
    k_range: tuple[int, int] | None,
    progress: Progress = no_progress,
) -> _Fitted:
    seg = config.segmentation
    base, deep = split_method(method)
    raw, near_constant = drop_near_constant(raw, seg.min_variation, seg.min_entropy)
    space = FeatureSpace(
        winsorize=seg.winsorize, scaling=seg.scaling, pca_variance=seg.pca_variance
    )
    signature = space.fit_scaled(raw)
    pca = space.project(signature)

    def segmenter(chosen: str) -> AutoSegmenter:
        return AutoSegmenter(
            method=chosen,
            n_clusters=k or seg.k,
            k_range=k_range or seg.k_range,
            max_segments=seg.max_segments,
            min_share=seg.min_segment_share,
            min_useful_k=seg.min_useful_k,
            max_noise_share=seg.max_noise_share,
            sample_size=seg.sample_size,
            silhouette_size=seg.silhouette_size,
            stability_size=seg.stability_size,
            n_refits=seg.stability_refits,
            random_state=seg.random_state,
        )

    encoder, deep_report = None, None
    if deep or (method == "auto" and deep_in_auto(config)):
        encoder = fit_encoder(signature, space.kept_features_, config)
        latent = encoder.transform(pd.DataFrame(signature, columns=space.kept_features_))
    if deep and encoder is not None:
        model = segmenter(base).fit(latent, progress=progress)
        X, selection = latent, mark_deep(model.selection_)
        pca_model = segmenter(base).fit(pca)  # the same clustering of the same features
        deep_report = compare_with_pca(model, pca_model, latent, pca, seg.random_state)
    else:
        model = segmenter(base).fit(pca, progress=progress)
        X, selection = pca, model.selection_
        if encoder is not None:  # auto: the latent space competes with the components
            contest = auto_contest(
                segmenter, model, latent, pca, seg.random_state, fixed_k=(k or seg.k) is not None
            )
            deep_report, selection = contest.report, contest.selection
            if contest.deep_wins:
                model, X = contest.deep_model, latent
            else:
                encoder = None
    labels = np.asarray(model.labels_, dtype=np.int64)
    jaccard = (
        segment_jaccard(
            model.model_,
            X,
            noise_as_group(labels),
            n_boot=seg.jaccard_bootstraps,
            sample_size=seg.stability_size,
            random_state=seg.random_state,
        )
        if seg.jaccard_bootstraps
        else None
    )
    run_method = (DEEP_PREFIX if encoder is not None else "") + model.method_
    deep_part = {} if deep_report is None else {"autoencoder": deep_report}
    if encoder is not None and deep_report is not None:
        deep_report.update(encoder.describe())
    return _Fitted(
        method=run_method,
        labels=noise_as_group(labels),
        has_noise=bool((labels == NOISE).any()),
        space=X,
        signature_space=signature,
        kept=space.kept_features_,
        preprocessing={
            "dropped_near_constant": {
                item.feature: {"measure": item.measure, "value": round(item.value, 4)}
                for item in near_constant
            },
            **space.describe(),
            **deep_part,
        },
        selection=selection,
        model={
            "type": run_method,
            "inputs": inputs,
            "features": list(raw.columns),
            **SegmentAssigner(space, model.model_, encoder).to_json(),
        },
        confidence=confidence(model.model_, X),
        jaccard=jaccard,
    )


def _fit_rfm(raw: pd.DataFrame, config: WorkspaceConfig) -> _Fitted:
    """Quintile scores; the named RFM segments are its labels (only those present, compacted),
    small ones folded into their nearest by the same guards as clusters (rfm_fold)."""
    seg = config.segmentation
    rfm = RFMSegmenter().fit(raw[list(RFM_FEATURES)])
    present, cells = np.unique(rfm.labels_, return_inverse=True)
    # Profiles compare segments in a standardised space, as for clusters.
    pre = FeaturePreprocessor(fill_max=(0,))
    signature = pre.fit_transform(raw[list(RFM_FEATURES)].to_numpy())
    labels, names, folds = fold_small_cells(
        cells.astype(np.int64),
        [RFM_SEGMENTS[i] for i in present],
        signature,
        seg.min_segment_share,
        seg.max_segments,
    )
    folded = {f.cell: {"into": f.into, "customers": f.customers} for f in folds}
    return _Fitted(
        method="rfm",
        labels=labels,
        has_noise=False,
        space=signature,
        signature_space=signature,
        # A score without variance (every customer bought once) has no column in the space.
        kept=[name for name, kept in zip(RFM_FEATURES, pre.keep_, strict=True) if kept],
        preprocessing={
            "scores": "quintiles of the customers with orders",
            "folded": folded,
            **pre.describe(list(RFM_FEATURES)),
        },
        selection=[],
        model={
            "type": "rfm",
            "inputs": list(RFM_FEATURES),
            "features": list(RFM_FEATURES),
            **rfm.to_json(),
            "folded": {cell: fold["into"] for cell, fold in folded.items()},
        },
        confidence=np.ones(len(labels)),
        segment_names=names,
    )


def _describe(
    raw: pd.DataFrame, fitted: _Fitted, config: WorkspaceConfig, names: list[str], now: datetime
) -> SegmentRun:
    seg = config.segmentation
    kept_raw = raw[fitted.kept]
    profiles = profile_segments(kept_raw, fitted.signature_space, fitted.labels)
    if fitted.segment_names is not None:
        for profile, name in zip(profiles, fitted.segment_names, strict=True):
            profile.name, profile.description = name, "RFM segment (quintile scores)."
    else:
        clusters = profiles[:-1] if fitted.has_noise else profiles
        name_segments(clusters, seg.names)
        if fitted.has_noise:
            profiles[-1].name = NOISE_NAME
            profiles[-1].description = "Customers the density method left in no segment."
    explanation = explain_segments(
        kept_raw,
        fitted.labels,
        max_depth=seg.explain_depth,
        random_state=seg.random_state,
        units=dict.fromkeys(("monetary", "avg_basket", "revenue_90d"), config.currency),
    )
    for profile in profiles:
        profile.rule = explanation.text(profile.label)
        if fitted.jaccard is not None and profile.label < len(fitted.jaccard):
            value = float(fitted.jaccard[profile.label])
            profile.jaccard = None if np.isnan(value) else round(value, 4)
            profile.stability_band = jaccard_band(profile.jaccard)
    chosen = [row for row in fitted.selection if row.get("chosen")]
    stability = {"stability": chosen[0]["stability"]} if chosen and "stability" in chosen[0] else {}
    n_real = len(profiles) - int(fitted.has_noise)
    return SegmentRun(
        run_id=f"run-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}",
        method=fitted.method,
        k=n_real,
        n_customers=len(fitted.labels),
        features=fitted.kept,
        metrics={
            **_metrics(fitted.space, fitted.labels, seg.random_state),
            "explanation_fidelity": round(explanation.fidelity, 4),
            **stability,
            **deep_metrics(fitted.preprocessing),
        },
        selection=fitted.selection,
        preprocessing=fitted.preprocessing,
        segments=profiles,
        as_of="",
        warnings=[],
        explanation=explanation.to_dict(),
        space=fitted.space,
        labels=fitted.labels,
        model=fitted.model,
    )


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


def _bias(
    con: duckdb.DuckDBPyConnection,
    raw: pd.DataFrame,
    fitted: _Fitted,
    config: WorkspaceConfig,
    n: int,
) -> list[dict[str, Any]]:
    """Representativeness: the fitting sample against everyone, and groups against references."""
    seg = config.segmentation
    groups = con.execute("SELECT age_band, region FROM features ORDER BY customer_id").df()
    results = []
    if fitted.method != "rfm" and n > seg.sample_size:
        mask = selection_sample(n, seg.sample_size, seg.random_state)
        frame = pd.concat([groups, raw[fitted.kept].reset_index(drop=True)], axis=1)
        results += sample_bias(
            frame, mask, categorical=["age_band", "region"], continuous=fitted.kept
        )
    for column, shares in seg.reference_shares.items():
        if column in groups:
            results.append(reference_bias(groups[column], shares))
    return [r.to_dict() for r in results]
