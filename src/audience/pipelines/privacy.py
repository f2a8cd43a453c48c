"""Forget a person everywhere Audience keeps her, and prove it with a receipt.

One regulation (``audience forget``, ``POST /v1/privacy/regulations``) runs, in order:

1. the warehouse, in one transaction: locate the persons (:mod:`audience.privacy.locate`),
   refuse when an identifier matches several and ``all_matches`` is off, remove her points
   from density models, DELETE from every table, turn her consents into a tombstone, add
   her identifiers to the suppression list, store the receipt and the audit entry;
2. the suppression list's copy the server reads (collector and consumer drop her events);
3. the live profile store (Redis or embedded), the queue (waiting messages of the embedded
   queue; dead letters of either queue), the event logs awaiting load or loaded, the
   segment-change log, export files, written reports;
4. the receipt again, with every store.

A store that fails (Redis down) is marked ``failed`` in the receipt, the regulation too:
her suppression stays, and the same request can be filed again once the store is back
(the live store is then erased by the ids the suppression list cannot give back, so
re-filing uses the identifiers the request names).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from audience.config.settings import Settings
from audience.errors import AmbiguousPersonError, AudienceError
from audience.masking import mask
from audience.model.identifiers import PersonQuery, canonical, keyed_hash
from audience.privacy.audit import AuditEntry, record
from audience.privacy.erasure import (
    drop_temp_tables,
    erase_tables,
    load_persons,
    tombstone_consents,
)
from audience.privacy.event_tokens import refresh as refresh_event_tokens
from audience.privacy.files import (
    FormMatcher,
    forms_pattern,
    remove_naming_files,
    scrub_file,
    scrub_files,
)
from audience.privacy.locate import Person, locate
from audience.privacy.receipts import (
    Receipt,
    RegulationType,
    StoreReceipt,
    load_receipt,
    save_receipt,
    timed,
)
from audience.privacy.suppression import suppress, unsuppress, write_suppression_file
from audience.store.privacy_key import privacy_key
from audience.store.workspace import Workspace

if TYPE_CHECKING:
    from audience.realtime.stores import ProfileStore

DELETES: tuple[RegulationType, ...] = ("delete", "suppress-and-delete")
SUPPRESSES: tuple[RegulationType, ...] = ("suppress", "suppress-and-delete")


@dataclass(frozen=True)
class RegulationRequest:
    """Forget or suppress the persons these identifiers name."""

    queries: Sequence[PersonQuery]
    type: RegulationType = "suppress-and-delete"
    all_matches: bool = False
    actor: str = "cli"


def subject_hash(key: bytes, queries: Sequence[PersonQuery]) -> str:
    return keyed_hash(key, "\n".join(sorted(canonical(q.kind, q.value) for q in queries)))


def forget(workspace: Workspace, request: RegulationRequest) -> Receipt:
    """Run a regulation to its end; the receipt (stored, and returned)."""
    settings = workspace.settings
    key = privacy_key(settings.privacy, workspace.root)
    now = workspace.clock.now()
    kinds = {q.kind for q in request.queries}
    receipt = Receipt(
        regulation_id=f"reg_{uuid.uuid4().hex[:20]}",
        type=request.type,
        subject_kind=kinds.pop() if len(kinds) == 1 else "several",
        subject_hash=subject_hash(key, request.queries),
        status="finished",
        persons=0,
        requested_by=request.actor,
        requested_at=now,
    )
    # One connection throughout: opening and checkpointing a large warehouse costs more
    # than erasing one person from it.
    with workspace.warehouse() as warehouse:
        with warehouse.transaction() as con:
            # Events written since the last import (or by another way than an import) are
            # indexed first: locate and the events' erasure read the index.
            indexed = refresh_event_tokens(con, now)
            located = locate(con, request.queries)
            ambiguous = [
                (query, keys)
                for query, keys in zip(request.queries, located.by_request, strict=True)
                if len(keys) > 1
            ]
            if ambiguous and not request.all_matches:
                query, keys = ambiguous[0]
                raise AmbiguousPersonError(
                    f"{query} matches {len(keys)} persons ({', '.join(keys[:20])}); nothing was "
                    "erased: name one of them with --customer, or pass --all to forget them all"
                )
            persons = located.persons
            receipt.persons = len(persons)
            if request.type in DELETES and persons:
                receipt.stores.append(indexed)
                _erase_warehouse(con, persons, key, receipt)
            if request.type in SUPPRESSES:
                receipt.stores.append(_suppress(con, key, request.queries, persons, receipt))
            if not persons:
                receipt.status = "nobody"
                receipt.message = "no person matches; nothing was held" + (
                    " (the identifier is suppressed all the same)"
                    if request.type in SUPPRESSES
                    else ""
                )
            drop_temp_tables(con)
            receipt.finished_at = workspace.clock.now()
            save_receipt(con, receipt)
            record(con, _audit(receipt, "forget" if request.type in DELETES else "suppress"))
            if request.type in SUPPRESSES:
                write_suppression_file(con, workspace.suppression_path)
        if request.type in DELETES and persons:
            _erase_outside(workspace, warehouse.con, settings, persons, receipt)
            receipt.finished_at = workspace.clock.now()
            with warehouse.transaction() as con:
                save_receipt(con, receipt)
    return receipt


def _erase_warehouse(
    con: duckdb.DuckDBPyConnection, persons: dict[str, Person], key: bytes, receipt: Receipt
) -> None:
    from audience.pipelines.privacy_density import erase_exemplars

    ids = {i for p in persons.values() for i in p.customer_ids}
    receipt.stores.append(erase_exemplars(con, ids))
    needles = load_persons(con, persons)
    receipt.stores.extend(erase_tables(con, needles))
    receipt.stores.append(tombstone_consents(con, persons, key))


def _suppress(
    con: duckdb.DuckDBPyConnection,
    key: bytes,
    queries: Sequence[PersonQuery],
    persons: dict[str, Person],
    receipt: Receipt,
) -> StoreReceipt:
    store = StoreReceipt("suppression_list")
    with timed(store):
        identifiers: list[tuple[str, str]] = [(q.kind, q.value) for q in queries]
        identifiers += [pair for p in persons.values() for pair in p.identifiers()]
        added = suppress(con, key, identifiers, receipt.regulation_id, receipt.requested_at)
        store.found = store.deleted = added
        store.detail = f"{added} identifier hash(es) added"
    return store


def _audit(receipt: Receipt, action: str) -> AuditEntry:
    counts = {s.store: s.deleted for s in receipt.stores if s.deleted}
    return AuditEntry(
        receipt.finished_at or receipt.requested_at,
        receipt.requested_by,
        action,
        receipt.subject_hash,
        {
            "regulation_id": receipt.regulation_id,
            "type": receipt.type,
            "status": receipt.status,
            "persons": receipt.persons,
            "deleted": counts,
        },
    )


def _erase_outside(
    workspace: Workspace,
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    persons: dict[str, Person],
    receipt: Receipt,
) -> None:
    """Every store outside the warehouse; a failing one is marked, the others still run."""
    from audience.realtime.eventlog import events_dir

    forms = {form for p in persons.values() for form in p.text_forms()}
    matcher = forms_pattern(forms)
    realtime = workspace.root / "realtime"
    steps: list[tuple[str, Callable[[], StoreReceipt]]] = [
        ("live", lambda: _erase_live(workspace, settings, persons)),
        ("queue", lambda: _erase_queue(workspace, settings, matcher, receipt.type)),
        ("queue_dead_letters", lambda: _erase_dead_letters(workspace, settings, matcher)),
        (
            "event_logs",
            lambda: scrub_files("event_logs", _event_logs(events_dir(workspace)), matcher),
        ),
        (
            "segment_changes",
            lambda: scrub_files("segment_changes", realtime.glob("changes*.jsonl"), matcher),
        ),
        ("exports", lambda: _erase_exports(workspace, con, matcher)),
        ("reports", lambda: _erase_reports(workspace.reports_dir, matcher)),
        ("mlflow_artefacts", lambda: _erase_mlflow(workspace, settings, matcher)),
    ]
    for name, step in steps:
        try:
            receipt.stores.append(step())
        except AudienceError as exc:
            receipt.stores.append(StoreReceipt(name, status="failed", detail=str(exc)))
            receipt.status = "failed"
            receipt.message = f"{name} could not be erased ({exc}); file the request again"


def _erase_live(
    workspace: Workspace, settings: Settings, persons: dict[str, Person]
) -> StoreReceipt:
    receipt = StoreReceipt("live:redis" if settings.profiles.url else "live:embedded")
    keys = sorted(
        {f"user_id:{v}" for p in persons.values() for v in p.user_ids | p.customer_ids}
        | {f"anonymous_id:{v}" for p in persons.values() for v in p.anonymous_ids}
    )
    pids = sorted({v for p in persons.values() for v in p.customer_ids})
    embedded = workspace.root / "realtime" / "profiles.sqlite"  # runtime.build_store's file
    if not settings.profiles.url and not embedded.exists():
        receipt.status = "nothing"
        return receipt

    async def run() -> int:
        # The store itself, not realtime.runtime: that would import Redis and RabbitMQ
        # clients (a second) for a workspace that may use neither.
        store: ProfileStore
        if settings.profiles.url:
            from audience.realtime.stores.redis import RedisProfileStore

            profiles = settings.profiles
            store = RedisProfileStore(profiles.url or "", profiles.prefix, profiles.dedupe_days)
        else:
            from audience.realtime.stores.sqlite import SqliteProfileStore

            store = SqliteProfileStore(embedded, settings.profiles.dedupe_days)
        await store.start()
        try:
            return await store.forget(keys, pids)
        finally:
            await store.close()

    with timed(receipt):
        receipt.found = receipt.deleted = asyncio.run(run())
    return receipt


def _erase_queue(
    workspace: Workspace, settings: Settings, matcher: FormMatcher | None, type_: str
) -> StoreReceipt:
    receipt = StoreReceipt("queue:rabbitmq" if settings.queue.url else "queue:embedded")
    with timed(receipt):
        if settings.queue.url:
            receipt.status = "done" if type_ in SUPPRESSES else "skipped"
            receipt.detail = (
                "waiting messages are dropped when consumed (suppression list)"
                if type_ in SUPPRESSES
                else "waiting messages cannot be searched in RabbitMQ; use suppress-and-delete"
            )
        elif matcher is not None and _queue_file(workspace).exists():
            from audience.realtime.queue.embedded import drop_messages

            _, dropped = drop_messages(
                _queue_file(workspace),
                lambda body: matcher.search(body.decode("utf-8", "replace")),
            )
            receipt.found = receipt.deleted = dropped
    return receipt


def _erase_dead_letters(
    workspace: Workspace, settings: Settings, matcher: FormMatcher | None
) -> StoreReceipt:
    receipt = StoreReceipt("queue_dead_letters")
    if matcher is None or (not settings.queue.url and not _queue_file(workspace).exists()):
        receipt.status = "nothing"
        return receipt
    from audience.realtime.runtime import dead_letter_box

    box = dead_letter_box(workspace, settings)

    async def run() -> int:
        hers = [
            r.id for r in await box.records() if matcher.search(r.body.decode("utf-8", "replace"))
        ]
        return len(await box.discard(hers)) if hers else 0

    with timed(receipt):
        receipt.found = receipt.deleted = asyncio.run(run())
    return receipt


def _queue_file(workspace: Workspace) -> Path:
    return workspace.root / "realtime" / "queue.sqlite"  # runtime.queue_path's file


def _event_logs(directory: Path) -> list[Path]:
    """Sealed and loaded logs, after sealing those whose writer died. A ``.part`` file a
    live writer still holds is left to it: its lines for her are quarantined at load (the
    identity is suppressed) or erased by the next regulation."""
    from audience.realtime.eventlog import seal_stale

    if not directory.is_dir():
        return []
    seal_stale(directory)
    return sorted(directory.glob("events-*.jsonl")) + sorted(directory.glob("loaded/*.jsonl"))


def _erase_exports(
    workspace: Workspace, con: duckdb.DuckDBPyConnection, matcher: FormMatcher | None
) -> StoreReceipt:
    """Export files rewritten without her rows; their recorded row counts follow."""
    receipt = StoreReceipt("exports")
    with timed(receipt):
        files = _export_files(workspace, con)
        removed = {}
        for path in files:
            if matcher is not None and path.is_file():
                n = scrub_file(path, matcher, keep_header=path.suffix.lower() == ".csv")
                if n:
                    removed[str(path)] = n
        for path_text, n in removed.items():
            con.execute(
                "UPDATE exports SET n_rows = greatest(n_rows - ?, 0) WHERE path = ?",
                [n, path_text],
            ).fetchall()
        receipt.found = receipt.deleted = sum(removed.values())
        receipt.detail = f"{len(removed)} file(s) rewritten" if removed else ""
    return receipt


def _export_files(workspace: Workspace, con: duckdb.DuckDBPyConnection) -> list[Path]:
    rows = con.execute("SELECT DISTINCT path FROM exports").fetchall()
    return [
        Path(str(p)) if Path(str(p)).is_absolute() else workspace.root / str(p) for (p,) in rows
    ]


_TEXT_ARTEFACTS = {".json", ".jsonl", ".csv", ".html", ".txt", ".yaml", ".yml", ".md", ""}


def _erase_mlflow(
    workspace: Workspace, settings: Settings, matcher: FormMatcher | None
) -> StoreReceipt:
    """MLflow artefacts in the workspace's local store (profiles, reports, input examples):
    a text artefact that names her is deleted. A remote tracking server is not reached: the
    receipt says so, for its operator to act."""
    root = workspace.root / "mlruns"
    remote = settings.mlflow.tracking_uri
    if not root.is_dir():
        found = StoreReceipt("mlflow_artefacts", status="nothing")
    else:
        paths = (p for p in sorted(root.rglob("*")) if p.suffix.lower() in _TEXT_ARTEFACTS)
        found = remove_naming_files("mlflow_artefacts", paths, matcher)
        found.status = "done" if found.deleted else "nothing"
    if remote:
        note = f"artefacts on the tracking server {mask(remote)} are not reached: erase them there"
        found.detail = "; ".join(d for d in (found.detail, note) if d)
    return found


def _erase_reports(directory: Path, matcher: FormMatcher | None) -> StoreReceipt:
    if not directory.is_dir():
        return StoreReceipt("reports", status="nothing")
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    tables = [p for p in files if p.suffix.lower() in (".csv", ".jsonl")]
    pages = [p for p in files if p not in tables]
    scrubbed = scrub_files("reports", tables, matcher)
    removed = remove_naming_files("reports", pages, matcher)
    scrubbed.found += removed.found
    scrubbed.deleted += removed.deleted
    scrubbed.seconds += removed.seconds
    scrubbed.detail = "; ".join(d for d in (scrubbed.detail, removed.detail) if d)
    scrubbed.status = "done" if scrubbed.deleted else "nothing"
    return scrubbed


def unsuppress_identifiers(workspace: Workspace, queries: Sequence[PersonQuery], actor: str) -> int:
    """Take identifiers off the suppression list; the number of hashes removed."""
    key = privacy_key(workspace.settings.privacy, workspace.root)
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        removed = unsuppress(con, key, [(q.kind, q.value) for q in queries])
        record(
            con,
            AuditEntry(
                workspace.clock.now(),
                actor,
                "unsuppress",
                subject_hash(key, queries),
                {"removed": removed},
            ),
        )
        write_suppression_file(con, workspace.suppression_path)
    return removed


def regulation(workspace: Workspace, regulation_id: str) -> Receipt | None:
    with workspace.warehouse(read_only=True) as warehouse:
        return load_receipt(warehouse.con, regulation_id)
