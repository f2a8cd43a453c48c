"""CUPED: less variance by subtracting what the pre-period already predicted.

Each unit's metric ``y`` becomes ``y - theta * x`` with ``x`` its value over the pre-period
(before exposure, so the treatment cannot have moved it). ``theta`` is the regression slope
``cov(y, x) / var(x)`` over the two variants compared, pooled, as gbstats' ``compute_theta``:
one slope for both arms keeps the difference of adjusted means unbiased. The relative lift
divides by the control's unadjusted mean, as gbstats does.
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
    """Whether the variant carries the pre-period sums CUPED needs (ratios aside)."""
    return v.pre_sum is not None and v.denominator_sum is None


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
