"""Near-constant features are left out of clustering, each with a warning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audience.segmentation.screening import drop_near_constant, near_constant


@pytest.fixture
def raw() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 1_000
    region = np.where(rng.random(n) < 0.995, 1.0, 0.0)
    return pd.DataFrame(
        {
            "frequency": rng.poisson(3, n).astype(float),
            "tenure_days": rng.normal(500, 23, n),  # every customer from the same quarter
            "mobile_share": np.where(np.arange(n) < 3, 1.0, 0.0),  # a flag three customers have
            "region=Bretagne": region,
            "region=Normandie": 1.0 - region,
            "age_band=18-24": (np.arange(n) % 3 == 0).astype(float),
            "age_band=25-34": (np.arange(n) % 3 == 1).astype(float),
        }
    )


def test_low_variation_and_low_entropy_are_found(raw: pd.DataFrame) -> None:
    found = {item.feature: item for item in near_constant(raw, 0.1, 0.1)}
    assert set(found) == {"tenure_days", "mobile_share", "region"}
    assert found["tenure_days"].measure == "coefficient of variation"
    assert found["tenure_days"].value == pytest.approx(23 / 500, abs=0.005)
    assert found["region"].columns == ("region=Bretagne", "region=Normandie")
    assert found["mobile_share"].measure == "normalised entropy"


def test_they_are_dropped_with_a_warning_naming_each(raw: pd.DataFrame) -> None:
    with pytest.warns(UserWarning, match="is nearly constant") as caught:
        kept, dropped = drop_near_constant(raw, 0.1, 0.1)
    assert list(kept.columns) == ["frequency", "age_band=18-24", "age_band=25-34"]
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == len(dropped) == 3
    assert (
        "feature 'tenure_days' is nearly constant (coefficient of variation 0.04" in (messages[2])
    )


def test_thresholds_are_the_settings(raw: pd.DataFrame) -> None:
    assert near_constant(raw, 0.0, 0.0) == []
    assert "frequency" in {item.feature for item in near_constant(raw, 1.0, 0.0)}


def test_never_leaves_nothing_to_cluster() -> None:
    flat = pd.DataFrame({"tenure_days": [500.0, 501.0, 502.0, 499.0]})
    kept, dropped = drop_near_constant(flat, 0.1, 0.1)
    assert list(kept.columns) == ["tenure_days"] and dropped == []
