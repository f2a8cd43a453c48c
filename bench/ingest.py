"""Ingestion speed of the real-time path, with its baseline measured in the same run.

Server, broker and load generator share this machine (2 cores), so absolute numbers say
little alone; each scenario is printed beside the ceiling of raw publishing with confirms
to the same RabbitMQ, and the collector's share of it.

Scenarios (targets from issue 7):

* ``batch``   ``POST /v1/batch``, 100 events per request, into durable RabbitMQ: ≥ 20,000 ev/s
* ``track``   ``POST /v1/track``, one event per request: ≥ 3,000 req/s
* ``raw``     aio-pika publishing the same bodies with confirms, no HTTP: the ceiling
* ``latency`` 1,000 events/s through collector, RabbitMQ, worker and Redis, each event
  changing a segment: received → profile updated and ``segment.entered/exited`` emitted,
  p50 ≤ 20 ms, p99 ≤ 100 ms

Run::

    .venv/bin/python bench/ingest.py                  # all scenarios, 10 s each
    .venv/bin/python bench/ingest.py --duration 5 --server-workers 2 --only batch,track

The load generator is a few lines of asyncio speaking HTTP/1.1 keep-alive on raw sockets, in
its own process: an HTTP client library would measure itself before the server.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

RABBIT = "amqp://guest:guest@127.0.0.1:5672/"
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


def load(
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


def run_load(
    port: int, payload: bytes, connections: int, seconds: float, rate: float | None = None
) -> tuple[int, int, float]:
    queue: Any = multiprocessing.Queue()
    proc = multiprocessing.Process(
        target=load, args=(port, payload, connections, seconds, rate, queue)
    )
    started = time.perf_counter()
    proc.start()
    ok, failed = queue.get()
    proc.join()
    return ok, failed, time.perf_counter() - started


def raw_publish(queue_name: str, body: bytes, inflight: int, seconds: float, result: Any) -> None:
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


def run_raw(queue_name: str, body: bytes, inflight: int, seconds: float) -> float:
    queue: Any = multiprocessing.Queue()
    proc = multiprocessing.Process(
        target=raw_publish, args=(queue_name, body, inflight, seconds, queue)
    )
    proc.start()
    rate: float = queue.get()
    proc.join()
    return rate


def purge(queue_name: str) -> None:
    subprocess.run(
        ["rabbitmqctl", "-q", "purge_queue", queue_name], check=False, capture_output=True
    )


def delete_queues(queue_name: str) -> None:
    for name in (queue_name, f"{queue_name}.dead"):
        subprocess.run(
            ["rabbitmqctl", "-q", "delete_queue", name], check=False, capture_output=True
        )


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


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def worker_main(workspace: str) -> None:
    """``bench/ingest.py --worker WS``: the worker with a segment every event toggles."""
    import signal

    from audience.config.settings import Settings
    from audience.realtime.live_segments import PredicateEvaluator, PredicateRule
    from audience.realtime.runtime import build_consumer, build_engine, run_worker
    from audience.store.workspace import Workspace

    ws = Workspace.open(Path(workspace))
    settings = Settings()
    odd = PredicateRule("odd", lambda p: p["events_total"] % 2 == 1, "odd number of events")
    consumer = build_consumer(ws, settings, engine=build_engine(ws, PredicateEvaluator([odd])))

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await run_worker(ws, settings, stop, consumer)

    import uvloop

    uvloop.run(main())


def latencies(changes: Path, since: float) -> list[float]:
    """Milliseconds from the collector receiving an event to its change being emitted."""
    from datetime import datetime

    found = []
    for line in changes.read_bytes().splitlines():
        change = orjson.loads(line)
        received = datetime.fromisoformat(change["received_at"]).timestamp()
        if received >= since:
            emitted = datetime.fromisoformat(change["emitted_at"]).timestamp()
            found.append((emitted - received) * 1000)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--server-workers", type=int, default=1)
    parser.add_argument("--only", default="raw,batch,track,latency")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return
    from audience.store.workspace import Workspace

    only = set(args.only.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    ws = Workspace.init(tmp / "ws")
    queue_name, prefix = f"bench.{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        "AUDIENCE_QUEUE__URL": RABBIT,
        "AUDIENCE_QUEUE__NAME": queue_name,
        "AUDIENCE_PROFILES__URL": REDIS,
        "AUDIENCE_PROFILES__PREFIX": prefix,
    }
    port = free_port()
    server = start(
        [
            "-m",
            "audience.cli.realtime",
            "serve",
            "-w",
            str(ws.root),
            "--port",
            str(port),
            "--workers",
            str(args.server_workers),
        ],
        env,
        tmp / "server.log",
    )
    procs = [server]
    try:
        wait_port(port)
        batch_body = orjson.dumps({"batch": [event(i) for i in range(100)]})
        track_body = orjson.dumps(event(1))
        one_message = orjson.dumps([{**event(i), "messageId": str(i)} for i in range(100)])
        print(
            f"machine: {os.cpu_count()} cores; server processes: {args.server_workers}; "
            f"{args.duration:.0f} s per scenario; batch request {len(batch_body):,} bytes"
        )
        raw_events = raw_msgs = 0.0
        if "raw" in only or "batch" in only:
            raw_events = run_raw(queue_name, one_message, 16, args.duration) * 100
            purge(queue_name)
            raw_msgs = run_raw(queue_name, orjson.dumps([event(1)]), 64, args.duration)
            purge(queue_name)
            print(
                f"raw publish with confirms: {raw_events:,.0f} ev/s in 100-event messages; "
                f"{raw_msgs:,.0f} msg/s of one event"
            )
        if "batch" in only:
            ok, failed, _ = run_load(port, request("/v1/batch", batch_body), 16, args.duration)
            rate = ok * 100 / args.duration
            share = f" = {rate / raw_events:.0%} of raw publishing" if raw_events else ""
            print(
                f"/v1/batch (100 ev/request): {rate:,.0f} ev/s ({ok / args.duration:,.0f} req/s,"
                f" {failed} failed){share}  [target ≥ 20,000 ev/s]"
            )
            purge(queue_name)
        if "track" in only:
            ok, failed, _ = run_load(port, request("/v1/track", track_body), 64, args.duration)
            share = (
                f" = {ok / args.duration / raw_msgs:.0%} of raw 1-event publishing"
                if raw_msgs
                else ""
            )
            print(
                f"/v1/track: {ok / args.duration:,.0f} req/s ({failed} failed){share}"
                "  [target ≥ 3,000 req/s]"
            )
            purge(queue_name)
        if "latency" in only:
            procs.append(start([__file__, "--worker", str(ws.root)], env, tmp / "worker.log"))
            time.sleep(3.0)  # the worker starts and drains what the other scenarios left
            since = time.time() + 1.0
            ok, failed, _ = run_load(
                port, request("/v1/track", track_body), 20, args.duration, rate=1000
            )
            time.sleep(2.0)
            found = sorted(latencies(ws.root / "realtime" / "changes.jsonl", since))
            if found:
                p50, p99 = statistics.median(found), found[int(len(found) * 0.99) - 1]
                print(
                    f"end-to-end at {ok / args.duration:,.0f} ev/s: received → profile updated"
                    f" and change emitted: p50 {p50:.1f} ms, p99 {p99:.1f} ms over "
                    f"{len(found):,} changes  [target p50 ≤ 20 ms, p99 ≤ 100 ms]"
                )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)
        delete_queues(queue_name)
        import redis

        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"{prefix}:*", count=1000):
            client.delete(key)
        print(f"logs in {tmp}")


if __name__ == "__main__":
    main()
