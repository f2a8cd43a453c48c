"""What the analysis engine reads and returns: sufficient statistics per variant, results.

Both faces of an analysis use these records: ``experiment analyze`` computes the sums in the
warehouse (one row per variant, and per segment with ``--by``) and ``experiment
analyze-summary`` reads them from a file another tool exported. The engine never sees a
person, only these sums, which is what lets 10 million exposures be analysed in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from audience.model.variant_result import VariantResult as VariantResult

Engine = Literal["frequentist", "bayesian"]
Correction = Literal["holm", "bh", "none"]
Difference = Literal["relative", "absolute"]


@dataclass(frozen=True)
class VariantStats:
    """Sufficient statistics of one metric in one variant.

    For a proportion metric ``sum`` is the number of conversions and ``sum_squares`` equals
    ``sum`` (a 0/1 value squared is itself). For a ratio metric (revenue per order) the
    numerator uses ``sum``/``sum_squares``, the denominator ``denominator_sum`` and
    ``denominator_sum_squares``, and ``cross_sum`` is the sum of numerator × denominator.
    CUPED needs the pre-period covariate: ``pre_sum``, ``pre_sum_squares`` and
    ``pre_cross_sum`` (sum of metric × pre-period value).

    CUPED on a ratio metric (as gbstats' ``RegressionAdjustedRatioStatistic``) uses the
    pre-period ratio: ``pre_sum``/``pre_sum_squares`` for its numerator,
    ``pre_denominator_sum``/``pre_denominator_sum_squares`` for its denominator, and the
    sums of products of each pair of the four values: ``cross_sum`` (numerator ×
    denominator), ``pre_cross_sum`` (numerator × pre numerator),
    ``pre_denominator_cross_sum`` (denominator × pre denominator),
    ``pre_ratio_cross_sum`` (pre numerator × pre denominator),
    ``numerator_pre_denominator_sum`` (numerator × pre denominator) and
    ``denominator_pre_numerator_sum`` (denominator × pre numerator).
    """

    name: str
    n: int
    sum: float
    sum_squares: float
    proportion: bool = False
    denominator_sum: float | None = None
    denominator_sum_squares: float | None = None
    cross_sum: float | None = None
    pre_sum: float | None = None
    pre_sum_squares: float | None = None
    pre_cross_sum: float | None = None
    pre_denominator_sum: float | None = None
    pre_denominator_sum_squares: float | None = None
    pre_denominator_cross_sum: float | None = None
    pre_ratio_cross_sum: float | None = None
    numerator_pre_denominator_sum: float | None = None
    denominator_pre_numerator_sum: float | None = None


@dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse; every default is the one the CLI documents."""

    engine: Engine = "frequentist"
    difference: Difference = "relative"
    alpha: float = 0.05
    sequential: bool = False
    sequential_tuning: float = 5000.0
    """Waudby-Smith's tuning parameter: the sample size at which the sequence is tightest."""
    cuped: bool = False
    correction: Correction = "holm"
    srm_threshold: float = 0.001
    expected_weights: tuple[float, ...] | None = None
    """Traffic split the assignment intended, control first; ``None`` means equal."""
    prior_mean: float = 0.0
    prior_variance: float = 1.0
    prior_proper: bool = False
    """Bayesian prior on the relative lift; improper (flat) by default, as gbstats."""


@dataclass(frozen=True)
class AnalysisResult:
    """The result of one metric (in one segment or intersection when ``group`` is set)."""

    metric: str
    engine: Engine
    difference: Difference
    variants: tuple[VariantResult, ...]
    srm_p_value: float
    srm_flagged: bool
    group: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    """What the engine decided and why, e.g. 'CUPED: variance reduced by 31 %'."""
