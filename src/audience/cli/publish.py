"""``audience publish``: write each person's warehouse state into the live profile store.

Without options: identities, traits, consent, RFM, features, segment memberships (ids and
names) and CLV/churn scores, only for persons whose state changed since the last publish
(``audience serve`` and ``audience worker`` also do this at start when the warehouse changed).

``--rebuild``: build the live profiles again from the event log, for a live store that lost
its data while no consumer ran to notice (a consumer notices on its own and rebuilds before
its next batch), or after a change of rule segments or deployed model that should apply to
everyone's history. The warehouse state is published again on top.
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


def register(app: typer.Typer) -> None:
    """Add ``publish``."""

    @app.command()
    @handle_errors
    def publish(
        rebuild: Annotated[
            bool,
            typer.Option(
                "--rebuild",
                help="Clear the live store, replay every logged event into it, then publish.",
            ),
        ] = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Write each person's warehouse state into the live profile store (changed ones)."""
        from audience.pipelines.live import rebuild_live_profiles
        from audience.pipelines.publish import publish_live_profiles

        ws = open_workspace(workspace)
        rebuilt = asyncio.run(rebuild_live_profiles(ws, ws.settings)) if rebuild else None
        published = asyncio.run(publish_live_profiles(ws, ws.settings))
        if json_:
            print_json(
                {
                    **published.to_dict(),
                    **({"rebuild": rebuilt.to_dict()} if rebuilt is not None else {}),
                }
            )
            return
        if rebuilt is not None:
            console.print(
                f"rebuilt from {rebuilt.files:,} event log file(s): {rebuilt.events:,} events, "
                f"{rebuilt.applied:,} applied, {rebuilt.duplicates:,} already counted, "
                f"{len(rebuilt.rejected):,} rejected",
                highlight=False,
            )
        console.print(
            f"published {published.persons:,} person(s) from the warehouse: "
            f"{published.written:,} written, {published.unchanged:,} unchanged",
            highlight=False,
        )
