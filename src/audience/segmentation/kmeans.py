"""k-means with the number of segments chosen by measured criteria, fast at millions of rows.

How k is chosen is :data:`SELECTION_CRITERION`, shown as well in every report.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_samples
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from audience.errors import ModelError

SELECTION_CRITERION = (
    "For every k in the range, k-means (k-means++, several starts) is fitted on a random sample "
    "of customers and scored on it: silhouette (on a sub-sample, with its standard error), "
    "Davies-Bouldin, Calinski-Harabasz and the share of the smallest segment. Candidates whose "
    "smallest segment holds less than the minimum share are set aside: a segment too small to "
    "act on is not a segment. Among the rest, the k with the highest silhouette wins (the "
    "clearest separation between segments relative to their spread). The final model starts "
    "from the winner's centroids and iterates on every customer, so that the whole population, "
    "not the sample, decides the final centroids."
)


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
    """k-means whose k is fixed or chosen over a range (see the module docstring).

    Parameters
    ----------
    n_clusters : int or None, default=None
        Fixed number of segments; None chooses it over ``k_range``.
    k_range : tuple of int, default=(2, 10)
        Smallest and largest k tried.
    sample_size : int, default=20000
        Customers sampled to choose k.
    silhouette_size : int, default=5000
        Customers sampled to estimate a silhouette.
    min_share : float, default=0.02
        Smallest share of customers a segment may hold.
    n_init : int, default=4
        k-means++ starts per candidate k.
    random_state : int, RandomState instance or None, default=None
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        k_range: tuple[int, int] = (2, 10),
        sample_size: int = 20_000,
        silhouette_size: int = 5_000,
        min_share: float = 0.02,
        n_init: int = 4,
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.sample_size = sample_size
        self.silhouette_size = silhouette_size
        self.min_share = min_share
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> AutoKMeans:
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        n = X.shape[0]
        rng = check_random_state(self.random_state)
        candidates = self._candidate_ks(n)
        sample = X[rng.choice(n, size=min(n, self.sample_size), replace=False)]
        table, fitted = [], {}
        for k in candidates:
            model = KMeans(k, n_init=self.n_init, random_state=rng.randint(2**31 - 1))
            labels = model.fit_predict(sample)
            fitted[k] = model.cluster_centers_
            if len(candidates) == 1:  # nothing to choose between: no need to score
                break
            silhouette, error = sampled_silhouette(sample, labels, self.silhouette_size, rng)
            shares = np.bincount(labels, minlength=k) / len(labels)
            table.append(
                {
                    "k": k,
                    "silhouette": silhouette,
                    "silhouette_se": error,
                    **separation_scores(sample, labels),
                    "min_share": float(shares.min()),
                    "admissible": bool(shares.min() >= self.min_share),
                }
            )
        best = self._choose(table) if table else candidates[0]
        final = KMeans(best, init=fitted[best], n_init=1, max_iter=300).fit(X)
        order = np.argsort(-np.bincount(final.labels_, minlength=best), kind="stable")
        self.cluster_centers_ = final.cluster_centers_[order]
        self.labels_ = np.argsort(order)[final.labels_]
        self.n_clusters_ = best
        self.inertia_ = float(final.inertia_)
        self.selection_ = [dict(row, chosen=row["k"] == best) for row in table]
        return self

    def _candidate_ks(self, n: int) -> list[int]:
        if self.n_clusters is not None:
            if n <= self.n_clusters:
                raise ModelError(
                    f"{n} customers (n_samples = {n}) cannot make {self.n_clusters} segments; "
                    "ask for fewer"
                )
            return [int(self.n_clusters)]
        low, high = self.k_range
        if n <= low:
            raise ModelError(
                f"{n} customers (n_samples = {n}) cannot make {low} segments; import more"
            )
        return list(range(low, min(high, n - 1) + 1))

    def _choose(self, table: list[dict[str, Any]]) -> int:
        admissible = [row for row in table if row["admissible"]]
        if not admissible:
            warnings.warn(
                f"every k leaves a segment under {self.min_share:.0%} of customers; "
                "choosing by silhouette alone",
                stacklevel=3,
            )
            admissible = table
        scored = [row for row in admissible if not np.isnan(row["silhouette"])] or admissible
        return int(max(scored, key=lambda row: (row["silhouette"], -row["k"]))["k"])

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
        labels: NDArray[np.int64] = self.transform(X).argmin(axis=1)
        return labels
