"""Benchmark: the batch path on DuckDB and on Spark (local[*]), per size, and the crossover.

For each size, generated customers (with their orders and events) are imported into a
workspace and exported as a Parquet lake. Then each engine runs in a fresh process of its
own, the same work: the features of every person (DuckDB: into the warehouse's table;
Spark: from the lake, written as Parquet), then RFM (quintile edges, a label per person,
written). Printed per size: median and spread of the repeats per engine, Spark's start-up
apart, the ratio Spark / DuckDB, and the peak resident memory of each engine (VmHWM of its
Python process, plus the JVM's for Spark). Spark does the work twice in its session: the
first run pays the JVM's warm-up (JIT compilation, generated code), the second is what a
long-lived session (a notebook, a cluster job's later steps) pays. The crossover is the
first size where Spark (start-up excluded, first run) is not slower; on 2 shared cores there
may be none.

Run: ``.venv/bin/python bench/spark.py [--sizes 10000,100000,1000000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from audience.ingest.demo.generate import generate
from audience.ingest.importer import import_file
from audience.store.lake import export_warehouse
from audience.store.workspace import Workspace

AS_OF = "2026-11-25T00:00:00"


def prepare(size: int, root: Path) -> Path:
    """A workspace of ``size`` generated customers, and its lake in <root>/lake."""
    files = generate(size, root / "data", seed=11, end=date(2026, 11, 25))
    ws = Workspace.init(root / "ws")
    for kind, path in (
        ("customers", files.customers),
        ("orders", files.orders),
        ("events", files.events),
    ):
        import_file(ws, kind, path)
    with ws.warehouse() as warehouse:
        export_warehouse(warehouse.con, ws.root / "lake")
    return ws.root


def high_water_mb(pid: int | str = "self") -> float:
    """Peak RSS (VmHWM) of a live process, in MB. Not getrusage: after fork and exec, Linux
    reports the forking parent's size as the child's ru_maxrss floor."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def jvm_high_water_mb() -> float:
    """VmHWM of the JVM pyspark started (its Python workers are not counted)."""
    from pyspark import SparkContext

    process = getattr(getattr(SparkContext, "_gateway", None), "proc", None)
    return high_water_mb(process.pid) if process is not None else 0.0


def worker_duckdb(root: Path) -> dict[str, float]:
    from datetime import datetime

    from audience.config import FeatureSettings
    from audience.features.behaviour import compute_features
    from audience.segmentation.rfm import RFM_FEATURES, RFMSegmenter

    ws = Workspace.open(root)
    start = time.perf_counter()
    with ws.warehouse() as warehouse:
        compute_features(
            warehouse.con, FeatureSettings(as_of=AS_OF), ws.config.timezone, now=datetime.now()
        )
        frame = warehouse.con.execute(
            f"SELECT customer_id, {', '.join(RFM_FEATURES)} FROM features"
        ).df()
        rfm = RFMSegmenter().fit(frame[list(RFM_FEATURES)])
        labels = rfm.predict(frame[list(RFM_FEATURES)])
        frame.assign(label=labels)[["customer_id", "label"]].to_parquet(root / "rfm.parquet")
    return {"work": time.perf_counter() - start, "startup": 0.0, "peak_mb": high_water_mb()}


def worker_spark(root: Path) -> dict[str, float]:
    from audience.config import FeatureSettings
    from audience.config.engine import SparkSettings
    from audience.features.on_spark import spark_features
    from audience.segmentation.on_spark import assign_on_spark, spark_rfm
    from audience.segmentation.rfm import RFM_FEATURES
    from audience.store.lake import register_lake
    from audience.store.spark_session import spark_session, stop_gateway

    ws = Workspace.open(root)
    begin = time.perf_counter()
    with spark_session(SparkSettings(master="local[*]", shuffle_partitions=4)) as spark:
        spark.range(1).count()  # the JVM and an executor ready, not timed as work
        ready = time.perf_counter()
        times = []
        for _ in range(2):  # the first pays the JVM's warm-up (JIT, code generation)
            started = time.perf_counter()
            register_lake(spark, root / "lake")
            _, features = spark_features(spark, FeatureSettings(as_of=AS_OF), ws.config.timezone)
            features = features.cache()
            features.write.mode("overwrite").parquet(str(root / "spark-features"))
            rfm = spark_rfm(features)
            assign_on_spark(features, rfm, RFM_FEATURES).write.mode("overwrite").parquet(
                str(root / "spark-rfm")
            )
            features.unpersist()
            times.append(time.perf_counter() - started)
        jvm = jvm_high_water_mb()
    stop_gateway()
    peak = high_water_mb() + jvm  # the driver's and the JVM's peaks, summed
    return {"work": times[0], "again": times[1], "startup": ready - begin, "peak_mb": peak}


def run_worker(engine: str, root: Path) -> dict[str, float]:
    """One measurement in a process of its own, so that peak memory is this engine's."""
    done = subprocess.run(
        [sys.executable, __file__, "--worker", engine, "--root", str(root)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {engine} worker failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def summary(values: list[float]) -> str:
    spread = max(values) - min(values) if len(values) > 1 else 0.0
    return f"{statistics.median(values):7.2f}s ±{spread / 2:5.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=["duckdb", "spark"])
    parser.add_argument("--root", type=Path)
    args = parser.parse_args()
    if args.worker:
        work = worker_duckdb if args.worker == "duckdb" else worker_spark
        result = work(args.root)
        print(json.dumps(result))
        return
    crossover = None
    print(
        f"{'customers':>10} {'duckdb':>15} {'spark':>15} {'spark again':>15} "
        f"{'spark start':>12} {'spark/duckdb':>12} {'again/duckdb':>12} {'duckdb MB':>10} "
        f"{'spark MB':>9}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
            root = prepare(size, Path(tmp))
            runs: dict[str, list[dict[str, float]]] = {"duckdb": [], "spark": []}
            for _ in range(args.repeats):  # interleaved: both see the same machine load
                for engine in runs:
                    runs[engine].append(run_worker(engine, root))
        duck = [r["work"] for r in runs["duckdb"]]
        spark = [r["work"] for r in runs["spark"]]
        again = [r["again"] for r in runs["spark"]]
        startup = statistics.median(r["startup"] for r in runs["spark"])
        ratio = statistics.median(spark) / statistics.median(duck)
        ratio_again = statistics.median(again) / statistics.median(duck)
        if crossover is None and ratio <= 1.0:
            crossover = size
        print(
            f"{size:>10,} {summary(duck):>15} {summary(spark):>15} {summary(again):>15} "
            f"{startup:>11.1f}s {ratio:>12.2f} {ratio_again:>12.2f} "
            f"{max(r['peak_mb'] for r in runs['duckdb']):>10.0f} "
            f"{max(r['peak_mb'] for r in runs['spark']):>9.0f}",
            flush=True,
        )
    print(
        f"crossover: {crossover:,} customers"
        if crossover
        else "crossover: none in these sizes (Spark slower at every size, start-up excluded)"
    )


if __name__ == "__main__":
    main()
