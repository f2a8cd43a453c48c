"""From a variant's sufficient statistics to a mean and a variance, after checking them.

Every statistic of the engine starts here: a variant becomes an :class:`Estimate` (its size,
its mean, the variance of one unit's value, and the mean before any CUPED adjustment). The
variances are those of gbstats' ``SampleMeanStatistic`` (sample variance, n - 1),
``ProportionStatistic`` (p(1 - p)) and ``RatioStatistic`` (delta method with the cross sum),
so the two engines agree on the same numbers.

Bad sums are refused here, naming the variant, before any formula divides by them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from audience.errors import InputError
from audience.experiments.records import VariantStats

ROUNDING = 1e-9
"""Relative tolerance on ``n * sum_squares - sum**2``: sums exported with rounding may make a
variance of zero slightly negative, which is no error."""


@dataclass(frozen=True)
class Estimate:
    """One variant's mean and the variance of one unit's value (not of the mean)."""

    n: int
    mean: float
    variance: float
    unadjusted_mean: float


def check_variants(variants: Sequence[VariantStats]) -> None:
    """Refuse what no statistic can be computed from, with the variant and the fix named."""
    if len(variants) < 2:
        raise InputError(
            f"an analysis needs at least 2 variants (a control and a treatment), "
            f"got {len(variants)}; give one row per variant"
        )
    names = [v.name for v in variants]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError(f"variant {duplicates[0]!r} appears twice; give one row per variant")
    kinds = {v.proportion for v in variants}
    if len(kinds) > 1:
        raise InputError("variants mix proportions and means; give the same kind of metric")
    ratios = {v.denominator_sum is not None for v in variants}
    if len(ratios) > 1:
        raise InputError("only some variants have a denominator; a ratio metric needs it in all")
    for variant in variants:
        check_variant(variant)


def check_variant(v: VariantStats) -> None:
    """The checks of one variant (see :func:`check_variants`)."""
    where = f"variant {v.name!r}"
    if v.n <= 1:
        raise InputError(f"{where}: n is {v.n}; a variance needs at least 2 units (n >= 2)")
    for label, value in (("sum", v.sum), ("sum_squares", v.sum_squares)):
        if not math.isfinite(value):
            raise InputError(f"{where}: {label} is {value}; give a finite number")
    if v.proportion:
        if v.sum < 0 or v.sum > v.n:
            raise InputError(
                f"{where}: {v.sum:g} conversions out of n = {v.n}; "
                "conversions must be between 0 and n"
            )
        return
    _check_squares(where, v.n, v.sum, v.sum_squares, "sum", "sum_squares")
    if v.denominator_sum is not None:
        if v.denominator_sum_squares is None or v.cross_sum is None:
            raise InputError(
                f"{where}: a ratio metric needs denominator_sum_squares and cross_sum too"
            )
        _check_squares(
            where,
            v.n,
            v.denominator_sum,
            v.denominator_sum_squares,
            "denominator_sum",
            "denominator_sum_squares",
        )
        if v.denominator_sum == 0:
            raise InputError(f"{where}: the denominator sums to 0; a ratio needs a denominator")
    if v.pre_sum is not None:
        if v.pre_sum_squares is None or v.pre_cross_sum is None:
            raise InputError(f"{where}: CUPED needs pre_sum_squares and pre_cross_sum too")
        _check_squares(where, v.n, v.pre_sum, v.pre_sum_squares, "pre_sum", "pre_sum_squares")
    if v.pre_denominator_sum is not None:
        if v.pre_denominator_sum_squares is not None:
            _check_squares(
                where,
                v.n,
                v.pre_denominator_sum,
                v.pre_denominator_sum_squares,
                "pre_denominator_sum",
                "pre_denominator_sum_squares",
            )
        if v.pre_denominator_sum == 0:
            raise InputError(
                f"{where}: the pre-period denominator sums to 0; CUPED on a ratio needs one"
            )


def _check_squares(where: str, n: int, total: float, squares: float, a: str, b: str) -> None:
    if squares < 0:
        raise InputError(f"{where}: {b} is {squares:g}; a sum of squares cannot be negative")
    # n * sum_squares >= sum**2 (Cauchy-Schwarz): below it the variance would be negative.
    gap = n * squares - total * total
    if gap < -ROUNDING * max(n * squares, total * total, 1.0):
        raise InputError(
            f"{where}: {b} = {squares:g} is too small for {a} = {total:g} over n = {n} "
            f"(the variance would be negative); check that {b} sums the squared values"
        )


def sample_variance(n: int, total: float, squares: float) -> float:
    """Unbiased variance of one unit's value, never below 0 (rounding)."""
    return max((squares - total * total / n) / (n - 1), 0.0)


def covariance(n: int, total_x: float, total_y: float, cross: float) -> float:
    """Unbiased covariance of two values of the same unit."""
    return (cross - total_x * total_y / n) / (n - 1)


def estimate(v: VariantStats) -> Estimate:
    """The mean and unit variance of a checked variant: proportion, mean or ratio."""
    if v.proportion:
        p = v.sum / v.n
        return Estimate(v.n, p, p * (1 - p), p)
    if v.denominator_sum is not None:
        return _ratio(v)
    mean = v.sum / v.n
    return Estimate(v.n, mean, sample_variance(v.n, v.sum, v.sum_squares), mean)


def _ratio(v: VariantStats) -> Estimate:
    assert v.denominator_sum is not None
    assert v.denominator_sum_squares is not None
    assert v.cross_sum is not None
    m_mean = v.sum / v.n
    d_mean = v.denominator_sum / v.n
    m_var = sample_variance(v.n, v.sum, v.sum_squares)
    d_var = sample_variance(v.n, v.denominator_sum, v.denominator_sum_squares)
    cov = covariance(v.n, v.sum, v.denominator_sum, v.cross_sum)
    ratio = m_mean / d_mean
    # Delta method for M/D (gbstats' RatioStatistic): the variance of one unit's share.
    variance = m_var / d_mean**2 - 2 * cov * m_mean / d_mean**3 + m_mean**2 * d_var / d_mean**4
    return Estimate(v.n, ratio, max(variance, 0.0), ratio)
