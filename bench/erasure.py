"""Benchmark: forget persons in a large workspace, beside a naive per-table DELETE loop.

The workspace is the demo data set (``audience.ingest.demo.generate``) of N customers
(default 1,000,000), imported, cleaned (profiles, identities) and with features, built once
into ``--workdir`` and reused. Then, on copies of nothing (each run forgets other persons):

1. **one person**: ``pipelines.privacy.forget`` with one e-mail, ``--repeat`` times (each a
   different person): median and spread (min-max) of the wall time (target <= 2 s). Before,
   the events are indexed (their ids and the personal tokens of their JSON,
   :mod:`audience.privacy.event_tokens`), timed apart: the cost an events import pays for it
   (``pipelines.imports``), so that no erasure does;
2. **the naive loop** for one person: what one writes first -- for every table and every
   id column, one ``DELETE ... WHERE col = ?`` per identifier form, each its own statement
   and commit, and a ``LIKE '%form%'`` scan per raw-text column and form; same persons'
   neighbours, same median;
3. **10,000 persons in one request** (customer ids), once (target <= 60 s), beside the naive
   loop on 100 persons extrapolated linearly to 10,000 (running it whole would take hours).

The ratios are printed: a shared 2-core machine makes absolute seconds say little.

Run: ``.venv/bin/python bench/erasure.py [--customers 1000000] [--workdir /tmp/erasure]``
with ``AUDIENCE_PRIVACY__KEY`` set (any 16+ characters; the bench sets one otherwise).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date, datetime
from pathlib import Path

from audience.config.settings import PrivacySettings, Settings
from audience.model.identifiers import PersonQuery
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace

NOW = datetime(2026, 11, 25, 12)
ID_COLUMNS = {
    "events": ["user_id", "anonymous_id", "previous_id"],
    "order_lines": ["customer_id"],
    "customers": ["customer_id", "email", "phone"],
    "customer_records_clean": ["record_id", "email", "phone"],
    "identities": ["customer_id", "id_value"],
    "profile_members": ["record_id", "profile_id"],
    "profiles": ["profile_id", "email", "phone"],
    "merges": ["profile_id", "record_id", "linked_to"],
    "trait_conflicts": ["profile_id"],
    "anonymous_links": ["anonymous_id", "user_id"],
    "memberships": ["customer_id"],
    "membership_reasons": ["customer_id"],
    "features": ["customer_id"],
    "predictions": ["customer_id"],
    "consents": ["customer_id"],
    "deliveries": ["customer_id"],
}
TEXT_COLUMNS = {
    "events": ["properties", "traits", "context"],
    "quarantine": ["raw"],
    "dead_letters": ["payload"],
    "import_replaced_rows": ["row"],
}


def build(root: Path, customers: int) -> Workspace:
    if (root / "ws" / "warehouse.duckdb").exists():
        return Workspace.open(root / "ws", settings(), FixedClock(NOW))
    from audience.features.behaviour import compute_features
    from audience.ingest.demo.generate import generate
    from audience.ingest.importer import import_file
    from audience.quality.clean import clean_workspace

    started = time.perf_counter()
    files = generate(customers, root / "data", seed=3, end=date(2026, 11, 25))
    ws = Workspace.init(root / "ws")
    ws = Workspace.open(ws.root, settings(), FixedClock(NOW))
    for kind, path in (
        ("customers", files.customers),
        ("orders", files.orders),
        ("events", files.events),
    ):
        import_file(ws, kind, path, accept_partial=True)
    with ws.warehouse() as warehouse:
        with warehouse.transaction() as con:
            clean_workspace(con, ws.config, NOW)
        compute_features(warehouse.con, ws.config.features, now=NOW)
    print(f"built {customers:,} customers in {time.perf_counter() - started:.0f}s")
    return ws


def index(ws: Workspace) -> float:
    """Index the events' ids and JSON tokens (:mod:`audience.privacy.event_tokens`): what
    ``pipelines.imports`` adds to an events import, timed apart here (the workspace is built
    with the bare importer, or was built before the index moved to the import)."""
    from audience.privacy.event_tokens import refresh

    started = time.perf_counter()
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        refresh(con, NOW)
    return time.perf_counter() - started


def settings() -> Settings:
    key = os.environ.get("AUDIENCE_PRIVACY__KEY") or "bench-privacy-key-0123456789"
    return Settings(privacy=PrivacySettings(key=key))


def persons(ws: Workspace, n: int, offset: int) -> list[tuple[str, str]]:
    """(profile id, e-mail) of persons with an e-mail, a fixed slice of a fixed order."""
    with ws.warehouse(read_only=True) as warehouse:
        return [
            (str(p), str(e))
            for p, e in warehouse.con.execute(
                """SELECT profile_id, email FROM profiles WHERE email IS NOT NULL
                   ORDER BY hash(profile_id) LIMIT ? OFFSET ?""",
                [n, offset],
            ).fetchall()
        ]


def product(ws: Workspace, queries: list[PersonQuery]) -> float:
    from audience.pipelines.privacy import RegulationRequest, forget

    started = time.perf_counter()
    receipt = forget(ws, RegulationRequest(queries, "suppress-and-delete", True, "bench"))
    elapsed = time.perf_counter() - started
    assert receipt.persons >= len(queries), receipt.to_dict()
    return elapsed


def naive(ws: Workspace, targets: list[tuple[str, str]]) -> float:
    """One statement per table, column and identifier form, each committed on its own."""
    started = time.perf_counter()
    with ws.warehouse() as warehouse:
        con = warehouse.con
        for profile, email in targets:
            forms = [profile, email]
            forms += [
                str(v)
                for (v,) in con.execute(
                    "SELECT id_value FROM identities WHERE customer_id = ?", [profile]
                ).fetchall()
            ]
            for table, columns in ID_COLUMNS.items():
                for column in columns:
                    for form in forms:
                        con.execute(f'DELETE FROM "{table}" WHERE "{column}" = ?', [form])
            for table, columns in TEXT_COLUMNS.items():
                for column in columns:
                    for form in forms:
                        con.execute(
                            f'DELETE FROM "{table}" WHERE "{column}"::VARCHAR LIKE ?',
                            [f"%{form}%"],
                        )
    return time.perf_counter() - started


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.3f}s (min {min(values):.3f}, max {max(values):.3f},"
        f" n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--naive-batch", type=int, default=100)
    parser.add_argument(
        "--naive-repeat", type=int, default=None, help="Naive single runs (default: --repeat)."
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/audience-bench-erasure"))
    args = parser.parse_args()
    ws = build(args.workdir, args.customers)
    with ws.warehouse(read_only=True) as warehouse:
        counts = {t: warehouse.count(t) for t in ("customers", "profiles", "events", "order_lines")}
    print("workspace:", ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    naive_repeat = args.repeat if args.naive_repeat is None else args.naive_repeat
    pool = persons(ws, args.repeat + naive_repeat + args.persons + args.naive_batch, 0)
    print(f"index the events for erasure (the import's added cost): {index(ws):.1f}s")
    ones = [product(ws, [PersonQuery("email", e)]) for _, e in pool[: args.repeat]]
    naives = [naive(ws, [p]) for p in pool[args.repeat : args.repeat + naive_repeat]]
    print(f"forget 1 person   : {spread(ones)}")
    print(f"naive loop, 1     : {spread(naives)}")
    print(f"ratio naive/forget: {statistics.median(naives) / statistics.median(ones):.1f}x")
    start = args.repeat + naive_repeat
    batch = pool[start : start + args.persons]
    many = product(ws, [PersonQuery("customer", p) for p, _ in batch])
    rest = pool[start + args.persons :]
    slow = naive(ws, rest) if rest else statistics.median(naives) * max(1, len(rest))
    projected = slow / max(1, len(rest)) * args.persons
    print(f"forget {len(batch):,} persons in one request: {many:.1f}s")
    print(
        f"naive loop, {len(rest)} persons: {slow:.1f}s -> {projected:.0f}s projected for "
        f"{args.persons:,} (ratio {projected / many:.0f}x)"
    )


if __name__ == "__main__":
    main()
