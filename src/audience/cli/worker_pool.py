"""``audience worker --concurrency N``: N worker processes, supervised by this one.

Processes, not tasks: the consumer's work is Python, so only processes use more than one
core. Each child is a plain ``audience worker`` (the same as one started by hand on another
machine), so N processes here and M elsewhere are N + M members sharing the load: on Kafka
the members of the consumer group share the topic's partitions, and one person's events
stay on one partition, in order. A child that dies is started again after a pause; SIGTERM
or Ctrl-C stops them all after their current batch.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

RESTART_PAUSE = 1.0
"""Seconds before a child that died is started again (a crash loop stays slow)."""


def child_command(root: Path, index: int, count: int) -> list[str]:
    """Worker ``index`` of ``count`` on the workspace (its RabbitMQ shards: ``s % count ==
    index``); the parent already published the warehouse."""
    return [
        sys.executable,
        "-m",
        "audience.cli",
        "worker",
        "-w",
        str(root),
        "--no-publish",
        "--pool-member",
        f"{index}/{count}",
    ]


class WorkerPool:
    """Keep ``size`` worker processes running until :meth:`stop`."""

    def __init__(self, root: Path, size: int) -> None:
        self.root = root
        self.size = size
        self.children: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        self._stopping = False

    def _start(self, index: int) -> subprocess.Popen[bytes]:
        command = child_command(self.root, index, self.size)
        return subprocess.Popen(command, stdin=subprocess.DEVNULL)

    def stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        """Ask every child to finish its batch and stop (the signal handler)."""
        self._stopping = True
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Start the children and keep them running; the worst exit code once stopped."""
        self.children = [self._start(index) for index in range(self.size)]
        while not self._stopping:
            for index, child in enumerate(self.children):
                code = child.poll()
                if code is not None and not self._stopping:
                    log.warning("worker %d exited with %s; starting it again", child.pid, code)
                    time.sleep(RESTART_PAUSE)
                    self.restarts += 1
                    self.children[index] = self._start(index)
            time.sleep(0.2)
        codes = [child.wait() for child in self.children]
        # A child stopped by our SIGTERM exits 0 (or -15 if it had not set its handler yet).
        return max((c for c in codes if c not in (0, -signal.SIGTERM)), default=0)


def run_pool(root: Path, size: int) -> int:
    """Run ``size`` workers on the workspace at ``root`` until SIGTERM or SIGINT."""
    pool = WorkerPool(root, size)
    signal.signal(signal.SIGTERM, pool.stop)
    signal.signal(signal.SIGINT, pool.stop)
    return pool.run()
