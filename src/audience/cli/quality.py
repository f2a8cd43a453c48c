"""``audience clean``, ``identities``, ``unmerge`` and ``quarantine``."""

from __future__ import annotations

import getpass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from audience.cli import figures
from audience.cli.populations import print_cleaned
from audience.cli.tables import Col, fitted_table
from audience.cli.terminal import (
    Group,
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
    print_warnings,
    step,
    writable_file,
)
from audience.errors import InputError

if TYPE_CHECKING:
    from audience.quality.clean import CleanReport

quarantine_app = typer.Typer(
    help="Rows set aside by import or cleaning: list, show, retry, discard.", cls=Group
)


def print_clean(report: CleanReport) -> None:
    table = Table("source", "records in", "kept", "merged", "quarantined", title="Cleaning")
    for name, s in report.sources.items():
        table.add_row(
            name, *(figures.count(n) for n in (s.records_in, s.kept, s.merged, s.quarantined))
        )
    console.print(table)
    print_cleaned(report)
    rules = ", ".join(f"{rule} {figures.count(n)}" for rule, n in sorted(report.rules.items()))
    console.print(
        f"duplicate rate {figures.share(report.duplicate_rate)}; links: {rules or 'none'}",
        highlight=False,
    )
    console.print(_normalisers_table(report.normalisers))


def _normalisers_table(normalisers: dict[str, dict[str, int]]) -> Table:
    """One row per outcome, one column per field: the fields are few and fixed, the outcomes
    many, so this way round fits 80 columns."""
    statuses = sorted({s for counts in normalisers.values() for s in counts})
    columns = [Col("outcome", numeric=False)]
    columns += [Col(name.replace("_", " "), drop=1) for name in normalisers]
    rows = [
        [status.replace("_", " "), *(figures.count(c.get(status, 0)) for c in normalisers.values())]
        for status in statuses
    ]
    return fitted_table("Normalisers (records per outcome)", columns, rows)


def print_quality(quality: dict[str, Any]) -> None:
    table = Table("column", "filled", title="Completeness of customer records")
    for column, share in quality["completeness"].items():
        table.add_row(column, figures.share(share))
    console.print(table)
    for label, key in (("cities", "unmapped_cities"), ("categories", "unmapped_categories")):
        values = list(quality[key].items())[:5]
        if values:
            shown = ", ".join(f"{v!r} ({figures.count(n)})" for v, n in values)
            console.print(f"Unmapped {label} (first {len(values)}): {shown}", highlight=False)
    print_warnings(quality["warnings"])


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def clean(workspace: WorkspaceOption = None, json_: JsonOption = False) -> None:
        """Normalise, de-duplicate and resolve identities into one profile per person."""
        from audience.quality.clean import clean_workspace
        from audience.quality.quality_report import quality_report
        from audience.report.quality_html import write_quality_report

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse:
            with (
                step("Cleaning and resolving identities", quiet=json_) as progress,
                warehouse.transaction() as con,
            ):
                report = clean_workspace(con, ws.config, ws.clock.now(), progress)
            quality = quality_report(
                warehouse.con, ws.config.quality.freshness_days, ws.clock.now()
            )
        path = write_quality_report(quality, ws.reports_dir, ws.config.name)
        if json_:
            print_json({**report.to_dict(), "quality": quality, "quality_report": str(path)})
            return
        print_clean(report)
        print_quality(quality)
        console.print(f"Quality report: {path}")

    @app.command()
    @handle_errors
    def identities(
        export: Annotated[Path, typer.Option(help="CSV file to write.")],
        workspace: WorkspaceOption = None,
    ) -> None:
        """Export one row per source record: its id, its source, the resolved customer id."""
        writable_file(export, "--export")
        ws = open_workspace(workspace)
        from audience.quality.resolve import export_identities

        with ws.warehouse(read_only=True) as warehouse:
            n = export_identities(warehouse.con, export)
        console.print(f"Wrote {n:,} records to {export}")

    @app.command()
    @handle_errors
    def unmerge(
        customer_id: Annotated[str, typer.Argument(help="A record id, or a profile id.")],
        undo: Annotated[bool, typer.Option(help="Lift an earlier unmerge.")] = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Separate merged records (a record, or every record of a profile)."""
        from audience.quality.unmerge import unmerge as unmerge_records

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse, warehouse.transaction() as con:
            result = unmerge_records(con, ws.config, customer_id, ws.clock.now(), undo=undo)
        if json_:
            print_json({"detached": result.detached, "profiles": result.profiles})
            return
        for record, profile in result.profiles.items():
            console.print(f"{record} → {profile}")
        console.print("Run 'audience segment' to update segments and features.")

    app.add_typer(quarantine_app, name="quarantine")


def _who() -> str:
    """The account running the command, recorded with what it discards."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no entry in the password database
        return "unknown"


class StatusChoice(StrEnum):
    open = "open"
    resolved = "resolved"
    discarded = "discarded"


StatusOption = Annotated[
    list[StatusChoice] | None,
    typer.Option("--status", help="Rows of this status (repeatable; default: open)."),
]


@quarantine_app.command("list")
@handle_errors
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Rows of every status.")] = False,
    status: StatusOption = None,
    reason: Annotated[str | None, typer.Option(help="Rows of this reason code only.")] = None,
    file: Annotated[str | None, typer.Option(help="Rows of this file only (path or name).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows listed after the counts.")] = 50,
    workspace: WorkspaceOption = None,
    json_: JsonOption = False,
) -> None:
    """Quarantined rows by file and reason code, then the first rows with their ids."""
    from audience.quality import quarantine as quarantine_ops

    ws = open_workspace(workspace)
    statuses = quarantine_ops.STATUSES if all_ else [s.value for s in status or []] or ["open"]
    with ws.warehouse(read_only=True) as warehouse:
        groups = quarantine_ops.summary(warehouse.con, statuses)
        rows = quarantine_ops.rows(
            warehouse.con,
            statuses,
            limit,
            code=reason,
            source_file=file,
        )
    if json_:
        print_json({"groups": groups, "rows": [r.__dict__ for r in rows]})
        return
    table = Table("status", "kind", "file", "reason", "rows", title="Quarantine")
    for g in groups:
        table.add_row(
            str(g["status"]), str(g["kind"]), str(g["file"]), str(g["reason"]), f"{g['rows']:,}"
        )
    console.print(table)
    for r in rows:
        console.print(f"[bold]{r.id}[/] {r.status} {r.kind} {r.reason}", highlight=False)


@quarantine_app.command()
@handle_errors
def show(
    row_id: Annotated[str, typer.Argument(help="Quarantine id, as listed.")],
    workspace: WorkspaceOption = None,
    json_: JsonOption = False,
) -> None:
    """One quarantined row: where it came from, why, and the record as read."""
    from audience.quality import quarantine as quarantine_ops

    ws = open_workspace(workspace)
    with ws.warehouse(read_only=True) as warehouse:
        row = quarantine_ops.find(warehouse.con, row_id)
    if json_:
        print_json(row.__dict__)
        return
    lines = [
        f"[bold]{row.id}[/] ({row.status}) {row.kind} from {row.source_file}, line {row.line}",
        f"code: {row.code}",
        f"reason: {row.reason}",
    ]
    if row.parser_message:
        lines.append(f"parser said: {row.parser_message}")
    if row.discarded_at is not None:
        note = f": {row.note}" if row.note else ""
        lines.append(f"discarded {row.discarded_at:%Y-%m-%d %H:%M} UTC by {row.discarded_by}{note}")
    lines.append(f"raw: {row.raw}")
    console.print("\n".join(lines), highlight=False)


@quarantine_app.command()
@handle_errors
def discard(
    row_ids: Annotated[list[str] | None, typer.Argument(help="Quarantine ids.")] = None,
    reason: Annotated[str | None, typer.Option(help="Every open row of this reason code.")] = None,
    file: Annotated[
        str | None, typer.Option(help="With --reason: only the rows of this file.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why, kept with the rows.")] = None,
    workspace: WorkspaceOption = None,
    json_: JsonOption = False,
) -> None:
    """Set rows aside for good: marked discarded (kept, with when, who and why), never loaded."""
    from audience.quality import quarantine as quarantine_ops

    if bool(row_ids) == (reason is not None):
        raise InputError(
            "name the rows to discard (see 'audience quarantine list') or pass --reason CODE, "
            "not both"
        )
    if file is not None and reason is None:
        raise InputError("--file goes with --reason CODE: it narrows the rows of that reason")
    ws = open_workspace(workspace)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        targets = (
            [quarantine_ops.find(con, r) for r in row_ids or []]
            if reason is None
            else quarantine_ops.rows(con, "open", 10_000_000, code=reason, source_file=file)
        )
        if not targets:
            raise InputError(
                f"no open quarantined row has the reason {reason}"
                + (f" in {file}" if file else "")
                + "; see 'audience quarantine list'"
            )
        result = quarantine_ops.discard(con, targets, ws.clock.now(), _who(), note)
    if json_:
        print_json(result.__dict__)
        return
    console.print(f"discarded {len(result.discarded):,}, skipped {len(result.skipped):,}")
    for row_id, why in result.skipped.items():
        console.print(f"{row_id}: {why}", highlight=False)


@quarantine_app.command("retry")
@handle_errors
def retry_(
    row_ids: Annotated[list[str] | None, typer.Argument(help="Quarantine ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every open row.")] = False,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="COLUMN=VALUE fix, on the file's columns.")
    ] = None,
    raw: Annotated[
        str | None, typer.Option(help="A corrected CSV line for a malformed row.")
    ] = None,
    workspace: WorkspaceOption = None,
    json_: JsonOption = False,
) -> None:
    """Load quarantined rows again, with fixes; what passes is loaded, the rest stays."""
    from audience.ingest.mapping import parse_map_options
    from audience.pipelines.quarantine_retry import retry as retry_quarantined
    from audience.quality import quarantine as quarantine_ops

    if not row_ids and not all_:
        raise InputError("name the rows to retry (see 'audience quarantine list') or pass --all")
    ws = open_workspace(workspace)
    fixes = parse_map_options(set_ or [])
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        targets = (
            quarantine_ops.rows(con, "open", limit=1_000_000)
            if all_
            else [quarantine_ops.find(con, r) for r in row_ids or []]
        )
        result = retry_quarantined(con, ws, targets, fixes, raw)
    data: dict[str, Any] = result.__dict__
    if json_:
        print_json(data)
        return
    console.print(
        f"loaded {len(result.loaded)}, still quarantined {len(result.still_quarantined)}, "
        f"skipped {len(result.skipped)}"
    )
    for row_id, reason in {**result.still_quarantined, **result.skipped}.items():
        console.print(f"{row_id}: {reason}", highlight=False)
