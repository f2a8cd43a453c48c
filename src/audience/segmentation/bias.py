"""Is the sample, or the data, representative of the people it stands for?

Two questions, two functions, one result type:

* :func:`sample_bias` -- when a run fits on a random sample, is the sample like the customers
  left out? Categorical columns (region, age band) are compared by a chi-square test of
  homogeneity on the sample-versus-rest contingency table, continuous ones (tenure, spend) by
  the two-sample Kolmogorov-Smirnov test. Comparing with the *rest* rather than with everyone
  keeps the two groups independent, as both tests assume.
* :func:`reference_bias` -- does the customer data under-represent a group compared with a
  known population (census shares of age bands or regions, say)? A chi-square goodness-of-fit
  test against the reference shares.

With hundreds of thousands of customers, a test rejects differences too small to matter, so a
difference is *flagged* -- and a warning names the group -- only when the p-value is below
``alpha`` divided by the number of tests run together (Bonferroni) **and** the effect is at
least ``min_effect``: Cramér's V (chi-square of homogeneity), Cohen's w (goodness of fit) or
the KS statistic D (the largest gap between the two cumulative distributions).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

ALPHA = 0.01
MIN_EFFECT = 0.05
MAX_REFERENCE = 100_000
MISSING = "(missing)"
AGE_EDGES = (18, 25, 35, 45, 55, 65)


@dataclass(frozen=True)
class BiasTest:
    """One comparison: the test, its result, and the group that differs most."""

    feature: str
    test: str
    statistic: float
    p_value: float
    effect: float
    flagged: bool
    detail: str

    def to_dict(self) -> dict[str, str | float | bool]:
        return asdict(self)


def sample_bias(
    frame: pd.DataFrame,
    in_sample: NDArray[np.bool_],
    *,
    categorical: Sequence[str] = (),
    continuous: Sequence[str] = (),
    alpha: float = ALPHA,
    min_effect: float = MIN_EFFECT,
) -> list[BiasTest]:
    """Compare the sampled rows of ``frame`` with the others; warn about each flagged column."""
    in_sample = np.asarray(in_sample, dtype=bool)
    if in_sample.all() or not in_sample.any():
        return []
    # The others are a reference: 100,000 of them detect any difference worth a warning,
    # and sorting millions of values per column for the KS test is wasted time.
    others = np.flatnonzero(~in_sample)
    if len(others) > MAX_REFERENCE:
        keep = np.random.default_rng(0).choice(others, MAX_REFERENCE, replace=False)
        rows = np.sort(np.concatenate([np.flatnonzero(in_sample), keep]))
        frame, in_sample = frame.iloc[rows], in_sample[rows]
    level = alpha / max(1, len(categorical) + len(continuous))
    results = [_homogeneity(frame[c], in_sample, level, min_effect) for c in categorical]
    results += [_two_sample_ks(frame[c], in_sample, level, min_effect) for c in continuous]
    _warn(results, "the sample used to fit the segments")
    return results


def reference_bias(
    values: pd.Series,
    reference: Mapping[str, float],
    *,
    alpha: float = ALPHA,
    min_effect: float = MIN_EFFECT,
) -> BiasTest:
    """Test ``values`` (one label per customer) against known population ``reference`` shares.

    Labels absent from ``reference`` and missing values are left out of the test.
    """
    groups = list(reference)
    counts = values.value_counts().reindex(groups, fill_value=0).to_numpy(dtype=np.float64)
    n = counts.sum()
    expected_share = np.asarray([reference[g] for g in groups], dtype=np.float64)
    expected_share = expected_share / expected_share.sum()
    name = str(values.name)
    if n == 0 or len(groups) < 2:
        return BiasTest(name, "chi-square goodness of fit", 0.0, 1.0, 0.0, False, "no data")
    statistic, p_value = stats.chisquare(counts, n * expected_share)
    effect = float(np.sqrt(statistic / n))  # Cohen's w
    gap = counts / n - expected_share
    worst = int(np.argmin(gap))
    detail = (
        f"{name} '{groups[worst]}': {counts[worst] / n:.1%} of customers vs "
        f"{expected_share[worst]:.1%} in the reference"
    )
    result = BiasTest(
        name,
        "chi-square goodness of fit",
        float(statistic),
        float(p_value),
        effect,
        bool(p_value < alpha and effect >= min_effect),
        detail,
    )
    _warn([result], "the customer data")
    return result


def age_band(birth_date: pd.Series, as_of: date, edges: Sequence[int] = AGE_EDGES) -> pd.Series:
    """Age bands ('18-24', ..., '65+', 'under 18') as of a date; missing stays missing."""
    born = pd.to_datetime(birth_date, errors="coerce")
    stamp = pd.Timestamp(as_of)
    before_birthday = (born.dt.month > stamp.month) | (
        (born.dt.month == stamp.month) & (born.dt.day > stamp.day)
    )
    age = stamp.year - born.dt.year - before_birthday.astype("Int64")
    labels = [f"under {edges[0]}"]
    labels += [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(edges)]
    labels += [f"{edges[-1]}+"]
    bins = [-np.inf, *edges, np.inf]
    banded = pd.cut(age.astype("float64"), bins=bins, labels=labels, right=False)
    return pd.Series(banded, index=birth_date.index, name="age_band")


def _homogeneity(
    column: pd.Series, in_sample: NDArray[np.bool_], level: float, min_effect: float
) -> BiasTest:
    values = column.astype("object").where(column.notna(), MISSING).astype(str)
    table = pd.crosstab(values.to_numpy(), in_sample)
    name = str(column.name)
    if table.shape[0] < 2:
        return BiasTest(name, "chi-square", 0.0, 1.0, 0.0, False, "a single value")
    statistic, p_value, _, _ = stats.chi2_contingency(table.to_numpy())
    n = table.to_numpy().sum()
    effect = float(np.sqrt(statistic / (n * (min(table.shape) - 1))))  # Cramér's V
    shares = (table / table.sum(axis=0)).to_numpy(dtype=np.float64)  # columns: False, True
    worst_row = int(np.argmin(shares[:, 1] - shares[:, 0]))
    worst = str(table.index[worst_row])
    inside, outside = float(shares[worst_row, 1]), float(shares[worst_row, 0])
    detail = f"{name} '{worst}': {inside:.1%} of the sample vs {outside:.1%} of the other customers"
    flagged = bool(p_value < level and effect >= min_effect)
    return BiasTest(name, "chi-square", float(statistic), float(p_value), effect, flagged, detail)


def _two_sample_ks(
    column: pd.Series, in_sample: NDArray[np.bool_], level: float, min_effect: float
) -> BiasTest:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    inside, outside = values[finite & in_sample], values[finite & ~in_sample]
    name = str(column.name)
    if not len(inside) or not len(outside):
        return BiasTest(name, "kolmogorov-smirnov", 0.0, 1.0, 0.0, False, "no values")
    result = stats.ks_2samp(inside, outside)
    statistic, p_value = float(result.statistic), float(result.pvalue)
    detail = (
        f"{name}: median {np.median(inside):.4g} in the sample vs "
        f"{np.median(outside):.4g} in the other customers"
    )
    flagged = bool(p_value < level and statistic >= min_effect)
    return BiasTest(name, "kolmogorov-smirnov", statistic, p_value, statistic, flagged, detail)


def _warn(results: list[BiasTest], what: str) -> None:
    for test in results:
        if test.flagged:
            warnings.warn(
                f"{what} is not representative: {test.detail} ({test.test} p={test.p_value:.2g},"
                f" effect {test.effect:.2f}); use a larger sample_size or check the data",
                UserWarning,
                stacklevel=3,
            )
