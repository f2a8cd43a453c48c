"""Cleaning and identity resolution at scale, beside pandas ``drop_duplicates``.

    python bench/clean.py [--customers 1000000] [--out bench/out] [--reuse]

Generates (or reuses) the demo's customers.csv with 5% planted duplicates, imports it, then
times ``clean_workspace`` (normalisers, quarantine, identity graph, survivorship, category
map). In the same run, the baseline: pandas reads the same file and drops duplicates on the
raw e-mail + phone key, the usual first attempt. Both are scored on the planted duplicates
(pairs of records of the same person found / planted, and how many found pairs are right).
The baseline leaves out rows whose e-mail and phone are both empty, as anyone would.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from itertools import combinations
from pathlib import Path

import pandas as pd


def duplicate_pairs(groups: pd.Series) -> set[tuple[str, str]]:
    """Pairs of record ids sharing a group, groups of one skipped."""
    sizes = groups.map(groups.value_counts())
    found: set[tuple[str, str]] = set()
    for members in groups[sizes > 1].groupby(groups[sizes > 1]).groups.values():
        found |= set(combinations(sorted(members), 2))
    return found


def score(found: set[tuple[str, str]], planted: set[tuple[str, str]]) -> tuple[float, float]:
    hits = len(found & planted)
    return hits / max(len(found), 1), hits / max(len(planted), 1)


def main() -> None:
    from audience.ingest.demo.generate import generate
    from audience.ingest.importer import import_file
    from audience.quality.clean import clean_workspace
    from audience.store.clock import SYSTEM_CLOCK
    from audience.store.workspace import Workspace

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--reuse", action="store_true", help="reuse the generated data")
    args = parser.parse_args()
    data = args.out / f"data-{args.customers}"
    if not (args.reuse and (data / "customers.csv").exists()):
        generate(args.customers, data, seed=42, end=date(2026, 11, 25))
    truth = pd.read_csv(data / "ground_truth.csv", dtype=str)
    planted = duplicate_pairs(truth.set_index("customer_ref")["person_id"])

    ws_dir = args.out / f"clean-ws-{args.customers}"
    if ws_dir.exists():
        import shutil

        shutil.rmtree(ws_dir)
    workspace = Workspace.init(ws_dir)
    started = time.perf_counter()
    import_file(workspace, "customers", data / "customers.csv")
    imported = time.perf_counter() - started
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        started = time.perf_counter()
        report = clean_workspace(con, workspace.config, SYSTEM_CLOCK.now())
        cleaned = time.perf_counter() - started
        members = con.execute("SELECT record_id, profile_id FROM profile_members").df()
    ours = score(duplicate_pairs(members.set_index("record_id")["profile_id"]), planted)

    started = time.perf_counter()
    raw = pd.read_csv(data / "customers.csv", sep=";", dtype=str, keep_default_na=False)
    raw["key"] = raw["email"] + "|" + raw["telephone"]
    keyed = raw[(raw["email"] != "") | (raw["telephone"] != "")]  # an empty key is no key
    kept = keyed.drop_duplicates(subset="key")
    baseline_time = time.perf_counter() - started
    first_of_key = kept.set_index("key")["id_client"]
    theirs = score(duplicate_pairs(keyed.set_index("id_client")["key"].map(first_of_key)), planted)

    n = report.records
    print(f"{n:,} records, {len(planted):,} planted duplicate pairs; import took {imported:.1f} s")
    print(f"\n{'':30}{'audience clean':>16}{'pandas dedupe':>16}{'ratio':>9}")
    print(f"{'seconds':30}{cleaned:>16.1f}{baseline_time:>16.1f}")
    print(
        f"{'records / s':30}{n / cleaned:>16,.0f}{n / baseline_time:>16,.0f}"
        f"{(n / cleaned) / (n / baseline_time):>9.2f}"
    )
    print(f"{'duplicate recall':30}{ours[1]:>16.3f}{theirs[1]:>16.3f}")
    print(f"{'duplicate precision':30}{ours[0]:>16.3f}{theirs[0]:>16.3f}")
    print(f"\nprofiles {report.profiles:,}; links {report.rules}; reconciled {report.reconciled}")
    print(
        "audience clean also normalises e-mails, phones, names, postcodes, cities and "
        "categories, quarantines the unusable and builds profiles; the baseline does none of it."
    )


if __name__ == "__main__":
    main()
