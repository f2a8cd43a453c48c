"""``audience init``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from audience.cli.terminal import console, handle_errors


class ObjectiveChoice(StrEnum):
    retention = "retention"
    acquisition = "acquisition"
    value = "value"


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def init(
        directory: Annotated[Path, typer.Argument(help="Workspace directory to create.")] = Path(),
        objective: Annotated[
            ObjectiveChoice, typer.Option(help="What the segments serve.")
        ] = ObjectiveChoice.retention,
        force: Annotated[bool, typer.Option(help="Rewrite an existing audience.yaml.")] = False,
    ) -> None:
        """Create a workspace: audience.yaml and an empty warehouse."""
        from audience.store.workspace import Workspace

        ws = Workspace.init(directory, objective=objective.value, force=force)
        console.print(
            f"Workspace ready in [bold]{ws.root}[/]: edit audience.yaml, then "
            "'audience import customers FILE'."
        )
