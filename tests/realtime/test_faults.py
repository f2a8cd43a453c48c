"""Faults against the real services: a worker killed by SIGKILL, RabbitMQ restarted mid-stream.

Server and worker run as processes, as in production; the client counts what got a 2xx and
the profile must hold exactly that, no event lost, none counted twice.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from audience.store.workspace import Workspace
from tests import procs
from tests.realtime.conftest import (
    READ_KEY,
    WRITE_KEY,
    answers,
    audience_server,
    basic,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq, pytest.mark.redis]


@pytest.fixture
def services(
    workspace: Workspace,
    rabbit_url: str,
    queue_name: str,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> Iterator[Any]:
    env = {
        "AUDIENCE_QUEUE__URL": rabbit_url,
        "AUDIENCE_QUEUE__NAME": queue_name,
        "AUDIENCE_PROFILES__URL": redis_url,
        "AUDIENCE_PROFILES__PREFIX": redis_prefix,
    }
    log = tmp_path / "procs.log"
    with ExitStack() as stack:  # workers, then the server, stopped however the test ends

        def launch(*command: str) -> subprocess.Popen[bytes]:
            argv = procs.audience(*command, "--workspace", str(workspace.root))
            return stack.enter_context(procs.running(argv, log=log, env=env))

        url = stack.enter_context(audience_server(workspace.root, log, env))
        yield url, launch


def rabbitmqctl(*args: str, timeout: float) -> None:
    done = procs.run(["rabbitmqctl", "-q", *args], timeout=timeout)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)}: {done.stderr}"


def restart_rabbitmq(outage: float) -> None:
    """Stop the broker's application for ``outage`` seconds; it is started again even when the
    test is interrupted meanwhile, so that no later test finds it down."""
    rabbitmqctl("stop_app", timeout=60)
    try:
        time.sleep(outage)  # clients meet the outage: not a wait for readiness
    finally:
        rabbitmqctl("start_app", timeout=120)
        procs.wait_for(lambda: answers(5672), timeout=60, what="RabbitMQ")


def counter(url: str, user: str) -> int:
    reply = httpx.get(f"{url}/v1/profiles/{user}", headers=basic(READ_KEY), timeout=5)
    if reply.status_code == 404:
        return 0
    return int(reply.json()["profile"]["counters"].get("Tick", 0))


def test_worker_killed_mid_stream_loses_and_doubles_nothing(services: Any) -> None:
    url, launch = services
    worker = launch("worker")
    accepted: list[int] = []

    def send() -> None:
        with httpx.Client(base_url=url, headers=basic(WRITE_KEY), timeout=10) as client:
            for b in range(100):
                batch = [
                    {"type": "track", "userId": "k1", "event": "Tick", "messageId": f"k1-{b}-{i}"}
                    for i in range(50)
                ]
                if client.post("/v1/batch", json={"batch": batch}).status_code == 200:
                    accepted.append(len(batch))
                time.sleep(0.02)

    sender = threading.Thread(target=send)
    sender.start()
    assert wait_until(lambda: counter(url, "k1") > 500, timeout=60)
    worker.send_signal(signal.SIGKILL)
    worker.wait(5)
    seen_at_kill = counter(url, "k1")
    worker = launch("worker")
    sender.join(120)
    total = sum(accepted)
    assert 0 < seen_at_kill < total
    assert wait_until(lambda: counter(url, "k1") >= total, timeout=60)
    time.sleep(1.0)  # anything redelivered late must not count again
    assert counter(url, "k1") == total == 5000


@pytest.mark.faults  # stops the one RabbitMQ every other test uses: run alone, after them
def test_rabbitmq_restart_while_clients_send(services: Any) -> None:
    url, launch = services
    launch("worker")
    accepted: set[str] = set()
    refused: list[int] = []
    lock = threading.Lock()
    restarted = threading.Event()
    recovered = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=url, headers=basic(WRITE_KEY), timeout=10) as http:
            i = 0
            while not recovered.is_set() or i < 100:  # send before, during and after
                i += 1
                message_id = f"c{n}-{i}"
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:  # retry until a 2xx, as Segment clients do
                    try:
                        reply = http.post(
                            "/v1/track",
                            json={"userId": "r1", "event": "Tick", "messageId": message_id},
                        )
                        if reply.status_code == 200:
                            with lock:
                                accepted.add(message_id)
                            break
                        refused.append(reply.status_code)
                    except httpx.HTTPError:
                        refused.append(0)
                    time.sleep(0.2)
                if i == 40 and n == 0:
                    restarted.set()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    assert restarted.wait(60)
    assert wait_until(lambda: counter(url, "r1") > 0, timeout=30)  # the worker is consuming
    restart_rabbitmq(outage=1.0)
    recovered.set()
    for thread in threads:
        thread.join(180)
    assert len(accepted) >= 400
    assert refused and set(refused) <= {0, 503}  # the restart was felt, as 503s only
    assert wait_until(lambda: counter(url, "r1") >= len(accepted), timeout=60)
    time.sleep(1.0)
    assert counter(url, "r1") == len(accepted)
