"""What an import did: the report printed and returned as ``--json``, its row in ``imports``,
and the message of a file mostly set aside."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

import duckdb

from audience.ingest.detect import SourceFile


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
    orders_from_events: int = 0
    """Events: orders counted from new 'Order Completed' events (an order id new to the
    warehouse, a buyer known by user id)."""
    event_orders_replaced: int = 0
    """Orders: orders counted from 'Order Completed' events that this file's lines replaced."""

    @property
    def reconciled(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "reconciled": self.reconciled}


def reason_counts(con: duckdb.DuckDBPyConnection, sha256: str) -> dict[str, int]:
    rows = con.execute(
        """SELECT code, count(*) FROM quarantine WHERE sha256 = ?
           GROUP BY code ORDER BY count(*) DESC, code""",
        [sha256],
    ).fetchall()
    return {str(code): int(n) for code, n in rows}


def too_many_quarantined(
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


def record_import(
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
