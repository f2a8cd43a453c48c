"""Drift detection at scale: Audience against Evidently on the same data, in the same run.

    python bench/drift.py [--rows 1000000] [--repeats 3] [--evidently-python PATH]

1. Generates a reference and a current table of ``--rows`` customers x 15 features shaped like
   the behavioural features (heavy tails, point masses at zero, counts, shares, missing
   values, categories), with shifts planted in some of them; written once as Parquet.
2. Runs, each repeat in its own process so that memory is its own:
   - **audience**: the reference sketched (:func:`audience.mlops.sketch_features`) and the
     current tested against the sketch (:func:`audience.mlops.compare`), both in DuckDB;
   - **evidently**: ``Report([DataDriftPreset()])`` on the two pandas frames, the tests it
     picks for this size (normed Wasserstein, Jensen-Shannon), threshold 0.1, share 0.5.
   Both start from the frames in memory (reading the Parquet files is not timed).
3. Prints per feature both statistics and verdicts, their agreement, the median time and peak
   extra memory (RSS sampled every 5 ms above the level before the timed part) of each with
   their spread, and the ratios.

Evidently 0.7 does not import with pandas 3 (the project's): it runs in a venv of its own,
``make bench-drift`` makes it (``.venv-evidently``: evidently 0.7.23 and pandas < 3), and
``--evidently-python`` names its interpreter. Without one, a plain SciPy baseline (the
same per-feature tests on the raw values, in the project's venv) stands in, and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
DEFAULT_EVIDENTLY = HERE.parent / ".venv-evidently" / "bin" / "python"
NUMERIC = [
    "recency_days",
    "frequency",
    "monetary",
    "avg_basket",
    "mean_days_between",
    "discount_share",
    "tenure_days",
    "age",
    "visits",
    "email_opens",
    "mobile_share",
    "orders_90d",
]
CATEGORICAL = ["region", "age_band", "channel"]
REGIONS = [f"region-{i:02d}" for i in range(13)]
BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]


# -- data ------------------------------------------------------------------------------------


def make_frame(n: int, seed: int, shifted: bool) -> Any:
    """One table; ``shifted`` plants the current's changes (some drift, some stay below)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    s = 1.0 if shifted else 0.0

    def with_missing(values: np.ndarray, share: float) -> np.ndarray:
        return np.where(rng.random(n) < share, np.nan, values)

    region_p = np.linspace(1, 2, 13) + s * np.linspace(0, 0.2, 13)  # mild: no drift
    band_p = np.array([1, 2, 2, 2, 1.5, 1]) + s * np.array([1.5, 1, 0, -0.5, -0.5, -0.3])
    return pd.DataFrame(
        {
            "recency_days": with_missing(rng.exponential(60, n), 0.3),
            "frequency": rng.poisson(2, n) + 1.0,
            "monetary": rng.lognormal(5 + 0.25 * s, 1, n),  # drift
            "avg_basket": rng.lognormal(4, 0.6, n),
            "mean_days_between": with_missing(rng.gamma(2, 30, n), 0.4),
            "discount_share": rng.beta(1, 8, n),
            "tenure_days": rng.uniform(0 + 100 * s, 2000 + 100 * s, n),  # drift
            "age": np.round(rng.normal(42 + 0.5 * s, 13, n)),  # slight: no drift
            "visits": np.where(rng.random(n) < 0.35 + 0.2 * s, 0.0, rng.exponential(4, n)),
            "email_opens": np.where(rng.random(n) < 0.5, 0.0, rng.exponential(2, n)),
            "mobile_share": rng.beta(2 + 0.1 * s, 2, n),  # slight: no drift
            "orders_90d": rng.binomial(3, 0.2 + 0.1 * s, n).astype(float),  # 4 values: drift
            "region": rng.choice(REGIONS, n, p=region_p / region_p.sum()),
            "age_band": rng.choice(BANDS, n, p=band_p / band_p.sum()),  # drift
            "channel": rng.choice(["web", "app", "store"], n, p=[0.5, 0.3, 0.2]),
        }
    )


# -- workers (each in its own process) ----------------------------------------------------------


class PeakRss:
    """Peak resident memory above the level at start, sampled every 5 ms (catches what
    DuckDB and NumPy allocate outside Python's allocator, which tracemalloc would miss)."""

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _rss(self) -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * self.page

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def load(data: Path) -> tuple[Any, Any]:
    import pandas as pd

    return pd.read_parquet(data / "reference.parquet"), pd.read_parquet(data / "current.parquet")


def worker_audience(data: Path) -> dict[str, Any]:
    import duckdb

    from audience.config.drift import DriftSettings
    from audience.mlops import compare, sketch_features

    ref, cur = load(data)
    con = duckdb.connect()
    with PeakRss() as memory:
        start = time.perf_counter()
        con.register("reference", ref)
        con.register("current", cur)
        sketches = sketch_features(con, "reference", [*NUMERIC, *CATEGORICAL])
        sketched = time.perf_counter()
        result = compare(con, "current", sketches, DriftSettings())
        done = time.perf_counter()
    sketch_bytes = sum(len(json.dumps(s.__dict__)) for s in sketches.values())
    return {
        "seconds": done - start,
        "sketch_seconds": sketched - start,
        "check_seconds": done - sketched,
        "extra_mb": memory.extra_mb,
        "sketch_kb": sketch_bytes / 1024,
        "dataset_drift": result.dataset_drift,
        "features": {
            f.feature: {"method": f.method, "value": f.statistic, "drift": f.drifted}
            for f in result.features
        },
    }


EVIDENTLY_METHODS = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
}


def worker_evidently(data: Path) -> dict[str, Any]:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = load(data)
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    with PeakRss() as memory:
        start = time.perf_counter()
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
        found = snapshot.dict()
        done = time.perf_counter()
    features, share = {}, None
    for metric in found["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            method = EVIDENTLY_METHODS.get(config["method"], config["method"])
            value, threshold = float(metric["value"]), float(config["threshold"])
            pvalue = method in ("ks", "chisquare", "z")
            drift = value < threshold if pvalue else value >= threshold
            features[config["column"]] = {"method": method, "value": value, "drift": drift}
        elif config.get("type", "").endswith("DriftedColumnsCount"):
            share = metric["value"]["share"]
    return {
        "seconds": done - start,
        "extra_mb": memory.extra_mb,
        "dataset_drift": share is not None and share >= 0.5,
        "features": features,
    }


def worker_scipy(data: Path) -> dict[str, Any]:
    """Plain per-feature baseline: the same tests on the raw values (pandas + SciPy)."""
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    ref, cur = load(data)
    features = {}
    with PeakRss() as memory:
        start = time.perf_counter()
        for name in NUMERIC:
            r, c = ref[name].dropna().to_numpy(), cur[name].dropna().to_numpy()
            if len(np.union1d(np.unique(r), np.unique(c))) <= 5:
                keys = np.union1d(np.unique(r), np.unique(c))
                p = np.array([(r == k).mean() for k in keys])
                q = np.array([(c == k).mean() for k in keys])
                value = float(jensenshannon(p, q))
                features[name] = {"method": "jensenshannon", "value": value, "drift": value >= 0.1}
                continue
            value = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
            features[name] = {"method": "wasserstein", "value": value, "drift": value >= 0.1}
        for name in CATEGORICAL:
            p_counts, q_counts = ref[name].value_counts(), cur[name].value_counts()
            keys = sorted(set(p_counts.index) | set(q_counts.index))
            p = p_counts.reindex(keys, fill_value=0).to_numpy(float)
            q = q_counts.reindex(keys, fill_value=0).to_numpy(float)
            value = float(jensenshannon(p / p.sum(), q / q.sum()))
            features[name] = {"method": "jensenshannon", "value": value, "drift": value >= 0.1}
        done = time.perf_counter()
    share = sum(f["drift"] for f in features.values()) / len(features)
    return {
        "seconds": done - start,
        "extra_mb": memory.extra_mb,
        "dataset_drift": share >= 0.5,
        "features": features,
    }


WORKERS = {"audience": worker_audience, "evidently": worker_evidently, "scipy": worker_scipy}


# -- the driver --------------------------------------------------------------------------------


def run_worker(kind: str, data: Path, python: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    if kind == "evidently":
        env.pop("PYTHONPATH")  # its own venv: nothing of the project's
    done = subprocess.run(
        [python, str(Path(__file__).resolve()), "--worker", kind, "--data", str(data)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def spread(values: list[float]) -> str:
    median = statistics.median(values)
    return f"{median:8.2f} (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--evidently-python", default=None)
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.data)))
        return

    evidently = args.evidently_python or (
        str(DEFAULT_EVIDENTLY) if DEFAULT_EVIDENTLY.exists() else None
    )
    baseline = "evidently" if evidently else "scipy"
    if not evidently:
        print(
            "Evidently not found (make bench-drift builds .venv-evidently): comparing with "
            "a plain SciPy per-feature baseline instead."
        )
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as tmp:
        data = Path(tmp)
        make_frame(args.rows, args.seed, shifted=False).to_parquet(data / "reference.parquet")
        make_frame(args.rows, args.seed + 1, shifted=True).to_parquet(data / "current.parquet")
        runs: dict[str, list[dict[str, Any]]] = {"audience": [], baseline: []}
        for repeat in range(args.repeats):
            for kind in ("audience", baseline):
                python = evidently if kind == "evidently" else sys.executable
                runs[kind].append(run_worker(kind, data, python or sys.executable))
                print(
                    f"repeat {repeat + 1}/{args.repeats} {kind}: {runs[kind][-1]['seconds']:.2f} s",
                    flush=True,
                )
    report(args, runs, baseline)


def report(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]], baseline: str) -> None:
    ours, theirs = runs["audience"][0], runs[baseline][0]
    print(
        f"\n{args.rows:,} customers x {len(NUMERIC) + len(CATEGORICAL)} features, reference "
        f"and current; {args.repeats} repeat(s)\n"
    )
    print(
        f"{'feature':<18} {'audience test':<14} {'value':>9} {'drift':>6}   "
        f"{baseline + ' test':<14} {'value':>9} {'drift':>6}  agree"
    )
    agree = 0
    for name in [*NUMERIC, *CATEGORICAL]:
        a, b = ours["features"][name], theirs["features"][name]
        same = a["drift"] == b["drift"]
        agree += same
        print(
            f"{name:<18} {a['method']:<14} {a['value']:9.4f} {a['drift']!s:>6}   "
            f"{b['method']:<14} {b['value']:9.4f} {b['drift']!s:>6}  {'yes' if same else 'NO'}"
        )
    total = len(NUMERIC) + len(CATEGORICAL)
    print(
        f"\nverdicts agree on {agree}/{total} features; dataset drift: audience "
        f"{ours['dataset_drift']}, {baseline} {theirs['dataset_drift']}"
    )
    t_ours = [r["seconds"] for r in runs["audience"]]
    t_theirs = [r["seconds"] for r in runs[baseline]]
    m_ours = [r["extra_mb"] for r in runs["audience"]]
    m_theirs = [r["extra_mb"] for r in runs[baseline]]
    print(f"\n{'':<10} {'seconds, median (spread)':<36} {'peak extra MB, median (spread)'}")
    print(f"{'audience':<10} {spread(t_ours):<36} {spread(m_ours)}")
    print(f"{'  sketch':<10} {spread([r['sketch_seconds'] for r in runs['audience']])}")
    print(f"{'  check':<10} {spread([r['check_seconds'] for r in runs['audience']])}")
    print(f"{baseline:<10} {spread(t_theirs):<36} {spread(m_theirs)}")
    print(f"\nsketch size (all features): {ours['sketch_kb']:.0f} KB")
    speed = statistics.median(t_theirs) / statistics.median(t_ours)
    memory = statistics.median(m_theirs) / max(statistics.median(m_ours), 1.0)
    print(
        f"audience is {speed:.1f}x faster than {baseline} (target >= 20x), and uses "
        f"{memory:.1f}x less peak extra memory"
    )


if __name__ == "__main__":
    main()
