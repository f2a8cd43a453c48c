"""``--clock-offset-days N``: run tests with the machine's clock moved N days (time-machine).

``make test`` runs the activation and real-time suites a year ahead of and behind the real
date, so that no test passes only because of the day it runs on. Time keeps ticking, so
timeouts and waits behave as usual; processes a test starts are not moved.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-offset-days",
        type=float,
        default=0.0,
        help="Move the clock of every test by this many days (time-machine).",
    )


@pytest.fixture(scope="session", autouse=True)
def _moved_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """Session-wide, so that shared workspaces are built on the moved clock too."""
    days = float(request.config.getoption("--clock-offset-days"))
    if not days:
        yield
        return
    with time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True):
        yield
