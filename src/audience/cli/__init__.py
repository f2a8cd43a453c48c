"""The ``audience`` command line: one command per user task.

It starts at once: a command imports the stages it runs (and with them DuckDB, pandas,
scikit-learn, FastAPI...) inside its function, never at module level, so that ``--help`` and
argument errors cost only Typer and Rich. ``tests/cli/test_startup.py`` checks what a fresh
interpreter loads; ``bench/cli_startup.py`` times it.
"""

from __future__ import annotations

import typer

from audience.cli import (
    activation,
    deadletters,
    demo,
    explore,
    imports,
    predict,
    publish,
    quality,
    realtime,
    segment,
    workspace,
)
from audience.cli.terminal import Group

app = typer.Typer(
    name="audience",
    help="Audience: turn raw customer data into segments you can act on and defend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
)
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


def main() -> None:
    app()
