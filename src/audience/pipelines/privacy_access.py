"""Access, retention and compaction: everything held about a person (``audience
export-person``), deleting what is older than the workspace's retention (``audience retention
apply``), and rewriting the warehouse file so deleted rows' bytes leave it (``audience compact``).

Both chain the privacy stage with the live store (a person's live profile is part of what is
held about her) and leave an audit entry.
"""

from __future__ import annotations

import asyncio
from typing import Any

from audience.errors import AmbiguousPersonError
from audience.model.identifiers import PersonQuery
from audience.pipelines.privacy import subject_hash
from audience.privacy.audit import AuditEntry, record
from audience.privacy.erasure import drop_temp_tables, load_persons
from audience.privacy.event_tokens import refresh as refresh_event_tokens
from audience.privacy.locate import Person, locate
from audience.privacy.receipts import StoreReceipt, timed
from audience.store.privacy_key import privacy_key
from audience.store.warehouse import compact_file
from audience.store.workspace import Workspace


def export_person(workspace: Workspace, query: PersonQuery, actor: str) -> dict[str, Any]:
    """Everything held about the one person ``query`` names (Articles 15 and 20), with her
    live profile when the store has one; refused when it names several, empty when none."""
    from audience.privacy.access import FORMAT, person_data

    key = privacy_key(workspace.settings.privacy, workspace.root)
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        refresh_event_tokens(con, workspace.clock.now())  # locate reads the index
        located = locate(con, [query])
        keys = located.by_request[0]
        if len(keys) > 1:
            raise AmbiguousPersonError(
                f"{query} matches {len(keys)} persons ({', '.join(keys[:20])}); name one of "
                "them with its customer id"
            )
        if not keys:
            data: dict[str, Any] = {"format": FORMAT, "person": None, "tables": {}}
        else:
            person = located.persons[keys[0]]
            needles = load_persons(con, {person.key: person})
            data = person_data(con, person, needles)
            drop_temp_tables(con)
        record(
            con,
            AuditEntry(
                workspace.clock.now(),
                actor,
                "export-person",
                subject_hash(key, [query]),
                {"found": bool(keys), "tables": sorted(data["tables"])},
            ),
        )
    if keys:
        data["live_profile"] = _live_profile(workspace, located.persons[keys[0]])
    return data


def _live_profile(workspace: Workspace, person: Person) -> Any:
    from audience.realtime.runtime import build_store

    settings = workspace.settings
    if not settings.profiles.url and not (workspace.root / "realtime" / "profiles.sqlite").exists():
        return None

    async def run() -> Any:
        store = build_store(workspace, settings)
        await store.start()
        try:
            for identifier in sorted(person.user_ids | person.anonymous_ids):
                found = await store.get(identifier)
                if found is not None:
                    return found
            return None
        finally:
            await store.close()

    return asyncio.run(run())


def retention_apply(workspace: Workspace, *, dry_run: bool, actor: str) -> list[StoreReceipt]:
    """Delete (or count, ``dry_run``) what is older than ``privacy.retention_days`` allows."""
    from audience.privacy.retention import apply_retention

    days = {str(table): n for table, n in workspace.config.privacy.retention_days.items()}
    now = workspace.clock.now()
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        receipts = apply_retention(con, days, now, dry_run=dry_run)
        if not dry_run:
            record(
                con,
                AuditEntry(
                    now,
                    actor,
                    "retention",
                    None,
                    {r.store: r.deleted for r in receipts if r.deleted},
                ),
            )
    return receipts


def compact_warehouse(workspace: Workspace, actor: str) -> StoreReceipt:
    """Rewrite the warehouse file with only its live rows: after an erasure or retention, the
    deleted rows' bytes stay in DuckDB's free blocks until they are reused; the receipt gives
    the file's sizes before (found) and after (deleted = bytes dropped)."""
    receipt = StoreReceipt("warehouse:file")
    with timed(receipt):
        before, after = compact_file(workspace.warehouse_path)
        receipt.found, receipt.deleted = before, before - after
        receipt.detail = f"{before:,} -> {after:,} bytes"
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        detail = {"bytes_before": before, "bytes_after": after}
        record(con, AuditEntry(workspace.clock.now(), actor, "compact", None, detail))
    return receipt
