"""What ``bench/ingest.py`` drives the collector with: the load generator, the raw publishers
that measure each broker's ceiling, process start-up and readiness, and the statistics.

The load generator is a few lines of asyncio speaking HTTP/1.1 keep-alive on raw sockets, in
its own process: an HTTP client library would measure itself before the server.
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

import orjson

RABBIT = "amqp://guest:guest@127.0.0.1:5672/"
KAFKA = "kafka://127.0.0.1:9092"
REDIS = "redis://127.0.0.1:6379/0"
KEY = base64.b64encode(b"dev-write-key:").decode()


def request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Basic {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def event(i: int, user: str = "bench") -> dict[str, Any]:
    return {
        "type": "track",
        "userId": f"{user}-{i % 1000}",
        "event": "Product Viewed",
        "properties": {"sku": f"SKU-{i % 97}", "price": 19.9, "category": "Mode"},
        "context": {"library": {"name": "bench", "version": "1"}, "ip": "10.0.0.1"},
    }


async def _connection(
    host: str, port: int, payload: bytes, until: float, pace: float | None, counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    next_at = time.monotonic()
    while time.monotonic() < until:
        if pace:
            next_at += pace
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        writer.write(payload)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        counts[0 if head[9:12] == b"200" else 1] += 1
    writer.close()


def _load(
    port: int, payload: bytes, connections: int, seconds: float, rate: float | None, result: Any
) -> None:
    """Process body: ``connections`` keep-alive clients for ``seconds``; put (ok, failed)."""
    import uvloop

    async def main() -> list[int]:
        counts = [0, 0]
        until = time.monotonic() + seconds
        pace = connections / rate if rate else None
        await asyncio.gather(
            *(
                _connection("127.0.0.1", port, payload, until, pace, counts)
                for _ in range(connections)
            )
        )
        return counts

    result.put(uvloop.run(main()))


def in_process(target: Callable[..., None], *args: Any) -> Any:
    """Run ``target(*args, queue)`` in a process of its own; return what it put."""
    queue: Any = multiprocessing.Queue()
    proc = multiprocessing.Process(target=target, args=(*args, queue))
    proc.start()
    # A child that dies before putting (a broker down) must stop the bench, not hang it.
    while True:
        try:
            found = queue.get(timeout=1)
            break
        except Empty:
            if not proc.is_alive():
                raise SystemExit(
                    f"{target.__name__} failed (exit {proc.exitcode}); see above"
                ) from None
    proc.join()
    return found


def run_load(
    port: int, payload: bytes, connections: int, seconds: float, rate: float | None = None
) -> tuple[int, int]:
    """(answered 200, answered otherwise) by ``connections`` clients in ``seconds``."""
    ok, failed = in_process(_load, port, payload, connections, seconds, rate)
    return ok, failed


def _raw_rabbit(queue_name: str, body: bytes, inflight: int, seconds: float, result: Any) -> None:
    """Process body: publish ``body`` with confirms, ``inflight`` at once; put messages/s."""
    import aio_pika
    import uvloop

    from audience.config.settings import QueueSettings
    from audience.realtime.queue.rabbitmq import declare

    async def main() -> float:
        connection = await aio_pika.connect(RABBIT)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            await declare(channel, QueueSettings(name=queue_name))
            sent, until = 0, time.monotonic() + seconds

            async def publisher() -> None:
                nonlocal sent
                while time.monotonic() < until:
                    await channel.default_exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=queue_name,
                    )
                    sent += 1

            started = time.perf_counter()
            await asyncio.gather(*(publisher() for _ in range(inflight)))
            return sent / (time.perf_counter() - started)

    result.put(uvloop.run(main()))


def raw_rabbit(queue_name: str, body: bytes, inflight: int, seconds: float) -> float:
    """Messages/s aio-pika publishes to RabbitMQ with confirms: the collector's ceiling."""
    rate: float = in_process(_raw_rabbit, queue_name, body, inflight, seconds)
    return rate


def _raw_kafka(topic: str, body: bytes, seconds: float, result: Any) -> None:
    """Process body: produce ``body`` keyed by 1,000 persons with the collector's producer
    settings (idempotent, acks=all), as fast as delivery reports come; put messages/s."""
    from confluent_kafka import Producer

    from audience.config.settings import QueueSettings
    from audience.realtime.queue.kafka_setup import ensure_topics, producer_config

    settings = QueueSettings(url=KAFKA, name=topic)
    ensure_topics(settings)
    producer = Producer(producer_config(settings))
    delivered = [0]

    def report(error: Any, message: Any) -> None:
        delivered[0] += error is None

    keys = [f"bench-{i}".encode() for i in range(1000)]
    started = time.perf_counter()
    until, sent = time.monotonic() + seconds, 0
    while time.monotonic() < until:
        try:
            producer.produce(topic, value=body, key=keys[sent % 1000], on_delivery=report)
            sent += 1
        except BufferError:
            producer.poll(0.01)
        if sent % 1000 == 0:
            producer.poll(0)
    producer.flush(30)
    result.put(delivered[0] / (time.perf_counter() - started))


def raw_kafka(topic: str, body: bytes, seconds: float) -> float:
    """Messages/s librdkafka produces and Kafka acknowledges: the collector's ceiling."""
    rate: float = in_process(_raw_kafka, topic, body, seconds)
    return rate


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=False, capture_output=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_until(ready: Callable[[], bool], what: str, proc: Any, timeout: float = 60.0) -> None:
    """Poll ``ready`` until it holds; fail if ``proc`` dies or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: the process ended with {proc.returncode}; see its log")
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what}: not ready after {timeout:g} s")


def healthy(port: int) -> bool:
    """Whether the collector answers ``GET /health`` (its queue publisher is started)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def spread(values: list[float]) -> str:
    """Median and range of repeated runs: ``12,345 (11,900–12,800)``."""
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its children (server workers) used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").glob("*")
        for child in (task / "children").read_text().split()
    ]
    return own + sum(cpu_seconds(child) for child in children)


def applied(progress: Path) -> tuple[int, float]:
    """The worker's last report: events applied so far and when."""
    lines = [line for line in progress.read_text().splitlines() if line != "ready"]
    if not lines:
        return 0, 0.0
    count, at = lines[-1].split()
    return int(count), float(at)


def crossed(progress: Path, target: int) -> float | None:
    """When the worker's applied count first reached ``target``, if it has."""
    for line in progress.read_text().splitlines():
        if line != "ready" and int(line.split()[0]) >= target:
            return float(line.split()[1])
    return None


def latencies(changes: Path, since: float, until: float) -> list[float]:
    """Milliseconds from the collector receiving an event to its change being emitted."""
    found = []
    for line in changes.read_bytes().splitlines():
        change = orjson.loads(line)
        received = datetime.fromisoformat(change["received_at"]).timestamp()
        if since <= received < until:
            emitted = datetime.fromisoformat(change["emitted_at"]).timestamp()
            found.append((emitted - received) * 1000)
    return sorted(found)


def messages_of(count: int) -> list[bytes]:
    """``count`` queue messages of 100 normalised events (1,000 persons), as the collector
    publishes them."""
    from audience.realtime.events import parse_batch
    from audience.store.clock import SystemClock

    body = orjson.dumps({"batch": [event(i) for i in range(100)]})
    now = SystemClock().now().replace(tzinfo=UTC)  # the collector works in aware UTC
    return [orjson.dumps(parse_batch(body, now)) for _ in range(count)]


def publish_all(queue_name: str, bodies: list[bytes]) -> None:
    import aio_pika

    async def main() -> None:
        async with await aio_pika.connect(RABBIT) as connection:
            channel = await connection.channel(publisher_confirms=True)
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=queue_name,
                    )
                    for body in bodies
                )
            )

    asyncio.run(main())
