"""Conventions every segmentation model shares: label order, noise, enough customers.

Label 0 is the largest segment, 1 the next, and so on, whatever the method, so that reports
and stored runs read the same way for k-means, Ward or a Gaussian mixture. Density methods
(DBSCAN, HDBSCAN) may leave customers in no cluster: they get :data:`NOISE` (-1, as in
scikit-learn), and the run reports them as a group of their own.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from audience.errors import ModelError

NOISE = -1
"""Label of customers a density method puts in no cluster."""


def require_customers(n_customers: int, n_segments: int, method: str) -> None:
    """Refuse to make ``n_segments`` segments out of too few customers, saying how to fix it."""
    if n_customers <= n_segments:
        raise ModelError(
            f"{n_customers} customers (n_samples = {n_customers}) cannot make {n_segments} "
            f"segments with {method}; ask for fewer segments or import more customers"
        )


def size_order(labels: NDArray[np.int64], n_labels: int) -> NDArray[np.int64]:
    """Old label of each new label: new label 0 is the old label with the most members.

    Ties keep the old order (stable sort), so the result is deterministic. Noise is ignored.
    """
    counts = np.bincount(labels[labels != NOISE], minlength=n_labels)
    order: NDArray[np.int64] = np.argsort(-counts, kind="stable")
    return order


def relabel(labels: NDArray[np.int64], order: NDArray[np.int64]) -> NDArray[np.int64]:
    """Apply :func:`size_order`'s permutation to ``labels``, keeping noise as noise.

    ``order`` may leave out labels that no customer has (they disappear from the model).
    """
    inverse = np.full(int(order.max()) + 1 if len(order) else 1, NOISE, dtype=np.int64)
    inverse[order] = np.arange(len(order))
    result: NDArray[np.int64] = np.where(labels == NOISE, NOISE, inverse[np.maximum(labels, 0)])
    return result


def by_size(
    labels: NDArray[np.int64], n_labels: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Old labels that have members, largest first, and ``labels`` renumbered in that order.

    For models that drop a component no customer ended in (its parameters go with it).
    """
    order = size_order(labels, n_labels)
    used = order[np.bincount(labels[labels != NOISE], minlength=n_labels)[order] > 0]
    return used, relabel(labels, used)


def noise_as_group(labels: NDArray[np.int64]) -> NDArray[np.int64]:
    """Labels with noise moved to the label after the last cluster, for profiles and maps."""
    n_clusters = int(labels.max()) + 1 if (labels != NOISE).any() else 0
    result: NDArray[np.int64] = np.where(labels == NOISE, n_clusters, labels)
    return result


def segment_shares(labels: NDArray[np.int64]) -> tuple[float, float]:
    """Share of the smallest cluster and share of noise (both among all customers)."""
    n = len(labels)
    clustered = labels[labels != NOISE]
    noise = 1.0 - len(clustered) / n if n else 0.0
    if not len(clustered):
        return 0.0, noise
    return float(np.bincount(clustered).min() / n), noise
