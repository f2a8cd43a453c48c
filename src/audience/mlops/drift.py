"""Drift of current features against a run's reference sketches: per feature, then overall.

The test of each feature is chosen as Evidently chooses it (see
:mod:`audience.config.drift`) unless ``drift.method`` or ``drift.features`` says otherwise;
the data set drifts when the share of drifted features reaches ``drift.share``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import numpy as np

from audience.config.drift import P_VALUE_METHODS, DriftSettings
from audience.errors import ConfigError, InputError
from audience.mlops import drift_tests as t
from audience.mlops.sketches import (
    CategorySketch,
    FeatureSketch,
    GridCounts,
    NumericSketch,
    category_counts,
    column_kinds,
    grid_counts,
    numeric_values,
)

CATEGORY_METHODS = frozenset({"chisquare", "jensenshannon", "psi"})


@dataclass(frozen=True)
class FeatureDriftResult:
    feature: str
    type: str
    """numeric or categorical (a number with few values is tested as a category)."""
    method: str
    statistic: float
    threshold: float
    drifted: bool
    p_value: float | None
    reference_count: int
    current_count: int
    approximate: bool
    """Computed from the reference's histogram rather than its values."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["statistic"] = _finite(self.statistic)
        if self.p_value is None:
            del data["p_value"]
        return data


@dataclass(frozen=True)
class DatasetDrift:
    features: list[FeatureDriftResult]
    drift_share: float
    threshold: float
    dataset_drift: bool
    reference_rows: int
    current_rows: int

    @property
    def drifted(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]


def _finite(value: float) -> float | str:
    return value if math.isfinite(value) else "inf"


def check_features(
    con: duckdb.DuckDBPyConnection, source: str, sketches: Mapping[str, FeatureSketch]
) -> None:
    """Refuse a comparison whose current data lacks a run's feature or changed its type."""
    kinds = column_kinds(con, source)
    missing = [name for name in sketches if name not in kinds]
    changed = [
        f"{name} ({sketch.kind} then, {kinds[name]} now)"
        for name, sketch in sketches.items()
        if name in kinds and kinds[name] != sketch.kind
    ]
    if missing or changed:
        parts = []
        if missing:
            parts.append(f"missing now: {', '.join(missing)}")
        if changed:
            parts.append(f"type changed: {', '.join(changed)}")
        raise InputError(
            f"the current features differ from the run's ({'; '.join(parts)}); compute the "
            "features again or compare with a run made on these features (--against RUN)"
        )


def compare(
    con: duckdb.DuckDBPyConnection,
    source: str,
    sketches: Mapping[str, FeatureSketch],
    settings: DriftSettings,
) -> DatasetDrift:
    """Test every sketched feature of the run against the table or view ``source``."""
    check_features(con, source, sketches)
    numeric = {n: s for n, s in sketches.items() if isinstance(s, NumericSketch) and s.count > 0}
    counted = grid_counts(con, source, {n: s for n, s in numeric.items() if s.sample is None})
    results = []
    for name, sketch in sketches.items():
        if isinstance(sketch, CategorySketch):
            results.append(_categorical(name, sketch, category_counts(con, source, name), settings))
        elif sketch.count > 0:
            results.append(_numeric(con, source, name, sketch, counted.get(name), settings))
    drifted = sum(r.drifted for r in results)
    share = drifted / len(results) if results else 0.0
    rows = con.execute(f'SELECT count(*) FROM "{source}"').fetchall()[0]
    reference_rows = max((s.count + s.missing for s in sketches.values()), default=0)
    return DatasetDrift(
        features=results,
        drift_share=share,
        threshold=settings.share,
        dataset_drift=bool(results) and share >= settings.share,
        reference_rows=reference_rows,
        current_rows=int(rows[0]) if rows else 0,
    )


def _method(name: str, categorical: bool, small: bool, settings: DriftSettings) -> str:
    chosen = settings.method_for(name)
    if chosen == "auto":
        if categorical:
            return "chisquare" if small else "jensenshannon"
        return "ks" if small else "wasserstein"
    if categorical and chosen not in CATEGORY_METHODS:
        raise ConfigError(
            f"drift: method {chosen!r} cannot test the categorical feature {name!r}; use "
            "chisquare, jensenshannon or psi (audience.yaml, drift.features)"
        )
    return chosen


def _result(
    name: str,
    kind: str,
    method: str,
    value: float,
    p_value: float | None,
    settings: DriftSettings,
    n_ref: int,
    n_cur: int,
    approximate: bool,
) -> FeatureDriftResult:
    threshold = settings.threshold(method, name)
    if method in P_VALUE_METHODS:
        assert p_value is not None
        drifted = p_value < threshold
    else:
        drifted = value >= threshold
    return FeatureDriftResult(
        name, kind, method, value, threshold, bool(drifted), p_value, n_ref, n_cur, approximate
    )


def _categorical(
    name: str, sketch: CategorySketch, current: dict[str, int], settings: DriftSettings
) -> FeatureDriftResult:
    small = sketch.count <= settings.small_reference
    method = _method(name, True, small, settings)
    return _on_counts(
        name, "categorical", method, sketch.counts, current, settings, approximate=False
    )


def _on_counts(
    name: str,
    kind: str,
    method: str,
    reference: dict[str, int],
    current: dict[str, int],
    settings: DriftSettings,
    approximate: bool,
) -> FeatureDriftResult:
    n_ref, n_cur = sum(reference.values()), sum(current.values())
    if method == "chisquare":
        statistic, p = t.chisquare_counts(reference, current)
        return _result(name, kind, method, statistic, p, settings, n_ref, n_cur, approximate)
    if method == "jensenshannon":
        value = t.jensenshannon_counts(reference, current)
    else:
        keys = sorted(set(reference) | set(current))
        r = np.array([reference.get(k, 0) for k in keys], float)
        c = np.array([current.get(k, 0) for k in keys], float)
        value = t.psi_shares(r / max(r.sum(), 1), c / max(c.sum(), 1))
    return _result(name, kind, method, value, None, settings, n_ref, n_cur, approximate)


def _numeric(
    con: duckdb.DuckDBPyConnection,
    source: str,
    name: str,
    sketch: NumericSketch,
    counted: GridCounts | None,
    settings: DriftSettings,
) -> FeatureDriftResult:
    small = sketch.sample is not None
    few = sketch.distinct is not None and sketch.distinct <= settings.few_values
    if few and settings.method_for(name) in ("auto", *CATEGORY_METHODS):
        method = _method(name, True, small, settings)
        values = counted if counted is not None else _counted_sample(con, source, name, sketch)
        return _on_counts(
            name,
            "categorical",
            method,
            t.atom_counts(sketch, sketch.edges),
            t.atom_counts(values, sketch.edges),
            settings,
            approximate=False,
        )
    method = _method(name, False, small, settings)
    if small:
        reference = np.asarray(sketch.sample, dtype=float)
        current = numeric_values(con, source, name)
        if len(current) == 0:
            return _result(
                name,
                "numeric",
                method,
                0.0,
                1.0 if method in P_VALUE_METHODS else None,
                settings,
                len(reference),
                0,
                False,
            )
        return _exact(name, method, reference, current, settings)
    assert counted is not None
    if counted.count == 0:
        return _result(
            name,
            "numeric",
            method,
            0.0,
            1.0 if method in P_VALUE_METHODS else None,
            settings,
            sketch.count,
            0,
            True,
        )
    if method == "ks":
        statistic, p = t.ks_binned(sketch, counted)
        return _result(
            name, "numeric", method, statistic, p, settings, sketch.count, counted.count, True
        )
    if method == "chisquare":
        raise ConfigError(
            f"drift: chisquare tests categories; {name!r} is a number with "
            f"{sketch.distinct} values: use ks, wasserstein, jensenshannon or psi"
        )
    if method == "wasserstein":
        value = t.wasserstein_binned(sketch, counted)
    elif method == "jensenshannon":
        r, c = t.grid_shares(sketch, counted)
        value = t.js_shares(r, c)
    else:
        value = t.psi_binned(sketch, counted)
    return _result(
        name, "numeric", method, value, None, settings, sketch.count, counted.count, True
    )


def _counted_sample(
    con: duckdb.DuckDBPyConnection, source: str, name: str, sketch: NumericSketch
) -> GridCounts:
    return grid_counts(con, source, {name: sketch})[name]


def _exact(
    name: str,
    method: str,
    reference: np.ndarray,
    current: np.ndarray,
    settings: DriftSettings,
) -> FeatureDriftResult:
    n_ref, n_cur = len(reference), len(current)
    if method == "ks":
        statistic, p = t.ks_exact(reference, current)
        return _result(name, "numeric", method, statistic, p, settings, n_ref, n_cur, False)
    if method == "chisquare":
        ref_values, ref_counts = np.unique(reference, return_counts=True)
        cur_values, cur_counts = np.unique(current, return_counts=True)
        statistic, p = t.chisquare_counts(
            dict(zip(map(repr, ref_values.tolist()), ref_counts.tolist(), strict=True)),
            dict(zip(map(repr, cur_values.tolist()), cur_counts.tolist(), strict=True)),
        )
        return _result(name, "numeric", method, statistic, p, settings, n_ref, n_cur, False)
    if method == "wasserstein":
        value = t.wasserstein_exact(reference, current)
    elif method == "psi":
        value = t.psi_exact(reference, current)
    else:
        edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        r = np.histogram(reference, edges)[0].astype(float)
        c = np.histogram(current, edges)[0].astype(float)
        value = t.js_shares(r / r.sum(), c / c.sum())
    return _result(name, "numeric", method, value, None, settings, n_ref, n_cur, False)
