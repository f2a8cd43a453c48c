"""Always-valid inference: asymptotic confidence sequences (Waudby-Smith et al., 2023).

A fixed-horizon test looked at every day rejects a true null far more often than alpha (the
A/A bench in ``bench/experiments.py`` shows 20-30 % over 30 looks). A confidence sequence
holds at every sample size at once, so it can be read as often as one likes. The half-width
is eq. 9 of https://arxiv.org/abs/2103.06476 (v7), as gbstats' ``SequentialTwoSidedTTest``:

    sqrt(s2) * sqrt(2 (N rho^2 + 1) / (N rho)^2 * log(sqrt(N rho^2 + 1) / alpha))

with ``N`` the units in both arms, ``s2 = N * variance of the lift`` and ``rho`` chosen so
that the sequence is tightest at ``tuning`` units (eq. 161). The p-value is 1 / e-value
(eq. 155, as gbstats); it is below alpha exactly when the sequence excludes 0.
"""

from __future__ import annotations

import math

from audience.errors import InputError
from audience.experiments.frequentist import Effect, Interval


def rho(alpha: float, tuning: float) -> float:
    """The mixing parameter that makes the sequence tightest at ``tuning`` units."""
    if tuning <= 0:
        raise InputError(f"the sequential tuning parameter is {tuning:g}; give a positive size")
    log_alpha = -2 * math.log(alpha)
    return math.sqrt((log_alpha + math.log(log_alpha + 1)) / tuning)


def half_width(variance: float, total_n: int, alpha: float, tuning: float) -> float:
    """Half-width of the confidence sequence at ``total_n`` units (both arms)."""
    r = rho(alpha, tuning)
    s2 = variance * total_n
    spread = total_n * r**2 + 1
    return math.sqrt(s2) * math.sqrt(
        2 * spread * math.log(math.sqrt(spread) / alpha) / (total_n * r) ** 2
    )


def p_value(e: Effect, total_n: int, alpha: float, tuning: float) -> float:
    """Always-valid p-value: 1 over the mixture e-value, at most 1."""
    if e.variance <= 0:
        return 1.0 if e.lift == 0 else 0.0
    r2 = rho(alpha, tuning) ** 2
    st2 = e.lift**2 * total_n / e.variance
    spread = total_n * r2 + 1
    log_evalue = r2 * st2 / (2 * spread) - 0.5 * math.log(spread)
    return min(math.exp(-log_evalue), 1.0)


def sequential(e: Effect, total_n: int, alpha: float, tuning: float) -> Interval:
    """The lift's confidence sequence and always-valid p-value at this look."""
    width = half_width(e.variance, total_n, alpha, tuning)
    return Interval(e.lift, e.lift - width, e.lift + width, p_value(e, total_n, alpha, tuning))
