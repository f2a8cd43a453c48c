"""How many units per arm an experiment needs, and the power a given size has.

Both use the normal approximation of a two-sided test on two equal arms, with the
standardised effect of statsmodels' ``NormalIndPower``:

- proportions: Cohen's h, ``2 asin(sqrt(p2)) - 2 asin(sqrt(p1))``
  (``statsmodels.stats.proportion.proportion_effectsize``), with ``p1`` the baseline rate
  and ``p2`` the rate after the minimum detectable effect;
- means: the difference over the standard deviation of one unit's value (Cohen's d).

The power counts both tails, as statsmodels does, so the sizes agree to the unit.
``mde`` is absolute (``0.01`` = one point of conversion) unless ``relative`` (``0.1`` = +10 %).
"""

from __future__ import annotations

import math

from scipy import optimize, stats

from audience.errors import InputError


def effect_size(
    baseline: float,
    mde: float,
    relative: bool = False,
    proportion: bool = True,
    sd: float | None = None,
) -> float:
    """The standardised effect: Cohen's h for proportions, Cohen's d for means."""
    if not math.isfinite(mde) or mde == 0:
        raise InputError(f"--mde is {mde:g}; give the smallest lift worth detecting, not 0")
    target = baseline * (1 + mde) if relative else baseline + mde
    if relative and baseline == 0:
        raise InputError("a relative --mde needs a baseline other than 0")
    if proportion:
        if not 0 < baseline < 1:
            raise InputError(f"--baseline {baseline:g} is no rate; give one between 0 and 1")
        if not 0 < target < 1:
            raise InputError(
                f"baseline {baseline:g} with mde {mde:g} gives a rate of {target:g}, "
                "outside (0, 1); give a smaller --mde"
            )
        return 2 * math.asin(math.sqrt(target)) - 2 * math.asin(math.sqrt(baseline))
    if sd is None or not sd > 0:
        raise InputError("a mean metric needs its standard deviation (sd > 0) to be sized")
    return (target - baseline) / sd


def _check(alpha: float, power_target: float | None = None) -> None:
    if not 0 < alpha < 1:
        raise InputError(f"--alpha is {alpha:g}; give a level between 0 and 1, e.g. 0.05")
    if power_target is not None and not alpha < power_target < 1:
        raise InputError(
            f"--power is {power_target:g}; give a probability between alpha and 1, e.g. 0.8"
        )


def _power(effect: float, n: float, alpha: float) -> float:
    # Two equal arms of n: the difference's standard error is sqrt(2 / n) in effect units.
    critical = stats.norm.isf(alpha / 2)
    shift = abs(effect) * math.sqrt(n / 2)
    return float(stats.norm.sf(critical - shift) + stats.norm.cdf(-critical - shift))


def power(
    n: int,
    baseline: float,
    mde: float,
    relative: bool = False,
    alpha: float = 0.05,
    proportion: bool = True,
    sd: float | None = None,
) -> float:
    """Probability that a two-sided test at ``alpha`` detects ``mde`` with ``n`` per arm."""
    if n < 2:
        raise InputError(f"--n is {n}; give at least 2 units per arm")
    _check(alpha)
    return _power(effect_size(baseline, mde, relative, proportion, sd), n, alpha)


def required_n(
    baseline: float,
    mde: float,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    proportion: bool = True,
    sd: float | None = None,
) -> float:
    """Units per arm (not rounded) at which the test reaches ``power``."""
    _check(alpha, power)
    effect = effect_size(baseline, mde, relative, proportion, sd)
    # One tail alone gives a first guess; both tails make it slightly smaller.
    guess = 2 * ((stats.norm.isf(alpha / 2) + stats.norm.ppf(power)) / abs(effect)) ** 2
    low, high = guess / 2, guess * 2 + 2
    return float(
        optimize.brentq(
            lambda n: _power(effect, n, alpha) - power, low, high, xtol=1e-12, rtol=1e-15
        )
    )


def sample_size(
    baseline: float,
    mde: float,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    proportion: bool = True,
    sd: float | None = None,
) -> int:
    """Units per arm, rounded up, to detect ``mde`` with probability ``power``."""
    return math.ceil(required_n(baseline, mde, relative, alpha, power, proportion, sd) - 1e-9)
