"""Choosing the method and the number of segments by a stated rule, with the full table.

:data:`SELECTION_RULE` is the rule, shown as well in every report; :class:`AutoSegmenter`
applies it and keeps every candidate's scores in ``selection_``.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import pairwise_distances, silhouette_samples
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from audience.errors import ModelError
from audience.model.progress import Progress, no_progress
from audience.segmentation.algorithms import (
    AUTO_METHODS,
    DENSITY_METHODS,
    ModelSettings,
    candidate_models,
    check_method,
    make_model,
    model_to_json,
)
from audience.segmentation.kmeans import separation_scores
from audience.segmentation.labels import NOISE, require_customers, segment_shares
from audience.segmentation.selection_rule import SELECTION_RULE, choose
from audience.segmentation.stability import SUBSAMPLE, refit_size, refit_stability

__all__ = ["SELECTION_RULE", "AutoSegmenter", "selection_sample"]


def selection_sample(n: int, sample_size: int, random_state: Any) -> NDArray[np.bool_]:
    """Which of ``n`` customers :class:`AutoSegmenter` (same int ``random_state``) selects on.

    For the representativeness tests of a run (region, age band...) on the same sample.
    """
    mask = np.zeros(n, dtype=bool)
    mask[_draw(check_random_state(random_state), n, sample_size)] = True
    return mask


def _draw(rng: np.random.RandomState, n: int, size: int) -> NDArray[np.int64]:
    if n <= size:
        return np.arange(n, dtype=np.int64)
    return np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)


class AutoSegmenter(ClusterMixin, BaseEstimator):  # type: ignore[misc]
    """Fit every candidate method and k on a sample, choose by :data:`SELECTION_RULE`, refit.

    Parameters
    ----------
    method : str, default="auto"
        One of :data:`~audience.segmentation.algorithms.METHODS`, or "auto" to compare
        :data:`~audience.segmentation.algorithms.AUTO_METHODS`.
    n_clusters : int or None, default=None
        Fixed number of segments; None searches ``k_range`` (density methods find their own,
        and are left out of "auto" when k is fixed).
    k_range : tuple of int, default=(2, 12)
    max_segments : int, default=12
        Guard: never more segments than this (noise counts as one).
    min_share : float, default=0.02
        Guard: smallest share of customers a segment may hold.
    min_useful_k : int, default=3
        Fewest segments the rule chooses unless the data show no structure (see
        :data:`SELECTION_RULE`); 2 restores the plain silhouette rule.
    max_noise_share : float, default=0.5
        Guard: largest share of customers a density method may leave as noise.
    sample_size : int, default=20000
        Customers candidates are fitted and scored on.
    silhouette_size : int, default=4000
        Customers the silhouettes are computed on (the same ones for every candidate).
    stability_size : int, default=5000
        Customers the stability refits draw from and label.
    n_refits : int, default=3
        Refits per candidate for stability (3 refits give 3 pairs).
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    selection_ : list of dict
        One row per candidate: method, k, scores, guards (``admissible``, ``reason``), and
        ``tied`` / ``chosen`` as the rule decided.
    method_ : str
        The chosen method.
    model_ : estimator
        The chosen candidate carried to every customer (see
        :func:`~audience.segmentation.algorithms.model_to_json`).
    labels_ : ndarray of int
        Segment of every customer; -1 is noise (density methods only).
    n_clusters_ : int
        Segments found, noise not counted.
    """

    def __init__(
        self,
        method: str = "auto",
        n_clusters: int | None = None,
        k_range: tuple[int, int] = (2, 12),
        max_segments: int = 12,
        min_share: float = 0.02,
        min_useful_k: int = 3,
        max_noise_share: float = 0.5,
        sample_size: int = 20_000,
        silhouette_size: int = 4_000,
        stability_size: int = 5_000,
        n_refits: int = 3,
        random_state: Any = None,
    ) -> None:
        self.method = method
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.max_segments = max_segments
        self.min_share = min_share
        self.min_useful_k = min_useful_k
        self.max_noise_share = max_noise_share
        self.sample_size = sample_size
        self.silhouette_size = silhouette_size
        self.stability_size = stability_size
        self.n_refits = n_refits
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None, progress: Progress = no_progress) -> AutoSegmenter:
        """Compare the candidates, keep the best; ``progress`` counts the fits (per method,
        one on the sample and one per stability refit, each fitting every k at once)."""
        X = validate_data(self, X, dtype=np.float64)
        methods, ks = self._plan(len(X))
        fits = _FitCounter(progress, len(methods) * (1 + self.n_refits))
        rng = check_random_state(self.random_state)
        sample_idx = _draw(rng, len(X), self.sample_size)
        sample = X[sample_idx]
        silhouettes = _Silhouettes(sample, self.silhouette_size, rng)
        stable_idx = rng.choice(len(sample), min(len(sample), self.stability_size), replace=False)
        stable_on = sample[stable_idx]
        rows: list[dict[str, Any]] = []
        values: list[NDArray[np.float64] | None] = []
        models: list[Any] = []
        # Candidates are many small fits: threads would mostly wait for each other, and on a
        # busy machine that made them 4 to 20 times slower than one thread each.
        with threadpool_limits(limits=1):
            for method in methods:
                for row, silhouette, model in self._evaluate(
                    method, sample, ks, silhouettes, stable_on, rng, fits
                ):
                    rows.append(row)
                    values.append(silhouette)
                    models.append(model)
        winner = choose(
            rows,
            values,
            method_order=[*AUTO_METHODS, "minibatch"],
            min_useful_k=self.min_useful_k,
        )
        self.selection_ = [_json_safe(row) for row in rows]
        self.method_ = str(winner["method"])
        candidate = models[next(i for i, row in enumerate(rows) if row is winner)]
        self.model_ = self._final(winner["k"], candidate, X, int(rng.randint(2**31 - 1)))
        self.labels_ = np.asarray(self.model_.labels_, dtype=np.int64)
        self.n_clusters_ = int(self.model_.n_clusters_)
        return self

    def _plan(self, n: int) -> tuple[list[str], list[int]]:
        """Methods and values of k to compare; errors for what cannot be done."""
        if self.method == "auto":
            methods = list(AUTO_METHODS)
        else:
            check_method(self.method)
            methods = [self.method]
        if self.n_clusters is not None:
            if self.n_clusters > self.max_segments:
                raise ModelError(
                    f"{self.n_clusters} segments asked but max_segments is "
                    f"{self.max_segments}; ask for fewer or raise segmentation.max_segments"
                )
            self._require_customers(n, self.n_clusters)
            if len(methods) > 1:
                methods = [m for m in methods if m not in DENSITY_METHODS]
            elif methods[0] in DENSITY_METHODS:
                warnings.warn(
                    f"{self.method} finds its own number of segments; the k of "
                    f"{self.n_clusters} asked for is ignored",
                    UserWarning,
                    stacklevel=3,
                )
            return methods, [int(self.n_clusters)]
        low, high = self.k_range
        self._require_customers(n, low)
        fewest = self._fewest_fitted(n)
        return methods, list(range(low, min(high, self.max_segments, fewest - 1) + 1))

    def _stability_draw(self, n: int) -> int:
        """Customers the stability refits draw from (their subsamples are smaller still)."""
        return min(n, self.sample_size, self.stability_size)

    def _fewest_fitted(self, n: int) -> int:
        """Customers in the smallest fit: a stability refit."""
        return refit_size(self._stability_draw(n))

    def _require_customers(self, n: int, k: int) -> None:
        """``k`` segments must be possible on every fit, stability refits included."""
        require_customers(n, k, self.method)
        fewest = self._fewest_fitted(n)
        if fewest <= k:
            raise ModelError(
                f"{n} customers (n_samples = {n}) are too few for {k} segments: each "
                f"stability refit is fitted on {fewest} customers ({SUBSAMPLE:.0%} of the "
                f"{self._stability_draw(n)} drawn for stability); "
                "ask for fewer segments or import more customers"
            )

    def _final(self, k: int | None, candidate: Any, X: NDArray[np.float64], seed: int) -> Any:
        """The winning candidate carried to every customer, without redoing its work."""
        model = make_model(self.method_, k, self._settings(seed))
        if self.method_ == "kmeans":
            # Its centroids replace the k-means++ starts; Lloyd then runs on every customer.
            return model.set_params(init=candidate.cluster_centers_).fit(X)
        if len(X) <= self.sample_size:
            return candidate  # it was fitted on every customer
        return model.fit(X)

    def _settings(self, seed: int) -> ModelSettings:
        return ModelSettings(
            sample_size=self.sample_size, min_share=self.min_share, random_state=seed
        )

    def _evaluate(
        self,
        method: str,
        sample: NDArray[np.float64],
        ks: list[int],
        silhouettes: _Silhouettes,
        stable_on: NDArray[np.float64],
        rng: np.random.RandomState,
        fits: _FitCounter,
    ) -> list[tuple[dict[str, Any], NDArray[np.float64] | None, Any]]:
        settings = self._settings(int(rng.randint(2**31 - 1)))
        started = time.perf_counter()
        models = fits.done(
            candidate_models(method, sample, ks, settings, int(rng.randint(2**31 - 1)))
        )
        seconds = (time.perf_counter() - started) / len(models)
        stability = refit_stability(
            lambda part, seed: fits.done(candidate_models(method, part, ks, settings, seed)),
            stable_on,
            n_refits=self.n_refits,
            random_state=rng,
        )
        results = []
        for k, model in models.items():
            labels = np.asarray(model.labels_, dtype=np.int64)
            values = silhouettes.values(labels)
            row = self._row(method, k, model, sample, labels, values)
            row.update(stability[k].to_dict(), fit_seconds=round(seconds, 3))
            results.append((row, values, model))
        return results

    def _row(
        self,
        method: str,
        k: int | None,
        model: Any,
        sample: NDArray[np.float64],
        labels: NDArray[np.int64],
        values: NDArray[np.float64] | None,
    ) -> dict[str, Any]:
        smallest, noise = segment_shares(labels)
        found = int(labels.max()) + 1 if (labels != NOISE).any() else 0
        segments = found + int(noise > 0)
        density_noise = getattr(model, "density_noise_share_", noise)
        reasons = []
        if found < 2 and k != 1:
            reasons.append("fewer than 2 segments")
        if segments > self.max_segments:
            reasons.append(f"{segments} segments > max_segments {self.max_segments}")
        if smallest < self.min_share:
            reasons.append(f"smallest segment {smallest:.1%} < {self.min_share:.1%}")
        if density_noise > self.max_noise_share:
            reasons.append(f"{density_noise:.0%} of customers left as noise")
            warnings.warn(
                f"{method} left {density_noise:.0%} of customers as noise, over the "
                f"{self.max_noise_share:.0%} allowed; it is reported, not chosen",
                UserWarning,
                stacklevel=4,
            )
        return {
            "method": method,
            "k": k,
            "n_segments": segments,
            "silhouette": float(values.mean()) if values is not None else float("nan"),
            "silhouette_se": _standard_error(values),
            **separation_scores(sample, labels),
            "min_share": round(smallest, 4),
            "noise_share": round(noise, 4),
            "density_noise_share": round(float(density_noise), 4),
            "bic": model.bic(sample) if hasattr(model, "bic") else None,
            "admissible": not reasons,
            "reason": "; ".join(reasons),
        }

    def predict(self, X: Any) -> NDArray[np.int64]:
        """Segment of each customer under the chosen model (NOISE = -1 for density methods)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(self.model_.predict(X), dtype=np.int64)

    @available_if(lambda self: hasattr(getattr(self, "model_", None), "predict_proba"))  # type: ignore[untyped-decorator]
    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Membership probabilities (only when the chosen method is a Gaussian mixture)."""
        X = validate_data(self, X, dtype=np.float64, reset=False)
        proba: NDArray[np.float64] = self.model_.predict_proba(X)
        return proba

    def to_json(self) -> dict[str, Any]:
        """The chosen model's learnt state (what assigning new customers needs)."""
        check_is_fitted(self, "model_")
        return model_to_json(self.model_)


class _FitCounter:
    """Counts the candidate fits for a progress callback, passing each result through."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress, self.total, self.count = progress, total, 0
        progress(0, total)

    def done(self, models: dict[int | None, Any]) -> dict[int | None, Any]:
        self.count += 1
        self.progress(self.count, self.total)
        return models


class _Silhouettes:
    """Silhouettes of every candidate on the same customers, from one distance matrix."""

    def __init__(self, X: NDArray[np.float64], size: int, rng: np.random.RandomState) -> None:
        self.idx = rng.choice(len(X), size=min(size, len(X)), replace=False)
        self.distances = pairwise_distances(X[self.idx])

    def values(self, labels: NDArray[np.int64]) -> NDArray[np.float64] | None:
        chosen = labels[self.idx]
        if not 1 < len(np.unique(chosen)) < len(chosen):
            return None
        result: NDArray[np.float64] = silhouette_samples(
            self.distances, chosen, metric="precomputed"
        )
        return result


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    """NaN (a score that does not exist, e.g. silhouette of one group) becomes None."""
    return {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in row.items()}


def _standard_error(values: NDArray[np.float64] | None) -> float:
    if values is None or len(values) < 2:
        return float("nan")
    return float(values.std(ddof=1) / np.sqrt(len(values)))
