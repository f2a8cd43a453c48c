"""Shared fixtures: workspaces in temporary directories and a small generated data set."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from audience.ingest.demo.generate import GeneratedFiles, generate
from audience.workspace import Workspace

DEMO_END = date(2026, 11, 25)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> GeneratedFiles:
    """3,000 generated customers, shared by the tests that only read them."""
    return generate(3_000, tmp_path_factory.mktemp("demo-data"), seed=7, end=DEMO_END)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path
