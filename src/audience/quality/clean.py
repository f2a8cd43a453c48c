"""``audience clean``: normalise, quarantine the unusable, resolve identities, build profiles.

Reconciled per source: records in = kept (the record that names its profile) + merged into
another record's profile + quarantined. Nothing imported is changed or deleted: cleaning
writes its own tables and can be re-run at any time.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from audience.config import WorkspaceConfig
from audience.model.progress import Progress, no_progress
from audience.quality.normalise import normalise_category, status_counts
from audience.quality.normalised_records import normalise_records
from audience.quality.resolve import USABLE, Resolution, resolve_identities
from audience.quality.survivorship import build_profiles
from audience.store.warehouse import scalar

NO_IDENTIFIER = "no_usable_identifier"


@dataclass
class SourceCounts:
    records_in: int
    kept: int
    merged: int
    quarantined: int

    @property
    def reconciled(self) -> bool:
        return self.records_in == self.kept + self.merged + self.quarantined


@dataclass
class CleanReport:
    """What a cleaning did, as printed and as ``--json``."""

    run_id: str
    records: int
    profiles: int
    sources: dict[str, SourceCounts]
    rules: dict[str, int]
    normalisers: dict[str, dict[str, int]]
    hubs: list[dict[str, object]]
    unmapped_cities: dict[str, int]
    unmapped_categories: dict[str, int]
    seconds: float
    duplicate_rate: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        return all(s.reconciled for s in self.sources.values())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = {
            k: {**asdict(v), "reconciled": v.reconciled} for k, v in self.sources.items()
        }
        data["reconciled"] = self.reconciled
        return data


CLEAN_STEPS = 4
"""Normalise, resolve into people, map categories, reconcile: what ``progress`` counts."""


def clean_workspace(
    con: duckdb.DuckDBPyConnection,
    config: WorkspaceConfig,
    now: datetime,
    progress: Progress = no_progress,
) -> CleanReport:
    started = time.perf_counter()
    progress(0, CLEAN_STEPS)
    results = normalise_records(con, config, now)
    progress(1, CLEAN_STEPS)
    resolution = rebuild_people(con, config, now)
    progress(2, CLEAN_STEPS)
    categories = _map_categories(con, config)
    progress(3, CLEAN_STEPS)
    report = CleanReport(
        run_id=f"clean-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}",
        records=int(scalar(con, "SELECT count(*) FROM customer_records_clean")),
        profiles=resolution.profiles,
        sources=_reconcile(con),
        rules=resolution.rule_counts,
        normalisers={name: status_counts(result) for name, result in results.items()},
        hubs=resolution.hubs,
        unmapped_cities=_unmapped_cities(con),
        unmapped_categories=categories,
        seconds=round(time.perf_counter() - started, 3),
    )
    report.duplicate_rate = round(resolution.records_merged / max(resolution.records, 1), 4)
    report.warnings = _warnings(report, resolution)
    con.execute(
        "INSERT INTO clean_runs VALUES (?, ?, ?)",
        [report.run_id, now, json.dumps(report.to_dict(), default=str)],
    )
    progress(CLEAN_STEPS, CLEAN_STEPS)
    return report


def rebuild_people(
    con: duckdb.DuckDBPyConnection, config: WorkspaceConfig, now: datetime
) -> Resolution:
    """From normalised records to profiles: quarantine, resolve identities, survivorship."""
    _quarantine_unusable(con, now)
    resolution = resolve_identities(con, config.quality.dedupe, now)
    build_profiles(con, config.quality.source_priority, now)
    return resolution


def _quarantine_unusable(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Records nobody can reach nor match, and who never bought nor showed up in events.

    They go to quarantine (reason ``no_usable_identifier``) and stay out of profiles; the
    imported row itself is untouched, so fixing it and re-importing brings it back.
    """
    con.execute("DELETE FROM quarantine WHERE source_file = '(clean)' AND status = 'open'")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _unusable AS
            SELECT record_id FROM customer_records_clean c
            WHERE email_status NOT IN {USABLE} AND phone_status NOT IN {USABLE}
              AND NOT (first_name IS NOT NULL AND last_name IS NOT NULL
                       AND birth_date IS NOT NULL)
              AND record_id NOT IN (SELECT customer_id FROM order_lines)
              AND record_id NOT IN (SELECT user_id FROM events WHERE user_id IS NOT NULL)"""
    )
    # Cleaning has no file line: the record id names the row (sha256 'clean:<id>', line 0).
    con.execute(
        f"""INSERT INTO quarantine (import_id, kind, source_file, sha256, line, code, reason,
                                   raw, status, quarantined_at)
            SELECT c.import_id, 'customers', '(clean)', 'clean:' || c.customer_id, 0,
                   '{NO_IDENTIFIER}',
                   '{NO_IDENTIFIER}: no valid e-mail, no valid phone, no name with birth date, '
                   || 'no order and no event', to_json(c), 'open', ?
            FROM customers c WHERE customer_id IN (SELECT record_id FROM _unusable)
            ON CONFLICT DO NOTHING""",
        [now],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _records AS SELECT * FROM customer_records_clean "
        "WHERE record_id NOT IN (SELECT record_id FROM _unusable)"
    )


def _reconcile(con: duckdb.DuckDBPyConnection) -> dict[str, SourceCounts]:
    rows = con.execute(
        """SELECT c.source, count(*),
                  count(*) FILTER (WHERE m.profile_id = c.record_id),
                  count(*) FILTER (WHERE m.profile_id <> c.record_id),
                  count(*) FILTER (WHERE u.record_id IS NOT NULL)
           FROM customer_records_clean c
           LEFT JOIN profile_members m USING (record_id)
           LEFT JOIN _unusable u USING (record_id)
           GROUP BY c.source ORDER BY c.source"""
    ).fetchall()
    return {str(s): SourceCounts(int(n), int(k), int(m), int(q)) for s, n, k, m, q in rows}


def _map_categories(con: duckdb.DuckDBPyConnection, config: WorkspaceConfig) -> dict[str, int]:
    """Rebuild ``category_map``; returns unmapped categories with their line counts."""
    counts = con.sql(
        "SELECT category, count(*) AS n FROM order_lines WHERE category IS NOT NULL GROUP BY 1"
    ).df()
    con.execute("DELETE FROM category_map")
    if counts.empty:
        return {}
    result = normalise_category(
        counts["category"], config.quality.taxonomy, min_score=config.quality.category_min_score
    )
    frame = pd.DataFrame(
        {
            "raw": counts["category"],
            "category": result["value"],
            "status": result["status"],
            "score": result["score"],
        }
    )
    con.register("_categories", frame)
    con.execute("INSERT INTO category_map SELECT * FROM _categories")
    con.unregister("_categories")
    unmapped = frame.assign(n=counts["n"])[frame["status"] == "unmapped"]
    unmapped = unmapped.sort_values(["n", "raw"], ascending=[False, True]).head(50)
    return {str(raw): int(n) for raw, n in zip(unmapped["raw"], unmapped["n"], strict=True)}


def _unmapped_cities(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.execute(
        """SELECT cu.city, count(*) FROM customer_records_clean c
           JOIN customers cu ON cu.customer_id = c.record_id
           WHERE c.city_status IN ('unmapped', 'ambiguous') AND cu.city IS NOT NULL
           GROUP BY cu.city ORDER BY count(*) DESC, cu.city LIMIT 50"""
    ).fetchall()
    return {str(city): int(n) for city, n in rows}


def _warnings(report: CleanReport, resolution: Resolution) -> list[str]:
    warnings = []
    if resolution.hubs:
        first = resolution.hubs[0]
        warnings.append(
            f"{len(resolution.hubs)} identifier value(s) shared by too many records were "
            f"ignored (for example {first['value']!r}, {first['records']} records)"
        )
    if not report.reconciled:
        warnings.append("records do not reconcile for some source: please report this bug")
    return warnings
