"""Confidence sequences against gbstats' SequentialTwoSidedTTest."""

from __future__ import annotations

import numpy as np
import pytest
from gbstats.frequentist.tests import SequentialConfig, SequentialTwoSidedTTest

from audience.errors import InputError
from audience.experiments import AnalysisOptions, VariantStats, analyze
from tests.experiments.helpers import gb_mean, gb_proportion, mean_stats

TIGHT = 1e-9


@pytest.mark.parametrize("difference", ["relative", "absolute"])
@pytest.mark.parametrize("tuning", [1000.0, 5000.0, 50000.0])
def test_means_agree_with_gbstats(difference: str, tuning: float) -> None:
    rng = np.random.default_rng(4)
    c, t = mean_stats("a", rng.normal(10, 4, 3000)), mean_stats("b", rng.normal(10.3, 4, 3000))
    options = AnalysisOptions(sequential=True, sequential_tuning=tuning, difference=difference)  # type: ignore[arg-type]
    result = analyze("m", [c, t], options)
    row = result.variants[1]
    gb = SequentialTwoSidedTTest(
        gb_mean(c),
        gb_mean(t),
        SequentialConfig(difference_type=difference, sequential_tuning_parameter=tuning),
    ).compute_result()
    assert [row.ci_low, row.ci_high] == pytest.approx(gb.ci, rel=TIGHT)
    assert row.p_value == pytest.approx(gb.p_value, rel=TIGHT)
    assert any("confidence sequences" in note for note in result.notes)


def test_proportions_agree_with_gbstats() -> None:
    c = VariantStats("a", 8000, 800, 800, proportion=True)
    t = VariantStats("b", 8000, 900, 900, proportion=True)
    row = analyze("c", [c, t], AnalysisOptions(sequential=True)).variants[1]
    gb = SequentialTwoSidedTTest(gb_proportion(c), gb_proportion(t)).compute_result()
    assert [row.ci_low, row.ci_high] == pytest.approx(gb.ci, rel=TIGHT)
    assert row.p_value == pytest.approx(gb.p_value, rel=TIGHT)


@pytest.mark.parametrize("shift", [0.0, 0.1, 0.2, 0.3, 0.5])
def test_p_value_below_alpha_exactly_when_the_sequence_excludes_zero(shift: float) -> None:
    rng = np.random.default_rng(8)
    c = mean_stats("a", rng.normal(10, 4, 4000))
    t = mean_stats("b", rng.normal(10 + shift, 4, 4000))
    sequential = analyze("m", [c, t], AnalysisOptions(sequential=True)).variants[1]
    fixed = analyze("m", [c, t], AnalysisOptions()).variants[1]
    assert sequential.p_value is not None and sequential.ci_low is not None
    assert sequential.ci_high is not None
    excludes = sequential.ci_low > 0 or sequential.ci_high < 0
    assert (sequential.p_value < 0.05) == excludes
    # Valid at every look costs width: wider than the fixed-horizon interval.
    assert sequential.ci_high - sequential.ci_low > fixed.ci_high - fixed.ci_low  # type: ignore[operator]


def test_a_tuning_parameter_of_zero_is_refused() -> None:
    c, t = VariantStats("a", 10, 5.0, 4.0), VariantStats("b", 10, 6.0, 5.0)
    with pytest.raises(InputError, match="sequential tuning parameter is 0"):
        analyze("m", [c, t], AnalysisOptions(sequential=True, sequential_tuning=0))
