"""Sample ratio mismatch: did assignment deliver the traffic split it intended?

A chi-square goodness-of-fit test of the units per variant against the intended weights
(gbstats' ``check_srm``; ``scipy.stats.chisquare`` gives the same). A tiny p-value (below
0.001 by default, GrowthBook's threshold) means the split is broken: a bug in assignment or
in the metric's join, and no lift can be trusted until it is found.
"""

from __future__ import annotations

from collections.abc import Sequence

from scipy import stats

from audience.errors import InputError


def srm_p_value(counts: Sequence[int], weights: Sequence[float] | None = None) -> float:
    """p-value of the chi-square test of ``counts`` against ``weights`` (equal if None)."""
    if weights is None:
        weights = [1.0] * len(counts)
    if len(weights) != len(counts):
        raise InputError(
            f"{len(weights)} expected weights for {len(counts)} variants; give one per variant"
        )
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise InputError("expected weights must be >= 0 and not all 0")
    total = sum(counts)
    if total == 0:
        return 1.0
    weight_total = sum(weights)
    statistic = 0.0
    cells = 0
    for count, weight in zip(counts, weights, strict=True):
        if weight == 0:
            # A variant meant to get nobody: gbstats leaves it out of the test.
            continue
        expected = weight / weight_total * total
        statistic += (count - expected) ** 2 / expected
        cells += 1
    if cells < 2:
        return 1.0
    return float(stats.chi2.sf(statistic, cells - 1))
