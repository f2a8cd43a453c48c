"""The ``audience`` command line: one command per user task.

It starts at once: a command imports the stages it runs (and with them DuckDB, pandas,
scikit-learn, FastAPI...) inside its function, never at module level, so that ``--help`` and
argument errors cost only Typer and Rich. ``tests/cli/test_startup.py`` checks what a fresh
interpreter loads; ``bench/cli_startup.py`` times it.

It shows no traceback: errors are one line and an exit code (2 bad input or configuration,
75 a service unavailable, 70 a bug); ``audience --debug`` or ``AUDIENCE_DEBUG=1`` adds the
traceback (see :mod:`audience.cli.terminal`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from audience.cli import (
    activation,
    dashboard,
    deadletters,
    demo,
    drift,
    experiments,
    explore,
    imports,
    models,
    predict,
    privacy,
    publish,
    quality,
    realtime,
    recalibrate,
    segment,
    workspace,
)
from audience.cli.terminal import Debug, Group, run

app = typer.Typer(
    name="audience",
    help="Audience: turn raw customer data into segments you can act on and defend.\n\n"
    "An error is one line on stderr and an exit code: 2 bad input or configuration, "
    "75 a service unavailable (try again), 70 a bug (report it with its --debug output).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
)


@app.callback()
def _options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="AUDIENCE_DEBUG",
            help="Show the traceback of an error, for a bug report (also AUDIENCE_DEBUG=1).",
        ),
    ] = False,
) -> None:
    # Options of ``audience`` itself, before the command; the help is the app's.
    Debug.enabled = debug


workspace.register(app)
imports.register(app)
quality.register(app)
segment.register(app)
explore.register(app)
predict.register(app)
activation.register(app)
demo.register(app)
realtime.register(app)
deadletters.register(app)
publish.register(app)
experiments.register(app)
drift.register(app)
models.register(app)
recalibrate.register(app)
dashboard.register(app)
privacy.register(app)


def main() -> None:
    """The ``audience`` console script."""
    run(app)
