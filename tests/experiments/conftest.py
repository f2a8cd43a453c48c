"""Experiment tests run on the small warehouse of :mod:`tests.experiments.segment_data`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audience.store.warehouse import Warehouse
from audience.store.workspace import Workspace
from tests.experiments.segment_data import make_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws")


@pytest.fixture
def warehouse(workspace: Workspace) -> Iterator[Warehouse]:
    with workspace.warehouse() as warehouse:
        yield warehouse
