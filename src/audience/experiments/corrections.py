"""Multiple comparisons: Holm (family-wise error) and Benjamini-Hochberg (false discovery).

Per-segment and per-intersection results test many lifts at once; the smallest raw p-value
of twenty segments is below 0.05 by chance alone more often than not. Holm's step-down
controls the chance of any false positive; Benjamini-Hochberg's step-up the expected share
of false positives among the discoveries. Both are those of
``statsmodels.stats.multitest.multipletests`` (``holm``, ``fdr_bh``).
"""

from __future__ import annotations

from collections.abc import Sequence

from audience.errors import InputError
from audience.experiments.records import Correction

CORRECTIONS: tuple[Correction, ...] = ("holm", "bh", "none")


def adjusted_p_values(p_values: Sequence[float], correction: Correction) -> list[float]:
    """The adjusted p-values, in the order given."""
    for p in p_values:
        if not 0 <= p <= 1:
            raise InputError(f"p-value {p} is outside [0, 1]")
    if correction == "holm":
        return holm(p_values)
    if correction == "bh":
        return benjamini_hochberg(p_values)
    if correction == "none":
        return list(p_values)
    raise InputError(f"correction {correction!r} is not one of {', '.join(CORRECTIONS)}")


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down: the k-th smallest times (m - k), made non-decreasing, capped at 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH step-up: the k-th smallest times m / k, made non-decreasing from the top, capped."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m - 1, -1, -1):
        index = order[rank]
        running = min(running, m * p_values[index] / (rank + 1))
        adjusted[index] = running
    return adjusted
