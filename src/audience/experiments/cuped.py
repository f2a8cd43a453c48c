"""CUPED: less variance by subtracting what the pre-period already predicted.

Each unit's metric ``y`` becomes ``y - theta * x`` with ``x`` its value over the pre-period
(before exposure, so the treatment cannot have moved it). ``theta`` is the regression slope
``cov(y, x) / var(x)`` over the two variants compared, pooled, as gbstats' ``compute_theta``:
one slope for both arms keeps the difference of adjusted means unbiased. The relative lift
divides by the control's unadjusted mean, as gbstats does.

A ratio metric (revenue per order) is adjusted by its pre-period ratio, as gbstats'
``RegressionAdjustedRatioStatistic``: ``R - theta * R_pre``, whose variance is the delta
method over the four means (numerator and denominator, now and before) with their 4 x 4
covariance matrix, and ``theta = sum cov(R, R_pre) / sum var(R_pre)`` over the two arms.
"""

from __future__ import annotations

from dataclasses import dataclass

from audience.experiments.estimates import Estimate, covariance, sample_variance
from audience.experiments.records import VariantStats


@dataclass(frozen=True)
class _Moments:
    n: int
    post_sum: float
    post_squares: float
    pre_sum: float
    pre_squares: float
    cross: float
    proportion: bool

    def post_variance(self) -> float:
        return _variance(self.n, self.post_sum, self.post_squares, self.proportion)

    def pre_variance(self) -> float:
        return _variance(self.n, self.pre_sum, self.pre_squares, self.proportion)

    def covariance(self) -> float:
        return covariance(self.n, self.post_sum, self.pre_sum, self.cross)


def _variance(n: int, total: float, squares: float, proportion: bool) -> float:
    if proportion:
        p = total / n
        return p * (1 - p)
    return sample_variance(n, total, squares)


def has_covariate(v: VariantStats) -> bool:
    """Whether the variant carries the pre-period sums CUPED needs."""
    if v.denominator_sum is not None:
        return None not in _ratio_sums(v)
    return v.pre_sum is not None


def _moments(v: VariantStats) -> _Moments:
    assert v.pre_sum is not None
    assert v.pre_sum_squares is not None
    assert v.pre_cross_sum is not None
    return _Moments(
        v.n, v.sum, v.sum_squares, v.pre_sum, v.pre_sum_squares, v.pre_cross_sum, v.proportion
    )


def theta(control: VariantStats, treatment: VariantStats) -> float:
    """The pooled slope of the metric on its pre-period value; 0 when either has no spread."""
    a, b = _moments(control), _moments(treatment)
    joint = _Moments(
        a.n + b.n,
        a.post_sum + b.post_sum,
        a.post_squares + b.post_squares,
        a.pre_sum + b.pre_sum,
        a.pre_squares + b.pre_squares,
        a.cross + b.cross,
        a.proportion,
    )
    pre_variance = joint.pre_variance()
    if pre_variance <= 0 or joint.post_variance() <= 0:
        return 0.0
    return joint.covariance() / pre_variance


def adjusted(v: VariantStats, slope: float) -> Estimate:
    """The variant's CUPED mean and unit variance for the slope ``theta``."""
    m = _moments(v)
    post_mean = m.post_sum / m.n
    variance = m.post_variance() + slope**2 * m.pre_variance() - 2 * slope * m.covariance()
    return Estimate(m.n, post_mean - slope * m.pre_sum / m.n, max(variance, 0.0), post_mean)


def _ratio_sums(v: VariantStats) -> tuple[float | None, ...]:
    return (
        v.denominator_sum,
        v.denominator_sum_squares,
        v.cross_sum,
        v.pre_sum,
        v.pre_sum_squares,
        v.pre_cross_sum,
        v.pre_denominator_sum,
        v.pre_denominator_sum_squares,
        v.pre_denominator_cross_sum,
        v.pre_ratio_cross_sum,
        v.numerator_pre_denominator_sum,
        v.denominator_pre_numerator_sum,
    )


@dataclass(frozen=True)
class _RatioMoments:
    """Means of (numerator, denominator, pre numerator, pre denominator) and their
    covariance matrix, per unit."""

    n: int
    means: tuple[float, float, float, float]
    cov: tuple[tuple[float, float, float, float], ...]

    def gradient(self, slope: float) -> tuple[float, float, float, float]:
        # d/d(means) of m/d - theta * m_pre/d_pre.
        m, d, m_pre, d_pre = self.means
        return (1 / d, -m / d**2, -slope / d_pre, slope * m_pre / d_pre**2)

    def form(self, left: tuple[float, ...], right: tuple[float, ...]) -> float:
        return sum(left[i] * self.cov[i][j] * right[j] for i in range(4) for j in range(4))


def _ratio_moments(v: VariantStats) -> _RatioMoments:
    sums = _ratio_sums(v)
    if None in sums:
        raise ValueError("ratio CUPED without its pre-period sums")  # has_covariate guards
    (d, d2, md, m_pre, m_pre2, m_mpre, d_pre, d_pre2, d_dpre, mpre_dpre, m_dpre, d_mpre) = [
        float(x) for x in sums if x is not None
    ]
    n = v.n
    totals = (v.sum, d, m_pre, d_pre)
    squares = (v.sum_squares, d2, m_pre2, d_pre2)
    # Sums of products of each pair, indexed (i, j) with i < j.
    products = {
        (0, 1): md,
        (0, 2): m_mpre,
        (0, 3): m_dpre,
        (1, 2): d_mpre,
        (1, 3): d_dpre,
        (2, 3): mpre_dpre,
    }
    cov = [[0.0] * 4 for _ in range(4)]
    for i in range(4):
        cov[i][i] = sample_variance(n, totals[i], squares[i])
        for j in range(i + 1, 4):
            cov[i][j] = cov[j][i] = covariance(n, totals[i], totals[j], products[(i, j)])
    means = (totals[0] / n, totals[1] / n, totals[2] / n, totals[3] / n)
    return _RatioMoments(n, means, tuple((r[0], r[1], r[2], r[3]) for r in cov))


def ratio_theta(control: VariantStats, treatment: VariantStats) -> float:
    """The slope of the ratio on the pre-period ratio, summed over both arms (gbstats)."""
    covariances = 0.0
    variances = 0.0
    for v in (control, treatment):
        m = _ratio_moments(v)
        now = (*m.gradient(0.0)[:2], 0.0, 0.0)
        before = (0.0, 0.0, *m.gradient(-1.0)[2:])  # the gradient of +R_pre
        covariances += m.form(now, before)
        variances += m.form(before, before)
    if variances <= 0:
        return 0.0
    return covariances / variances


def ratio_adjusted(v: VariantStats, slope: float) -> Estimate:
    """The variant's CUPED ratio and the delta-method variance of one unit's share."""
    m = _ratio_moments(v)
    numerator, denominator, pre_numerator, pre_denominator = m.means
    ratio = numerator / denominator
    gradient = m.gradient(slope)
    variance = m.form(gradient, gradient)
    return Estimate(m.n, ratio - slope * pre_numerator / pre_denominator, max(variance, 0.0), ratio)
