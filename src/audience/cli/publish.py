"""``audience publish --rebuild``: build the live profiles again from the event log.

For a live store that lost its data while no consumer ran to notice (a consumer notices on its
own and rebuilds before its next batch), or after a change of rule segments or deployed
model that should apply to everyone's history.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from audience.cli.terminal import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
)
from audience.errors import InputError


def register(app: typer.Typer) -> None:
    """Add ``publish``."""

    @app.command()
    @handle_errors
    def publish(
        rebuild: Annotated[
            bool,
            typer.Option(
                "--rebuild",
                help="Clear the live profile store and replay every logged event into it.",
            ),
        ] = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Write the live profile store from what Audience holds (today: --rebuild)."""
        from audience.pipelines.live import rebuild_live_profiles

        if not rebuild:
            raise InputError("say what to publish: --rebuild replays the event log")
        ws = open_workspace(workspace)
        report = asyncio.run(rebuild_live_profiles(ws, ws.settings))
        if json_:
            print_json(report.to_dict())
            return
        console.print(
            f"rebuilt from {report.files:,} event log file(s): {report.events:,} events, "
            f"{report.applied:,} applied, {report.duplicates:,} already counted, "
            f"{len(report.rejected):,} rejected",
            highlight=False,
        )
