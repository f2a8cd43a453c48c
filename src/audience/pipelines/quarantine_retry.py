"""Fix quarantined rows and load them again, through the same import as their file.

``retry`` rebuilds each row as read, applies the user's fixes (``--set COLUMN=VALUE`` on the
file's own column names, or ``--raw`` with a corrected CSV line), and runs it through the
import (:mod:`audience.ingest`) in the caller's transaction: a row that now passes is loaded
and marked ``resolved`` in the quarantine (:mod:`audience.quality.quarantine`); one that still
fails stays open with its new reason.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from audience.errors import InputError
from audience.ingest.importer import import_into
from audience.quality.quarantine import QuarantinedRow
from audience.store.warehouse import scalar
from audience.store.workspace import Workspace


@dataclass
class RetryResult:
    loaded: list[str]
    still_quarantined: dict[str, str]
    skipped: dict[str, str]


def retry(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    targets: Sequence[QuarantinedRow],
    fixes: Mapping[str, str],
    raw_line: str | None = None,
) -> RetryResult:
    """Load ``targets`` again with ``fixes`` applied, within the caller's transaction."""
    result = RetryResult([], {}, {})
    by_kind: dict[str, list[tuple[QuarantinedRow, dict[str, Any]]]] = {}
    for row in targets:
        if row.status != "open":
            result.skipped[row.id] = f"already {row.status}"
        elif row.source_file == "(clean)":
            result.skipped[row.id] = (
                "fix the record at its source, re-import it, run 'audience clean'"
            )
        else:
            record = _as_record(con, row, raw_line)
            if record is None:
                result.skipped[row.id] = "malformed line: give the corrected line with --raw"
            else:
                by_kind.setdefault(row.kind, []).append((row, {**record, **fixes}))
    for kind, items in by_kind.items():
        _retry_kind(con, workspace, kind, items, result)
    return result


def _as_record(
    con: duckdb.DuckDBPyConnection, row: QuarantinedRow, raw_line: str | None
) -> dict[str, Any] | None:
    if raw_line is None:
        try:
            record = json.loads(row.raw)
        except json.JSONDecodeError:
            return None
        return record if isinstance(record, dict) else None
    header, delimiter = _original_header(con, row)
    values = next(csv.reader(io.StringIO(raw_line), delimiter=delimiter))
    if len(values) != len(header):
        raise InputError(
            f"--raw has {len(values)} fields, the file's header {len(header)}: {', '.join(header)}"
        )
    return dict(zip(header, values, strict=True))


def _original_header(con: duckdb.DuckDBPyConnection, row: QuarantinedRow) -> tuple[list[str], str]:
    delimiter = scalar(con, "SELECT delimiter FROM imports WHERE import_id = ?", [row.import_id])
    path = Path(row.source_file)
    if not path.exists() or delimiter is None:
        raise InputError(f"{path} is gone: give the fixed values with --set COLUMN=VALUE instead")
    with path.open(encoding="utf-8", errors="replace") as handle:
        return next(csv.reader(handle, delimiter=delimiter)), delimiter


def _retry_kind(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    kind: str,
    items: list[tuple[QuarantinedRow, dict[str, Any]]],
    result: RetryResult,
) -> None:
    mapping, preset, currency, per_line = con.execute(
        """SELECT mapping, preset, currency, coalesce(one_order_per_line, false)
           FROM imports WHERE import_id = ?""",
        [items[0][0].import_id],
    ).fetchone() or (None, None, None, False)
    options = [f"{k}={v}" for k, v in json.loads(mapping or "{}").items()]
    with tempfile.TemporaryDirectory(dir=workspace.root) as folder:
        path = Path(folder) / f"retry-{kind}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for _, r in items))
        label = Path(items[0][0].source_file).stem
        report = import_into(
            con,
            workspace,
            kind,
            path,
            options,
            source_label=label,
            preset=preset,
            currency=currency,
            one_order_per_line=per_line,
        )
        digest = scalar(con, "SELECT sha256 FROM imports WHERE import_id = ?", [report.import_id])
        failed = dict(
            con.execute("SELECT line, reason FROM quarantine WHERE sha256 = ?", [digest]).fetchall()
        )
        con.execute("DELETE FROM quarantine WHERE sha256 = ?", [digest])
    for line, (row, _) in enumerate(items, start=1):
        sha_prefix, _, original_line = row.id.rpartition(":")
        where = "starts_with(sha256, ?) AND line = ?"
        if line in failed:
            result.still_quarantined[row.id] = failed[line]
            con.execute(
                f"UPDATE quarantine SET reason = ? WHERE {where}",
                [failed[line], sha_prefix, int(original_line)],
            )
        else:
            result.loaded.append(row.id)
            con.execute(
                f"UPDATE quarantine SET status = 'resolved' WHERE {where}",
                [sha_prefix, int(original_line)],
            )
