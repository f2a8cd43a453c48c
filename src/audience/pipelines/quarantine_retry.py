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

from audience.errors import InputError, MappingError
from audience.ingest.detect import inspect
from audience.ingest.importer import import_into
from audience.pipelines.imports import index_import
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
    """Load ``targets`` again with ``fixes`` applied, within the caller's transaction.

    Rows go back through the import of their own file (its mapping), customers first, so
    that orders set aside for an unknown customer find the customers retried with them.
    """
    result = RetryResult([], {}, {})
    by_import: dict[tuple[int, str], list[tuple[QuarantinedRow, dict[str, Any]]]] = {}
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
                key = (_KIND_ORDER.get(row.kind, len(_KIND_ORDER)), row.import_id)
                by_import.setdefault(key, []).append((row, {**record, **fixes}))
    for key in sorted(by_import):
        _retry_import(con, workspace, by_import[key], result)
    return result


_KIND_ORDER = {"customers": 0, "orders": 1, "events": 2}


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
    """The columns of the row's file, read as its import read them (its detected encoding,
    which may differ for the header line of a mixed file)."""
    delimiter = scalar(con, "SELECT delimiter FROM imports WHERE import_id = ?", [row.import_id])
    path = Path(row.source_file)
    if not path.exists() or delimiter is None:
        raise InputError(f"{path} is gone: give the fixed values with --set COLUMN=VALUE instead")
    return list(inspect(path).header), delimiter


def _retry_import(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    items: list[tuple[QuarantinedRow, dict[str, Any]]],
    result: RetryResult,
) -> None:
    """Retry rows of one import, under the mapping (and preset, currency, order reading)
    that import used."""
    first = items[0][0]
    stored, preset, currency, per_line = con.execute(
        """SELECT mapping, preset, currency, coalesce(one_order_per_line, false)
           FROM imports WHERE import_id = ?""",
        [first.import_id],
    ).fetchone() or (None, None, None, False)
    mapping: dict[str, str] = json.loads(stored or "{}")
    # A JSON line without a key is a row whose value is empty: it must not turn the import's
    # own mapping into an error about a --map the user never typed.
    for _, record in items:
        for column in mapping.values():
            record.setdefault(column, None)
    options = [f"{k}={v}" for k, v in mapping.items()]
    with tempfile.TemporaryDirectory(dir=workspace.root) as folder:
        path = Path(folder) / f"retry-{first.kind}.jsonl"
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for _, r in items), encoding="utf-8"
        )
        label = Path(first.source_file).stem
        try:
            report = import_into(
                con,
                workspace,
                first.kind,
                path,
                options,
                source_label=label,
                preset=preset,
                currency=currency,
                one_order_per_line=per_line,
                accept_partial=True,
            )
        except MappingError as exc:  # the import's own mapping: no --map of the user's
            raise InputError(
                f"{first.source_file}: the rows to retry do not fit the mapping import "
                f"{first.import_id} used ({str(exc).removeprefix('--map ')})"
            ) from exc
        index_import(con, workspace, report)
        digest = scalar(con, "SELECT sha256 FROM imports WHERE import_id = ?", [report.import_id])
        failed = {
            int(line): (code, reason)
            for line, code, reason in con.execute(
                "SELECT line, code, reason FROM quarantine WHERE sha256 = ?", [digest]
            ).fetchall()
        }
        con.execute("DELETE FROM quarantine WHERE sha256 = ?", [digest])
    for line, (row, _) in enumerate(items, start=1):
        sha_prefix, _, original_line = row.id.rpartition(":")
        where = "starts_with(sha256, ?) AND line = ?"
        if line in failed:
            code, reason = failed[line]
            result.still_quarantined[row.id] = reason
            con.execute(
                f"UPDATE quarantine SET code = ?, reason = ?, parser_message = NULL WHERE {where}",
                [code, reason, sha_prefix, int(original_line)],
            )
        else:
            result.loaded.append(row.id)
            con.execute(
                f"UPDATE quarantine SET status = 'resolved' WHERE {where}",
                [sha_prefix, int(original_line)],
            )
