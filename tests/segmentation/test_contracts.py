"""Every segmentation model survives a JSON round trip; RFM keeps the contract where it applies.

scikit-learn's own checks run on every estimator in tests/test_estimator_checks.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError

from audience.errors import ConfigError, ModelError
from audience.segmentation.algorithms import (
    METHODS,
    ModelSettings,
    make_model,
    model_from_json,
    model_to_json,
)
from audience.segmentation.rfm import RFMSegmenter


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
    with pytest.raises(ModelError, match="n_features = 2"):
        RFMSegmenter().fit(X[:, :2])
