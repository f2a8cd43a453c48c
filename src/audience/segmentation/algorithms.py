"""The clustering methods a run can use, how each is built, and how each is saved.

=============  ==========================================================================
method         model (all follow scikit-learn's estimator contract; label 0 = largest)
=============  ==========================================================================
kmeans         :class:`~audience.segmentation.kmeans.AutoKMeans` at a fixed k (k-means++,
               several starts on a sample, then iterated on every customer)
minibatch      :class:`MiniBatchSegments` (mini-batch k-means: for tens of millions of rows)
hierarchical   :class:`~audience.segmentation.hierarchical.WardSegments` (Ward on a sample)
dbscan         :class:`~audience.segmentation.density.DBSCANSegments` (noise = -1)
hdbscan        :class:`~audience.segmentation.density.HDBSCANSegments` (noise = -1)
gmm            :class:`~audience.segmentation.mixture.MixtureSegments` (``predict_proba``)
=============  ==========================================================================

:func:`candidate_models` fits what model selection compares: the same methods, fitted on the
selection sample, with shortcuts that do not change the result (plain scikit-learn k-means,
one Ward tree cut at every k). :func:`model_to_json` / :func:`model_from_json` save and load
any final model as JSON: its learnt arrays, never a pickle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.utils.validation import check_is_fitted, validate_data

from audience.errors import ConfigError
from audience.segmentation.density import DBSCANSegments, HDBSCANSegments
from audience.segmentation.hierarchical import WardSegments, ward_path
from audience.segmentation.kmeans import AutoKMeans, nearest_centroid
from audience.segmentation.labels import by_size, require_customers
from audience.segmentation.mixture import MixtureSegments

METHODS = ("kmeans", "minibatch", "hierarchical", "dbscan", "hdbscan", "gmm")
"""Every clustering method, as ``audience segment --method`` names them."""

AUTO_METHODS = ("kmeans", "gmm", "hierarchical", "hdbscan", "dbscan")
"""Methods ``auto`` compares, in the order that breaks exact ties (simplest first).
Mini-batch k-means is left out: it approximates k-means, which is already compared."""

DEEP_PREFIX = "autoencoder+"
DEEP_METHODS = ("autoencoder+kmeans", "autoencoder+gmm", "autoencoder+hdbscan")
"""Clusterings of an autoencoder's latent space (:mod:`audience.segmentation.autoencoder`)."""

CLUSTERING_METHODS = (*METHODS, *DEEP_METHODS)
"""Every method whose runs store clusters (their memberships replace each other's)."""

DENSITY_METHODS = ("dbscan", "hdbscan")
"""Methods that find their own number of segments (``k`` does not apply)."""


@dataclass(frozen=True)
class ModelSettings:
    """Knobs shared by every method (sizes bound the cost of what does not scale)."""

    sample_size: int = 20_000
    """Customers k-means starts and the Gaussian mixture's EM run on."""
    linkage_size: int = 5_000
    """Customers Ward's tree is built on."""
    density_sample_size: int = 10_000
    """Customers DBSCAN and HDBSCAN run on."""
    min_share: float = 0.02
    """Smallest segment share (HDBSCAN's minimum cluster size derives from it)."""
    n_init: int = 10
    """k-means++ starts (4 left k-means at k=7 in a worse optimum than Ward on the bench data)."""
    random_state: int | None = 0


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ConfigError(
            f"unknown segmentation method '{method}'; choose one of {', '.join(METHODS)} or auto"
        )


def make_model(method: str, k: int | None, settings: ModelSettings) -> Any:
    """An unfitted final model for ``method`` (``k`` is ignored by density methods)."""
    check_method(method)
    seed = settings.random_state
    if method == "dbscan":
        return DBSCANSegments(sample_size=settings.density_sample_size, random_state=seed)
    if method == "hdbscan":
        return HDBSCANSegments(
            min_share=settings.min_share,
            sample_size=settings.density_sample_size,
            random_state=seed,
        )
    if k is None:
        raise ConfigError(f"method '{method}' needs a number of segments k")
    if method == "kmeans":
        return AutoKMeans(
            n_clusters=k,
            sample_size=settings.sample_size,
            n_init=settings.n_init,
            random_state=seed,
        )
    if method == "minibatch":
        return MiniBatchSegments(n_clusters=k, random_state=seed)
    if method == "hierarchical":
        return WardSegments(n_clusters=k, linkage_size=settings.linkage_size, random_state=seed)
    return MixtureSegments(n_clusters=k, sample_size=settings.sample_size, random_state=seed)


def candidate_models(
    method: str, X: NDArray[np.float64], ks: Sequence[int], settings: ModelSettings, seed: int
) -> dict[int | None, Any]:
    """Models fitted on ``X`` for every k (one model, keyed None, for density methods)."""
    check_method(method)
    if method in DENSITY_METHODS:
        model = make_model(method, None, settings).set_params(random_state=seed)
        return {None: model.fit(X)}
    for k in ks:
        require_customers(len(X), k, method)
    if method == "hierarchical":
        tree = ward_path(X, ks, settings.linkage_size, seed)
        return {k: tree[k] for k in ks}
    if method == "kmeans":
        return {k: KMeans(k, n_init=settings.n_init, random_state=seed).fit(X) for k in ks}
    return {k: make_model(method, k, settings).set_params(random_state=seed).fit(X) for k in ks}


class MiniBatchSegments(ClusterMixin, BaseEstimator):  # type: ignore[misc]
    """Mini-batch k-means over every customer, centroids ordered by segment size.

    Parameters
    ----------
    n_clusters : int, default=8
    batch_size : int, default=4096
    n_init : int, default=3
    random_state : int, RandomState instance or None, default=None
    """

    def __init__(
        self, n_clusters: int = 8, batch_size: int = 4096, n_init: int = 3, random_state: Any = None
    ) -> None:
        self.n_clusters = n_clusters
        self.batch_size = batch_size
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> MiniBatchSegments:
        X = validate_data(self, X, dtype=np.float64)
        require_customers(len(X), self.n_clusters, "minibatch")
        model = MiniBatchKMeans(
            self.n_clusters,
            batch_size=self.batch_size,
            n_init=self.n_init,
            random_state=self.random_state,
        ).fit(X)
        labels = model.labels_.astype(np.int64)
        used, self.labels_ = by_size(labels, self.n_clusters)
        self.cluster_centers_ = model.cluster_centers_[used]
        self.n_clusters_ = len(used)
        return self

    def predict(self, X: Any) -> NDArray[np.int64]:
        check_is_fitted(self, "cluster_centers_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return nearest_centroid(X, self.cluster_centers_)


def model_to_json(model: Any) -> dict[str, Any]:
    """A final model's learnt state as JSON types, with its ``type`` (the method name)."""
    if isinstance(model, AutoKMeans | MiniBatchSegments):
        check_is_fitted(model, "cluster_centers_")
        return {
            "type": "kmeans" if isinstance(model, AutoKMeans) else "minibatch",
            "n_features_in": int(model.n_features_in_),
            "centroids": model.cluster_centers_.tolist(),
        }
    data: dict[str, Any] = model.to_json()
    return data


def model_from_json(data: Mapping[str, Any]) -> Any:
    """The inverse of :func:`model_to_json`."""
    kind = str(data.get("type"))
    loaders: dict[str, Any] = {
        "hierarchical": WardSegments,
        "gmm": MixtureSegments,
        "dbscan": DBSCANSegments,
        "hdbscan": HDBSCANSegments,
    }
    if kind in loaders:
        return loaders[kind].from_json(data)
    if kind not in ("kmeans", "minibatch"):
        raise ConfigError(f"stored model has unknown type '{kind}'; was it saved by Audience?")
    centers = np.asarray(data["centroids"], dtype=np.float64)
    model: AutoKMeans | MiniBatchSegments = (
        AutoKMeans(n_clusters=len(centers)) if kind == "kmeans" else MiniBatchSegments(len(centers))
    )
    model.cluster_centers_ = centers
    model.n_clusters_ = len(centers)
    model.n_features_in_ = int(data["n_features_in"])
    return model
