"""Ward's hierarchical clustering on a sample, with every other customer assigned by Ward's cost.

Ward's method merges, at each step, the two groups whose union increases the within-group sum
of squares the least. Its memory and time grow with the square of the number of customers, so
the tree is built on a random sample (``linkage_size``) and cut at ``n_clusters``. A customer
outside the sample joins the segment whose sum of squares grows the least when she is added:
``n_c / (n_c + 1) * ||x - centroid_c||^2`` -- Ward's own criterion, one customer at a time.
Sampled customers are labelled by the same rule, so that a customer's segment does not depend
on whether she was drawn. The model keeps only the centroids and sample sizes the rule needs.

One tree serves every k: :func:`ward_path` cuts the same tree at each k of a range, which is
how model selection tries eleven values of k for the price of one tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from audience.segmentation.labels import by_size, require_customers


class WardSegments(ClusterMixin, BaseEstimator):  # type: ignore[misc]
    """Ward's hierarchical clustering of a sample, extended to everyone (module docstring).

    Parameters
    ----------
    n_clusters : int, default=8
    linkage_size : int, default=5000
        Customers the tree is built on (memory grows with its square: 5,000 take 100 MB).
    random_state : int, RandomState instance or None, default=None
    """

    def __init__(
        self, n_clusters: int = 8, linkage_size: int = 5_000, random_state: Any = None
    ) -> None:
        self.n_clusters = n_clusters
        self.linkage_size = linkage_size
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> WardSegments:
        X = validate_data(self, X, dtype=np.float64)
        ward_path(X, [self.n_clusters], self.linkage_size, self.random_state, into=self)
        return self

    def _learn(
        self, X: NDArray[np.float64], idx: NDArray[np.int64], cut: NDArray[np.int64]
    ) -> None:
        """Centroids and sample sizes of the tree's groups; labels for every row of ``X``.

        Every customer, sampled or not, is labelled by the same Ward-cost rule as ``predict``
        so that fitted labels and later assignments agree; a tree group that keeps no
        customer under that rule is dropped.
        """
        k = int(cut.max()) + 1
        sizes = np.bincount(cut, minlength=k).astype(np.float64)
        sums = np.zeros((k, X.shape[1]))
        np.add.at(sums, cut, X[idx])
        self.centroids_ = sums / sizes[:, None]
        self.sizes_ = sizes
        labels = self._assign(X)
        used, self.labels_ = by_size(labels, k)
        self.centroids_, self.sizes_ = self.centroids_[used], self.sizes_[used]
        self.n_clusters_ = len(used)

    def _assign(self, X: NDArray[np.float64]) -> NDArray[np.int64]:
        squared = (
            (X**2).sum(axis=1)[:, None]
            - 2 * X @ self.centroids_.T
            + (self.centroids_**2).sum(axis=1)[None, :]
        )
        cost = np.maximum(squared, 0.0) * (self.sizes_ / (self.sizes_ + 1))[None, :]
        labels: NDArray[np.int64] = cost.argmin(axis=1).astype(np.int64)
        return labels

    def predict(self, X: Any) -> NDArray[np.int64]:
        """Segment whose within-segment sum of squares grows the least with each customer."""
        check_is_fitted(self, "centroids_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._assign(X)

    def to_json(self) -> dict[str, Any]:
        check_is_fitted(self, "centroids_")
        return {
            "type": "hierarchical",
            "params": self.get_params(),
            "n_features_in": int(self.n_features_in_),
            "centroids": self.centroids_.tolist(),
            "sizes": self.sizes_.tolist(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WardSegments:
        model = cls(**data["params"])
        model.n_features_in_ = int(data["n_features_in"])
        model.centroids_ = np.asarray(data["centroids"], dtype=np.float64)
        model.sizes_ = np.asarray(data["sizes"], dtype=np.float64)
        model.n_clusters_ = len(model.centroids_)
        return model


def ward_path(
    X: NDArray[np.float64],
    ks: Iterable[int],
    linkage_size: int = 5_000,
    random_state: Any = None,
    *,
    into: WardSegments | None = None,
) -> dict[int, WardSegments]:
    """Fitted models for every k in ``ks``, all cut from one Ward tree on one sample.

    ``into`` fills an existing estimator (its ``fit``) instead of making a new one; it then
    takes the single k given.
    """
    ks = list(ks)
    n = len(X)
    for k in ks:
        require_customers(n, k, "hierarchical")
    rng = check_random_state(random_state)
    size = min(n, max(linkage_size, 2 * max(ks)))
    idx = np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)
    tree = linkage(X[idx], method="ward")
    models = {}
    for k in ks:
        model = into if into is not None else WardSegments(k, linkage_size, random_state)
        if into is None:
            model.n_features_in_ = X.shape[1]
        cut = fcluster(tree, t=k, criterion="maxclust").astype(np.int64) - 1
        model._learn(X, idx, np.unique(cut, return_inverse=True)[1].astype(np.int64))
        models[k] = model
    return models
