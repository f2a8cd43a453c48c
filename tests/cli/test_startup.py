"""The command line starts at once: importing it, or asking any command for its help, loads
no stage of the product and none of the heavy libraries the stages use.

Each command imports what it needs when it runs. These checks are not timed (timing is
noisy; ``bench/cli_startup.py`` times it): they list what a fresh interpreter has imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import audience
from audience.cli import activation
from audience.privacy import consent

HEAVY = (
    "numpy",
    "pandas",
    "scipy",
    "sklearn",
    "matplotlib",
    "duckdb",
    "pyarrow",
    "fastapi",
    "starlette",
    "uvicorn",
    "aio_pika",
    "redis",
    "httpx",
    "jinja2",
    "yaml",
    "mlflow",
    "torch",  # audience[deep]: imported by an autoencoder fit only
    "pydantic",  # Typer uses it to coerce values: a command's run pays for it, not --help
)

PROBE = """
import io, json, sys
from contextlib import redirect_stderr, redirect_stdout

def loaded():
    return sorted(sys.modules)

import audience.cli
from typer.main import get_command

after_import = loaded()
paths = []
def walk(command, path):
    paths.append(path)
    for name, sub in getattr(command, "commands", {}).items():
        walk(sub, [*path, name])
walk(get_command(audience.cli.app), [])
codes = {}
for path in paths:
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            audience.cli.app([*path, "--help"], prog_name="audience")
    except SystemExit as stop:
        codes[" ".join(path)] = stop.code
print(json.dumps({"import": after_import, "help": loaded(), "codes": codes}))
"""


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    """Modules loaded by ``import audience.cli``, then by ``--help`` of every command."""
    src = str(Path(audience.__file__).resolve().parents[1])
    env = os.environ | {"PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _heavy(modules: list[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


def _stages(modules: list[str]) -> list[str]:
    """Product modules beyond the CLI itself, the package and its exceptions."""
    light = ("audience", "audience.errors", "audience.lazy_exports", "audience.cli")
    return [
        m
        for m in modules
        if m.split(".")[0] == "audience" and m not in light and not m.startswith("audience.cli.")
    ]


@pytest.mark.parametrize("phase", ["import", "help"])
def test_no_heavy_library_and_no_stage_at_start(probe: dict[str, Any], phase: str) -> None:
    assert _heavy(probe[phase]) == []
    assert _stages(probe[phase]) == []


def test_every_command_has_help(probe: dict[str, Any]) -> None:
    assert {"", "import", "consent set", "predict clv", "quarantine retry"} <= set(probe["codes"])
    assert set(probe["codes"].values()) == {0}


def test_consent_help_lists_the_purposes_and_statuses_the_stage_accepts() -> None:
    assert activation.CONSENT_PURPOSES == consent.PURPOSES
    assert activation.CONSENT_STATUSES == consent.STATUSES
