"""k-means fast at millions of rows, and the scores every candidate segmentation gets.

How the method and k are chosen is :mod:`audience.segmentation.selection_rule`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_samples
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from audience.segmentation.labels import by_size, require_customers


def sampled_silhouette(
    X: NDArray[np.float64], labels: NDArray[np.int64], size: int, random_state: Any = None
) -> tuple[float, float]:
    """Mean silhouette on a random sample and its standard error (the estimate's ± bound)."""
    rng = check_random_state(random_state)
    idx = rng.choice(len(X), size=min(size, len(X)), replace=False)
    if not 1 < len(np.unique(labels[idx])) < len(idx):
        return float("nan"), float("nan")
    values = silhouette_samples(X[idx], labels[idx])
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def separation_scores(X: NDArray[np.float64], labels: NDArray[np.int64]) -> dict[str, float]:
    """Davies–Bouldin and Calinski–Harabasz, NaN when fewer than two groups were found."""
    if not 1 < len(np.unique(labels)) < len(X):
        return {"davies_bouldin": float("nan"), "calinski_harabasz": float("nan")}
    return {
        "davies_bouldin": float(davies_bouldin_score(X, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
    }


class AutoKMeans(ClusterMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """k-means (k-means++) at a fixed k, fast on millions of customers.

    The starts run on a random sample; the best centroids then iterate on every customer, so
    that the whole population, not the sample, decides the final centroids. Label 0 is the
    largest segment.

    Parameters
    ----------
    n_clusters : int, default=8
    sample_size : int, default=20000
        Customers the k-means++ starts run on.
    n_init : int, default=4
        k-means++ starts on the sample.
    init : ndarray of shape (n_clusters, n_features) or None, default=None
        Centroids to start from instead of the starts, e.g. those of the k-means that won
        model selection on a sample: the sample's work is then not done twice.
    random_state : int, RandomState instance or None, default=None
    """

    def __init__(
        self,
        n_clusters: int = 8,
        sample_size: int = 20_000,
        n_init: int = 4,
        init: NDArray[np.float64] | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.sample_size = sample_size
        self.n_init = n_init
        self.init = init
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> AutoKMeans:
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        n, k = X.shape[0], int(self.n_clusters)
        require_customers(n, k, "kmeans")
        start = self.init
        if start is None:
            rng = check_random_state(self.random_state)
            sample = X[rng.choice(n, size=min(n, self.sample_size), replace=False)]
            seed = rng.randint(2**31 - 1)
            start = KMeans(k, n_init=self.n_init, random_state=seed).fit(sample).cluster_centers_
        final = KMeans(k, init=start, n_init=1, max_iter=300).fit(X)
        used, self.labels_ = by_size(final.labels_.astype(np.int64), k)
        self.cluster_centers_ = final.cluster_centers_[used]
        self.n_clusters_ = len(used)
        self.inertia_ = float(final.inertia_)
        return self

    def transform(self, X: Any) -> NDArray[np.float64]:
        """Distance of each row to every centroid."""
        check_is_fitted(self, "cluster_centers_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        squared = (
            (X**2).sum(axis=1)[:, None]
            - 2 * X @ self.cluster_centers_.T
            + (self.cluster_centers_**2).sum(axis=1)[None, :]
        )
        distances: NDArray[np.float64] = np.sqrt(np.maximum(squared, 0.0))
        return distances

    def predict(self, X: Any) -> NDArray[np.int64]:
        check_is_fitted(self, "cluster_centers_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return nearest_centroid(X, self.cluster_centers_)


def nearest_centroid(X: NDArray[Any], centers: NDArray[np.float64]) -> NDArray[np.int64]:
    """Index of each row's nearest centre (|x|^2 is the same for every centre: left out)."""
    squared = -2 * X @ centers.T + (centers**2).sum(axis=1)[None, :]
    labels: NDArray[np.int64] = squared.argmin(axis=1).astype(np.int64)
    return labels
