from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from audience.errors import ModelError
from audience.segmentation.kmeans import AutoKMeans, sampled_silhouette
from audience.segmentation.preprocess import FeaturePreprocessor


def test_sample_starts_then_every_customer_decides_the_centroids() -> None:
    X, truth = make_blobs(n_samples=6_000, centers=5, n_features=6, cluster_std=1.0, random_state=1)
    model = AutoKMeans(n_clusters=5, sample_size=500, random_state=0).fit(X)
    assert adjusted_rand_score(truth, model.labels_) > 0.95
    sizes = np.bincount(model.labels_)
    assert list(sizes) == sorted(sizes, reverse=True)  # label 0 is the largest segment
    assert (model.predict(X) == model.labels_).all()
    # The final centroids are the means of their members: Lloyd ran on everyone.
    for label, center in enumerate(model.cluster_centers_):
        assert np.allclose(center, X[model.labels_ == label].mean(axis=0), atol=1e-6)


def test_given_centroids_replace_the_starts() -> None:
    """Model selection hands over the winner's centroids: no k-means++ start is rerun."""
    X, _ = make_blobs(n_samples=3_000, centers=4, n_features=3, random_state=4)
    far = np.array([[50.0, 50.0, 50.0], [-50.0, 50.0, 50.0], [50.0, -50.0, 50.0], [0, 0, -50.0]])
    started = AutoKMeans(n_clusters=4, init=far, random_state=0).fit(X)
    from sklearn.cluster import KMeans

    lloyd = KMeans(4, init=far, n_init=1, max_iter=300).fit(X)
    assert started.inertia_ == pytest.approx(lloyd.inertia_)
    assert sorted(map(tuple, started.cluster_centers_.round(6))) == sorted(
        map(tuple, lloyd.cluster_centers_.round(6))
    )


def test_fewer_customers_than_segments_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="cannot make 5 segments"):
        AutoKMeans(n_clusters=5).fit(np.random.default_rng(0).normal(size=(4, 2)))


def test_sampled_silhouette_is_close_to_exact() -> None:
    from sklearn.metrics import silhouette_score

    X, labels = make_blobs(n_samples=8_000, centers=4, random_state=2)
    estimate, error = sampled_silhouette(X, labels, 2_000, random_state=0)
    exact = silhouette_score(X, labels)
    assert abs(estimate - exact) < 4 * error + 1e-3
    assert 0 < error < 0.02


def test_preprocessor_imputes_logs_and_drops_constant_columns() -> None:
    rng = np.random.default_rng(0)
    spend = rng.lognormal(3, 1.5, 1_000)
    recency = rng.uniform(0, 100, 1_000)
    recency[:100] = np.nan
    basket = rng.normal(50, 5, 1_000)
    basket[:50] = np.nan
    X = np.column_stack([spend, recency, basket, np.ones(1_000)])
    pre = FeaturePreprocessor(fill_max=(1,), fill_median=(2,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = pre.fit_transform(X)
    assert "no variance" in str(caught[0].message)
    assert out.shape == (1_000, 3)
    assert list(pre.log_columns_) == [True, False, False, False]
    assert pre.fill_values_[1] == np.nanmax(recency)
    assert pre.fill_values_[2] == np.nanmedian(basket)
    assert np.allclose(out.mean(axis=0), 0)
    assert np.allclose(out.std(axis=0), 1)
    described = pre.describe(["spend", "recency", "basket", "constant"])
    assert described["log_transformed"] == ["spend"]
    assert described["dropped_no_variance"] == ["constant"]
