"""Each clustering method finds planted groups, assigns new customers, and refuses the absurd."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from audience.errors import ModelError
from audience.segmentation.algorithms import METHODS, ModelSettings, make_model
from audience.segmentation.assign import SegmentAssigner, confidence
from audience.segmentation.density import DBSCANSegments, HDBSCANSegments
from audience.segmentation.hierarchical import WardSegments, ward_path
from audience.segmentation.labels import NOISE, noise_as_group, relabel, size_order
from audience.segmentation.mixture import MixtureSegments
from audience.segmentation.space import FeatureSpace

CENTERS = np.array([[0, 0, 0], [8, 0, 0], [0, 8, 0], [0, 0, 8]], dtype=float)


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray]:
    X, truth = make_blobs(
        n_samples=[1_200, 800, 500, 300], centers=CENTERS, cluster_std=1.0, random_state=2
    )
    return X, truth


@pytest.mark.parametrize("method", METHODS)
def test_every_method_recovers_planted_groups(
    method: str, planted: tuple[np.ndarray, np.ndarray]
) -> None:
    X, truth = planted
    model = make_model(method, 4, ModelSettings(random_state=0, linkage_size=1_000)).fit(X)
    labels = model.labels_
    clustered = labels != NOISE
    assert clustered.mean() > 0.9
    assert adjusted_rand_score(truth[clustered], labels[clustered]) > 0.95
    assert model.n_clusters_ == 4
    assert (model.predict(X) == labels).all()  # fitted labels are what predict says


def test_ward_assigns_customers_outside_its_sample(planted: tuple[np.ndarray, np.ndarray]) -> None:
    X, truth = planted
    model = WardSegments(n_clusters=4, linkage_size=400, random_state=0).fit(X)
    assert model.sizes_.sum() == 400  # the tree saw 400 customers ...
    assert adjusted_rand_score(truth, model.labels_) > 0.95  # ... and everyone got a segment
    assert model.labels_.shape == (len(X),)


def test_one_ward_tree_serves_every_k(planted: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = planted
    path = ward_path(X, [2, 3, 4, 5], linkage_size=800, random_state=0)
    assert [m.n_clusters_ for m in path.values()] == [2, 3, 4, 5]
    alone = WardSegments(n_clusters=4, linkage_size=800, random_state=0).fit(X)
    assert (path[4].labels_ == alone.labels_).all()


def test_density_methods_call_far_customers_noise(planted: tuple[np.ndarray, np.ndarray]) -> None:
    X, truth = planted
    far = np.array([[40.0, 40, 40], [-30, 25, -30]])
    near = CENTERS + 0.3
    for model in (DBSCANSegments(random_state=0), HDBSCANSegments(random_state=0)):
        model.fit(X)
        assert (model.predict(far) == NOISE).all()
        labels_near = model.predict(near)
        assert (labels_near != NOISE).all()
        assert len(set(labels_near)) == 4  # each centre in its own cluster
        in_blob = model.labels_[truth == 0]
        assert (labels_near[0] == in_blob[in_blob != NOISE]).mean() > 0.95


def test_hdbscan_reports_the_noise_it_found_on_uniform_data() -> None:
    X = np.random.default_rng(0).uniform(size=(3_000, 5))
    model = HDBSCANSegments(random_state=0).fit(X)
    assert model.density_noise_share_ > 0.5


def test_gaussian_mixture_is_unsure_between_its_segments() -> None:
    X, _ = make_blobs(n_samples=2_000, centers=[[0, 0], [4, 0]], cluster_std=1.0, random_state=0)
    model = MixtureSegments(n_clusters=2, random_state=0).fit(X)
    proba = model.predict_proba(np.array([[2.0, 0.0], [-2.0, 0.0], [6.0, 0.0]]))
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert 0.2 < proba[0, 0] < 0.8  # half-way: no confident answer
    assert proba[1].max() > 0.99
    assert proba[2].max() > 0.99
    assert proba[1].argmax() != proba[2].argmax()


@pytest.mark.parametrize("method", ["kmeans", "minibatch", "hierarchical", "gmm"])
def test_fewer_customers_than_segments_is_a_clear_error(method: str) -> None:
    X = np.random.default_rng(0).normal(size=(5, 3))
    with pytest.raises(ModelError, match="cannot make 6 segments"):
        make_model(method, 6, ModelSettings()).fit(X)


def test_assigner_places_one_profile_like_the_batch(planted: tuple[np.ndarray, np.ndarray]) -> None:
    import pandas as pd

    X, _ = planted
    frame = pd.DataFrame(np.abs(X) * 10, columns=["visits", "frequency", "monetary"])
    space = FeatureSpace(pca_variance=None).fit(frame)
    model = MixtureSegments(n_clusters=4, random_state=0).fit(space.transform(frame))
    assigner = SegmentAssigner.from_json(SegmentAssigner(space, model).to_json())
    batch = assigner.predict(frame.iloc[:20])
    one = [assigner.predict_one(row) for row in frame.iloc[:20].to_dict("records")]
    assert list(batch) == one
    proba = assigner.predict_proba_one(frame.iloc[0].to_dict())
    assert max(proba, key=lambda label: proba[label]) == batch[0]


def test_label_helpers_order_by_size_and_keep_noise() -> None:
    labels = np.array([2, 2, 2, 0, NOISE, 1, 1])
    order = size_order(labels, 3)
    assert list(order) == [2, 1, 0]
    assert list(relabel(labels, order)) == [0, 0, 0, 2, NOISE, 1, 1]
    assert list(noise_as_group(np.array([0, NOISE, 1]))) == [0, 2, 1]


@pytest.mark.parametrize("method", METHODS)
def test_confidence_is_high_at_a_centre_and_low_between_two(method: str) -> None:
    X, _ = make_blobs(n_samples=2_000, centers=[[0, 0], [10, 0]], cluster_std=1.0, random_state=0)
    model = make_model(method, 2, ModelSettings(random_state=0)).fit(X)
    between = [5.0, 0.0] if method not in ("dbscan", "hdbscan") else [5.0, 40.0]  # or noise
    sure, unsure = confidence(model, np.array([[0.0, 0.0], between]))
    assert 0 <= unsure < sure <= 1
    assert sure > 0.8
