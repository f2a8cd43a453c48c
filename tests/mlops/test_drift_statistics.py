"""Each drift statistic against SciPy on the same numbers.

Small references keep their values, so KS and chi-square are SciPy's own numbers; large ones
keep a sketch, and the statistics computed from it must agree with SciPy on the raw values
within the stated tolerance (see :mod:`audience.mlops.drift_tests` for the approximation).
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from audience.config.drift import DriftSettings
from audience.mlops import drift_tests as t
from audience.mlops.drift import compare
from audience.mlops.sketches import (
    NumericSketch,
    grid_counts,
    sketch_features,
    sketch_from_json,
    sketch_to_json,
)

N = 100_000  # above GRID_SAMPLE: the grid comes from a sample, the counts stay exact
rng = np.random.default_rng(20261130)


def _shapes() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Reference and current values of shapes the behavioural features take."""
    zeros = rng.random(N) < 0.4
    return {
        "lognormal": (rng.lognormal(3, 1, N), rng.lognormal(3.1, 1, N)),
        "zero_heavy": (
            np.where(zeros, 0.0, rng.exponential(3, N)),
            np.where(rng.random(N) < 0.3, 0.0, rng.exponential(3.4, N)),
        ),
        "counts": (rng.poisson(3, N).astype(float), rng.poisson(3.3, N).astype(float)),
        "share": (rng.beta(2, 5, N), rng.beta(2.2, 5, N)),
        "moved_out": (rng.normal(0, 1, N), rng.normal(1.5, 1.3, N)),  # beyond the grid
        "unchanged": (rng.normal(10, 2, N), rng.normal(10, 2, N)),
    }


SHAPES = _shapes()


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.register("ref", pd.DataFrame({k: v[0] for k, v in SHAPES.items()}))
    connection.register("cur", pd.DataFrame({k: v[1] for k, v in SHAPES.items()}))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def sketched(con: duckdb.DuckDBPyConnection) -> dict[str, NumericSketch]:
    found = sketch_features(con, "ref", list(SHAPES))
    assert all(isinstance(s, NumericSketch) for s in found.values())
    return {k: v for k, v in found.items() if isinstance(v, NumericSketch)}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_binned_wasserstein_agrees_with_scipy(
    con: duckdb.DuckDBPyConnection, sketched: dict[str, NumericSketch], shape: str
) -> None:
    ref, cur = SHAPES[shape]
    counted = grid_counts(con, "cur", {shape: sketched[shape]})[shape]
    exact = stats.wasserstein_distance(ref, cur) / np.std(ref)
    approx = t.wasserstein_binned(sketched[shape], counted)
    # 2% of the distance, or 0.002 of a standard deviation near zero: far below the 0.1
    # threshold's resolution.
    assert approx == pytest.approx(exact, rel=0.02, abs=0.002)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_binned_ks_agrees_with_scipy(
    con: duckdb.DuckDBPyConnection, sketched: dict[str, NumericSketch], shape: str
) -> None:
    ref, cur = SHAPES[shape]
    counted = grid_counts(con, "cur", {shape: sketched[shape]})[shape]
    exact = stats.ks_2samp(ref, cur)
    statistic, p = t.ks_binned(sketched[shape], counted)
    assert statistic == pytest.approx(exact.statistic, abs=0.005)
    assert (p < 0.05) == (exact.pvalue < 0.05)


def test_discrete_values_are_exact(
    con: duckdb.DuckDBPyConnection, sketched: dict[str, NumericSketch]
) -> None:
    """Few distinct values: the values are the grid, so both statistics are SciPy's."""
    ref, cur = SHAPES["counts"]
    sketch = sketched["counts"]
    assert sketch.edges == sorted(set(ref.tolist()))
    counted = grid_counts(con, "cur", {"counts": sketch})["counts"]
    assert t.wasserstein_binned(sketch, counted) == pytest.approx(
        stats.wasserstein_distance(ref, cur) / np.std(ref), rel=1e-9
    )
    assert t.ks_binned(sketch, counted)[0] == pytest.approx(
        stats.ks_2samp(ref, cur).statistic, abs=1e-12
    )


def test_sketch_moments_are_the_data_s(sketched: dict[str, NumericSketch]) -> None:
    ref = SHAPES["lognormal"][0]
    sketch = sketched["lognormal"]
    assert sketch.count == N and sketch.missing == 0
    assert sketch.mean == pytest.approx(ref.mean(), rel=1e-9)
    assert sketch.var == pytest.approx(ref.var(), rel=1e-9)
    assert sum(sketch.atoms) + sum(sketch.between) == N
    assert sketch.quantiles["0.5"] == pytest.approx(np.quantile(ref, 0.5), rel=0.02)
    assert max(sketch.between) / N < 0.02  # about 1% of the values per interval
    assert (sketch.min, sketch.max) == (ref.min(), ref.max())
    assert sketch.sample is None  # large: no values kept
    assert sketch_from_json(sketch_to_json(sketch)) == sketch


def test_psi_binned_agrees_with_deciles_of_the_values(
    con: duckdb.DuckDBPyConnection, sketched: dict[str, NumericSketch]
) -> None:
    for shape in ("lognormal", "share", "moved_out"):
        ref, cur = SHAPES[shape]
        counted = grid_counts(con, "cur", {shape: sketched[shape]})[shape]
        assert t.psi_binned(sketched[shape], counted) == pytest.approx(
            t.psi_exact(ref, cur), rel=0.05, abs=0.002
        )


def test_psi_is_the_textbook_formula() -> None:
    ref, cur = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.25, 0.25, 0.25, 0.25])
    assert t.psi_shares(ref, cur) == pytest.approx(
        sum((r - c) * np.log(r / c) for r, c in zip(ref, cur, strict=True))
    )


def test_chisquare_and_jensenshannon_are_scipy_s() -> None:
    reference = {"a": 500, "b": 300, "c": 200}
    current = {"a": 420, "b": 330, "c": 250}
    statistic, p = t.chisquare_counts(reference, current)
    expected = np.array([500, 300, 200]) * 1000 / 1000
    scipy = stats.chisquare([420, 330, 250], expected)
    assert (statistic, p) == pytest.approx((scipy.statistic, scipy.pvalue))
    assert t.jensenshannon_counts(reference, current) == pytest.approx(
        jensenshannon([0.5, 0.3, 0.2], [0.42, 0.33, 0.25])
    )
    # a category the reference never had: certain drift
    assert t.chisquare_counts(reference, {**current, "d": 5}) == (np.inf, 0.0)


def test_small_reference_is_tested_exactly(con: duckdb.DuckDBPyConnection) -> None:
    """Up to 1,000 rows the sketch keeps the values: KS and chi-square are SciPy's."""
    small_ref = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 800),
            "k": rng.integers(0, 4, 800).astype(float),  # four values: a category
            "g": rng.choice(["a", "b", "c"], 800, p=[0.5, 0.3, 0.2]),
        }
    )
    small_cur = pd.DataFrame(
        {
            "x": rng.normal(0.3, 1, 900),
            "k": rng.integers(0, 4, 900).astype(float),
            "g": rng.choice(["a", "b", "c"], 900, p=[0.3, 0.3, 0.4]),
        }
    )
    con.register("small_ref", small_ref)
    con.register("small_cur", small_cur)
    sketches = sketch_features(con, "small_ref", ["x", "k", "g"])
    result = {r.feature: r for r in compare(con, "small_cur", sketches, DriftSettings()).features}

    ks = stats.ks_2samp(small_ref["x"], small_cur["x"])
    assert result["x"].method == "ks" and not result["x"].approximate
    assert result["x"].p_value == pytest.approx(ks.pvalue, rel=1e-9)
    assert result["x"].drifted == (ks.pvalue < 0.05)

    ref_k = small_ref["k"].value_counts().sort_index()
    cur_k = small_cur["k"].value_counts().sort_index()
    chi_k = stats.chisquare(cur_k, ref_k * len(small_cur) / len(small_ref))
    assert result["k"].method == "chisquare" and result["k"].type == "categorical"
    assert result["k"].p_value == pytest.approx(chi_k.pvalue, rel=1e-9)

    ref_g = small_ref["g"].value_counts().sort_index()
    cur_g = small_cur["g"].value_counts().sort_index()
    chi_g = stats.chisquare(cur_g, ref_g * len(small_cur) / len(small_ref))
    assert result["g"].p_value == pytest.approx(chi_g.pvalue, rel=1e-9)
    assert result["g"].drifted


def test_large_reference_picks_distances(
    con: duckdb.DuckDBPyConnection, sketched: dict[str, NumericSketch]
) -> None:
    result = {r.feature: r for r in compare(con, "cur", sketched, DriftSettings()).features}
    assert {r.method for r in result.values() if r.type == "numeric"} == {"wasserstein"}
    assert result["unchanged"].drifted is False
    assert result["moved_out"].drifted is True
    for shape, (ref, cur) in SHAPES.items():
        if result[shape].type == "numeric":
            exact = stats.wasserstein_distance(ref, cur) / np.std(ref)
            assert result[shape].drifted == (exact >= 0.1), shape


def test_settings_choose_per_feature_and_refuse_unknown_methods() -> None:
    from pydantic import ValidationError

    settings = DriftSettings.model_validate(
        {"thresholds": {"wasserstein": 0.2}, "features": {"x": {"method": "psi"}}}
    )
    assert settings.threshold("wasserstein", "y") == 0.2
    assert settings.threshold("ks", "y") == 0.05  # the other defaults stay
    assert settings.method_for("x") == "psi" and settings.method_for("y") == "auto"
    with pytest.raises(ValidationError, match="unknown drift method"):
        DriftSettings.model_validate({"thresholds": {"kolmogorov": 0.1}})


def test_a_category_cannot_take_a_numeric_test(con: duckdb.DuckDBPyConnection) -> None:
    from audience.errors import ConfigError

    frame = pd.DataFrame({"g": rng.choice(["a", "b"], 3_000)})
    con.register("cats", frame)
    sketches = sketch_features(con, "cats", ["g"])
    settings = DriftSettings.model_validate({"features": {"g": {"method": "ks"}}})
    with pytest.raises(ConfigError, match="'ks' cannot test the categorical feature 'g'"):
        compare(con, "cats", sketches, settings)


def test_dataset_verdict_follows_the_share(
    con: duckdb.DuckDBPyConnection, sketched: dict[str, NumericSketch]
) -> None:
    result = compare(con, "cur", sketched, DriftSettings())
    drifted = sum(f.drifted for f in result.features)
    assert result.drift_share == drifted / len(SHAPES)
    assert 0 < drifted < len(SHAPES)
    at_share = compare(con, "cur", sketched, DriftSettings(share=result.drift_share))
    assert at_share.dataset_drift is True  # the share reaches the threshold
    above = compare(con, "cur", sketched, DriftSettings(share=min(1.0, result.drift_share + 0.01)))
    assert above.dataset_drift is False


def test_the_reference_leaves_imputed_cells_out() -> None:
    """The run's sketch skips what the quality step imputed: the current side has no
    imputation, so both compare observed values."""
    from audience.mlops import keep_reference, load_sketches
    from audience.store.warehouse import Warehouse

    with Warehouse(":memory:") as warehouse:
        warehouse.migrate()
        con = warehouse.con
        con.execute(
            """CREATE TEMP TABLE feats AS SELECT i::VARCHAR AS customer_id, i * 1.0 AS x,
                      i % 4 = 0 AS x_imputed, 'g' || (i % 3) AS region, 7 AS y
               FROM range(2000) t(i)"""
        )
        kept = keep_reference(
            con, "run-1", ["x", "region", "traits.tier"], DriftSettings(), "feats"
        )
        sketches = load_sketches(con, "run-1")
    assert kept == ["x", "region"]  # a custom trait is not a column of features
    x = sketches["x"]
    assert isinstance(x, NumericSketch)
    assert (x.count, x.missing) == (1500, 500)
    assert x.mean == pytest.approx(np.mean([i for i in range(2000) if i % 4]))
    assert sketches["region"].kind == "categorical"
