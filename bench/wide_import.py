"""Importing a wide file: one row of 1,000 and of 10,000 columns, beside DuckDB reading it alone.

    python bench/wide_import.py [--columns 1000,10000] [--runs 5]

For each width, writes a customers CSV of one row (``id`` and unknown columns, which become
traits), then times, the median of ``--runs`` runs each:

- **audience**: ``import_file`` into a fresh workspace (detection, typing, traits, loading,
  the import recorded), as ``audience import customers`` runs it;
- **baseline**: DuckDB's ``read_csv`` of the same file alone into a table, every column as
  text: the floor of any import that reads the file with DuckDB.

Issue 11 found 200 s for 10,000 columns; the target is seconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from audience.ingest.importer import import_file
from audience.store.sql import sql_literal
from audience.store.workspace import Workspace


def write_wide(path: Path, columns: int) -> list[str]:
    """A one-row customers file of ``columns`` columns; returns its header."""
    header = ["id", *(f"col_{i}" for i in range(1, columns))]
    row = ["C1", *(f"value {i}" for i in range(1, columns))]
    path.write_text(";".join(header) + "\n" + ";".join(row) + "\n", encoding="utf-8")
    return header


def median_seconds(run: Callable[[int], None], runs: int) -> float:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--columns", default="1000,10000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-wide-"))
    try:
        for columns in (int(c) for c in args.columns.split(",")):
            path = tmp / f"wide-{columns}.csv"
            header = write_wide(path, columns)
            spec = "{" + ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in header) + "}"

            def audience(i: int, path: Path = path, columns: int = columns) -> None:
                report = import_file(Workspace.init(tmp / f"ws-{columns}-{i}"), "customers", path)
                assert report.rows_new == 1
                assert report.reconciled

            def baseline(i: int, path: Path = path, spec: str = spec) -> None:
                with duckdb.connect() as con:
                    con.execute(
                        f"CREATE TABLE t AS SELECT * FROM read_csv({sql_literal(str(path))}, "
                        f"delim=';', header=true, auto_detect=false, columns={spec})"
                    )

            ours = median_seconds(audience, args.runs)
            floor = median_seconds(baseline, args.runs)
            print(
                f"{columns:>6,} columns, 1 row: audience import {ours:6.2f} s; "
                f"DuckDB read_csv alone {floor:6.2f} s; ratio {ours / floor:4.1f}× "
                f"(median of {args.runs})",
                flush=True,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
