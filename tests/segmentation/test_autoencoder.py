"""The autoencoder embedding: seeded and reproducible, saved without pickle, clear refusals.

scikit-learn's own checks run on it in tests/test_estimator_checks.py.
"""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from audience.errors import ConfigError, ModelError
from audience.segmentation.algorithms import ModelSettings, make_model
from audience.segmentation.assign import SegmentAssigner
from audience.segmentation.autoencoder import MIN_CUSTOMERS, AutoencoderEmbedding
from audience.segmentation.space import FeatureSpace

torch = pytest.importorskip("torch")

FAST = {"latent_dims": (2, 4), "hidden": 16, "max_epochs": 40, "patience": 5}


@pytest.fixture(scope="module")
def blobs() -> pd.DataFrame:
    X, _ = make_blobs(n_samples=600, centers=4, n_features=6, cluster_std=1.0, random_state=3)
    return pd.DataFrame(X, columns=[f"f{j}" for j in range(6)])


@pytest.fixture(scope="module")
def fitted(blobs: pd.DataFrame) -> AutoencoderEmbedding:
    return AutoencoderEmbedding(**FAST, random_state=1).fit(blobs)


def test_the_same_seed_gives_the_same_embedding(
    blobs: pd.DataFrame, fitted: AutoencoderEmbedding
) -> None:
    again = AutoencoderEmbedding(**FAST, random_state=1).fit(blobs)
    assert np.array_equal(fitted.transform(blobs), again.transform(blobs))
    one_size = {**FAST, "latent_dims": (2,)}
    first = AutoencoderEmbedding(**one_size, random_state=1).fit(blobs).transform(blobs)
    other = AutoencoderEmbedding(**one_size, random_state=2).fit(blobs).transform(blobs)
    assert not np.allclose(first, other)  # the seed does decide the weights


def test_chosen_dimension_is_the_smallest_within_tolerance(fitted: AutoencoderEmbedding) -> None:
    errors = {c.latent_dim: c.validation_error for c in fitted.candidates_}
    best = min(errors.values())
    within = [d for d, e in sorted(errors.items()) if e <= best * (1 + fitted.tolerance)]
    assert fitted.latent_dim_ == within[0]
    report = fitted.describe()
    assert report["latent_dim"] == fitted.latent_dim_
    assert "smallest latent dimension" in report["why"]
    assert all(c["epochs"] >= 1 for c in report["candidates"])


def test_reconstruction_beats_the_mean_and_inverse_transform_reconstructs(
    blobs: pd.DataFrame, fitted: AutoencoderEmbedding
) -> None:
    scaled = (blobs - blobs.mean()) / blobs.std()
    model = AutoencoderEmbedding(**FAST, random_state=1).fit(scaled)
    # Predicting every customer as the mean scores 1 per feature on standardised data.
    assert model.reconstruction_error(scaled) < 0.5
    rebuilt = model.inverse_transform(model.transform(scaled))
    assert rebuilt.shape == scaled.shape
    assert model.transform(scaled).shape == (len(scaled), model.latent_dim_)


def test_json_and_weight_files_round_trip_without_pickle(
    blobs: pd.DataFrame, fitted: AutoencoderEmbedding, tmp_path: Path
) -> None:
    from audience.segmentation.autoencoder_torch import (
        CONFIG_FILE,
        WEIGHTS_FILE,
        load_embedding,
        save_embedding,
    )

    loaded = AutoencoderEmbedding.from_json(json.loads(json.dumps(fitted.to_json())))
    assert np.allclose(loaded.transform(blobs), fitted.transform(blobs))
    save_embedding(fitted, tmp_path)
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["latent_dim"] == fitted.latent_dim_
    from_files = load_embedding(tmp_path)
    assert np.allclose(from_files.transform(blobs), fitted.transform(blobs))
    # A weights file holding an object other than tensors is refused, not executed.
    torch.save({"enc_hidden.weight": object()}, tmp_path / WEIGHTS_FILE)
    with pytest.raises(ModelError, match="not an autoencoder state_dict"):
        load_embedding(tmp_path)


def test_assigner_with_encoder_predicts_one_profile_as_the_batch(blobs: pd.DataFrame) -> None:
    space = FeatureSpace(pca_variance=None).fit(blobs)
    scaled = space.scaled(blobs)
    encoder = AutoencoderEmbedding(**FAST, random_state=1).fit(
        pd.DataFrame(scaled, columns=space.kept_features_)
    )
    model = make_model("kmeans", 4, ModelSettings(random_state=0)).fit(
        encoder.transform(pd.DataFrame(scaled, columns=space.kept_features_))
    )
    assigner = SegmentAssigner.from_json(
        json.loads(json.dumps(SegmentAssigner(space, model, encoder).to_json()))
    )
    batch = assigner.predict(blobs)
    assert (batch == model.labels_).all()
    for i in (0, 17, 599):
        profile = {str(k): float(v) for k, v in blobs.iloc[i].items()}
        assert assigner.predict_one(profile) == batch[i]
    # A live profile missing a feature is imputed by the space, as in batch.
    assert assigner.predict_one({"f0": 1.0}) in set(batch.tolist())


def test_too_few_customers_is_refused_with_the_minimum() -> None:
    X = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(ModelError, match=f"at least {MIN_CUSTOMERS} customers.*n_samples = 50"):
        AutoencoderEmbedding().fit(X)


def test_nan_is_refused_naming_the_column(blobs: pd.DataFrame) -> None:
    holed = blobs.copy()
    holed.loc[3, "f2"] = np.nan
    with pytest.raises(ModelError, match="feature 'f2' has 1 NaN value"):
        AutoencoderEmbedding(**FAST).fit(holed)


def test_missing_extra_names_the_pip_command(
    blobs: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_torch(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ConfigError, match=r"pip install 'audience\[deep\]'"):
        AutoencoderEmbedding(**FAST).fit(blobs)
