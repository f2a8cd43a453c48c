"""The Bayesian engine: a gaussian posterior on the lift, as gbstats' ``EffectBayesianABTest``.

The likelihood is the normal approximation of the lift (the estimate and the delta-method
variance the frequentist engine uses). The prior is gaussian on the lift; improper (flat) by
default, so the posterior is the likelihood itself; a proper prior ``N(mean, variance)`` is
combined by precision weighting. A prior stated on the relative lift is rescaled by the
control's mean for the absolute lift (and the converse), as gbstats does.

Chance to win is ``P(lift > 0)``; the expected loss of shipping the treatment is
``E[max(0, -lift)]`` (gbstats' ``risk[1]``), in units of the lift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from audience.experiments.frequentist import Effect


@dataclass(frozen=True)
class Prior:
    """A gaussian prior on the lift; ``proper=False`` means flat (no information)."""

    mean: float = 0.0
    variance: float = 1.0
    proper: bool = False

    def describe(self, difference: str) -> str:
        """The prior in words, for the notes of a result."""
        if not self.proper:
            return f"Bayesian prior: improper (flat) on the {difference} lift"
        return (
            f"Bayesian prior: normal on the {difference} lift, mean {self.mean:g}, "
            f"variance {self.variance:g}"
        )

    def rescaled(self, control_mean: float, relative: bool, prior_relative: bool) -> Prior:
        """The prior on the scale of the lift analysed (relative vs absolute)."""
        if relative == prior_relative:
            return self
        scale = abs(control_mean) if prior_relative else 1 / abs(control_mean)
        return Prior(self.mean * scale, self.variance * scale**2, self.proper)


@dataclass(frozen=True)
class Posterior:
    """The posterior of a lift and what the engine reports from it."""

    mean: float
    sd: float
    ci_low: float
    ci_high: float
    chance_to_win: float
    expected_loss: float


def posterior(e: Effect, prior: Prior, alpha: float) -> Posterior:
    """Combine the lift's likelihood with the prior; chance to win, loss, credible interval."""
    precision = 1 / e.variance + (1 / prior.variance if prior.proper else 0.0)
    if prior.proper:
        mean = (e.lift / e.variance + prior.mean / prior.variance) / precision
    else:
        mean = e.lift
    sd = math.sqrt(1 / precision)
    low, high = stats.norm.ppf([alpha / 2, 1 - alpha / 2], mean, sd)
    return Posterior(
        mean=mean,
        sd=sd,
        ci_low=float(low),
        ci_high=float(high),
        chance_to_win=float(stats.norm.sf(0, mean, sd)),
        expected_loss=expected_loss(mean, sd),
    )


def expected_loss(mean: float, sd: float) -> float:
    """``E[max(0, -lift)]`` for a normal lift: ``sd * pdf(mean/sd) - mean * cdf(-mean/sd)``.

    The closed form of gbstats' ``P(lift < 0) * -E[lift | lift < 0]``, without the truncated
    normal (which loses precision far in the tail).
    """
    z = mean / sd
    return float(sd * stats.norm.pdf(z) - mean * stats.norm.cdf(-z))
