"""Ingestion speed of the real-time path, beside each broker's ceiling measured in the same run.

Server, brokers, worker and load generator share this machine (2 cores), so absolute numbers
say little alone: each scenario runs ``--repeat`` times (median and range printed) and is set
beside the ceiling of raw publishing to the same broker, measured in the same run. The CPU the
collector spent per event is printed too: it moves less than rates when other work shares the
machine. Every process is waited for until it answers (``/health``, the worker's first
delivery), never for a fixed time.

Scenarios (targets from issue 18):

* ``raw``      aio-pika publishing with confirms, no HTTP: RabbitMQ's ceiling
* ``batch``    ``POST /v1/batch``, 100 events per request, into RabbitMQ: ≥ 100,000 ev/s
* ``track``    ``POST /v1/track``, one event per request, into RabbitMQ: ≥ 6,000 req/s
* ``kraw``     librdkafka producing one message per event (idempotent, acks=all): Kafka's ceiling
* ``kbatch``   ``POST /v1/batch`` into Kafka: ≥ 100,000 ev/s
* ``worker``   one worker applying 100-event messages to Redis (profile, change emitted, event
  logged), from the first publish to the last event applied: ≥ 20,000 ev/s
* ``latency``  1,000 events/s through collector, RabbitMQ, worker and Redis, each event changing
  a segment: received → profile updated and ``segment.entered/exited`` emitted, p99 ≤ 50 ms

Run::

    .venv/bin/python bench/ingest.py                     # everything, 3 × 5 s each
    .venv/bin/python bench/ingest.py --only batch,track --server-workers 2 --duration 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from ingest_tools import (  # the bench's own helpers, beside it
    KAFKA,
    RABBIT,
    REDIS,
    applied,
    cpu_seconds,
    crossed,
    event,
    free_port,
    healthy,
    latencies,
    messages_of,
    publish_all,
    rabbitmqctl,
    raw_kafka,
    raw_rabbit,
    request,
    run_load,
    spread,
    start,
    wait_until,
)

WORKER_EVENTS = 100_000


def worker_main(workspace: str, progress: str) -> None:
    """``--worker WS PROGRESS``: the worker with a segment every event toggles; it writes
    ``ready`` once it consumes, then ``<applied> <time>`` after every batch it applied."""
    import signal

    from audience.config.settings import Settings
    from audience.realtime.consumer import Consumer
    from audience.realtime.live_segments import PredicateEvaluator, PredicateRule
    from audience.realtime.runtime import build_consumer, build_engine, run_worker
    from audience.store.workspace import Workspace

    ws = Workspace.open(Path(workspace))
    settings = Settings()
    odd = PredicateRule("odd", lambda p: p["events_total"] % 2 == 1, "odd number of events")
    built = build_consumer(ws, settings, engine=build_engine(ws, PredicateEvaluator([odd])))
    out = Path(progress).open("a", buffering=1)  # noqa: SIM115  (open while the worker runs)

    class Counting(Consumer):
        async def __call__(self, bodies: Any) -> Any:
            letters = await super().__call__(bodies)
            out.write(f"{self.stats.applied} {time.time()}\n")
            return letters

    consumer = Counting(built.store, built.engine, built.sink, built.event_log, built.suppression)

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

        async def announce() -> None:
            while not consumer.queue_status.running:
                await asyncio.sleep(0.02)
            out.write("ready\n")

        announcing = asyncio.create_task(announce())
        await run_worker(ws, settings, stop, consumer)
        announcing.cancel()

    import uvloop

    uvloop.run(main())


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        from audience.store.workspace import Workspace

        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
        self.ws = Workspace.init(self.tmp / "ws")
        tag = uuid.uuid4().hex[:8]
        self.queue, self.topic, self.prefix = f"bench.{tag}", f"bench-{tag}", f"bench-{tag}"
        self.procs: list[Any] = []
        self.ceilings: dict[str, float] = {}

    def env(self, url: str, name: str) -> dict[str, str]:
        return {
            "AUDIENCE_QUEUE__URL": url,
            "AUDIENCE_QUEUE__NAME": name,
            "AUDIENCE_PROFILES__URL": REDIS,
            "AUDIENCE_PROFILES__PREFIX": self.prefix,
        }

    def server(self, url: str, name: str) -> tuple[Any, int]:
        port = free_port()
        args = ["-m", "audience.cli.realtime", "serve", "-w", str(self.ws.root)]
        args += ["--port", str(port), "--workers", str(self.args.server_workers)]
        proc = start(args, self.env(url, name), self.tmp / "server.log")
        self.procs.append(proc)
        wait_until(lambda: healthy(port), "the collector", proc)
        return proc, port

    def stop(self, proc: Any) -> None:
        proc.terminate()
        proc.wait(30)
        self.procs.remove(proc)

    def repeat(self, measure: Callable[[], float], after: Callable[[], None]) -> list[float]:
        found = []
        for _ in range(self.args.repeat):
            found.append(measure())
            after()
        return found

    def http(
        self,
        label: str,
        server: Any,
        port: int,
        path: str,
        body: bytes,
        each: int,
        connections: int,
        ceiling: str,
        target: str,
        after: Callable[[], None],
    ) -> None:
        seconds, cpu = self.args.duration, []

        def measure() -> float:
            used = cpu_seconds(server.pid)
            ok, failed = run_load(port, request(path, body), connections, seconds)
            cpu.append((cpu_seconds(server.pid) - used) / max(1, ok * each) * 1e6)
            if failed:
                print(f"  ({failed} requests answered non-200)")
            return ok * each / seconds

        rates = self.repeat(measure, after)
        share = self.ceilings.get(ceiling)
        ratio = f" = {statistics.median(rates) / share:.0%} of {ceiling}" if share else ""
        unit = "ev/s" if each > 1 else "req/s"
        print(
            f"{label}: {spread(rates)} {unit}{ratio}; collector CPU "
            f"{statistics.median(cpu):.1f} µs/event  [target {target}]"
        )

    def run(self) -> None:
        only, d = set(self.args.only.split(",")), self.args.duration
        batch = orjson.dumps({"batch": [event(i) for i in range(100)]})
        track = orjson.dumps(event(1))
        load = os.getloadavg()
        print(
            f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f} before the run; server processes: {self.args.server_workers}; "
            f"{self.args.repeat} × {d:g} s per scenario: median (min–max)"
        )
        purge = lambda: rabbitmqctl("purge_queue", self.queue)  # noqa: E731
        if only & {"raw", "batch", "track"}:
            message = orjson.dumps([{**event(i), "messageId": str(i)} for i in range(100)])
            rates = self.repeat(lambda: raw_rabbit(self.queue, message, 16, d) * 100, purge)
            self.ceilings["raw RabbitMQ"] = statistics.median(rates)
            print(f"raw RabbitMQ publish with confirms, 100-event messages: {spread(rates)} ev/s")
            one = orjson.dumps([event(1)])
            rates = self.repeat(lambda: raw_rabbit(self.queue, one, 64, d), purge)
            self.ceilings["raw 1-event RabbitMQ"] = statistics.median(rates)
            print(f"raw RabbitMQ publish with confirms, 1-event messages: {spread(rates)} msg/s")
        if only & {"batch", "track"}:
            server, port = self.server(RABBIT, self.queue)
            if "batch" in only:
                self.http(
                    "/v1/batch → RabbitMQ (100 ev/request)",
                    server,
                    port,
                    "/v1/batch",
                    batch,
                    100,
                    16,
                    "raw RabbitMQ",
                    "≥ 100,000 ev/s",
                    purge,
                )
            if "track" in only:
                self.http(
                    "/v1/track → RabbitMQ",
                    server,
                    port,
                    "/v1/track",
                    track,
                    1,
                    64,
                    "raw 1-event RabbitMQ",
                    "≥ 6,000 req/s",
                    purge,
                )
            self.stop(server)
        if only & {"kraw", "kbatch"}:
            rates = self.repeat(lambda: raw_kafka(self.topic, orjson.dumps(event(1)), d), _none)
            self.ceilings["raw Kafka"] = statistics.median(rates)
            print(f"raw Kafka produce (1 event per message, acks=all): {spread(rates)} ev/s")
        if "kbatch" in only:
            server, port = self.server(KAFKA, self.topic)
            self.http(
                "/v1/batch → Kafka (100 ev/request)",
                server,
                port,
                "/v1/batch",
                batch,
                100,
                16,
                "raw Kafka",
                "≥ 100,000 ev/s",
                _none,
            )
            self.stop(server)
        if only & {"worker", "latency"}:
            rabbitmqctl("purge_queue", self.queue)
            self.worker_and_latency(only)

    def start_worker(self, name: str) -> tuple[Any, Path]:
        progress = self.tmp / f"progress-{name}.txt"
        progress.touch()
        args = [__file__, "--worker", str(self.ws.root), str(progress)]
        proc = start(args, self.env(RABBIT, name), self.tmp / "worker.log")
        self.procs.append(proc)
        wait_until(lambda: "ready" in progress.read_text(), "the worker", proc)
        return proc, progress

    def worker_and_latency(self, only: set[str]) -> None:
        worker, progress = self.start_worker(self.queue)
        if "worker" in only:

            def measure() -> float:
                bodies = messages_of(WORKER_EVENTS // 100)  # new messageIds: none a duplicate
                before, _ = applied(progress)
                started = time.time()
                publish_all(self.queue, bodies)
                wait_until(
                    lambda: applied(progress)[0] >= before + WORKER_EVENTS,
                    "the worker's backlog",
                    worker,
                    timeout=600,
                )
                done = crossed(progress, before + WORKER_EVENTS)
                assert done is not None
                return WORKER_EVENTS / (done - started)

            rates = self.repeat(measure, _none)
            print(
                f"one worker, RabbitMQ → Redis (change emitted per event): {spread(rates)} "
                "ev/s  [target ≥ 20,000 ev/s]"
            )
        if "latency" in only:
            server, port = self.server(RABBIT, self.queue)
            track = request("/v1/track", orjson.dumps(event(1)))
            p50s, p99s, counts = [], [], []

            def measure() -> float:
                before, _ = applied(progress)
                started = time.time()
                ok, _ = run_load(port, track, 20, self.args.duration, rate=1000)
                ended = time.time()
                wait_until(lambda: applied(progress)[0] >= before + ok, "the worker", worker)
                found = latencies(self.ws.root / "realtime" / "changes.jsonl", started + 1, ended)
                p50s.append(statistics.median(found))
                counts.append(len(found))
                p99 = found[max(0, int(len(found) * 0.99) - 1)]
                p99s.append(p99)
                return p99

            self.repeat(measure, _none)
            print(
                f"end-to-end at 1,000 ev/s, received → profile updated and change emitted "
                f"(first second of each run left out): p50 {spread_ms(p50s)} ms, p99 "
                f"{spread_ms(p99s)} ms over {statistics.median(counts):,.0f} changes a run  "
                "[target p99 ≤ 50 ms]"
            )
            self.stop(server)
        self.stop(worker)

    def close(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)
        for name in (self.queue, f"{self.queue}.dead"):
            rabbitmqctl("delete_queue", name)
        import redis

        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"{self.prefix}:*", count=1000):
            client.delete(key)
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": KAFKA.removeprefix("kafka://")})
        for future in admin.delete_topics([self.topic, f"{self.topic}.dead"]).values():
            future.exception(10)  # a topic never created is no error here
        print(f"logs in {self.tmp}")


def spread_ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def _none() -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--server-workers", type=int, default=1)
    parser.add_argument("--only", default="raw,batch,track,kraw,kbatch,worker,latency")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(*args.worker)
        return
    bench = Bench(args)
    try:
        bench.run()
    finally:
        bench.close()


if __name__ == "__main__":
    main()
