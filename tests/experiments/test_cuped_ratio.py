"""CUPED on a ratio metric: the delta method over four means, checked on the units.

gbstats 0.8 (the version on PyPI) has no ratio CUPED; its repository's
``RegressionAdjustedRatioStatistic`` is the formula. The check here is independent of it:
the delta-method variance of ``R - theta R_pre`` equals the sample variance of each unit's
linearised contribution, computed from the units themselves.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from audience.errors import InputError
from audience.experiments import AnalysisOptions, analyze
from audience.experiments.cuped import ratio_adjusted, ratio_theta
from tests.experiments.helpers import ratio_cuped_stats

TIGHT = 1e-9


def _arm(rng: np.random.Generator, n: int, basket: float) -> tuple[np.ndarray, ...]:
    d_pre = rng.poisson(2.0, n) + 1.0
    m_pre = d_pre * rng.gamma(4.0, 10.0, n)
    d = np.maximum(d_pre + rng.integers(-1, 2, n), 1.0)
    m = 0.7 * m_pre * d / d_pre + d * rng.gamma(4.0, basket / 4, n)
    return m, d, m_pre, d_pre


def _linearised(
    m: np.ndarray, d: np.ndarray, m_pre: np.ndarray, d_pre: np.ndarray, slope: float
) -> np.ndarray:
    ratio, pre_ratio = m.sum() / d.sum(), m_pre.sum() / d_pre.sum()
    return (m - ratio * d) / d.mean() - slope * (m_pre - pre_ratio * d_pre) / d_pre.mean()


def test_theta_and_variance_from_the_units() -> None:
    rng = np.random.default_rng(21)
    units_c, units_t = _arm(rng, 3000, 10.0), _arm(rng, 3100, 11.0)
    c, t = ratio_cuped_stats("c", *units_c), ratio_cuped_stats("t", *units_t)
    slope = ratio_theta(c, t)
    # theta = (cov_c(R, R_pre) + cov_t(R, R_pre)) / (var_c(R_pre) + var_t(R_pre)), on units.
    covariances = variances = 0.0
    for units in (units_c, units_t):
        now = _linearised(*units, slope=0.0)
        before = _linearised(units[2], units[3], units[2], units[3], slope=0.0)
        covariances += np.cov(now, before)[0, 1]
        variances += np.var(before, ddof=1)
    assert slope == pytest.approx(covariances / variances, rel=TIGHT)
    for name, units in (("c", units_c), ("t", units_t)):
        stats = c if name == "c" else t
        estimate = ratio_adjusted(stats, slope)
        m, d, m_pre, d_pre = units
        assert estimate.mean == pytest.approx(
            m.sum() / d.sum() - slope * m_pre.sum() / d_pre.sum(), rel=TIGHT
        )
        assert estimate.unadjusted_mean == pytest.approx(m.sum() / d.sum(), rel=TIGHT)
        assert estimate.variance == pytest.approx(
            np.var(_linearised(*units, slope=slope), ddof=1), rel=1e-8
        )


def test_analysis_reports_the_reduction_and_narrows_the_interval() -> None:
    rng = np.random.default_rng(22)
    c = ratio_cuped_stats("c", *_arm(rng, 3000, 10.0))
    t = ratio_cuped_stats("t", *_arm(rng, 3000, 11.0))
    adjusted = analyze("revenue per order", [c, t], AnalysisOptions(cuped=True))
    plain = analyze("revenue per order", [c, t], AnalysisOptions())
    row, before = adjusted.variants[1], plain.variants[1]
    assert row.ci_low is not None and row.ci_high is not None
    assert before.ci_low is not None and before.ci_high is not None
    assert row.ci_high - row.ci_low < before.ci_high - before.ci_low
    assert row.mean == before.mean  # the observed ratio is reported, not the adjusted one
    assert any(n.startswith("CUPED (t): theta") for n in adjusted.notes)


def test_a_ratio_without_its_pre_period_pairs_is_analysed_without_cuped() -> None:
    rng = np.random.default_rng(23)
    c = ratio_cuped_stats("c", *_arm(rng, 500, 10.0))
    t = ratio_cuped_stats("t", *_arm(rng, 500, 10.0))
    partial = dataclasses.replace(t, pre_ratio_cross_sum=None)
    result = analyze("rpo", [c, partial], AnalysisOptions(cuped=True))
    assert "CUPED: not applied, the variants lack pre-period values" in result.notes


def test_a_pre_period_denominator_of_zero_is_refused() -> None:
    rng = np.random.default_rng(24)
    c = ratio_cuped_stats("c", *_arm(rng, 50, 10.0))
    zero = dataclasses.replace(c, name="t", pre_denominator_sum=0.0)
    with pytest.raises(InputError, match="variant 't': the pre-period denominator sums to 0"):
        analyze("rpo", [c, zero], AnalysisOptions(cuped=True))
