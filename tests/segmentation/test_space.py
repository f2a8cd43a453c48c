"""The clustering space: each pre-processing step does what the run record says it did."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from audience.errors import ModelError
from audience.segmentation.space import FeatureSpace


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2_000
    frequency = rng.poisson(3, n).astype(float)
    spend = frequency * rng.lognormal(3.5, 0.6, n)
    recency = np.where(frequency > 0, rng.exponential(60, n), np.nan)
    return pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": frequency,
            "monetary": spend,
            "orders_90d": np.minimum(frequency, rng.poisson(1, n)),  # correlated with frequency
            "mobile_share": rng.beta(2, 5, n),
        }
    )


def _fit(frame: pd.DataFrame, **params: object) -> tuple[FeatureSpace, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        space = FeatureSpace(**params).fit(frame)  # type: ignore[arg-type]
    return space, [str(w.message) for w in caught]


def test_dropped_features_are_named_in_warnings_and_record(customers: pd.DataFrame) -> None:
    frame = customers.assign(email_clicks=np.nan, country_code=1.0)
    space, messages = _fit(frame)
    assert any("'email_clicks' is entirely missing" in m for m in messages)
    assert any("'country_code' has no variance" in m for m in messages)
    record = space.describe()
    assert record["dropped_all_missing"] == ["email_clicks"]
    assert record["dropped_no_variance"] == ["country_code"]
    assert space.kept_features_ == list(customers.columns)


def test_skewed_spend_is_logged_and_missing_recency_takes_the_maximum(
    customers: pd.DataFrame,
) -> None:
    space, _ = _fit(customers)
    record = space.describe()
    assert "monetary" in record["log_transformed"]
    assert "mobile_share" not in record["log_transformed"]
    assert record["imputation"]["recency_days"] == pytest.approx(customers.recency_days.max())


def test_winsorising_clips_each_tail_in_original_units(customers: pd.DataFrame) -> None:
    frame = customers.copy()
    frame.loc[0, "monetary"] = 1e7  # one customer who would otherwise own a component
    space, _ = _fit(frame, pca_variance=None, winsorize=0.01)
    low, high = space.describe()["clipped_to"]["monetary"]
    assert high == pytest.approx(np.quantile(frame.monetary, 0.99), rel=1e-6)
    assert low == pytest.approx(np.quantile(frame.monetary, 0.01), rel=1e-6, abs=1e-6)
    scaled = space.scaled(frame)
    column = space.kept_features_.index("monetary")
    assert scaled[0, column] == pytest.approx(scaled[:, column].max())
    assert scaled[:, column].max() < 4  # the outlier sits at the clip, not 20 sd away


def test_a_rare_event_is_not_winsorised_into_a_constant() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"rare": (rng.random(5_000) < 0.005).astype(float), "visits": rng.gamma(2, 2, 5_000)}
    )
    space, _ = _fit(frame, pca_variance=None)
    assert "rare" not in space.describe()["clipped_to"]
    assert space.scaled(frame)[:, 0].std() > 0.5


def test_standard_and_robust_scaling(customers: pd.DataFrame) -> None:
    standard, _ = _fit(customers, pca_variance=None)
    robust, _ = _fit(customers, pca_variance=None, scaling="robust")
    assert np.allclose(standard.transform(customers).std(axis=0), 1.0)
    assert np.allclose(np.median(robust.transform(customers), axis=0), 0.0, atol=1e-9)
    assert robust.describe()["scaling"] == "robust"


def test_pca_keeps_the_configured_share_of_variance(customers: pd.DataFrame) -> None:
    space, _ = _fit(customers, pca_variance=0.8)
    pca = space.describe()["pca"]
    ratios = pca["explained_variance_ratio"]
    assert sum(ratios) >= 0.8 > sum(ratios[:-1])  # the fewest components that reach 80%
    assert pca["n_components"] == len(ratios) < customers.shape[1]
    assert space.transform(customers).shape == (len(customers), pca["n_components"])
    assert set(pca["top_loadings"][0]) <= set(customers.columns)


def test_one_profile_is_placed_like_the_same_row_in_a_batch(customers: pd.DataFrame) -> None:
    space, _ = _fit(customers)
    row = customers.iloc[[7]]
    profile = {k: (None if pd.isna(v) else float(v)) for k, v in row.iloc[0].items()}
    assert np.allclose(space.transform_one(profile), space.transform(row))
    never_ordered = space.transform_one({"frequency": 0, "monetary": 0, "mobile_share": 0.3})
    assert np.isfinite(never_ordered).all()


def test_json_round_trip_transforms_the_same(customers: pd.DataFrame) -> None:
    space, _ = _fit(customers.assign(empty=np.nan))
    stored = json.loads(json.dumps(space.to_json(), allow_nan=False))
    loaded = FeatureSpace.from_json(stored)
    assert np.allclose(
        loaded.transform(customers.assign(empty=np.nan)),
        space.transform(customers.assign(empty=np.nan)),
    )
    assert loaded.describe() == space.describe()
    json.dumps(space.describe(), allow_nan=False)  # the run record is JSON


def test_bad_parameters_and_empty_data_are_model_errors(customers: pd.DataFrame) -> None:
    with pytest.raises(ModelError, match="winsorize"):
        FeatureSpace(winsorize=0.6).fit(customers)
    with pytest.raises(ModelError, match="every feature is empty"):
        FeatureSpace().fit(pd.DataFrame({"a": [np.nan] * 5, "b": [np.nan] * 5}))
