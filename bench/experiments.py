"""Benchmark: experiments, (1) peeking at A/A tests, (2) the analysis in the warehouse.

1. **aa**: 2,000 A/A experiments (both arms convert at the same rate, so every "significant"
   result is a false positive), each looked at once a day for 30 days: Poisson traffic per
   arm and day, binomial conversions, cumulative sums per day, all vectorised in numpy. At
   each look the relative lift is tested as ``audience.experiments.analyze`` does: the
   fixed-horizon two-proportion z test (naive: stop at the first look with p < alpha) and the
   asymptotic confidence sequence (``--sequential``, tuning parameter ``--tuning``). It prints
   the share of experiments declared significant at any look, median and spread over
   ``--repeats`` repeats with their seeds: the naive rate is inflated (20-30 % at alpha
   0.05), the sequential one stays at or below alpha. A handful of (experiment, day) cells
   are re-analysed by the engine itself to prove the vectorised formulas are the engine's.
2. **warehouse**: the analysis of 10 million exposures x 3 variants x 20 segments in the
   warehouse against a pandas groupby baseline (``bench/experiments_warehouse.py``:
   generated in DuckDB, SQL sums + engine versus the same sums by pandas groupby).

Run: ``.venv/bin/python bench/experiments.py [--part aa|warehouse|all] [--experiments 2000]
[--days 30] [--repeats 3] [--seed 14] [--exposures 10000000]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy import stats

from audience.experiments import AnalysisOptions, VariantStats, analyze


def _p_values(
    n_c: np.ndarray,
    x_c: np.ndarray,
    n_t: np.ndarray,
    x_t: np.ndarray,
    alpha: float,
    tuning: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Naive (pooled z) and sequential p-values of the relative lift, cell by cell."""
    p_c, p_t = x_c / n_c, x_t / n_t
    pooled = (x_c + x_t) / (n_c + n_t)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = np.where(se > 0, 2 * stats.norm.sf(np.abs(p_t - p_c) / se), 1.0)
        # Delta-method variance of the relative lift, as the engine (frequentist.effect).
        lift = (p_t - p_c) / p_c
        variance = p_t * (1 - p_t) / (p_c**2 * n_t) + p_c * (1 - p_c) * p_t**2 / (p_c**4 * n_c)
        # Confidence sequence p-value, as the engine (sequential.p_value).
        log_alpha = -2 * np.log(alpha)
        r2 = (log_alpha + np.log(log_alpha + 1)) / tuning
        total = n_c + n_t
        spread = total * r2 + 1
        log_evalue = r2 * lift**2 * total / variance / (2 * spread) - 0.5 * np.log(spread)
        sequential = np.where(variance > 0, np.minimum(np.exp(-log_evalue), 1.0), 1.0)
    return naive, sequential


def _check_against_engine(
    n_c: np.ndarray,
    x_c: np.ndarray,
    n_t: np.ndarray,
    x_t: np.ndarray,
    naive: np.ndarray,
    sequential: np.ndarray,
    alpha: float,
    tuning: float,
    rng: np.random.Generator,
) -> None:
    for _ in range(5):
        i, d = int(rng.integers(n_c.shape[0])), int(rng.integers(n_c.shape[1]))
        if x_c[i, d] == 0:
            continue
        variants = [
            VariantStats("a", int(n_c[i, d]), float(x_c[i, d]), float(x_c[i, d]), True),
            VariantStats("b", int(n_t[i, d]), float(x_t[i, d]), float(x_t[i, d]), True),
        ]
        fixed = analyze("c", variants, AnalysisOptions(alpha=alpha)).variants[1].p_value
        always = analyze(
            "c", variants, AnalysisOptions(alpha=alpha, sequential=True, sequential_tuning=tuning)
        ).variants[1]
        pairs = ((fixed, naive[i, d]), (always.p_value, sequential[i, d]))
        for engine, vectorised in pairs:
            if engine is None or abs(engine - vectorised) > 1e-9 * max(engine, 1e-300):
                raise RuntimeError(f"the bench's formulas left the engine's: {pairs}")


def simulate(
    experiments: int,
    days: int,
    daily: float,
    rate: float,
    alpha: float,
    tuning: float,
    seed: int,
) -> tuple[float, float]:
    """False-positive rates (naive, sequential) at any of ``days`` daily looks."""
    rng = np.random.default_rng(seed)
    shape = (experiments, days)
    traffic_c, traffic_t = rng.poisson(daily, shape), rng.poisson(daily, shape)
    n_c, n_t = np.cumsum(traffic_c, axis=1), np.cumsum(traffic_t, axis=1)
    x_c = np.cumsum(rng.binomial(traffic_c, rate), axis=1)
    x_t = np.cumsum(rng.binomial(traffic_t, rate), axis=1)
    naive, sequential = _p_values(
        n_c.astype(float), x_c.astype(float), n_t.astype(float), x_t.astype(float), alpha, tuning
    )
    _check_against_engine(n_c, x_c, n_t, x_t, naive, sequential, alpha, tuning, rng)
    return (
        float(np.mean((naive < alpha).any(axis=1))),
        float(np.mean((sequential < alpha).any(axis=1))),
    )


def part_aa(args: argparse.Namespace) -> None:
    """Part 1: peeking at A/A experiments, naive versus sequential."""
    print(
        f"A/A: {args.experiments:,} experiments x {args.days} daily looks, "
        f"~{args.daily:g} units per arm and day, conversion {args.rate:g}, "
        f"alpha {args.alpha:g}, tuning {args.tuning:g}"
    )
    naive_rates, sequential_rates = [], []
    started = time.perf_counter()
    for repeat in range(args.repeats):
        seed = args.seed + repeat
        naive, sequential = simulate(
            args.experiments, args.days, args.daily, args.rate, args.alpha, args.tuning, seed
        )
        naive_rates.append(naive)
        sequential_rates.append(sequential)
        print(f"  seed {seed}: naive {naive:.1%}, sequential {sequential:.1%}")
    seconds = time.perf_counter() - started
    for label, rates in (("naive (z test)", naive_rates), ("sequential", sequential_rates)):
        print(
            f"{label:>15}: false positives at any look {statistics.median(rates):.1%} "
            f"(median of {len(rates)}; min {min(rates):.1%}, max {max(rates):.1%})"
        )
    verdict = "at or below" if max(sequential_rates) <= args.alpha else "ABOVE"
    print(f"sequential is {verdict} alpha {args.alpha:g}; {seconds:.1f}s in all")


def part_warehouse(args: argparse.Namespace) -> None:
    """Part 2: the warehouse analysis against pandas (:mod:`experiments_warehouse`)."""
    from experiments_warehouse import run_warehouse  # bench/ is the script's own folder

    print(f"warehouse: {args.exposures:,} exposures, {args.repeats} repeats")
    run_warehouse(args.exposures, args.repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["aa", "warehouse", "all"], default="all")
    parser.add_argument("--experiments", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--daily", type=float, default=200.0, help="Units per arm and day.")
    parser.add_argument("--rate", type=float, default=0.1, help="Conversion rate of both arms.")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--tuning", type=float, default=5000.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--exposures", type=int, default=10_000_000, help="Part 2's size.")
    args = parser.parse_args()
    if args.part in ("aa", "all"):
        part_aa(args)
    if args.part in ("warehouse", "all"):
        part_warehouse(args)


if __name__ == "__main__":
    main()
