"""Child processes of the tests: started in a process group of their own, stopped on every path,
and found again at the end of the run if one got away.

Every process a test starts goes through :func:`spawn` (long-running, e.g. ``audience serve``,
usually through :func:`running`) or :func:`run` (to completion, e.g. ``rabbitmqctl``):

- ``start_new_session=True``: the child leads a new process group, so ``os.killpg`` also
  reaches what it started itself (uvicorn's worker processes...);
- :func:`stop` sends SIGTERM to the group, waits, then SIGKILL to whatever is left;
- :func:`running` wraps start *and* readiness wait in ``try/finally``: a server that never
  becomes ready is stopped too;
- the child's environment carries :data:`RUN_VAR` (this pytest run, xdist workers included)
  and :data:`OWNER_VAR` (the pytest process that started it), so that :func:`leftovers` finds
  what this run left behind without mistaking another run's servers for ours.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

RUN_VAR = "PYTEST_AUDIENCE_RUN"
"""Set by the controlling pytest process; inherited by xdist workers and every child."""
OWNER_VAR = "PYTEST_AUDIENCE_OWNER"
"""PID of the pytest process (controller or xdist worker) that spawned a process."""
AUDIENCE_COMMANDS = ("audience.cli", "audience serve", "audience worker", "bin/audience ")
"""Command lines that are Audience's own processes (``python -m audience.cli.realtime``...)."""


def audience(*args: str) -> list[str]:
    """``python -m audience.cli.realtime <args>``: ``serve``, ``worker``, ``sync``."""
    return [sys.executable, "-m", "audience.cli.realtime", *args]


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    return {**os.environ, **(env or {}), OWNER_VAR: str(os.getpid())}


def spawn(
    argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as the leader of a new process group, output appended to ``log``.

    ``env`` is added to this process's environment. Pair with :func:`stop` in a ``finally``,
    or use :func:`running`.
    """
    with log.open("ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            list(argv),
            env=_env(env),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Stop ``proc`` and its process group: SIGTERM, up to ``grace`` seconds, then SIGKILL.

    Safe to call on a process that already exited: what it left in its group is killed.
    """
    _signal_group(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(grace)
    _signal_group(proc.pid, signal.SIGKILL)  # stragglers, or a leader that ignored SIGTERM
    proc.wait(10)


@contextmanager
def running(
    argv: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    ready: Callable[[subprocess.Popen[bytes]], object] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A process for the duration of the block, stopped however the block (or ``ready``) ends."""
    proc = spawn(argv, log=log, env=env)
    try:
        if ready is not None:
            ready(proc)
        yield proc
    finally:
        stop(proc)


def run(
    argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion, output captured as text; on a timeout (or any interruption)
    its whole process group is killed and the error raised."""
    proc = subprocess.Popen(
        list(argv),
        env=_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:  # a timeout, or the run interrupted: nothing of it may survive
        _signal_group(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)  # reaps it and closes its pipes
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_for(
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes] | None = None,
    timeout: float = 20.0,
    every: float = 0.1,
    what: str = "the process",
) -> None:
    """Poll ``ready`` until true; fail at once if ``proc`` exits, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before it was ready")
        if ready():
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(f"{what} was not ready within {timeout}s")
        time.sleep(every)


@dataclass(frozen=True)
class Process:
    """A process seen in ``/proc``."""

    pid: int
    pgid: int
    command: str
    env: Mapping[str, str]

    @property
    def is_audience(self) -> bool:
        return any(name in self.command for name in AUDIENCE_COMMANDS)


def _read(pid: int) -> Process | None:
    base = Path("/proc") / str(pid)
    try:
        stat = (base / "stat").read_text()
        raw_env = (base / "environ").read_bytes()
        command = (base / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:  # gone meanwhile, or another user's
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    if fields[0] in ("Z", "X"):  # exited, waiting for its parent to reap it
        return None
    env = dict(
        item.decode(errors="replace").partition("=")[::2] for item in raw_env.split(b"\0") if item
    )
    return Process(pid, int(fields[2]), command.strip(), env)


def processes() -> list[Process]:
    """Every live process of this user except this one (Linux ``/proc``)."""
    me = os.getpid()
    found = (_read(int(entry.name)) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [p for p in found if p is not None and p.pid != me]


def leftovers(run_id: str, owner: int | None = None) -> list[Process]:
    """Processes of run ``run_id`` still alive: every process a helper here started (and its
    children), plus any Audience process that inherited the run's environment.

    ``owner``: only those a helper started from that pytest process.
    """
    mine = [p for p in processes() if p.env.get(RUN_VAR) == run_id]
    if owner is not None:
        return [p for p in mine if p.env.get(OWNER_VAR) == str(owner)]
    return [p for p in mine if OWNER_VAR in p.env or p.is_audience]


def kill(found: Sequence[Process]) -> None:
    """SIGKILL ``found``, and the process groups they lead."""
    for proc in found:
        if proc.pgid == proc.pid:
            _signal_group(proc.pgid, signal.SIGKILL)
        with suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, signal.SIGKILL)


def settle(run_id: str, owner: int | None = None, timeout: float = 5.0) -> list[Process]:
    """:func:`leftovers` once those still shutting down have had ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (found := leftovers(run_id, owner)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found
