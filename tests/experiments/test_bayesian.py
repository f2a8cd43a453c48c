"""The Bayesian engine against gbstats' EffectBayesianABTest on the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from scipy import stats

from audience.experiments import AnalysisOptions, VariantStats, analyze
from audience.experiments.bayesian import expected_loss
from tests.experiments.helpers import gb_mean, gb_proportion, mean_stats

TIGHT = 1e-9


def _means() -> list[VariantStats]:
    rng = np.random.default_rng(2)
    return [mean_stats("a", rng.normal(10, 4, 700)), mean_stats("b", rng.normal(10.4, 4, 650))]


@pytest.mark.parametrize("difference", ["relative", "absolute"])
@pytest.mark.parametrize("proper", [False, True])
def test_means_agree_with_gbstats(difference: str, proper: bool) -> None:
    c, t = _means()
    options = AnalysisOptions(
        engine="bayesian",
        difference=difference,  # type: ignore[arg-type]
        prior_mean=0.01,
        prior_variance=0.002,
        prior_proper=proper,
    )
    result = analyze("revenue", [c, t], options)
    row = result.variants[1]
    config = EffectBayesianConfig(
        difference_type=difference,
        prior_effect=GaussianPrior(mean=0.01, variance=0.002, proper=proper),
        prior_type="relative",
    )
    gb = EffectBayesianABTest(gb_mean(c), gb_mean(t), config).compute_result()
    assert row.lift == pytest.approx(gb.expected, rel=TIGHT)
    assert [row.ci_low, row.ci_high] == pytest.approx(gb.ci, rel=TIGHT)
    assert row.chance_to_win == pytest.approx(gb.chance_to_win, rel=TIGHT)
    assert row.expected_loss == pytest.approx(gb.risk[1], rel=1e-7)
    assert row.p_value is None
    # The prior is stated.
    stated = "normal on the relative lift, mean 0.01" if proper else "improper (flat)"
    assert any(stated in note for note in result.notes)


def test_a_proper_prior_pulls_the_lift_towards_its_mean() -> None:
    c, t = _means()
    flat = analyze("m", [c, t], AnalysisOptions(engine="bayesian")).variants[1]
    tight = analyze(
        "m",
        [c, t],
        AnalysisOptions(engine="bayesian", prior_proper=True, prior_variance=1e-6),
    ).variants[1]
    assert flat.lift is not None and tight.lift is not None
    assert abs(tight.lift) < abs(flat.lift) / 10


def test_proportions_agree_with_gbstats() -> None:
    c = VariantStats("a", 4000, 400, 400, proportion=True)
    t = VariantStats("b", 4000, 440, 440, proportion=True)
    row = analyze("conversion", [c, t], AnalysisOptions(engine="bayesian")).variants[1]
    gb = EffectBayesianABTest(gb_proportion(c), gb_proportion(t)).compute_result()
    assert row.chance_to_win == pytest.approx(gb.chance_to_win, rel=TIGHT)
    assert [row.ci_low, row.ci_high] == pytest.approx(gb.ci, rel=TIGHT)
    assert row.expected_loss == pytest.approx(gb.risk[1], rel=1e-7)


@pytest.mark.parametrize(("mean", "sd"), [(0.02, 0.01), (-0.03, 0.02), (0.0, 0.5)])
def test_expected_loss_is_the_mean_of_the_negative_part(mean: float, sd: float) -> None:
    draws = stats.norm(mean, sd)
    # E[max(0, -X)] by numerical integration.
    from scipy import integrate

    numeric, _ = integrate.quad(lambda x: -x * draws.pdf(x), -np.inf, 0)
    assert expected_loss(mean, sd) == pytest.approx(numeric, rel=1e-8)
