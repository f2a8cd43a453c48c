"""What every command shares: the workspace option, errors, JSON output, warnings, progress.

Errors: a command never shows a traceback. :func:`handle_errors` prints an
:class:`~audience.errors.AudienceError` as one red line and exits with its code (2: bad input or
configuration; 75: a service is unavailable, try again), and does the same for the errors it
can explain although no Audience code raised them (settings read from the environment, a path
the operating system refuses). :func:`run` is the last resort around the whole command: any
other exception is a bug, reported on one line with exit code 70, its traceback shown only with
``audience --debug`` (or ``AUDIENCE_DEBUG=1``).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from typer.core import TyperGroup

from audience.errors import AudienceError, InputError

if TYPE_CHECKING:
    from audience.model.progress import Progress
    from audience.store.workspace import Workspace

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

INTERNAL_ERROR = 70
"""Exit code of an unexpected exception (``EX_SOFTWARE``): a bug to report."""


class Debug:
    """Whether to show tracebacks: ``audience --debug`` (or ``AUDIENCE_DEBUG=1``) sets it."""

    enabled = False


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
    """Turn an AudienceError, or an error :func:`explain` knows, into one red line on stderr
    and its exit code; let any other exception through to :func:`run`."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            error = explain(exc)
            if error is None:
                raise
            if Debug.enabled:
                traceback.print_exc()
            print_error(str(error))
            raise typer.Exit(error.exit_code) from exc

    return wrapper


def print_error(message: str) -> None:
    """``error: <message>`` on one line of stderr, whatever the width of the terminal."""
    from rich.markup import escape

    line = " ".join(message.split())
    err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)


def explain(exc: BaseException) -> AudienceError | None:
    """``exc`` as the AudienceError to show, or None when it is a bug.

    Besides Audience's own errors: invalid settings (pydantic's errors, naming the variable,
    exit 2) and a file or directory the system refuses (exit 2, naming the path).
    """
    if isinstance(exc, AudienceError):
        return exc
    if type(exc).__module__.split(".")[0] in ("pydantic", "pydantic_core", "pydantic_settings"):
        from audience.config.settings_errors import settings_error

        return settings_error(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        return InputError(
            f"{exc.filename}: {exc.strerror or exc}; check the path and its permissions"
        )
    return None


def run(command: Callable[[], object]) -> None:
    """Run the command line: an exception no command handled is reported as a bug, on one
    line (with its traceback under ``--debug``), and exits with :data:`INTERNAL_ERROR`."""
    try:
        command()
    except Exception as exc:
        debug = Debug.enabled or os.environ.get("AUDIENCE_DEBUG", "") in ("1", "true", "yes")
        if debug:
            traceback.print_exc()
        text = " ".join(str(exc).split())
        text = text if len(text) <= 300 else text[:299] + "…"
        how = "with the traceback above" if debug else "with 'audience --debug ...'"
        print_error(f"internal error ({type(exc).__name__}): {text}; please report it {how}")
        sys.exit(INTERNAL_ERROR)


def writable_file(path: Path, option: str) -> Path:
    """Check, before any work, that a file can be written at ``path``; InputError if not.

    Missing parent directories are created (the command would create them anyway). The
    check writes (root passes every permission check, not every file system) but leaves no
    file behind.
    """
    problem = _unwritable(path)
    if problem:
        raise InputError(f"{option} {path}: {problem}; give a file path you can write")
    return path


def _unwritable(path: Path) -> str | None:
    """Why no file can be written at ``path``, or None."""
    if path.is_dir():
        return "is a directory"
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is not a directory"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.open("ab").close()  # appends nothing: the file is unchanged
        else:
            path.open("xb").close()
            path.unlink()
    except OSError as exc:
        reason = str(exc.strerror or exc).lower()
        where = exc.filename if exc.filename not in (None, str(path)) else None
        return f"{reason} ({where})" if where else reason
    return None


def open_workspace(path: Path | None) -> Workspace:
    # Imported here: the workspace opens the warehouse (DuckDB), which ``--help`` never needs.
    from audience.store.workspace import Workspace

    return Workspace.open(path)


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else, for machines."""
    typer.echo(json.dumps(data, default=str, ensure_ascii=False, indent=2))


def print_duckdb_run(data: dict[str, Any], engine: str, command: str) -> None:
    """A batch computation's JSON, saying which engine ran it: the warehouse (DuckDB).

    ``engine`` is the one configured (``AUDIENCE_ENGINE``): where it asks for Spark and
    ``command`` has no Spark path, stderr says so, so that the document is not misread.
    """
    if engine != "duckdb":
        err_console.print(
            f"note: {command} runs on the duckdb engine ({engine} computes "
            "'audience segment --engine spark': features, segments, rule memberships)",
            highlight=False,
        )
    print_json(data | {"engine": "duckdb"})


def print_warnings(warnings: Iterable[str]) -> None:
    """Each warning a result holds (``run.warnings``, ``report.warnings``...) as one yellow
    ``warning:`` line on stderr, once each, in the human output of every command; ``--json``
    carries the same list in its document instead."""
    from rich.markup import escape

    for warning in dict.fromkeys(warnings):
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


def _nowhere(done: int, total: int) -> None:
    """A progress callback that draws nothing (``--json``); :mod:`audience.model` is not
    imported at start-up, hence not its ``no_progress``."""


@contextmanager
def step(description: str, quiet: bool = False) -> Iterator[Progress]:
    """Run a step under a spinner, then print its duration; yields a progress callback.

    A step that knows its work hands the callback to the stage (``progress=...``); once
    called, the spinner becomes a bar with counts (``12/18``). Nothing is drawn under
    ``--json`` (``quiet``); when stderr is not a terminal (a pipe, a test) only the final
    ``✓`` line is written.
    """
    if quiet:
        yield _nowhere
        return
    started = time.perf_counter()
    last = [0, 0]

    def record(done: int, total: int) -> None:
        last[:] = [done, total]

    if not err_console.is_terminal:
        yield record
    else:
        # Imported here: Rich's progress module is not needed by ``--help``.
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar

        with Bar(
            SpinnerColumn(),
            TextColumn("{task.description}…"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task(description, total=None)

            def advance(done: int, total: int) -> None:
                record(done, total)
                bar.update(task, completed=done, total=max(total, done, 1))

            yield advance
    counts = f"{last[1]:,}/{last[1]:,}, " if last[1] else ""
    seconds = time.perf_counter() - started
    err_console.print(f"[green]✓[/] {description} [dim]({counts}{seconds:.1f}s)[/]")
