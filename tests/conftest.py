"""Shared fixtures: workspaces in temporary directories and a small generated data set; and the
check that no process a test started outlives the run (see tests/procs.py)."""

from __future__ import annotations

import http.server
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from audience.ingest.demo.generate import GeneratedFiles, generate
from audience.store.workspace import Workspace
from tests import procs

pytest_plugins = ["tests.clock_offset"]

DEMO_END = date(2026, 11, 25)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""A Standard Webhooks secret for tests."""


def pytest_configure(config: pytest.Config) -> None:
    """Tag this run: the controller (or a lone pytest) picks the id, xdist workers inherit it."""
    if not hasattr(config, "workerinput"):
        os.environ[procs.RUN_VAR] = uuid.uuid4().hex
    # MLflow is a dev dependency, so tracking would be on for every 'audience segment' a test
    # runs (seconds to create a store each time); tests of tracking turn it on themselves.
    os.environ.setdefault("AUDIENCE_MLFLOW__ENABLED", "false")


def _report(found: list[procs.Process], where: str) -> str:
    lines = [f"  pid {p.pid} (group {p.pgid}): {p.command[:200]}" for p in found]
    return f"{len(found)} process(es) started by the tests outlived {where}; killed:\n" + "\n".join(
        lines
    )


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_session() -> Iterator[None]:
    """Fails the session (an error on its last test) if a process this pytest process started
    through tests/procs.py is still alive once every other fixture has been torn down."""
    yield
    found = procs.settle(os.environ[procs.RUN_VAR], owner=os.getpid())
    if found:
        procs.kill(found)
        pytest.fail(_report(found, "their session"), pytrace=False)


@pytest.hookimpl(trylast=True)  # after xdist has shut its workers down
def pytest_sessionfinish(session: pytest.Session) -> None:
    """On the controller: any process of this run still alive (from any xdist worker, even one
    that crashed, or an Audience process not started through tests/procs.py) fails the run."""
    if hasattr(session.config, "workerinput"):
        return
    found = procs.settle(os.environ[procs.RUN_VAR])
    if not found:
        return
    procs.kill(found)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(_report(found, "the test run"), red=True, bold=True)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


@dataclass
class Receiver:
    """A local HTTP server whose answers a test scripts (default 204)."""

    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default: int = 204

    def next_status(self) -> int:
        return self.statuses.pop(0) if self.statuses else self.default

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.next_status()
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
