"""Stability tells reproducible segments from arbitrary cuts of a continuum."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from audience.errors import ModelError
from audience.segmentation.stability import bootstrap_stability, refit_stability


def test_planted_groups_are_stable_and_a_continuum_cut_in_eight_is_not() -> None:
    X, _ = make_blobs(n_samples=2_000, centers=3, cluster_std=0.8, random_state=0)
    planted = bootstrap_stability(KMeans(3, n_init=1), X, n_refits=4, random_state=0)
    assert planted.mean > 0.97
    assert planted.n_pairs == 6
    continuum = np.random.default_rng(0).uniform(size=(2_000, 6))
    arbitrary = bootstrap_stability(KMeans(8, n_init=1), continuum, n_refits=4, random_state=0)
    assert arbitrary.mean < planted.mean - 0.2


def test_one_refit_serves_many_models_by_key() -> None:
    X, _ = make_blobs(n_samples=1_000, centers=4, random_state=1)
    calls = []

    def fit_many(sample: np.ndarray, seed: int) -> dict[int, KMeans]:
        calls.append(len(sample))
        return {k: KMeans(k, n_init=1, random_state=seed).fit(sample) for k in (2, 4)}

    found = refit_stability(fit_many, X, n_refits=3, subsample=0.5, random_state=0)
    assert calls == [500, 500, 500]
    assert set(found) == {2, 4}
    assert found[4].mean > 0.95
    assert found[4].to_dict()["stability_pairs"] == 3


def test_stability_needs_two_refits() -> None:
    with pytest.raises(ModelError, match="at least 2 refits"):
        bootstrap_stability(KMeans(2), np.zeros((10, 2)), n_refits=1)
