"""The deep part of a segmentation run: ``autoencoder+<method>`` and its comparison with PCA.

The autoencoder learns from the feature space's scaled features (the feature set plus each
person's bag of categories and channels, :mod:`audience.features.bags`), imputed like every
other method's; the clustering and the selection of k then run in its latent space exactly as
they run in the principal components. The same clustering is also fitted on the principal
components of the same features, so the run record says honestly which space gave the better
segments: silhouette (each in its own space), stability (refits), and how far the two
partitions agree (adjusted Rand).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from audience.config import WorkspaceConfig
from audience.errors import ConfigError, ModelError
from audience.segmentation.algorithms import DEEP_PREFIX
from audience.segmentation.autoencoder import AutoencoderEmbedding, deep_available
from audience.segmentation.kmeans import sampled_silhouette
from audience.segmentation.selection import AutoSegmenter

COMPARE_SAMPLE = 5_000
"""Customers the silhouettes of the comparison are computed on."""
DEEP_AUTO_METHODS = ("kmeans", "gmm", "hdbscan")
"""Clusterings of the latent space ``--method auto`` adds as candidates when PyTorch is there."""


def split_method(method: str) -> tuple[str, bool]:
    """'autoencoder+gmm' -> ('gmm', True); 'gmm' -> ('gmm', False)."""
    if method.startswith(DEEP_PREFIX):
        return method.removeprefix(DEEP_PREFIX), True
    return method, False


def deep_in_auto(config: WorkspaceConfig) -> bool:
    """Whether ``--method auto`` also compares the autoencoder's latent space."""
    return config.segmentation.autoencoder_in_auto and deep_available()


def fit_encoder(
    signature: np.ndarray, kept: list[str], config: WorkspaceConfig
) -> AutoencoderEmbedding:
    """The autoencoder on the scaled features (named, so a NaN would be refused by name), of a
    random sample of ``segmentation.sample_size`` customers: an epoch over a million costs
    seconds, and up to 200 epochs for each latent size would cost an hour."""
    seg = config.segmentation
    encoder = AutoencoderEmbedding(
        latent_dims=tuple(seg.autoencoder_latent_dims), random_state=seg.random_state
    )
    rng = np.random.default_rng(seg.random_state)
    size = min(len(signature), seg.sample_size)
    rows = np.sort(rng.choice(len(signature), size=size, replace=False))
    return encoder.fit(pd.DataFrame(signature[rows], columns=kept))


def check_deep(method: str) -> None:
    """Refuse an ``autoencoder+`` method whose clustering is unknown, before any work."""
    base, deep = split_method(method)
    if deep and base not in DEEP_AUTO_METHODS:
        raise ConfigError(
            f"unknown method '{method}'; the autoencoder pairs with "
            + ", ".join(DEEP_PREFIX + m for m in DEEP_AUTO_METHODS)
        )


def compare_with_pca(
    deep_model: AutoSegmenter,
    pca_model: AutoSegmenter,
    latent: np.ndarray,
    pca: np.ndarray,
    seed: int,
) -> dict[str, Any]:
    """A clustering of the latent space beside one of the principal components of the same
    features (the same method, and k when fixed), for the run record."""
    sides = {"autoencoder": (deep_model, latent), "pca": (pca_model, pca)}
    result: dict[str, Any] = {}
    for side, (model, X) in sides.items():
        labels = np.asarray(model.labels_, dtype=np.int64)
        silhouette, _ = sampled_silhouette(X, labels, COMPARE_SAMPLE, seed)
        chosen = [row for row in model.selection_ if row.get("chosen")]
        result[side] = {
            "method": model.method_,
            "k": int(model.n_clusters_),
            "dimensions": int(X.shape[1]),
            "silhouette": round(silhouette, 4),
            "stability": chosen[0].get("stability") if chosen else None,
        }
    result["agreement_ari"] = round(
        float(adjusted_rand_score(pca_model.labels_, deep_model.labels_)), 4
    )
    result["note"] = (
        "silhouettes are each measured in their own space (latent vs principal components); "
        "stability is the mean adjusted Rand of refits on subsamples"
    )
    return result


def mark_deep(selection: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Selection rows of the latent space, named as the run names its method."""
    return [{**row, "method": DEEP_PREFIX + str(row["method"])} for row in selection]


DEEP_AUTO_RULE = (
    "With PyTorch installed, auto also clusters the autoencoder's latent space of the same "
    "features (k-means, GMM and HDBSCAN, by the same selection rule) and keeps that partition "
    "only when its silhouette measured in the principal components -- the space both "
    "partitions share -- is higher than the components' own choice: silhouettes measured in "
    "different spaces are not comparable, and a 2-dimensional latent space flatters its own."
)


@dataclass
class Contest:
    """``auto`` with the latent space: both choices, and which one the run keeps."""

    deep_model: AutoSegmenter
    deep_wins: bool
    report: dict[str, Any]
    selection: list[dict[str, Any]]


def auto_contest(
    segmenter: Callable[[str], AutoSegmenter],
    pca_model: AutoSegmenter,
    latent: np.ndarray,
    pca: np.ndarray,
    seed: int,
    fixed_k: bool = False,
) -> Contest:
    """Run auto on the latent space too and decide by :data:`DEEP_AUTO_RULE`; with a fixed k,
    HDBSCAN (which finds its own) is left out, as auto leaves density methods out."""
    best: AutoSegmenter | None = None
    for method in [m for m in DEEP_AUTO_METHODS if not (fixed_k and m == "hdbscan")]:
        try:
            model = segmenter(method).fit(latent)
        except ModelError:  # e.g. HDBSCAN finding no admissible segments
            continue
        score = _silhouette(pca, model.labels_, seed)
        if best is None or score > _silhouette(pca, best.labels_, seed):
            best = model
    pca_score = _silhouette(pca, pca_model.labels_, seed)
    if best is None:
        report: dict[str, Any] = {
            "rule": DEEP_AUTO_RULE,
            "kept": "pca",
            "why": "no latent candidate fitted",
        }
        return Contest(pca_model, False, report, pca_model.selection_)
    deep_score = _silhouette(pca, best.labels_, seed)
    wins = deep_score > pca_score
    report = {
        "rule": DEEP_AUTO_RULE,
        "kept": "autoencoder" if wins else "pca",
        "silhouette_in_components": {
            "pca": round(pca_score, 4),
            "autoencoder": round(deep_score, 4),
        },
        **compare_with_pca(best, pca_model, latent, pca, seed),
    }
    rows = [{**row, "chosen": False, "tied": False} for row in mark_deep(best.selection_)]
    if wins:
        rows = mark_deep(best.selection_)
        pca_rows = [{**row, "chosen": False, "tied": False} for row in pca_model.selection_]
        return Contest(best, True, report, pca_rows + rows)
    return Contest(best, False, report, pca_model.selection_ + rows)


def _silhouette(X: np.ndarray, labels: Any, seed: int) -> float:
    value, _ = sampled_silhouette(X, np.asarray(labels, dtype=np.int64), COMPARE_SAMPLE, seed)
    return float(value)


def deep_metrics(preprocessing: dict[str, Any]) -> dict[str, float]:
    """The autoencoder's figures among the run's metrics (MLflow logs these): reconstruction
    errors, latent dimension, and the PCA comparison's silhouettes and stabilities."""
    report = preprocessing.get("autoencoder")
    if not report or "latent_dim" not in report:
        return {}
    metrics = {
        "latent_dim": float(report["latent_dim"]),
        "reconstruction_error_train": float(report["train_error"]),
        "reconstruction_error_validation": float(report["validation_error"]),
    }
    for side in ("autoencoder", "pca"):
        for key in ("silhouette", "stability"):
            value = (report.get(side) or {}).get(key)
            if value is not None:
                metrics[f"{side}_{key}"] = float(value)
    return metrics
