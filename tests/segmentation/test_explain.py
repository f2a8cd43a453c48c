"""Explanations: rules in the features' own units that select the segment they describe."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audience.segmentation.explain import explain_segments
from audience.segmentation.explain_text import Bound, describe_bounds


@pytest.fixture(scope="module")
def customers() -> tuple[pd.DataFrame, np.ndarray]:
    """Segments defined by thresholds: loyal = recent and frequent, lapsed, never ordered."""
    rng = np.random.default_rng(0)
    n = 6_000
    frequency = rng.integers(0, 15, n).astype(float)
    recency = np.where(frequency > 0, rng.uniform(0, 400, n), np.nan)
    frame = pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": frequency,
            "monetary": frequency * rng.lognormal(3.5, 0.3, n),
            "mobile_share": rng.uniform(0, 1, n),
        }
    )
    labels = np.where(frequency == 0, 2, np.where((recency <= 30) & (frequency >= 6), 0, 1))
    return frame, labels


def test_rules_recover_the_thresholds_in_original_units(
    customers: tuple[pd.DataFrame, np.ndarray],
) -> None:
    frame, labels = customers
    explanation = explain_segments(frame, labels, units={"monetary": "EUR"})
    loyal = explanation.rules[0][0]
    assert "orders ≥ 6" in loyal.text
    recency = loyal.text.split("recency ≤ ")[1].split(" days")[0]
    assert 28 <= float(recency) <= 32
    assert loyal.precision > 0.97
    assert loyal.recall > 0.95
    assert explanation.fidelity > 0.97
    assert explanation.segment_fidelity[0] > 0.95
    assert "mobile share" not in explanation.text(0)  # an irrelevant feature stays out


def test_customers_who_never_ordered_are_explained_by_missing_values(
    customers: tuple[pd.DataFrame, np.ndarray],
) -> None:
    frame, labels = customers
    text = explain_segments(frame, labels).text(2)
    assert text in ("orders = 0", "recency unknown")


def test_an_unexplainable_segment_gets_a_low_fidelity() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(3_000, 3)), columns=["a", "b", "c"])
    labels = rng.integers(0, 3, 3_000)  # segments unrelated to the features
    explanation = explain_segments(frame, labels)
    assert explanation.fidelity < 0.5
    assert explanation.to_dict()["fidelity"] == explanation.fidelity


def test_thresholds_read_like_a_marketer_writes_them() -> None:
    integral = {"frequency": True, "recency_days": False}
    text = describe_bounds(
        {
            "frequency": Bound(low=5.5),
            "recency_days": Bound(high=21.37, missing=False),
            "discount_share": Bound(low=0.25, high=0.5, missing=False),
        },
        {},
        integral,
    )
    assert text == "orders ≥ 6 (or unknown) and recency ≤ 21.4 days and 25% < discount share ≤ 50%"
    between = describe_bounds({"frequency": Bound(2.5, 5.5, False)}, {}, integral)
    assert between == "3 ≤ orders ≤ 5"
    none = describe_bounds(
        {"frequency": Bound(high=0.5, missing=False)}, {}, integral, {"frequency": 0.0}
    )
    assert none == "orders = 0"
    spend = describe_bounds(
        {"monetary": Bound(high=1234.5, missing=False)}, {"monetary": "EUR"}, {}
    )
    assert spend == "spend ≤ 1,234 EUR"


def test_splits_that_change_no_decision_are_left_out_of_rules() -> None:
    import numpy as np
    import pandas as pd

    from audience.segmentation.explain import explain_segments

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"spend": rng.normal(0, 1, 4_000), "visits": rng.normal(0, 1, 4_000)})
    # The segment is "spend > 0", blurred by 10% noise: a depth-3 tree makes splits on both
    # sides that leave every leaf's majority unchanged.
    labels = ((frame["spend"] > 0) ^ (rng.random(4_000) < 0.1)).astype(np.int64).to_numpy()
    explanation = explain_segments(frame, labels, max_depth=3, random_state=0)
    rule = explanation.text(1)
    assert rule.startswith("spend >") and " or " not in rule and "visits" not in rule
