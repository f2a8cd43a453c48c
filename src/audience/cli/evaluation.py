"""``audience evaluate`` (now, dry run, or a backtest ``--as-of`` a past date) and
``audience activate``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from audience.cli.terminal import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_duckdb_run,
    print_json,
    step,
)
from audience.errors import InputError

if TYPE_CHECKING:
    from audience.pipelines.backtest import Backtest
    from audience.rules.evaluate import Evaluation
    from audience.store.clock import Clock

NowOption = Annotated[
    str | None,
    typer.Option("--now", help="Evaluate as of this UTC time (ISO); default: the current time."),
]


def _now(text: str | None, clock: Clock) -> datetime:
    from audience.store.clock import to_utc_naive

    if text is None:
        return clock.now()
    try:
        return to_utc_naive(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise InputError(f"--now {text!r} is not an ISO date or date-time") from exc


def print_evaluation(result: Evaluation) -> None:
    table = Table(
        title=f"Rule segments at {result.now:%Y-%m-%d %H:%M} UTC ({result.n_people:,} people)"
    )
    for column in ("segment", "members", "entered", "exited"):
        table.add_column(column, justify="left" if column == "segment" else "right")
    for sid, size in result.sizes.items():
        table.add_row(
            sid, f"{size:,}", f"{result.entered.get(sid, 0):,}", f"{result.exited.get(sid, 0):,}"
        )
    console.print(table)


def print_workflows(rows: list[dict[str, Any]], dry_run: bool) -> None:
    verb = "would send" if dry_run else "delivered"
    for row in rows:
        suppressed = ", ".join(f"{k} {n:,}" for k, n in row.get("suppressed", {}).items())
        line = f"{row['segment']} → {row['destination']} ({row['type']}): "
        if row["type"] == "webhook":
            sent = row["held"] if dry_run else row["delivered"]
            line += f"{verb} {sent:,}, dead-lettered {row['dead_lettered']:,}"
            if not dry_run and row["held"]:
                line += f", pending {row['held']:,}"
            if row.get("endpoint_disabled"):
                line += f" [red]endpoint disabled: {row['endpoint_disabled']}[/]"
        else:
            line += f"{row['rows']:,} rows" + (f" → {row['path']}" if row.get("path") else "")
        console.print(line + (f"; suppressed: {suppressed}" if suppressed else ""))


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and ``activate`` to the application."""

    @app.command("evaluate")
    @handle_errors
    def evaluate_(
        now: NowOption = None,
        as_of: Annotated[
            str | None,
            typer.Option(
                "--as-of",
                help="Backtest: recompute features and rule segments as of this past date "
                "(end of day, UTC) or ISO time, from the warehouse; needs --dry-run.",
            ),
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Report who would match; record nothing.")
        ] = False,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="With --as-of: write the members (CSV) to this file."),
        ] = None,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Re-evaluate every rule segment now: people enter and exit, history is kept.

        Backtest: --as-of DATE --dry-run (from the orders and events up to DATE).
        """
        if as_of is not None:
            _backtest(as_of, now, dry_run, out, workspace, json_)
            return
        if out is not None:
            raise InputError("--out writes the members of a backtest: give --as-of DATE too")
        from audience.pipelines.backtest import evaluate_or_preview
        from audience.rules.loading import load_activation

        ws = open_workspace(workspace)
        plan = load_activation(ws.root)
        with ws.warehouse() as warehouse, step("Evaluating rule segments", quiet=json_):
            result = evaluate_or_preview(warehouse, plan, _now(now, ws.clock), dry_run=dry_run)
        if json_:
            print_duckdb_run(
                result.to_dict() | {"dry_run": dry_run}, ws.settings.engine, "evaluate"
            )
            return
        print_evaluation(result)
        if dry_run:
            console.print("Dry run: nothing recorded.")

    @app.command("activate")
    @handle_errors
    def activate_(
        segment: Annotated[
            str | None, typer.Argument(help="Only this segment's workflows.")
        ] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, send nothing.")] = False,
        now: NowOption = None,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Evaluate the rule segments, then deliver webhooks and write exports."""
        from audience.pipelines.activate import activate
        from audience.pipelines.dashboard_refresh import refresh_page_snapshots
        from audience.rules.loading import load_activation

        ws = open_workspace(workspace)
        plan = load_activation(ws.root)
        with ws.warehouse() as warehouse, step("Activating", quiet=json_):
            report = activate(
                warehouse,
                plan,
                ws.root,
                segment=segment,
                dry_run=dry_run,
                clock=ws.clock,
                as_of=_now(now, ws.clock),
            )
            if not dry_run:  # the rule segments' members changed: their reach with them
                with warehouse.transaction() as con:
                    refresh_page_snapshots(con, ws.config, ws.clock.now(), ["reach"])
        data = report.to_dict()
        if json_:
            print_json(data)
            return
        print_evaluation(report.evaluation)
        print_workflows(data["workflows"], dry_run)


def _backtest(
    as_of: str,
    now: str | None,
    dry_run: bool,
    out: Path | None,
    workspace: Path | None,
    json_: bool,
) -> None:
    """``evaluate --as-of DATE --dry-run [--out FILE]``."""
    if now is not None:
        raise InputError("give --now (evaluate and record) or --as-of (backtest), not both")
    if not dry_run:
        raise InputError(
            f"--as-of {as_of} recomputes the past and cannot record it (history only moves "
            "forward): add --dry-run"
        )
    from audience.pipelines.backtest import backtest, write_members
    from audience.rules.history import parse_as_of
    from audience.rules.loading import load_activation

    at = parse_as_of(as_of)
    ws = open_workspace(workspace)
    plan = load_activation(ws.root)
    with ws.warehouse() as warehouse, step(f"Backtesting as of {at:%Y-%m-%d %H:%M}", quiet=json_):
        result = backtest(warehouse, plan, ws.config, at)
    rows = write_members(result, out) if out is not None else None
    if json_:
        document = result.to_dict(with_members=out is None) | ({"out": str(out)} if out else {})
        print_duckdb_run(document, ws.settings.engine, "backtest")
        return
    _print_backtest(result)
    if out is not None:
        console.print(f"{rows:,} memberships written to {out}")


def _print_backtest(result: Backtest) -> None:
    table = Table(
        title=f"Rule segments as of {result.as_of:%Y-%m-%d %H:%M} UTC "
        f"({result.n_people:,} people; dry run, nothing recorded)"
    )
    table.add_column("segment")
    table.add_column("name")
    table.add_column("members", justify="right")
    for s in result.segments:
        table.add_row(s.segment_id, s.name, f"{len(s.members):,}")
    console.print(table)
