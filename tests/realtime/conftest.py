"""Fixtures of the real-time tests: real RabbitMQ and Redis (skipped only when they do not
answer), unique queue names and key prefixes per test (so tests share the services, never their data),
and servers/workers as processes, started and stopped through tests/procs.py."""

from __future__ import annotations

import asyncio
import base64
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
