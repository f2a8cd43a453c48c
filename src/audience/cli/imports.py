"""``audience import`` and ``audience generate``."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from audience.cli.terminal import (
    JsonOption,
    WorkspaceOption,
    console,
    err_console,
    handle_errors,
    open_workspace,
    print_error,
    print_json,
    step,
)
from audience.errors import InputError, QuarantineLimitError

if TYPE_CHECKING:
    from audience.ingest.importer import ImportReport


class KindChoice(StrEnum):
    customers = "customers"
    orders = "orders"
    events = "events"


def print_import(report: ImportReport) -> None:
    console.print(
        f"[bold]{report.file}[/] ({report.format}"
        + (f", {report.encoding}, '{report.delimiter}'" if report.delimiter else "")
        + f") → {report.kind}: rows read {report.rows_read:,} = loaded {report.rows_loaded:,} "
        f"(new {report.rows_new:,}, updated {report.rows_updated:,}, "
        f"unchanged {report.rows_unchanged:,}) + quarantined {report.rows_quarantined:,}"
        + ("" if report.reconciled else " [red]NOT RECONCILED[/]"),
        highlight=False,
    )
    if report.quarantine_reasons:
        table = Table("quarantine reason", "rows", title="Quarantined rows (audience.quarantine)")
        for reason, count in report.quarantine_reasons.items():
            table.add_row(reason, f"{count:,}")
        console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("import")
    @handle_errors
    def import_(
        kind: Annotated[KindChoice, typer.Argument(help="What the file holds.")],
        file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines file.")],
        map_: Annotated[
            list[str] | None,
            typer.Option("--map", help="FIELD=COLUMN, repeatable: map a column to a field."),
        ] = None,
        source: Annotated[
            str | None, typer.Option(help="Name of the source system (default: file name).")
        ] = None,
        accept_partial: Annotated[
            bool,
            typer.Option(
                "--accept-partial",
                help="Load the good rows even when more of the file than allowed is quarantined.",
            ),
        ] = False,
        max_quarantined: Annotated[
            float | None,
            typer.Option(
                min=0.0,
                max=1.0,
                help="Largest share of rows (0-1) the quarantine may take before the import "
                "fails and loads nothing (default: imports.max_quarantined_share, 0.2).",
            ),
        ] = None,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Import a file into the warehouse; idempotent, one transaction, reconciled."""
        from audience.ingest.importer import import_file

        ws = open_workspace(workspace)
        try:
            with step(f"Importing {file.name}", quiet=json_):
                report = import_file(
                    ws,
                    kind.value,
                    file,
                    map_ or [],
                    source_label=source,
                    accept_partial=accept_partial,
                    max_quarantined_share=max_quarantined,
                )
        except QuarantineLimitError as exc:  # one reason and one example a line
            first, *examples = str(exc).splitlines()
            print_error(first)
            for line in examples:
                err_console.print(line, highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from exc
        for warning in report.warnings:
            err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
        if json_:
            print_json(report.to_dict())
        else:
            print_import(report)

    @app.command()
    @handle_errors
    def generate(
        customers: Annotated[int, typer.Option(help="Records in customers.csv.")] = 20_000,
        seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 42,
        out: Annotated[Path, typer.Option(help="Directory to write the files in.")] = Path(
            "demo-data"
        ),
        end_date: Annotated[
            str | None, typer.Option(help="Last day of the data, YYYY-MM-DD (default: today).")
        ] = None,
        json_: JsonOption = False,
    ) -> None:
        """Write realistic French e-commerce data with planted personas and dirt."""
        from audience.ingest.demo.generate import generate as generate_files
        from audience.store.clock import SystemClock

        end = _parse_day(end_date) if end_date else SystemClock().now().date()
        with step(f"Generating {customers:,} customers", quiet=json_):
            files = generate_files(customers, out, seed=seed, end=end)
        summary = {
            "customers": str(files.customers),
            "orders": str(files.orders),
            "events": str(files.events),
            "ground_truth": str(files.ground_truth),
            "n_customers": files.n_customers,
            "n_people": files.n_people,
            "n_order_lines": files.n_order_lines,
            "n_events": files.n_events,
            "end": files.end.isoformat(),
        }
        if json_:
            print_json(summary)
        else:
            console.print(
                f"Wrote {files.n_customers:,} customers ({files.n_people:,} people), "
                f"{files.n_order_lines:,} order lines and {files.n_events:,} events to {out}"
            )


def _parse_day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as exc:
        raise InputError(f"--end-date {text!r}: expected YYYY-MM-DD") from exc
