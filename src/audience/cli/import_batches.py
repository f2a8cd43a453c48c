"""``audience imports list|show|undo``: every import is a batch that can be looked at and undone."""

from __future__ import annotations

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


def register(app: typer.Typer) -> None:
    app.add_typer(imports_app, name="imports")


@imports_app.command("list")
@handle_errors
def list_(workspace: WorkspaceOption = None, json_: JsonOption = False) -> None:
    """Every import, oldest first: number, kind, file, source, rows, when, status."""
    from audience.ingest.batches import list_batches

    ws = open_workspace(workspace)
    with ws.warehouse(read_only=True) as warehouse:
        found = list_batches(warehouse.con)
    if json_:
        print_json([b.to_dict() for b in found])
        return
    table = Table("no", "kind", "file", "source", "rows", "when (UTC)", "status", title="Imports")
    for b in found:
        table.add_row(
            str(b.batch_no),
            b.kind,
            b.file,
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
    with ws.warehouse(read_only=True) as warehouse:
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
    width = max((len(f) for f in detail.mapping), default=0)
    for target, column in detail.mapping.items():
        say(f"  {target:<{width}} ← {column}", highlight=False, markup=False)
    if detail.one_order_per_line:
        say(f"  {'order_id':<{width}} ← (none: each line is an order)", markup=False)
    if detail.ignored:
        say(f"  ignored: {', '.join(detail.ignored)}", highlight=False, markup=False)
    if detail.traits:
        say(f"  kept as traits: {', '.join(detail.traits)}", highlight=False, markup=False)
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
