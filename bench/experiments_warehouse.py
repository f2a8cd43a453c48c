"""Benchmark (issue 14, part 2): analysing 10 million exposures in the warehouse vs pandas.

A synthetic warehouse is generated in DuckDB with a fixed seed: N exposures (default
10,000,000) of one experiment with 3 variants, each person in one of 20 segments, and about
0.4 orders per person around her exposure (treatments buy a little more). The analysis is
revenue per variant and per segment, with the pre-period for CUPED:

* **Audience**: :func:`audience.experiments.metrics.metric_stats` (every sum in one SQL query,
  ``GROUP BY variant, segment``), then the engine on the 20 segments and Holm across them;
* **pandas baseline**, timed two ways: *from the warehouse*, as a notebook does it (read the
  two tables out of DuckDB into DataFrames, then compute) — the side the target compares
  with, since Audience also starts from the warehouse; and *in memory*, on DataFrames already
  loaded (the read not counted, the fastest pandas can be). The computation is the merge,
  window filters, a groupby per person then per (variant, segment) for the same sums, then
  the same engine.

Both must give the same sums (checked). Each side runs ``--repeats`` times; the median and the
spread (min-max) are printed with the ratio. Targets: Audience <= 5 s and >= 5x the baseline.

Run: ``.venv/bin/python bench/experiments_warehouse.py [--exposures 10000000] [--repeats 3]``;
``bench/experiments.py --part warehouse`` calls :func:`run_warehouse`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime

import duckdb
import pandas as pd

from audience.experiments.analysis import adjust, analyze
from audience.experiments.definitions import ExperimentDefinition, Variant
from audience.experiments.metrics import GroupStats, Sources, metric_stats
from audience.experiments.records import AnalysisOptions, AnalysisResult, VariantStats
from audience.experiments.registry import Experiment

VARIANTS = ("control", "a", "b")
SEGMENTS = 20
WINDOW, LOOKBACK = 14, 14
START = datetime(2030, 1, 1)
SOURCES = Sources(exposures="x_bench", orders="o_bench", events="e_bench", group="segment")


def generate(con: duckdb.DuckDBPyConnection, n: int, seed: int = 7) -> None:
    """Exposures, orders (0.4 per person) and an empty events table, all in DuckDB."""
    con.execute(f"SELECT setseed({1 / (seed + 1)})")
    con.execute(f"""CREATE OR REPLACE TABLE x_bench AS
        SELECT 'bench' AS experiment, i AS customer_id,
               ['control', 'a', 'b'][1 + (hash(i) % 3)::INTEGER] AS variant,
               TIMESTAMP '{START}' + to_seconds((random() * 20 * 86400)::BIGINT) AS exposed_at,
               (i % {SEGMENTS})::INTEGER AS segment
        FROM range({n}) t(i)""")
    con.execute(f"""CREATE OR REPLACE TABLE o_bench AS
        SELECT x.customer_id,
               x.exposed_at + to_seconds(((random() - 0.45) * 40 * 86400)::BIGINT) AS ordered_at,
               round(random() * 100 * (CASE x.variant WHEN 'control' THEN 1.0 WHEN 'a' THEN 1.02
                                                     ELSE 1.05 END), 2)::DECIMAL(18, 2) AS total
        FROM x_bench x JOIN range({int(n * 0.4)}) r(j) ON x.customer_id = (hash(j) % {n})""")
    con.execute(
        "CREATE OR REPLACE TABLE e_bench (customer_id BIGINT, type VARCHAR, event VARCHAR, "
        '"timestamp" TIMESTAMP)'
    )


def _experiment() -> Experiment:
    definition = ExperimentDefinition(
        "bench",
        "bench",
        tuple(Variant(v, 100 / 3) for v in VARIANTS),
        metric="revenue",
        window_days=WINDOW,
        lookback_days=LOOKBACK,
    )
    return Experiment(definition, "bench", "bench", "bench", 0.0, 1.0, "running", START)


def _analyse(groups: list[GroupStats]) -> list[AnalysisResult]:
    options = AnalysisOptions(cuped=True, expected_weights=(1 / 3, 1 / 3, 1 / 3))
    return adjust([analyze("revenue", g.variants, options, g.group) for g in groups], "holm")


def audience_side(con: duckdb.DuckDBPyConnection) -> list[GroupStats]:
    groups = metric_stats(con, _experiment(), "revenue", (), SOURCES)
    _analyse(groups)
    return groups


def pandas_side(exposures: pd.DataFrame, orders: pd.DataFrame) -> list[GroupStats]:
    joined = exposures.merge(orders, on="customer_id", how="inner")
    delta = joined.ordered_at - joined.exposed_at
    post = (delta >= pd.Timedelta(0)) & (delta < pd.Timedelta(days=WINDOW))
    pre = (delta < pd.Timedelta(0)) & (delta >= -pd.Timedelta(days=LOOKBACK))
    joined["value"] = joined.total.where(post, 0.0)
    joined["pre"] = joined.total.where(pre, 0.0)
    per_person = joined.groupby("customer_id")[["value", "pre"]].sum()
    people = exposures.set_index("customer_id").join(per_person).fillna({"value": 0, "pre": 0})
    people["vv"], people["pp"] = people.value**2, people.pre**2
    people["vp"] = people.value * people.pre
    sums = people.groupby(["segment", "variant"]).agg(
        n=("value", "size"),
        s=("value", "sum"),
        ss=("vv", "sum"),
        ps=("pre", "sum"),
        pss=("pp", "sum"),
        pcs=("vp", "sum"),
    )
    groups = []
    for segment in sorted(exposures.segment.unique()):
        part = sums.loc[segment]
        variants = tuple(
            VariantStats(v, int(r.n), r.s, r.ss, False, None, None, None, r.ps, r.pss, r.pcs)
            for v in VARIANTS
            for r in [part.loc[v]]
        )
        groups.append(GroupStats("revenue", str(segment), variants))
    _analyse(groups)
    return groups


def _frames(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    x = con.execute("SELECT customer_id, variant, exposed_at, segment FROM x_bench").df()
    o = con.execute("SELECT customer_id, ordered_at, total::DOUBLE AS total FROM o_bench").df()
    return x, o


def _timed(run: Callable[[], list[GroupStats]]) -> tuple[float, list[GroupStats]]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def _same(a: list[GroupStats], b: list[GroupStats]) -> None:
    left = {g.group: g.variants for g in a}
    for group in b:
        for x, y in zip(left[group.group], group.variants, strict=True):
            if x.n != y.n or abs(x.sum - y.sum) > 1e-6 * max(1.0, abs(y.sum)):
                raise SystemExit(f"the two sides disagree in segment {group.group}: {x} {y}")


def run_warehouse(exposures: int = 10_000_000, repeats: int = 3) -> dict[str, float]:
    """Generate, time both sides, print median and spread, return the medians and ratio."""
    con = duckdb.connect()
    started = time.perf_counter()
    generate(con, exposures)
    n_orders = con.execute("SELECT count(*) FROM o_bench").fetchone()
    print(
        f"generated {exposures:,} exposures x {len(VARIANTS)} variants x {SEGMENTS} segments, "
        f"{n_orders[0] if n_orders else 0:,} orders in {time.perf_counter() - started:.1f} s"
    )
    x, o = _frames(con)
    ours: list[float] = []
    theirs: list[float] = []
    loaded: list[float] = []
    # Alternated, so that a busy machine slows every side alike.
    for _ in range(repeats):
        seconds, groups = _timed(lambda: audience_side(con))
        ours.append(seconds)
        seconds, _ = _timed(lambda: pandas_side(*_frames(con)))
        theirs.append(seconds)
        seconds, baseline = _timed(lambda: pandas_side(x, o))
        loaded.append(seconds)
    _same(groups, baseline)
    ours_m, theirs_m, loaded_m = (statistics.median(t) for t in (ours, theirs, loaded))
    print(f"{'':38}{'median':>10}{'min':>10}{'max':>10}")
    for name, times in (
        ("audience (SQL + engine)", ours),
        ("pandas from the warehouse + engine", theirs),
        ("pandas, frames in memory + engine", loaded),
    ):
        print(f"{name:38}{statistics.median(times):>9.2f}s{min(times):>9.2f}s{max(times):>9.2f}s")
    ratio = theirs_m / ours_m
    print(
        f"ratio vs pandas from the warehouse: {ratio:.1f}x (target >= 5x); vs frames already in "
        f"memory: {loaded_m / ours_m:.1f}x; audience median {ours_m:.2f} s (target <= 5 s); "
        f"same sums in {len(groups)} segments"
    )
    return {
        "audience_s": ours_m,
        "pandas_s": theirs_m,
        "pandas_in_memory_s": loaded_m,
        "ratio": ratio,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exposures", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run_warehouse(args.exposures, args.repeats)


if __name__ == "__main__":
    main()
