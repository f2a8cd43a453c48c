"""Density-based segments (DBSCAN, HDBSCAN) that can also assign customers they never saw.

Both find groups as dense regions and leave customers in sparse regions in no group
(:data:`~audience.segmentation.labels.NOISE`); neither scales to millions of customers nor, in
scikit-learn, assigns new points. Both are therefore fitted on a random sample, and they keep
*exemplars* -- the sample's points that define the clusters -- with a reach per cluster:

* DBSCAN: the exemplars are its core samples and the reach is ``eps``. A new customer within
  ``eps`` of a core sample joins that core sample's cluster: DBSCAN's own rule for border
  points. ``eps`` defaults to a quantile of each customer's distance to her ``min_samples``-th
  neighbour (90%: nine customers in ten are then dense enough to be core points).
* HDBSCAN: the exemplars are the clustered sample points and a cluster's reach is the largest
  core distance (distance to the ``min_samples``-th neighbour) among its members -- the
  sparsest density at which the cluster still holds together. This approximates HDBSCAN's
  membership without its condensed tree, which scikit-learn does not expose.

A customer is assigned the cluster of her nearest exemplar if she is within that cluster's
reach, and is noise otherwise. ``labels_`` come from the same rule, so the fitted labels and
later assignments agree. ``density_noise_share_`` keeps the share the algorithm itself left as
noise in its sample, which is what model selection judges HDBSCAN by.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import DBSCAN, HDBSCAN
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from audience.segmentation.labels import NOISE, relabel, size_order


class _ExemplarSegments(ClusterMixin, BaseEstimator):  # type: ignore[misc]
    """Assignment by nearest exemplar within its cluster's reach (see the module docstring)."""

    sample_size: int
    random_state: Any
    method: str = ""

    def fit(self, X: Any, y: Any = None) -> _ExemplarSegments:
        X = validate_data(self, X, dtype=np.float64)
        rng = check_random_state(self.random_state)
        sample = X[rng.choice(len(X), size=min(len(X), self.sample_size), replace=False)]
        labels, is_exemplar, reach = self._cluster(sample)
        self.density_noise_share_ = float(np.mean(labels == NOISE))
        self.exemplars_ = sample[is_exemplar]
        self.exemplar_labels_ = labels[is_exemplar].astype(np.int64)
        self.reach_ = reach
        assigned = self._assign(X)
        order = size_order(assigned, len(reach))
        self.reach_ = reach[order]
        self.exemplar_labels_ = relabel(self.exemplar_labels_, order)
        self.labels_ = relabel(assigned, order)
        self.n_clusters_ = len(reach)
        return self

    def _cluster(
        self, sample: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
        raise NotImplementedError

    def _assign(self, X: NDArray[np.float64]) -> NDArray[np.int64]:
        if not len(self.exemplars_):
            return np.full(len(X), NOISE, dtype=np.int64)
        index = NearestNeighbors(n_neighbors=1).fit(self.exemplars_)
        distance, nearest = index.kneighbors(X)
        label = self.exemplar_labels_[nearest[:, 0]]
        result: NDArray[np.int64] = np.where(distance[:, 0] <= self.reach_[label], label, NOISE)
        return result

    def predict(self, X: Any) -> NDArray[np.int64]:
        """Cluster of the nearest exemplar when within its reach, else NOISE (-1)."""
        check_is_fitted(self, "exemplars_")
        return self._assign(validate_data(self, X, dtype=np.float64, reset=False))

    def to_json(self) -> dict[str, Any]:
        check_is_fitted(self, "exemplars_")
        params = {k: v for k, v in self.get_params().items() if k != "random_state"}
        return {
            "type": self.method,
            "params": params,
            "n_features_in": int(self.n_features_in_),
            "exemplars": self.exemplars_.tolist(),
            "exemplar_labels": self.exemplar_labels_.tolist(),
            "reach": self.reach_.tolist(),
            "density_noise_share": self.density_noise_share_,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Any:
        model = cls(**data["params"])
        model.n_features_in_ = int(data["n_features_in"])
        model.exemplars_ = np.asarray(data["exemplars"], dtype=np.float64).reshape(
            -1, model.n_features_in_
        )
        model.exemplar_labels_ = np.asarray(data["exemplar_labels"], dtype=np.int64)
        model.reach_ = np.asarray(data["reach"], dtype=np.float64)
        model.density_noise_share_ = float(data["density_noise_share"])
        model.n_clusters_ = len(model.reach_)
        return model


class DBSCANSegments(_ExemplarSegments):
    """DBSCAN on a sample; new customers join a cluster within ``eps`` of its core samples.

    Parameters
    ----------
    eps : float or None, default=None
        Neighbourhood radius; None takes the ``eps_quantile`` of the distances to the
        ``min_samples``-th neighbour.
    min_samples : int, default=10
    eps_quantile : float, default=0.9
    sample_size : int, default=10000
    random_state : int, RandomState instance or None, default=None
    """

    method = "dbscan"

    def __init__(
        self,
        eps: float | None = None,
        min_samples: int = 10,
        eps_quantile: float = 0.9,
        sample_size: int = 10_000,
        random_state: Any = None,
    ) -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.eps_quantile = eps_quantile
        self.sample_size = sample_size
        self.random_state = random_state

    def _cluster(
        self, sample: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
        min_samples = min(self.min_samples, len(sample))
        eps = self.eps
        if eps is None:
            eps = float(np.quantile(core_distances(sample, min_samples), self.eps_quantile))
        eps = max(eps, 1e-12)
        self.eps_ = eps
        model = DBSCAN(eps=eps, min_samples=min_samples).fit(sample)
        labels = model.labels_.astype(np.int64)
        core = np.zeros(len(sample), dtype=bool)
        core[model.core_sample_indices_] = True
        n_clusters = int(labels.max()) + 1
        return labels, core & (labels != NOISE), np.full(n_clusters, eps)


class HDBSCANSegments(_ExemplarSegments):
    """HDBSCAN on a sample; new customers join a cluster within its reach (module docstring).

    Parameters
    ----------
    min_share : float, default=0.02
        Smallest cluster, as a share of the sample (HDBSCAN's ``min_cluster_size``).
    min_samples : int, default=10
        Neighbours that define a customer's core distance (smoothing of the density).
    sample_size : int, default=10000
    random_state : int, RandomState instance or None, default=None
    """

    method = "hdbscan"

    def __init__(
        self,
        min_share: float = 0.02,
        min_samples: int = 10,
        sample_size: int = 10_000,
        random_state: Any = None,
    ) -> None:
        self.min_share = min_share
        self.min_samples = min_samples
        self.sample_size = sample_size
        self.random_state = random_state

    def _cluster(
        self, sample: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
        min_samples = max(1, min(self.min_samples, len(sample) - 1))
        min_cluster_size = max(5, math.ceil(self.min_share * len(sample)))
        model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True).fit(
            sample
        )
        labels = model.labels_.astype(np.int64)
        labels[labels < NOISE] = NOISE  # infinite or missing values have their own codes
        n_clusters = int(labels.max()) + 1
        core = core_distances(sample, min_samples)
        reach = np.zeros(n_clusters)
        np.maximum.at(reach, labels[labels != NOISE], core[labels != NOISE])
        return labels, labels != NOISE, reach


def core_distances(X: NDArray[np.float64], min_samples: int) -> NDArray[np.float64]:
    """Distance from each row to its ``min_samples``-th neighbour, itself counted first."""
    k = max(1, min(min_samples, len(X)))
    distances, _ = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X)
    result: NDArray[np.float64] = distances[:, -1]
    return result
