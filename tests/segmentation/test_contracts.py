"""Every new model honours scikit-learn's estimator contract and survives a JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from audience.errors import ConfigError, ModelError
from audience.segmentation.algorithms import (
    METHODS,
    MiniBatchSegments,
    ModelSettings,
    make_model,
    model_from_json,
    model_to_json,
)
from audience.segmentation.density import DBSCANSegments, HDBSCANSegments
from audience.segmentation.hierarchical import WardSegments
from audience.segmentation.mixture import MixtureSegments
from audience.segmentation.rfm import RFMSegmenter
from audience.segmentation.selection import AutoSegmenter
from audience.segmentation.space import FeatureSpace

# RFM is defined on exactly three columns (recency, frequency, monetary), so the checks that
# feed it other shapes cannot apply; test_rfm.py covers what they would have.
_RFM_SHAPE = "RFM is defined on exactly three columns; this check feeds another number"
_RFM_SKIPPED = (
    "check_estimators_overwrite_params",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
)


def _expected_failures(estimator: object) -> dict[str, str]:
    return dict.fromkeys(_RFM_SKIPPED, _RFM_SHAPE) if isinstance(estimator, RFMSegmenter) else {}


@parametrize_with_checks(
    [
        FeatureSpace(),
        FeatureSpace(scaling="robust", pca_variance=None, winsorize=0.0),
        WardSegments(n_clusters=3),
        MixtureSegments(n_clusters=3, n_init=1),
        DBSCANSegments(),
        HDBSCANSegments(),
        MiniBatchSegments(n_clusters=3, n_init=1, batch_size=64),
        AutoSegmenter(k_range=(2, 3), n_refits=2),
        RFMSegmenter(),
    ],
    expected_failed_checks=_expected_failures,
)
@pytest.mark.filterwarnings("ignore:hdbscan left")  # the checks feed structureless data
def test_sklearn_contract(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    X, _ = make_blobs(
        n_samples=[600, 300, 150], centers=None, n_features=4, cluster_std=0.6, random_state=5
    )
    return X


@pytest.mark.parametrize("method", METHODS)
def test_final_models_round_trip_through_json(method: str, blobs: np.ndarray) -> None:
    model = make_model(method, 3, ModelSettings(random_state=0)).fit(blobs)
    stored = json.loads(json.dumps(model_to_json(model)))
    assert stored["type"] == method
    loaded = model_from_json(stored)
    probe = blobs + np.random.default_rng(1).normal(scale=0.3, size=blobs.shape)
    assert (loaded.predict(probe) == model.predict(probe)).all()
    sizes = np.bincount(model.labels_[model.labels_ >= 0])
    assert list(sizes) == sorted(sizes, reverse=True)  # label 0 is the largest segment


def test_unknown_method_and_model_type_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown segmentation method 'spectral'"):
        make_model("spectral", 3, ModelSettings())
    with pytest.raises(ConfigError, match="unknown type 'pickle'"):
        model_from_json({"type": "pickle"})


def test_rfm_contract_where_shapes_allow() -> None:
    X = np.array([[5.0, 3, 120], [40, 1, 30], [np.nan, 0, 0], [200, 2, 80], [10, 8, 900]])
    model = RFMSegmenter()
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert model.fit(X) is model
    assert clone(model).get_params() == model.get_params()
    assert model.n_features_in_ == 3
    with pytest.raises(ModelError, match="got 2"):
        RFMSegmenter().fit(X[:, :2])
