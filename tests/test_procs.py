"""tests/procs.py: a process a test starts is stopped on every path, its children with it, and
the end-of-run check finds one that got away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import procs

# A parent that starts a child of its own, prints the child's PID, then waits: what a server
# with worker processes looks like to the helper.
FAMILY = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(120)\n"
)


def alive(pid: int) -> bool:
    return any(p.pid == pid for p in procs.processes())


def child_pid(log: Path) -> int:
    procs.wait_for(lambda: log.exists() and log.read_text().strip() != "", what="the parent")
    return int(log.read_text().split()[0])


def gone(pid: int) -> bool:
    try:
        procs.wait_for(lambda: not alive(pid), timeout=10, what=f"pid {pid} ending")
    except RuntimeError:
        return False
    return True


def test_a_start_that_never_gets_ready_leaves_no_process(tmp_path: Path) -> None:
    log = tmp_path / "family.log"
    started: list[int] = []

    def never_ready(proc: object) -> None:
        started.append(child_pid(log))
        raise RuntimeError("not ready")

    with (
        pytest.raises(RuntimeError, match="not ready"),
        procs.running([sys.executable, "-c", FAMILY], log=log, ready=never_ready),
    ):
        pass  # never reached: readiness failed
    assert started and gone(started[0])


def test_stopping_the_leader_ends_its_children(tmp_path: Path) -> None:
    log = tmp_path / "family.log"
    with procs.running([sys.executable, "-c", FAMILY], log=log) as proc:
        child = child_pid(log)
        assert alive(proc.pid) and alive(child)
    assert proc.returncode is not None
    assert gone(child)


def test_readiness_fails_at_once_when_the_process_exits(tmp_path: Path) -> None:
    never = [sys.executable, "-c", "raise SystemExit(3)"]
    with (
        pytest.raises(RuntimeError, match="exited with 3"),
        procs.running(
            never, log=tmp_path / "exit.log", ready=lambda p: procs.wait_for(lambda: False, p)
        ),
    ):
        pass


def test_a_command_that_overruns_is_killed_with_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    script = FAMILY.replace(
        "print(child.pid, flush=True)", f"open({str(marker)!r}, 'w').write(str(child.pid))"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        procs.run([sys.executable, "-c", script], timeout=5)
    assert gone(int(marker.read_text()))


def test_the_end_of_run_check_finds_a_process_left_running(tmp_path: Path) -> None:
    run_id = os.environ[procs.RUN_VAR]
    proc = procs.spawn([sys.executable, "-c", "import time; time.sleep(120)"], log=tmp_path / "l")

    def found(run: str, owner: int | None = None) -> list[int]:
        return [p.pid for p in procs.leftovers(run, owner)]

    try:  # its environment is readable once it has exec'd: poll for that
        procs.wait_for(lambda: proc.pid in found(run_id, owner=os.getpid()), proc)  # its own
        assert proc.pid in found(run_id)  # the controller's check, every worker's processes
        assert proc.pid not in found("another-run")  # another pytest run's are not ours
    finally:
        procs.stop(proc)
    assert proc.pid not in found(run_id)
