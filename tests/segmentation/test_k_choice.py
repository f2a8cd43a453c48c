"""The default k does not reward trivial splits, and says so when there is nothing to split."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from audience.segmentation.selection import AutoSegmenter

FAST = {"sample_size": 3_000, "silhouette_size": 1_500, "stability_size": 1_500, "n_refits": 2}


@pytest.fixture(scope="module")
def two_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Four groups of unequal sizes (1200, 700, 400, 200) set as two distant pairs: the
    silhouette alone rates the split between the pairs (k = 2) highest."""
    centers = np.array([[-9, -3.5, 0], [-9, 3.5, 0], [9, -3.5, 0], [9, 3.5, 0]])
    X, truth = make_blobs(
        n_samples=[1_200, 700, 400, 200], centers=centers, cluster_std=1.0, random_state=1
    )
    return X, truth


def test_four_planted_groups_do_not_give_two_segments(
    two_pairs: tuple[np.ndarray, np.ndarray],
) -> None:
    X, truth = two_pairs
    plain = AutoSegmenter(method="kmeans", k_range=(2, 8), min_useful_k=2, random_state=0, **FAST)
    assert plain.fit(X).n_clusters_ == 2  # what the silhouette alone picks
    model = AutoSegmenter(method="kmeans", k_range=(2, 8), random_state=0, **FAST).fit(X)
    assert model.n_clusters_ >= 3
    assert adjusted_rand_score(truth, model.labels_) > 0.9
    table = {row["k"]: row for row in model.selection_}
    assert table[2]["useful"] is False and table[2]["chosen"] is False
    assert table[2]["silhouette"] > table[model.n_clusters_]["silhouette"]


def test_structureless_customers_get_two_segments_and_a_warning() -> None:
    X = np.random.default_rng(0).normal(size=(2_000, 5))
    with pytest.warns(UserWarning, match="show no clear groups") as caught:
        model = AutoSegmenter(method="kmeans", k_range=(2, 8), random_state=0, **FAST).fit(X)
    assert model.n_clusters_ == 2
    assert "read them as ranges of one continuum" in str(caught[0].message)


def test_a_fixed_k_below_the_minimum_is_obeyed_without_warning(
    two_pairs: tuple[np.ndarray, np.ndarray],
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = AutoSegmenter(method="kmeans", n_clusters=2, random_state=0, **FAST)
        assert model.fit(two_pairs[0]).n_clusters_ == 2
