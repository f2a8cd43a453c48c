"""A user's own messy files, as a newcomer imports them: what is counted, before and after.

    python bench/own_files.py [--src DIR] [--json]

The files are ``tests/data/messy``: a CRM export of customers (Windows-1252, ``;``, CRLF,
French headers, two-digit years, ``13h45`` times, four accent-and-typo duplicates, a birth
date in 2087, a repeated line) and an order file (``N° commande``, Shopify-style
``2025-03-14 13:45:12 +0100`` dates, ``12,50 EUR`` amounts, a line for an unknown customer, a
negative amount, an empty quantity). The truth is known by construction: 34 good order lines
in 18 orders worth 1,859.15 EUR; 20 persons.

The newcomer's steps, run through the CLI in a fresh workspace:

1. ``audience import customers "Export clients CRM.csv"``
2. ``audience import orders commandes.csv``
3. the same with ``--map order_id="N° commande"`` (what one does on seeing the orders
   miscounted, or on being asked for it)

(each import with the ``--map customer_id=...`` and ``ordered_at=...`` the baseline asked
for: it knew neither ``Réf client`` nor ``Date de commande``)
4. ``audience clean``

then the warehouse is read: orders, revenue, lines, rows quarantined, persons. ``--src``
runs another checkout's code (``git worktree add /tmp/before <commit>``, then
``--src /tmp/before/src``): the baseline, side by side with this one. Exit status 1 when this
checkout's figures differ from the truth.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data" / "messy"
TRUTH = {"orders": 18, "revenue": 1859.15, "order_lines": 34, "persons": 20}


@dataclass
class Figures:
    exit_codes: list[int]
    orders: int
    order_lines: int
    revenue: float
    customers_loaded: int
    rows_quarantined: int
    persons: int

    @property
    def duplicates_merged(self) -> int:
        return self.customers_loaded - self.persons


def run(src: Path, workspace: Path) -> Figures:
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "100"}

    def audience(*args: str) -> int:
        done = subprocess.run(
            [sys.executable, "-m", "audience.cli", *args],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        print(f"$ audience {' '.join(args)}  → exit {done.returncode}", file=sys.stderr)
        print((done.stdout + done.stderr).strip()[-1500:], file=sys.stderr)
        return done.returncode

    # What the baseline asked for (it knew neither header): harmless where they are known.
    customer = ("--map", "customer_id=Réf client")
    ordered = ("--map", "ordered_at=Date de commande")
    order_id = ("--map", "order_id=N° commande")
    codes = [
        audience("init", "."),
        audience("import", "customers", str(DATA / "Export clients CRM.csv"), *customer),
        audience("import", "orders", str(DATA / "commandes.csv"), *customer, *ordered),
        audience("import", "orders", str(DATA / "commandes.csv"), *customer, *ordered, *order_id),
        audience("clean"),
    ]
    con = duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True)
    try:

        def one(sql: str) -> float:
            row = con.execute(sql).fetchone()
            return float(row[0] or 0) if row else 0.0

        return Figures(
            exit_codes=codes[1:],
            orders=int(one("SELECT count(DISTINCT order_id) FROM order_lines")),
            order_lines=int(one("SELECT count(*) FROM order_lines")),
            revenue=round(one("SELECT sum(amount) FROM order_lines"), 2),
            customers_loaded=int(one("SELECT count(*) FROM customers")),
            rows_quarantined=int(one("SELECT count(*) FROM quarantine WHERE status = 'open'")),
            persons=int(one("SELECT count(*) FROM profiles")),
        )
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, help="another checkout's src/ (the baseline)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = {"this checkout": HERE.parent / "src"}
    if args.src:
        runs = {"baseline": args.src.resolve(), **runs}
    results = {}
    for name, src in runs.items():
        with tempfile.TemporaryDirectory() as folder:
            results[name] = run(src, Path(folder))
    if args.json:
        print(json.dumps({k: asdict(v) for k, v in results.items()}, indent=2))
    else:
        width = max(map(len, results)) + 2
        print(f"{'':{width}}exit codes   orders  lines  revenue  quarantined  persons  merged")
        print(
            f"{'truth':{width}}{'':13}{TRUTH['orders']:>6}  {TRUTH['order_lines']:>5}  "
            f"{TRUTH['revenue']:>7,.2f}  {'':11}  {TRUTH['persons']:>7}"
        )
        for name, f in results.items():
            codes = ",".join(map(str, f.exit_codes))
            print(
                f"{name:{width}}{codes:13}{f.orders:>6}  {f.order_lines:>5}  {f.revenue:>7,.2f}  "
                f"{f.rows_quarantined:>11}  {f.persons:>7}  {f.duplicates_merged:>6}"
            )
    mine = results["this checkout"]
    right = (mine.orders, mine.order_lines, round(mine.revenue, 2), mine.persons) == (
        TRUTH["orders"],
        TRUTH["order_lines"],
        TRUTH["revenue"],
        TRUTH["persons"],
    )
    sys.exit(0 if right else 1)


if __name__ == "__main__":
    main()
