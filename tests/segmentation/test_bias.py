"""Representativeness: a fair sample passes, a skewed one is flagged and named."""

from __future__ import annotations

import warnings
from datetime import date

import numpy as np
import pandas as pd
import pytest

from audience.segmentation.bias import age_band, reference_bias, sample_bias


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40_000
    return pd.DataFrame(
        {
            "region": rng.choice(
                ["Île-de-France", "Bretagne", "Corse", "Occitanie"], n, p=[0.5, 0.3, 0.05, 0.15]
            ),
            "tenure_days": rng.gamma(2.0, 150.0, n),
        }
    )


def test_a_random_sample_is_not_flagged(population: pd.DataFrame) -> None:
    mask = np.zeros(len(population), dtype=bool)
    mask[np.random.default_rng(1).choice(len(population), 5_000, replace=False)] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        results = sample_bias(population, mask, categorical=["region"], continuous=["tenure_days"])
    assert [r.test for r in results] == ["chi-square", "kolmogorov-smirnov"]
    assert not any(r.flagged for r in results)


def test_a_sample_missing_a_region_and_old_customers_is_flagged(population: pd.DataFrame) -> None:
    eligible = (population.region != "Corse") & (population.tenure_days < 500)
    mask = np.zeros(len(population), dtype=bool)
    mask[np.flatnonzero(eligible.to_numpy())[:5_000]] = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = sample_bias(population, mask, categorical=["region"], continuous=["tenure_days"])
    assert all(r.flagged for r in results)
    messages = [str(w.message) for w in caught]
    assert any("region 'Corse': 0.0% of the sample" in m for m in messages)
    assert any("tenure_days: median" in m for m in messages)


def test_the_whole_population_needs_no_test(population: pd.DataFrame) -> None:
    assert sample_bias(population, np.ones(len(population), bool), categorical=["region"]) == []


def test_data_under_representing_a_group_against_a_reference() -> None:
    bands = pd.Series(["18-24"] * 50 + ["25-34"] * 450 + ["35-44"] * 500, name="age_band")
    census = {"18-24": 0.2, "25-34": 0.4, "35-44": 0.4}
    with pytest.warns(UserWarning, match="age_band '18-24': 5.0% of customers vs 20.0%"):
        result = reference_bias(bands, census)
    assert result.flagged
    assert result.effect > 0.3
    matching = pd.Series(["18-24"] * 200 + ["25-34"] * 400 + ["35-44"] * 400, name="age_band")
    assert not reference_bias(matching, census).flagged


def test_age_bands_count_birthdays() -> None:
    born = pd.Series(["2000-06-02", "2000-06-01", "1950-01-01", None, "2012-01-01"])
    bands = age_band(born, date(2025, 6, 1))
    assert bands.tolist()[:3] == ["18-24", "25-34", "65+"]
    assert pd.isna(bands.iloc[3])
    assert bands.iloc[4] == "under 18"
