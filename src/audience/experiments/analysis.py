"""The analysis engine: one metric's variants in, each treatment against the control out.

:func:`analyze` is all ``experiment analyze`` and ``experiment analyze-summary`` call: it
checks the sums, tests the sample ratio, applies CUPED when asked and possible, and runs the
frequentist (fixed-horizon or sequential) or the Bayesian engine on each treatment. With more
than one treatment the p-values are adjusted across them. :func:`adjust` adjusts a whole
family (one result per segment or intersection) together, since that is the family a reader
scans for the smallest p-value.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from audience.errors import InputError
from audience.experiments import cuped
from audience.experiments.bayesian import Prior, posterior
from audience.experiments.corrections import CORRECTIONS, adjusted_p_values
from audience.experiments.estimates import Estimate, check_variants, estimate
from audience.experiments.frequentist import (
    Effect,
    Interval,
    effect,
    fixed_horizon,
    pooled_proportion_p,
)
from audience.experiments.records import (
    AnalysisOptions,
    AnalysisResult,
    Correction,
    VariantResult,
    VariantStats,
)
from audience.experiments.sequential import sequential
from audience.experiments.srm import srm_p_value

_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no correction"}


def analyze(
    metric: str,
    variants: Sequence[VariantStats],
    options: AnalysisOptions,
    group: str | None = None,
) -> AnalysisResult:
    """Each variant after the first (the control) against the control, on one metric."""
    check_options(options)
    check_variants(variants)
    notes: list[str] = []
    srm = srm_p_value([v.n for v in variants], options.expected_weights)
    flagged = srm < options.srm_threshold
    if flagged:
        notes.append(
            f"sample ratio mismatch: p = {srm:.2g} < {options.srm_threshold:g}; the split "
            "is not the one intended, so check assignment before trusting any lift"
        )
    control = variants[0]
    control_estimate = estimate(control)
    use_cuped = options.cuped and all(cuped.has_covariate(v) for v in variants)
    if options.cuped and not use_cuped:
        notes.append("CUPED: not applied, the variants lack pre-period values")
    notes.append(_method(control, options))
    rows = [VariantResult(control.name, control.n, control_estimate.mean)]
    for treatment in variants[1:]:
        a, b = control_estimate, estimate(treatment)
        if use_cuped:
            plain = _effect(a, b, control, options)
            if control.denominator_sum is not None:
                slope = cuped.ratio_theta(control, treatment)
                a = cuped.ratio_adjusted(control, slope)
                b = cuped.ratio_adjusted(treatment, slope)
            else:
                slope = cuped.theta(control, treatment)
                a, b = cuped.adjusted(control, slope), cuped.adjusted(treatment, slope)
            lift = _effect(a, b, control, options)
            reduction = 1 - lift.variance / plain.variance if plain.variance > 0 else 0.0
            notes.append(
                f"CUPED ({treatment.name}): theta {slope:.4g}, variance of the lift "
                f"reduced by {reduction:.0%}"
            )
        else:
            lift = _effect(a, b, control, options)
        rows.append(_row(treatment, estimate(treatment).mean, a, b, lift, options, notes))
    result = AnalysisResult(
        metric=metric,
        engine=options.engine,
        difference=options.difference,
        variants=tuple(rows),
        srm_p_value=srm,
        srm_flagged=flagged,
        group=group,
        notes=tuple(notes),
    )
    treatments = sum(1 for row in rows if row.p_value is not None)
    if treatments > 1 and options.correction != "none":
        notes.append(
            f"p-values adjusted across {treatments} treatments ({_NAMES[options.correction]})"
        )
        result = dataclasses.replace(result, notes=tuple(notes))
    return adjust([result], options.correction, note=False)[0]


def check_options(options: AnalysisOptions) -> None:
    """Refuse options no analysis can run with."""
    if options.engine not in ("frequentist", "bayesian"):
        raise InputError(f"engine {options.engine!r} is not one of frequentist, bayesian")
    if options.difference not in ("relative", "absolute"):
        raise InputError(f"difference {options.difference!r} is not one of relative, absolute")
    if options.correction not in CORRECTIONS:
        raise InputError(
            f"correction {options.correction!r} is not one of {', '.join(CORRECTIONS)}"
        )
    if not 0 < options.alpha < 1:
        raise InputError(f"alpha is {options.alpha:g}; give a level between 0 and 1, e.g. 0.05")
    if not 0 < options.srm_threshold < 1:
        raise InputError(f"the SRM threshold is {options.srm_threshold:g}; give one in (0, 1)")
    if options.sequential_tuning <= 0:
        raise InputError(
            f"the sequential tuning parameter is {options.sequential_tuning:g}; "
            "give the expected total sample size, e.g. 5000"
        )
    if options.prior_proper and options.prior_variance <= 0:
        raise InputError(f"the prior variance is {options.prior_variance:g}; give one > 0")


def _method(control: VariantStats, options: AnalysisOptions) -> str:
    kind = (
        "ratio (delta method)"
        if control.denominator_sum is not None
        else "proportion"
        if control.proportion
        else "mean"
    )
    if options.engine == "bayesian":
        prior = Prior(options.prior_mean, options.prior_variance, options.prior_proper)
        extra = "; --sequential does not apply" if options.sequential else ""
        return f"{kind}; {prior.describe('relative')}{extra}"
    if options.sequential:
        return (
            f"{kind}; sequential: asymptotic confidence sequences (Waudby-Smith), tuned for "
            f"{options.sequential_tuning:g} units, valid at every look"
        )
    if control.proportion:
        return f"{kind}; two-proportion z test (pooled), Wald interval"
    return f"{kind}; Welch t test"


def _effect(a: Estimate, b: Estimate, control: VariantStats, options: AnalysisOptions) -> Effect:
    relative = options.difference == "relative"
    if relative and a.unadjusted_mean == 0:
        raise InputError(
            f"variant {control.name!r} (control): the mean is 0, so a relative lift is "
            "undefined; use --difference absolute"
        )
    return effect(a, b, relative, normal=control.proportion)


def _row(
    treatment: VariantStats,
    mean: float,
    a: Estimate,
    b: Estimate,
    lift: Effect,
    options: AnalysisOptions,
    notes: list[str],
) -> VariantResult:
    if lift.variance <= 0 or not math.isfinite(lift.variance):
        notes.append(f"{treatment.name}: no variance in either arm, nothing to test")
        return VariantResult(treatment.name, treatment.n, mean, lift=lift.lift)
    if options.engine == "bayesian":
        prior = Prior(options.prior_mean, options.prior_variance, options.prior_proper)
        relative = options.difference == "relative"
        post = posterior(lift, prior.rescaled(a.unadjusted_mean, relative, True), options.alpha)
        return VariantResult(
            treatment.name,
            treatment.n,
            mean,
            lift=post.mean,
            ci_low=post.ci_low,
            ci_high=post.ci_high,
            chance_to_win=post.chance_to_win,
            expected_loss=post.expected_loss,
        )
    interval: Interval
    if options.sequential:
        interval = sequential(lift, a.n + b.n, options.alpha, options.sequential_tuning)
    else:
        interval = fixed_horizon(lift, options.alpha)
        if treatment.proportion and not (options.cuped and cuped.has_covariate(treatment)):
            interval = dataclasses.replace(interval, p_value=pooled_proportion_p(a, b))
    return VariantResult(
        treatment.name,
        treatment.n,
        mean,
        lift=interval.lift,
        ci_low=interval.ci_low,
        ci_high=interval.ci_high,
        p_value=interval.p_value,
    )


def adjust(
    results: Sequence[AnalysisResult], correction: Correction, note: bool = True
) -> list[AnalysisResult]:
    """The results with ``adjusted_p_value`` filled across the whole family.

    The family is every treatment of every result (one per segment or intersection): that is
    what a reader compares. Results without p-values (Bayesian) are returned unchanged.
    """
    if correction not in CORRECTIONS:
        raise InputError(f"correction {correction!r} is not one of {', '.join(CORRECTIONS)}")
    places = [
        (i, j)
        for i, result in enumerate(results)
        for j, row in enumerate(result.variants)
        if row.p_value is not None
    ]
    raw = [results[i].variants[j].p_value for i, j in places]
    adjusted = adjusted_p_values([p for p in raw if p is not None], correction)
    rows = [list(result.variants) for result in results]
    for (i, j), value in zip(places, adjusted, strict=True):
        rows[i][j] = dataclasses.replace(rows[i][j], adjusted_p_value=value)
    family = (
        f"p-values adjusted across {len(places)} comparisons in {len(results)} results "
        f"({_NAMES[correction]})"
    )
    return [
        dataclasses.replace(
            result,
            variants=tuple(rows[i]),
            notes=(*result.notes, family) if note and places else result.notes,
        )
        for i, result in enumerate(results)
    ]
