"""``audience evaluate | activate | members | why | overlap | deliveries | consent``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from audience.cli import evaluation
from audience.cli.terminal import (
    Group,
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
)
from audience.errors import InputError

CONSENT_PURPOSES = ("email", "sms", "push", "advertising", "profiling", "analytics")
CONSENT_STATUSES = ("granted", "denied", "withdrawn")
"""For the help text: ``audience.privacy.consent.PURPOSES`` and ``STATUSES`` (a test checks),
written out here because that module imports DuckDB."""


def register(app: typer.Typer) -> None:
    """Add ``evaluate``, ``activate``, ``members``, ``why``, ``overlap``, ``deliveries`` and
    ``consent`` to the application."""
    evaluation.register(app)
    _register_members(app)
    _register_explanations(app)
    _register_overlap(app)
    deliveries = typer.Typer(
        help="Webhook deliveries and dead letters.", no_args_is_help=True, cls=Group
    )
    app.add_typer(deliveries, name="deliveries")
    _register_deliveries(deliveries)
    _register_replay(deliveries)
    _register_consent(app)


def _register_members(app: typer.Typer) -> None:
    @app.command("members")
    @handle_errors
    def members_(
        segment: Annotated[str, typer.Argument(help="Segment id or name.")],
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="Date (end of day, UTC) or ISO time; default: now."),
        ] = None,
        limit: Annotated[int, typer.Option(help="Rows printed (not with --json).")] = 20,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Who was in a segment at a date."""
        from audience.rules.history import find_segment, members, parse_as_of

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse:
            segment_id, name = find_segment(warehouse.con, segment)
            at = parse_as_of(as_of) if as_of else None
            found = members(warehouse.con, segment_id, at)
        if json_:
            print_json(
                {
                    "segment_id": segment_id,
                    "name": name,
                    "as_of": at.isoformat() if at else None,
                    "count": len(found),
                    "members": [m.to_dict() for m in found],
                }
            )
            return
        console.print(
            f"{name} ({segment_id}): {len(found):,} members"
            + (f" at {at:%Y-%m-%d %H:%M:%S}" if at else "")
        )
        for m in found[:limit]:
            console.print(f"  {m.customer_id}  since {m.valid_from:%Y-%m-%d %H:%M}")


def _register_explanations(app: typer.Typer) -> None:
    @app.command("why")
    @handle_errors
    def why_(
        customer_id: Annotated[str, typer.Argument(help="Customer or profile id.")],
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Why a person is in each of her segments: rule traces, cluster distances."""
        from audience.pipelines.why import why

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse:
            result = why(warehouse.con, customer_id)
        if json_:
            print_json(result)
            return
        if not result["segments"]:
            console.print(f"{result['customer_id']} is in no segment")
        for item in result["segments"]:
            console.print(
                f"[bold]{item['name']}[/] ({item['segment_id']}, {item['method']}) "
                f"since {item['since']}"
            )
            for leaf in item.get("conditions", []):
                mark = "[green]✓[/]" if leaf["matched"] else "[red]✗[/]"
                console.print(f"  {mark} {leaf['condition']}  (seen: {leaf['value']})")
            for d in item.get("distances", []):
                console.print(f"  distance to {d['segment']}: {d['distance']}")
            if "explanation" in item:
                console.print(f"  {item['explanation']}")


def _register_overlap(app: typer.Typer) -> None:
    @app.command("overlap")
    @handle_errors
    def overlap_(
        all_: Annotated[
            bool, typer.Option("--all", help="Include cluster, RFM and band segments.")
        ] = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """How many current members every pair of segments shares."""
        from audience.rules.history import overlap

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse:
            result = overlap(warehouse.con, include_stored=all_)
        if json_:
            print_json(result)
            return
        table = Table(title="Overlap of current members (row ∩ column)")
        table.add_column("segment")
        for s in result["segments"]:
            table.add_column(s["name"], justify="right")
        for s, row in zip(result["segments"], result["matrix"], strict=True):
            table.add_row(s["name"], *(f"{n:,}" for n in row))
        console.print(table)


def _register_deliveries(deliveries: typer.Typer) -> None:
    @deliveries.command("list")
    @handle_errors
    def list_(
        status: Annotated[
            str | None, typer.Option(help="pending, delivered, suppressed, dead")
        ] = None,
        limit: Annotated[int, typer.Option(help="Most recent rows shown.")] = 50,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Counts per destination and status, and the latest deliveries."""
        from audience.activation.deliveries import delivery_counts, list_deliveries

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse:
            counts = delivery_counts(warehouse.con)
            rows = list_deliveries(warehouse.con, status, limit)
        if json_:
            print_json({"counts": counts, "deliveries": rows})
            return
        for dest, by_status in counts.items():
            console.print(f"{dest}: " + ", ".join(f"{k} {n:,}" for k, n in by_status.items()))
        for row in rows:
            console.print(
                f"  {row['delivery_id']} {row['event_type']} {row['customer_id']} "
                f"{row['status']} {row['reason'] or ''}"
            )


def _register_replay(deliveries: typer.Typer) -> None:
    @deliveries.command("retry")
    @handle_errors
    def retry(
        destination: Annotated[str | None, typer.Option(help="Only this destination.")] = None,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Replay the dead letters (same webhook-id; consent checked again)."""
        from audience.activation.workflows import retry_dead_letters
        from audience.rules.loading import load_activation

        ws = open_workspace(workspace)
        plan = load_activation(ws.root)
        with ws.warehouse() as warehouse:
            results = retry_dead_letters(warehouse, plan, ws.clock, destination)
        data = {name: s.to_dict() for name, s in results.items()}
        if json_:
            print_json(data)
            return
        for name, s in data.items():
            console.print(
                f"{name}: delivered {s['delivered']:,}, still dead "
                f"{s['dead_lettered']:,}, held {s['held']:,}"
                + (
                    f" [red]endpoint disabled: {s['endpoint_disabled']}[/]"
                    if s["endpoint_disabled"]
                    else ""
                )
            )

    @deliveries.command("enable")
    @handle_errors
    def enable(
        destination: Annotated[str, typer.Argument(help="Destination name.")],
        workspace: WorkspaceOption = None,
    ) -> None:
        """Re-enable an endpoint disabled by a 410 answer."""
        from audience.activation.deliveries import set_endpoint_state
        from audience.rules.loading import load_activation

        ws = open_workspace(workspace)
        plan = load_activation(ws.root)
        if destination not in plan.destinations:
            raise InputError(f"unknown destination {destination!r}")
        with ws.warehouse() as warehouse, warehouse.transaction() as con:
            set_endpoint_state(con, destination, "active", "enabled by hand", ws.clock.now())
        console.print(f"{destination} enabled")


def _register_consent(app: typer.Typer) -> None:
    consent = typer.Typer(
        help="Consent per purpose, with its history.", no_args_is_help=True, cls=Group
    )
    app.add_typer(consent, name="consent")

    @consent.command("set")
    @handle_errors
    def set_(
        customer_id: Annotated[str, typer.Argument(help="Customer or profile id.")],
        purpose: Annotated[str, typer.Argument(help=", ".join(CONSENT_PURPOSES))],
        status: Annotated[str, typer.Argument(help=", ".join(CONSENT_STATUSES))],
        source: Annotated[str, typer.Option(help="Where the change came from.")] = "cli",
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Record a consent change (it becomes the current status)."""
        from audience.privacy.consent import set_consent

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse, warehouse.transaction() as con:
            change = set_consent(
                con, customer_id, purpose, status, at=ws.clock.now(), source=source
            )
        if json_:
            print_json(change.to_dict())
            return
        console.print(f"{customer_id}: {purpose} {status} ({source})")

    @consent.command("show")
    @handle_errors
    def show(
        customer_id: Annotated[str, typer.Argument(help="Customer or profile id.")],
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Current status per purpose and the history of changes."""
        from audience.privacy.consent import PURPOSES, consent_history, current_consents

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse:
            current = current_consents(warehouse.con, customer_id)
            history = consent_history(warehouse.con, customer_id)
        if json_:
            print_json({"current": current, "history": [c.to_dict() for c in history]})
            return
        for purpose in PURPOSES:
            console.print(f"{purpose:12} {current.get(purpose, '(never asked)')}")
        for c in history:
            console.print(f"  {c.changed_at:%Y-%m-%d %H:%M} {c.purpose} {c.status} ({c.source})")
