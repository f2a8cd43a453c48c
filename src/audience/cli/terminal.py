"""What every command shares: the workspace option, errors, JSON output, progress."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from typer.core import TyperGroup

from audience.errors import AudienceError

if TYPE_CHECKING:
    from audience.store.workspace import Workspace

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="AUDIENCE_WORKSPACE",
        help="Workspace directory (default: the current directory).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


class Group(TyperGroup):
    """A command group whose ``--help`` flag, when not given, is False rather than None.

    Typer passes every parameter value that is not already a bool through a pydantic
    ``TypeAdapter``; a group's absent ``--help`` was None, so ``audience import --help``
    imported pydantic (a tenth of a second) only to read that flag. Same help, same parsing.
    """

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn an AudienceError into one red line on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AudienceError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from exc

    return wrapper


def open_workspace(path: Path | None) -> Workspace:
    # Imported here: the workspace opens the warehouse (DuckDB), which ``--help`` never needs.
    from audience.store.workspace import Workspace

    return Workspace.open(path)


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else, for machines."""
    typer.echo(json.dumps(data, default=str, ensure_ascii=False, indent=2))


@contextmanager
def step(description: str, quiet: bool = False) -> Iterator[None]:
    """A spinner while a step runs, then its duration."""
    if quiet:
        yield
        return
    started = time.perf_counter()
    with err_console.status(f"{description}…"):
        yield
    err_console.print(f"[green]✓[/] {description} [dim]({time.perf_counter() - started:.1f}s)[/]")
