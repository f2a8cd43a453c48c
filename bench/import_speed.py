"""Import speed of customers, orders and events files, in rows per second, beside a baseline.

    python bench/import_speed.py [--customers N] [--repeat 3] [--src DIR] [--kinds ...]

The files are the demo's (:func:`audience.ingest.demo.generate.generate`, written once into
``bench/out``), the customer file with five more columns that map to no field (a category, a
number, a date, a yes/no and a free text: what a CRM export carries and what the import keeps
as typed custom traits). Each repeat imports customers, then orders, then events into a fresh
workspace, in a subprocess running the chosen checkout's code, and times each import (the
Python call, not the process start). Printed per kind: the median rows/s and the spread
(slowest to fastest) over the repeats, the median seconds and CPU seconds (all threads: steadier
than the wall clock on a machine others use), and a fingerprint of what was loaded (rows, revenue,
quarantined rows, trait catalogue) so that two states of this checkout can be checked to load
the same thing.

``--src`` runs another checkout's code as well, side by side, named by its commit (``git
worktree add /tmp/base 4aef4d1``, then ``--src /tmp/base/src``: the state before typed traits
and currency-aware amounts, which ignores the trait columns); it may be repeated.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ("customers", "orders", "events")

# Runs in the subprocess, with PYTHONPATH set to the checkout under test.
_WORKER = """
import json, sys, time
from pathlib import Path
import duckdb
from audience.ingest.importer import import_file
from audience.store.workspace import Workspace

root, files = Path(sys.argv[1]), json.loads(sys.argv[2])
workspace = Workspace.init(root)
timings = {}
for kind, path in files.items():
    started, cpu = time.perf_counter(), time.process_time()
    report = import_file(workspace, kind, Path(path))
    timings[kind] = {"seconds": time.perf_counter() - started, "rows": report.rows_read,
                     "cpu": time.process_time() - cpu}
con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
def one(sql):
    try:
        return con.execute(sql).fetchone()[0]
    except duckdb.Error:
        return None
fingerprint = {
    "customers": one("SELECT count(*) FROM customers"),
    "traits": one("SELECT md5(string_agg(CAST(traits AS VARCHAR), '|' ORDER BY customer_id))"
                  " FROM customers"),
    "catalog": one("SELECT string_agg(name || ':' || type, ',' ORDER BY name) FROM trait_catalog"),
    "order_lines": one("SELECT count(*) FROM order_lines"),
    "revenue": str(one("SELECT sum(amount) FROM order_lines")),
    "currencies": one("SELECT string_agg(DISTINCT currency, ',') FROM order_lines"),
    "events": one("SELECT count(*) FROM events"),
    "quarantined": one("SELECT count(*) FROM quarantine"),
}
print(json.dumps({"timings": timings, "fingerprint": fingerprint}))
"""

_TIERS = ("bronze", "silver", "gold", "platinum")


def demo_files(n_customers: int, out: Path) -> dict[str, Path]:
    """The demo files for ``n_customers`` in ``out`` (written once), customers with traits."""
    from audience.ingest.demo.generate import generate

    folder = out / f"demo-{n_customers}"
    customers = folder / "customers_traits.csv"
    if not customers.exists():
        generated = generate(n_customers, folder, end=date(2026, 6, 30), seed=42)
        with (
            generated.customers.open(newline="", encoding="utf-8") as source,
            customers.open("w", newline="", encoding="utf-8") as target,
        ):
            reader = csv.reader(source, delimiter=";")
            writer = csv.writer(target, delimiter=";")
            header = next(reader)
            writer.writerow([*header, "Loyalty Tier", "Score", "Membre depuis", "VIP", "Note"])
            for i, row in enumerate(reader):
                writer.writerow(
                    [
                        *row,
                        _TIERS[i % 4] if i % 7 else "",
                        f"{(i * 37) % 1000},{i % 10}" if i % 5 else str(i % 1000),
                        f"{1 + i % 28:02d}/{1 + i % 12:02d}/{2000 + i % 25}",
                        "oui" if i % 3 else "non",
                        f"client {i} aime le {('thé', 'café', 'chocolat')[i % 3]}",
                    ]
                )
    return {
        "customers": customers,
        "orders": folder / "orders.csv",
        "events": folder / "events.jsonl",
    }


def run_once(src: Path, files: dict[str, Path]) -> dict[str, object]:
    """One fresh workspace, the files imported in order by the code in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _WORKER,
                folder,
                json.dumps({k: str(p) for k, p in files.items()}),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        raise SystemExit(f"import with {src} failed:\n{done.stderr[-3000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _label(src: Path) -> str:
    """A baseline's name: its checkout's commit, else its folder."""
    done = subprocess.run(
        ["git", "-C", str(src), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else str(src)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20_000, help="demo customers")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--src",
        type=Path,
        action="append",
        default=[],
        help="another checkout's src/ (a baseline); may be repeated",
    )
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated, in order")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown kinds {sorted(unknown)}; expected some of {', '.join(KINDS)}")
    sys.path.insert(0, str(HERE.parent / "src"))
    files = {k: p for k, p in demo_files(args.customers, args.out).items() if k in kinds}
    checkouts = {_label(src): src.resolve() for src in args.src}
    checkouts["this checkout"] = HERE.parent / "src"
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in checkouts}
    for _ in range(args.repeat):  # interleaved, so that a busy moment hurts both alike
        for name, src in checkouts.items():
            runs[name].append(run_once(src, files))
    summary: dict[str, dict[str, object]] = {}
    for name, results in runs.items():
        per_kind: dict[str, object] = {}
        for kind in kinds:
            timings = [r["timings"][kind] for r in results]  # type: ignore[index]
            rates = sorted(t["rows"] / t["seconds"] for t in timings)
            per_kind[kind] = {
                "rows": timings[0]["rows"],
                "median_rows_per_s": statistics.median(rates),
                "min_rows_per_s": rates[0],
                "max_rows_per_s": rates[-1],
                "median_seconds": statistics.median(t["seconds"] for t in timings),
                "median_cpu_seconds": statistics.median(t["cpu"] for t in timings),
            }
        summary[name] = {"kinds": per_kind, "fingerprint": results[-1]["fingerprint"]}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.repeat} runs each; rows/s median (slowest–fastest), median seconds, CPU seconds")
    width = max(map(len, summary)) + 2
    print(f"{'':{width}}" + "".join(f"{k:>44}" for k in kinds))
    for name, s in summary.items():
        cells = []
        for kind in kinds:
            k = s["kinds"][kind]  # type: ignore[index]
            cells.append(
                f"{k['median_rows_per_s']:>9,.0f} ({k['min_rows_per_s']:,.0f}–"
                f"{k['max_rows_per_s']:,.0f}) {k['median_seconds']:5.2f}s "
                f"{k['median_cpu_seconds']:5.2f}cpu"
            )
        print(f"{name:{width}}" + "".join(f"{c:>44}" for c in cells))
    for name, s in summary.items():
        print(f"{name}: {json.dumps(s['fingerprint'], ensure_ascii=False)}")


if __name__ == "__main__":
    main()
