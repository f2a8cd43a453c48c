"""``audience import``: one file into the warehouse, in one transaction, fully reconciled.

rows read = rows loaded (new + updated + unchanged) + rows quarantined, always; an import
that cannot prove it is rolled back. Each import is a batch (:mod:`audience.ingest.batches`)
that can be listed, undone, or replaced by the next import of its source (``replace``); one
that would load rows a second time under other keys is refused (:mod:`.overlap`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from dataclasses import replace as with_fields
from pathlib import Path
from typing import TypedDict, Unpack

import duckdb

from audience.errors import InputError, QuarantineLimitError, WarehouseError
from audience.ingest.batches import replace_source
from audience.ingest.date_order import (
    DateOptions,
    DateReading,
    read_dates,
    report_lines,
    workspace_date_order,
)
from audience.ingest.date_parsing import DateOrder
from audience.ingest.detect import SourceFile, inspect
from audience.ingest.event_loading import load_events
from audience.ingest.import_report import (
    ImportReport,
    reason_counts,
    record_import,
    too_many_quarantined,
)
from audience.ingest.loaders import Counts, LoadContext, load_customers, load_orders
from audience.ingest.mapping import (
    column_use,
    parse_map_options,
    require_order_id,
    resolve_mapping,
)
from audience.ingest.overlap import refuse_same_file_other_keys
from audience.ingest.presets import get_preset, match_preset
from audience.ingest.pseudonyms import pseudonymise
from audience.ingest.readers import (
    JSONL_BATCH_LINES,
    Source,
    jsonl_batches,
    jsonl_keys,
    scan_csv,
    scan_parquet,
    utf8_copy,
)
from audience.ingest.schemas import KINDS, DateBounds, Kind
from audience.ingest.staging import raw_record, typed_select
from audience.ingest.suppressed import mark_suppressed, redact
from audience.ingest.traits import trait_columns, type_traits
from audience.model.quarantine_codes import code_sql
from audience.store.privacy_key import privacy_key
from audience.store.warehouse import scalar
from audience.store.workspace import Workspace


class ImportOptions(TypedDict, total=False):
    """How to read one file, beyond its column mapping (all optional)."""

    source_label: str | None
    """The source system (default: the file's stem): what ``replace`` replaces."""
    batch_lines: int
    """Lines of JSON Lines events loaded at a time."""
    preset: str | None
    """A CRM export the file is (:mod:`audience.ingest.presets`)."""
    currency: str | None
    """ISO 4217 code of amounts the file gives no currency for (default: the workspace's)."""
    one_order_per_line: bool
    """An order file without an order id: each line is an order (else such a file is refused)."""
    replace: bool
    """First undo the standing imports of the same kind and source."""
    dates: DateOptions | None
    """``--date-order`` and ``--date-format``."""
    accept_partial: bool
    """Load the good rows even when more than the allowed share is quarantined."""
    max_quarantined_share: float | None
    """The share of rows the quarantine may take (default: ``imports.max_quarantined_share``)."""


def import_file(
    workspace: Workspace,
    kind: str,
    path: Path,
    map_options: Sequence[str] = (),
    **options: Unpack[ImportOptions],
) -> ImportReport:
    """Import ``path`` as ``kind`` into the workspace's warehouse, in one transaction."""
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        return import_into(con, workspace, kind, path, map_options, **options)


def import_into(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    kind: str,
    path: Path,
    map_options: Sequence[str] = (),
    **options: Unpack[ImportOptions],
) -> ImportReport:
    """Import ``path`` within the caller's transaction on ``con``.

    Raises :class:`~audience.errors.QuarantineLimitError` (the caller rolls back) when more
    than the allowed share of the rows are quarantined, unless ``accept_partial``.
    """
    if kind not in KINDS:
        raise InputError(f"unknown kind '{kind}'; expected one of {', '.join(KINDS)}")
    named = options.get("preset")
    preset = get_preset(named).name if named else None
    stated_currency = options.get("currency")
    currency = _currency(stated_currency) if stated_currency else workspace.config.currency
    started = time.perf_counter()
    file = inspect(path)
    explicit = parse_map_options(map_options)
    configured = workspace.config.mappings.get(kind, {})
    now = workspace.clock.now()
    label = options.get("source_label") or path.stem
    replace = options.get("replace", False)
    replaced = [u.import_id for u in replace_source(con, kind, label, now)] if replace else []
    batch_no = int(scalar(con, "SELECT coalesce(max(batch_no), 0) + 1 FROM imports"))
    report = ImportReport(
        import_id=f"imp-{now:%Y%m%d%H%M%S%f}-{file.sha256[:8]}-{batch_no}",
        kind=kind,
        file=str(path),
        format=file.format,
        encoding=file.encoding,
        delimiter=file.delimiter,
        mapping={},
        preset=preset,
        currency=currency,
        batch_no=batch_no,
        source=label,
        one_order_per_line=options.get("one_order_per_line", False),
        replaced=replaced,
    )
    context = LoadContext(
        import_id=report.import_id,
        kind=kind,
        source_file=str(path),
        sha256=file.sha256,
        source_label=label,
        currency=currency,
        now=now,
        raw_sql="",
        privacy_key=lambda: privacy_key(workspace.settings.privacy, workspace.root),
        pseudonymise=tuple(workspace.config.privacy.pseudonymise),
    )
    counts = Counts()
    timezone = workspace.config.timezone
    reading = _DateRead(
        options.get("dates") or DateOptions(), workspace_date_order(workspace.config)
    )
    if kind == "orders" and not scalar(con, "SELECT count(*) FROM (FROM customers LIMIT 1)"):
        report.warnings.append(
            f"{path}: no customers imported yet, so the orders' customer ids are not checked; "
            "import the customer file first to have orders of unknown customers set aside"
        )
    if file.format == "jsonl":
        keys = jsonl_keys(file)
        ctx = _understood(con, report, file, list(keys), explicit, configured, context)
        ctx = with_fields(ctx, raw_sql="_src._text")
        # Only events come in batches: other kinds compare rows across the whole file.
        lines = options.get("batch_lines", JSONL_BATCH_LINES)
        for _ in jsonl_batches(con, file, keys, lines if kind == "events" else None):
            counts += _quarantine_bad_lines(con, ctx)
            counts += _load_batch(
                con, ctx, kind, keys, report.mapping, timezone, reading, report.traits
            )
            if kind == "orders":
                report.currencies = _currencies(con)
    else:
        with utf8_copy(file, workspace.root) as readable:
            source = _scan(con, file, readable)
            columns = list(source.columns)
            ctx = _understood(con, report, file, columns, explicit, configured, context)
            ctx = with_fields(ctx, raw_sql=raw_record(source.columns))
            counts += _quarantine_rejects(con, ctx, source)
            counts += _load_batch(
                con, ctx, kind, source.columns, report.mapping, timezone, reading, report.traits
            )
            if kind == "orders":
                report.currencies = _currencies(con)
    report.rows_new, report.rows_updated = counts.new, counts.updated
    report.rows_unchanged, report.rows_quarantined = counts.unchanged, counts.quarantined
    report.rows_loaded = counts.loaded
    report.rows_read = counts.loaded + counts.quarantined
    report.orders_from_events = counts.orders
    report.event_orders_replaced = counts.replaced_event_orders
    if report.rows_read == 0:
        raise InputError(f"{path}: no rows to import")
    con.execute(
        f"UPDATE quarantine SET code = {code_sql('reason')} WHERE sha256 = ? AND code IS NULL",
        [file.sha256],
    )
    # Rows set aside because their person is suppressed are wanted there: not a bad file.
    suppressed = redact(con, report.import_id)
    report.quarantine_reasons = reason_counts(con, file.sha256)
    report.date_formats = report_lines(reading.readings)
    limit = options.get("max_quarantined_share")
    if limit is None:
        limit = workspace.config.imports.max_quarantined_share
    bad, read = report.rows_quarantined - suppressed, report.rows_read - suppressed
    if not options.get("accept_partial") and bad > limit * read:
        raise QuarantineLimitError(too_many_quarantined(con, report, file.sha256, limit))
    report.seconds = round(time.perf_counter() - started, 3)
    record_import(con, report, file, now, workspace.clock.now())
    return report


def _currency(code: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", code.strip()):
        raise InputError(f"--currency {code!r}: expected a three-letter ISO 4217 code, like EUR")
    return code.strip().upper()


def _currencies(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Lines per currency among the good order lines just read (temporary table ``_keyed``)."""
    rows = con.execute(
        "SELECT currency, count(*) FROM _keyed GROUP BY currency ORDER BY count(*) DESC, currency"
    ).fetchall()
    return {str(code): int(n) for code, n in rows}


def _understood(
    con: duckdb.DuckDBPyConnection,
    report: ImportReport,
    file: SourceFile,
    columns: list[str],
    explicit: dict[str, str],
    configured: dict[str, str],
    context: LoadContext,
) -> LoadContext:
    """Map the columns (``--map`` > preset > configuration > names), record what the mapping
    makes of them, and refuse what cannot be read safely; the load context for that mapping."""
    kind: Kind = context.kind  # type: ignore[assignment]
    found = match_preset(report.preset, kind, columns, explicit)
    report.mapping = resolve_mapping(
        kind,
        columns,
        explicit,
        configured,
        preset=found.mapping if found else None,
        reserved=found.reserved if found else (),
    )
    report.ignored = column_use(kind, columns, report.mapping).ignored
    if kind == "orders":
        require_order_id(report.file, columns, report.mapping, report.one_order_per_line)
    refuse_same_file_other_keys(con, kind, report.file, file.sha256, report.mapping)
    consents = found.consent_meanings(report.mapping) if found else {}
    report.consents = dict(consents)
    return with_fields(context, mapped=frozenset(report.mapping), consents=consents)


@dataclass
class _DateRead:
    """How the date columns of the file are read, carried from one batch to the next."""

    options: DateOptions
    default: DateOrder
    readings: dict[str, DateReading] = field(default_factory=dict)


def _scan(con: duckdb.DuckDBPyConnection, file: SourceFile, readable: Path) -> Source:
    if file.format == "parquet":
        return scan_parquet(con, file)
    return scan_csv(con, file, readable)


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    ctx: LoadContext,
    kind: Kind,
    columns: dict[str, str],
    mapping: dict[str, str],
    timezone: str,
    dates: _DateRead,
    traits: dict[str, str],
) -> Counts:
    """Stage, type and load one batch; the customers' trait types are added to ``traits``."""
    bounds = DateBounds.at(ctx.now, timezone)
    dates.readings = read_dates(
        con,
        "_src",
        kind,
        columns,
        mapping,
        dates.options,
        dates.default,
        dates.readings,
        file=ctx.source_file,
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _typed AS "
        + typed_select(kind, "_src", columns, mapping, timezone, bounds, dates.readings)
    )
    mark_suppressed(con, kind, ctx.privacy_key)
    if kind == "customers":
        pseudonymise(con, ctx.pseudonymise, ctx.privacy_key)
    read_before = int(scalar(con, "SELECT count(*) FROM _typed"))
    if kind == "customers":
        typed = type_traits(con, trait_columns(list(columns), mapping), ctx.import_id)
        traits.update(typed.by_name())
        counts = load_customers(con, ctx, typed)
    elif kind == "orders":
        counts = load_orders(con, ctx)
    else:
        counts = load_events(con, ctx)
    if counts.loaded + counts.quarantined != read_before:
        raise WarehouseError(
            f"import of {ctx.source_file} does not reconcile: {read_before} rows read, "
            f"{counts.loaded} loaded + {counts.quarantined} quarantined; nothing was written"
        )
    return counts


def _quarantine_rejects(con: duckdb.DuckDBPyConnection, ctx: LoadContext, source: Source) -> Counts:
    if not source.rejects:
        return Counts()
    con.executemany(
        """INSERT INTO quarantine (import_id, kind, source_file, sha256, line, reason, raw,
                                   parser_message, status, quarantined_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?) ON CONFLICT DO NOTHING""",
        [
            [ctx.import_id, ctx.kind, ctx.source_file, ctx.sha256, *reject, ctx.now]
            for reject in source.rejects
        ],
    )
    return Counts(quarantined=len(source.rejects))


def _quarantine_bad_lines(con: duckdb.DuckDBPyConnection, ctx: LoadContext) -> Counts:
    con.execute(
        """INSERT INTO quarantine (import_id, kind, source_file, sha256, line, reason, raw,
                                   status, quarantined_at)
           SELECT ?, ?, ?, ?, _line, _reason, _text, 'open', ?
           FROM _bad_lines ON CONFLICT DO NOTHING""",
        [ctx.import_id, ctx.kind, ctx.source_file, ctx.sha256, ctx.now],
    )
    return Counts(quarantined=int(scalar(con, "SELECT count(*) FROM _bad_lines")))
