"""Reference sketches: what a run keeps of its features so drift is tested without them.

A numeric feature keeps its count, mean, variance, extremes, a few quantiles and a histogram
on a *grid* of its own quantiles: the counts of values equal to each grid point (``atoms``,
so that point masses such as the zeros of ``visits`` stay exact) and strictly between two
consecutive points (``between``). A feature with at most ``bins`` distinct values uses its
values as the grid, so its histogram is exact. A reference of at most ``small_reference``
rows keeps its values too (``sample``), so that Kolmogorov-Smirnov is exact there. A
categorical feature keeps its category counts.

Everything is computed by DuckDB in a few scans of the source (one aggregate query over all
columns, one ASOF join for the histograms), never row by row in Python. The current data is
counted on the reference's grid by the same join (:func:`grid_counts`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import duckdb
import pyarrow as pa

from audience.store.sql import ident, sql_literal

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""Quantiles kept for display and the report."""

MAX_CATEGORIES = 1_000
"""Categories kept by count; the rarer ones are summed under :data:`OTHER`."""

OTHER = "\x00other"

NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)

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
    distinct: int
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
    """Values below the grid's first point, spread from :attr:`min` to it."""
    above: int
    """Values above the grid's last point, spread from it to :attr:`max`."""
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
    numeric = [f for f in features if kinds[f] == "numeric"]
    sketches: dict[str, FeatureSketch] = {}
    if numeric:
        sketches.update(_numeric_sketches(con, source, numeric, bins, small_reference))
    for name in features:
        if kinds[name] == "categorical":
            sketches[name] = _category_sketch(con, source, name)
    return {name: sketches[name] for name in features}


def _moments_sql(name: str) -> str:
    x = f"{ident(name)}::DOUBLE"
    return f"count({x}), count(*) - count({x}), avg({x}), var_pop({x}), min({x}), max({x})"


def _numeric_sketches(
    con: duckdb.DuckDBPyConnection,
    source: str,
    names: list[str],
    bins: int,
    small: int,
) -> dict[str, NumericSketch]:
    grid_probs = [i / bins for i in range(bins + 1)]
    parts = []
    for name in names:
        x = f"{ident(name)}::DOUBLE"
        parts.append(
            f"{_moments_sql(name)}, approx_count_distinct({x}), "
            f"quantile_cont({x}, {list(QUANTILES)}), quantile_disc({x}, {grid_probs})"
        )
    row = con.execute(f"SELECT {', '.join(parts)} FROM {ident(source)}").fetchall()[0]
    assert row is not None
    width = 9
    stats = {name: row[i * width : (i + 1) * width] for i, name in enumerate(names)}
    # Few distinct values: the values themselves are the grid (exact histogram). The
    # approximate distinct count only chooses which query to run; the exact list decides.
    discrete = [n for n in names if stats[n][6] is not None and stats[n][6] <= 2 * bins]
    exact = _distinct_values(con, source, discrete, bins)
    edges: dict[str, list[float]] = {}
    for name in names:
        if stats[name][0] == 0:
            edges[name] = []
        elif name in exact:
            edges[name] = exact[name]
        else:
            edges[name] = sorted(set(stats[name][8]))
    counted = _count_on_grid(con, source, edges)
    samples = _samples(con, source, [n for n in names if 0 < stats[n][0] <= small])
    result = {}
    for name in names:
        count, missing, mean, var, low, high, _, quantiles, _ = stats[name]
        c = counted[name]
        result[name] = NumericSketch(
            count=int(count),
            missing=int(missing),
            mean=_num(mean),
            var=_num(var),
            min=_num(low),
            max=_num(high),
            distinct=len(exact[name]) if name in exact else int(stats[name][6] or 0),
            quantiles=dict(
                zip([str(q) for q in QUANTILES], map(_num, quantiles or []), strict=False)
            ),
            edges=edges[name],
            atoms=c.atoms,
            between=c.between,
            between_sums=c.between_sums,
            sample=samples.get(name),
        )
    return result


def _num(value: Any) -> float:
    return float(value) if value is not None and not math.isnan(float(value)) else 0.0


def _distinct_values(
    con: duckdb.DuckDBPyConnection, source: str, names: list[str], bins: int
) -> dict[str, list[float]]:
    if not names:
        return {}
    parts = ", ".join(
        f"CASE WHEN count(DISTINCT {ident(n)}::DOUBLE) <= {bins} "
        f"THEN list_sort(list(DISTINCT {ident(n)}::DOUBLE)) END"
        for n in names
    )
    row = con.execute(f"SELECT {parts} FROM {ident(source)}").fetchall()[0]
    assert row is not None
    return {
        n: [float(v) for v in values]
        for n, values in zip(names, row, strict=True)
        if values is not None
    }


def _samples(
    con: duckdb.DuckDBPyConnection, source: str, names: list[str]
) -> dict[str, list[float]]:
    if not names:
        return {}
    parts = ", ".join(
        f"list({ident(n)}::DOUBLE) FILTER (WHERE {ident(n)} IS NOT NULL)" for n in names
    )
    row = con.execute(f"SELECT {parts} FROM {ident(source)}").fetchall()[0]
    assert row is not None
    return {n: [float(v) for v in values or []] for n, values in zip(names, row, strict=True)}


@dataclass
class _Counted:
    atoms: list[int]
    between: list[int]
    between_sums: list[float]
    below: int = 0
    above: int = 0
    below_sum: float = 0.0
    above_sum: float = 0.0


def _count_on_grid(
    con: duckdb.DuckDBPyConnection, source: str, edges: Mapping[str, list[float]]
) -> dict[str, _Counted]:
    """Per feature: counts (and sums) of ``source``'s values on the grid ``edges``.

    One ASOF join of the unpivoted values with the grids: each value meets the greatest grid
    point at or below it; equal is an atom, greater lies between it and the next point (or
    above the grid after the last one); no point at all means below the grid.
    """
    names = [n for n, grid in edges.items() if grid]
    result = {
        n: _Counted([0] * len(grid), [0] * max(len(grid) - 1, 0), [0.0] * max(len(grid) - 1, 0))
        for n, grid in edges.items()
    }
    if not names:
        return result
    grid = pa.table(
        {
            "feature": pa.array([n for n in names for _ in edges[n]], pa.string()),
            "i": pa.array([i for n in names for i in range(len(edges[n]))], pa.int32()),
            "v": pa.array([v for n in names for v in edges[n]], pa.float64()),
        }
    )
    con.register("_sketch_grid", grid)
    try:
        values = " UNION ALL ".join(
            f"SELECT {sql_literal(n)} AS feature, "
            f"{ident(n)}::DOUBLE AS x FROM {ident(source)} WHERE {ident(n)} IS NOT NULL"
            for n in names
        )
        rows = con.execute(
            f"""SELECT v.feature, g.i, v.x = g.v AS atom, count(*), sum(v.x)
                FROM ({values}) v ASOF LEFT JOIN _sketch_grid g
                  ON v.feature = g.feature AND v.x >= g.v
                GROUP BY ALL"""
        ).fetchall()
    finally:
        con.unregister("_sketch_grid")
    for feature, i, atom, n, total in rows:
        found = result[feature]
        if i is None:
            found.below, found.below_sum = int(n), float(total)
        elif atom:
            found.atoms[i] += int(n)
        elif i < len(found.between):
            found.between[i] += int(n)
            found.between_sums[i] += float(total)
        else:
            found.above, found.above_sum = int(n), float(total)
    return result


def grid_counts(
    con: duckdb.DuckDBPyConnection, source: str, references: Mapping[str, NumericSketch]
) -> dict[str, GridCounts]:
    """The current numeric values of ``source`` counted on each reference's grid."""
    names = list(references)
    if not names:
        return {}
    row = con.execute(
        f"SELECT {', '.join(_moments_sql(n) for n in names)} FROM {ident(source)}"
    ).fetchall()[0]
    assert row is not None
    counted = _count_on_grid(con, source, {n: references[n].edges for n in names})
    result = {}
    for i, name in enumerate(names):
        count, missing, mean, var, low, high = row[i * 6 : (i + 1) * 6]
        c = counted[name]
        result[name] = GridCounts(
            count=int(count),
            missing=int(missing),
            mean=_num(mean),
            var=_num(var),
            below=c.below,
            above=c.above,
            min=_num(low),
            max=_num(high),
            atoms=c.atoms,
            between=c.between,
            between_sums=c.between_sums,
            below_sum=c.below_sum,
            above_sum=c.above_sum,
        )
    return result


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


def numeric_values(con: duckdb.DuckDBPyConnection, source: str, name: str) -> Any:
    """Non-missing values of a numeric column as a NumPy array (exact tests, small data)."""
    return con.execute(
        f"SELECT {ident(name)}::DOUBLE AS x FROM {ident(source)} WHERE {ident(name)} IS NOT NULL"
    ).fetchnumpy()["x"]
