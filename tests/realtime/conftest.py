"""Fixtures of the real-time tests: real RabbitMQ and Redis (skipped only when they do not
answer), unique queue names and key prefixes per test, and servers/workers as processes."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_URL = "redis://127.0.0.1:6379/0"
WRITE_KEY = "dev-write-key"
READ_KEY = "dev-read-key"


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def rabbit_url() -> str:
    if not _answers(5672):
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


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m audience.cli.realtime <command>`` as a child process."""
    full_env = {**os.environ, **env}
    with log.open("ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "audience.cli.realtime", *command],
            env=full_env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not answer within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_until(predicate: Any, timeout: float = 20.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())
