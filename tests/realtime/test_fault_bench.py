"""``bench/faults.py --quick``, run as the benchmark runs: a worker SIGKILLed under load, a
private Redis stopped under load and back empty; nothing dead-lettered, lost or doubled, and
the warehouse equal to the live profiles (exit status 0).

The broker restart is covered by ``test_faults.py``; the bench stops only what it started
(its private ``redis-server``, its processes) and deletes its own queue.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests import procs

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.rabbitmq]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "faults.py"


@pytest.mark.parametrize("scenario", ["worker-kill", "redis-down"])
def test_the_quick_fault_bench_loses_and_doubles_nothing(scenario: str, rabbit_url: str) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on the PATH (the bench starts a private one)")
    src = str(BENCH.parents[1] / "src")
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH", "")])),
        "BENCH_RABBIT_URL": rabbit_url,
    }
    argv = [sys.executable, str(BENCH), "--quick", "--scenario", scenario]
    done = procs.run(argv, timeout=900, env=env)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert f"\n{scenario} " in done.stdout
