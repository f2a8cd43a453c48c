"""The per-feature drift tests, on exact values or on a reference sketch's grid.

Each test follows Evidently's definition so that verdicts agree with it:

* ``ks``: two-sample Kolmogorov-Smirnov p-value (drift when below the threshold);
* ``chisquare``: Pearson's chi-square of the current counts against the reference shares
  scaled to the current size, over the union of categories (p-value; a category the
  reference never had gives p = 0);
* ``wasserstein``: Wasserstein-1 distance over the reference's population standard
  deviation (at least 0.001) -- "normed Wasserstein";
* ``jensenshannon``: Jensen-Shannon distance (natural log) between the two shares;
* ``psi``: population stability index on ten groups of equal reference mass, empty groups
  at 0.0001 as Evidently does.

**The binned approximation.** For a reference larger than ``small_reference`` only its sketch
is kept. Both CDFs are then modelled on the reference's grid: point masses at grid points
are exact (``atoms``), mass strictly between two points is spread uniformly over the
interval, current values outside the grid uniformly between the grid's end and the current
extreme. Wasserstein is the exact integral of ``|F_ref - F_cur|`` of these piecewise-linear
CDFs; KS is their largest gap (the p-value from the asymptotic Kolmogorov distribution with
``n m / (n + m)``). With 100 quantile bins each interval holds at most 1% of the reference,
so the error of either statistic is bounded by the mass misplaced inside one interval; the
tests check agreement with SciPy on the raw values within a stated tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial.distance import jensenshannon

from audience.mlops.sketches import GridCounts, NumericSketch

PSI_GROUPS = 10
PSI_FLOOR = 0.0001
MIN_STD = 0.001


# -- exact tests, on values ---------------------------------------------------------------


def ks_exact(reference: NDArray[np.float64], current: NDArray[np.float64]) -> tuple[float, float]:
    """(statistic, p-value) of SciPy's two-sample KS."""
    result = stats.ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


def wasserstein_exact(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """Normed Wasserstein distance on the values."""
    norm = max(float(np.std(reference)), MIN_STD)
    return float(stats.wasserstein_distance(reference, current)) / norm


def chisquare_counts(
    reference: Mapping[str, int], current: Mapping[str, int]
) -> tuple[float, float]:
    """(statistic, p-value): current counts against the reference's shares."""
    keys = sorted(set(reference) | set(current))
    n_ref, n_cur = sum(reference.values()), sum(current.values())
    if n_ref == 0 or n_cur == 0 or len(keys) < 2:
        return 0.0, 1.0
    observed = np.array([current.get(k, 0) for k in keys], dtype=float)
    expected = np.array([reference.get(k, 0) for k in keys], dtype=float) * n_cur / n_ref
    if ((expected == 0) & (observed > 0)).any():
        return math.inf, 0.0  # a category the reference never saw
    keep = expected > 0
    statistic = float((((observed - expected) ** 2)[keep] / expected[keep]).sum())
    return statistic, float(stats.chi2.sf(statistic, len(keys) - 1))


def js_shares(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """Jensen-Shannon distance (natural log) of two share vectors over the same cells."""
    return float(jensenshannon(reference, current))


def jensenshannon_counts(reference: Mapping[str, int], current: Mapping[str, int]) -> float:
    keys = sorted(set(reference) | set(current))
    p = np.array([reference.get(k, 0) for k in keys], dtype=float)
    q = np.array([current.get(k, 0) for k in keys], dtype=float)
    if p.sum() == 0 or q.sum() == 0:
        return 0.0
    return float(jensenshannon(p / p.sum(), q / q.sum()))


def psi_shares(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """PSI of two share vectors over the same cells (empty cells floored at 0.0001)."""
    r = np.where(reference == 0, PSI_FLOOR, reference)
    c = np.where(current == 0, PSI_FLOOR, current)
    return float(((r - c) * np.log(r / c)).sum())


# -- tests on a sketch's grid -------------------------------------------------------------


def _cdf_knots(
    edges: NDArray[np.float64],
    atoms: NDArray[np.float64],
    between: NDArray[np.float64],
    below: float,
    above: float,
    low: float,
    high: float,
    xs: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """F(x-) and F(x) at the points ``xs`` (sorted, including the grid), total mass 1.

    Mass between two grid points is spread uniformly; ``below`` uniformly over
    ``[low, edges[0])`` and ``above`` over ``(edges[-1], high]``.
    """
    total = atoms.sum() + between.sum() + below + above
    # Cumulative mass at each grid point, before and after its atom.
    before_atom = below + np.concatenate([[0.0], np.cumsum(atoms[:-1] + between)])
    after_atom = before_atom + atoms

    def continuous(x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Mass strictly below x from the uniform parts only, plus atoms strictly below."""
        out = np.zeros_like(x)
        # below the grid
        if below > 0 and edges[0] > low:
            out += below * np.clip((x - low) / (edges[0] - low), 0, 1)
        elif below > 0:
            out += below * (x > low)
        # inside the grid: whole intervals, atoms and the part of the interval reached
        idx = np.searchsorted(edges, x, side="left")  # edges[idx-1] < x <= edges[idx]
        inside = (idx > 0) & (x > edges[0])
        k = np.clip(idx - 1, 0, len(edges) - 1)
        start = after_atom[k] - below  # mass up to and including the atom at edges[k]
        width = np.diff(edges, append=edges[-1])
        part = np.zeros_like(x)
        has_next = k < len(edges) - 1
        frac = np.where(
            has_next & (width[k] > 0), (x - edges[k]) / np.where(width[k] > 0, width[k], 1), 0
        )
        between_k = np.where(has_next, np.append(between, 0.0)[k], 0.0)
        part = between_k * np.clip(frac, 0, 1)
        out += np.where(inside, start + part, 0.0)
        # above the grid
        if above > 0 and high > edges[-1]:
            out += above * np.clip((x - edges[-1]) / (high - edges[-1]), 0, 1)
        elif above > 0:
            out += above * (x > edges[-1])
        return out

    left = continuous(xs)
    at = np.searchsorted(edges, xs)
    on_grid = (at < len(edges)) & (edges[np.minimum(at, len(edges) - 1)] == xs)
    right = left + np.where(on_grid, atoms[np.minimum(at, len(edges) - 1)], 0.0)
    return left / total, right / total


def _binned_cdfs(
    ref: NumericSketch, cur: GridCounts
) -> tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
]:
    """Points xs and both CDFs before (F-) and after (F) each point."""
    edges = np.asarray(ref.edges, dtype=float)
    points = [edges]
    if cur.below:
        points.append(np.array([cur.min]))
    if cur.above:
        points.append(np.array([cur.max]))
    xs = np.unique(np.concatenate(points))
    r_left, r_right = _cdf_knots(
        edges,
        np.asarray(ref.atoms, float),
        np.asarray(ref.between, float),
        0,
        0,
        ref.min,
        ref.max,
        xs,
    )
    c_left, c_right = _cdf_knots(
        edges,
        np.asarray(cur.atoms, float),
        np.asarray(cur.between, float),
        cur.below,
        cur.above,
        cur.min,
        cur.max,
        xs,
    )
    return xs, r_left, r_right, c_left, c_right


def ks_binned(ref: NumericSketch, cur: GridCounts) -> tuple[float, float]:
    """(statistic, p-value) of KS from the grid: the largest CDF gap at the grid's points
    (both CDFs are linear in between, so the largest gap is at a point, before or after
    its atom)."""
    _, r_left, r_right, c_left, c_right = _binned_cdfs(ref, cur)
    statistic = float(max(np.abs(r_left - c_left).max(), np.abs(r_right - c_right).max()))
    n, m = ref.count, cur.count
    en = n * m / (n + m)
    return statistic, float(stats.kstwobign.sf(statistic * math.sqrt(en)))


def wasserstein_binned(ref: NumericSketch, cur: GridCounts) -> float:
    """Normed Wasserstein from the grid: the integral of |F_ref - F_cur| over the reference's
    standard deviation.

    Over a segment ``[a, b]`` of the grid, ``F_ref - F_cur = d0 + m_r G_r(x) - m_c G_c(x)``
    with ``G`` each side's CDF inside the segment; since ``integral of G = b - mean``, the
    signed integral is ``d0 (b - a) + m_r (b - mean_r) - m_c (b - mean_c)``, known exactly
    from the masses and sums the sketch keeps. When the gap keeps its sign over the segment
    this is the area exactly; when it changes sign (rare: one segment per crossing), the
    smaller side of the crossing is estimated as if the gap were linear in between.
    """
    n_r, n_c = float(ref.count), float(cur.count)
    edges = np.asarray(ref.edges, dtype=float)
    k = len(edges)
    # cells along x: below, then atom and interval of each point (no interval after the
    # last point), then above; segments are the cells of non-zero width.
    mass_r = np.zeros(2 * k + 1)
    mass_c = np.zeros(2 * k + 1)
    sums_r = np.zeros(2 * k + 1)
    sums_c = np.zeros(2 * k + 1)
    left = np.zeros(2 * k + 1)
    right = np.zeros(2 * k + 1)
    mass_r[1 : 2 * k : 2] = ref.atoms
    mass_c[1 : 2 * k : 2] = cur.atoms
    mass_r[2 : 2 * k - 1 : 2] = ref.between
    mass_c[2 : 2 * k - 1 : 2] = cur.between
    sums_r[2 : 2 * k - 1 : 2] = ref.between_sums
    sums_c[2 : 2 * k - 1 : 2] = cur.between_sums
    left[2 : 2 * k - 1 : 2], right[2 : 2 * k - 1 : 2] = edges[:-1], edges[1:]
    mass_c[0], sums_c[0], left[0], right[0] = cur.below, cur.below_sum, cur.min, edges[0]
    mass_c[-1], sums_c[-1] = cur.above, cur.above_sum
    left[-1], right[-1] = edges[-1], max(cur.max, edges[-1])
    mass_r, sums_r = mass_r / n_r, sums_r / n_r
    mass_c, sums_c = mass_c / n_c, sums_c / n_c
    before = np.concatenate([[0.0], np.cumsum(mass_r - mass_c)[:-1]])
    width = right - left
    segment = np.zeros(2 * k + 1, dtype=bool)
    segment[0::2] = True
    segment &= width > 0
    d0 = before[segment]
    d1 = d0 + (mass_r - mass_c)[segment]
    b = right[segment]
    signed = (
        d0 * width[segment]
        + (mass_r[segment] * b - sums_r[segment])
        - (mass_c[segment] * b - sums_c[segment])
    )
    a0, a1 = np.abs(d0), np.abs(d1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the smaller side of a crossing, as if the gap were linear; it counts twice since
        # the signed integral already subtracted it once
        minor = np.where(a0 + a1 > 0, np.minimum(a0, a1) ** 2 / (2 * (a0 + a1)), 0.0)
    area = np.abs(signed) + np.where(d0 * d1 < 0, 2 * minor * width[segment], 0.0)
    # Rounded where sums of shares leave only floating-point noise (identical data).
    return round(float(area.sum()) / max(math.sqrt(ref.var), MIN_STD), 12)


def grid_shares(ref: NumericSketch, cur: GridCounts) -> tuple[NDArray[np.float64], ...]:
    """Shares of both sides per cell: below, then atom and interval of each grid point,
    then above (cells the Jensen-Shannon distance and PSI compare)."""

    def cells(atoms: list[int], between: list[int], below: int, above: int) -> NDArray[np.float64]:
        inner = np.empty(len(atoms) + len(between))
        inner[0::2] = atoms
        inner[1::2] = between
        return np.concatenate([[below], inner, [above]]).astype(float)

    r = cells(ref.atoms, ref.between, 0, 0)
    c = cells(cur.atoms, cur.between, cur.below, cur.above)
    return r / max(r.sum(), 1), c / max(c.sum(), 1)


def psi_binned(ref: NumericSketch, cur: GridCounts) -> float:
    """PSI on ten groups of consecutive cells of about equal reference mass."""
    r, c = grid_shares(ref, cur)
    group = np.minimum((np.cumsum(r) - r / 2) * PSI_GROUPS, PSI_GROUPS - 1).astype(int)
    group[0], group[-1] = 0, PSI_GROUPS - 1  # outside the grid: with the nearest group
    r_groups = np.bincount(group, weights=r, minlength=PSI_GROUPS).astype(np.float64)
    c_groups = np.bincount(group, weights=c, minlength=PSI_GROUPS).astype(np.float64)
    return psi_shares(r_groups, c_groups)


def psi_exact(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """PSI on deciles of the reference values."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, PSI_GROUPS + 1))[1:-1])
    r = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    c = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    r, c = r.astype(np.float64), c.astype(np.float64)
    return psi_shares(r / max(r.sum(), 1), c / max(c.sum(), 1))


def atom_counts(sketch: NumericSketch | GridCounts, edges: list[float]) -> dict[str, int]:
    """A numeric feature with few values as category counts (values outside the grid's
    points as one category)."""
    counts = {repr(float(v)): int(n) for v, n in zip(edges, sketch.atoms, strict=True) if n}
    other = sum(sketch.between) + getattr(sketch, "below", 0) + getattr(sketch, "above", 0)
    if other:
        counts["other"] = int(other)
    return counts
