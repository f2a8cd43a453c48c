"""RFM: quintile scores, the score-to-segment grid, and customers who never ordered."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from audience.segmentation.rfm import NO_ORDERS, RFM_GRID, RFM_SEGMENTS, RFMSegmenter


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 5_000
    frequency = rng.integers(1, 40, n).astype(float)
    frame = pd.DataFrame(
        {
            "recency_days": rng.uniform(0, 365, n),
            "frequency": frequency,
            "monetary": frequency * rng.lognormal(4, 0.5, n),
        }
    )
    frame.loc[:499, ["recency_days", "frequency", "monetary"]] = [np.nan, 0.0, 0.0]
    return frame


def test_each_score_holds_a_fifth_of_buyers_and_recent_is_better(customers: pd.DataFrame) -> None:
    model = RFMSegmenter().fit(customers)
    scores = model.transform(customers)
    buyers = scores[500:]
    for column in (0, 2):  # continuous: no ties at the edges (see the next test for ties)
        shares = np.bincount(buyers[:, column], minlength=6)[1:] / len(buyers)
        assert np.allclose(shares, 0.2, atol=0.02)
    recent = customers.recency_days.iloc[500:] < np.quantile(customers.recency_days.iloc[500:], 0.2)
    assert (buyers[recent.to_numpy(), 0] == 5).all()
    assert (scores[:500] == 0).all()  # no order, no score


def test_tied_values_take_the_lower_score() -> None:
    one_timers = pd.DataFrame(
        {
            "recency_days": np.arange(100.0),
            "frequency": [1.0] * 60 + [2.0] * 20 + [5.0] * 20,
            "monetary": np.arange(100.0) + 1,
        }
    )
    scores = RFMSegmenter().fit(one_timers).transform(one_timers)
    assert set(scores[:60, 1]) == {1}  # 60% of buyers ordered once: all F=1, none split
    assert scores[60:80, 1].min() > 1


def test_grid_names_the_classic_segments() -> None:
    names = {RFM_SEGMENTS[label] for label in RFM_GRID.ravel()}
    assert names == set(RFM_SEGMENTS) - {"No orders yet"}
    assert RFM_SEGMENTS[RFM_GRID[5 - 1, 5 - 1]] == "Champions"
    assert RFM_SEGMENTS[RFM_GRID[5 - 1, 1 - 1]] == "New customers"
    assert RFM_SEGMENTS[RFM_GRID[1 - 1, 5 - 1]] == "Cannot lose them"
    assert RFM_SEGMENTS[RFM_GRID[1 - 1, 1 - 1]] == "Lost"


def test_customers_land_in_the_segment_their_scores_say(customers: pd.DataFrame) -> None:
    model = RFMSegmenter().fit(customers)
    edges = model.edges_
    best = [edges[0][0] / 2, edges[1][-1] + 10, edges[2][-1] * 2]
    lapsed_big = [edges[0][-1] + 50, edges[1][-1] + 10, edges[2][-1] * 2]
    lapsed_small = [edges[0][-1] + 50, 1.0, 1.0]
    never = [np.nan, 0.0, 0.0]
    probe = pd.DataFrame([best, lapsed_big, lapsed_small, never], columns=customers.columns)
    labels = model.predict(probe)
    assert [RFM_SEGMENTS[label] for label in labels] == [
        "Champions",
        "Cannot lose them",
        "Lost",
        "No orders yet",
    ]
    assert model.predict_one({"recency_days": None, "frequency": 0, "monetary": 0}) == NO_ORDERS
    assert model.predict_one(dict(zip(customers.columns, best, strict=True))) == labels[0]


def test_json_round_trip(customers: pd.DataFrame) -> None:
    model = RFMSegmenter().fit(customers)
    loaded = RFMSegmenter.from_json(json.loads(json.dumps(model.to_json())))
    assert (loaded.predict(customers) == model.predict(customers)).all()
