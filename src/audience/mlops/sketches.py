"""Reference sketches: what a run keeps of its features so drift is tested without them.

A numeric feature keeps its count, mean, variance, extremes, a few quantiles and a histogram
on a *grid* of its own quantiles (every 1% by default): the counts of values equal to each
grid point (``atoms``, so that point masses such as the zeros of ``visits`` stay exact) and,
strictly between two consecutive points, their count and sum (``between``,
``between_sums``: where the interval's mass lies, which makes Wasserstein exact in most
intervals, see :mod:`audience.mlops.drift_tests`). A feature whose values are few is gridded
on its values, so its histogram is exact. A reference of at most ``small_reference`` rows
keeps its values too (``sample``), so that Kolmogorov-Smirnov is exact there. A categorical
feature keeps its category counts.

DuckDB reads each column (cast, missing values left out) and counts the categories; the
numeric binning is NumPy's, vectorised: the grid is read from an even sample of at most
65,536 values by one partial sort (``np.partition``), then one ``searchsorted`` +
``bincount`` pass gives the exact counts and sums on it. The grid need not be exact
quantiles, only the counts on it must be exact; exact quantiles in DuckDB cost a full sort
per column and aggregate (about 3 s for a dozen columns of a million rows). No row is ever
visited by Python code. The current data is counted on the reference's grid by the same
pass (:func:`grid_counts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import duckdb
import numpy as np
from numpy.typing import NDArray

from audience.store.sql import NUMERIC_TYPES, ident

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""Quantiles kept for display and the report (lower order statistics, as the grid)."""

GRID_SAMPLE = 65_536
"""Values the grid and the displayed quantiles are read from (exact up to this many)."""

MAX_CATEGORIES = 1_000
"""Categories kept by count; the rarer ones are summed under :data:`OTHER`."""

OTHER = "\x00other"


Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class NumericSketch:
    """A numeric feature of the reference: moments, quantiles and a histogram on a grid."""

    count: int
    missing: int
    mean: float
    var: float
    """Population variance (``np.var``, ``ddof=0``), as Evidently norms Wasserstein by."""
    min: float
    max: float
    distinct: int | None
    """Number of distinct values when the grid holds them all, else None (more than it)."""
    quantiles: dict[str, float]
    edges: list[float]
    atoms: list[int]
    between: list[int]
    between_sums: list[float]
    """Sum of the values in each interval: where its mass lies (exact Wasserstein)."""
    sample: list[float] | None = None
    kind: Kind = field(default="numeric", init=False)


@dataclass(frozen=True)
class CategorySketch:
    """A categorical feature of the reference: counts per category."""

    count: int
    missing: int
    counts: dict[str, int]
    kind: Kind = field(default="categorical", init=False)


FeatureSketch = NumericSketch | CategorySketch


@dataclass(frozen=True)
class GridCounts:
    """Current numeric values counted on a reference's grid, with what falls outside it."""

    count: int
    missing: int
    mean: float
    var: float
    below: int
    """Values below the grid's first point, between :attr:`min` and it."""
    above: int
    """Values above the grid's last point, between it and :attr:`max`."""
    min: float
    max: float
    atoms: list[int]
    between: list[int]
    between_sums: list[float]
    below_sum: float
    above_sum: float


def sketch_to_json(sketch: FeatureSketch) -> dict[str, Any]:
    return asdict(sketch)


def sketch_from_json(data: Mapping[str, Any]) -> FeatureSketch:
    fields = {k: v for k, v in data.items() if k != "kind"}
    if data["kind"] == "categorical":
        return CategorySketch(**fields)
    return NumericSketch(**fields)


def column_kinds(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, Kind]:
    """Each column of ``source`` (a table or view) as numeric or categorical."""
    kinds: dict[str, Kind] = {}
    for name, dtype, *_ in con.execute(f"DESCRIBE {ident(source)}").fetchall():
        numeric = str(dtype).split("(")[0] in NUMERIC_TYPES
        kinds[str(name)] = "numeric" if numeric else "categorical"
    return kinds


def sketch_features(
    con: duckdb.DuckDBPyConnection,
    source: str,
    features: Sequence[str],
    *,
    bins: int = 100,
    small_reference: int = 1_000,
) -> dict[str, FeatureSketch]:
    """Sketches of ``features`` (columns of the table or view ``source``), by name."""
    kinds = column_kinds(con, source)
    rows = _rows(con, source)
    sketches: dict[str, FeatureSketch] = {}
    for name in features:
        if kinds[name] == "numeric":
            values = numeric_values(con, source, name)
            sketches[name] = numeric_sketch(values, rows - len(values), bins, small_reference)
        else:
            sketches[name] = _category_sketch(con, source, name)
    return sketches


def _rows(con: duckdb.DuckDBPyConnection, source: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {ident(source)}").fetchall()[0][0])


def numeric_sketch(
    values: NDArray[np.float64], missing: int, bins: int = 100, small: int = 1_000
) -> NumericSketch:
    """The sketch of one column's non-missing values."""
    n = len(values)
    if n == 0:
        return NumericSketch(0, missing, 0.0, 0.0, 0.0, 0.0, 0, {}, [], [], [], [])
    # The grid need not be exact quantiles (the counts on it are exact, whatever it is):
    # it is read from an even sample of at most GRID_SAMPLE values, in one partial sort.
    sample = values[:: max(1, n // GRID_SAMPLE)]
    grid_ranks = _ranks(np.linspace(0, 1, bins + 1), len(sample))
    shown_ranks = _ranks(np.asarray(QUANTILES), len(sample))
    ordered = np.partition(sample, np.union1d(grid_ranks, shown_ranks))
    ordered[[0, -1]] = values.min(), values.max()  # the grid spans every value
    edges = np.unique(ordered[grid_ranks])
    cells = _cells(values, edges)
    counted = _tally(cells, values, len(edges))
    distinct: int | None = None
    if sum(counted.between) <= n // 20:
        # Few values off the grid: when all values are few, make them the grid (exact).
        off_grid = np.unique(values[cells % 2 == 0])  # even cells lie between grid points
        if len(edges) + len(off_grid) <= 2 * bins:
            edges = np.union1d(edges, off_grid)
            counted = _tally(_cells(values, edges), values, len(edges))
            distinct = len(edges)
    quantiles = {str(q): float(ordered[r]) for q, r in zip(QUANTILES, shown_ranks, strict=True)}
    return NumericSketch(
        count=n,
        missing=int(missing),
        mean=float(values.mean()),
        var=float(values.var()),
        min=float(edges[0]),
        max=float(edges[-1]),
        distinct=distinct,
        quantiles=quantiles,
        edges=edges.tolist(),
        atoms=counted.atoms,
        between=counted.between,
        between_sums=counted.between_sums,
        sample=values.tolist() if n <= small else None,
    )


def _ranks(probs: NDArray[np.float64], n: int) -> NDArray[np.int64]:
    """0-based ranks of the lower ``probs`` quantiles of ``n`` values (inverted CDF)."""
    ranks: NDArray[np.int64] = np.ceil(probs * n).astype(np.int64).clip(1, n) - 1
    return ranks


@dataclass
class _Counted:
    atoms: list[int]
    between: list[int]
    between_sums: list[float]
    below: int = 0
    above: int = 0
    below_sum: float = 0.0
    above_sum: float = 0.0


def _cells(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.int64]:
    """The cell of each value on the grid ``edges``, in one vectorised pass.

    Each value meets the greatest grid point at or below it: equal is that point's atom,
    greater lies between it and the next point (or above the grid after the last one); no
    point at all means below the grid. Cells: 0 below, ``1 + 2i`` the atom of point ``i``,
    ``2 + 2i`` after point ``i`` (after the last one: above).
    """
    at = np.searchsorted(edges, values, side="right") - 1  # -1: below the grid
    atom = values == edges[np.maximum(at, 0)]
    cells: NDArray[np.int64] = np.where(at < 0, 0, 2 + 2 * at - atom)
    return cells


def _tally(cells: NDArray[np.int64], values: NDArray[np.float64], k: int) -> _Counted:
    """Counts and sums per cell of a grid of ``k`` points."""
    counts = np.bincount(cells, minlength=2 * k + 1)
    sums = np.bincount(cells, weights=values, minlength=2 * k + 1)
    return _Counted(
        atoms=counts[1 : 2 * k : 2].astype(int).tolist(),
        between=counts[2 : 2 * k - 1 : 2].astype(int).tolist(),
        between_sums=sums[2 : 2 * k - 1 : 2].tolist(),
        below=int(counts[0]),
        above=int(counts[2 * k]),
        below_sum=float(sums[0]),
        above_sum=float(sums[2 * k]),
    )


def grid_counts(
    con: duckdb.DuckDBPyConnection, source: str, references: Mapping[str, NumericSketch]
) -> dict[str, GridCounts]:
    """The current numeric values of ``source`` counted on each reference's grid."""
    if not references:
        return {}
    rows = _rows(con, source)
    return {
        name: count_on_grid(numeric_values(con, source, name), rows, sketch)
        for name, sketch in references.items()
    }


def count_on_grid(values: NDArray[np.float64], rows: int, reference: NumericSketch) -> GridCounts:
    """One column's current values (non-missing, of ``rows``) on ``reference``'s grid."""
    edges = np.asarray(reference.edges, dtype=np.float64)
    counted = _tally(_cells(values, edges), values, len(edges))
    empty = len(values) == 0
    return GridCounts(
        count=len(values),
        missing=rows - len(values),
        mean=0.0 if empty else float(values.mean()),
        var=0.0 if empty else float(values.var()),
        below=counted.below,
        above=counted.above,
        min=0.0 if empty else float(values.min()),
        max=0.0 if empty else float(values.max()),
        atoms=counted.atoms,
        between=counted.between,
        between_sums=counted.between_sums,
        below_sum=counted.below_sum,
        above_sum=counted.above_sum,
    )


def _category_sketch(con: duckdb.DuckDBPyConnection, source: str, name: str) -> CategorySketch:
    counts = category_counts(con, source, name)
    kept = dict(sorted(counts.items(), key=lambda kv: -kv[1])[:MAX_CATEGORIES])
    rest = sum(counts.values()) - sum(kept.values())
    if rest:
        kept[OTHER] = rest
    missing = con.execute(
        f"SELECT count(*) - count({ident(name)}) FROM {ident(source)}"
    ).fetchall()[0]
    return CategorySketch(
        count=sum(counts.values()), missing=int(missing[0]) if missing else 0, counts=kept
    )


def category_counts(con: duckdb.DuckDBPyConnection, source: str, name: str) -> dict[str, int]:
    """Non-missing values of a column, as text, with their counts."""
    rows = con.execute(
        f"""SELECT {ident(name)}::VARCHAR, count(*) FROM {ident(source)}
            WHERE {ident(name)} IS NOT NULL GROUP BY ALL"""
    ).fetchall()
    return {str(value): int(n) for value, n in rows}


def numeric_values(con: duckdb.DuckDBPyConnection, source: str, name: str) -> NDArray[np.float64]:
    """Non-missing values of a numeric column, as doubles."""
    column = con.execute(
        f"SELECT {ident(name)}::DOUBLE AS x FROM {ident(source)} WHERE {ident(name)} IS NOT NULL"
    ).fetchnumpy()["x"]
    return np.asarray(column, dtype=np.float64)
