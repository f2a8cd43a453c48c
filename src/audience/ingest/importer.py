"""``audience import``: one file into the warehouse, in one transaction, fully reconciled.

rows read = rows loaded (new + updated + unchanged) + rows quarantined, always; an import
that cannot prove it is rolled back. Each import is a batch (:mod:`audience.ingest.batches`)
that can be listed, undone, or replaced by the next import of its source (``replace``); one
that would load rows a second time under other keys is refused (:mod:`.overlap`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from dataclasses import replace as with_fields
from datetime import datetime
from pathlib import Path

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
from audience.ingest.detect import SourceFile, inspect
from audience.ingest.loaders import Counts, LoadContext, load_customers, load_events, load_orders
from audience.ingest.mapping import (
    column_use,
    parse_map_options,
    require_order_id,
    resolve_mapping,
)
from audience.ingest.overlap import refuse_same_file_other_keys
from audience.ingest.parsing import DateOrder
from audience.ingest.presets import get_preset, match_preset
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
from audience.ingest.traits import trait_columns, type_traits
from audience.model.quarantine_codes import code_sql
from audience.store.warehouse import scalar
from audience.store.workspace import Workspace


@dataclass
class ImportReport:
    """What an import did, as printed and as ``--json``."""

    import_id: str
    kind: str
    file: str
    format: str
    encoding: str | None
    delimiter: str | None
    mapping: dict[str, str]
    batch_no: int = 0
    source: str = ""
    ignored: list[str] = field(default_factory=list)
    one_order_per_line: bool = False
    replaced: list[str] = field(default_factory=list)
    """Imports of the same source and kind undone for this one (``--replace``)."""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    """Quarantined rows per reason code (one code a row: the counts sum to the rows)."""
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    preset: str | None = None
    currency: str = ""
    """The currency of amounts whose line or file names none (``--currency`` or the workspace's)."""
    currencies: dict[str, int] = field(default_factory=dict)
    """Good order lines read per currency."""
    consents: dict[str, str] = field(default_factory=dict)
    """Consent field -> how its column reads, where not a plain opt-in (a preset's opt-out)."""
    traits: dict[str, str] = field(default_factory=dict)
    """Custom traits kept from the unmapped columns: name -> type (number, date, boolean,
    category, text), see :mod:`audience.ingest.traits`."""
    date_formats: dict[str, str] = field(default_factory=dict)
    """Column -> how its dates were read (day or month first) and why."""

    @property
    def reconciled(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "reconciled": self.reconciled}


def import_file(
    workspace: Workspace,
    kind: str,
    path: Path,
    map_options: Sequence[str] = (),
    *,
    source_label: str | None = None,
    batch_lines: int = JSONL_BATCH_LINES,
    preset: str | None = None,
    currency: str | None = None,
    one_order_per_line: bool = False,
    replace: bool = False,
    dates: DateOptions | None = None,
    accept_partial: bool = False,
    max_quarantined_share: float | None = None,
) -> ImportReport:
    """Import ``path`` as ``kind`` into the workspace's warehouse, in one transaction.

    ``preset`` names a CRM export (:mod:`audience.ingest.presets`); ``currency`` (ISO 4217)
    is that of amounts the file does not give one for, instead of the workspace's.
    ``one_order_per_line`` reads an order file without an order id as one order per line
    (without it, such a file is refused); ``replace`` first undoes the standing imports of
    the same kind and source (``source_label``, by default the file's stem).
    More than ``max_quarantined_share`` of the file's rows quarantined (default: the
    workspace's ``imports.max_quarantined_share``) fails the import and writes nothing, unless
    ``accept_partial``.
    """
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        return import_into(
            con,
            workspace,
            kind,
            path,
            map_options,
            source_label=source_label,
            batch_lines=batch_lines,
            preset=preset,
            currency=currency,
            one_order_per_line=one_order_per_line,
            replace=replace,
            dates=dates,
            accept_partial=accept_partial,
            max_quarantined_share=max_quarantined_share,
        )


def import_into(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    kind: str,
    path: Path,
    map_options: Sequence[str] = (),
    *,
    source_label: str | None = None,
    batch_lines: int = JSONL_BATCH_LINES,
    preset: str | None = None,
    currency: str | None = None,
    one_order_per_line: bool = False,
    replace: bool = False,
    dates: DateOptions | None = None,
    accept_partial: bool = False,
    max_quarantined_share: float | None = None,
) -> ImportReport:
    """Import ``path`` within the caller's transaction on ``con``.

    Raises :class:`~audience.errors.QuarantineLimitError` (the caller rolls back) when more
    than ``max_quarantined_share`` of the rows are quarantined, unless ``accept_partial``.
    """
    if kind not in KINDS:
        raise InputError(f"unknown kind '{kind}'; expected one of {', '.join(KINDS)}")
    preset = get_preset(preset).name if preset else None
    currency = _currency(currency) if currency else workspace.config.currency
    started = time.perf_counter()
    file = inspect(path)
    explicit = parse_map_options(map_options)
    configured = workspace.config.mappings.get(kind, {})
    now = workspace.clock.now()
    label = source_label or path.stem
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
        one_order_per_line=one_order_per_line,
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
    )
    counts = Counts()
    timezone = workspace.config.timezone
    reading = _DateRead(dates or DateOptions(), workspace_date_order(workspace.config))
    if kind == "orders" and not scalar(con, "SELECT count(*) FROM (FROM customers LIMIT 1)"):
        report.warnings.append(
            f"{path}: no customers imported yet, so the orders' customer ids are not checked; "
            "import the customer file first to have orders of unknown customers set aside"
        )
    if file.format == "jsonl":
        keys = jsonl_keys(file)
        found = match_preset(preset, kind, list(keys), explicit)
        report.mapping = resolve_mapping(
            kind,
            list(keys),
            explicit,
            configured,
            preset=found.mapping if found else None,
            reserved=found.reserved if found else (),
        )
        _understood(con, report, file, list(keys))
        ctx = with_fields(
            context,
            raw_sql="_src._text",
            mapped=frozenset(report.mapping),
            consents=found.consent_meanings(report.mapping) if found else {},
        )
        report.consents = dict(ctx.consents)
        # Only events come in batches: other kinds compare rows across the whole file.
        for _ in jsonl_batches(con, file, keys, batch_lines if kind == "events" else None):
            counts += _quarantine_bad_lines(con, ctx)
            counts += _load_batch(
                con, ctx, kind, keys, report.mapping, timezone, reading, report.traits
            )
            if kind == "orders":
                report.currencies = _currencies(con)
    else:
        with utf8_copy(file, workspace.root) as readable:
            source = _scan(con, file, readable)
            found = match_preset(preset, kind, list(source.columns), explicit)
            report.mapping = resolve_mapping(
                kind,
                list(source.columns),
                explicit,
                configured,
                preset=found.mapping if found else None,
                reserved=found.reserved if found else (),
            )
            _understood(con, report, file, list(source.columns))
            ctx = with_fields(
                context,
                raw_sql=raw_record(source.columns),
                mapped=frozenset(report.mapping),
                consents=found.consent_meanings(report.mapping) if found else {},
            )
            report.consents = dict(ctx.consents)
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
    if report.rows_read == 0:
        raise InputError(f"{path}: no rows to import")
    con.execute(
        f"UPDATE quarantine SET code = {code_sql('reason')} WHERE sha256 = ? AND code IS NULL",
        [file.sha256],
    )
    report.quarantine_reasons = _reason_counts(con, file.sha256)
    report.date_formats = report_lines(reading.readings)
    limit = (
        workspace.config.imports.max_quarantined_share
        if max_quarantined_share is None
        else max_quarantined_share
    )
    if not accept_partial and report.rows_quarantined > limit * report.rows_read:
        raise QuarantineLimitError(_too_many_quarantined(con, report, file.sha256, limit))
    report.seconds = round(time.perf_counter() - started, 3)
    _record_import(con, report, file, now, workspace.clock.now())
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
    con: duckdb.DuckDBPyConnection, report: ImportReport, file: SourceFile, columns: list[str]
) -> None:
    """Record what the mapping makes of the columns; refuse what cannot be read safely."""
    use = column_use(report.kind, columns, report.mapping)  # type: ignore[arg-type]
    report.ignored = use.ignored
    if report.kind == "orders":
        require_order_id(report.file, columns, report.mapping, report.one_order_per_line)
    refuse_same_file_other_keys(con, report.kind, report.file, file.sha256, report.mapping)


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
    if kind == "customers":
        traits.update(type_traits(con, trait_columns(list(columns), mapping), ctx.import_id))
    read_before = int(scalar(con, "SELECT count(*) FROM _typed"))
    if kind == "customers":
        counts = load_customers(con, ctx)
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


def _reason_counts(con: duckdb.DuckDBPyConnection, sha256: str) -> dict[str, int]:
    rows = con.execute(
        """SELECT code, count(*) FROM quarantine WHERE sha256 = ?
           GROUP BY code ORDER BY count(*) DESC, code""",
        [sha256],
    ).fetchall()
    return {str(code): int(n) for code, n in rows}


def _too_many_quarantined(
    con: duckdb.DuckDBPyConnection, report: ImportReport, sha256: str, limit: float
) -> str:
    """What a file that is mostly set aside gets back: the top reasons, an example of each,
    and the ways out."""
    examples = con.execute(
        """SELECT code, count(*), arg_min(line, line), arg_min(raw, line), arg_min(reason, line)
           FROM quarantine WHERE sha256 = ? GROUP BY code ORDER BY count(*) DESC, code LIMIT 5""",
        [sha256],
    ).fetchall()
    good = report.rows_read - report.rows_quarantined
    lines = [
        f"{report.file}: {report.rows_quarantined:,} of {report.rows_read:,} rows "
        f"({report.rows_quarantined / report.rows_read:.0%}) would be quarantined, more than "
        f"the {limit:.0%} allowed (imports.max_quarantined_share in audience.yaml); nothing "
        "was imported. Top reasons, with the first row of each:"
    ]
    for code, n, line, raw, reason in examples:
        shown = raw if len(raw) <= 200 else raw[:200] + "..."
        lines += [f"  {code}: {n:,} row(s); line {line}: {shown}", f"    {reason}"]
    lines.append(
        "Fix the file (or map its columns with --map FIELD=COLUMN) and import it again; or "
        f"pass --accept-partial to load the {good:,} good row(s) and keep the rest in the "
        "quarantine; or raise the limit with --max-quarantined SHARE."
    )
    return "\n".join(lines)


def _record_import(
    con: duckdb.DuckDBPyConnection,
    report: ImportReport,
    file: SourceFile,
    started: datetime,
    finished: datetime,
) -> None:
    con.execute(
        """INSERT INTO imports (import_id, kind, source_file, sha256, format, encoding,
                                delimiter, rows_read, rows_new, rows_updated, rows_unchanged,
                                rows_quarantined, started_at, finished_at, mapping, preset,
                                currency, batch_no, source, status, ignored, traits,
                                one_order_per_line, replaced)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                   'loaded', ?, ?, ?, ?)""",
        [
            report.import_id,
            report.kind,
            report.file,
            file.sha256,
            file.format,
            file.encoding,
            file.delimiter,
            report.rows_read,
            report.rows_new,
            report.rows_updated,
            report.rows_unchanged,
            report.rows_quarantined,
            started,
            finished,
            json.dumps(report.mapping),
            report.preset,
            report.currency,
            report.batch_no,
            report.source,
            json.dumps(report.ignored),
            json.dumps(report.traits),
            report.one_order_per_line,
            json.dumps(report.replaced),
        ],
    )
