"""``audience imports list|show|undo``: every import is a batch that can be looked at and undone."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from audience.cli.terminal import (
    Group,
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
)

if TYPE_CHECKING:
    from audience.ingest.batches import BatchDetail, UndoReport

imports_app = typer.Typer(
    help="Imports as batches: list them, show what one understood, undo one.", cls=Group
)

ImportRef = Annotated[str, typer.Argument(help="Import number (as listed) or import id.")]


SHOWN_COLUMNS = 20
"""Columns named in a list of ignored or kept columns; a wide file gets a count for the rest."""


def _names(columns: list[str]) -> str:
    shown = ", ".join(columns[:SHOWN_COLUMNS])
    rest = len(columns) - SHOWN_COLUMNS
    return shown + (f" and {rest:,} more" if rest > 0 else "")


def print_columns(
    mapping: dict[str, str],
    one_order_per_line: bool,
    ignored: list[str],
    traits: Mapping[str, str],
) -> None:
    """What an import understood: field ← column, then the columns ignored or kept."""
    width = max((len(f) for f in [*mapping, "order_id"]), default=0)
    for target, column in mapping.items():
        console.print(f"  {target:<{width}} ← {column}", highlight=False, markup=False)
    if one_order_per_line:
        console.print(
            f"  {'order_id':<{width}} ← (none: each line is an order, --one-order-per-line)",
            highlight=False,
            markup=False,
        )
    if ignored:
        console.print(f"  ignored: {_names(ignored)}", highlight=False, markup=False)
    if traits:
        typed = [f"{name} ({kind})" if kind else name for name, kind in traits.items()]
        console.print(f"  kept as traits: {_names(typed)}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(imports_app, name="imports")


@imports_app.command("list")
@handle_errors
def list_(workspace: WorkspaceOption = None, json_: JsonOption = False) -> None:
    """Every import, oldest first: number, kind, file, source, rows, when, status."""
    from audience.ingest.batches import list_batches

    ws = open_workspace(workspace)
    with ws.warehouse() as warehouse:  # not read-only: a workspace made before 0007 migrates
        found = list_batches(warehouse.con)
    if json_:
        print_json([b.to_dict() for b in found])
        return
    table = Table("no", "kind", "file", "source", "rows", "when (UTC)", "status", title="Imports")
    for b in found:
        table.add_row(
            str(b.batch_no),
            b.kind,
            Path(b.file).name,  # the path is in 'imports show'
            b.source,
            f"{b.rows_read:,}",
            f"{b.started_at:%Y-%m-%d %H:%M}",
            b.status,
        )
    console.print(table)


@imports_app.command()
@handle_errors
def show(ref: ImportRef, workspace: WorkspaceOption = None, json_: JsonOption = False) -> None:
    """One import: the mapping it used, its counts, why rows were set aside, who builds on it."""
    from audience.ingest.batches import show_batch

    ws = open_workspace(workspace)
    with ws.warehouse() as warehouse:  # not read-only: a workspace made before 0007 migrates
        detail = show_batch(warehouse.con, ref)
    if json_:
        print_json(detail.to_dict())
        return
    print_detail(detail)


def print_detail(detail: BatchDetail) -> None:
    b = detail.batch
    say = console.print
    say(
        f"[bold]Import {b.batch_no}[/] ({b.import_id}), {b.status}: {b.kind} from {b.file}, "
        f"source '{b.source}', {b.started_at:%Y-%m-%d %H:%M} UTC",
        highlight=False,
    )
    print_columns(detail.mapping, detail.one_order_per_line, detail.ignored, detail.traits)
    say(
        f"rows read {b.rows_read:,}: new {b.rows_new:,}, updated {b.rows_updated:,}, "
        f"unchanged {b.rows_unchanged:,}, quarantined {b.rows_quarantined:,}",
        highlight=False,
    )
    held = ", ".join(f"{table} {n:,}" for table, n in detail.rows_held.items() if n)
    say(f"rows it holds now: {held or 'none'}", highlight=False)
    for reason, n in detail.quarantine_reasons.items():
        say(f"  quarantined {reason}: {n:,}", highlight=False)
    for replaced in detail.replaced:
        say(f"replaced import {replaced}", highlight=False)
    for later in detail.standing_on:
        say(
            f"import {later.batch_no} loaded {later.rows_restated:,} of its rows again and "
            f"updated {later.rows_replaced:,}: undo {later.batch_no} before this one",
            highlight=False,
        )


@imports_app.command()
@handle_errors
def undo(ref: ImportRef, workspace: WorkspaceOption = None, json_: JsonOption = False) -> None:
    """Remove what one import added and put back what it replaced, in one transaction."""
    from audience.ingest.batches import undo_batch

    ws = open_workspace(workspace)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        report = undo_batch(con, ref, ws.clock.now())
    if json_:
        print_json(report.to_dict())
        return
    print_undo(report)


def print_undo(report: UndoReport) -> None:
    removed = ", ".join(f"{table} {n:,}" for table, n in report.removed.items() if n)
    restored = ", ".join(f"{table} {n:,}" for table, n in report.restored.items() if n)
    console.print(
        f"Undid import {report.batch_no} ({report.import_id}): removed {removed or 'nothing'}"
        + (f"; restored the earlier versions of {restored}" if restored else ""),
        highlight=False,
    )
    console.print("Run 'audience clean' and 'audience segment' to bring profiles up to date.")
