"""Clustering on custom traits declared in ``segmentation.features``: categories one-hot,
booleans 0/1, dates as days since, numbers scaled; unknown and free-text traits refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audience.errors import ModelError
from audience.pipelines.segment_run import run_segmentation
from audience.segmentation.matrix import _one_hot, load_matrix
from tests.rules.conftest import traits_workspace

TRAITS = [
    "traits.loyalty_tier",
    "traits.points_fidelite",
    "traits.client_depuis",
    "traits.newsletter_vip",
]
ONE_HOT = [f"traits.loyalty_tier={t}" for t in ("bronze", "gold", "platinum", "silver")]


def test_a_run_clusters_on_traits_with_categories_one_hot(tmp_path: Path) -> None:
    ws = traits_workspace(tmp_path / "ws")
    config = ws.config.model_copy(deep=True)
    config.segmentation.features = ["frequency", "monetary", *TRAITS]
    config.segmentation.pca_variance = None
    with ws.warehouse() as warehouse:
        ids, frame = load_matrix(warehouse.con, config.segmentation.features)
        with warehouse.transaction() as con:
            run = run_segmentation(con, config, k=3, clock=ws.clock)
    assert list(frame.columns) == [
        "frequency",
        "monetary",
        "traits.points_fidelite",
        "traits.client_depuis",
        "traits.newsletter_vip",
        *ONE_HOT,
    ]
    first = frame.iloc[list(ids.to_pylist()).index("C003")]
    # Days from 04/04/2018 to the as-of date; oui is 1; one column per tier, gold set.
    assert (
        first["traits.client_depuis"]
        == (pd.Timestamp("2026-11-25") - pd.Timestamp("2018-04-04")).days
    )
    assert first["traits.newsletter_vip"] == 1.0 and first["traits.points_fidelite"] == 111.5
    assert first[ONE_HOT].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert set(ONE_HOT) <= set(run.features)
    assert run.n_customers == 60 and run.k == 3
    # Trait columns take the median when missing, not zero.
    assert "traits.points_fidelite" in run.preprocessing["imputation"]


def test_a_missing_or_unseen_category_is_a_row_of_zeros() -> None:
    encoded = _one_hot("traits.tier", pd.Series(["gold", None, "silver", "gold"]))
    assert list(encoded.columns) == ["traits.tier=gold", "traits.tier=silver"]
    assert np.array_equal(encoded.to_numpy(), [[1, 0], [0, 0], [0, 1], [1, 0]])


def test_unknown_and_free_text_traits_are_refused(tmp_path: Path) -> None:
    ws = traits_workspace(tmp_path / "ws")
    with ws.warehouse() as warehouse:
        with pytest.raises(ModelError, match=r"unknown trait 'traits.tier'.*traits.loyalty_tier"):
            load_matrix(warehouse.con, ["frequency", "traits.tier"])
        with pytest.raises(ModelError, match=r"'traits\.interets' is free text"):
            load_matrix(warehouse.con, ["frequency", "traits.interets"])
