"""Server time of every dashboard page on a demo workspace (issue 17: <= 300 ms at 1M customers).

    python bench/dashboard.py [--customers 1000000] [--repeat 20] [--out bench/out] [--reuse]

1. Builds the demo workspace (``audience demo``'s pipeline) of ``--customers`` customers, or
   reuses the one in ``--out`` with ``--reuse`` (``--refresh`` also recomputes the records the
   batch runs keep for the dashboard, for a workspace built before they existed).
2. Serves the dashboard in this process (the ASGI app, no network: server time only) and
   requests each page: once *first* (this process's first view: imports and templates),
   ``--repeat`` times *cold* (each after the warehouse file's time changed, as when a command
   wrote it: the record is read from the warehouse) and ``--repeat`` times *cached* (file
   unchanged: the record kept in memory, ``audience.ui.cache``), with a read key.
3. Prints p50/p95 per page beside the baseline in the same run: opening the warehouse
   read-only and closing it (the server holds no connection between requests, so that batch
   commands can write), and the ratio of each cold median to it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

END = date(2026, 11, 25)
BUDGET_MS = 300.0
READ_KEY = "bench-read-key-0123456789"


@contextmanager
def _step(description: str) -> Iterator[Any]:
    started = time.perf_counter()
    print(f"{description}…", file=sys.stderr, flush=True)
    yield lambda *args, **kwargs: None
    print(f"  {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)


def build(out: Path, customers: int, reuse: bool) -> Path:
    from audience.pipelines.demo import run_demo

    root = out / f"dashboard-{customers}"
    if reuse and (root / "warehouse.duckdb").exists():
        return root
    run_demo(root, customers, _step, seed=42, end=END)
    return root


def refresh(root: Path) -> None:
    from audience.pipelines.dashboard_refresh import refresh_page_snapshots
    from audience.store.workspace import Workspace

    workspace = Workspace.open(root)
    with (
        _step("Keeping the dashboard's records"),
        workspace.warehouse() as warehouse,
        warehouse.transaction() as con,
    ):
        refresh_page_snapshots(con, workspace.config, workspace.clock.now())


def pages(root: Path) -> dict[str, str]:
    """Every page, the segment page on the largest segment of the latest clustering run."""
    from audience.store.workspace import Workspace

    with Workspace.open(root).warehouse(read_only=True) as warehouse:
        largest = warehouse.con.execute(
            """SELECT m.segment_id FROM memberships m JOIN segment_runs r USING (run_id)
               WHERE m.valid_to IS NULL AND r.method NOT IN ('rules', 'clv_tiers', 'churn_bands')
               GROUP BY m.segment_id ORDER BY count(*) DESC LIMIT 1"""
        ).fetchall()[0][0]
    segment = quote(largest, safe="")
    return {
        "overview": "/ui/",
        "segments": "/ui/segments",
        "segment": f"/ui/segment?id={segment}",
        "segment search": f"/ui/segment?id={segment}&search=C00001",
        "segment page 20": f"/ui/segment?id={segment}&page=20",
        "map": "/ui/map",
        "predictions": "/ui/predictions",
        "cohorts": "/ui/cohorts",
        "experiments": "/ui/experiments",
        "runs": "/ui/runs",
        "quality": "/ui/quality",
        "live": "/ui/live",
    }


def baseline(root: Path, repeat: int) -> list[float]:
    """Milliseconds to open and close the warehouse read-only: the floor of every page."""
    from audience.store.workspace import Workspace

    workspace = Workspace.open(root)
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        workspace.warehouse(read_only=True).close()
        times.append((time.perf_counter() - started) * 1000)
    return times[1:]


@dataclass
class Timings:
    first: float
    """The first request of the page in this process (imports, templates compiled once)."""
    cold: list[float]
    """Each after the warehouse file changed: the page's record read from the warehouse."""
    cached: list[float]
    """Each with the file unchanged: the record kept in memory (``audience.ui.cache``)."""


def measure(root: Path, targets: dict[str, str], repeat: int) -> dict[str, Timings]:
    import httpx

    from audience.config.settings import ServerSettings, Settings
    from audience.store.workspace import Workspace
    from audience.ui import create_dashboard_app

    settings = Settings(server=ServerSettings(read_keys=[READ_KEY]))
    workspace = Workspace.open(root, settings)
    app = create_dashboard_app(workspace)
    auth = {"Authorization": "Basic " + base64.b64encode(f"{READ_KEY}:".encode()).decode()}
    database = workspace.warehouse_path
    stamp = [database.stat().st_mtime_ns]

    def changed() -> None:
        # What a command writing the warehouse does to the cache: a new file state.
        stamp[0] += 1_000_000_000
        os.utime(database, ns=(stamp[0], stamp[0]))

    async def run() -> dict[str, Timings]:
        transport = httpx.ASGITransport(app=app)
        found: dict[str, Timings] = {}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def get(path: str) -> float:
                started = time.perf_counter()
                answer = await client.get(path, headers=auth)
                elapsed = (time.perf_counter() - started) * 1000
                if answer.status_code != 200:
                    raise SystemExit(f"{path} answered {answer.status_code}")
                return elapsed

            for name, path in targets.items():
                first = await get(path)
                cold = []
                for _ in range(repeat):
                    changed()
                    cold.append(await get(path))
                cached = [await get(path) for _ in range(repeat)]
                found[name] = Timings(first, cold, cached)
        return found

    return asyncio.run(run())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--reuse", action="store_true", help="reuse a workspace built before")
    parser.add_argument(
        "--refresh", action="store_true", help="recompute the dashboard's kept records first"
    )
    args = parser.parse_args()
    root = build(args.out, args.customers, args.reuse)
    if args.refresh:
        refresh(root)
    floor = baseline(root, args.repeat)
    results = measure(root, pages(root), args.repeat)
    floor_p50, floor_p95 = statistics.median(floor), percentile(floor, 0.95)
    print(f"\n{args.customers:,} customers, {args.repeat} cold and {args.repeat} cached requests")
    print("per page (server time, ms); cold: after the warehouse file changed")
    print(
        f"{'page':<18}{'first':>8}{'cold p50':>10}{'p95':>8}{'x floor':>9}"
        f"{'cached p50':>12}{'p95':>8}  budget {BUDGET_MS:.0f} ms (cold and cached p95)"
    )
    print(f"{'(open warehouse)':<18}{'':>8}{floor_p50:>10.1f}{floor_p95:>8.1f}{1:>9.1f}")
    over = []
    for name, t in results.items():
        cold50, cold95 = statistics.median(t.cold), percentile(t.cold, 0.95)
        warm50, warm95 = statistics.median(t.cached), percentile(t.cached, 0.95)
        verdict = "ok" if max(cold95, warm95) <= BUDGET_MS else "OVER"
        if verdict == "OVER":
            over.append(name)
        print(
            f"{name:<18}{t.first:>8.1f}{cold50:>10.1f}{cold95:>8.1f}{cold50 / floor_p50:>9.1f}"
            f"{warm50:>12.1f}{warm95:>8.1f}  {verdict}"
        )
    print("\nevery page within budget" if not over else f"\nover budget: {', '.join(over)}")


if __name__ == "__main__":
    main()
