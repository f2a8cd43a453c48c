"""Sufficient statistics from simulated units, and the same numbers as gbstats statistics."""

from __future__ import annotations

import numpy as np

from audience.experiments import VariantStats


def mean_stats(name: str, values: np.ndarray) -> VariantStats:
    return VariantStats(name, len(values), float(values.sum()), float((values**2).sum()))


def cuped_stats(name: str, post: np.ndarray, pre: np.ndarray) -> VariantStats:
    return VariantStats(
        name,
        len(post),
        float(post.sum()),
        float((post**2).sum()),
        pre_sum=float(pre.sum()),
        pre_sum_squares=float((pre**2).sum()),
        pre_cross_sum=float((post * pre).sum()),
    )


def ratio_stats(name: str, m: np.ndarray, d: np.ndarray) -> VariantStats:
    return VariantStats(
        name,
        len(m),
        float(m.sum()),
        float((m**2).sum()),
        denominator_sum=float(d.sum()),
        denominator_sum_squares=float((d**2).sum()),
        cross_sum=float((m * d).sum()),
    )


def gb_mean(v: VariantStats):  # type: ignore[no-untyped-def]
    from gbstats.models.statistics import SampleMeanStatistic

    return SampleMeanStatistic(n=v.n, sum=v.sum, sum_squares=v.sum_squares)


def gb_proportion(v: VariantStats):  # type: ignore[no-untyped-def]
    from gbstats.models.statistics import ProportionStatistic

    return ProportionStatistic(n=v.n, sum=v.sum)


def gb_ratio(v: VariantStats):  # type: ignore[no-untyped-def]
    from gbstats.models.statistics import RatioStatistic, SampleMeanStatistic

    assert v.denominator_sum is not None
    assert v.denominator_sum_squares is not None
    assert v.cross_sum is not None
    return RatioStatistic(
        n=v.n,
        m_statistic=SampleMeanStatistic(n=v.n, sum=v.sum, sum_squares=v.sum_squares),
        d_statistic=SampleMeanStatistic(
            n=v.n, sum=v.denominator_sum, sum_squares=v.denominator_sum_squares
        ),
        m_d_sum_of_products=v.cross_sum,
    )


def gb_cuped(v: VariantStats):  # type: ignore[no-untyped-def]
    from gbstats.models.statistics import RegressionAdjustedStatistic, SampleMeanStatistic

    assert v.pre_sum is not None
    assert v.pre_sum_squares is not None
    assert v.pre_cross_sum is not None
    return RegressionAdjustedStatistic(
        n=v.n,
        post_statistic=SampleMeanStatistic(n=v.n, sum=v.sum, sum_squares=v.sum_squares),
        pre_statistic=SampleMeanStatistic(n=v.n, sum=v.pre_sum, sum_squares=v.pre_sum_squares),
        post_pre_sum_of_products=v.pre_cross_sum,
        theta=0,
    )


def ratio_cuped_stats(
    name: str, m: np.ndarray, d: np.ndarray, m_pre: np.ndarray, d_pre: np.ndarray
) -> VariantStats:
    def dot(x: np.ndarray, y: np.ndarray) -> float:
        return float((x * y).sum())

    return VariantStats(
        name,
        len(m),
        float(m.sum()),
        dot(m, m),
        denominator_sum=float(d.sum()),
        denominator_sum_squares=dot(d, d),
        cross_sum=dot(m, d),
        pre_sum=float(m_pre.sum()),
        pre_sum_squares=dot(m_pre, m_pre),
        pre_cross_sum=dot(m, m_pre),
        pre_denominator_sum=float(d_pre.sum()),
        pre_denominator_sum_squares=dot(d_pre, d_pre),
        pre_denominator_cross_sum=dot(d, d_pre),
        pre_ratio_cross_sum=dot(m_pre, d_pre),
        numerator_pre_denominator_sum=dot(m, d_pre),
        denominator_pre_numerator_sum=dot(d, m_pre),
    )
