"""The predictive section of audience.yaml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from audience.config import WorkspaceConfig
from audience.config.predictive import Band, ClvTiers, PredictiveSettings, parse_duration
from audience.errors import ConfigError
from audience.predictive.bands import assign_bands


def test_durations() -> None:
    assert parse_duration("90d") == 90
    assert parse_duration("13w") == 91
    assert parse_duration("1y") == 365.25
    for text in ("90", "d", "-3d", "0d", "3 months"):
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(text)


def test_workspace_config_reads_the_predictive_section(tmp_path: Path) -> None:
    path = tmp_path / "audience.yaml"
    path.write_text(
        "predictive:\n  model: pnbd\n  churn_horizon: 60d\n  churn_bands:\n"
        "    - {name: risky, min: 0.5}\n    - {name: safe, min: 0}\n"
    )
    config = WorkspaceConfig.load(path)
    assert config.predictive.model == "pnbd"
    assert [b.name for b in config.predictive.churn_bands] == ["risky", "safe"]
    assert WorkspaceConfig().predictive == PredictiveSettings()
    path.write_text("predictive:\n  churn_horizon: soon\n")
    with pytest.raises(ConfigError, match="churn_horizon"):
        WorkspaceConfig.load(path)


def test_bands_are_validated_and_sorted() -> None:
    tiers = ClvTiers(basis="value", tiers=[Band(name="low", min=0), Band(name="high", min=100)])
    assert [t.name for t in tiers.tiers] == ["high", "low"]
    with pytest.raises(ValidationError, match="must differ"):
        ClvTiers(tiers=[Band(name="a", min=0.5), Band(name="b", min=0.5)])
    with pytest.raises(ValidationError, match="quantile tiers"):
        ClvTiers(basis="quantile", tiers=[Band(name="a", min=2)])
    with pytest.raises(ValidationError, match="probabilities"):
        PredictiveSettings(churn_bands=[Band(name="a", min=1.5)])


def test_assign_bands_by_value_and_by_quantile() -> None:
    bands = [Band(name="high", min=0.7), Band(name="mid", min=0.4), Band(name="low", min=0.0)]
    labels, cuts = assign_bands(np.array([0.1, 0.4, 0.69, 0.7, 0.95, -1.0]), bands, "value")
    assert labels.tolist() == [2, 1, 1, 0, 0, 2]
    assert cuts == [0.7, 0.4, 0.0]
    values = np.arange(100, dtype=float)
    labels, _ = assign_bands(values, bands, "quantile")
    assert np.bincount(labels).tolist() == [30, 30, 40]
