"""``audience import`` and ``audience generate`` (``audience imports``: :mod:`.import_batches`)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from audience.cli import import_batches
from audience.cli.terminal import (
    JsonOption,
    WorkspaceOption,
    console,
    err_console,
    handle_errors,
    open_workspace,
    print_error,
    print_json,
    print_warnings,
    step,
)
from audience.errors import InputError, QuarantineLimitError

if TYPE_CHECKING:
    from audience.ingest.import_report import ImportReport


class KindChoice(StrEnum):
    customers = "customers"
    orders = "orders"
    events = "events"


class PresetChoice(StrEnum):
    hubspot = "hubspot"
    salesforce = "salesforce"
    shopify = "shopify"
    brevo = "brevo"


def print_mapping(report: ImportReport) -> None:
    """What the import understood: field ← column, then the columns ignored or kept."""
    console.print(f"[bold]Columns understood[/] ({report.kind}):", highlight=False)
    import_batches.print_columns(
        report.mapping, report.one_order_per_line, report.ignored, report.traits
    )


def print_import(report: ImportReport) -> None:
    print_mapping(report)
    for replaced in report.replaced:
        console.print(f"Replaced import {replaced} (undone)", highlight=False)
    console.print(
        f"[bold]{report.file}[/] ({report.format}"
        + (f", {report.encoding}, '{report.delimiter}'" if report.delimiter else "")
        + f") → {report.kind}: rows read {report.rows_read:,} = loaded {report.rows_loaded:,} "
        f"(new {report.rows_new:,}, updated {report.rows_updated:,}, "
        f"unchanged {report.rows_unchanged:,}) + quarantined {report.rows_quarantined:,}"
        + ("" if report.reconciled else " [red]NOT RECONCILED[/]"),
        highlight=False,
    )
    understood = [f"preset: {report.preset}"] if report.preset else []
    if report.kind == "orders":
        lines = ", ".join(f"{code} {n:,}" for code, n in report.currencies.items())
        understood.append(f"currency where a line names none: {report.currency}")
        understood += [f"order lines per currency: {lines}"] if lines else []
    if report.event_orders_replaced:
        understood.append(
            f"{report.event_orders_replaced:,} order(s) known from 'Order Completed' events "
            "replaced by this file's lines"
        )
    if report.orders_from_events:
        understood.append(
            f"{report.orders_from_events:,} order(s) counted from 'Order Completed' events"
        )
    if understood:
        console.print("  " + "; ".join(understood), highlight=False)
    if report.consents:
        from audience.ingest.presets import MEANINGS

        for target, meaning in report.consents.items():
            console.print(f"  {target} ← {report.mapping[target]}: {MEANINGS[meaning]}")
    for column, how in report.date_formats.items():
        console.print(f"  dates: {column} — {how}", highlight=False, markup=False)
    if report.quarantine_reasons:
        table = Table("quarantine reason", "rows", title="Quarantined rows (audience.quarantine)")
        for reason, count in report.quarantine_reasons.items():
            table.add_row(reason, f"{count:,}")
        console.print(table)
    console.print(
        f"Import {report.batch_no} ({report.import_id}), source '{report.source}': "
        f"undo it with 'audience imports undo {report.batch_no}'",
        highlight=False,
        markup=False,
    )


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
        preset: Annotated[
            PresetChoice | None,
            typer.Option(help="The file is this tool's standard export: map its columns."),
        ] = None,
        currency: Annotated[
            str | None,
            typer.Option(help="Currency of amounts the file names none for (default: workspace)."),
        ] = None,
        one_order_per_line: Annotated[
            bool,
            typer.Option(
                "--one-order-per-line",
                help="Orders without an order id column: read each line as an order.",
            ),
        ] = False,
        replace: Annotated[
            bool,
            typer.Option(
                "--replace",
                help="Replace the earlier imports of this kind and source (undo them first, "
                "in the same transaction) instead of adding to them.",
            ),
        ] = False,
        date_order: Annotated[
            str | None,
            typer.Option(
                "--date-order",
                help="dmy, mdy or ymd: how to read dates that no value of their column "
                "decides (03/02/2024); default: the workspace's date_order.",
            ),
        ] = None,
        date_format: Annotated[
            list[str] | None,
            typer.Option(
                "--date-format",
                help="COLUMN=FORMAT (strptime, e.g. '%d %b %Y'), repeatable, or a bare FORMAT "
                "for every date column.",
            ),
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
        from audience.ingest.date_order import DateOptions
        from audience.pipelines.imports import import_file

        dates = DateOptions.parse(date_order, date_format or [])
        ws = open_workspace(workspace)
        try:
            with step(f"Importing {file.name}", quiet=json_):
                report = import_file(
                    ws,
                    kind.value,
                    file,
                    map_ or [],
                    source_label=source,
                    preset=preset.value if preset else None,
                    currency=currency,
                    one_order_per_line=one_order_per_line,
                    replace=replace,
                    dates=dates,
                    accept_partial=accept_partial,
                    max_quarantined_share=max_quarantined,
                )
        except QuarantineLimitError as exc:  # one reason and one example a line
            first, *examples = str(exc).splitlines()
            print_error(first)
            for line in examples:
                err_console.print(line, highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from exc
        print_warnings(report.warnings)
        if json_:
            print_json(report.to_dict())
        else:
            print_import(report)

    import_batches.register(app)

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
