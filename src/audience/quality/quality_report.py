"""The quality report: completeness, duplicates, invalid values, unmapped values, freshness."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from audience.store.warehouse import scalar

COMPLETENESS_COLUMNS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "city",
    "postcode",
    "signup_at",
)
# Statuses that mean a value could not be used as it was.
PROBLEMS = ("invalid", "typo_flagged", "unmapped", "ambiguous", "unknown")


def quality_report(
    con: duckdb.DuckDBPyConnection, freshness_days: int, now: datetime
) -> dict[str, Any]:
    """Everything the terminal and HTML quality reports show, as plain data."""
    latest = con.execute(
        "SELECT summary FROM clean_runs ORDER BY created_at DESC LIMIT 1"
    ).fetchall()
    clean: dict[str, Any] = json.loads(latest[0][0]) if latest else {}
    total = int(scalar(con, "SELECT count(*) FROM customers"))
    completeness = {}
    if total:
        counts = con.execute(
            "SELECT " + ", ".join(f"count({c})" for c in COMPLETENESS_COLUMNS) + " FROM customers"
        ).fetchall()[0]
        completeness = {
            c: round(n / total, 4) for c, n in zip(COMPLETENESS_COLUMNS, counts, strict=True)
        }
    invalid_rates = {
        name: {
            status: round(n / max(sum(counts.values()), 1), 4)
            for status, n in counts.items()
            if status in PROBLEMS
        }
        for name, counts in clean.get("normalisers", {}).items()
    }
    freshness = []
    for kind, source, last in con.execute(
        """SELECT kind, source_file, max(finished_at) FROM imports
           GROUP BY kind, source_file ORDER BY kind, source_file"""
    ).fetchall():
        age = (now - last).total_seconds() / 86400
        freshness.append(
            {
                "kind": kind,
                "source": source,
                "last_import": last.isoformat(),
                "age_days": round(age, 1),
                "stale": age > freshness_days,
            }
        )
    return {
        "records": total,
        "profiles": clean.get("profiles"),
        "duplicate_rate": clean.get("duplicate_rate"),
        "merge_rules": clean.get("rules", {}),
        "completeness": completeness,
        "invalid_rates": invalid_rates,
        "normalisers": clean.get("normalisers", {}),
        "unmapped_cities": clean.get("unmapped_cities", {}),
        "unmapped_categories": clean.get("unmapped_categories", {}),
        "freshness": freshness,
        "freshness_days": freshness_days,
        "quarantined": int(scalar(con, "SELECT count(*) FROM quarantine WHERE status = 'open'")),
        "sources": clean.get("sources", {}),
        "warnings": clean.get("warnings", [])
        + [
            f"{f['kind']} from {f['source']} is {f['age_days']} days old"
            for f in freshness
            if f["stale"]
        ],
    }
