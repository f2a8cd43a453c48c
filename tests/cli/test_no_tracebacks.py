"""No command shows a traceback: every bad argument, setting or unavailable service is one line
on stderr naming what is wrong and how to fix it, with a meaningful exit code (2 bad input or
configuration, 75 a service unavailable, 70 a bug).

Settings are read when a command opens the workspace, and ``serve`` checks its services
before uvicorn starts: those cases run as real processes (``python -m audience.cli``) with the
variable set; the rest through Typer's CliRunner, which is cheaper.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import audience
from audience import cli
from audience.cli.terminal import INTERNAL_ERROR, Debug, writable_file
from audience.errors import InputError
from audience.realtime import eventlog
from audience.realtime.eventlog import EventLog, seal_stale
from audience.store.workspace import Workspace
from tests import procs

runner = CliRunner()
PASSWORD = "hunter2-not-shown"


@dataclass(frozen=True)
class Case:
    """A command line, what it runs with, and what it must answer."""

    id: str
    args: tuple[str, ...]
    code: int
    says: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    """Files written into the workspace before the command runs (path -> bytes)."""


def check(case: Case, code: int, out: str, err: str) -> None:
    """The answer is one line on stderr, no traceback anywhere, the expected code and words."""
    assert "Traceback" not in out + err
    assert code == case.code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for words in case.says:
        assert words in lines[0], lines[0]
    assert PASSWORD not in out + err


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIENCE_DEBUG", raising=False)
    monkeypatch.setattr(Debug, "enabled", False)


@pytest.fixture(scope="module")
def ws_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Workspace.init(tmp_path_factory.mktemp("no-tracebacks") / "ws").root


# -- settings and services: real processes -----------------------------------------------------

PROCESS_CASES = [
    Case(
        "environment-not-a-choice",
        ("sync",),
        2,
        ("AUDIENCE_SERVER__ENVIRONMENT", "'dev', 'test' or 'prod'", "fix or unset it"),
        env={"AUDIENCE_SERVER__ENVIRONMENT": "production"},
    ),
    Case(
        "write-keys-not-json",
        ("sync",),
        2,
        ("AUDIENCE_SERVER__WRITE_KEYS", "not valid JSON", "write it as JSON"),
        env={"AUDIENCE_SERVER__WRITE_KEYS": "wk_abc"},
    ),
    Case(
        "port-too-large",
        ("sync",),
        2,
        ("AUDIENCE_SERVER__PORT", "less than or equal to 65535", "fix or unset it"),
        env={"AUDIENCE_SERVER__PORT": "99999"},
    ),
    Case(
        "port-not-a-number",
        ("sync",),
        2,
        ("AUDIENCE_SERVER__PORT", "valid integer", "fix or unset it"),
        env={"AUDIENCE_SERVER__PORT": "abc"},
    ),
    Case(
        "broker-down",
        ("serve", "--port", "0"),
        75,
        ("RabbitMQ at amqp://guest:***@127.0.0.1:1/", "does not answer", "AUDIENCE_QUEUE__URL"),
        env={"AUDIENCE_QUEUE__URL": f"amqp://guest:{PASSWORD}@127.0.0.1:1/"},
    ),
    Case(
        "redis-down",
        ("serve", "--port", "0"),
        75,
        ("Redis at redis://:***@127.0.0.1:1/0", "does not answer", "AUDIENCE_PROFILES__URL"),
        env={"AUDIENCE_PROFILES__URL": f"redis://:{PASSWORD}@127.0.0.1:1/0"},
    ),
    Case(
        "broker-url-not-amqp",
        ("serve", "--port", "0"),
        2,
        ("AUDIENCE_QUEUE__URL", "not a RabbitMQ URL", "amqp://"),
        env={"AUDIENCE_QUEUE__URL": "http://127.0.0.1:1/"},
    ),
]


@pytest.mark.parametrize("case", PROCESS_CASES, ids=lambda c: c.id)
def test_settings_and_services_in_a_real_process(case: Case, ws_root: Path) -> None:
    src = str(Path(audience.__file__).resolve().parents[1])
    env = {
        **case.env,
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
        "AUDIENCE_WORKSPACE": str(ws_root),
        "COLUMNS": "80",  # a narrow terminal must not wrap the line
    }
    done = procs.run([sys.executable, "-m", "audience.cli", *case.args], timeout=120, env=env)
    check(case, done.returncode, done.stdout, done.stderr)


# -- arguments and files: CliRunner ---------------------------------------------------------

EVENT_RULE = "name: {name}\nwhen:\n  performed: Order Completed\n  within: {within}\n"

RUNNER_CASES = [
    Case(
        "within-overflows",
        ("evaluate",),
        2,
        ("segments/big.yaml line 4", "within", "longer than 100 years", "at most 36500d"),
        files={"segments/big.yaml": EVENT_RULE.format(name="big", within="999999999999d").encode()},
    ),
    Case(
        "within-past-year-one",
        ("evaluate",),
        2,
        ("segments/big.yaml line 4", "within", "at most 36500d"),
        files={"segments/big.yaml": EVENT_RULE.format(name="big", within="9999999d").encode()},
    ),
    Case(
        "within-last-overflows",
        ("evaluate",),
        2,
        ("segments/old.yaml line 2", "within_last", "at most 36500d"),
        files={
            "segments/old.yaml": b"name: old\nwhen: {field: last_order_at, within_last: 99999w}\n"
        },
    ),
    Case(
        "number-beyond-floats",
        ("evaluate",),
        2,
        ("segments/rich.yaml line 2", "expected a number"),
        files={
            "segments/rich.yaml": b"name: rich\nwhen: {field: monetary, gt: 1" + b"0" * 400 + b"}\n"
        },
    ),
    Case(
        "segment-file-not-utf8",
        ("evaluate",),
        2,
        ("segments/caf.yaml line 2", "not UTF-8", "byte 0xe9", "save the file as UTF-8"),
        files={"segments/caf.yaml": b"# latin-1\nname: caf\xe9\nwhen: {field: monetary, gt: 1}\n"},
    ),
    Case(
        "workspace-config-not-utf8",
        ("segment",),
        2,
        ("audience.yaml line 2", "not UTF-8", "save the file as UTF-8"),
        files={"audience.yaml": b"version: 1\nname: caf\xe9\n"},
    ),
    Case(
        "assignments-to-a-directory",
        ("segment", "--assignments", "{dir}"),
        2,
        ("--assignments", "is a directory", "give a file path you can write"),
    ),
    Case(
        "assignments-under-a-file",
        ("segment", "--assignments", "{file}/assignments.csv"),
        2,
        ("--assignments", "is not a directory", "give a file path you can write"),
    ),
    Case(
        "assignments-where-nothing-can-be-created",
        ("segment", "--assignments", "/proc/no-such-process/assignments.csv"),
        2,
        ("--assignments /proc/no-such-process/assignments.csv", "give a file path you can write"),
    ),
    Case(
        "identities-export-to-a-directory",
        ("identities", "--export", "{dir}"),
        2,
        ("--export", "is a directory", "give a file path you can write"),
    ),
    Case(
        "map-out-to-a-directory",
        ("map", "--out", "{dir}"),
        2,
        ("--out", "is a directory"),
    ),
    Case(
        "cohorts-plot-to-a-directory",
        ("cohorts", "--plot", "{dir}"),
        2,
        ("--plot", "is a directory"),
    ),
    Case(
        "clv-plot-under-a-file",
        ("predict", "clv", "--plot", "{file}/clv.png"),
        2,
        ("--plot", "is not a directory"),
    ),
]


@pytest.mark.parametrize("case", RUNNER_CASES, ids=lambda c: c.id)
def test_bad_arguments_and_files(case: Case, workspace: Workspace, tmp_path: Path) -> None:
    for name, data in case.files.items():
        path = workspace.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (tmp_path / "a-file").write_text("not a directory")
    args = [a.format(dir=tmp_path, file=tmp_path / "a-file") for a in case.args]
    result = runner.invoke(cli.app, [*args, "--workspace", str(workspace.root)])
    check(case, result.exit_code, result.stdout, result.stderr)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception


def test_a_checked_output_path_is_left_as_it_was(tmp_path: Path) -> None:
    existing = tmp_path / "kept.csv"
    existing.write_text("a,b\n")
    assert writable_file(existing, "--out") == existing
    assert existing.read_text() == "a,b\n"
    fresh = tmp_path / "new" / "dir" / "out.csv"
    assert writable_file(fresh, "--out") == fresh
    assert not fresh.exists()
    with pytest.raises(InputError, match="is a directory"):
        writable_file(tmp_path, "--out")


# -- the last resort: a bug ---------------------------------------------------------------


def _crash(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    def boom(workspace: Any) -> None:
        raise RuntimeError("the sync broke\non two lines")

    monkeypatch.setattr("audience.pipelines.sync.sync_events", boom)
    monkeypatch.setattr(sys, "argv", ["audience", *argv])


def test_a_bug_is_one_line_and_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ws_root: Path
) -> None:
    _crash(monkeypatch, ["sync", "--workspace", str(ws_root)])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == INTERNAL_ERROR
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.strip().splitlines() == [
        "error: internal error (RuntimeError): the sync broke on two lines; please report it "
        "with 'audience --debug ...'"
    ]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_debug_shows_the_traceback(
    how: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ws_root: Path,
) -> None:
    argv = ["sync", "--workspace", str(ws_root)]
    if how == "option":
        argv.insert(0, "--debug")
    else:
        monkeypatch.setenv("AUDIENCE_DEBUG", "1")
    _crash(monkeypatch, argv)
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: the sync broke" in err
    assert err.strip().splitlines()[-1].startswith("error: internal error (RuntimeError)")


def test_debug_is_in_the_help() -> None:
    result = runner.invoke(cli.app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--debug" in result.stdout
    assert "AUDIENCE_DEBUG" in result.stdout
    assert "70" in result.stdout


# -- the event log: files sealed by another process meanwhile ---------------------------------


def _part(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"events-{name}.jsonl.part"
    path.write_bytes(data)
    return path


def test_a_part_file_gone_between_listing_and_opening_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = _part(tmp_path, "1", b'{"a": 1}\n')
    gone = tmp_path / "events-0.jsonl.part"
    listing = Path.glob

    def glob(self: Path, pattern: str) -> Any:
        found = list(listing(self, pattern))
        return [gone, *found] if pattern.endswith(".part") else found

    monkeypatch.setattr(Path, "glob", glob)
    assert seal_stale(tmp_path) == [kept.with_suffix("")]
    assert eventlog.ready_files(tmp_path) == [kept.with_suffix("")]


def _sealed_meanwhile(monkeypatch: pytest.MonkeyPatch, act: Callable[[Path], None]) -> None:
    """Another process seals each file between this process's open and lock."""
    locking = fcntl.flock

    def flock(handle: Any, operation: int) -> None:
        path = Path(handle.name)
        if path.exists() and path.suffix == ".part":
            act(path)
        locking(handle, operation)

    monkeypatch.setattr(eventlog.fcntl, "flock", flock)


def test_a_part_file_sealed_between_opening_and_locking_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    part = _part(tmp_path, "1", b'{"a": 1}\n{"b": 2}\n')
    _sealed_meanwhile(monkeypatch, lambda p: p.rename(p.with_suffix("")))
    assert seal_stale(tmp_path) == []
    assert part.with_suffix("").read_bytes() == b'{"a": 1}\n{"b": 2}\n'


def test_an_empty_part_file_removed_between_opening_and_locking_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _part(tmp_path, "1", b"")
    _sealed_meanwhile(monkeypatch, Path.unlink)
    assert seal_stale(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_a_sealer_never_sees_a_new_log_file_unlocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sealer that runs between the writer's creating its file and locking it does not take
    the still empty file for a dead writer's (and remove it under the writer's feet)."""
    locking = fcntl.flock
    raced: list[list[Path]] = []

    def flock(handle: Any, operation: int) -> None:
        if handle.mode == "ab" and not raced:  # the writer, about to lock its new file
            raced.append(seal_stale(tmp_path))
        locking(handle, operation)

    monkeypatch.setattr(eventlog.fcntl, "flock", flock)

    async def write() -> None:
        log = EventLog(tmp_path)
        try:
            await log.append([{"type": "track", "event": "x", "messageId": "m1"}])
            assert seal_stale(tmp_path) == []  # its writer holds it
        finally:
            await log.close()

    asyncio.run(write())
    assert raced == [[]]
    (sealed,) = tmp_path.iterdir()
    assert sealed.name.startswith("events-")
    assert sealed.suffix == ".jsonl"
    assert sealed.read_bytes().count(b"\n") == 1
