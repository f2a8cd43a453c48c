"""Gaussian mixture segments: soft membership for customers who sit between two segments.

k-means gives a customer one segment; a mixture also says how sure that is
(:meth:`MixtureSegments.predict_proba`), which a marketer can use to leave borderline customers
out of a campaign. The mixture is fitted by scikit-learn's EM on a random sample (EM costs
grow with customers x segments x features^2) and applied to everyone. Components that no
customer ends up in are removed, and components are ordered by size like every other model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from audience.segmentation.labels import by_size, require_customers

CovarianceType = Literal["full", "tied", "diag", "spherical"]
_PER_COMPONENT = ("weights_", "means_", "covariances_", "precisions_cholesky_")


class MixtureSegments(ClusterMixin, BaseEstimator):  # type: ignore[misc]
    """A Gaussian mixture with hard labels, membership probabilities and a JSON form.

    Parameters
    ----------
    n_clusters : int, default=8
        Mixture components (segments).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    sample_size : int, default=50000
        Customers EM is run on; the others are only assigned.
    n_init : int, default=2
        EM starts (the best likelihood is kept).
    random_state : int, RandomState instance or None, default=None
    """

    def __init__(
        self,
        n_clusters: int = 8,
        covariance_type: CovarianceType = "full",
        sample_size: int = 50_000,
        n_init: int = 2,
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.sample_size = sample_size
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> MixtureSegments:
        X = validate_data(self, X, dtype=np.float64)
        require_customers(len(X), self.n_clusters, "gmm")
        rng = check_random_state(self.random_state)
        idx = rng.choice(len(X), size=min(len(X), self.sample_size), replace=False)
        mixture = GaussianMixture(
            n_components=self.n_clusters,
            covariance_type=self.covariance_type,
            n_init=self.n_init,
            reg_covar=1e-5,
            init_params="k-means++",
            random_state=rng.randint(2**31 - 1),
        )
        # EM works on features x features matrices: threaded BLAS only adds synchronisation,
        # which on a busy machine made fits two orders of magnitude slower.
        with threadpool_limits(limits=1, user_api="blas"):
            mixture.fit(X[idx])
        labels = mixture.predict(X).astype(np.int64)
        used, self.labels_ = by_size(labels, self.n_clusters)
        _keep_components(mixture, used)
        self.mixture_ = mixture
        self.n_clusters_ = len(used)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Probability that each customer belongs to each segment (rows sum to 1)."""
        check_is_fitted(self, "mixture_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        proba: NDArray[np.float64] = self.mixture_.predict_proba(X)
        return proba

    def predict(self, X: Any) -> NDArray[np.int64]:
        labels: NDArray[np.int64] = self.predict_proba(X).argmax(axis=1).astype(np.int64)
        return labels

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X`` (lower is better), for the selection table."""
        check_is_fitted(self, "mixture_")
        return float(self.mixture_.bic(validate_data(self, X, dtype=np.float64, reset=False)))

    def to_json(self) -> dict[str, Any]:
        check_is_fitted(self, "mixture_")
        params = {k: v for k, v in self.get_params().items() if k != "random_state"}
        return {
            "type": "gmm",
            "params": params,
            "n_features_in": int(self.n_features_in_),
            **{name.rstrip("_"): getattr(self.mixture_, name).tolist() for name in _PER_COMPONENT},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MixtureSegments:
        model = cls(**data["params"])
        model.n_features_in_ = int(data["n_features_in"])
        mixture = GaussianMixture(
            n_components=len(data["weights"]), covariance_type=model.covariance_type
        )
        for name in _PER_COMPONENT:
            setattr(mixture, name, np.asarray(data[name.rstrip("_")], dtype=np.float64))
        mixture.n_features_in_ = model.n_features_in_
        mixture.converged_ = True
        model.mixture_ = mixture
        model.n_clusters_ = len(mixture.weights_)
        return model


def _keep_components(mixture: GaussianMixture, keep: NDArray[np.int64]) -> None:
    """Keep (and reorder to) the components ``keep``, renormalising the weights."""
    for name in _PER_COMPONENT:
        array = getattr(mixture, name)
        tied = mixture.covariance_type == "tied" and name != "weights_" and name != "means_"
        if not tied:
            setattr(mixture, name, array[keep])
    mixture.weights_ = mixture.weights_ / mixture.weights_.sum()
    mixture.n_components = len(keep)
