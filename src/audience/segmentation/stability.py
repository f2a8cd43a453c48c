"""Stability: would the same segments come out of slightly different customers?

A segmentation worth acting on does not depend on which customers happened to be in the data.
Stability is measured by refitting: the model is fitted ``n_refits`` times, each time on a
random ``subsample`` share of the customers drawn without replacement (the subsampling variant
of the bootstrap: drawing with replacement would duplicate customers, and duplicates look like
dense regions to DBSCAN and HDBSCAN); every refit then labels *all* the customers, and
stability is the mean adjusted Rand index (ARI) over every pair of refits. 1 means the refits
agree on every pair of customers, 0 is the agreement of random labellings of the same sizes
(Ben-Hur, Elisseeff & Guyon, 2002, "A stability based method for discovering structure in
clustered data"). Noise counts as a group of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import check_random_state

from audience.errors import ModelError

Key = TypeVar("Key", bound=Hashable)

SUBSAMPLE = 0.8
"""Default share of the customers each refit is fitted on."""


def refit_size(n: int, subsample: float = SUBSAMPLE) -> int:
    """Customers each refit of :func:`refit_stability` is fitted on, out of ``n``."""
    return max(2, round(subsample * n))


@dataclass(frozen=True)
class Stability:
    """Mean and spread of the ARI between pairs of refits."""

    mean: float
    std: float
    n_pairs: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "stability": round(self.mean, 4),
            "stability_std": round(self.std, 4),
            "stability_pairs": self.n_pairs,
        }


def refit_stability(
    fit_many: Callable[[NDArray[np.float64], int], Mapping[Key, Any]],
    X: NDArray[np.float64],
    *,
    n_refits: int = 3,
    subsample: float = SUBSAMPLE,
    random_state: Any = None,
) -> dict[Key, Stability]:
    """Stability of every model ``fit_many(X_subsample, seed)`` returns, keyed like them.

    One call to ``fit_many`` may fit many models at once (every k of a range, say), which is
    how model selection gets a stability for each candidate without a loop per candidate.
    """
    if n_refits < 2:
        raise ModelError(f"stability needs at least 2 refits to compare, got n_refits={n_refits}")
    if not 0 < subsample <= 1:
        raise ModelError(f"stability subsample must be in (0, 1], got {subsample}")
    rng = check_random_state(random_state)
    n = len(X)
    size = refit_size(n, subsample)
    predictions: dict[Key, list[NDArray[np.int64]]] = {}
    for _ in range(n_refits):
        idx = rng.choice(n, size=size, replace=False)
        for key, model in fit_many(X[idx], int(rng.randint(2**31 - 1))).items():
            predictions.setdefault(key, []).append(np.asarray(model.predict(X)))
    return {key: _agreement(labels) for key, labels in predictions.items()}


def bootstrap_stability(
    estimator: Any,
    X: NDArray[np.float64],
    *,
    n_refits: int = 3,
    subsample: float = SUBSAMPLE,
    random_state: Any = None,
) -> Stability:
    """Stability of one scikit-learn estimator with ``fit`` and ``predict``."""

    def fit_one(sample: NDArray[np.float64], seed: int) -> dict[str, Any]:
        model = clone(estimator)
        if "random_state" in model.get_params():
            model.set_params(random_state=seed)
        return {"model": model.fit(sample)}

    found = refit_stability(
        fit_one, X, n_refits=n_refits, subsample=subsample, random_state=random_state
    )
    return found["model"]


def _agreement(labellings: list[NDArray[np.int64]]) -> Stability:
    scores = [adjusted_rand_score(a, b) for a, b in itertools.combinations(labellings, 2)]
    return Stability(float(np.mean(scores)), float(np.std(scores)), len(scores))


JACCARD_BANDS = ((0.6, "dissolved"), (0.75, "doubtful"), (0.85, "patterns"), (1.01, "stable"))
"""Hennig (2007): a segment whose mean bootstrap Jaccard is below 0.6 dissolves, 0.6-0.75 is
doubtful, above 0.85 is stable; between 0.75 and 0.85 it shows patterns but is not sure."""


def jaccard_band(value: float | None) -> str | None:
    """The Hennig band of a mean bootstrap Jaccard, or None when there is none."""
    if value is None or np.isnan(value):
        return None
    return next(name for bound, name in JACCARD_BANDS if value < bound)


def segment_jaccard(
    estimator: Any,
    X: NDArray[np.float64],
    labels: NDArray[np.int64],
    *,
    n_boot: int = 20,
    sample_size: int | None = None,
    random_state: Any = None,
) -> NDArray[np.float64]:
    """Mean bootstrap Jaccard of every segment of ``labels`` (Hennig's clusterboot), in
    label order (labels 0..K-1; a segment absent from ``labels`` gets NaN).

    Each round refits a clone of ``estimator`` on a subsample (without replacement, as
    :func:`refit_stability` does and for the same reason) and labels the subsample; each
    original segment's Jaccard is its best overlap with a refitted segment on the customers
    drawn. The overlaps come from one contingency count per round (``np.bincount`` on
    ``old * K' + new``), not a loop over pairs of segments.
    """
    if n_boot < 1:
        raise ModelError(f"segment stability needs at least 1 bootstrap round, got {n_boot}")
    rng = check_random_state(random_state)
    labels = np.asarray(labels, dtype=np.int64)
    n, k = len(X), int(labels.max()) + 1 if len(labels) else 0
    size = refit_size(min(n, sample_size or n))
    totals, rounds = np.zeros(k), np.zeros(k)
    for _ in range(n_boot):
        idx = rng.choice(n, size=size, replace=False)
        model = clone(estimator)
        if "random_state" in model.get_params():
            model.set_params(random_state=int(rng.randint(2**31 - 1)))
        new = np.asarray(model.fit(X[idx]).predict(X[idx]), dtype=np.int64)
        new = np.unique(new, return_inverse=True)[1]  # noise (-1) becomes a group of its own
        old = labels[idx]
        k_new = int(new.max()) + 1
        counts = np.bincount(old * k_new + new, minlength=k * k_new).reshape(k, k_new)
        union = counts.sum(axis=1)[:, None] + counts.sum(axis=0)[None, :] - counts
        with np.errstate(divide="ignore", invalid="ignore"):
            best = np.where(union > 0, counts / union, 0.0).max(axis=1)
        drawn = counts.sum(axis=1) > 0  # a segment no customer of this round belongs to
        totals += np.where(drawn, best, 0.0)
        rounds += drawn
    with np.errstate(divide="ignore", invalid="ignore"):
        result: NDArray[np.float64] = np.where(rounds > 0, totals / rounds, np.nan)
    return result
