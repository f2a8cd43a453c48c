"""The fixed-horizon engine against scipy, statsmodels and gbstats on the same numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from audience.errors import InputError
from audience.experiments import AnalysisOptions, VariantStats, analyze
from tests.experiments.helpers import (
    cuped_stats,
    gb_cuped,
    gb_mean,
    gb_proportion,
    gb_ratio,
    mean_stats,
    ratio_stats,
)

TIGHT = 1e-9


def _means(seed: int = 1) -> list[VariantStats]:
    rng = np.random.default_rng(seed)
    control = rng.gamma(2.0, 10.0, size=800)
    treatment = rng.gamma(2.0, 11.0, size=900)
    return [mean_stats("control", control), mean_stats("treatment", treatment)]


def _sd(v: VariantStats) -> float:
    return math.sqrt((v.sum_squares - v.sum**2 / v.n) / (v.n - 1))


def test_absolute_lift_of_means_is_welch_t_of_scipy() -> None:
    c, t = _means()
    result = analyze("revenue", [c, t], AnalysisOptions(difference="absolute"))
    row = result.variants[1]
    expected = stats.ttest_ind_from_stats(
        t.sum / t.n, _sd(t), t.n, c.sum / c.n, _sd(c), c.n, equal_var=False
    )
    assert row.lift == pytest.approx(t.sum / t.n - c.sum / c.n, rel=TIGHT)
    assert row.p_value == pytest.approx(expected.pvalue, rel=TIGHT)
    # The interval is the same t with Welch's degrees of freedom.
    se = math.sqrt(_sd(t) ** 2 / t.n + _sd(c) ** 2 / c.n)
    dof = (se**2) ** 2 / (
        (_sd(t) ** 2 / t.n) ** 2 / (t.n - 1) + (_sd(c) ** 2 / c.n) ** 2 / (c.n - 1)
    )
    width = stats.t.ppf(0.975, dof) * se
    assert row.ci_low == pytest.approx(row.lift - width, rel=TIGHT)
    assert row.ci_high == pytest.approx(row.lift + width, rel=TIGHT)


@pytest.mark.parametrize("difference", ["relative", "absolute"])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_means_agree_with_gbstats(difference: str, alpha: float) -> None:
    c, t = _means(seed=7)
    options = AnalysisOptions(difference=difference, alpha=alpha)  # type: ignore[arg-type]
    row = analyze("revenue", [c, t], options).variants[1]
    gb = TwoSidedTTest(
        gb_mean(c), gb_mean(t), FrequentistConfig(alpha=alpha, difference_type=difference)
    ).compute_result()
    assert row.lift == pytest.approx(gb.expected, rel=TIGHT)
    assert [row.ci_low, row.ci_high] == pytest.approx(gb.ci, rel=TIGHT)
    assert row.p_value == pytest.approx(gb.p_value, rel=1e-7)


def test_proportions_p_value_is_the_pooled_z_test_of_statsmodels() -> None:
    c = VariantStats("a", 5000, 500, 500, proportion=True)
    t = VariantStats("b", 5100, 570, 570, proportion=True)
    row = analyze("conversion", [c, t], AnalysisOptions(difference="absolute")).variants[1]
    _, p = proportions_ztest([570, 500], [5100, 5000])
    assert row.p_value == pytest.approx(p, rel=TIGHT)
    low, high = confint_proportions_2indep(570, 5100, 500, 5000, method="wald", compare="diff")
    assert [row.ci_low, row.ci_high] == pytest.approx([low, high], rel=TIGHT)
    # The relative lift tests the same null hypothesis: same p-value.
    relative = analyze("conversion", [c, t], AnalysisOptions()).variants[1]
    assert relative.p_value == pytest.approx(p, rel=TIGHT)
    assert relative.lift == pytest.approx((570 / 5100) / (500 / 5000) - 1, rel=TIGHT)


def test_proportions_interval_is_gbstats_up_to_t_versus_z() -> None:
    c = VariantStats("a", 20000, 2000, 2000, proportion=True)
    t = VariantStats("b", 20000, 2150, 2150, proportion=True)
    row = analyze("conversion", [c, t], AnalysisOptions()).variants[1]
    gb = TwoSidedTTest(gb_proportion(c), gb_proportion(t)).compute_result()
    assert row.lift == pytest.approx(gb.expected, rel=TIGHT)
    # gbstats uses Student's t with ~40,000 degrees of freedom, the z test the normal.
    assert [row.ci_low, row.ci_high] == pytest.approx(gb.ci, rel=1e-3)


@pytest.mark.parametrize("difference", ["relative", "absolute"])
def test_ratio_metric_by_the_delta_method_agrees_with_gbstats(difference: str) -> None:
    rng = np.random.default_rng(3)
    orders_c = rng.poisson(2.0, 3000) + 1
    orders_t = rng.poisson(2.2, 3000) + 1
    revenue_c = orders_c * rng.gamma(3.0, 10.0, 3000)
    revenue_t = orders_t * rng.gamma(3.0, 10.5, 3000)
    c, t = ratio_stats("c", revenue_c, orders_c), ratio_stats("t", revenue_t, orders_t)
    result = analyze("revenue per order", [c, t], AnalysisOptions(difference=difference))  # type: ignore[arg-type]
    row = result.variants[1]
    gb = TwoSidedTTest(
        gb_ratio(c), gb_ratio(t), FrequentistConfig(difference_type=difference)
    ).compute_result()
    assert result.variants[0].mean == pytest.approx(revenue_c.sum() / orders_c.sum(), rel=TIGHT)
    assert row.lift == pytest.approx(gb.expected, rel=TIGHT)
    assert [row.ci_low, row.ci_high] == pytest.approx(gb.ci, rel=TIGHT)
    assert row.p_value == pytest.approx(gb.p_value, rel=1e-7)
    assert "ratio (delta method)" in result.notes[0]


@pytest.mark.parametrize("difference", ["relative", "absolute"])
def test_cuped_agrees_with_gbstats_and_narrows_the_interval(difference: str) -> None:
    rng = np.random.default_rng(11)
    pre_c, pre_t = rng.gamma(2.0, 10.0, 2000), rng.gamma(2.0, 10.0, 2100)
    post_c = 0.8 * pre_c + rng.normal(5, 5, 2000)
    post_t = 0.8 * pre_t + rng.normal(6, 5, 2100)
    c, t = cuped_stats("c", post_c, pre_c), cuped_stats("t", post_t, pre_t)
    options = AnalysisOptions(difference=difference, cuped=True)  # type: ignore[arg-type]
    result = analyze("revenue", [c, t], options)
    row = result.variants[1]
    gb = TwoSidedTTest(
        gb_cuped(c), gb_cuped(t), FrequentistConfig(difference_type=difference)
    ).compute_result()
    assert row.lift == pytest.approx(gb.expected, rel=TIGHT)
    assert [row.ci_low, row.ci_high] == pytest.approx(gb.ci, rel=TIGHT)
    assert row.p_value == pytest.approx(gb.p_value, rel=1e-6, abs=1e-300)
    plain = analyze("revenue", [c, t], AnalysisOptions(difference=difference)).variants[1]  # type: ignore[arg-type]
    assert row.ci_high - row.ci_low < 0.6 * (plain.ci_high - plain.ci_low)  # type: ignore[operator]
    assert any(
        note.startswith("CUPED (t): theta") and "reduced by" in note for note in result.notes
    )
    # The means reported stay the observed (unadjusted) ones.
    assert row.mean == pytest.approx(post_t.mean(), rel=TIGHT)


def test_cuped_without_pre_period_values_says_so() -> None:
    result = analyze("revenue", _means(), AnalysisOptions(cuped=True))
    assert "CUPED: not applied, the variants lack pre-period values" in result.notes


def test_several_treatments_get_holm_adjusted_p_values() -> None:
    rng = np.random.default_rng(5)
    variants = [mean_stats(f"v{i}", rng.normal(10 + 0.3 * i, 3, 500)) for i in range(4)]
    result = analyze("m", variants, AnalysisOptions(difference="absolute"))
    raw = [row.p_value for row in result.variants[1:]]
    expected = multipletests(raw, method="holm")[1]
    assert [row.adjusted_p_value for row in result.variants[1:]] == pytest.approx(
        list(expected), rel=TIGHT
    )
    assert result.variants[0].p_value is None
    assert "p-values adjusted across 3 treatments (Holm)" in result.notes


def test_srm_is_the_chi_square_of_scipy_and_flags_below_the_threshold() -> None:
    c = VariantStats("a", 5000, 500, 500, proportion=True)
    t = VariantStats("b", 5400, 560, 560, proportion=True)
    result = analyze("conversion", [c, t], AnalysisOptions())
    assert result.srm_p_value == pytest.approx(stats.chisquare([5000, 5400]).pvalue, rel=TIGHT)
    assert result.srm_flagged
    assert any(note.startswith("sample ratio mismatch") for note in result.notes)
    weighted = analyze("conversion", [c, t], AnalysisOptions(expected_weights=(48, 52)))
    expected = stats.chisquare([5000, 5400], [10400 * 0.48, 10400 * 0.52]).pvalue
    assert weighted.srm_p_value == pytest.approx(expected, rel=TIGHT)
    assert not weighted.srm_flagged
    lenient = analyze("conversion", [c, t], AnalysisOptions(srm_threshold=1e-6))
    assert not lenient.srm_flagged


def _bad(variants: list[VariantStats], message: str, **options: object) -> None:
    with pytest.raises(InputError, match=message):
        analyze("m", variants, AnalysisOptions(**options))  # type: ignore[arg-type]


GOOD = VariantStats("control", 100, 50.0, 40.0)


def test_bad_input_is_refused_naming_the_variant() -> None:
    _bad([GOOD, VariantStats("b", 1, 1.0, 1.0)], r"variant 'b': n is 1; .*n >= 2")
    _bad([GOOD, VariantStats("b", 100, 5.0, -1.0)], r"variant 'b': sum_squares is -1; .*negative")
    _bad(
        [GOOD, VariantStats("b", 100, 50.0, 20.0)],
        r"variant 'b': sum_squares = 20 is too small for sum = 50 over n = 100",
    )
    _bad(
        [
            VariantStats("a", 100, 12, 12, proportion=True),
            VariantStats("b", 100, 120, 120, proportion=True),
        ],
        r"variant 'b': 120 conversions out of n = 100",
    )
    _bad([GOOD], r"at least 2 variants .* got 1")
    _bad([GOOD, GOOD], r"variant 'control' appears twice")
    _bad(
        [GOOD, VariantStats("b", 100, 5, 5, proportion=True)],
        "variants mix proportions and means",
    )
    _bad(
        [VariantStats("c", 100, 0.0, 0.0), GOOD],
        r"variant 'c' \(control\): the mean is 0.*--difference absolute",
    )
    _bad([GOOD, GOOD], "alpha is 1.5", alpha=1.5)
    _bad([GOOD, VariantStats("b", 100, float("nan"), 1.0)], r"variant 'b': sum is nan")


def test_a_variance_of_zero_off_by_rounding_is_accepted() -> None:
    # 100 units of 0.1: sum_squares = 1.0 exactly in theory, 0.9999999999999 once rounded.
    constant = VariantStats("b", 100, 10.0, 0.9999999999999)
    result = analyze("m", [GOOD, constant], AnalysisOptions())
    assert result.variants[1].mean == pytest.approx(0.1)
    both_constant = analyze(
        "m",
        [VariantStats("a", 10, 10.0, 10.0), VariantStats("b", 10, 20.0, 40.0)],
        AnalysisOptions(),
    )
    assert both_constant.variants[1].p_value is None
    assert "b: no variance in either arm, nothing to test" in both_constant.notes


def test_cuped_on_a_proportion_agrees_with_gbstats() -> None:
    from gbstats.models.statistics import ProportionStatistic, RegressionAdjustedStatistic

    rng = np.random.default_rng(12)
    stats_ = []
    for name, n, lift in (("c", 4000, 0.0), ("t", 4000, 0.03)):
        before = rng.random(n) < 0.2
        after = rng.random(n) < np.where(before, 0.5, 0.1) + lift
        stats_.append(
            VariantStats(
                name,
                n,
                float(after.sum()),
                float(after.sum()),
                proportion=True,
                pre_sum=float(before.sum()),
                pre_sum_squares=float(before.sum()),
                pre_cross_sum=float((after & before).sum()),
            )
        )

    def gb(v: VariantStats) -> RegressionAdjustedStatistic:
        assert v.pre_sum is not None
        assert v.pre_cross_sum is not None
        return RegressionAdjustedStatistic(
            n=v.n,
            post_statistic=ProportionStatistic(n=v.n, sum=v.sum),
            pre_statistic=ProportionStatistic(n=v.n, sum=v.pre_sum),
            post_pre_sum_of_products=v.pre_cross_sum,
            theta=0,
        )

    row = analyze("conversion", stats_, AnalysisOptions(cuped=True)).variants[1]
    expected = TwoSidedTTest(gb(stats_[0]), gb(stats_[1])).compute_result()
    assert row.lift == pytest.approx(expected.expected, rel=TIGHT)
    # The normal (z) interval against gbstats' t with ~8,000 degrees of freedom.
    assert [row.ci_low, row.ci_high] == pytest.approx(expected.ci, rel=1e-3)
    assert row.p_value == pytest.approx(expected.p_value, rel=1e-2)
