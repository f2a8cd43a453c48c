"""The fixed-horizon tests: Welch's t on means and ratios, the two-proportion z test.

The lift of a treatment over the control is absolute (``mean_t - mean_c``) or relative
(``mean_t / mean_c - 1``); the variance of the relative lift comes from the delta method,
``var_t / (mu_c^2 n_t) + var_c mu_t^2 / (mu_c^4 n_c)``, the formula of gbstats'
``frequentist_variance``. Means use Student's t with Welch-Satterthwaite degrees of freedom
(gbstats' ``TwoSidedTTest``; ``scipy.stats.ttest_ind_from_stats(equal_var=False)`` gives the
same p-value for the absolute lift). Proportions use the normal distribution: the p-value is
the pooled two-proportion z test (``statsmodels`` ``proportions_ztest``), the interval the
unpooled (Wald) one around the absolute or relative lift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from audience.errors import InputError
from audience.experiments.estimates import Estimate


@dataclass(frozen=True)
class Effect:
    """A treatment's lift over the control, with its variance and degrees of freedom."""

    lift: float
    variance: float
    dof: float
    """Welch-Satterthwaite degrees of freedom; ``inf`` for the normal distribution."""


@dataclass(frozen=True)
class Interval:
    """A lift with its interval and p-value."""

    lift: float
    ci_low: float
    ci_high: float
    p_value: float


def effect(control: Estimate, treatment: Estimate, relative: bool, normal: bool) -> Effect:
    """The lift and its variance (delta method when relative)."""
    if relative and control.unadjusted_mean == 0:
        raise InputError(
            "the control's mean is 0, so a relative lift is undefined; use --difference absolute"
        )
    a, b = control, treatment
    if relative:
        lift = (b.mean - a.mean) / a.unadjusted_mean
        variance = b.variance / (a.unadjusted_mean**2 * b.n) + a.variance * (
            b.unadjusted_mean**2
        ) / (a.unadjusted_mean**4 * a.n)
    else:
        lift = b.mean - a.mean
        variance = b.variance / b.n + a.variance / a.n
    return Effect(lift, variance, math.inf if normal else welch_dof(a, b))


def welch_dof(a: Estimate, b: Estimate) -> float:
    """Welch-Satterthwaite degrees of freedom of the difference of two means."""
    va, vb = a.variance / a.n, b.variance / b.n
    denominator = va**2 / (a.n - 1) + vb**2 / (b.n - 1)
    if denominator == 0:
        return math.inf
    return float((va + vb) ** 2 / denominator)


def quantile(level: float, dof: float) -> float:
    """The ``level`` quantile of Student's t (normal when ``dof`` is infinite)."""
    if math.isinf(dof):
        return float(stats.norm.ppf(level))
    return float(stats.t.ppf(level, dof))


def two_sided_p(statistic: float, dof: float) -> float:
    """Two-sided p-value of a t (or z when ``dof`` is infinite) statistic."""
    if math.isinf(dof):
        return float(2 * stats.norm.sf(abs(statistic)))
    return float(2 * stats.t.sf(abs(statistic), dof))


def fixed_horizon(e: Effect, alpha: float) -> Interval:
    """Welch t (or z) interval and p-value of the lift, as gbstats' ``TwoSidedTTest``."""
    sd = math.sqrt(e.variance)
    if sd == 0:
        return Interval(e.lift, e.lift, e.lift, 1.0 if e.lift == 0 else 0.0)
    width = quantile(1 - alpha / 2, e.dof) * sd
    return Interval(e.lift, e.lift - width, e.lift + width, two_sided_p(e.lift / sd, e.dof))


def pooled_proportion_p(control: Estimate, treatment: Estimate) -> float:
    """p-value of the two-proportion z test with the pooled rate under the null."""
    n = control.n + treatment.n
    pooled = (control.mean * control.n + treatment.mean * treatment.n) / n
    variance = pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n)
    difference = treatment.mean - control.mean
    if variance <= 0:
        return 1.0 if difference == 0 else 0.0
    return two_sided_p(difference / math.sqrt(variance), math.inf)
